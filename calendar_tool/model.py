"""The domain types: frozen, plain, and free of I/O.

A `DatedValue` keeps the precision the text gives ("2005", "May 2001", "10-17 April 2000"); an
`Entry` is one commitment of the register; an `Occurrence` is an entry placed on the calendar
(one per entry, or one per numbered occurrence of a series). The occurrence id (`entry-id` or
`entry-id#N`) is the one identifier used as feed UID, ledger key, job id and webhook id.

The types a large register holds by the hundred thousand (an entry and what it holds, an
occurrence, a revision) are slotted: an object with a dict, even one Python keeps inline,
took 40 to 60 bytes more, and `run` at 100,000 entries held 40 MB less once they were. They
are made by a constructor that sets their slots directly, and pickled as a call of it
(`held_in_bulk`).
"""

from __future__ import annotations

import calendar
import dataclasses
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

_Class = TypeVar("_Class", bound=type)


def held_in_bulk(cls: _Class) -> _Class:
    """`cls`, a slotted frozen dataclass that a large register holds by the hundred thousand,
    with a constructor that sets its fields directly and pickled as a call of it.

    The constructor the dataclass decorator writes for a frozen class sets each field through
    `object.__setattr__`, looked up again for every field; this one calls each slot's own
    setter, taken once (same parameters, defaults and default factories): an entry is made
    in half the time, and reading an entry back or listing 8,000 occurrences makes one per
    object. Pickled the default way, the class would be read back through the
    `__setstate__` the decorator writes, which sets one field at a time in Python: three
    times as slow, and `run` reads 100,000 revisions back at its start."""
    fields = dataclasses.fields(cls)
    cls.__init__ = _direct_init(cls, fields)  # type: ignore[misc]
    values: Callable[[Any], tuple[Any, ...]] = operator.attrgetter(*(f.name for f in fields))

    def __reduce__(self: Any) -> tuple[type, tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment]
    return cls


class _Factory:
    """The default of a parameter whose field has a default factory (None may be a value)."""

    __slots__ = ()


def _direct_init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    """`cls.__init__` as the dataclass decorator writes it, each field set by its slot."""
    scope: dict[str, Any] = {"_FACTORY": _Factory()}
    params, body = [], []
    for f in fields:
        name = f.name
        scope[f"_set_{name}"] = vars(cls)[name].__set__
        if f.default is not dataclasses.MISSING:
            scope[f"_default_{name}"] = f.default
            params.append(f"{name}=_default_{name}")
        elif f.default_factory is not dataclasses.MISSING:
            scope[f"_factory_{name}"] = f.default_factory
            params.append(f"{name}=_FACTORY")
            body.append(f"    if {name} is _FACTORY:\n        {name} = _factory_{name}()")
        else:
            params.append(name)
        body.append(f"    _set_{name}(self, {name})")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body), scope)
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


_YEAR = r"(\d{4})"

# The calendar the tool handles: every date the register gives or derives, and every day an
# option or a query parameter names, lies within it. Wide enough for any commitment a text
# of the last century or the next two can set; narrow enough that every computation around
# it (a feed's exclusive end, a reminder ten years before, a horizon, a window, a zone) stays
# far inside what Python's dates can hold, and that a series expanded to its end stays small.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)

# A series has at most this many occurrences (a `count` cannot be more; an open series ends
# at its 20,000th, or at the calendar's end if that comes first): a query or a feed expands
# no series further, whatever it asks.
MAX_OCCURRENCES = 20_000


class OutsideCalendar(ValueError):
    """A date, or a date computed from one, outside FIRST_DAY..LAST_DAY."""


def in_calendar(first: date, last: date) -> bool:
    """Whether the days from `first` to `last` are all in the calendar."""
    return first >= FIRST_DAY and last <= LAST_DAY


CALENDAR = f"the calendar this tool handles ({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})"


class Precision(StrEnum):
    YEAR = "year"
    MONTH = "month"
    DAY = "day"


