"""Entries to dated occurrences, and period queries over them. Pure: no I/O, no clock.

Series expand through their RFC 5545 rule (python-dateutil's `rrule`), with known occurrences
overriding the rule and re-anchoring the estimates after them; relative dates resolve through
their anchors, carrying the anchor's precision and tentativeness.
"""

from __future__ import annotations

import functools
import re
import threading
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

from calendar_tool import wording
from calendar_tool.errors import UsageError
from calendar_tool.model import (
    CALENDAR,
    FIRST_DAY,
    LAST_DAY,
    MAX_OCCURRENCES,
    DatedValue,
    Document,
    Entry,
    Kind,
    KnownOccurrence,
    Occurrence,
    OutsideCalendar,
    Precision,
    Register,
    Relative,
    Series,
    State,
    days_in_month,
    held_in_bulk,
    in_calendar,
    last_day,
    parse_occurrence_id,
)
from calendar_tool.model import since as model_since

# Open-ended listings and feeds expand series this many years past today: far enough for the
# next congress (every five years) to show, near enough that estimates stay meaningful.
DEFAULT_HORIZON_YEARS = 5


def horizon(today: date, years: int = DEFAULT_HORIZON_YEARS) -> date:
    """The last day on which an open-ended listing or feed starts a series occurrence; no
    later than the calendar's last day, where every series ends."""
    if today.year + years > LAST_DAY.year:
        return LAST_DAY
    return min(today + relativedelta(years=years), LAST_DAY)


class ResolveError(ValueError):
    """A date that validation could not rule out but that cannot be computed."""


# --- series ----------------------------------------------------------------------------------

def _month_shift(d: date, months: int) -> tuple[int, int]:
    """Year and month `months` after (or before) the month of `d`."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + months, 12)
    return year, month0 + 1


def _moved(template: DatedValue, to: date) -> DatedValue:
    """The template's shape (precision, length) placed so that it starts at `to`.

    Plain date arithmetic rather than relativedelta: this runs once per estimated occurrence,
    and relativedelta's addition was a third of expanding a large register's series."""
    if template.precision is Precision.DAY:
        return DatedValue(to, to + (template.end - template.start), Precision.DAY,
                          template.is_range, template.within)
    if template.precision is Precision.YEAR:
        years = to.year - template.start.year
        return DatedValue(date(to.year, 1, 1), date(template.end.year + years, 12, 31),
                          Precision.YEAR, template.is_range, template.within)
    months = (to.year - template.start.year) * 12 + to.month - template.start.month
    last = _month_shift(template.end, months)
    return DatedValue(date(to.year, to.month, 1), last_day(*last), Precision.MONTH,
                      template.is_range, template.within)


# Rules that are only a frequency and an interval: their dates are the anchor's day every
# INTERVAL units, a date that does not exist (30 February, 29 February in a common year) being
# skipped as RFC 5545 section 3.3.10 requires. Every rule a register has held so far has this
# shape, and dateutil's general iterator costs ~35 us per date, which made expanding 100,000
# entries' series take tens of seconds. Other rules still go through dateutil;
# tests/test_timeline.py checks both give the same dates.
_PLAIN_RULE = re.compile(r"^FREQ=(YEARLY|MONTHLY|WEEKLY|DAILY)(?:;INTERVAL=([1-9][0-9]*))?$")
_DAYS = {"WEEKLY": 7, "DAILY": 1}


def _plain_dates_after(freq: str, interval: int, anchor: date, end: date) -> Iterator[date]:
    """The dates of a plain rule (`_PLAIN_RULE`) after `anchor`, up to `end`."""
    days = _DAYS.get(freq)
    if days is not None:
        step, d = timedelta(days=days * interval), anchor
        while True:
            try:
                d += step
            except OverflowError:
                return
            if d > end:
                return
            yield d
    months = interval * (12 if freq == "YEARLY" else 1)
    at, day = anchor.year * 12 + anchor.month - 1, anchor.day  # months since year 0
    while True:
        at += months
        year, month0 = divmod(at, 12)
        if year > MAXYEAR:
            return
        if day <= 28 or day <= days_in_month(year, month0 + 1):
            d = date(year, month0 + 1, day)
            if d > end:
                return
            yield d


def _dates_after(rule: str, anchor: date, end: date = date.max) -> Iterator[date]:
    """The rule's dates strictly after `anchor` and up to `end`, counting from `anchor` as
    DTSTART, each day once."""
    plain = _PLAIN_RULE.match(rule)
    if plain:
        return _plain_dates_after(plain.group(1), int(plain.group(2) or 1), anchor, end)
    return _rule_dates_after(rule, anchor, end)


def _rule_dates_after(rule: str, anchor: date, end: date) -> Iterator[date]:
    """`_dates_after` of any rule, through dateutil."""
    start = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)
    last = anchor
    # dateutil looks for a date a rule never gives (30 February) up to the year 9999: about
    # four seconds for a daily rule. Validation refuses such a rule (`yields_after`, once per
    # rule and start), so a register in service never asks.
    for when in rrulestr(rule, dtstart=start):
        d = when.date()
        if d > end:
            return
        if d > last:  # several times of one day are one date
            last = d
            yield d


@functools.lru_cache(maxsize=1024)
def yields_after(rule: str, start: date) -> bool:
    """Whether the rule gives a date after `start` within the calendar; kept, as finding
    that a rule gives none can take seconds (see `_dates_after`)."""
    return next(_dates_after(rule, start, LAST_DAY), None) is not None


class SeriesDate(NamedTuple):
    """One numbered occurrence of a series: its date, the known occurrence that gives it (None
    for an estimate), and for an estimate what it was estimated from: the occurrence the rule
    counted from (a known one, or the series' start) and the known occurrence whose month it
    takes, if any; or, for an estimate the rule would have placed at or past the next known
    occurrence (`before`), the occurrence after which it lies (known or estimated). (A tuple:
    a large register's series make hundreds of thousands, and a frozen dataclass costs
    several times as much to make.)"""

    number: int
    value: DatedValue
    known: KnownOccurrence | None
    counted_from: tuple[int, DatedValue, bool] | None = None  # number, date, whether known
    month_of: KnownOccurrence | None = None
    before: KnownOccurrence | None = None

    def derivation(self, series: Series) -> str:
        """How its date was found: as written, or how it was estimated."""
        if self.counted_from is None:
            return wording.AS_WRITTEN
        if self.before is not None:
            return wording.between(self.counted_from, self.before)
        return wording.estimated(series.rule, self.counted_from, self.month_of)


def _dated_months(series: Series) -> list[KnownOccurrence]:
    """The known occurrences that give a month, by number: the evidence an estimate's month
    comes from."""
    if not series.month_from_evidence or series.start.precision is not Precision.YEAR:
        return []
    return [k for k in sorted(series.known, key=lambda k: k.number)
            if k.date.precision is not Precision.YEAR and not k.date.within]


def _month_of(months: list[KnownOccurrence]) -> Callable[[int], KnownOccurrence | None]:
    """Which known occurrence of `months` (`_dated_months`) gives the month of the estimate
    numbered N: the one month they all agree on, else the latest before the estimate (the
    earliest after it, for an estimate before them all)."""
    if not months:
        return lambda number: None
    first, last = months[0], months[-1]
    if len({k.date.start.month for k in months}) == 1:
        return lambda number: last if last.number < number else first
    numbers = [k.number for k in months]
    return lambda number: months[bisect_left(numbers, number) - 1] if number > first.number \
        else first


# Parts of a rule that name days: a rule without them, yearly or monthly, gives the start's
# day again only because the start has one.
_DAY_PARTS = re.compile(r"(?:^|;)(?:FREQ=(?:WEEKLY|DAILY)|BYDAY|BYMONTHDAY|BYYEARDAY|BYWEEKNO"
                        r"|BYSETPOS)\b")


def _month_only(series: Series) -> bool:
    """Whether the series' estimates take only the month of the day its rule gives: under
    `estimate: evidence` (the default), for a yearly or monthly rhythm that names no day.
    That a body met on 10-12 March one year says it meets in March the next, not on those
    days; a weekly rule, or one on the first Monday, names its days."""
    return series.month_from_evidence and not _DAY_PARTS.search(series.rule)


def _rule_anchor(day: date, month_only: bool) -> date:
    """The day the rule counts from, for estimates of a series whose first or known
    occurrence starts on `day`. With `month_only` (`_month_only`), the first of its month:
    the day is no part of the estimates, and counted from a 29th to a 31st the rule skips
    each month or year without that day (RFC 5545), so that a monthly series from 31 January
    placed no. 2 in March and an annual one from 29 February 2000 no. 2 in 2004."""
    return day.replace(day=1) if month_only else day


def _estimate(template: DatedValue, to: date, month: KnownOccurrence | None,
              month_only: bool) -> DatedValue:
    """An estimated occurrence starting in the year or on the day the rule gives, in the
    evidence's month when there is one: as precise as the evidence, and no more (never a day
    no text gives). With `month_only` (`_month_only`), the rule's day is only its month."""
    if month_only and template.precision is Precision.DAY:
        return _month_value(to.year, to.month)
    if month is None or template.precision is not Precision.YEAR or template.is_range:
        return _moved(template, to)
    # `_moved` keeps the template's year; a value of one year starts in the year `to` is in.
    return _month_value(to.year, month.date.start.month)


