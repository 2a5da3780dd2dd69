"""A live Jupyter kernel that runs a lesson's cells one by one, as a learner does.

    with LessonKernel() as kernel:
        out = kernel.run("1 + 1")
        out.result      # '2' (the text of the cell's last expression), out.error, out.stdout, out.stderr

Used by tests/test_exercises.py to try every exercise the way learners do:
blank, solution, blank again, typical wrong answers, the solution twice.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


@dataclass
class CellOutput:
    code: str
    result: str = ""
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    displays: list = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """``"✓"``, ``"✗"``, or ``"?"`` when the cell's result is not a self-check."""
        return self.result[:1] if self.result[:1] in ("✓", "✗") else "?"

    def __str__(self):
        shown = self.error or self.result or self.stderr
        return shown if len(shown) < 600 else shown[:600] + "…"


class LessonKernel:
    """``seed``: the self-checks' drawn data (kit/checks/drawn.py); None draws anew, as for a
    learner. The default is a seed of the tests' own, unlike the one the stored outputs were
    built with: a value typed in from a stored output must not pass."""

    def __init__(self, cwd: Path = NOTEBOOKS, timeout_s: float = 120, seed: str | None = "sweep"):
        self.cwd, self.timeout_s, self.seed = cwd, timeout_s, seed

    def __enter__(self):
        env = {k: v for k, v in os.environ.items() if k != "KIT_CHECK_SEED"}
        if self.seed is not None:
            env["KIT_CHECK_SEED"] = self.seed
        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(self.cwd), env=env)
        return self

    def __exit__(self, *exc):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def run(self, code: str) -> CellOutput:
        out = CellOutput(code)

        def hook(msg):
            kind, content = msg["msg_type"], msg["content"]
            if kind == "execute_result":
                out.result = content["data"].get("text/plain", "").strip()
            elif kind == "stream":
                setattr(out, content["name"], getattr(out, content["name"]) + content["text"])
            elif kind == "display_data":
                out.displays.append(content["data"])
            elif kind == "error":
                out.error = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(content["traceback"][-3:]))

        self.client.execute_interactive(code, timeout=self.timeout_s, output_hook=hook, allow_stdin=False)
        return out
