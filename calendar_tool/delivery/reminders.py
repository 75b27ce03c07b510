"""Occurrences x subscriptions to reminder instants. Pure: no clock, no I/O.

A subscription asks for reminders at offsets before an occurrence's day (its due day for a
deadline, target, report or period; its first day for an event or session), at a time of day in
its own zone, plus an overdue notice on the day after an open deadline's due day. An offset
counts calendar days in that zone, so a reminder stays at 09:00 local time across a daylight
saving change; a time of day that does not exist on that day (inside the spring-forward gap)
is read with the offset in force before the change, which moves it forward by the gap, and one
that exists twice (the autumn fold) is the earlier of the two.

No reminder is computed for an entry that is met, withdrawn or superseded, or for an instant
before the subscription existed: a register full of 2002 and 2005 deadlines owes a new
subscription nothing. An estimated (tentative) date reminds only the subscriptions that asked
for estimates (`Subscription.estimated`), counted from the first day of its period (an event)
or its due day (a deadline), and is never overdue.

The keepers' review (`review_reminders`): a subscription with `review` gets, once a week
(Mondays, at its time of day), the items of `timeline.review` it has not been sent yet.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.relativedelta import relativedelta

from calendar_tool.config import web_address
from calendar_tool.delivery import channels
from calendar_tool.model import (
    CHANGED,
    OVERDUE,
    REVIEW,
    Notice,
    Occurrence,
    Offset,
    Register,
    Reminder,
    State,
    Subscription,
    reminder_too_long,
)
from calendar_tool.timeline import find, occurrences, review, unknown_terms

# Earlier than any date a register holds, and far enough from datetime.min that a window
# starting there can still be widened by a day for zones.
BEGINNING = datetime(1800, 1, 1, tzinfo=UTC)


# --- checking a subscription -----------------------------------------------------------------

NAME_MOST = 64
"""The longest name a subscription may have. It is typed in each command about it, and
printed, with the occurrence, in every line of `subscribe list`, `deliveries` and the log: a
name as long as a paragraph (one pasted in its place) stretched every one of them."""

# How much of a name too long the message repeats.
NAME_SHOWN = 20

def subscription_problems(sub: Subscription, register: Register) -> list[tuple[str, str]]:
    """(field, message) for everything wrong with a subscription; empty when it can be used."""
    problems: list[tuple[str, str]] = []
    if not sub.name or not all(c.isalnum() or c in "-_." for c in sub.name):
        problems.append(("name", f"{sub.name!r} must be letters, digits, '-', '_' or '.'"))
    elif len(sub.name) > NAME_MOST:
        problems.append(("name", f"{sub.name[:NAME_SHOWN]!r}… is {len(sub.name)} characters "
                                 f"long; at most {NAME_MOST}"))
    problems.extend(("url", message) for message in _url_problems(sub))
    problems.extend(unknown_terms(register, sorted(sub.areas), sorted(sub.actors)))
    for offset in sub.offsets or ():
        too_long = reminder_too_long(offset)
        if offset.negative:
            problems.append(("offset", f"{offset} is negative; reminders come before the day "
                                       "(the overdue notice covers the day after)"))
        elif too_long is not None:
            problems.append(("offset", too_long))
    if not _iana_zone(sub.zone):
        problems.append(("zone", f"{sub.zone!r} is not an IANA time zone such as Europe/Vienna"))
    return problems


def _iana_zone(name: str) -> bool:
    """Whether `name` is a zone of the IANA database: not `localtime` (each host's own zone,
    so a fleet would read one subscription in several), nor a file ZoneInfo also reads from
    the system's folder (`posixrules`, `right/UTC`, which counts leap seconds)."""
    if name == "localtime" or name not in _available_zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # listed, but its file cannot be read
        return False
    return True


_available_zones = functools.cache(available_timezones)


