"""The lessons and the views in a real browser (headless Chromium), as a learner sees them.

* Every view in a 700 px and a 934 px notebook column (the output area of JupyterLab at
  1024 and 1366 px with the file browser open): nothing sticks out, no text overlaps
  another or is covered by a shape, every text is at least 11 px at 4.5:1 contrast
  (tests/browser_audit.py measures it with the browser's own boxes). Clicking a bar of the
  waterfall opens that span's details.
* JupyterLab headless: lesson 00 run in the browser, its first trace's waterfall on screen;
  "Run All" leaves the exercise's ✗ (the solution only loads); running the loaded solution
  cell again gives ✓. A lesson just opened (not trusted) shows its stored pictures as
  pictures, and opening it leaves it unmodified. TeX in telemetry stays text (MathJax is kept
  off the kit's outputs), and a click on a bar opens the span there too.

The screenshots are kept in test-artifacts/ for a person to look at.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from browser_audit import AUDIT, problems
from kit.ports import free_port
from view_samples import T0, greenhouse, span_row

ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="Chromium is not installed (Debian: apt-get install "
                                                     "chromium); CI installs it")


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


# -- the views in a notebook column ------------------------------------------------------

def _views() -> dict:
    """What the notebook shows of each view (the waterfall's HTML; the SVG pictures as the
    receiver's page inlines them and JupyterLab shows them, 100 % wide), on lesson-like data,
    long names, and the odd values of issue 19."""
    from kit.checks._result import Result
    from kit.views import logs_table, service_map, trace_list, waterfall
    df = greenhouse(topics=("greenhouse/1/temperature", "greenhouse/2/humidity"), n=3)
    long = greenhouse(n=1, long_names=True)
    odd = pd.DataFrame([span_row("1" * 16, "x" * 100_000, 42, None, 0, 1, attributes={"k": "y" * 100_000}),
                        span_row("2" * 16, "$\\href{https://x/}{\\text{Restart}}$", ("a", 1), "1" * 16, 1, 2,
                                 status="ERROR", links=[("b" * 32, "3" * 16)]),
                        {**span_row("3" * 16, "no start", None), "start": None}])
    linked = pd.DataFrame([span_row("1" * 16, "publish", "sensor", None, 0, 1, kind="PRODUCER"),
                           span_row("2" * 16, "read", "sensor", None, 2, 4),
                           span_row("3" * 16, "process batch", "processor", None, 5, 3, kind="CONSUMER",
                                    links=[("a" * 32, "1" * 16)])])
    return {
        "waterfall": waterfall(df)._repr_html_(),
        "waterfall-long-names": waterfall(long)._repr_html_(),
        "waterfall-odd-values": waterfall(odd)._repr_html_(),
        "waterfall-links": waterfall(linked)._repr_html_(),
        "waterfall-picture": waterfall(df)._repr_svg_(),
        "waterfall-picture-long-names": waterfall(long)._repr_svg_(),
        "service-map": service_map(df)._repr_svg_(),
        "service-map-five-topics": service_map(greenhouse(tuple(f"greenhouse/{i}/t" for i in range(5)), n=5))._repr_svg_(),
        "service-map-odd-values": service_map(odd)._repr_svg_(),
        "trace-list": trace_list(pd.concat([df, odd]))._repr_html_(),
        "logs-table": logs_table(logs=pd.DataFrame([
            {"time": T0 + pd.Timedelta(milliseconds=i), "severity": sev, "body": body, "logger": svc, "service": svc,
             "trace_id": "a" * 32, "span_id": span, "attributes": {}} for i, (sev, body, svc, span) in enumerate([
                ("INFO", "reading 21.5 °C", "sensor", "s" + "0" * 15), ("WARN", "ALERT: s-1 reads 36.9 °C", "alerter",
                                                                       "r" + "0" * 15),
                ("ERROR", "$\\href{https://x/}{\\text{Restart}}$ " + "x" * 300, 42, "p" + "0" * 15)])]),
            spans=df)[["severity", "logger", "body", "span"]]._repr_html_(),
        "self-check": Result(False, "This cell made no span named 'say goodbye' (it made 'hello', 'say hello to "
                                    "MQTT'): start it inside the span 'hello', with the same tracer. " * 2)._repr_html_(),
    }


def _column(width: int, markup: str) -> str:
    # JupyterLab's output area: its font, its inline SVG rule (max-width 100 %, height auto)
    return ('<html><head><style>body{margin:12px;font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,'
            'sans-serif;font-size:13px;color:#222} #view svg{max-width:100%;height:auto}</style></head><body>'
            f'<div id="view" style="width:{width}px;overflow-x:auto">{markup}</div></body></html>')


@pytest.mark.parametrize("width", [700, 934])
def test_every_view_fits_a_notebook_column_and_reads_well(chromium, width):
    page = chromium.new_page(viewport={"width": width + 40, "height": 900})
    found = {}
    for name, markup in _views().items():
        page.set_content(_column(width, markup))
        if name.startswith("waterfall") and "picture" not in name:   # a span open, as a learner would
            page.locator("#view .kit-waterfall > details > summary").nth(1).click()
        result = page.evaluate(AUDIT, "#view")
        assert len(result["texts"]) >= 2, name
        found[name] = problems(result)
        page.locator("#view").screenshot(path=str(ARTIFACTS / f"view-{name}-{width}.png"))
    page.close()
    assert found == {name: [] for name in found}


@pytest.mark.parametrize("width", [700, 934])
def test_each_png_fits_the_column_and_is_sharp(chromium, width):
    """The PNG an untrusted notebook shows: twice as many pixels as it is shown wide, never wider than the column."""
    import base64

    from kit.views import metrics_chart, service_map, waterfall
    from test_views import points_frame
    df = greenhouse(n=2)
    rows = [(sec, "svc", "msgs", "counter", "{message}", {"t": "x"}, v) for sec, v in [(0, 1), (1, 2), (2, 3)]]
    page = chromium.new_page(viewport={"width": width + 40, "height": 900})
    for png, shown in ((waterfall(df)._repr_png_(), 720), (service_map(df)._repr_png_(), 720),
                       (metrics_chart(points=points_frame(rows))._repr_png_(), 720)):
        src = "data:image/png;base64," + base64.b64encode(png).decode()
        page.set_content(_column(width, f'<img src="{src}" width="{shown}" style="max-width:100%;height:auto">'))
        size = page.evaluate("() => { const i = document.querySelector('img'); "
                             "return [i.naturalWidth, i.getBoundingClientRect().width]; }")
        assert size[0] == 2 * shown and size[1] <= width and page.evaluate(AUDIT, "#view")["overflow"] <= 0.5
    page.close()


def test_clicking_a_bar_opens_that_spans_details_and_again_closes_them(chromium):
    from kit.views import waterfall
    page = chromium.new_page(viewport={"width": 974, "height": 900})
    page.set_content(_column(934, waterfall(greenhouse(n=1))._repr_html_()))
    rows = page.locator("#view .kit-waterfall details")
    assert rows.count() == 4 and page.locator("#view details[open]").count() == 0
    rows.nth(1).locator(".kit-bar").click()                      # the processor's bar
    assert page.locator("#view details[open]").count() == 1
    assert rows.nth(1).evaluate("d => d.open") and rows.nth(1).get_by_text("reading checked", exact=False).first.is_visible()
    assert rows.nth(1).get_by_text("starts at +1.60 ms, lasts 2.10 ms").is_visible()
    rows.nth(3).locator("summary").get_by_text("process alerts/greenhouse-1").click()   # or its name
    assert rows.nth(3).evaluate("d => d.open")
    rows.nth(1).locator(".kit-bar").click()                      # again: closed
    assert not rows.nth(1).evaluate("d => d.open")
    page.screenshot(path=str(ARTIFACTS / "view-waterfall-clicked.png"))
    page.close()


# -- in JupyterLab -----------------------------------------------------------------------

MATHJAX_PROBE = [
    "from kit.telemetry import setup\nfrom kit.views import waterfall, trace_list, service_map, logs_table\n"
    "from kit import capture\nfrom kit.checks._result import Result\nfrom IPython.display import HTML\n"
    "TEX = r'$\\href{https://x/}{\\text{Restart the kernel}}$'\n"
    "tele = setup(TEX)\n"
    "with tele.tracer.start_as_current_span(TEX) as span:\n"
    "    span.add_event(TEX)\n    tele.logger.warning(TEX)\n"
    "tele.flush()",
    "waterfall()",
    "trace_list()",
    "waterfall().details()",
    "logs_table()",
    "Result(False, TEX)",
    "HTML('<p class=\"control\">' + TEX + '</p>')   # not the kit's: MathJax turns this one into a link",
]


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory):
    """JupyterLab on a copy of the lessons (never the committed files) and a probe notebook."""
    root = tmp_path_factory.mktemp("lab")
    for name in ("00_welcome", "09_multi_service_trace", "10_collector_pipeline"):
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", root)
    shutil.copytree(ROOT / "notebooks" / "solutions", root / "solutions")
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in MATHJAX_PROBE],
                                     metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                                              "language": "python"}})
    nbformat.write(probe, root / "mathjax_probe.ipynb")
    settings = tmp_path_factory.mktemp("lab-settings")   # no "news?" toast over the screenshots
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false"}))
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)   # every cell in the page, to count them
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    port, token = free_port(), "kit-browser-test"
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={root}", "--LabApp.news_url=", "--ServerApp.open_browser=False",
                             "--allow-root"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
                                 "JUPYTERLAB_SETTINGS_DIR": str(settings)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    yield url, token, root
    proc.terminate()
    proc.wait(20)


def _open(chromium, jupyter_lab, notebook, width=1400, height=1000):
    """The notebook alone in a fresh workspace (JupyterLab would reopen the last page's tabs)."""
    url, token, _ = jupyter_lab
    page = chromium.new_page(viewport={"width": width, "height": height})
    workspace = f"w{time.monotonic_ns()}"
    page.goto(f"{url}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={token}", timeout=60_000)
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook", timeout=60_000)
    # the kernel is up (a kernel's first start took over 60 s once, on a machine busy with other tests)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=150_000)
    return page


def _run_all(page, first_output):
    for attempt in range(2):  # a Run All sent while the kernel is still connecting can get lost
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            first_output.wait_for(timeout=45_000)
            return
        except Exception:
            if attempt:
                raise


def test_lesson_00_runs_and_shows_the_waterfall(chromium, jupyter_lab):
    page = _open(chromium, jupyter_lab, "00_welcome.ipynb")
    try:
        page.get_by_role("menuitem", name="Edit", exact=True).click()   # the stored outputs away: what shows is this run's
        page.get_by_role("menuitem", name="Clear Outputs of All Cells").click()
        assert page.locator(".kit-waterfall").count() == 0
        waterfall = page.locator(".jp-RenderedHTMLCommon .kit-waterfall").first
        _run_all(page, waterfall)
        page.wait_for_selector("text=✗ This cell made no span named 'say goodbye'", timeout=90_000)
        assert page.get_by_text("✓ Exactly the trace to aim for").count() == 0, \
            "Run All ran the solution: it should only load it"
        page.locator(".jp-InputPlaceholder").first.click()  # the collapsed solution cell, now holding the code
        page.get_by_text("%load solutions/ex_0.1.py").first.wait_for(timeout=10_000)
        page.keyboard.press("Shift+Enter")  # run the loaded solution
        page.wait_for_selector("text=✓ Exactly the trace to aim for", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "00_welcome.png"), full_page=False)
        waterfall.scroll_into_view_if_needed()
        waterfall.screenshot(path=str(ARTIFACTS / "00_welcome-first-trace.png"))
        assert "say hello to MQTT" in waterfall.inner_text() and "INTERNAL" in waterfall.inner_text()
        box = waterfall.bounding_box()
        assert box and box["width"] > 400 and box["height"] > 60  # drawn, not an empty box
        waterfall.locator(".kit-bar").nth(1).click()   # a bar opens its span, no kernel needed
        assert waterfall.locator("details[open]").count() == 1
        assert waterfall.locator("details[open]").get_by_text("starts at +").is_visible()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "00_welcome-failed.png"))
        raise
    finally:
        page.close()


