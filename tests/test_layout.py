"""The kit's layout: no import circle among its modules.

A circle (``a`` imports ``b``, which imports ``a``, directly or through others) means neither
module can be read, tested or moved without the other. Every ``import`` in ``kit/`` counts,
those inside functions too (a lazy import is still an arrow); those under
``if TYPE_CHECKING:`` do not (they never run). Importing a module of a package loads the
package's ``__init__`` first: from outside the package that is an arrow to the package too
(``kit.capture`` importing ``kit.receiver.rows`` would run ``kit/receiver/__init__.py``);
from inside it, the package is already loading, and it is not.

Run it alone to see the arrows of every circle: ``pytest -n 0 tests/test_layout.py -v``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parent.parent / "kit"

# Circles known and owned by work in progress, by the modules they pass through: each must
# disappear (strict xfail: once it is fixed its test passes, pytest reports the XPASS as a
# failure, and the entry goes). Any other circle fails test_no_import_circle_in_the_kit.
def module_names() -> dict[str, Path]:
    """Every module of the kit by dotted name (a package by its ``__init__``)."""
    out = {}
    for path in KIT.rglob("*.py"):
        parts = path.relative_to(KIT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import/ImportFrom node, at any depth, except under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(node, ast.If) and _type_checking(node.test) and child in node.body:
                continue
            stack.append(child)


def _packages_loaded(importer: str, target: str) -> list[str]:
    """The packages whose ``__init__`` importing ``target`` runs from ``importer`` (not the
    root ``kit``, nor a package ``importer`` is itself in)."""
    parts = target.split(".")
    return [p for p in (".".join(parts[:i]) for i in range(2, len(parts)))
            if not (importer == p or importer.startswith(p + "."))]


def arrows(modules: dict[str, Path]) -> dict[str, dict[str, str]]:
    """module → {kit module it imports: where (the line of the first such import)}."""
    graph: dict[str, dict[str, str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: dict[str, str] = {}
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from . import x, from ..y import z
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # "from pkg import mod" imports the module; "from pkg import name" the package
                found = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in found:
                if target in modules and target != name:
                    targets.setdefault(target, f"line {node.lineno}")
                    for package in _packages_loaded(name, target):
                        targets.setdefault(package, f"line {node.lineno}, its __init__ run to reach {target}")
        graph[name] = targets
    return graph


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Every elementary circle of the graph, each once, starting at its smallest module."""
    found = []
    order = sorted(graph)
    for i, start in enumerate(order):
        allowed = set(order[i:])  # circles through smaller modules were found from them
        path, stack = [start], [iter(sorted(graph[start]))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                path.pop()
            elif nxt == start:
                found.append(list(path))
            elif nxt in allowed and nxt not in path:
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return found


def describe(circle: list[str], graph) -> str:
    hops = zip(circle, circle[1:] + circle[:1])
    return "  " + " -> ".join(circle + circle[:1]) + "\n" + "".join(
        f"      {a} imports {b} ({graph[a][b]})\n" for a, b in hops)


@pytest.fixture(scope="module")
def graph():
    return arrows(module_names())


def test_the_graph_sees_lazy_imports_and_packages_and_skips_type_checking_ones(tmp_path):
    """The reader itself: a lazy import is an arrow, a TYPE_CHECKING one is not; importing a
    package's module from outside it is an arrow to the package as well."""
    (tmp_path / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from kit import b\n"
                                   "def f():\n    from kit import c\n")
    (tmp_path / "b.py").write_text("import kit.a\n")
    (tmp_path / "c.py").write_text("")
    graph = arrows({f"kit.{m}": tmp_path / f"{m}.py" for m in "abc"})
    assert graph == {"kit.a": {"kit.c": "line 5"}, "kit.b": {"kit.a": "line 1"}, "kit.c": {}}
    (tmp_path / "p").mkdir()
    for path, text in (("p/__init__.py", "from kit.p import m\n"), ("p/m.py", "from kit.p.n import x\n"),
                       ("p/n.py", ""), ("d.py", "from kit.p.n import x\n")):
        (tmp_path / path).write_text(text)
    graph = arrows({"kit.p": tmp_path / "p/__init__.py", "kit.p.m": tmp_path / "p/m.py",
                    "kit.p.n": tmp_path / "p/n.py", "kit.d": tmp_path / "d.py"})
    assert graph["kit.p.m"] == {"kit.p.n": "line 1"}  # inside the package: its __init__ is already loading
    assert graph["kit.d"] == {"kit.p.n": "line 1", "kit.p": "line 1, its __init__ run to reach kit.p.n"}
    assert circles({"a": {"b": 1}, "b": {"c": 1, "a": 1}, "c": {"a": 1}}) == [["a", "b"], ["a", "b", "c"]]


def test_no_import_circle_in_the_kit(graph):
    found = circles(graph)
    assert not found, f"{len(found)} import circle(s) in kit/:\n" + "".join(describe(c, graph) for c in found)


# Arrows that must not exist, though they would make no circle: what each side may know.
FORBIDDEN = [
    ("kit.receiver", "kit.attempts", "a receiver adds its store to kit.running; the watermark reads it there"),
    ("kit.receiver", "kit.telemetry", "the receiver serves other processes: it needs no SDK set up here"),
    ("kit.remote", "kit.receiver", "reading a receiver over HTTP needs kit.rows, not the servers (nor gRPC)"),
    ("kit.capture", "kit.receiver", "the kernel's own telemetry does not depend on the receiver"),
    ("kit.rows", "kit.", "the rows' shape is a leaf: everything else builds on it"),
    ("kit.running", "kit.", "the registry is a leaf: services and receivers add themselves, attempts reads"),
    ("kit.checks", "kit.classroom", "the checks publish each verdict (kit.checks.verdicts); the classroom listens"),
    ("kit.checks.verdicts", "kit.", "the verdicts' listeners are a leaf: the checks publish, anyone listens"),
    ("kit.receiver", "kit.classroom", "the board is built on the receiver, through its gate and routes"),
    ("kit.classroom", "kit.telemetry", "the classroom's providers are its own: never the lesson's setup()"),
    ("kit.classroom", "kit.capture", "the classroom's telemetry never reaches the lesson's capture"),
]


def _in(module: str, where: str) -> bool:
    """``module`` is ``where`` or inside it (``where`` ending in a dot: any module under it)."""
    return module.startswith(where) if where.endswith(".") else module == where or module.startswith(where + ".")


def test_the_arrows_point_one_way(graph):
    wrong = []
    for source, target, why in FORBIDDEN:
        for a in (m for m in graph if _in(m, source)):
            wrong += [f"  {a} imports {b} ({where}): {why}" for b, where in graph[a].items()
                      if _in(b, target) and not _in(b, source)]
    assert not wrong, "arrows the wrong way:\n" + "\n".join(wrong)


def test_every_package_of_the_kit_is_shipped():
    """pyproject.toml lists the packages by hand: one left out installs without its modules."""
    import tomllib
    listed = set(tomllib.loads((KIT.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {name for name, path in module_names().items() if path.name == "__init__.py"}
    assert packages <= listed, f"not in pyproject.toml's packages: {sorted(packages - listed)}"


# ---------------------------------------------------------------- what the docs name exists

DOCS = ["README.md", "CONTRIBUTING.md", "INSTRUCTOR.md", "TROUBLESHOOTING.md"]
ROOT = KIT.parent
INSTRUMENTATION = ROOT / "instrumentation" / "opentelemetry-instrumentation-paho-mqtt"
GONE = {"kit.instrumentation.paho", "kit.instrumentation"}  # names the docs say are gone (and must stay gone)
DOTTED = re.compile(r"(?<![\w./-])(kit(?:\.[A-Za-z_]\w*)+|opentelemetry\.instrumentation\.paho_mqtt(?:\.[A-Za-z_]\w*)*)")
PATH = re.compile(r"(?<![\w./-])((?:kit|tests|benchmarks|tools|notebooks|capstone|services|config|instrumentation|"
                  r"binder|k8s|\.ci)/[\w./*-]*)")
PLACEHOLDER = re.compile(r"NN|_x\.|N\.M|test_x|XX")


def named_in_docs(pattern) -> dict[str, list[str]]:
    """Each name the docs give that matches ``pattern``, with where it is (file:line)."""
    found: dict[str, list[str]] = {}
    for doc in DOCS:
        for number, line in enumerate((ROOT / doc).read_text().splitlines(), 1):
            for match in pattern.finditer(line):
                found.setdefault(match.group(1).rstrip("."), []).append(f"{doc}:{number}")
    return found


def _resolves(dotted: str) -> bool:
    """A module of the kit (or the instrumentation), or a name defined in one."""
    import importlib
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        obj = module
        for attribute in parts[cut:]:
            if not hasattr(obj, attribute):
                return False
            obj = getattr(obj, attribute)
        return True
    return False


def test_every_module_the_docs_name_exists():
    """README, CONTRIBUTING, INSTRUCTOR and TROUBLESHOOTING name modules (``kit.receiver.hosts``,
    ``kit.classroom.join``): each must be there, so that a module moved or renamed takes its
    docs with it."""
    named = named_in_docs(DOTTED)
    assert len(named) > 60, "the scan found too few names: has the docs' way of naming modules changed?"
    missing = [f"  {name}  ({', '.join(where)})" for name, where in sorted(named.items())
               if name not in GONE and not _resolves(name)]
    assert not missing, "the docs name modules that do not exist:\n" + "\n".join(missing)
    assert not [name for name in GONE if _resolves(name)], "a name the docs call gone is back: fix the docs"


def test_every_file_the_docs_name_exists():
    """…and each file or folder they name (``kit/receiver/hosts.py``, ``benchmarks/bench_broker.py``,
    ``tests/test_instrumentation_*.py``), from the repository's root (or, for the instrumentation's
    own files, from its folder); not a placeholder (``NN_name``, ``test_x.py``), nor what a learner
    makes (in ``.gitignore``)."""
    named = named_in_docs(PATH)
    assert len(named) > 40, "the scan found too few paths: has the docs' way of naming files changed?"
    made_by_learners = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    missing = [f"  {path}  ({', '.join(where)})" for path, where in sorted(named.items())
               if not PLACEHOLDER.search(path) and path not in made_by_learners
               and not any(base.glob(path) if "*" in path else (base / path).exists()
                           for base in (ROOT, INSTRUMENTATION))]
    assert not missing, "the docs name files that do not exist:\n" + "\n".join(missing)


def test_the_readme_lists_every_module_of_the_kit():
    """The README's map of the kit names every module but the private ones (``_x``), so a new
    module is placed on the map when it is added."""
    readme = (ROOT / "README.md").read_text()
    public = [m for m in module_names() if not any(part.startswith("_") for part in m.split("."))]
    unlisted = [m for m in sorted(public) if not re.search(rf"(?<![\w.]){re.escape(m)}(?!\w)", readme)]
    assert not unlisted, f"modules the README's table of the kit does not name: {unlisted}"
