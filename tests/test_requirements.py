"""requirements.txt pins what the lessons need, requirements-dev.txt adds the test tools; the
install matches the pins, and a learner's install carries no test tooling."""

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).parent.parent


def pins(name="requirements.txt"):
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            out.update(pins(line[3:].strip()))
            continue
        if not line or line.startswith("-e"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        assert m, f"not pinned exactly: {line!r}"
        out[m.group(1)] = m.group(2)
    return out


def test_every_requirement_is_pinned_and_installed_at_that_version():
    for name, version in pins("requirements-dev.txt").items():
        assert metadata.version(name) == version, f"{name}: installed {metadata.version(name)}, pinned {version}"


INSTRUMENTATION = ROOT / "instrumentation" / "opentelemetry-instrumentation-paho-mqtt"


def project(folder: Path) -> dict:
    import tomllib
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


def test_the_instrumentation_then_the_kit_are_installed_from_their_folders():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    editable = [line for line in lines if line.startswith("-e")]
    assert editable == ["-e ./instrumentation/opentelemetry-instrumentation-paho-mqtt", "-e ."]
    import kit
    import opentelemetry.instrumentation.paho_mqtt as instrumentation
    assert Path(kit.__file__).resolve().parent == ROOT / "kit"
    assert Path(instrumentation.__file__).resolve().parent == \
        INSTRUMENTATION / "src" / "opentelemetry" / "instrumentation" / "paho_mqtt"
    assert metadata.version("opentelemetry-instrumentation-paho-mqtt") == instrumentation.__version__


def test_pins_satisfy_the_ranges_of_the_kit_and_of_the_instrumentation():
    kit, instrumentation = project(ROOT), project(INSTRUMENTATION)
    deps = kit["dependencies"] + instrumentation["dependencies"] + instrumentation["optional-dependencies"]["instruments"]
    pinned = {k.lower(): v for k, v in pins().items()}
    pinned["opentelemetry-instrumentation-paho-mqtt"] = metadata.version("opentelemetry-instrumentation-paho-mqtt")
    for dep in map(Requirement, deps):
        assert dep.name.lower() in pinned, f"{dep.name} is a dependency but not pinned"
        assert dep.specifier.contains(pinned[dep.name.lower()], prereleases=True), dep


def test_the_learners_install_has_no_test_tools_and_the_dev_install_has_them_all():
    learner, dev = set(pins()), set(pins("requirements-dev.txt"))
    tools = {"pytest", "nbval", "pytest-xdist", "hypothesis", "playwright", "jupytext", "kubernetes-validate",
             "check-jsonschema"}
    assert not learner & tools, f"test tools in requirements.txt: {sorted(learner & tools)}"
    assert tools <= dev and learner <= dev
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()


def test_the_kit_depends_on_the_instrumentation_and_no_longer_ships_it():
    """The kit's install is the kit with what its modules import, the instrumentation among
    them (a distribution of its own); the kit's wheel has no package of the instrumentation."""
    import tomllib
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    base = {Requirement(d).name for d in pyproject["project"]["dependencies"]}
    assert {"opentelemetry-instrumentation-paho-mqtt", "opentelemetry-sdk", "paho-mqtt", "pandas", "matplotlib",
            "amqtt"} <= base
    assert "optional-dependencies" not in pyproject["project"]
    assert "entry-points" not in pyproject["project"]
    assert not [p for p in pyproject["tool"]["setuptools"]["packages"] if "instrumentation" in p]
    assert not (ROOT / "kit" / "instrumentation").exists()


def test_the_instrumentation_alone_needs_no_lesson_dependency():
    """A user who wants only the instrumentation gets the API, opentelemetry-instrumentation
    and wrapt (paho-mqtt with [instruments]), as contrib's instrumentations."""
    instrumentation = project(INSTRUMENTATION)
    assert {Requirement(d).name for d in instrumentation["dependencies"]} == \
        {"opentelemetry-api", "opentelemetry-instrumentation", "wrapt"}
    assert {Requirement(d).name for d in instrumentation["optional-dependencies"]["instruments"]} == {"paho-mqtt"}
