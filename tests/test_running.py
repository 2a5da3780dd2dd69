"""kit.running: the services and receivers the watermark reads, each added by its owner."""

import subprocess
import sys
import textwrap

from kit import attempts, running
from kit.telemetry import setup


def test_setup_and_a_receiver_add_themselves_where_the_watermark_reads(receiver, clean_capture):
    tele = setup("running-a")
    assert running.services()["running-a"] is tele
    assert any(store is receiver.received for store in running.receivers())
    mark = attempts.start(read=False)
    assert mark.receivers[id(receiver.received)] == receiver.received.totals()


def test_in_a_notebook_each_cell_after_setup_is_an_attempt_of_its_own():
    """An IPython shell, as a kernel runs one: a check reads only what its own cell made,
    though the span of the cell before is still in the kernel's store."""
    script = textwrap.dedent('''
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        for cell in ("from kit.telemetry import setup\\ntele = setup('running-cells')",
                     "with tele.tracer.start_as_current_span('first'): pass",
                     "with tele.tracer.start_as_current_span('second'): pass\\n"
                     "from kit import attempts, capture\\n"
                     "print(list(attempts.spans().name), list(capture.spans_df().name))"):
            shell.run_cell(cell).raise_error()
    ''')
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "['second'] ['first', 'second']"
