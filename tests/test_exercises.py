"""Every exercise's self-check fails on the untouched exercise and passes on its solution.

Each notebook is run here in a fresh kernel (independently of nbval) and the
output of every cell tagged ``exercise`` must start with ✗, and of every cell
tagged ``solution`` with ✓: a check that cannot fail would show ✓ twice.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def tagged(nb, tag):
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def text_of(cell):
    out = []
    for o in cell.get("outputs", []):
        out.append(o.get("text") or o.get("data", {}).get("text/plain", ""))
    return "".join(out).strip()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_pair_with_solutions(path):
    nb = nbformat.read(path, as_version=4)
    exercises, solutions = tagged(nb, "exercise"), tagged(nb, "solution")
    assert exercises, f"{path.name} has no exercise"
    assert len(exercises) == len(solutions)
    for cell in solutions:
        assert cell.metadata.get("jupyter", {}).get("source_hidden"), "solutions start collapsed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_checks_fail_on_exercise_and_pass_on_solution(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    for exercise, solution in zip(tagged(nb, "exercise"), tagged(nb, "solution")):
        assert text_of(exercise).startswith("✗"), f"the untouched exercise passed its check:\n{exercise.source}"
        assert text_of(solution).startswith("✓"), f"the solution failed its check:\n{text_of(solution)}"