# The months estimates are placed in, each made once: a large register's series estimate the
# same few months of the same few years hundreds of thousands of times. Bounded by the
# calendar's months.
_MONTH_VALUES: dict[tuple[int, int], DatedValue] = {}


def _month_value(year: int, month: int) -> DatedValue:
    value = _MONTH_VALUES.get((year, month))
    if value is None:
        value = _MONTH_VALUES[year, month] = DatedValue.month(year, month)
    return value


# How precise each precision is, least first.
_PRECISE = {Precision.YEAR: 0, Precision.MONTH: 1, Precision.DAY: 2}


class _Ahead:
    """A series' known occurrences by number, for what lies after a given number: the
    earliest day one of them starts on. While a known occurrence still to come could start
    within a bound, expansion goes on past an occurrence that starts beyond it: no. 3 "in
    2002" after no. 2 in May 2002 (the texts' precision lets their starts go back), or a
    known no. 4 after an estimate that the rule alone would place past it."""

    __slots__ = ("_earliest", "_numbers", "_ordered")

    def __init__(self, known: Iterable[KnownOccurrence]) -> None:
        self._ordered = sorted(known, key=lambda k: k.number)
        self._numbers = [k.number for k in self._ordered]
        # The earliest start among the known occurrences from each place on (date.max: none).
        self._earliest = [date.max] * (len(self._ordered) + 1)
        for i in range(len(self._ordered) - 1, -1, -1):
            self._earliest[i] = min(self._earliest[i + 1], self._ordered[i].date.start)

    def starts_by(self, number: int, day: date) -> bool:
        """Whether a known occurrence numbered after `number` starts on or before `day`."""
        return self._earliest[bisect_right(self._numbers, number)] <= day

    def next_known(self, number: int) -> KnownOccurrence | None:
        """The known occurrence numbered next after `number`, if any."""
        at = bisect_right(self._numbers, number)
        return self._ordered[at] if at < len(self._ordered) else None

    def later_starts(self, number: int) -> date:
        """The earliest start of the known occurrences numbered after `number` (date.max:
        none)."""
        return self._earliest[bisect_right(self._numbers, number)]


def _between(after: DatedValue, before: DatedValue) -> DatedValue:
    """The estimate of an occurrence that lies after `after` (the occurrence before it) and
    before `before` (the next known one), where the rule alone would place it at or past
    `before`: one unknown day from the day after `after` ends to the day before `before`
    starts. Known occurrences that touch or overlap (2001 and 2002, May 2002 and "2002")
    leave no such day: then from the day `after` starts to the day `before` ends, all that
    the texts say. Either way it sorts after `after` and before `before`."""
    first, last = after.end + _ONE_DAY, before.start - _ONE_DAY
    if first > last:
        first, last = after.start, max(before.end, after.start)
    return _some_day(first, last)


def _not_before(value: DatedValue, first: date) -> DatedValue:
    """An estimate the rule placed starting before `first`, the start of the occurrence
    before it, cut to start there: a rule that moves less than the estimates' precision (a
    monthly rule counted from a year, "2002") would otherwise place it before a known
    occurrence it follows (May 2002)."""
    return _some_day(first, max(value.end, first))


