"""Settings: where the register, the database and the feeds are. Read from the environment
by the shells only; the logic takes them as arguments."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REGISTER_ENV = "CALENDAR_TOOL_REGISTER"
DEFAULT_REGISTER = Path("obligations.yaml")


@dataclass(frozen=True)
class Settings:
    register: Path = DEFAULT_REGISTER

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(register=Path(env.get(REGISTER_ENV) or DEFAULT_REGISTER))
