"""pytest from the repository's root: every kernel the tests start (strict nbval re-running the
notebooks, the exercise sweep) draws the self-checks' data from a fixed seed, as
tools/build_notebooks.py did when it stored the outputs (see kit/checks/drawn.py)."""

import os

os.environ.setdefault("KIT_CHECK_SEED", "lessons")