def _url_problems(sub: Subscription) -> list[str]:
    """What is wrong with the subscription's URL for its format: a web address for a
    webhook, addresses for e-mail, and what its channel refuses."""
    if channels.schemes(sub.format) == ("mailto",):
        if sub.url[:7].lower() != "mailto:":
            return [f"the {sub.format.value} format takes mailto: addresses, such as "
                    "mailto:team@example.org"]
        return channels.url_problems(sub.format, sub.url)
    if not web_address(sub.url):
        return ["not an http:// or https:// URL with a host"]
    return channels.url_problems(sub.format, sub.url)


# --- computing instants ----------------------------------------------------------------------

def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`, as a UTC instant (see the module docstring for DST)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _offsets(sub: Subscription, o: Occurrence, register: Register) -> tuple[Offset, ...]:
    """The subscription's own offsets, else those in effect for the entry."""
    return sub.offsets if sub.offsets is not None else register.reminders_for(o.entry)


def _candidates(o: Occurrence) -> bool:
    """Occurrences that can be owed a reminder: dated, and neither met, withdrawn nor
    superseded (an estimate too: whether a subscription takes it is `_takes`)."""
    return o.when is not None and o.state.state.reminds


def _takes(sub: Subscription, o: Occurrence) -> bool:
    """Whether `sub` is owed reminders of `o`: its filters take it, and it is firm or the
    subscription asked for estimates too. The keepers' review subscriptions get none."""
    return (not o.tentative or sub.estimated) and not sub.review and sub.wants(o)


def _overdue(o: Occurrence) -> bool:
    """Whether `o` gets an overdue notice the day after its day: an open, firm deadline (an
    estimate is never overdue)."""
    return o.entry.kind.is_due and o.state.state is State.OPEN and not o.tentative


def occurrence_reminders(sub: Subscription, o: Occurrence, register: Register
                         ) -> list[Reminder]:
    """Every reminder `sub` is owed for `o`, whenever it falls (filters applied)."""
    if not _candidates(o) or not _takes(sub, o):
        return []
    day = _day(o)
    zone = sub.tz
    out = []
    for offset in _offsets(sub, o, register):
        if reminder_too_long(offset):
            continue  # see Agenda._owed
        local = day - offset.delta
        notice = Notice.DUE if offset.is_zero else Notice.REMINDER
        out.append(Reminder(sub.name, o, str(offset), notice,
                            local_instant(local, sub.time_of_day, zone), (day - local).days))
    if sub.overdue and _overdue(o):
        local = day + timedelta(days=1)
        out.append(Reminder(sub.name, o, OVERDUE, Notice.OVERDUE,
                            local_instant(local, sub.time_of_day, zone), -1))
    return out


# How far around the day of a review the keepers' weekly digest looks (`timeline.review`).
REVIEW_WITHIN = relativedelta(days=180)


def review_reminders(register: Register, sub: Subscription, start: datetime, end: datetime
                     ) -> list[Reminder]:
    """The keepers' weekly review for `sub` in [start, end): on each Monday at its time of
    day, every item of `timeline.review` on that day, once (the first Monday it is found)."""
    if not sub.review or not sub.enabled:
        return []
    span = _local_days(max(start, sub.created_at), end, sub.time_of_day, sub.tz)
    if span is None:
        return []
    first, last = span
    monday = first + timedelta(days=-first.weekday() % 7)
    out: dict[tuple[str, str, str, str], Reminder] = {}
    while monday <= last:
        at = local_instant(monday, sub.time_of_day, sub.tz)
        for item in review(register, monday, REVIEW_WITHIN):
            o = item.occurrence
            day = o.key_date or monday
            r = Reminder(sub.name, o, REVIEW, Notice.REVIEW, at, (day - monday).days,
                         item.reason)
            out.setdefault(r.key, r)
        monday += timedelta(days=7)
    return sorted(out.values(), key=_sort_key)


def change_notices(register: Register, sub: Subscription,
                   reminded: Mapping[str, Sequence[tuple[str, bool]]], now: datetime
                   ) -> list[Reminder]:
    """One notice for each occurrence `sub` was reminded of whose date the register has since
    confirmed or moved (`reminded`: by occurrence id, the days its reminders counted from,
    each with whether it was an estimate, in the order they were claimed): "confirmed" when
    the last day told was an estimate and the date is now firm (on that day or another),
    "changed" when the day differs from the last one told. Only for an occurrence still ahead,
    and still one `sub` takes (or one it took while firm and that is now an estimate).

    Against the last day told, not any day told: a date moved by mistake and moved back has
    been told as moved, so it is told again, and a notice says where it was last."""
    out = []
    today = now.astimezone(sub.tz).date()
    for occurrence_id, days in sorted(reminded.items()):
        found = [o for o in find(register, occurrence_id, today) if o.id == occurrence_id]
        o = found[0] if found and _candidates(found[0]) else None
        told = [(day, estimated) for day, estimated in days if day]  # "": rows from before
        if o is None or o.key_date is None or not told:  # days were kept
            continue
        last, was_estimate = told[-1]
        # A firm date that became an estimate again is told once even to a subscription that
        # takes no estimates: its reminders stop, and it was last told a day that no longer is.
        if not (_takes(sub, o) or (o.tentative and not was_estimate and not sub.review
                                   and sub.wants(o))):
            continue
        confirmed = was_estimate and not o.tentative
        if (o.key_date.isoformat() == last and not confirmed) or o.key_date < today:
            continue
        notice = Notice.CONFIRMED if confirmed else Notice.CHANGED
        out.append(Reminder(sub.name, o, CHANGED, notice, now, (o.key_date - today).days,
                            last))
    return out


def _day(o: Occurrence) -> date:
    return o.key_date or date.min  # only dated occurrences get here


def _sort_key(r: Reminder) -> tuple[datetime, str, str, str]:
    return (r.instant, r.subscription, r.occurrence.id, r.offset)


def reminders_between(register: Register, occurrences: Iterable[Occurrence],
                      subscriptions: Iterable[Subscription], start: datetime, end: datetime
                      ) -> list[Reminder]:
    """Reminders with `start <= instant < end`, sorted by instant, for enabled subscriptions.

    `occurrences` must reach far enough: to the end of the window plus the longest offset
    (`reach`). Instants before a subscription's creation are not owed. One call builds an
    `Agenda` of the occurrences and asks it once; whoever asks about the same register more
    than once keeps the `Agenda` instead.
    """
    return Agenda.of(register, occurrences).between(subscriptions, start, end)


@dataclass(frozen=True, eq=False)
class Agenda:
    """A register's occurrences that can be owed a reminder (dated, neither met, withdrawn
    nor superseded; estimates marked), sorted by their day, with every offset its entries can
    ask for.

    Built once (`of`, `expand`), then asked about any number of subscriptions and windows: an
    answer looks only at the occurrences whose day is an offset away from a day of the window
    (a binary search on the sorted days), so it costs what it finds (and what the
    subscription's filters leave out), not the register's size. `until` is the last day series
    were expanded to (None: not known), so it answers windows ending `reach` before it.
    """

    register: Register
    occurrences: tuple[Occurrence, ...]
    days: tuple[date, ...]  # each occurrence's day (`_day`), ascending
    offsets: frozenset[Offset]  # every offset an entry can ask for (`_all_offsets`)
    until: date | None = None

    @classmethod
    def of(cls, register: Register, occurrences: Iterable[Occurrence],
           until: date | None = None) -> Agenda:
        dated = sorted((o for o in occurrences if _candidates(o)), key=_day)
        return cls(register, tuple(dated), tuple(_day(o) for o in dated),
                   frozenset(_all_offsets(register)), until)

    @classmethod
    def expand(cls, register: Register, until: date) -> Agenda:
        """The agenda of every occurrence starting on or before `until`."""
        return cls.of(register, occurrences(register, until), until)

    def between(self, subscriptions: Iterable[Subscription], start: datetime, end: datetime
                ) -> list[Reminder]:
        """Reminders with `start <= instant < end`, sorted by instant, for the enabled
        subscriptions (`reminders_between`)."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("reminders_between needs aware datetimes")
        out = [r for found in self.each((s, start, end) for s in subscriptions) for r in found]
        out.sort(key=_sort_key)
        return out

    def each(self, windows: Iterable[tuple[Subscription, datetime, datetime]]
             ) -> Iterator[list[Reminder]]:
        """For each (subscription, start, end) in turn, the reminders it is owed with
        `start <= instant < end`, sorted by instant: what `between` gives for it alone (nothing
        for a disabled one). Subscriptions sharing a zone, a time of day or a window share the
        date arithmetic."""
        memo = _Memo()
        for sub, start, end in windows:
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError("reminders_between needs aware datetimes")
            begin = max(start, sub.created_at)
            span = memo.span(sub, begin, end) if sub.enabled and begin < end else None
            found = [] if span is None else self._owed(sub, span, memo)
            found.sort(key=_sort_key)
            yield found

    def _owed(self, sub: Subscription, span: tuple[date, date], memo: _Memo) -> list[Reminder]:
        """The reminders `sub` is owed on the local days `span` (first and last)."""
        first, last = span
        at = memo.instants(sub)
        out: list[Reminder] = []
        for offset in (frozenset(sub.offsets) if sub.offsets is not None else self.offsets):
            if reminder_too_long(offset):
                continue  # stored before offsets were capped: no day is that far ahead
            step = memo.step(offset)
            for o, day in self._on(*step.reminded(first, last)):
                if not _takes(sub, o):
                    continue
                asked = _offsets(sub, o, self.register).count(offset)
                local = step.back(day)
                if asked and first <= local <= last:
                    r = Reminder(sub.name, o, step.label, step.notice, at(local),
                                 (day - local).days)
                    out.extend([r] * asked)
        if sub.overdue:
            for o, day in self._on(first - _DAY, last - _DAY):
                if _overdue(o) and _takes(sub, o):
                    out.append(Reminder(sub.name, o, OVERDUE, Notice.OVERDUE, at(day + _DAY),
                                        -1))
        return out

    def _on(self, first: date, last: date) -> Iterator[tuple[Occurrence, date]]:
        lo = bisect.bisect_left(self.days, first)
        hi = bisect.bisect_right(self.days, last)
        return zip(self.occurrences[lo:hi], self.days[lo:hi], strict=True)


_DAY = timedelta(days=1)


class _Step:
    """One offset's date arithmetic: the local day a day is reminded on (`back`), and the days
    reminded on the local days from `first` to `last` (`reminded`)."""

    def __init__(self, offset: Offset) -> None:
        self.label = str(offset)
        self.notice = Notice.DUE if offset.is_zero else Notice.REMINDER
        self.days = not (offset.years or offset.months)
        self.shift = offset.as_timedelta if self.days else timedelta(0)
        self._delta = offset.delta
        self._back: dict[date, date] = {}

    def reminded(self, first: date, last: date) -> tuple[date, date]:
        """Bounds of the days whose reminder falls on a local day from `first` to `last`:
        exact for days and weeks, wider for months and years (`back` decides)."""
        if self.days:
            return first + self.shift, last + self.shift
        # A month back from the 28th to the 31st lands on one day (the month's last), and
        # months and days taken in the other order differ by as much: a week covers both.
        margin = timedelta(days=7)
        return first + self._delta - margin, last + self._delta + margin

    def back(self, day: date) -> date:
        if self.days:
            return day - self.shift
        local = self._back.get(day)
        if local is None:
            local = self._back[day] = day - self._delta
        return local


class _Memo:
    """What one `Agenda.each` works out once for all the subscriptions asking it."""

    def __init__(self) -> None:
        self._spans: dict[tuple[str, time, datetime, datetime], tuple[date, date] | None] = {}
        self._instants: dict[tuple[str, time], Callable[[date], datetime]] = {}
        self._steps: dict[Offset, _Step] = {}

    def span(self, sub: Subscription, begin: datetime, end: datetime
             ) -> tuple[date, date] | None:
        key = (sub.zone, sub.time_of_day, begin, end)
        if key not in self._spans:
            self._spans[key] = _local_days(begin, end, sub.time_of_day, sub.tz)
        return self._spans[key]

    def instants(self, sub: Subscription) -> Callable[[date], datetime]:
        """The instant of a local day in the subscription's zone at its time of day."""
        key = (sub.zone, sub.time_of_day)
        instant_of = self._instants.get(key)
        if instant_of is None:
            zone, at, known = sub.tz, sub.time_of_day, dict[date, datetime]()

            def instant_of(local: date) -> datetime:
                instant = known.get(local)
                if instant is None:
                    instant = known[local] = local_instant(local, at, zone)
                return instant

            self._instants[key] = instant_of
        return instant_of

    def step(self, offset: Offset) -> _Step:
        found = self._steps.get(offset)
        if found is None:
            found = self._steps[offset] = _Step(offset)
        return found


def _local_days(begin: datetime, end: datetime, at: time, zone: ZoneInfo
                ) -> tuple[date, date] | None:
    """The first and last day whose `at` in `zone` falls in [begin, end), or None.

    Those days are consecutive: the instant of a time of day never goes back from one day to
    the next (so in every IANA zone from 1800 to 2040, checked at 00:00, 02:30 and 23:59, the
    date line moves of Alaska and Samoa included); two days' margin covers any zone's
    offset."""
    first = begin.astimezone(zone).date() - timedelta(days=2)
    while local_instant(first, at, zone) < begin:
        first += timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=2)
    while local_instant(last, at, zone) >= end:
        last -= timedelta(days=1)
    return (first, last) if first <= last else None


class AgendaCache:
    """The `Agenda` of the register last asked about, kept by a process that asks again and
    again (the scheduler, at every sweep and reminder job), so that the register's series are
    expanded once rather than at every call.

    It is built again when, and only when, it is asked about another `Register` object (a
    reload that took a changed file: `RegisterFile` hands out the same object while the file's
    bytes stay the same) or for occurrences past the day it was expanded to (`until`). It is
    then expanded `margin` further than asked, so that the end moving on a day at a time
    rebuilds it about once a year, and callers asking for days a little apart (the look-ahead
    and the catch-up) share it. Occurrences expanded further than asked change no answer:
    a window's reminders come only from occurrences within `reach` of it.

    Safe to share between threads: the agenda is immutable and replaced whole; two threads
    that miss at once both build it, and either result is right.
    """

    def __init__(self, margin: timedelta = timedelta(days=366)) -> None:
        self.margin = margin
        self._agenda: Agenda | None = None

    def reaching(self, register: Register, subscriptions: Iterable[Subscription],
                 end: datetime) -> Agenda:
        """An agenda of `register` for the subscriptions' windows ending by `end` (`reach`)."""
        agenda = self._agenda
        # The register's offsets, without going through its entries again when it is known.
        offsets = agenda.offsets if agenda is not None and agenda.register is register \
            else _all_offsets(register)
        return self.get(register, (end + _reach(offsets, subscriptions)).date())

    def get(self, register: Register, until: date) -> Agenda:
        """An agenda of `register` with every occurrence starting on or before `until`."""
        agenda = self._agenda
        if agenda is None or agenda.register is not register or agenda.until is None \
                or agenda.until < until:
            agenda = Agenda.expand(register, until + self.margin)
            self._agenda = agenda
        return agenda


def _all_offsets(register: Register) -> set[Offset]:
    """Every offset an entry can ask for (the register's default and the entries' own)."""
    found = set(register.reminders)
    for e in register.entries:
        found.update(e.reminders or ())
    return found or {Offset()}


def reach(register: Register, subscriptions: Iterable[Subscription]) -> timedelta:
    """How far past a window's end occurrences must be expanded: the longest offset, with a
    month's margin for year and month offsets (and zones)."""
    return _reach(_all_offsets(register), subscriptions)


def _reach(register_offsets: Iterable[Offset], subscriptions: Iterable[Subscription]
           ) -> timedelta:
    longest = timedelta(days=2)
    offsets = set(register_offsets)
    for sub in subscriptions:
        offsets.update(sub.offsets or ())
    for offset in offsets:
        if reminder_too_long(offset):
            continue  # see Agenda._owed
        longest = max(longest, timedelta(days=offset.years * 366 + offset.months * 31
                                         + offset.days + 2))
    return longest
