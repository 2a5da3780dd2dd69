"""The first lesson in a real browser: JupyterLab headless, lesson 00 run in headless
Chromium, and the first trace's waterfall on screen. "Run All" leaves the exercise's ✗
(the solution only loads); running the loaded solution cell again gives ✓. The
screenshots are kept in test-artifacts/ for a person to look at."""

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kit.ports import free_port

ROOT = Path(__file__).parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="Chromium is not installed (Debian: apt-get install "
                                                     "chromium); CI installs it")


@pytest.fixture
def jupyter_lab(tmp_path):
    shutil.copy(ROOT / "notebooks" / "00_welcome.ipynb", tmp_path)  # never touch the committed notebook
    shutil.copytree(ROOT / "notebooks" / "solutions", tmp_path / "solutions")
    port, token = free_port(), "kit-browser-test"
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=", "--ServerApp.open_browser=False", "--allow-root"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / ".jupyter")})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    yield url, token
    proc.terminate()
    proc.wait(20)


def test_lesson_00_runs_and_shows_the_waterfall(jupyter_lab):
    from playwright.sync_api import sync_playwright
    url, token = jupyter_lab
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{url}/lab/tree/00_welcome.ipynb?token={token}", timeout=60_000)
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)  # the kernel is up
            waterfall = page.locator(".jp-RenderedSVG").first  # JupyterLab shows SVG output as an <img>
            for attempt in range(2):  # a Run All sent while the kernel is still connecting can get lost
                page.get_by_role("menuitem", name="Run", exact=True).click()
                page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
                try:  # the third code cell draws the first trace
                    waterfall.wait_for(timeout=45_000)
                    break
                except Exception:
                    if attempt:
                        raise
            page.wait_for_selector("text=✗ This cell made no span named 'say goodbye'", timeout=90_000)
            assert page.get_by_text("✓ Exactly the trace to aim for").count() == 0, \
                "Run All ran the solution: it should only load it"
            page.locator(".jp-InputPlaceholder").first.click()  # the collapsed solution cell, now holding the code
            page.get_by_text("%load solutions/ex_0.1.py").first.wait_for(timeout=10_000)
            page.keyboard.press("Shift+Enter")  # run the loaded solution
            page.wait_for_selector("text=✓ Exactly the trace to aim for", timeout=60_000)
            page.screenshot(path=str(artifacts / "00_welcome.png"), full_page=False)
            waterfall.scroll_into_view_if_needed()
            waterfall.screenshot(path=str(artifacts / "00_welcome-first-trace.png"))
            rendered = waterfall.evaluate("e => decodeURIComponent(e.innerHTML)")
            assert "<svg" in rendered and "say hello to MQTT" in rendered and "INTERNAL" in rendered
            box = waterfall.bounding_box()
            assert box and box["width"] > 400 and box["height"] > 60  # drawn, not an empty box
        except Exception:
            page.screenshot(path=str(artifacts / "00_welcome-failed.png"))
            raise
        finally:
            browser.close()
