"""A new user's starting point, for the slow tests: the files git tracks copied to a new
folder, and a new venv beside it (nothing of the developer's environment comes along)."""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).parent.parent


class Fresh(NamedTuple):
    checkout: Path  # the copy of the tracked files
    python: Path  # the new venv's interpreter
    env: dict  # os.environ without the developer's VIRTUAL_ENV/PYTHONPATH, the venv first on PATH
    site: Path  # the new venv's site-packages


def fresh_checkout(tmp_path: Path) -> Fresh:
    """Copy what git tracks into ``tmp_path/kit`` and make ``tmp_path/venv`` (skips outside a git checkout)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    if not files:
        pytest.skip("not a git checkout")
    checkout = tmp_path / "kit"
    for name in files:
        target = checkout / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / ("Scripts" if os.name == "nt" else "bin")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])  # `jupyter execute` runs jupyter-execute from PATH
    site = next((tmp_path / "venv" / "lib").glob("python3.*/site-packages"))
    return Fresh(checkout, bin_dir / "python", env, site)
