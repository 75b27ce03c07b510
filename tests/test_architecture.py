"""The code keeps the map in docs/ARCHITECTURE.md: data flows one way, a package is entered
through its door, each third-party library has one owner, and every module is on the map.

The map is the document: these tests read its tables, so the two cannot drift apart."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import calendar_tool
from tests.paths import ROOT

PACKAGE = Path(calendar_tool.__file__).parent
DOC = ROOT / "docs" / "ARCHITECTURE.md"


def _table(heading: str) -> list[list[str]]:
    """The rows of the first table under `## heading`, each cell without its backquotes."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows[2:]]


LAYERS = {unit: int(layer) for unit, layer, _ in _table("Units")}
OWNERS = {library: owner for library, owner in _table("Libraries")}


def _modules() -> dict[str, Path]:
    """Every module of the package by its name on the map: `store`, `register/read`."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        if rel.parts == ("__init__",):
            continue
        out["/".join(rel.parts)] = path
    return out


def _unit(module: str) -> str:
    return module.split("/")[0]


def _imports(path: Path) -> set[str]:
    """What a file imports, as dotted names (a `from X import y` counts `X` and `X.y`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _inner(name: str) -> list[str]:
    """The parts of a dotted name inside calendar_tool that name a module or package."""
    parts = name.split(".")[1:]
    while parts and not ((PACKAGE.joinpath(*parts).with_suffix(".py")).exists()
                         or PACKAGE.joinpath(*parts).is_dir()):
        parts.pop()
    return parts


def test_every_module_is_on_the_map() -> None:
    """Each module of calendar_tool/ is a unit of the map or named in its Modules table, and
    each unit of the map exists."""
    named = {m for m, _ in _table("Modules")}
    missing = [m for m in _modules() if m not in LAYERS and m not in named]
    assert missing == []
    absent = [u for u in LAYERS
              if not (PACKAGE / f"{u}.py").exists() and not (PACKAGE / u).is_dir()]
    assert absent == []
    stale = [m for m in named if m not in _modules()]
    assert stale == []


def test_every_import_points_down() -> None:
    """No module imports a unit on its own layer or above it (its own unit aside)."""
    wrong = []
    for module, path in _modules().items():
        me = _unit(module)
        for name in _imports(path):
            if not name.startswith("calendar_tool."):
                continue
            parts = _inner(name)
            if not parts or parts[0] == me:
                continue
            if LAYERS[parts[0]] >= LAYERS[me]:
                wrong.append(f"{module} imports {'.'.join(parts)}")
    assert sorted(set(wrong)) == []


def test_packages_are_entered_through_their_door() -> None:
    """Code outside a package imports its `__init__` only, never a module inside it."""
    packages = {u for u in LAYERS if (PACKAGE / u).is_dir()}
    wrong = []
    for module, path in _modules().items():
        for name in _imports(path):
            if not name.startswith("calendar_tool."):
                continue
            parts = _inner(name)
            if len(parts) > 1 and parts[0] in packages and parts[0] != _unit(module):
                wrong.append(f"{module} imports {'.'.join(parts)}")
    assert sorted(set(wrong)) == []


def test_shells_reach_the_store_through_the_service() -> None:
    """cli, web and scheduler import the service, never what it keeps (the Shells table)."""
    forbidden = {shell: unit for shell, unit in _table("Shells")}
    wrong = []
    for module, path in _modules().items():
        unit = forbidden.get(_unit(module))
        for name in _imports(path):
            inner = _inner(name) if name.startswith("calendar_tool.") else []
            if unit is not None and inner[:1] == [unit]:
                wrong.append(f"{module} imports {name}")
    assert wrong == []


def test_each_library_has_one_owner() -> None:
    """A library with an owner on the map is imported by that unit or module alone."""
    wrong = []
    for module, path in _modules().items():
        for name in _imports(path):
            owner = OWNERS.get(name.split(".")[0])
            if owner is not None and owner not in (module, _unit(module)) and \
                    not module.startswith(owner + "/"):
                wrong.append(f"{module} imports {name} (owned by {owner})")
    assert sorted(set(wrong)) == []


def test_each_package_says_what_it_owns_and_may_import() -> None:
    """The door of every package names what the package owns and what it may import."""
    for unit in LAYERS:
        door = PACKAGE / unit / "__init__.py"
        if door.exists():
            doc = ast.get_docstring(ast.parse(door.read_text(encoding="utf-8"))) or ""
            assert re.search(r"^May import:", doc, re.M), unit
            assert "Owns" in doc or "owns" in doc, unit


def test_no_function_is_longer_than_sixty_lines() -> None:
    """Functions stay short enough to read at once (DEVELOPERS.md: 60 lines at most)."""
    long = []
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                if length > 60:
                    long.append(f"{module}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


@pytest.mark.parametrize("door", ["service", "delivery", "register"])
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_a_lazy_door_gives_each_name_from_its_module(door: str, order: str) -> None:
    """The doors that load their modules on first use (service, register; delivery's http
    names) give every name of `__all__`, and the same object a second time, whichever is
    asked first: a submodule loaded under a name of the door (`service.subscriptions`) does
    not hide it."""
    code = (
        "import importlib\n"
        f"door = importlib.import_module('calendar_tool.{door}')\n"
        "names = list(door.__all__)\n"
        f"names = names if {order == 'forward'} else names[::-1]\n"
        "first = {n: getattr(door, n) for n in names}\n"
        "wrong = [n for n in names if getattr(door, n) is not first[n]\n"
        "         or type(first[n]).__name__ == 'module']\n"
        "print(wrong)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
