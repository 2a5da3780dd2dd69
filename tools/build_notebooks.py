"""Build the lesson notebooks from their plain-text sources and store fresh outputs.

    python tools/build_notebooks.py            # every notebook
    python tools/build_notebooks.py 01 03      # only those whose name starts so

The source of each lesson is ``notebooks/sources/NN_name.py`` (jupytext
"py:percent": a diff reads like code). This script writes
``notebooks/NN_name.ipynb`` and runs it top to bottom in a fresh kernel, so
the committed outputs are exactly what a learner's run produces; strict nbval
(``pytest``) then proves they still are. The notebook's kernelspec is the one JupyterLab
writes, so opening a lesson does not mark it modified.
"""

import os
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "notebooks" / "sources"
# what JupyterLab writes for ipykernel's kernel: stored as it is, opening a lesson changes nothing
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# the self-checks' drawn data (kit/checks/drawn.py): the same as strict nbval's re-run (conftest.py)
os.environ.setdefault("KIT_CHECK_SEED", "lessons")


def build(source: Path) -> Path:
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata.pop("jupytext", None)
    target = ROOT / "notebooks" / (source.stem + ".ipynb")
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(target.parent)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, target)
    return target


if __name__ == "__main__":
    prefixes = sys.argv[1:]
    for src in sorted(SOURCES.glob("*.py")):
        if not prefixes or any(src.name.startswith(p) for p in prefixes):
            print("built", build(src).relative_to(ROOT))
