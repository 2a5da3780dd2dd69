"""requirements.txt pins what the lessons were tested with, and the install matches it."""

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).parent.parent


def pins():
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-e"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        assert m, f"not pinned exactly: {line!r}"
        out[m.group(1)] = m.group(2)
    return out


def test_every_requirement_is_pinned_and_installed_at_that_version():
    for name, version in pins().items():
        assert metadata.version(name) == version, f"{name}: installed {metadata.version(name)}, pinned {version}"


def test_the_kit_is_installed_from_this_folder():
    assert "-e ." in (ROOT / "requirements.txt").read_text()
    import kit
    assert Path(kit.__file__).resolve().parent == ROOT / "kit"


def test_pins_satisfy_the_kits_own_ranges():
    import tomllib
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = {k.lower(): v for k, v in pins().items()}
    for dep in map(Requirement, deps):
        assert dep.name.lower() in pinned, f"{dep.name} is a kit dependency but not pinned"
        assert dep.specifier.contains(pinned[dep.name.lower()], prereleases=True), dep
