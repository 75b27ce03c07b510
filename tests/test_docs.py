"""The README documents every command, option and exit code, and its figures are true."""

from __future__ import annotations

from collections import Counter

import click
import pytest

from calendar_tool.cli import main
from calendar_tool.errors import CalendarToolError
from calendar_tool.model import Register
from tests.paths import ROOT

README = (ROOT / "README.md").read_text()
COMMANDS = sorted(main.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(name: str) -> None:
    """Each command has a help text with an example and appears in the README."""
    command = main.commands[name]  # type: ignore[attr-defined]
    assert command.help and "Example" in command.help
    assert f"calendar-tool {name}" in README


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_is_in_the_readme(name: str) -> None:
    """Each long option of each command is mentioned in the README."""
    command: click.Command = main.commands[name]  # type: ignore[attr-defined]
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert opt in README, f"{name} {opt}"


def test_every_exit_code_is_in_the_table() -> None:
    """The README's exit-code table lists the code of every error class."""
    classes = [CalendarToolError, *CalendarToolError.__subclasses__()]
    for cls in classes[1:]:
        assert f"| {cls.exit_code} |" in README, cls.__name__


def test_register_counts_are_true(real: Register) -> None:
    """The counts by kind and area in 'What is in the register' match obligations.yaml."""
    kinds = Counter(e.kind.value for e in real.entries)
    areas = Counter(a for e in real.entries for a in e.areas)

    def line(counter: Counter[str]) -> str:
        ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{k} {n}" for k, n in ordered)

    assert f"- by kind: {line(kinds)}\n" in README
    assert f"- by area: {line(areas)}\n" in README
    assert f"holds {len(real.entries)} entries" in README
