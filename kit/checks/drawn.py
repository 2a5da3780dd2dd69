"""Data the self-checks choose: different at every run, so that a value typed in passes only
by accident.

An exercise's setup cell draws its data (order ids, tenants, readings, counts) and
prints it; checks that call your functions draw their own inputs at each call.

Set ``KIT_CHECK_SEED`` (any text) and every draw is the same at every run of a fresh
kernel: the notebooks' stored outputs are built that way (tools/build_notebooks.py) and
strict nbval re-runs them that way (the repository's conftest.py); the exercise sweep
uses a seed of its own. Without it, each draw is new.
"""

from __future__ import annotations

import os
import random
import string

SEED_VARIABLE = "KIT_CHECK_SEED"
_draws: dict[str, int] = {}


def rng(purpose: str) -> random.Random:
    """A random source for ``purpose`` (e.g. ``"4.3"``): seeded from ``KIT_CHECK_SEED`` when it
    is set (the n-th draw for a purpose is then the same in every fresh kernel), else fresh."""
    seed = os.environ.get(SEED_VARIABLE)
    if seed is None:
        return random.Random()
    _draws[purpose] = _draws.get(purpose, 0) + 1
    return random.Random(f"{seed}/{purpose}/{_draws[purpose]}")


def token(rng: random.Random, length: int = 4) -> str:
    """A short lower-case id such as ``"k3q9"``."""
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(length))


TENANTS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell", "cyberdyne", "wonka",
           "soylent", "oscorp", "aperture", "gringotts", "monarch", "vandelay"]


def tenant(rng: random.Random, avoid=("acme",)) -> str:
    """A tenant name with a random suffix (never one the lesson's text shows)."""
    while True:
        name = f"{rng.choice(TENANTS)}-{rng.randint(10, 99)}"
        if name not in avoid:
            return name
