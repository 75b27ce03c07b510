"""Occurrences to RFC 5545 calendars. Pure: occurrences, revisions and feed metadata in, bytes
out; the only module that imports `icalendar`.

Every value that icalendar would otherwise invent is given: the UID is the occurrence id, and
DTSTAMP and LAST-MODIFIED are the entry's last change (`model.Revision`), so the same input
always gives the same bytes. Each event is serialised once (`EventWriter`) and feeds are
assembled from those blocks (`calendar_chunks`, `calendar_bytes`): byte for byte what
icalendar's `Calendar.to_ical()` gives for the same components (`event`, `library_calendar`;
tests check it), without serialising an event again for every area and actor feed it appears
in. The writer puts the content lines together itself, since icalendar's own path is too slow
for a large register (see "serialisation" below).

How an occurrence becomes an event:

- all-day DATE values with the exclusive end RFC 5545 requires: a deadline, target, report or
  period sits on its due day; an event or session spans its days (a year-precision congress
  spans the year, since the text names no day);
- the summary keeps the precision the text gives ("by end of 2005") whenever the calendar day
  alone would suggest more than the text says;
- STATUS:CANCELLED for a withdrawn entry (so that subscribers' copies go away), TENTATIVE for
  an estimated date, CONFIRMED otherwise; TRANSP:TRANSPARENT throughout, since a commitment
  does not make anyone busy;
- one DISPLAY alarm per reminder offset, only while the entry still sends reminders (not met,
  not withdrawn) and its date is not an estimate: an alarm on a guessed day would fire on a
  day nobody decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from itertools import islice

from icalendar import Alarm, Calendar, Event
from icalendar.prop import vDuration, vText

from calendar_tool.model import (
    Entry,
    Kind,
    Occurrence,
    Offset,
    Precision,
    Register,
    Revision,
    Source,
    State,
    Term,
)

PRODID = "-//calendar-tool//calendar-tool//EN"
UID_DOMAIN = "calendar-tool"
# Register changes are rare and dates are months apart: twice a day is prompt enough for a
# correction to reach subscribers without clients polling for nothing.
DEFAULT_REFRESH = timedelta(hours=12)

_END = b"END:VCALENDAR\r\n"
# Events per piece of `calendar_chunks`: some hundreds of kilobytes.
_BATCH = 256


def uid(occurrence_id: str) -> str:
    """The event UID of an occurrence: `congresses#10` is `congresses#10@calendar-tool`.

    Derived from the occurrence id alone, so it never changes while the entry keeps its id,
    whatever else is edited."""
    return f"{occurrence_id}@{UID_DOMAIN}"


@dataclass(frozen=True)
class FeedInfo:
    """What a calendar says about itself."""

    name: str
    title: str
    description: str
    refresh: timedelta = DEFAULT_REFRESH


# --- dates -----------------------------------------------------------------------------------

def span(o: Occurrence) -> tuple[date, date]:
    """First day and exclusive end day of the all-day event for an occurrence."""
    w = o.when
    if w is None:
        raise ValueError(f"{o.id!r} is a standing obligation and has no calendar day")
    if o.entry.kind.is_due:
        return w.due, w.due + timedelta(days=1)
    return w.start, w.end + timedelta(days=1)


def _days_shown_say_it_all(o: Occurrence) -> bool:
    """Whether the calendar day(s) alone carry the date as precisely as the text gives it."""
    w = o.when
    if w is None or w.within or w.precision is not Precision.DAY:
        return False
    return not (o.entry.kind.is_due and w.is_range)


def summary(o: Occurrence) -> str:
    """The event title: the entry's, its number in a series, the date when the day alone would
    say more than the text, whether it is estimated, and any state other than open."""
    return _summary(o, o.when_text())


def _summary(o: Occurrence, when: str) -> str:
    text = o.heading()
    if not _days_shown_say_it_all(o):
        text += f" – {when}"
    if o.tentative:
        text += " (estimated)"
    state = o.state.state
    if state is not State.OPEN:
        text += f" [{state.value}]"
    return text


def _status(o: Occurrence) -> str:
    if o.state.state is State.WITHDRAWN:
        return "CANCELLED"
    return "TENTATIVE" if o.tentative else "CONFIRMED"


def _trigger_days(offset: Offset, start: date) -> int:
    """An offset in days before `start`; months and years count as calendar months and years,
    since a DURATION in an alarm cannot hold them."""
    if not (offset.years or offset.months):
        # Days alone move the same on any date: no need for relativedelta, which is most of
        # the cost of an event's alarms.
        return -offset.days if offset.negative else offset.days
    return (start - (start - offset.delta)).days


# --- text ------------------------------------------------------------------------------------

def _terms(keys: Sequence[str], vocab: Mapping[str, Term]) -> str:
    return "; ".join(vocab[k].title if k in vocab else k for k in keys)


def _who(e: Entry, register: Register) -> str:
    """The description's lines on who owes the entry and in which area."""
    return f"Who: {_terms(e.actors, register.actors)}\nArea: {_terms(e.areas, register.areas)}"


