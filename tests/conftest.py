"""Shared fixtures: the real register, the sample, and a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from calendar_tool.cli import main
from calendar_tool.model import Register
from calendar_tool.register import load_register
from tests.paths import REGISTER, SAMPLE


@pytest.fixture(scope="session")
def sample() -> Register:
    return load_register(SAMPLE)


@pytest.fixture(scope="session")
def real() -> Register:
    return load_register(REGISTER)


CLI = Callable[..., Result]


@pytest.fixture
def cli() -> CLI:
    """Run `calendar-tool ARGS` in-process; stdout and stderr stay apart."""

    def run(*args: str, register: Path = SAMPLE) -> Result:
        return CliRunner().invoke(main, ["--register", str(register), *args])

    return run