def _some_day(first: date, last: date) -> DatedValue:
    """One unknown day from `first` to `last`, as precise as those days are: whole months or
    years read as such ("between April and October 2001", "between 2002 and 2003"), one
    month or year as that month or year, one day as that day; other days as days."""
    if first.day != 1 or last.day != days_in_month(last.year, last.month):
        return DatedValue(first, last, Precision.DAY, True, True) if first < last \
            else DatedValue.day(first)
    if first.month == 1 and last.month == 12:
        if first.year == last.year:
            return DatedValue.year(first.year)
        return DatedValue(first, last, Precision.YEAR, True, True)
    if (first.year, first.month) == (last.year, last.month):
        return _month_value(first.year, first.month)
    return DatedValue(first, last, Precision.MONTH, True, True)


_ONE_DAY = timedelta(days=1)


def series_dates(series: Series, until: date | None = None,
                 up_to_number: int | None = None) -> Iterator[SeriesDate]:
    """Occurrences of a series in order of number, those that start on or before `until`.

    Expansion stops at the first occurrence that starts past `until` unless a later-numbered
    known occurrence starts on or before it (`_Ahead`): then the ones past it are passed
    over, not given. The series' own end (`until`, `count`) always applies, `until` alike,
    and so do the bounds of every series: MAX_OCCURRENCES, and no estimate reaching past the
    calendar's last day; `up_to_number` stops after that occurrence. An occurrence listed as
    known replaces the rule's date, and the estimates after it count from it: a congress
    moved by a year moves the ones after it; one the rule would place at or past the next
    known occurrence lies between the two instead (`_between`), and none starts before the
    occurrence before it (`_not_before`). An estimate of a series whose start gives only the
    year takes the month its known occurrences give (`_month_of`), and one whose start gives
    days only the month of the rule's day where the rule names no day (`_month_only`),
    unless the series says `estimate: rule`.
    """
    last = series.last_number
    if last is None:
        last = series.first + MAX_OCCURRENCES - 1
    if up_to_number is not None:
        last = min(last, up_to_number)
    end = series.until.end if series.until else date.max
    return _expanded(series, last, end, date.max if until is None else until)


def _expanded(series: Series, last: int, end: date, until: date) -> Iterator[SeriesDate]:
    """`series_dates` up to number `last`, the series ending at `end`, up to `until`."""
    known = {k.number: k for k in series.known}
    ahead = _Ahead(series.known)
    month_of = _month_of(_dated_months(series))
    month_only = _month_only(series)
    # The shape estimates take: the start's, or a known occurrence's less precise one.
    template = series.start
    dates = _dates_after(series.rule, _rule_anchor(series.start.start, month_only), LAST_DAY)
    counted = (series.first, series.start, False)
    # The next known occurrence, and the last occurrence an estimate bounded by it lies after
    # with its date between them (made once for the estimates it bounds).
    following = ahead.next_known(series.first - 1)
    after: tuple[int, DatedValue, bool] = counted
    window, window_after = series.start, None
    previous = date.min  # where the occurrence before starts: no estimate starts before it
    for number in range(series.first, last + 1):
        k = known.get(number)
        if k is not None:
            template, dates = _anchored(series.rule, template, k.date, month_only)
            counted = after = (number, k.date, True)
            following = ahead.next_known(number)
            sd = SeriesDate(number, k.date, k)
        elif number == series.first:
            value, month = _first_estimate(template, month_of(number), following)
            if following is not None:
                after = (number, value, False)
            sd = SeriesDate(number, value, None, counted, month)
        else:
            month = month_of(number)
            nxt = next(dates, None)
            ruled = None if nxt is None else _estimate(template, nxt, month, month_only)
            if following is not None and (ruled is None or
                                          ruled.end >= following.date.start):
                if window_after is not after:
                    window, window_after = _between(after[1], following.date), after
                sd = SeriesDate(number, window, None, after, None, following)
            elif ruled is None or ruled.end > LAST_DAY:
                return
            else:
                value = ruled if ruled.start >= previous else _not_before(ruled, previous)
                if following is not None:
                    after = (number, value, False)
                sd = SeriesDate(number, value, None, counted, month)
        previous = sd.value.start
        if k is None and previous > end and not ahead.starts_by(number, end):
            return
        if previous > until:
            if not ahead.starts_by(number, until):
                return
            continue  # a known occurrence after it starts by `until`: passed over
        yield sd


def _anchored(rule: str, template: DatedValue, known: DatedValue, month_only: bool
              ) -> tuple[DatedValue, Iterator[date]]:
    """The shape of the estimates after a known occurrence dated `known`, and the rule's dates
    counted from it. They are no more precise than it: the days of a start (10-12 March)
    placed on the first day of a year a text gives (2002) would be days no text gives (1-3
    January 2003). The rule is anchored on it at the estimates' precision (`_rule_anchor`)."""
    if _PRECISE[known.precision] < _PRECISE[template.precision]:
        template = known
    anchor = _rule_anchor(_moved(template, known.start).start, month_only)
    return template, _dates_after(rule, anchor, LAST_DAY)


def _first_estimate(template: DatedValue, month: KnownOccurrence | None,
                    following: KnownOccurrence | None
                    ) -> tuple[DatedValue, KnownOccurrence | None]:
    """The first occurrence, not known: the series' start, whose days are the register's,
    not the rule's, in the evidence's month (`month`) unless that would place it after the
    next known occurrence (`following`); with the known occurrence whose month it takes."""
    value = _estimate(template, template.start, month, False)
    if following is not None and value.start > following.date.start:
        return template, None
    return value, month


def series_count(series: Series, until: date) -> tuple[int, date]:
    """How many occurrences `series_dates` gives up to `until`, and the earliest start of
    those it does not give (date.max: none, the series ends first), the first day up to
    which it gives more: counted without making an occurrence each. No estimate starts
    before the occurrence before it (`_expanded`), so past the one where `series_dates`
    stops only a known occurrence can start earlier (no. 3 "in 2002" after no. 2 in May
    2002)."""
    count, past = 0, date.max
    ahead = _Ahead(series.known)
    for sd in series_dates(series):
        start = sd.value.start
        if start <= until:
            count += 1
        elif ahead.starts_by(sd.number, until):
            past = min(past, start)
        else:
            return count, min(past, start, ahead.later_starts(sd.number))
    return count, past


def worded_series_dates(series: Series, until: date) -> Iterator[tuple[SeriesDate, str]]:
    """`series_dates` up to `until`, each with its derivation: worded once for a run of
    estimates counted alike, the same words and one string for them all (a large register's
    series have hundreds of thousands of occurrences)."""
    text, counted, month, before = "", None, None, None
    for sd in series_dates(series, until=until):
        if sd.counted_from is None or sd.counted_from is not counted or \
                sd.month_of is not month or sd.before is not before:
            text = sd.derivation(series)
            counted, month, before = sd.counted_from, sd.month_of, sd.before
        yield sd, text