class Kind(StrEnum):
    DEADLINE = "deadline"
    TARGET = "target"
    REPORT = "report"
    PERIOD = "period"
    EVENT = "event"
    SESSION = "session"
    STANDING = "standing"

    @property
    def is_due(self) -> bool:
        """Due on the last day of its date, rather than taking place over it."""
        return self in _DUE_KINDS


_DUE_KINDS = frozenset({Kind.DEADLINE, Kind.TARGET, Kind.REPORT, Kind.PERIOD})


class State(StrEnum):
    OPEN = "open"
    MET = "met"
    MISSED = "missed"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"

    @property
    def reminds(self) -> bool:
        """Whether reminders are still sent for an entry in this state: not once it is met,
        withdrawn, or superseded by another commitment."""
        return self not in (State.MET, State.WITHDRAWN, State.SUPERSEDED)


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    """`calendar.monthrange(year, month)[1]` (the same ValueError for a month that is not
    1-12), without the weekday it also computes: series expansion asks this once a date."""
    if not 1 <= month <= 12:
        raise calendar.IllegalMonthError(month)
    return 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month - 1]


def last_day(year: int, month: int) -> date:
    return date(year, month, days_in_month(year, month))


@held_in_bulk
@dataclass(frozen=True, slots=True)
class DatedValue:
    """A date as precise as the text makes it.

    `start` is the first day and `end` the last day the value can mean. `is_range` is true when
    the text names two ends ("2002-2003", "10 to 17 April 2000"). `within` is true when the value
    is one unknown day between `start` and `end` (six weeks before "May 2001"), rather than the
    whole span.
    """

    start: date
    end: date
    precision: Precision
    is_range: bool = False
    within: bool = False

    @classmethod
    def year(cls, year: int) -> DatedValue:
        return cls(date(year, 1, 1), date(year, 12, 31), Precision.YEAR)

    @classmethod
    def month(cls, year: int, month: int) -> DatedValue:
        return cls(date(year, month, 1), last_day(year, month), Precision.MONTH)

    @classmethod
    def day(cls, day: date) -> DatedValue:
        return cls(day, day, Precision.DAY)

    @classmethod
    def parse(cls, text: str) -> DatedValue:
        """Parse `2005`, `2001-05`, `2005-06-30` or a range `A..B` of one precision.

        Raises ValueError with a message meant for the user.
        """
        text = text.strip()
        if ".." in text:
            left, _, right = text.partition("..")
            a, b = cls.parse(left), cls.parse(right)
            if a.is_range or b.is_range:
                raise ValueError(f"{text!r}: a range has exactly two ends")
            if a.precision is not b.precision:
                raise ValueError(
                    f"{text!r}: both ends of a range need the same precision "
                    f"({a.precision} and {b.precision} given)"
                )
            if b.start < a.start:
                raise ValueError(f"{text!r}: the range ends ({right}) before it starts ({left})")
            if a == b:
                raise ValueError(f"{text!r}: a range needs two different ends; write {left}")
            return a.span(b)
        for pattern, precision in _DATE_FORMS:
            m = pattern.match(text)
            if not m:
                continue
            parts = [int(g) for g in m.groups()]
            try:
                if precision is Precision.YEAR:
                    value = cls.year(parts[0])
                elif precision is Precision.MONTH:
                    last_day(parts[0], parts[1])  # validates the month
                    value = cls.month(parts[0], parts[1])
                else:
                    value = cls.day(date(parts[0], parts[1], parts[2]))
            except ValueError as exc:
                raise ValueError(f"{text!r} is not a real date ({exc})") from None
            if not in_calendar(value.start, value.end):
                raise OutsideCalendar(f"{text!r} is outside {CALENDAR}")
            return value
        raise ValueError(
            f"{text!r} is not a date: write 2005, 2001-05, 2005-06-30, "
            "or a range such as 2002..2003"
        )

    def span(self, other: DatedValue) -> DatedValue:
        """The range from this value to `other` (same precision)."""
        return DatedValue(self.start, other.end, self.precision, is_range=True)

    @property
    def due(self) -> date:
        """The day something dated by this value falls due: its last day."""
        return self.end

    def first_unit(self) -> DatedValue:
        """The first year, month or day of a range; the value itself otherwise."""
        if not self.is_range or self.within:
            return self
        return _unit_at(self.start, self.precision)

    def last_unit(self) -> DatedValue:
        if not self.is_range or self.within:
            return self
        return _unit_at(self.end, self.precision)

    def shift(self, offset: Offset) -> DatedValue:
        """Move by an offset, keeping precision when the offset is in whole units of it.

        A finer offset on a coarser value ("six weeks before May 2001") cannot name a day, so
        the result is the range of days it may fall on, marked `within`.
        """
        if offset.is_zero:
            return self
        if self.precision is Precision.DAY or offset.fits(self.precision):
            return self.move(offset.delta)
        delta = offset.delta
        return DatedValue(self.start + delta, self.end + delta, Precision.DAY, True, True)

    def move(self, delta: relativedelta) -> DatedValue:
        """The same shape moved by whole units of its precision."""
        start = self.start + delta
        if self.precision is Precision.DAY:
            end = self.end + delta
        else:
            # Recompute the last day so that month lengths stay right (February, leap years).
            end = _unit_at(self.end + delta, self.precision).end
        if self.within and start == end:
            # Months are cut at their ends: a day of 29-31 January moved by P1M is 29 February
            # 2000 whichever it was, one day ("between 29 February 2000 and 29 February 2000").
            return DatedValue.day(start)
        return DatedValue(start, end, self.precision, self.is_range, self.within)

    def iso(self) -> str:
        """The value in the register's own notation ("2005", "2001-05", "2002..2003")."""
        if self.within:
            return f"{self.start.isoformat()}..{self.end.isoformat()}"

        def one(d: date) -> str:
            if self.precision is Precision.YEAR:
                return f"{d.year:04d}"
            if self.precision is Precision.MONTH:
                return f"{d.year:04d}-{d.month:02d}"
            return d.isoformat()

        if self.is_range:
            return f"{one(self.start)}..{one(self.end)}"
        return one(self.start)


