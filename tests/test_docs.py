"""The README documents every command, option and exit code, and its figures are true."""

from __future__ import annotations

import re
import shlex
from collections import Counter
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from calendar_tool.cli import main
from calendar_tool.errors import CalendarToolError
from calendar_tool.model import Register
from tests.paths import REGISTER, ROOT, SEEDS

README = (ROOT / "README.md").read_text()
COMMANDS = sorted(main.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(name: str) -> None:
    """Each command has a help text with an example and appears in the README."""
    command = main.commands[name]
    assert command.help and "Example" in command.help
    assert f"calendar-tool {name}" in README


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_is_in_the_readme(name: str) -> None:
    """Each long option of each command is mentioned in the README."""
    command: click.Command = main.commands[name]
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert opt in README, f"{name} {opt}"


def test_every_exit_code_is_in_the_table() -> None:
    """The README's exit-code table lists the code of every error class."""
    classes: list[type[CalendarToolError]] = [CalendarToolError,
                                              *CalendarToolError.__subclasses__()]
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


def _readme_examples() -> list[str]:
    """The `calendar-tool` lines of the README's shell blocks, without their comments."""
    lines, inside = [], False
    for line in README.splitlines():
        if line.startswith("```"):
            inside = line == "```sh"
            continue
        if inside and line.startswith("calendar-tool "):
            lines.append(re.sub(r"\s+#.*$", "", line))
    return lines


def _help_examples() -> list[str]:
    """The `calendar-tool` lines of the help of the program and of its commands that run to
    an end without a server or a webhook (the others are the README's to show)."""
    commands = [main, *(main.commands[n] for n in ("validate", "list", "show", "publish"))]
    return [line.strip() for c in commands for line in (c.help or "").splitlines()
            if line.strip().startswith("calendar-tool ")]


@pytest.mark.parametrize("example", _readme_examples() + _help_examples())
def test_readme_examples_run(example: str, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command the README (or a command's help) shows runs and exits 0 on the real
    register."""
    monkeypatch.chdir(tmp_path)  # publish writes feeds/ here, not into the checkout
    args = shlex.split(example.replace("../shared/seeds", str(SEEDS)))[1:]
    result = CliRunner().invoke(main, ["--register", str(REGISTER), *args])
    assert result.exit_code == 0, result.stderr
    assert result.stdout