def _source_lines(sources: Sequence[Source], register: Register) -> str:
    """The description's lines citing the sources, with their documents."""
    # A reprint of the same text in another file cites the same place: show it once.
    unique = list({(s.doc, s.para, s.quote): s for s in sources}.values())
    lines = ["Source:" if len(unique) == 1 else "Sources:"]
    for s in unique:
        doc = register.documents.get(s.doc)
        lines.append(f"{s.citation()}: “{s.quote}”")
        if doc is not None:
            lines.append(f"  {doc.title}" + (f" <{doc.url}>" if doc.url else ""))
    return "\n".join(lines)


def _description(o: Occurrence, when: str, who: str, source_lines: str) -> str:
    e = o.entry
    if e.kind is Kind.PERIOD:
        when = f"Period {when}, ending on its last day"
    elif e.kind.is_due:
        when = "Due " + when
    else:
        when = "Takes place " + when
    if o.tentative:
        when += " (estimated)"
    lines = [when + "."]
    if o.state.state is not State.OPEN:
        lines.append(f"Status: {o.state.text()}")
    if e.description:
        lines.append(f"What: {e.description}")
    lines.append(who)
    if o.derivation != "as written":
        lines.append(f"Date: {o.derivation}.")
    note = o.note or e.note
    if note:
        lines.append(f"Note: {note}")
    lines += ["", source_lines, "", f"Register id: {o.id}"]
    return "\n".join(lines)


def description(o: Occurrence, register: Register) -> str:
    """What is owed, by whom, when as the text gives it, status, and where the text says so."""
    return _description(o, o.when_text(), _who(o.entry, register),
                        _source_lines(o.sources, register))


def _link(sources: Sequence[Source], register: Register) -> str | None:
    """The URL of the first source whose document has one."""
    for s in sources:
        doc = register.documents.get(s.doc)
        if doc is not None and doc.url:
            return doc.url
    return None


def _offsets(e: Entry, register: Register) -> tuple[Offset, ...]:
    """The reminder offsets in effect for an entry: its own, or the register's."""
    return e.reminders if e.reminders is not None else register.reminders


def _alarm_days(o: Occurrence, offsets: Sequence[Offset], start: date) -> list[int]:
    """How many days before the start each alarm of the event is, earliest first."""
    if not (o.state.state.reminds and not o.tentative):
        return []
    return sorted({_trigger_days(off, start) for off in offsets}, reverse=True)


def _alarm_when(days: int) -> str:
    """The start of an alarm's text, before the summary."""
    return "Today" if days == 0 else f"In {days} day{'s' if days != 1 else ''}"


# --- components ------------------------------------------------------------------------------

def event(o: Occurrence, register: Register, revision: Revision) -> Event:
    """The VEVENT of one dated occurrence, as an icalendar component: the reference that
    `EventWriter` writes faster."""
    start, end = span(o)
    stamp = revision.changed_at
    e = o.entry
    ev = Event()
    ev.add("uid", uid(o.id))
    ev.add("dtstamp", stamp)
    ev.add("last-modified", stamp)
    ev.add("sequence", revision.sequence)
    ev.add("summary", summary(o))
    ev.add("dtstart", start)
    ev.add("dtend", end)
    ev.add("description", description(o, register))
    ev.add("status", _status(o))
    ev.add("transp", "TRANSPARENT")
    ev.add("categories", [*e.areas, e.kind.value])
    if o.location:
        ev.add("location", o.location)
    url = _link(o.sources, register)
    if url:
        ev.add("url", url)
    # Outlook reads these rather than the DATE value type to show a banner that blocks nothing.
    ev.add("x-microsoft-cdo-alldayevent", "TRUE")
    ev.add("x-microsoft-cdo-busystatus", "FREE")
    for days in _alarm_days(o, _offsets(e, register), start):
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", timedelta(days=-days))
        alarm.add("description", f"{_alarm_when(days)}: {summary(o)}")
        ev.add_component(alarm)
    return ev


