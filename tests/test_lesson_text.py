"""What the lessons say agrees with what their self-checks do (issue 17, class 11)."""

import re
from pathlib import Path

import jupytext

SOURCES = Path(__file__).resolve().parent.parent / "notebooks" / "sources"


def lesson(prefix):
    return jupytext.read(next(SOURCES.glob(prefix + "_*.py")))


def markdown(prefix):
    return "\n".join(c.source for c in lesson(prefix).cells if c.cell_type == "markdown")


def test_00_keeps_the_verdict_as_the_cells_last_line():
    text = markdown("00")
    assert "as the last line of your cell" not in text
    assert "display(waterfall())" in text
    for cell in lesson("00").cells:
        if "exercise" in cell.metadata.get("tags", []):
            assert cell.source.strip().splitlines()[-1].startswith("check_")


def test_00_environment_check_covers_what_the_lessons_import():
    from kit.environment import check_environment
    report = repr(check_environment())
    for name in ("paho-mqtt 2.", "amqtt", "opentelemetry-instrumentation ", "pyyaml"):
        assert f"✓ {name}" in report, name
    assert "paho-mqtt 2.x" in markdown("00") and "amqtt" in markdown("00")


def test_00_environment_check_refuses_paho_1(monkeypatch):
    from kit import environment
    real = environment.metadata.version
    monkeypatch.setattr(environment.metadata, "version", lambda name: "1.6.1" if name == "paho-mqtt" else real(name))
    report = environment.check_environment()
    assert not report.ok and "✗ paho-mqtt 1.6.1 is installed, the lessons need 2.x" in repr(report)


def test_07_tells_to_hand_the_propagator_text_fields_as_the_check_requires():
    text = markdown("07")
    assert "parse, and `propagate.extract(obj)`" not in text
    assert "isinstance(v, str)" in text and "21.50" in text


def test_08_options_table_has_the_option_8_2_needs():
    rows = [line for line in markdown("08").splitlines() if line.startswith("# |") or line.startswith("|")]
    assert any("message_body_size=True" in row for row in rows)


def test_11_trust_boundary_rule_and_its_example_agree():
    text = markdown("11")
    rule = re.search(r"2\. \*\*Do not trust baggage.*?(?=\n\n|\Z)", text, re.S).group(0)
    assert "allow-list" in rule and "claims" in rule
    assert "extract only the\n#    trace context" not in text
    assert "Its value is still the outsider's claim" in text


def test_the_exercises_name_no_value_the_check_draws():
    """A value typed in from the text would be right only by accident: the tasks point at the variables."""
    assert '`tenant.id` = `"acme"`' not in markdown("04")
    assert "the three readings" not in markdown("08")
    assert "The self-check calls them with this run's orders" in markdown("04")
