"""Occurrences x subscriptions to reminder instants. Pure: no clock, no I/O.

A subscription asks for reminders at offsets before an occurrence's day (its due day for a
deadline, target, report or period; its first day for an event or session), at a time of day in
its own zone, plus an overdue notice on the day after an open deadline's due day. An offset
counts calendar days in that zone, so a reminder stays at 09:00 local time across a daylight
saving change; a time of day that does not exist on that day (inside the spring-forward gap)
is read with the offset in force before the change, which moves it forward by the gap, and one
that exists twice (the autumn fold) is the earlier of the two.

No reminder is computed for an estimated (tentative) date, for an entry that is met or
withdrawn, or for an instant before the subscription existed: a register full of 2002 and 2005
deadlines owes a new subscription nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calendar_tool.model import Kind, Occurrence, Offset, Register, State

OVERDUE = "overdue"
"""The offset label of the overdue notice, sent on the day after the due day."""

DEFAULT_TIME = time(9, 0)
# Earlier than any date a register holds, and far enough from datetime.min that a window
# starting there can still be widened by a day for zones.
BEGINNING = datetime(1800, 1, 1, tzinfo=UTC)


class Format(StrEnum):
    SLACK = "slack"
    JSON = "json"


class Notice(StrEnum):
    """What a reminder says; the `type` of a JSON webhook."""

    REMINDER = "obligation.reminder"  # before the day
    DUE = "obligation.due"  # on the day (P0D)
    OVERDUE = "obligation.overdue"  # the day after, still open


@dataclass(frozen=True)
class Subscription:
    """Who gets which reminders, where, and when.

    `offsets` None means each entry's own reminder offsets (the register's default,
    P90D, P30D, P7D, P0D, unless the entry sets its own). `secret` is the Standard Webhooks
    signing key of a JSON subscription; it is kept out of `repr` so that it never reaches a log.
    """

    name: str
    url: str = field(repr=False)
    format: Format
    created_at: datetime
    areas: frozenset[str] = frozenset()
    actors: frozenset[str] = frozenset()
    kinds: frozenset[Kind] = frozenset()
    offsets: tuple[Offset, ...] | None = None
    overdue: bool = True
    time_of_day: time = DEFAULT_TIME
    zone: str = "UTC"
    enabled: bool = True
    secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError("Subscription.created_at must be an aware datetime")

    def wants(self, o: Occurrence) -> bool:
        """Whether the filters take this occurrence (any of the areas, any of the actors, any
        of the kinds; an empty filter takes everything)."""
        e = o.entry
        return ((not self.areas or not self.areas.isdisjoint(e.areas))
                and (not self.actors or not self.actors.isdisjoint(e.actors))
                and (not self.kinds or e.kind in self.kinds))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


@dataclass(frozen=True)
class Reminder:
    """One reminder owed: the ledger's key is (subscription, occurrence id, offset)."""

    subscription: str
    occurrence: Occurrence
    offset: str  # "P30D", "P0D" or OVERDUE
    notice: Notice
    instant: datetime  # aware, UTC
    days_left: int  # from the local day it is sent to the occurrence's day; negative if overdue

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subscription, self.occurrence.id, self.offset)


# --- checking a subscription -----------------------------------------------------------------

