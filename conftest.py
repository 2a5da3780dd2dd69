"""pytest from the repository's root: every kernel the tests start (strict nbval re-running the
notebooks, the exercise sweep) draws the self-checks' data from a fixed seed, as
tools/build_notebooks.py did when it stored the outputs (see kit/checks/drawn.py).

It also decides how the two test workers (pytest-xdist, ``--dist loadscope``) share the
work, which changes only how long ``pytest`` takes, never what runs:

* each notebook stays whole on one worker (its cells run in order in one kernel), and so
  does each test module, or class, whose tests share a fixture of that scope;
* the tests of the modules in ``SPREAD`` (independent tests, function-scoped fixtures) go
  to whichever worker is free, one by one;
* the slowest go first (``SLOWEST_FIRST``, measured with ``pytest --durations=40``), then
  the biggest groups: a long test started last would leave the other worker idle.
"""

import os

import pytest

os.environ.setdefault("KIT_CHECK_SEED", "lessons")

# node id prefixes, slowest first (pytest --durations, 2 workers): a list to keep roughly in
# step with the durations; a test missing from it only runs later
SLOWEST_FIRST = [
    "tests/test_exercises.py::TestLesson12",
    "tests/test_exercises.py::TestLesson11",
    "tests/test_exercises.py::TestLesson05",
    "tests/test_checks_never_raise.py::test_answers_of_any_shape",
    "tests/test_views.py::test_the_metrics_chart_draws_any_value_as_text",
    "tests/test_exercises.py::TestLesson09",
    "notebooks/11_overhead_and_sampling.ipynb",
    "tests/test_browser.py",
    "tests/test_receiver_values.py",
    "tests/test_receiver_wire.py",
    "tests/test_exercises.py::TestLesson08",
    "tests/test_exercises.py::TestLesson01",
    "tests/test_exercises.py::TestLesson06",
    "tests/test_classroom.py",
    "tests/test_mqtt_broker_subscriptions.py",
    "tests/test_receiver_hostile.py",
    "tests/test_checks_never_raise.py",
    "tests/test_views.py",
    "notebooks/09_multi_service_trace.ipynb",
    "tests/test_exercises.py::TestLesson04",
    "tests/test_exercises.py::TestLesson07",
    "tests/test_exercises.py::TestLesson10",
    "tests/test_exercises.py::TestLesson02",
    "notebooks/08_auto_instrumentation.ipynb",
    "notebooks/12_capstone_greenhouse.ipynb",
    "notebooks/06_mqtt5_user_properties.ipynb",
    "notebooks/10_collector_pipeline.ipynb",
]

# modules whose tests are independent of one another (function-scoped fixtures only)
SPREAD = {"tests/test_checks_never_raise.py", "tests/test_views.py"}


def _group(nodeid: str) -> str:
    """The tests that must run on one worker, in order: a notebook's cells, a module's or a
    class's tests (``--dist loadscope``); a test of a ``SPREAD`` module alone."""
    if nodeid.split("::", 1)[0] in SPREAD:
        return nodeid
    return nodeid.rsplit("::", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    sizes = {}
    for item in items:
        sizes[_group(item.nodeid)] = sizes.get(_group(item.nodeid), 0) + 1

    def rank(item):
        slow = next((i for i, prefix in enumerate(SLOWEST_FIRST) if item.nodeid.startswith(prefix)),
                    len(SLOWEST_FIRST))
        return slow, -sizes[_group(item.nodeid)]

    items.sort(key=rank)  # stable: a group's tests stay together, in their order


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadscope`` with the groups above, sent in the order collected (the slowest
    first); ``--no-loadscope-reorder`` in pyproject.toml keeps xdist from sorting them by size."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SlowestFirst(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return _group(nodeid)

    return SlowestFirst(config, log)
