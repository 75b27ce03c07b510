"""Data flows one way: a module imports only from the layers below it, and each third-party
library has one module that owns it (DESIGN.md, "Architecture")."""

from __future__ import annotations

import ast
from pathlib import Path

import calendar_tool

PACKAGE = Path(calendar_tool.__file__).parent

# Bottom to top. `register` sits above `timeline` because validating a register includes
# computing its dates (a relative date that falls outside the calendar is a problem of the file).
LAYERS: list[set[str]] = [
    {"errors", "clock", "config", "files", "logs", "heap", "forked", "__init__"},
    {"model"},
    {"timeline", "listing"},
    {"reminders", "register"},
    {"store", "ical", "notify", "revisions", "register_file", "entry_cache"},
    {"publish", "views", "pages"},
    {"service"},
    {"scheduler", "server"},
    {"cli"},
]

OWNERS = {
    "click": "cli", "icalendar": "ical", "httpx": "notify", "sqlmodel": "store",
    "sqlalchemy": "store", "apscheduler": "scheduler", "yaml": "register",
    "standardwebhooks": "notify", "psycopg": "store",
    "starlette": "server", "uvicorn": "server", "jinja2": "server",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "calendar_tool":
                names.update(f"calendar_tool.{a.name}" for a in node.names)
    return names


def _layer(module: str) -> int:
    for i, layer in enumerate(LAYERS):
        if module in layer:
            return i
    raise AssertionError(f"calendar_tool.{module} has no layer: add it to LAYERS")


def test_every_import_points_down() -> None:
    """No module imports one on its own layer or above it."""
    wrong = []
    for path in sorted(PACKAGE.glob("*.py")):
        me = path.stem
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "calendar_tool" or len(parts) < 2:
                continue
            other = parts[1]
            if other != me and _layer(other) >= _layer(me):
                wrong.append(f"{me} imports {other}")
    assert wrong == []


def test_each_library_has_one_owner() -> None:
    """click, icalendar, httpx, sqlmodel, APScheduler and PyYAML are each imported by one module."""
    wrong = []
    for path in sorted(PACKAGE.glob("*.py")):
        for name in _imports(path):
            owner = OWNERS.get(name.split(".")[0])
            if owner is not None and owner != path.stem:
                wrong.append(f"{path.stem} imports {name} (owned by {owner})")
    assert wrong == []