def _unit_at(d: date, precision: Precision) -> DatedValue:
    if precision is Precision.YEAR:
        return DatedValue.year(d.year)
    if precision is Precision.MONTH:
        return DatedValue.month(d.year, d.month)
    return DatedValue.day(d)


_DATE_FORMS = (
    # ASCII digits only: \d also takes other scripts' digits, which no date is written in.
    (re.compile(rf"^{_YEAR}$", re.ASCII), Precision.YEAR),
    (re.compile(rf"^{_YEAR}-(\d{{1,2}})$", re.ASCII), Precision.MONTH),
    (re.compile(rf"^{_YEAR}-(\d{{1,2}})-(\d{{1,2}})$", re.ASCII), Precision.DAY),
)

_DURATION = re.compile(r"^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$", re.ASCII)


@held_in_bulk
@dataclass(frozen=True, slots=True)
class Offset:
    """A signed calendar offset of whole years, months, weeks and days (ISO 8601 duration)."""

    years: int = 0
    months: int = 0
    days: int = 0
    negative: bool = False

    @classmethod
    def parse(cls, text: str) -> Offset:
        """Parse `P6W`, `-P2Y`, `P1M10D`; raise ValueError on anything else."""
        m = _DURATION.match(text.strip())
        if not m or text.strip().lstrip("-") == "P":
            raise ValueError(
                f"{text!r} is not a duration of years, months, weeks and days such as P6W or -P2Y"
            )
        sign, y, mo, w, d = m.groups()
        if any(part is not None and len(part) > 9 for part in (y, mo, w, d)):
            raise ValueError(f"{text.strip()[:40]!r} is a duration longer than any calendar")
        return cls(int(y or 0), int(mo or 0), int(w or 0) * 7 + int(d or 0), sign == "-")

    @property
    def is_zero(self) -> bool:
        return not (self.years or self.months or self.days)

    @property
    def delta(self) -> relativedelta:
        sign = -1 if self.negative else 1
        return relativedelta(years=sign * self.years, months=sign * self.months,
                             days=sign * self.days)

    @property
    def as_timedelta(self) -> timedelta:
        """Only for day offsets (reminders): years and months have no fixed length."""
        if self.years or self.months:
            raise ValueError("only day and week offsets have a fixed length")
        return timedelta(days=-self.days if self.negative else self.days)

    @property
    def longest(self) -> int:
        """The most days the offset can span: a year counted as 366 days, a month as 31."""
        return self.years * 366 + self.months * 31 + self.days

    def fits(self, precision: Precision) -> bool:
        """Whether the offset moves a value of this precision by whole units (P12M is a
        whole year, as P120M is ten years for a reminder)."""
        if precision is Precision.YEAR:
            return not (self.months % 12 or self.days)
        if precision is Precision.MONTH:
            return not self.days
        return True

    def __str__(self) -> str:
        if self.is_zero:
            return "P0D"
        parts = "P"
        parts += f"{self.years}Y" if self.years else ""
        parts += f"{self.months}M" if self.months else ""
        parts += f"{self.days}D" if self.days else ""
        return ("-" if self.negative else "") + parts