# --- relative dates --------------------------------------------------------------------------

@held_in_bulk  # slotted, made and pickled as an entry's parts are (see `model`)
@dataclass(frozen=True, slots=True)
class Resolved:
    """An entry's one date, and how it was found. `value` None: the date counts from an
    event still pending (or is that event), so it is on no calendar day yet."""

    value: DatedValue | None
    tentative: bool
    derivation: str


class EntryDates:
    """What resolving derives from each entry alone, kept by the entry object: a series'
    numbered dates, and a relative date with the anchor date it was computed from (reused
    while the anchor resolves to the same).

    Owned by whoever keeps entries from one reading of the register to the next (the
    register's reader: a re-read hands back the same Entry object for every entry whose text
    did not change, and the entry cache pickles these values beside its entries), so that a
    register read again after an edit resolves only the entries whose text or anchor changed.
    Keyed by the entry's identity, with the entry kept beside its values: an id is never
    taken for another object's while the entry is held here."""

    def __init__(self) -> None:
        self._series: dict[int, tuple[Entry, dict[int, SeriesDate]]] = {}
        self._relative: dict[int, tuple[Entry, Resolved, Resolved]] = {}

    def series(self, entry: Entry) -> dict[int, SeriesDate]:
        """The numbered dates of a series entry found so far (to add to)."""
        kept = self._series.get(id(entry))
        if kept is None or kept[0] is not entry:
            kept = self._series[id(entry)] = (entry, {})
        return kept[1]

    def relative(self, entry: Entry, base: Resolved) -> Resolved | None:
        """The entry's date, if it was computed from an anchor resolving to `base`."""
        kept = self._relative.get(id(entry))
        if kept is None or kept[0] is not entry or kept[1] != base:
            return None
        return kept[2]

    def keep_relative(self, entry: Entry, base: Resolved, resolved: Resolved) -> None:
        self._relative[id(entry)] = (entry, base, resolved)

    def only(self, entries: Iterable[Entry]) -> None:
        """Forget every entry but these (the register read last): the others are gone."""
        live = {id(e) for e in entries}
        self._series = {k: v for k, v in self._series.items() if k in live}
        self._relative = {k: v for k, v in self._relative.items() if k in live}

    def forget(self, entries: Iterable[Entry]) -> None:
        """Forget these entries (gone from the register read last), when which they are is
        known: `only` looks at every entry."""
        for entry in entries:
            for kept in (self._series, self._relative):
                found = kept.get(id(entry))
                if found is not None and found[0] is entry:
                    del kept[id(entry)]

    def __len__(self) -> int:
        """How many entries it keeps something for."""
        return len(self._series.keys() | self._relative.keys())

    def of(self, entry: Entry) -> tuple[dict[int, SeriesDate] | None,
                                        tuple[Resolved, Resolved] | None]:
        """What is kept for one entry, in plain values (for the entry cache to pickle)."""
        series = self._series.get(id(entry))
        relative = self._relative.get(id(entry))
        return (series[1] if series and series[0] is entry else None,
                relative[1:] if relative and relative[0] is entry else None)

    def take(self, entry: Entry, kept: tuple[dict[int, SeriesDate] | None,
                                             tuple[Resolved, Resolved] | None]) -> None:
        """Keep for `entry` what `of` gave for an entry of the same text."""
        series, relative = kept
        if series is not None:
            self._series[id(entry)] = (entry, series)
        if relative is not None:
            self._relative[id(entry)] = (entry, *relative)


class Resolver:
    """Resolves every entry's date of one register once, memoised; the register is assumed
    validated. What depends on one entry alone goes to `dates` (see `EntryDates`)."""

    def __init__(self, register: Register, dates: EntryDates | None = None) -> None:
        self._entries = register.by_id
        # The documents, not the register: a Resolver must not keep its register alive.
        self.documents = register.documents
        self._memo: dict[str, Resolved] = {}
        self.dates = dates if dates is not None else EntryDates()

    def occurrence(self, entry: Entry, number: int) -> SeriesDate | None:
        """Occurrence `number` of a series entry, memoised by the entry: many entries cite
        the same session, and a series is otherwise recomputed from its start for each."""
        assert entry.series is not None
        known = self.dates.series(entry)
        if number not in known:
            for sd in series_dates(entry.series, up_to_number=max(number, 2 * len(known))):
                known[sd.number] = sd
        return known.get(number)

    def resolve(self, entry: Entry) -> Resolved | None:
        """The entry's single date (None for series, standing obligations and undated
        urgent commitments; a value of None for a pending event and what counts from one)."""
        if entry.date is not None:
            return Resolved(entry.date, False, wording.AS_WRITTEN)
        if entry.relative is None:
            if entry.pending is None:
                return None
            return Resolved(None, False, wording.pending(entry.pending))
        cached = self._memo.get(entry.id)
        if cached is None:
            cached = self._relative(entry, frozenset())
        return cached

    def _relative(self, entry: Entry, seen: frozenset[str]) -> Resolved:
        rel = entry.relative
        assert rel is not None
        if entry.id in seen:
            raise ResolveError(f"dates refer to each other in a cycle through {entry.id!r}")
        base = self._anchor(rel.target, rel.number, seen | {entry.id})
        # The rest is a function of the entry and its anchor's date alone.
        resolved = self.dates.relative(entry, base)
        if resolved is None:
            resolved = _shifted(rel, base)
            self.dates.keep_relative(entry, base, resolved)
        self._memo[entry.id] = resolved
        return resolved

    def _anchor(self, target_id: str, number: int | None, seen: frozenset[str]) -> Resolved:
        """The date a relative date counts from: an entry's, or a series occurrence's."""
        target = self._entries.get(target_id)
        if target is None:
            raise ResolveError(f"{target_id!r} is not an entry of the register")
        if number is not None:
            if target.series is None:
                raise ResolveError(f"{target_id!r} is not a series")
            sd = self.occurrence(target, number)
            if sd is None:
                raise ResolveError(f"{target.id!r} ends before occurrence #{number}")
            return Resolved(sd.value, sd.known is None, sd.derivation(target.series))
        if target.relative is not None:
            return self._memo.get(target.id) or self._relative(target, seen)
        if target.date is not None:
            return Resolved(target.date, False, wording.AS_WRITTEN)
        if target.pending is not None:
            return Resolved(None, False, wording.pending(target.pending))
        raise ResolveError(f"{target_id!r} has no date to count from")