def _stored_picture_outputs(path: Path) -> list[bool]:
    """For each output JupyterLab shows, in order: whether it is a picture (it carries a PNG).
    (JupyterLab shows consecutive stream outputs of one name as one.)"""
    nb = nbformat.read(path, as_version=4)
    shown = []
    for cell in nb.cells:
        last = None
        for out in cell.get("outputs", []):
            stream = out.get("name") if out.output_type == "stream" else None
            if stream is None or stream != last:
                shown.append("image/png" in out.get("data", {}))
            last = stream
    return shown


@pytest.mark.parametrize("screen", [(1366, 768), (1024, 768)])
@pytest.mark.parametrize("notebook", ["09_multi_service_trace", "10_collector_pipeline", "00_welcome"])
def test_a_lesson_just_opened_shows_its_pictures_and_stays_unmodified(chromium, jupyter_lab, notebook, screen):
    """Not trusted yet: JupyterLab shows the PNG (or the waterfall's plain HTML), never the text
    form, for every stored picture; and opening the lesson does not mark it modified."""
    page = _open(chromium, jupyter_lab, f"{notebook}.ipynb", *screen)
    try:
        pictures = _stored_picture_outputs(jupyter_lab[2] / f"{notebook}.ipynb")
        outputs = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .jp-OutputArea-output")
        page.wait_for_function("n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell "
                               ".jp-OutputArea-output').length >= n", arg=len(pictures), timeout=30_000)
        mimes = outputs.evaluate_all("els => els.map(e => e.dataset.mimeType || '')")
        shown = [m for m, picture in zip(mimes, pictures) if picture]
        assert len(mimes) == len(pictures) and shown and set(shown) <= {"image/png", "text/html"}, (mimes, pictures)
        untrusted = page.evaluate("() => [...document.querySelectorAll('.kit-waterfall')].length")
        assert untrusted == sum(1 for m, p in zip(mimes, pictures) if p and m == "text/html")
        first = page.locator(".jp-Cell .jp-OutputArea-output[data-mime-type='image/png'], .kit-waterfall").first
        first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)   # the scroll settles before the screenshot (nothing is waited for)
        page.screenshot(path=str(ARTIFACTS / f"lab-{notebook}-{screen[0]}x{screen[1]}.png"))
        overflow = page.evaluate("() => Math.max(...[...document.querySelectorAll('.jp-OutputArea-output')]"
                                 ".map(o => o.scrollWidth - o.clientWidth))")
        assert overflow <= 1, "a picture sticks out of its output area"
        for k, i in enumerate(i for i, (m, p) in enumerate(zip(mimes, pictures)) if p):   # each picture, to look at
            outputs.nth(i).scroll_into_view_if_needed()
            outputs.nth(i).screenshot(path=str(ARTIFACTS / f"lab-{notebook}-{screen[0]}x{screen[1]}-picture{k + 1}.png"))
        tab = page.locator(".lm-TabBar-tab.jp-mod-current")
        assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), "opening the lesson marked it modified"
    finally:
        page.close()


