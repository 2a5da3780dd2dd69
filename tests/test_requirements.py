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


def test_the_kit_is_installed_from_this_folder():
    assert "-e .[lessons]" in (ROOT / "requirements.txt").read_text()
    import kit
    assert Path(kit.__file__).resolve().parent == ROOT / "kit"


def test_pins_satisfy_the_kits_own_ranges():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["lessons"] + \
        project["optional-dependencies"]["instruments"]
    pinned = {k.lower(): v for k, v in pins().items()}
    for dep in map(Requirement, deps):
        assert dep.name.lower() in pinned, f"{dep.name} is a kit dependency but not pinned"
        assert dep.specifier.contains(pinned[dep.name.lower()], prereleases=True), dep


def test_the_learners_install_has_no_test_tools_and_the_dev_install_has_them_all():
    learner, dev = set(pins()), set(pins("requirements-dev.txt"))
    tools = {"pytest", "nbval", "pytest-xdist", "hypothesis", "playwright", "jupytext", "kubernetes-validate",
             "check-jsonschema"}
    assert not learner & tools, f"test tools in requirements.txt: {sorted(learner & tools)}"
    assert tools <= dev and learner <= dev
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()


def test_the_base_install_is_the_instrumentation_alone():
    """No lesson dependency in the base install: a user who wants only the instrumentation
    gets the API, opentelemetry-instrumentation and wrapt (paho-mqtt with [instruments])."""
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {Requirement(d).name for d in project["dependencies"]}
    assert base == {"opentelemetry-api", "opentelemetry-instrumentation", "wrapt"}
    assert {Requirement(d).name for d in project["optional-dependencies"]["instruments"]} == {"paho-mqtt"}
    lessons = {Requirement(d).name for d in project["optional-dependencies"]["lessons"]}
    assert {"pandas", "matplotlib", "amqtt", "opentelemetry-sdk"} <= lessons