def _shifted(rel: Relative, base: Resolved) -> Resolved:
    """A relative date counted from its anchor's date (none yet when the anchor is
    pending: the rule is the derivation)."""
    if base.value is None:
        return Resolved(None, base.tentative, wording.awaiting(rel, base.derivation))
    anchor = base.value.last_unit() if rel.anchor_end else base.value.first_unit()
    try:
        value = anchor.shift(rel.offset)
    except (ValueError, OverflowError):
        value = None
    if value is None or not in_calendar(value.start, value.end):
        raise ResolveError(f"{rel.offset} from {rel.ref} falls outside the calendar "
                           f"({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})")
    return Resolved(value, base.tentative,
                    wording.counted_from(rel, base.value, base.tentative, base.derivation))


# The Resolver of each Register object alive, by its identity: a Register never changes, so
# what it resolves stays true while it lives. Validation, occurrences, revisions and feeds of
# one register thus resolve each date once, not once each (a third of a large register's
# reload). An entry leaves with its register (`weakref.finalize`).
_RESOLVERS: dict[int, Resolver] = {}
_RESOLVERS_LOCK = threading.Lock()


def resolver_for(register: Register, dates: EntryDates | None = None) -> Resolver:
    """The register's one Resolver. `dates`: what the register's reader keeps of earlier
    readings (`EntryDates`), taken by the first call for this register object."""
    found = _RESOLVERS.get(id(register))
    if found is not None:
        return found
    with _RESOLVERS_LOCK:
        found = _RESOLVERS.get(id(register))
        if found is None:
            found = _RESOLVERS[id(register)] = Resolver(register, dates)
            weakref.finalize(register, _RESOLVERS.pop, id(register), None)
    return found


def resolve_problems(register: Register, entries: Iterable[Entry] | None = None
                     ) -> list[tuple[str, str, str]]:
    """(entry id, field, message) for every date of the register (or of `entries` in it)
    that cannot be computed, for the validator. The field is the entry's own that is at
    fault: `date` for a relative date, `series.rule` for a rule that yields nothing (the
    entry has no `date` then, and a keeper looks for the field named)."""
    problems: list[tuple[str, str, str]] = []
    resolver = resolver_for(register)
    for entry in register.entries if entries is None else entries:
        try:
            if entry.relative is not None:  # nothing else can fail to resolve
                resolver.resolve(entry)
            if entry.series is not None:
                s = entry.series
                if s.count != 1 and not (s.until and s.until.end < s.start.start) and \
                        not yields_after(s.rule, _rule_anchor(s.start.start, _month_only(s))):
                    problems.append((entry.id, "series.rule",
                                     f"the rule {s.rule} yields no date after series.start "
                                     f"({s.start.iso()}) up to {LAST_DAY.isoformat()}, the "
                                     "calendar's end"))
                problems += _past_until(entry.id, s)
        except ResolveError as exc:
            problems.append((entry.id, "date", str(exc)))
        except (ValueError, OverflowError) as exc:
            problems.append((entry.id, "date", f"the date cannot be computed ({exc})"))
    return problems


def _past_until(entry_id: str, s: Series) -> list[tuple[str, str, str]]:
    """A problem for each known occurrence numbered past the one where `until` ends the
    series (`series_dates` stops at the first estimate after it, unless a known occurrence
    after that one starts by it): such an occurrence would be accepted and then shown by no
    command, as one past `count` would be."""
    if s.until is None or not s.known:
        return []
    last = s.first - 1
    for sd in series_dates(s, up_to_number=max(k.number for k in s.known)):
        last = sd.number
    return [(entry_id, f"series.occurrences[{k.number}]",
             f"occurrence {k.number} is past the last one that until={s.until.iso()} allows "
             f"(no. {last}): move until, or remove the occurrence")
            for k in s.known if k.number > last]


def dependants(register: Register, ids: Iterable[str]) -> set[str]:
    """`ids` and every entry whose date counts from one of them, however indirectly."""
    by_anchor = counted_by(register)
    reached, queue = set(ids), list(ids)
    while queue:
        for source in by_anchor.get(queue.pop(), ()):
            if source not in reached:
                reached.add(source)
                queue.append(source)
    return reached


# The last register's `counted_by`: a re-read after an edit derives the next one from it
# (`counted_by_after`) rather than going through every entry, a tenth of a second at 100,000
# entries. Replaced whole, never changed in place, so that threads read it without a lock.
_counted: tuple[weakref.ref[Register], dict[str, tuple[str, ...]]] | None = None


def counted_by(register: Register) -> dict[str, tuple[str, ...]]:
    """The ids of the entries whose date counts directly from each id (do not modify)."""
    global _counted
    last = _counted
    if last is not None and last[0]() is register:
        return last[1]
    found: dict[str, list[str]] = {}
    for e in register.entries:
        if e.relative is not None:
            found.setdefault(e.relative.target, []).append(e.id)
    index = {k: tuple(v) for k, v in found.items()}
    _counted = (weakref.ref(register), index)
    return index


def counted_by_after(before: Register, register: Register, fresh: Iterable[Entry],
                     gone: Iterable[Entry]) -> None:
    """Make `counted_by(register)` from `before`'s, if known, when `register` is `before`
    with the entries `gone` taken out and the entries `fresh` put in."""
    global _counted
    last = _counted
    if last is None or last[0]() is not before:
        return
    index = dict(last[1])
    for e in gone:
        if e.relative is not None:
            left = tuple(i for i in index[e.relative.target] if i != e.id)
            index[e.relative.target] = left
            if not left:
                del index[e.relative.target]
    for e in fresh:
        if e.relative is not None:
            index[e.relative.target] = (*index.get(e.relative.target, ()), e.id)
    _counted = (weakref.ref(register), index)


# --- occurrences -----------------------------------------------------------------------------

def entry_occurrences(entry: Entry, resolver: Resolver, until: date) -> Iterator[Occurrence]:
    """The entry on the calendar: one occurrence, one per series occurrence up to `until`,
    or one undated occurrence for a standing obligation."""
    if entry.series is not None:
        for sd, text in worded_series_dates(entry.series, until):
            yield _numbered(entry, sd.number, sd.value, sd.known, text)
        return
    resolved = resolver.resolve(entry)
    if resolved is None and entry.urgency is not None:
        since = model_since(resolver.documents, entry)
        yield Occurrence(entry, None, None, False, wording.urgent(entry.urgency, since),
                         entry.location, since=since)
        return
    if resolved is None:
        yield Occurrence(entry, None, None, False, wording.STANDING, entry.location)
        return
    yield Occurrence(entry, None, resolved.value, resolved.tentative, resolved.derivation,
                     entry.location)


