"""kit.attempts in a live kernel: what a cell's watermark holds does not depend on its text.

A self-check judges the cell it runs in from the watermark taken when that cell started
(a fresh reading of every metric, the paho clients and logging handlers alive, the
context). The kernel cannot know, when a cell starts, whether that cell will run a check:
the check may go by another name (``judge = check_metric``), or be called by a helper
defined in an earlier cell. So every cell takes the whole watermark, and a check called
in any of those ways judges as it does when it is called by name; a cell that only has
the word "check" in a comment or a variable name is a cell like any other.
"""

from __future__ import annotations

import pytest

from lesson_kernel import LessonKernel

SETUP = """
from kit.broker import start_broker
from kit.telemetry import setup
from kit import attempts
from kit.checks import check_metric as judge, check_trace as judge_trace
import paho.mqtt.client as mqtt

tele = setup("welcome", metric_interval_s=3600)  # no reading but the kit's own, at cells and checks
counter = tele.meter.create_counter("cells_counted")
broker = start_broker()

def hello():
    with tele.tracer.start_as_current_span("hello"):
        with tele.tracer.start_as_current_span("say hello to MQTT"):
            pass
        with tele.tracer.start_as_current_span("say goodbye"):
            pass

def try_it(n):
    counter.add(n)
    return judge("cells_counted", n)
"""


@pytest.fixture(scope="module")
def kernel():
    with LessonKernel() as kernel:
        out = kernel.run(SETUP)
        assert not out.error, out.error
        yield kernel


def verdict(out) -> str:
    assert not out.error, out.error
    return out.result


@pytest.mark.parametrize("attempt", [
    'counter.add(3)\njudge("cells_counted", 3)',                    # the check under another name
    'try_it(3)',                                                    # a helper of an earlier cell calls it
    'counter.add(3)\ncheck_metric = judge\ncheck_metric("cells_counted", 3)',  # by its own name: as before
])
def test_a_counter_is_judged_over_the_cell_however_the_check_is_called(kernel, attempt):
    """The cell before adds 2 after the last reading: a cell whose watermark took no reading
    of its own would count those 2 as its own (5, not 3)."""
    assert not kernel.run("counter.add(2)").error
    result = verdict(kernel.run(attempt))
    assert result.startswith("✓"), result


@pytest.mark.parametrize("attempt", [
    'hello()\nleft = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="left-on")\n'
    'left.connect(broker.host, broker.port)\nleft.loop_start()\nr = judge_trace("0.1")\nr.reason',
    'def attempt():\n    hello()\n    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="left-on")\n'
    '    c.connect(broker.host, broker.port)\n    c.loop_start()\n    return c\nleft = attempt()\n'
    'r = judge_trace("0.1")\nr.reason',
])
def test_a_client_left_connected_is_caught_however_the_check_is_called(kernel, attempt):
    """Clean-up judging needs the clients alive when the cell started."""
    assert verdict(kernel.run(attempt)) == "'client-connected'"
    assert kernel.run("left.is_connected()").result == "False"  # the check disconnected it


@pytest.mark.parametrize("cell", [
    "mark = attempts.current()",
    "mark = attempts.current()  # check this later",
    "check_count = 1\nmark = attempts.current()",
])
def test_the_word_check_in_a_cell_changes_nothing(kernel, cell):
    """Every cell's watermark has a fresh reading of the metrics and the clients and
    handlers it started with, whatever its text."""
    assert not kernel.run(cell).error
    shape = kernel.run("(mark.readings is not None, mark.clients is not None, mark.handlers is not None)")
    assert shape.result == "(True, True, True)", f"{cell!r}: {shape}"
