"""The lessons as files: their form, their stored outputs, their plain-text sources."""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["00_welcome", "01_traces", "02_metrics", "03_logs", "04_context_and_baggage",
            "05_mqtt_basics", "06_mqtt5_user_properties", "07_mqtt311_json_payload", "08_auto_instrumentation",
            "09_multi_service_trace", "10_collector_pipeline", "11_overhead_and_sampling",
            "12_capstone_greenhouse"]


def load(path):
    return nbformat.read(path, as_version=4)


def test_the_lessons_exist_in_order():
    assert [p.stem for p in NOTEBOOKS][:len(EXPECTED)] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_form(path):
    nb = load(path)
    head = nb.cells[0].source
    assert re.search(r"\*\*Teaching:\*\* \d+ min · \*\*Exercises:\*\* \d+ min", head), "minutes at the top"
    assert "**Questions**" in head and "**Objectives**" in head
    assert "**Key points**" in nb.cells[-1].source
    assert any("exercise" in c.metadata.get("tags", []) for c in nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_are_committed_and_clean(path):
    nb = load(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "run tools/build_notebooks.py"
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", cell.source
            assert not re.search(r"/(tmp|root|home|work)/", str(out)), f"a machine path in {cell.source!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_its_source(path):
    source = ROOT / "notebooks" / "sources" / (path.stem + ".py")
    expected = jupytext.read(source)
    actual = load(path)
    assert [(c.cell_type, c.source) for c in actual.cells] == \
           [(c.cell_type, c.source) for c in expected.cells], f"rebuild: python tools/build_notebooks.py {path.stem[:2]}"


def test_welcome_shows_a_waterfall_within_three_cells():
    nb = load(ROOT / "notebooks" / "00_welcome.ipynb")
    first_three = [c for c in nb.cells if c.cell_type == "code"][:3]
    assert any('class="kit-waterfall' in o.get("data", {}).get("text/html", "") and "image/png" in o.get("data", {})
               for c in first_three for o in c.outputs)


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "data" in o]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_stored_picture_shows_in_a_notebook_not_yet_trusted(path):
    """JupyterLab shows a stored SVG (or JavaScript) only once the notebook is trusted, and
    GitHub not at all: each picture carries a PNG beside it, shown at the picture's width,
    and keeps its text form for a terminal. (The waterfall's HTML is the kind JupyterLab
    shows untrusted too: plain tags, inline styles; tests/test_browser.py looks at it.)"""
    for out in _outputs(load(path)):
        data = out["data"]
        picture = "image/svg+xml" in data or 'class="kit-waterfall' in data.get("text/html", "")
        if picture:
            assert "image/png" in data, f"a picture with no PNG: {data.get('text/plain', '')[:80]!r}"
            assert out.get("metadata", {}).get("image/png", {}).get("width"), "a 2x PNG with no width to show it at"
        if picture or "image/png" in data:
            assert data["text/plain"].strip(), "a picture with no text form"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_kits_html_outputs_keep_mathjax_off(path):
    """A ``$…$`` in telemetry must stay text: every HTML output the kit writes says so."""
    for out in _outputs(load(path)):
        html = out["data"].get("text/html", "")
        if re.search(r'class="kit-', html):
            first = re.search(r'class="(kit-[^"]*)"', html).group(1).split()
            assert {"tex2jax_ignore", "mathjax_ignore"} <= set(first), first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_with_the_kernelspec_jupyterlab_writes(path):
    """JupyterLab rewrites any other display name, marking a lesson modified as soon as it is opened."""
    import sys
    sys.path.insert(0, str(ROOT / "tools"))
    from build_notebooks import KERNELSPEC
    assert KERNELSPEC == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    assert load(path).metadata["kernelspec"] == KERNELSPEC


def test_nbval_is_strict_and_sanitizes_only_what_varies():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "--nbval " in pyproject and "--nbval-lax" not in pyproject
    cfg = (ROOT / "notebooks" / "nbval_sanitize.cfg").read_text()
    for kept in ("✓", "✗", "ERROR", "PRODUCER", "CONSUMER"):
        assert kept not in cfg


def test_background_export_errors_never_land_in_a_later_cell():
    """A dead collector: the exporter thread fails while later cells run; they stay clean,
    and the next flush() reports it in its own cell."""
    cells = [
        "import os\nos.environ['OTEL_BSP_SCHEDULE_DELAY'] = '50'\n"
        "from kit.telemetry import setup\nfrom kit.ports import free_port\n"
        "tele = setup('bg', exporters='otlp', endpoint=f'http://127.0.0.1:{free_port()}', check=False)\n"
        "with tele.tracer.start_as_current_span('x'):\n    pass",
        "import time\nfrom kit import telemetry\ndeadline = time.monotonic() + 20\n"
        "while not telemetry._failed_exports and time.monotonic() < deadline:\n    time.sleep(0.05)\n"
        "print('failed in the background:', bool(telemetry._failed_exports))",
        "print('a later cell')",
        "tele.flush(timeout_s=1)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=60).execute()
    streams = [[o for o in c.outputs if o.output_type == "stream"] for c in nb.cells]
    assert [o.text for o in streams[1]] == ["failed in the background: True\n"]
    assert [o.text for o in streams[2]] == ["a later cell\n"]
    assert not any(o.name == "stderr" for s in streams[:3] for o in s)
    assert any(o.name == "stderr" and "failed" in o.text for o in streams[3])