# --- serialisation ---------------------------------------------------------------------------
#
# Why not `event(...).to_ical()`: icalendar's generic path (a type lookup and a parameters
# object per property, a content-line object per line, a fold that encodes one character at a
# time) costs about half a millisecond per event, and a register of 100,000 entries has some
# 300,000 events. `EventWriter` writes the same content lines directly: the properties `event`
# adds, in the order icalendar writes them (Event.canonical_order, then the others
# alphabetically), each value as its icalendar value type renders it, each line folded as
# icalendar folds it. `event` stays the reference: the tests compare both paths byte for byte
# on the sample, the real register, generated ones and strings chosen to hit every escape and
# fold rule, so an icalendar upgrade that writes differently fails there, not in a feed.

_FOLD_AT = 74  # octets on a line before icalendar folds (it folds rather than reach 75)


def _text(value: str) -> str:
    r"""A TEXT value escaped as icalendar's vText escapes it (RFC 5545 section 3.3.11), with
    its normalisation of a written \N and of CRLF and lone CR to \n. The order of the
    replacements matters: a backslash is doubled before the escapes that add one."""
    return (value.replace("\\N", "\n").replace("\\", "\\\\").replace(";", "\\;")
            .replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
            .replace("\r", "\\n"))


def _fold(line: bytes) -> bytes:
    """A UTF-8 content line folded as icalendar folds it (RFC 5545 section 3.1): each piece
    is the longest run of whole characters that fits in 74 octets, except that a piece does
    not end on a backslash or caret (which would part an escape from what it escapes) unless
    that is its only character; pieces after the first start with a space."""
    if len(line) <= _FOLD_AT:
        return line
    pieces = []
    start = 0
    while len(line) - start > _FOLD_AT:
        cut = start + _FOLD_AT
        while line[cut] & 0xC0 == 0x80:  # a UTF-8 continuation octet: not a character start
            cut -= 1
        if line[cut - 1] in b"\\^" and cut - 1 > start:
            cut -= 1
        pieces.append(line[start:cut])
        start = cut
    pieces.append(line[start:])
    return b"\r\n ".join(pieces)


def _date(d: date) -> str:
    """What vDate writes: the ISO date without its hyphens, the year in four digits."""
    return d.isoformat().replace("-", "")


def _duration(days_before: int) -> str:
    """What vDuration writes for timedelta(days=-days_before): "-P30D", "P0D"."""
    return f"-P{days_before}D" if days_before > 0 else f"P{-days_before}D"


@dataclass(frozen=True)
class _Shared:
    """What the events of all the occurrences of one entry have in common."""

    categories: bytes  # the CATEGORIES line, folded
    who: str
    source_lines: str  # for the entry's own sources
    url: str | None  # of the entry's own sources
    offsets: tuple[Offset, ...]


class EventWriter:
    """Writes the VEVENT block of each dated occurrence of one register: byte for byte
    `event(o, register, revision).to_ical()`, at a small part of its cost (see above).

    What the occurrences of an entry share (categories, who and where, the entry's own sources
    and link, its reminder offsets) is worked out at its first occurrence and kept by entry id
    for the writer's life. Nothing invalidates it, since all of it comes from the register and
    a register does not change: a writer is for the occurrences of the register it was made
    with, and a new register needs a new writer (each publishing run makes one).
    """

    def __init__(self, register: Register) -> None:
        self.register = register
        self._shared: dict[str, _Shared] = {}

    def _of(self, e: Entry) -> _Shared:
        shared = self._shared.get(e.id)
        if shared is None:
            reg = self.register
            cats = ",".join(_text(c) for c in (*e.areas, e.kind.value))
            shared = _Shared(_fold(f"CATEGORIES:{cats}".encode()), _who(e, reg),
                             _source_lines(e.sources, reg), _link(e.sources, reg),
                             _offsets(e, reg))
            self._shared[e.id] = shared
        return shared

    def event_bytes(self, o: Occurrence, revision: Revision) -> bytes:
        """The serialised VEVENT block of one occurrence of the register."""
        shared = self._of(o.entry)
        if o.extra_sources:
            source_lines = _source_lines(o.sources, self.register)
            url = _link(o.sources, self.register)
        else:
            source_lines, url = shared.source_lines, shared.url
        stamp = revision.changed_at
        if stamp.tzinfo is not UTC or (url and "\n" in url):
            # Not the shapes written below: a stamp in another zone takes a TZID parameter,
            # and icalendar refuses a URL with a line break. Its own path says what happens.
            return bytes(event(o, self.register, revision).to_ical())
        start, end = span(o)
        when = o.when_text()
        title = _text(_summary(o, when))
        # What vDatetime writes for a UTC instant: 20250601T090000Z (no fraction of a second).
        utc = stamp.isoformat(timespec="seconds")[:19].replace("-", "").replace(":", "") + "Z"
        fold = _fold
        # Lines whose length is fixed and under the limit are written without folding, some
        # together in one piece; the others go through `fold` one line at a time.
        out = [
            b"BEGIN:VEVENT",
            fold(f"SUMMARY:{title}".encode()),
            f"DTSTART;VALUE=DATE:{_date(start)}\r\nDTEND;VALUE=DATE:{_date(end)}\r\n"
            f"DTSTAMP:{utc}".encode(),
            fold(f"UID:{_text(uid(o.id))}".encode()),
            f"SEQUENCE:{revision.sequence}".encode(),
            shared.categories,
            fold(f"DESCRIPTION:{_text(_description(o, when, shared.who, source_lines))}"
                 .encode()),
            f"LAST-MODIFIED:{utc}".encode(),
        ]
        if o.location:
            out.append(fold(f"LOCATION:{_text(o.location)}".encode()))
        out.append(f"STATUS:{_status(o)}\r\nTRANSP:TRANSPARENT".encode())
        if url:
            out.append(fold(f"URL:{url}".encode()))
        out.append(b"X-MICROSOFT-CDO-ALLDAYEVENT:TRUE\r\nX-MICROSOFT-CDO-BUSYSTATUS:FREE")
        for days in _alarm_days(o, shared.offsets, start):
            # The text before the title ("In 7 days: ") has nothing to escape and ends in a
            # space, which no escape sequence spans: escaped, the whole is it and the
            # escaped title.
            out.append(b"BEGIN:VALARM\r\nACTION:DISPLAY")
            out.append(fold(f"DESCRIPTION:{_alarm_when(days)}: {title}".encode()))
            out.append(f"TRIGGER:{_duration(days)}\r\nEND:VALARM".encode())
        out.append(b"END:VEVENT\r\n")
        return b"\r\n".join(out)


