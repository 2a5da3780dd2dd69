"""kit.environment: the check of notebook 00."""

from kit.environment import Report, check_environment


def test_this_install_passes():
    report = check_environment()
    assert report.ok, repr(report)
    assert any("opentelemetry-sdk" in line for line in report)


def test_exporters_from_environment_are_shown(otel_env):
    otel_env.setenv("OTEL_TRACES_EXPORTER", "otlp")
    assert "traces=otlp" in repr(check_environment())


def test_a_missing_package_is_a_problem_with_its_fix(monkeypatch):
    from kit import environment
    monkeypatch.setattr(environment, "REQUIRED", ["no-such-package-xyz"])
    report = environment.check_environment()
    assert not report.ok
    assert "✗ no-such-package-xyz is not installed: pip install -r requirements.txt" in repr(report)
    assert isinstance(report, Report)
