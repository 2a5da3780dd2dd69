"""Every exercise's self-check fails on the untouched exercise and passes on its solution.

The committed notebooks must show ✗ under every cell tagged ``exercise`` and ✓ under
every cell tagged ``solution``. ``pytest`` also re-runs every notebook with strict nbval
(tests/test_notebooks.py checks it is strict and that the sanitizer leaves ✓/✗ alone), so
a fresh run must reproduce exactly these results: a check that cannot fail would show ✓
under its exercise, and this test would catch it.
"""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def tagged(nb, tag):
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def text_of(cell):
    """What the cell's last expression (the self-check) showed."""
    results = [o for o in cell.get("outputs", []) if o.get("output_type") == "execute_result"]
    return results[-1]["data"]["text/plain"].strip() if results else ""


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
    for exercise, solution in zip(tagged(nb, "exercise"), tagged(nb, "solution")):
        assert text_of(exercise).startswith("✗"), f"the untouched exercise passed its check:\n{exercise.source}"
        assert text_of(solution).startswith("✓"), f"the solution failed its check:\n{text_of(solution)}"