def subscription_problems(sub: Subscription, register: Register) -> list[tuple[str, str]]:
    """(field, message) for everything wrong with a subscription; empty when it can be used."""
    problems: list[tuple[str, str]] = []
    if not sub.name or not all(c.isalnum() or c in "-_." for c in sub.name):
        problems.append(("name", f"{sub.name!r} must be letters, digits, '-', '_' or '.'"))
    try:
        parts = urlsplit(sub.url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        ok = False
    if not ok:
        problems.append(("url", "not an http:// or https:// URL with a host"))
    for key in sorted(sub.areas - register.areas.keys()):
        problems.append(("area", f"unknown area {key!r}; declared: {', '.join(register.areas)}"))
    for key in sorted(sub.actors - register.actors.keys()):
        problems.append(("actor",
                         f"unknown actor {key!r}; declared: {', '.join(register.actors)}"))
    for offset in sub.offsets or ():
        if offset.negative:
            problems.append(("offset", f"{offset} is negative; reminders come before the day "
                                       "(the overdue notice covers the day after)"))
    try:
        ZoneInfo(sub.zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(("zone", f"{sub.zone!r} is not an IANA time zone such as Europe/Vienna"))
    return problems


# --- computing instants ----------------------------------------------------------------------

def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`, as a UTC instant (see the module docstring for DST)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _offsets(sub: Subscription, o: Occurrence, register: Register) -> tuple[Offset, ...]:
    if sub.offsets is not None:
        return sub.offsets
    own = o.entry.reminders
    return own if own is not None else register.reminders


def _candidates(o: Occurrence) -> bool:
    return o.when is not None and not o.tentative and o.state.state.reminds


def occurrence_reminders(sub: Subscription, o: Occurrence, register: Register
                         ) -> list[Reminder]:
    """Every reminder `sub` is owed for `o`, whenever it falls (filters applied)."""
    if not _candidates(o) or not sub.wants(o):
        return []
    day = _day(o)
    zone = sub.tz
    out = []
    for offset in _offsets(sub, o, register):
        local = day - offset.delta
        notice = Notice.DUE if offset.is_zero else Notice.REMINDER
        out.append(Reminder(sub.name, o, str(offset), notice,
                            local_instant(local, sub.time_of_day, zone), (day - local).days))
    if sub.overdue and o.entry.kind.is_due and o.state.state is State.OPEN:
        local = day + timedelta(days=1)
        out.append(Reminder(sub.name, o, OVERDUE, Notice.OVERDUE,
                            local_instant(local, sub.time_of_day, zone), -1))
    return out


def _day(o: Occurrence) -> date:
    return o.key_date or date.min  # only dated occurrences get here


def _sort_key(r: Reminder) -> tuple[datetime, str, str, str]:
    return (r.instant, r.subscription, r.occurrence.id, r.offset)


def reminders_between(register: Register, occurrences: Sequence[Occurrence],
                      subscriptions: Iterable[Subscription], start: datetime, end: datetime
                      ) -> list[Reminder]:
    """Reminders with `start <= instant < end`, sorted by instant, for enabled subscriptions.

    `occurrences` must reach far enough: to the end of the window plus the longest offset
    (`occurrences_until`). Instants before a subscription's creation are not owed. Each
    subscription looks only at the occurrences whose day can fall in the window for one of its
    offsets (a binary search on the sorted days), so the cost follows what is owed, not
    subscriptions times entries.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("reminders_between needs aware datetimes")
    dated = sorted((o for o in occurrences if _candidates(o)), key=_day)
    days = [_day(o) for o in dated]
    offsets = _all_offsets(register)
    out: list[Reminder] = []
    for sub in subscriptions:
        if not sub.enabled:
            continue
        begin = max(start, sub.created_at)
        if begin >= end:
            continue
        # Local days can differ from UTC days by a day either way.
        first_local = begin.date() - timedelta(days=1)
        last_local = end.date() + timedelta(days=1)
        seen: set[str] = set()
        for offset in (sub.offsets if sub.offsets is not None else offsets):
            lo = bisect.bisect_left(days, first_local + offset.delta - timedelta(days=3))
            hi = bisect.bisect_right(days, last_local + offset.delta + timedelta(days=3))
            _collect(sub, dated[lo:hi], register, begin, end, seen, out)
        if sub.overdue:
            lo = bisect.bisect_left(days, first_local - timedelta(days=1))
            hi = bisect.bisect_right(days, last_local)
            _collect(sub, dated[lo:hi], register, begin, end, seen, out)
    out.sort(key=_sort_key)
    return out


def _collect(sub: Subscription, chosen: Sequence[Occurrence], register: Register,
             begin: datetime, end: datetime, seen: set[str], out: list[Reminder]) -> None:
    for o in chosen:
        if o.id in seen:
            continue
        found = [r for r in occurrence_reminders(sub, o, register) if begin <= r.instant < end]
        if found:
            seen.add(o.id)
            out.extend(found)


def _all_offsets(register: Register) -> set[Offset]:
    """Every offset an entry can ask for (the register's default and the entries' own)."""
    found = set(register.reminders)
    for e in register.entries:
        found.update(e.reminders or ())
    return found or {Offset()}


def reach(register: Register, subscriptions: Iterable[Subscription]) -> timedelta:
    """How far past a window's end occurrences must be expanded: the longest offset, with a
    month's margin for year and month offsets (and zones)."""
    longest = timedelta(days=2)
    offsets = set(_all_offsets(register))
    for sub in subscriptions:
        offsets.update(sub.offsets or ())
    for offset in offsets:
        longest = max(longest, timedelta(days=offset.years * 366 + offset.months * 31
                                         + offset.days + 2))
    return longest