# The longest reminder offset, in `Offset.longest` days: ten years, or 120 months. A reminder
# further ahead is no reminder, and every reminder's instant stays well inside the calendar.
MAX_REMINDER_DAYS = 120 * 31


def reminder_too_long(offset: Offset) -> str | None:
    """Why an offset is too long for a reminder, if it is."""
    if offset.longest <= MAX_REMINDER_DAYS:
        return None
    return (f"{offset} is longer than a reminder can be: at most P10Y or P120M (3,720 days, "
            "a year counted as 366 days and a month as 31)")


@held_in_bulk
@dataclass(frozen=True, slots=True)
class Source:
    doc: str
    para: str
    quote: str
    file: str | None = None

@dataclass(frozen=True)
class Document:
    """A text sources cite. `date`: the day it was adopted (any precision the texts give),
    from which its undated urgent commitments count; `dated_by`: the passage giving it."""

    key: str
    title: str
    url: str | None = None
    file: str | None = None
    date: DatedValue | None = None
    dated_by: Source | None = None


@dataclass(frozen=True)
class Term:
    """An area or actor of the register's declared vocabularies."""

    key: str
    title: str


@held_in_bulk
@dataclass(frozen=True, slots=True)
class Status:
    """`sources`: the passages of later texts that record the state (None: none cited; None
    rather than empty so that the content hash of an entry without them stays as it was)."""

    state: State = State.OPEN
    date: date | None = None
    note: str | None = None
    sources: tuple[Source, ...] | None = None

@held_in_bulk
@dataclass(frozen=True, slots=True)
class Relative:
    """A date given as an offset from another entry or from occurrence N of a series."""

    target: str
    number: int | None = None
    offset: Offset = field(default_factory=Offset)
    anchor_end: bool = False

    @property
    def ref(self) -> str:
        return occurrence_id(self.target, self.number)

@held_in_bulk
@dataclass(frozen=True, slots=True)
class KnownOccurrence:
    number: int
    date: DatedValue
    location: str | None = None
    note: str | None = None
    status: Status | None = None
    sources: tuple[Source, ...] = ()


@held_in_bulk
@dataclass(frozen=True, slots=True)
class Series:
    rule: str
    start: DatedValue
    first: int = 1
    until: DatedValue | None = None
    count: int | None = None
    known: tuple[KnownOccurrence, ...] = ()
    # Whether estimated occurrences take the month their dated occurrences give (the
    # default), or only the rule's precision (`estimate: rule`).
    month_from_evidence: bool = True

    @property
    def last_number(self) -> int | None:
        """The highest occurrence number a `count` allows, if any."""
        return None if self.count is None else self.first + self.count - 1


