"""Every exercise, tried in a live kernel the way learners try it.

For each lesson a kernel runs the notebook cell by cell. At each exercise it runs,
in this order: the blank (✗), the solution (✓), the blank again (✗), every typical
wrong answer listed in tests/wrong_answers/ (✗, with a message naming the mistake),
every other right answer listed there (✓), then the solution twice (✓ ✓). Then the whole notebook runs again from the top in
the same kernel, and each exercise's blank must still say ✗. A self-check that judged an earlier attempt, accepted a wrong answer,
or could not fail, fails here. Every ✗ must also say which ✗ it is (``result.reason``), and
never tell the learner to write code their attempt already holds (tests/message_advice.py).

The kernel draws the checks' data from a seed of its own (tests/lesson_kernel.py), not the
one the stored outputs were built with.

The committed notebooks show the blank's ✗ under every exercise (strict nbval re-runs
them); solutions are loaded on demand (``%load solutions/ex_N.M.py``), so "Run All"
never runs them, and this test runs every one.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from lesson_kernel import NOTEBOOKS, LessonKernel
from message_advice import already_written
from wrong_answers import all_right, all_wrong

LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
LOAD = re.compile(r"^%load (solutions/ex_(\d+\.\d+)\.py)\s*$")
WRONG = all_wrong()
RIGHT = all_right()
MIN_WRONG = 3
REASONS_FROM = ("00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "11")  # lessons whose checks give reasons


def exercises(nb):
    """(index of the exercise cell, exercise id, solution text) for each exercise."""
    cells = nb.cells
    out = []
    for i, cell in enumerate(cells):
        if "exercise" not in cell.metadata.get("tags", []):
            continue
        following = next(c for c in cells[i + 1:] if c.cell_type == "code")
        match = LOAD.match(following.source.strip())
        assert match and "solution" in following.metadata.get("tags", []), \
            f"the code cell after an exercise loads its solution: %load solutions/ex_N.M.py, not {following.source!r}"
        out.append((i, match.group(2), (NOTEBOOKS / match.group(1)).read_text()))
    return out


def stored_result(cell) -> str:
    results = [o for o in cell.get("outputs", []) if o.get("output_type") == "execute_result"]
    return results[-1]["data"]["text/plain"].strip() if results else ""


def is_solution(cell) -> bool:
    return "solution" in cell.metadata.get("tags", [])


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_solutions_load_on_demand_and_stay_collapsed(path):
    nb = nbformat.read(path, as_version=4)
    found = exercises(nb)
    assert found, f"{path.name} has no exercise"
    for index, _, solution in found:
        assert solution.strip(), "the solution file is empty"
        load_cell = next(c for c in nb.cells[index + 1:] if c.cell_type == "code")
        assert load_cell.metadata.get("jupyter", {}).get("source_hidden"), "solutions start collapsed"
        assert not load_cell.outputs, "a %load cell shows nothing until the learner runs it"
        assert stored_result(nb.cells[index]).startswith("✗"), \
            f"the committed notebook shows the untouched exercise passing:\n{nb.cells[index].source}"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_exercise_has_three_wrong_answers(path):
    for index, number, solution in exercises(nbformat.read(path, as_version=4)):
        wrongs = WRONG.get(number, [])
        assert len(wrongs) >= MIN_WRONG, f"exercise {number}: {len(wrongs)} wrong answers listed, want {MIN_WRONG}"


def judge_every_exercise(path):
    """The test of the module's docstring, for one lesson."""
    nb = nbformat.read(path, as_version=4)
    found = {index: (number, solution) for index, number, solution in exercises(nb)}
    failures, tried = [], []

    def expect(kernel, number, what, code, verdict, fragment=None):
        out = kernel.run(code)
        tried.append((number, what, out.verdict, out.result))
        if out.error:
            failures.append(f"{number} {what}: raised\n{out.error}")
        elif out.verdict != verdict:
            failures.append(f"{number} {what}: expected {verdict}, got: {out}")
        elif fragment and fragment not in out.result:
            failures.append(f"{number} {what}: the message does not say {fragment!r}:\n{out.result}")
        if out.verdict == "✗":
            written = already_written(out.result, code)
            if written:
                failures.append(f"{number} {what}: the message asks for {written}, which the attempt already has:\n"
                                f"{out.result}")
            if path.stem[:2] in REASONS_FROM:
                reason = kernel.run("getattr(get_ipython().last_execution_result.result, 'reason', None)").result
                if reason in ("", "None", "''"):
                    failures.append(f"{number} {what}: the ✗ has no reason code:\n{out.result}")
        return out

    with LessonKernel() as kernel:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or is_solution(cell):
                continue
            if index not in found:
                out = kernel.run(cell.source)
                assert not out.error, f"cell {index} raised:\n{out.error}"
                continue
            number, solution = found[index]
            blank = cell.source
            expect(kernel, number, "blank", blank, "✗")
            expect(kernel, number, "solution", solution, "✓")
            expect(kernel, number, "blank after the solution", blank, "✗")
            for wrong in WRONG.get(number, []):
                if wrong.before:
                    earlier = kernel.run(wrong.before)
                    assert not earlier.error, f"{number} {wrong.why}: the earlier cell raised\n{earlier.error}"
                expect(kernel, number, f"wrong: {wrong.why}", wrong.source(blank, solution), "✗", wrong.expect)
            for right in RIGHT.get(number, []):
                expect(kernel, number, f"right: {right.why}", right.source(blank, solution), "✓")
            expect(kernel, number, "solution after the wrong answers", solution, "✓")
            expect(kernel, number, "solution again", solution, "✓")
        # the notebook from the top again, in the same kernel: every blank still fails as committed
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or is_solution(cell):
                continue
            out = kernel.run(cell.source)
            assert not out.error, f"second run from the top, cell {index} raised:\n{out.error}"
            if index in found:
                tried.append((found[index][0], "blank, notebook re-run from the top", out.verdict, out.result))
                if out.verdict != "✗":
                    failures.append(f"{found[index][0]} blank, notebook re-run from the top: expected ✗, got: {out}")
    print("\n".join(f"{n:>5}  {v}  {w:<45.45}  {r[2:]}" for n, w, v, r in tried))
    assert not failures, "\n\n".join(failures)