def _numbered(entry: Entry, number: int, value: DatedValue, k: KnownOccurrence | None,
              derivation: str) -> Occurrence:
    """Occurrence `number` of a series entry: what its known occurrence `k` records (none for
    an estimate, which is tentative)."""
    return Occurrence(
        entry=entry, number=number, when=value, tentative=k is None, derivation=derivation,
        location=(k.location if k else None) or entry.location,
        note=k.note if k else None,
        status=k.status if k else None,
        extra_sources=k.sources if k else (),
    )


def placed(entry: Entry, number: int | None, when: DatedValue | None, tentative: bool,
           derivation: str, documents: dict[str, Document], urgent: bool) -> Occurrence:
    """The occurrence `entry_occurrences` makes, from what resolving found for it (kept by the
    date index): its number in a series, its date, whether it is tentative, how its date was
    derived, and whether it is an undated urgent commitment (which carries the date of the
    text that made it, from `documents`)."""
    if number is not None and entry.series is not None and when is not None:
        k = next((k for k in entry.series.known if k.number == number), None)
        return _numbered(entry, number, when, k, derivation)
    since = model_since(documents, entry) if urgent else None
    return Occurrence(entry, None, when, tentative, derivation, entry.location, since=since)


def occurrences(register: Register, until: date) -> list[Occurrence]:
    """Every occurrence of the register starting on or before `until`, sorted by date."""
    resolver = resolver_for(register)
    out = [o for e in register.entries for o in entry_occurrences(e, resolver, until)]
    out.sort(key=sort_key)
    return out


def sort_key(o: Occurrence) -> tuple[int, date, str, int]:
    d = o.key_date
    return (d is None, d or date.max, o.entry.id, o.number or 0)


# --- queries ---------------------------------------------------------------------------------

def parse_period(text: str) -> tuple[date, date]:
    """`2005`, `2005-06`, `2005-06-30`, `2001..2005` (ends of any precision) as first and last
    day. Raises ValueError with a message for the user."""
    text = text.strip()
    if ".." in text:
        left, _, right = text.partition("..")
        if not left.strip() or not right.strip():  # named whole: '' was not what was written
            raise ValueError(f"{text!r} is not a period: write 2005, 2005-06, 2005-06-30 or "
                             "2001..2005")
        start, end = parse_period(left)[0], parse_period(right)[1]
        if end < start:
            raise ValueError(f"{text!r}: the period ends before it starts")
        return start, end
    try:
        value = DatedValue.parse(text)
    except OutsideCalendar as exc:
        raise ValueError(str(exc)) from None
    except ValueError:
        raise ValueError(f"{text!r} is not a period: write 2005, 2005-06, 2005-06-30 or "
                         "2001..2005") from None
    return value.start, value.end


_SPAN = re.compile(r"^P?(\d+)([DWMY])$", re.IGNORECASE | re.ASCII)
# The longest span of each unit: the calendar's length, so that no span added to a day of it
# can leave what dates can hold.
_SPAN_MOST = {"D": 110_000, "W": 15_800, "M": 3_620, "Y": 301}


def parse_span(text: str) -> relativedelta:
    """`90d`, `12w`, `6m`, `1y` (or `P90D`) as a calendar span, no longer than the calendar."""
    m = _SPAN.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a span: write 90d, 12w, 6m or 1y")
    digits, unit = m.group(1), m.group(2).upper()
    if len(digits) > 6 or int(digits) > _SPAN_MOST[unit]:
        raise ValueError(f"{text!r} is longer than {CALENDAR}")
    amount = int(digits)
    return {"D": relativedelta(days=amount), "W": relativedelta(weeks=amount),
            "M": relativedelta(months=amount), "Y": relativedelta(years=amount)}[unit]


def span_end(start: date, text: str) -> date:
    """The last day of the span `text` from `start`; ValueError when the span cannot be read
    or ends past the calendar's last day."""
    end = start + parse_span(text)
    if end > LAST_DAY:
        raise ValueError(f"{text!r} from {start.isoformat()} ends on {end.isoformat()}, "
                         f"past the end of {CALENDAR}")
    return end


@dataclass(frozen=True)
class Query:
    """What `list` asks for. Dates are inclusive; empty filters match everything."""

    start: date | None = None
    end: date | None = None
    areas: frozenset[str] = frozenset()
    actors: frozenset[str] = frozenset()
    kinds: frozenset[Kind] = frozenset()
    states: frozenset[State] = frozenset()
    overdue_on: date | None = None
    # Rolling windows (--upcoming) also take an event known only to the month or year when it
    # overlaps them: a session "in 2027" may well fall in the next twelve months.
    overlap: bool = False
    # How many years past today an open-ended query expands series: the listings' five, or
    # those of the published feeds for the feed of a selection (`publish --horizon`).
    horizon_years: int = DEFAULT_HORIZON_YEARS

    @property
    def dated(self) -> bool:
        return self.start is not None or self.end is not None or self.overdue_on is not None

    def filters(self) -> Query:
        """The query's filters alone (areas, actors, kinds, states) and its horizon, without
        its period: what a feed of the selection holds."""
        return Query(areas=self.areas, actors=self.actors, kinds=self.kinds, states=self.states,
                     horizon_years=self.horizon_years)

    def horizon(self, today: date) -> date:
        """How far series must be expanded to answer the query."""
        if self.end is not None:
            return self.end
        if self.overdue_on is not None:
            return self.overdue_on
        return horizon(today, self.horizon_years)


def matches(o: Occurrence, q: Query) -> bool:
    """Whether an occurrence answers the query.

    What falls due (deadlines, targets, reports, periods) matches on its due day; an event or
    session known to the day matches when its days overlap the query's, one known only to the
    month or year when that whole month or year lies in the query; a standing obligation
    matches only queries without dates.
    """
    e = o.entry
    state = o.state.state
    return chosen(q, e.kind, e.areas, e.actors, state) and \
        dated_match(q, e.kind, state, o.when, o.tentative)


def chosen(q: Query, kind: Kind, areas: tuple[str, ...], actors: tuple[str, ...], state: State
           ) -> bool:
    """Whether the query's filters take an occurrence of this kind, areas, actors and state
    (the part of `matches` that is not about dates)."""
    if q.areas and not q.areas.intersection(areas):
        return False
    if q.actors and not q.actors.intersection(actors):
        return False
    if q.kinds and kind not in q.kinds:
        return False
    return not (q.states and state not in q.states)