@held_in_bulk
@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str
    kind: Kind
    actors: tuple[str, ...]
    areas: tuple[str, ...]
    sources: tuple[Source, ...]
    date: DatedValue | None = None
    relative: Relative | None = None
    series: Series | None = None
    description: str | None = None
    location: str | None = None
    status: Status = field(default_factory=Status)
    reminders: tuple[Offset, ...] | None = None
    note: str | None = None
    # An undated commitment's word of urgency ("as soon as possible"), as the text gives it.
    urgency: str | None = None
    # What an undated event awaits ("the fortieth ratification"), until its date is recorded.
    pending: str | None = None

    def all_sources(self) -> tuple[Source, ...]:
        """Every source the entry cites: its own, then those of its series' known
        occurrences, then those of the statuses (its own, then its occurrences')."""
        if (self.series is None or not self.series.known) and self.status.sources is None:
            return self.sources  # most entries: no new tuple
        known = self.series.known if self.series is not None else ()
        return (self.sources + tuple(s for k in known for s in k.sources)
                + (self.status.sources or ())
                + tuple(s for k in known if k.status for s in k.status.sources or ()))


@dataclass(frozen=True)
class Reviewed:
    """A passage of a source text judged not to be a commitment, and why (for `coverage`)."""

    source: Source
    reason: str


@dataclass(frozen=True)
class Register:
    title: str
    description: str | None
    reminders: tuple[Offset, ...]
    areas: dict[str, Term]
    actors: dict[str, Term]
    documents: dict[str, Document]
    entries: tuple[Entry, ...]
    reviewed: tuple[Reviewed, ...] = ()

    # The entries by id, made once with the register (do not modify).
    by_id: dict[str, Entry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {e.id: e for e in self.entries})

    def entry(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)

    def reminders_for(self, entry: Entry) -> tuple[Offset, ...]:
        """The reminder offsets in effect for an entry: its own, else the register's."""
        return entry.reminders if entry.reminders is not None else self.reminders

    def since(self, entry: Entry) -> tuple[DatedValue, str] | None:
        """The date an undated urgent commitment counts from, with the document giving it:
        that of the first of its sources whose document has a date."""
        return since(self.documents, entry)


def since(documents: dict[str, Document], entry: Entry) -> tuple[DatedValue, str] | None:
    """`Register.since`, from the declared documents alone."""
    for s in entry.sources:
        doc = documents.get(s.doc)
        if doc is not None and doc.date is not None:
            return doc.date, doc.key
    return None


def occurrence_id(entry_id: str, number: int | None) -> str:
    """The one stable id of an occurrence: `entry-id`, or `entry-id#N` in a series."""
    return entry_id if number is None else f"{entry_id}#{number}"


def parse_occurrence_id(text: str) -> tuple[str, int | None]:
    """Split `entry-id#N` into its parts; raise ValueError when N is not a whole number as
    occurrence ids write it: no leading zero, so that an occurrence has one id ("#01" would
    be a second address of no. 1's page)."""
    entry_id, sep, number = text.partition("#")
    if not sep:
        return entry_id, None
    if not (number.isascii() and number.isdigit()) or len(number) > 18 or \
            number != str(int(number)):
        raise ValueError(f"{text!r}: the occurrence number after '#' must be a whole number")
    return entry_id, int(number)