def _lesson_class(path):
    """A class holding one lesson's test: pytest-xdist (``--dist loadscope``) keeps a class
    on one worker, so the lessons spread over the workers, not all on the one that gets
    this module."""
    def test_every_exercise_judges_the_latest_attempt(self):
        judge_every_exercise(path)
    name = "TestLesson" + path.stem
    return type(name, (), {"test_every_exercise_judges_the_latest_attempt": test_every_exercise_judges_the_latest_attempt,
                           "__qualname__": name, "__module__": __name__})


for _path in LESSONS:
    globals()["TestLesson" + _path.stem] = _lesson_class(_path)


# ---------------------------------------------------------------- issue 17: every exercise in one place

OURS = [p for p in LESSONS if p.stem[:2] in REASONS_FROM]


def _sources():
    import jupytext
    for path in OURS:
        yield path, jupytext.read(NOTEBOOKS / "sources" / (path.stem + ".py"))


def test_every_exercise_is_declared_once_and_names_itself_to_its_check():
    """The invariants (the whole trace, what is left behind) apply to every exercise because each
    check is told which exercise it judges; kit/checks/exercises.py declares each one."""
    from kit.checks.exercises import EXERCISES
    seen = []
    for path, nb in _sources():
        for index, number, _ in exercises(nb):
            seen.append(number)
            cell = nb.cells[index].source
            assert f'exercise="{number}"' in cell or f'check_trace("{number}")' in cell, \
                f"{path.name}, exercise {number}: its check must say which exercise it judges"
            solution = (NOTEBOOKS / "solutions" / f"ex_{number}.py").read_text()
            assert f'exercise="{number}"' in solution or f'check_trace("{number}")' in solution, number
    assert sorted(seen) == sorted(n for n in EXERCISES if n.split(".")[0] not in ("10", "12"))


def test_every_trace_contract_is_shown_before_its_exercise():
    """The lesson shows the trace to aim for, drawn from the contract the check judges by."""
    from kit.checks.exercises import EXERCISES
    for path, nb in _sources():
        previous = 0
        for index, number, _ in exercises(nb):
            if EXERCISES[number].trace is not None or EXERCISES[number].draw is not None:
                shown = [c.source for c in nb.cells[previous:index] if c.cell_type == "code"]
                assert any(f'exercise("{number}")' in c for c in shown), \
                    f"{path.name}: show exercise {number}'s trace (and data) before it: exercise({number!r})"
            previous = index + 1


def test_the_stored_notebooks_show_the_trace_to_aim_for():
    from kit.checks.exercises import EXERCISES, trace_of
    for path in OURS:
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(o.get("data", {}).get("text/plain", "") for c in nb.cells if c.cell_type == "code"
                         for o in c.get("outputs", []))
        for number, ex in EXERCISES.items():
            if number.split(".")[0] == str(int(path.stem[:2])) and ex.trace is not None:
                first = trace_of(number).spans[0].name
                assert f"Exercise {number}" in text and f"The trace to aim for:\n  {first}" in text, (path.name, number)