def event_bytes(o: Occurrence, register: Register, revision: Revision) -> bytes:
    """The serialised VEVENT block of one occurrence, CRLF line ends, folded at 75 octets.
    (To write many, keep one `EventWriter`.)"""
    return EventWriter(register).event_bytes(o, revision)


def header(info: FeedInfo) -> Calendar:
    """The calendar's own properties, without components."""
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # RFC 7986 names first, then the X-WR- names that Apple, Google and Outlook read. Without
    # an explicit vText, icalendar writes NAME and X-WR-* unescaped (a comma would split the
    # value, a line break would break the file).
    cal.add("name", vText(info.title))
    cal.add("x-wr-calname", vText(info.title))
    cal.add("description", vText(info.description))
    cal.add("x-wr-caldesc", vText(info.description))
    # icalendar writes REFRESH-INTERVAL without the VALUE=DURATION that RFC 7986 requires,
    # and any other timedelta property as a time of day ("12:00:00"): both are set by hand.
    cal.add("refresh-interval", info.refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(info.refresh))
    return cal


def calendar_chunks(info: FeedInfo, events: Iterable[bytes]) -> Iterator[bytes]:
    """A whole feed from serialised VEVENT blocks, in the order given, in pieces to write one
    after the other (`files.write_chunks_if_changed`): a feed of a large register is hundreds
    of megabytes, and is never whole in memory this way. The events come joined a batch at a
    time: a write per event would be hundreds of thousands of calls."""
    head = bytes(header(info).to_ical())
    if not head.endswith(_END):
        raise AssertionError("icalendar's calendar no longer ends with END:VCALENDAR")
    yield head[: -len(_END)]
    blocks = iter(events)
    while batch := list(islice(blocks, _BATCH)):
        yield b"".join(batch)
    yield _END


def calendar_bytes(info: FeedInfo, events: Iterable[bytes]) -> bytes:
    """A whole feed from serialised VEVENT blocks, in the order given: `calendar_chunks`
    joined."""
    return b"".join(calendar_chunks(info, events))


def calendar(info: FeedInfo, occurrences: Iterable[Occurrence], register: Register,
             revisions: Mapping[str, Revision]) -> bytes:
    """A feed of the dated occurrences given, in their order; standing obligations are left
    out (they have no day). Every occurrence's entry needs a revision."""
    writer = EventWriter(register)
    return calendar_bytes(info, (writer.event_bytes(o, revisions[o.entry.id])
                                 for o in occurrences if o.when is not None))


def library_calendar(info: FeedInfo, occurrences: Iterable[Occurrence], register: Register,
                     revisions: Mapping[str, Revision]) -> bytes:
    """The same feed serialised by icalendar in one piece: the reference `calendar` must
    equal, and the baseline of the benchmark."""
    cal = header(info)
    for o in occurrences:
        if o.when is not None:
            cal.add_component(event(o, register, revisions[o.entry.id]))
    return bytes(cal.to_ical())