def test_tex_in_telemetry_stays_text_and_a_click_opens_a_span(chromium, jupyter_lab):
    """MathJax typesets ``$…$`` in HTML outputs (the control cell proves it is on); the kit's
    outputs (waterfall, span details, trace list, logs table, a self-check) keep it as text."""
    page = _open(chromium, jupyter_lab, "mathjax_probe.ipynb")
    try:
        control = page.locator(".jp-OutputArea-output p.control")
        _run_all(page, control)
        page.wait_for_function("() => document.querySelector('p.control mjx-container, p.control a')",
                               timeout=60_000)
        kinds = page.evaluate("() => ['kit-waterfall', 'kit-span-details', 'kit-traces', 'kit-logs', 'kit-check']"
                              ".map(k => document.querySelectorAll('.jp-OutputArea-output .' + k).length)")
        assert kinds == [1, 1, 1, 1, 1], kinds
        links = page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output a[href]')]"
                              ".map(a => a.closest('p.control') ? 'control' : a.outerHTML)")
        typeset = page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output mjx-container')]"
                                ".filter(m => !m.closest('p.control')).length")
        assert set(links) <= {"control"} and typeset == 0, links
        assert "$\\href{https://x/}{\\text{Restart the kernel}}$" in page.locator(".kit-waterfall").inner_text()
        bar = page.locator(".kit-waterfall .kit-bar").first
        bar.click()
        assert page.locator(".kit-waterfall details[open]").count() == 1
        page.screenshot(path=str(ARTIFACTS / "lab-mathjax-probe.png"))
    finally:
        page.close()
