"""kit.checks.drawn: an exercise's data is new at every run, and the same at every run of a fresh
kernel when KIT_CHECK_SEED is set (the stored notebooks and strict nbval)."""

import random

from kit.checks import drawn, exercises


def draws(number, seed, monkeypatch, runs=3):
    monkeypatch.setattr(drawn, "_draws", {})
    if seed is None:
        monkeypatch.delenv(drawn.SEED_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(drawn.SEED_VARIABLE, seed)
    return [dict(exercises.exercise(number)) for _ in range(runs)]


def test_each_run_draws_anew(monkeypatch):
    for number in ("2.1", "2.2", "4.2", "4.3", "8.2"):
        first, second, third = draws(number, None, monkeypatch)
        assert not (first == second == third), number


def test_a_seed_gives_every_fresh_kernel_the_same_draws(monkeypatch):
    for number in ("2.1", "2.2", "4.2", "4.3", "8.2"):
        assert draws(number, "lessons", monkeypatch) == draws(number, "lessons", monkeypatch)
        assert draws(number, "lessons", monkeypatch) != draws(number, "sweep", monkeypatch)


def test_the_lessons_old_fixed_values_are_never_drawn(monkeypatch):
    monkeypatch.delenv(drawn.SEED_VARIABLE, raising=False)
    rng = random.Random(1)
    for _ in range(300):
        assert exercises._topics(rng)["_counts"] != {"sensors/temp": 3, "sensors/humidity": 1}
        assert drawn.tenant(rng) != "acme"


def test_the_drawn_data_is_shown_with_the_trace_to_aim_for(monkeypatch):
    assert "_counts" not in repr(draws("2.1", "lessons", monkeypatch, runs=1)[0] and exercises._drawn["2.1"])
    lab = draws("4.3", "lessons", monkeypatch, runs=1)[0]
    shown = repr(exercises._drawn["4.3"])
    assert "Drawn for this run" in shown and repr(lab["orders"]) in shown
    assert "The trace to aim for:" in shown and "receive order" in shown
