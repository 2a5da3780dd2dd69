"""A fresh install, as a new learner does it: the files git tracks copied to a new folder,
a new venv, the README's install command (requirements.txt only: no test tools), then
every notebook run top to bottom in that venv. It catches a missing dependency, a test
tool the lessons came to rely on, or a path that only works on the developer's machine.
(Strict nbval on every notebook runs in the main test session.)"""

import subprocess
import sys

import pytest

from fresh_checkout import fresh_checkout


@pytest.mark.slow
def test_readme_install_then_every_notebook(tmp_path):
    checkout, python, env, _ = fresh_checkout(tmp_path)
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", "requirements.txt"],
                             cwd=checkout, env=env, capture_output=True, text=True, timeout=1800)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    no_tests = subprocess.run([str(python), "-c", "import pytest"], env=env, capture_output=True)
    assert no_tests.returncode != 0, "a learner's install should not carry pytest"
    notebooks = sorted(str(p.relative_to(checkout)) for p in (checkout / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert len(notebooks) >= 12
    run = subprocess.run([str(python), "-m", "jupyter", "execute", *notebooks],
                         cwd=checkout, env=env, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    assert sys.executable != str(python)
