"""The injectable clock: only the command-line and scheduler shells build the system one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that says what it is told; tests move it instead of sleeping."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")

    def now(self) -> datetime:
        return self.instant

    def advance_to(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.instant = instant


def iso_utc(instant: datetime) -> str:
    """An instant as machines read it: `2027-06-30T09:00:00Z` (whole seconds, UTC)."""
    if instant.tzinfo is None:
        raise ValueError("iso_utc needs an aware datetime")
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def today(clock: Clock) -> date:
    """Today's date in UTC, the zone the register's dates are read in."""
    return clock.now().astimezone(UTC).date()