def dated_match(q: Query, kind: Kind, state: State, w: DatedValue | None, tentative: bool
                ) -> bool:
    """Whether an occurrence of this kind, state, date and tentativeness falls in the
    query's period (the part of `matches` about dates)."""
    if w is None:
        return not q.dated
    if q.overdue_on is not None and not is_overdue(kind, state, w, tentative, q.overdue_on):
        return False
    if kind.is_due:
        return _inside(w.due, w.due, q)
    if q.overlap or (w.precision is Precision.DAY and not w.within):
        # Known days: the event matches any day it is taking place on.
        return not _apart(w, q)
    # "a session in 2000" is not known to fall on 12 April: it matches only periods holding it.
    return _inside(w.start, w.end, q)


def overdue(o: Occurrence, today: date) -> bool:
    """Whether an occurrence is overdue on `today`: an open deadline, target, report or period
    whose firm due day has passed. An estimate is never overdue: nobody decided that day."""
    return o.when is not None and is_overdue(o.entry.kind, o.state.state, o.when, o.tentative,
                                             today)


def is_overdue(kind: Kind, state: State, w: DatedValue, tentative: bool, today: date) -> bool:
    """`overdue`, from an occurrence's kind, state, date and tentativeness."""
    return kind.is_due and not tentative and state is State.OPEN and w.due < today


def _inside(first: date, last: date, q: Query) -> bool:
    return (q.start is None or first >= q.start) and (q.end is None or last <= q.end)


def select(register: Register, query: Query, today: date) -> list[Occurrence]:
    """The register's occurrences that answer the query, sorted by date."""
    resolver, until = resolver_for(register), query.horizon(today)
    # Filtered before sorting: a query usually keeps a few of a large register's occurrences.
    # An entry with one date outside a dated query's period is passed over before an
    # occurrence is made of it: most of a large register, for `list --due 2005`.
    period = query.dated and query.overdue_on is None
    out = [o for e in register.entries
           if not (period and e.series is None and _outside(resolver.resolve(e), query))
           for o in entry_occurrences(e, resolver, until) if matches(o, query)]
    out.sort(key=sort_key)
    return out


def _outside(resolved: Resolved | None, q: Query) -> bool:
    """Whether no occurrence of a single date (None: standing) can match a query with a period:
    every way `matches` takes one needs some of its days inside the period."""
    return resolved is None or resolved.value is None or _apart(resolved.value, q)


def _apart(w: DatedValue, q: Query) -> bool:
    """Whether no day of `w` is in the query's period."""
    return (q.start is not None and w.end < q.start) or (q.end is not None and w.start > q.end)


# --- what the register's keepers should look at ----------------------------------------------

ESTIMATED = "estimated"
RESTS_ON_ESTIMATE = "rests-on-estimate"
LONG_PAST = "long-past"
URGENT_OLD = "urgent-old"


@dataclass(frozen=True)
class ReviewItem:
    """Something the register should confirm or record, and why (one of the reasons above)."""

    occurrence: Occurrence
    reason: str


def review(register: Register, today: date, within: relativedelta) -> list[ReviewItem]:
    """What the register should confirm or record, nearest `today` first: estimated
    occurrences (of a series, or dated from an estimate) falling within `within` of today,
    to confirm (or to record, once past); open deadlines, targets, reports and periods due
    more than `within` ago, which the register never said were met or missed; then the open
    undated urgent commitments older than `URGENT_REVIEW_AGE` (`urgent_older_than`), oldest
    first."""
    start, end = today - within, today + within
    resolver = resolver_for(register)
    found: list[tuple[int, tuple[int, date, str, int], ReviewItem]] = []
    for entry in register.entries:
        for o in entry_occurrences(entry, resolver, end):
            reason = _review_reason(o, start, end)
            if reason is not None:
                assert o.when is not None  # a review reason needs a date
                first, last = _review_days(o.entry.kind, o.when)
                found.append((*review_order(today, first, last, sort_key(o)),
                              ReviewItem(o, reason)))
    found.sort(key=lambda item: item[:2])
    return ([item for _, _, item in found]
            + [ReviewItem(o, URGENT_OLD) for o in urgent_older_than(register, today)])


def _review_days(kind: Kind, w: DatedValue) -> tuple[date, date]:
    """The days of an occurrence the review measures from today: a deadline's due day, an
    event's days."""
    return (w.due, w.due) if kind.is_due else (w.start, w.end)


def _review_reason(o: Occurrence, start: date, end: date) -> str | None:
    return review_reason(o.entry.kind, o.state.state, o.when, o.tentative,
                         o.number is not None, start, end)


def review_reason(kind: Kind, state: State, w: DatedValue | None, tentative: bool,
                  numbered: bool, start: date, end: date) -> str | None:
    """Why the keepers should look at an occurrence of this kind, state, date and
    tentativeness (`numbered`: of a series), given the review's first and last day; None
    when they need not."""
    if w is None or state is not State.OPEN:
        return None
    if tentative:
        first, last = _review_days(kind, w)
        if last < start or first > end:
            return None
        return ESTIMATED if numbered else RESTS_ON_ESTIMATE
    if kind.is_due and w.due < start:
        return LONG_PAST
    return None


def review_order(today: date, first: date, last: date, key: tuple[int, date, str, int]
                 ) -> tuple[int, tuple[int, date, str, int]]:
    """Where an item of the review stands: nearest today first (a period today lies in, such
    as the year of an estimated session, is nearest of all), then by date and id. `first`
    and `last`: its days (a deadline's due day, twice)."""
    days = 0 if first <= today <= last else min(abs((first - today).days),
                                                abs((last - today).days))
    return days, key


def find(register: Register, ref: str, today: date, years: int = DEFAULT_HORIZON_YEARS
         ) -> list[Occurrence]:
    """The occurrences an id names: one for `entry#N`, all up to the horizon `years` past
    `today` for `entry` (the entry page takes the published feeds')."""
    try:
        entry_id, number = parse_occurrence_id(ref)
    except ValueError:  # "entry#", "entry#x", "entry#01": no occurrence's id
        return []
    entry = register.entry(entry_id)
    if entry is None:
        return []
    resolver = resolver_for(register)
    if number is not None:
        sd = resolver.occurrence(entry, number) if entry.series is not None else None
        if sd is None:
            return []
        until = sd.value.start
    else:
        until = horizon(today, years)
        first = resolver.occurrence(entry, entry.series.first) if entry.series else None
        if first is not None and first.value.start > until:
            # A series that begins past the horizon is still an entry to show: its first.
            until = first.value.start
    found = list(entry_occurrences(entry, resolver, until))
    return [o for o in found if number is None or o.number == number]