@held_in_bulk
@dataclass(frozen=True, slots=True)
class Occurrence:
    """An entry placed on the calendar. `when` None: on no calendar day (a standing
    obligation, an undated urgent commitment, an event still pending, a date counted from
    one); `since`: the date an urgent commitment counts from and the document giving it."""

    entry: Entry
    number: int | None
    when: DatedValue | None
    tentative: bool
    derivation: str
    location: str | None = None
    note: str | None = None
    status: Status | None = None
    extra_sources: tuple[Source, ...] = ()
    since: tuple[DatedValue, str] | None = None

    @property
    def id(self) -> str:
        return occurrence_id(self.entry.id, self.number)

    @property
    def state(self) -> Status:
        return self.status or self.entry.status

    @property
    def sources(self) -> tuple[Source, ...]:
        return self.extra_sources + self.entry.sources

    @property
    def key_date(self) -> date | None:
        """The day it sorts by: the due day of a deadline, the first day of an event."""
        if self.when is None:
            return None
        return self.when.due if self.entry.kind.is_due else self.when.start

@held_in_bulk
@dataclass(frozen=True, slots=True)
class Revision:
    """How far an entry's published content has moved: what feeds give as SEQUENCE, and the
    instant (aware, UTC) of its last change, given as LAST-MODIFIED and DTSTAMP so that
    republishing unchanged content yields unchanged bytes."""

    hash: str
    sequence: int
    changed_at: datetime


# --- reminders -----------------------------------------------------------------------------

OVERDUE = "overdue"
"""The offset label of the overdue notice, sent on the day after the due day."""

CHANGED = "changed"
"""The offset label of the notice that a date reminded before was confirmed or moved."""

REVIEW = "review"
"""The offset label of an item of the keepers' weekly review."""

DEFAULT_TIME = time(9, 0)


class Format(StrEnum):
    """A subscription's channel: the shape of its messages and how they travel."""

    SLACK = "slack"
    JSON = "json"
    TEAMS = "teams"  # a Microsoft Teams Workflows (Power Automate) webhook: an Adaptive Card
    DISCORD = "discord"
    MATTERMOST = "mattermost"
    EMAIL = "email"  # mailto: addresses, sent through the SMTP server of the settings


class Notice(StrEnum):
    """What a reminder says; the `type` of a JSON webhook."""

    REMINDER = "obligation.reminder"  # before the day
    DUE = "obligation.due"  # on the day (P0D)
    OVERDUE = "obligation.overdue"  # the day after, still open
    CONFIRMED = "obligation.confirmed"  # an estimated date the register now gives
    CHANGED = "obligation.changed"  # a date reminded before has moved
    REVIEW = "obligation.review"  # for the register's keepers: something to confirm or record


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
    # Reminders for estimated dates too (worded as expected, not due).
    estimated: bool = False
    # The keepers' weekly review digest instead of reminders.
    review: bool = False

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
    """One reminder owed: the ledger's key is (subscription, occurrence id, offset, the day it
    was counted from), so that a date the register confirms or moves is reminded again from
    the new day, and nothing is sent twice for the same day and offset."""

    subscription: str
    occurrence: Occurrence
    offset: str  # "P30D", "P0D", OVERDUE, CHANGED or REVIEW
    notice: Notice
    instant: datetime  # aware, UTC
    days_left: int  # from the local day it is sent to the occurrence's day; negative if overdue
    # What the notice says besides the occurrence: the date reminded before (a changed or
    # confirmed date), or why the keepers should look at it (a review).
    detail: str | None = None

    @property
    def counted_from(self) -> str:
        """The day the reminder counts from, as the ledger keeps it ("" when undated)."""
        day = self.occurrence.key_date
        return "" if day is None else day.isoformat()

    @property
    def estimated(self) -> bool:
        return self.occurrence.tentative

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.subscription, self.occurrence.id, self.offset, self.counted_from)


@dataclass(frozen=True)
class Outbound:
    """A message taken from the ledger for sending, with what sending needs: its id (the
    `webhook-id` of every attempt), the body rendered when it was claimed, and where it goes."""

    id: str
    subscription: str
    url: str = field(repr=False)
    format: Format
    secret: str | None = field(repr=False)
    body: str = field(repr=False)
    attempts: int  # attempts made before this one