def unfound(register: Register, ref: str) -> str:
    """What `show` and the entry page say of an id `find` finds nothing for, with why when
    its entry is there ("… #0": numbered from 1; a number past the series' end)."""
    said = f"no entry or occurrence {ref!r} in the register"
    entry_id, sep, _ = ref.partition("#")
    entry = register.entry(entry_id)
    if entry is None or not sep:
        return said
    if entry.series is None:
        return f"{said}: {entry_id!r} is no series, so it has no numbered occurrences"
    first = entry.series.first
    try:
        number = parse_occurrence_id(ref)[1]
    except ValueError:
        number = None
    if number is None:
        return f"{said}: an occurrence is named by its number, such as {entry_id}#{first}"
    if number < first:
        return f"{said}: its occurrences are numbered from {first}"
    return f"{said}: the series ends before occurrence {number}"


def list_query(register: Register, now: date, *, due: str | None = None,
               from_: str | None = None, until: str | None = None, upcoming: str | None = None,
               overdue: bool = False, areas: Iterable[str] = (), actors: Iterable[str] = (),
               kinds: Iterable[str] = (), states: Iterable[str] = (), prefix: str = "--"
               ) -> Query:
    """The Query of `list`'s options, which the server's parameters of the same names share.
    UsageError names the option as written (`prefix` + name: `--due` on the command line,
    `due` in a URL)."""
    def members(enum: type[Kind] | type[State], name: str, values: Iterable[str]
                ) -> frozenset[Any]:
        out = set()
        for value in values:
            try:
                out.add(enum(value))
            except ValueError:
                raise UsageError(f"unknown {name} {value!r}; one of: "
                                 + ", ".join(m.value for m in enum)) from None
        return frozenset(out)

    start, end = _period(now, due, from_, until, upcoming, overdue, prefix)
    areas, actors = list(areas), list(actors)
    unknown = vocabulary_problems(register, areas, actors)
    if unknown:
        raise UsageError("; ".join(unknown))
    return Query(start=start, end=end, areas=frozenset(areas), actors=frozenset(actors),
                 kinds=members(Kind, "kind", kinds), states=members(State, "status", states),
                 overdue_on=now if overdue else None, overlap=upcoming is not None)


def _period(now: date, due: str | None, from_: str | None, until: str | None,
            upcoming: str | None, overdue: bool, prefix: str) -> tuple[date | None, date | None]:
    """The first and last day of `list_query`'s period (None: open), named one way at a
    time: by --due, by --from and --until, or by --upcoming. Options that name it twice, a
    --from after --until, or --overdue (before today) with --upcoming (from today on, so
    nothing would match) are a UsageError naming them, never one of them silently dropped."""
    def bound(value: str | None, name: str, end: bool) -> date | None:
        if value is None:
            return None
        try:
            first, last = parse_period(value)
        except ValueError as exc:
            raise UsageError(f"{prefix}{name}: {exc}") from None
        return last if end else first

    start = bound(due, "due", False) or bound(from_, "from", False)
    end = bound(due, "due", True) or bound(until, "until", True)
    if upcoming is not None:
        given = [f"{prefix}{name}" for name, value in
                 (("due", due), ("from", from_), ("until", until)) if value is not None]
        if given:
            raise UsageError(f"{prefix}upcoming already names the period; drop "
                             + "/".join(given))
        if overdue:
            raise UsageError(f"{prefix}overdue is before today and {prefix}upcoming from "
                             "today on, so nothing is both; drop one")
        try:
            return now, span_end(now, upcoming)
        except ValueError as exc:
            raise UsageError(f"{prefix}upcoming: {exc}") from None
    if due is not None and (from_ is not None or until is not None):
        raise UsageError(f"{prefix}due already names the period; drop {prefix}from/"
                         f"{prefix}until")
    if start is not None and end is not None and end < start:
        raise UsageError(f"{prefix}from {from_!r} {prefix}until {until!r}: the period ends "
                         "before it starts")
    return start, end


def vocabulary_problems(register: Register, areas: Iterable[str], actors: Iterable[str]
                        ) -> list[str]:
    """Messages for filter values the register does not declare."""
    return [message for _, message in unknown_terms(register, areas, actors)]


def unknown_terms(register: Register, areas: Iterable[str], actors: Iterable[str]
                  ) -> list[tuple[str, str]]:
    """("area" or "actor", message) for each filter value the register does not declare:
    for `list`'s and the API's filters and for a subscription's alike."""
    out = []
    for name, given, vocab in (("area", areas, register.areas), ("actor", actors,
                                                                   register.actors)):
        for word in given:
            if word not in vocab:
                known = f"declares: {', '.join(sorted(vocab))}" if vocab else \
                    f"declares no {name}s"
                out.append((name, f"unknown {name} {word!r}; the register {known}"))
    return out


# --- undated urgent commitments --------------------------------------------------------------

# How long an undated urgent commitment ("as soon as possible") may stand open before the
# keepers are asked to look at it again: a year after the text that made it, it is done, late
# or forgotten, and the register should say which.
URGENT_REVIEW_AGE = relativedelta(years=1)


def urgent_older_than(register: Register, today: date,
                      age: relativedelta = URGENT_REVIEW_AGE) -> list[Occurrence]:
    """The open undated urgent commitments made more than `age` before `today`, oldest
    first: for `review`. A commitment's age counts from the last day its since-date can mean
    (a text of "2001" is a year old on 1 January 2003), so that none is called old early."""
    resolver = resolver_for(register)
    out = []
    for entry in register.entries:
        if entry.urgency is None or entry.status.state is not State.OPEN:
            continue
        for o in entry_occurrences(entry, resolver, today):
            if o.since is not None and urgent_old(o.since[0].end, today, age):
                out.append(o)
    out.sort(key=lambda o: (o.since[0].end if o.since else date.max, o.entry.id))
    return out


def urgent_old(since: date, today: date, age: relativedelta = URGENT_REVIEW_AGE) -> bool:
    """Whether an urgent commitment whose text's date ends on `since` is older than `age`."""
    return since + age < today
