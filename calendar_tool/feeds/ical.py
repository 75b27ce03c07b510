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
  day nobody decided;
- with a public URL (`link_base`), URL is the entry's page (`<public URL>/obligations/<id>`)
  and the description ends with it, so that a subscriber gets from the event to the page
  with every quote; without one, URL is the first source's document, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from icalendar import Alarm, Calendar, Event
from icalendar import __version__ as _icalendar_version
from icalendar.prop import vDuration, vText

from calendar_tool import wording
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
)

PRODID = "-//calendar-tool//calendar-tool//EN"
# What writes the events icalendar writes (see `EventWriter.event_bytes`): events kept
# between processes are stamped with it (`kept.EventFile`).
SERIALISER = f"icalendar {_icalendar_version}"
UID_DOMAIN = "calendar-tool"
# Register changes are rare and dates are months apart: twice a day is prompt enough for a
# correction to reach subscribers without clients polling for nothing.
DEFAULT_REFRESH = timedelta(hours=12)

_END = b"END:VCALENDAR\r\n"
# Bytes per piece of `calendar_chunks`: a few hundred events.
_PIECE = 256 * 1024


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


# Members of the model's enumerations, which are looked up several times an event: as a
# module's names at a small part of the cost of an enumeration's attributes.
_OPEN = State.OPEN
_WITHDRAWN = State.WITHDRAWN
_DAY_PRECISION = Precision.DAY


# --- dates -----------------------------------------------------------------------------------

def span(o: Occurrence) -> tuple[date, date]:
    """First day and exclusive end day of the all-day event for an occurrence: a deadline on
    its due day, an event over its days, and an event whose days no text gives on the first
    day of its period (`wording.unplaced`: a marker, not a banner over a month or a year)."""
    first, last = days(o)
    return first, last + _DAY


def days(o: Occurrence) -> tuple[date, date]:
    """The first and last day of the all-day event for an occurrence (see `span`)."""
    w = o.when
    if w is None:
        raise _standing(o)
    if o.entry.kind.is_due:
        return w.due, w.due
    if wording.unplaced(o):
        return w.start, w.start
    return w.start, w.end


def _standing(o: Occurrence) -> ValueError:
    return ValueError(f"{o.id!r} is a standing obligation and has no calendar day")


def summary(o: Occurrence) -> str:
    """The event title (`wording.event_summary`)."""
    return wording.event_summary(o)


def _status(o: Occurrence) -> str:
    return _status_of(o.state.state is State.WITHDRAWN, o.tentative)


def _status_of(withdrawn: bool, tentative: bool) -> str:
    if withdrawn:
        return "CANCELLED"
    return "TENTATIVE" if tentative else "CONFIRMED"


def _trigger_days(offset: Offset, start: date) -> int:
    """An offset in days before `start`; months and years count as calendar months and years,
    since a DURATION in an alarm cannot hold them."""
    if not (offset.years or offset.months):
        # Days alone move the same on any date: no need for relativedelta, which is most of
        # the cost of an event's alarms.
        return -offset.days if offset.negative else offset.days
    return (start - (start - offset.delta)).days


# --- text ------------------------------------------------------------------------------------

def description(o: Occurrence, register: Register, link: str | None = None) -> str:
    """What is owed, by whom, when as the text gives it, status, and where the text says so;
    the entry's page last when there is one (`wording.description`)."""
    return wording.description(o, register, link)


def _link(sources: Sequence[Source], register: Register) -> str | None:
    """The URL of the first source whose document has one."""
    for s in sources:
        doc = register.documents.get(s.doc)
        if doc is not None and doc.url:
            return doc.url
    return None


def _alarm_days(o: Occurrence, offsets: Sequence[Offset], start: date) -> list[int]:
    """How many days before the start each alarm of the event is, earliest first."""
    if not (o.state.state.reminds and not o.tentative):
        return []
    return _days_before(offsets, start)


def _days_before(offsets: Sequence[Offset], start: date) -> list[int]:
    """How many days before `start` each offset is, each once, earliest first."""
    return sorted({_trigger_days(off, start) for off in offsets}, reverse=True)


# --- components ------------------------------------------------------------------------------

def event(o: Occurrence, register: Register, revision: Revision,
          link_base: str | None = None) -> Event:
    """The VEVENT of one dated occurrence, as an icalendar component: the reference that
    `EventWriter` writes faster. With `link_base` (the public URL), the event leads back to
    its entry's page: URL is that page, and the description ends with it; without, URL is
    the first source's document."""
    start, end = span(o)
    page = wording.page_link(link_base, o.id) if link_base is not None else None
    stamp = revision.changed_at
    e = o.entry
    ev = Event()
    ev.add("uid", uid(o.id))
    ev.add("dtstamp", stamp)
    ev.add("last-modified", stamp)
    ev.add("sequence", revision.sequence)
    ev.add("summary", _Text(summary(o)))
    ev.add("dtstart", start)
    ev.add("dtend", end)
    ev.add("description", _Text(description(o, register, page)))
    ev.add("status", _status(o))
    ev.add("transp", "TRANSPARENT")
    ev.add("categories", [*e.areas, e.kind.value])
    if o.location:
        ev.add("location", _Text(o.location))
    url = page or _link(o.sources, register)
    if url:
        ev.add("url", url)
    # Outlook reads these rather than the DATE value type to show a banner that blocks nothing.
    ev.add("x-microsoft-cdo-alldayevent", "TRUE")
    ev.add("x-microsoft-cdo-busystatus", "FREE")
    for days in _alarm_days(o, register.reminders_for(e), start):
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", timedelta(days=-days))
        alarm.add("description", _Text(f"{wording.alarm_lead(days)}: {summary(o)}"))
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
    r"""A TEXT value escaped as RFC 5545 section 3.3.11 says, and as icalendar's vText
    escapes it but for a written \N: vText reads one as a line break, so "C:\Notes" read
    back as "C:", a line break and "otes" in every calendar; here its backslash is doubled
    as any other (`_Text`, the reference path's). CRLF and a lone CR are \n, as in vText.
    The order of the replacements matters: a backslash is doubled before the escapes that
    add one.

    Parts escaped one by one give the value escaped whole when each part but the last ends
    with LF or is followed by one that starts with none of N, LF and backslash (only CRLF is
    two characters long, and no replacement makes a CR: `EventWriter` relies on it).
    """
    if "\\" in value or "\r" in value:
        return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
                .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))
    # Without a backslash or a CR the other four find nothing: most values take this way.
    return value.replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


class _Text(vText):
    """A TEXT property of the reference path (`event`, `header`) escaped by `_text`: vText
    would read a written \\N as a line break."""

    def to_ical(self) -> bytes:
        return _text(str(self)).encode("utf-8")  # vText's own encoding, which feeds keep


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


_DAY = timedelta(days=1)
# What `uid` adds to the occurrence id, escaped: it starts with @, so it follows the id escaped
# apart as it is (see `_text`).
_UID_END = _text(f"@{UID_DOMAIN}").encode()
_VALARM = b"BEGIN:VALARM\r\nACTION:DISPLAY"
_REMINDS = {s: s.reminds for s in State}  # `State.reminds`, for the same reason as `_OPEN`
_STATUS_LINES = {  # by (withdrawn, tentative)
    (w, t): f"STATUS:{_status_of(w, t)}\r\nTRANSP:TRANSPARENT".encode()
    for w in (False, True) for t in (False, True)
}


class _Shared(NamedTuple):
    """What the events of all the occurrences of one entry have in common. (A tuple: one is
    made for each entry, which costs a frozen dataclass several times as much.)"""

    categories: bytes  # the CATEGORIES line, folded
    text: wording.EntryText  # the shared parts of the description, for the entry's sources
    escaped: dict[int, bytes]  # those parts escaped, by the identity of the part
    url: str | None  # of the entry's own sources
    url_line: bytes | None  # its URL line, folded
    offsets: tuple[Offset, ...]
    # The description and trigger lines of each alarm when the offsets are whole days (so
    # they are the same for any start), else None.
    alarms: tuple[tuple[bytes, bytes], ...] | None


def _escaped(text: wording.EntryText) -> dict[int, bytes]:
    """The shared parts of an entry's descriptions escaped, by the identity of each part (a
    part is always the very string `wording.entry_text` made)."""
    return {id(part): _text(part).encode() for part in text}


class EventWriter:
    """Writes the VEVENT block of each dated occurrence of one register: byte for byte
    `event(o, register, revision).to_ical()`, at a small part of its cost (see above).

    What the occurrences of an entry share (categories, who and where, the entry's own sources
    and link, its reminder offsets) is worked out at its first occurrence and kept by entry id
    for the writer's life. Nothing invalidates it, since all of it comes from the register and
    a register does not change: a writer is for the occurrences of the register it was made
    with, and a new register needs a new writer (each publishing run makes one). What many
    entries or events have in common (the lines of the same categories, actors and areas or
    reminder offsets, of a revision's instant, of a day) is kept as written, too.
    """

    def __init__(self, register: Register, link_base: str | None = None) -> None:
        self.register = register
        # The public URL: each event then links to its entry's page (see `event`).
        self.link_base = link_base
        self._shared: dict[str, _Shared] = {}
        self._categories: dict[tuple[tuple[str, ...], Kind], bytes] = {}
        # By the identity of the offsets, which the register holds: the register's own are
        # most entries', and hashing offsets costs more than working out their alarms.
        self._alarm_sets: dict[int, tuple[tuple[Offset, ...],
                                          tuple[tuple[bytes, bytes], ...] | None]] = {}
        self._alarms: dict[int, tuple[bytes, bytes]] = {}
        self._stamps: dict[datetime, tuple[bytes, bytes]] = {}
        self._starts: dict[date, bytes] = {}
        self._ends: dict[date, bytes] = {}  # by the last day

    def forget(self, entry_id: str) -> None:
        """Drop what the events of entry `entry_id` share, once they are all written: kept,
        it is about 1.3 KB an entry (130 MB at 100,000 entries) for the writer's life."""
        self._shared.pop(entry_id, None)

    def _of(self, e: Entry) -> _Shared:
        shared = self._shared.get(e.id)
        if shared is None:
            shared = self._shared[e.id] = self._share(e)
        return shared

    def _share(self, e: Entry) -> _Shared:
        reg = self.register
        categories = self._categories.get((e.areas, e.kind))
        if categories is None:
            cats = ",".join(_text(c) for c in (*e.areas, e.kind.value))
            categories = self._categories[e.areas, e.kind] = _fold(f"CATEGORIES:{cats}".encode())
        offsets = reg.reminders_for(e)
        known = self._alarm_sets.get(id(offsets))
        if known is None or known[0] is not offsets:
            alarms = None
            if not any(off.years or off.months for off in offsets):
                # Days alone move the same on any date: the day given is never looked at.
                alarms = tuple(self._alarm(days) for days in _days_before(offsets, date.min))
            known = self._alarm_sets[id(offsets)] = (offsets, alarms)
        url = _link(e.sources, reg)
        text = wording.entry_text(e, reg)
        return _Shared(categories, text, _escaped(text), url,
                       _fold(f"URL:{url}".encode()) if url else None, offsets, known[1])

    def _alarm(self, days: int) -> tuple[bytes, bytes]:
        """An alarm's DESCRIPTION line up to the title, and its TRIGGER and END lines. That
        start ("In 7 days: ") has nothing to escape and ends in a space, which no escape
        sequence spans: the escaped title follows it as it is."""
        lines = self._alarms.get(days)
        if lines is None:
            lines = self._alarms[days] = (
                f"DESCRIPTION:{wording.alarm_lead(days)}: ".encode(),
                f"TRIGGER:{_duration(days)}\r\nEND:VALARM".encode())
        return lines

    def _stamp(self, stamp: datetime) -> tuple[bytes, bytes]:
        """The DTSTAMP and LAST-MODIFIED lines of a UTC instant."""
        # What vDatetime writes: 20250601T090000Z (no fraction of a second).
        utc = stamp.isoformat(timespec="seconds")[:19].replace("-", "").replace(":", "") + "Z"
        lines = self._stamps[stamp] = (f"DTSTAMP:{utc}".encode(),
                                       f"LAST-MODIFIED:{utc}".encode())
        return lines

    def _start(self, day: date) -> bytes:
        line = self._starts[day] = f"DTSTART;VALUE=DATE:{_date(day)}".encode()
        return line

    def _end(self, last: date) -> bytes:
        line = self._ends[last] = f"DTEND;VALUE=DATE:{_date(last + _DAY)}".encode()
        return line

    def event_bytes(self, o: Occurrence, revision: Revision) -> bytes:
        """The serialised VEVENT block of one occurrence of the register."""
        e = o.entry
        shared = self._of(e)
        url, url_line, text, escaped = self._sources(o, shared)
        page = None
        if self.link_base is not None:
            url = page = wording.page_link(self.link_base, o.id)
            url_line = _fold(f"URL:{url}".encode())
        stamp = revision.changed_at
        if stamp.tzinfo is not UTC or (url and "\n" in url):
            # Not the shapes written below: a stamp in another zone takes a TZID parameter,
            # and icalendar refuses a URL with a line break. Its own path says what happens.
            return bytes(event(o, self.register, revision, self.link_base).to_ical())
        start, last = days(o)
        state = (o.status or e.status).state
        when = wording.when(o)
        title = _text(wording.event_summary(o, when)).encode()
        oid = _text(o.id).encode()
        # The description escaped in its parts is the description escaped whole: each part
        # but the last ends with a line break or a space (see `_text`). The parts an entry's
        # events share come escaped already.
        description = b"DESCRIPTION:" + b"".join(
            escaped.get(id(part)) or _text(part).encode()
            for part in wording.description_parts(o, text, when, page))
        dtstamp, modified = self._stamps.get(stamp) or self._stamp(stamp)
        # Lines whose length is fixed and under the limit are written without folding; the
        # others go through `_fold` one line at a time.
        out = [
            b"BEGIN:VEVENT",
            _fold(b"SUMMARY:" + title),
            self._starts.get(start) or self._start(start),
            self._ends.get(last) or self._end(last),
            dtstamp,
            _fold(b"UID:" + oid + _UID_END),
            f"SEQUENCE:{revision.sequence}".encode(),
            shared.categories,
            _fold(description),
            modified,
        ]
        if o.location:
            out.append(_fold(f"LOCATION:{_text(o.location)}".encode()))
        out.append(_STATUS_LINES[state is _WITHDRAWN, o.tentative])
        if url_line:
            out.append(url_line)
        out.append(b"X-MICROSOFT-CDO-ALLDAYEVENT:TRUE\r\nX-MICROSOFT-CDO-BUSYSTATUS:FREE")
        if _REMINDS[state] and not o.tentative:
            alarms = shared.alarms
            if alarms is None:
                alarms = tuple(map(self._alarm, _days_before(shared.offsets, start)))
            for before_title, trigger in alarms:
                out += (_VALARM, _fold(before_title + title), trigger)
        out.append(b"END:VEVENT\r\n")
        return b"\r\n".join(out)

    def _sources(self, o: Occurrence, shared: _Shared
                 ) -> tuple[str | None, bytes | None, wording.EntryText, dict[int, bytes]]:
        """The link, its URL line and the sources' parts of the description of an occurrence:
        the entry's, unless a known occurrence of a series cites sources of its own."""
        if not o.extra_sources:
            return shared.url, shared.url_line, shared.text, shared.escaped
        url = _link(o.sources, self.register)
        text = wording.entry_text(o.entry, self.register, o.sources)
        return url, _fold(f"URL:{url}".encode()) if url else None, text, _escaped(text)


def event_bytes(o: Occurrence, register: Register, revision: Revision,
                link_base: str | None = None) -> bytes:
    """The serialised VEVENT block of one occurrence, CRLF line ends, folded at 75 octets.
    (To write many, keep one `EventWriter`.)"""
    return EventWriter(register, link_base).event_bytes(o, revision)


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
    cal.add("name", _Text(info.title))
    cal.add("x-wr-calname", _Text(info.title))
    cal.add("description", _Text(info.description))
    cal.add("x-wr-caldesc", _Text(info.description))
    # icalendar writes REFRESH-INTERVAL without the VALUE=DURATION that RFC 7986 requires,
    # and any other timedelta property as a time of day ("12:00:00"): both are set by hand.
    cal.add("refresh-interval", info.refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(info.refresh))
    return cal


def calendar_chunks(info: FeedInfo, events: Iterable[bytes]) -> Iterator[bytes]:
    """A whole feed from serialised VEVENT blocks, in the order given (or runs of them, as
    read back from a file), in pieces to write one after the other
    (`files.write_chunks_if_changed`): a feed of a large register is hundreds of megabytes,
    and is never whole in memory this way. The events come joined some hundred kilobytes at
    a time: a write per event would be hundreds of thousands of calls."""
    head = bytes(header(info).to_ical())
    if not head.endswith(_END):
        raise AssertionError("icalendar's calendar no longer ends with END:VCALENDAR")
    yield head[: -len(_END)]
    batch: list[bytes] = []
    size = 0
    for block in events:
        batch.append(block)
        size += len(block)
        if size >= _PIECE:
            yield batch[0] if len(batch) == 1 else b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)
    yield _END


def calendar_bytes(info: FeedInfo, events: Iterable[bytes]) -> bytes:
    """A whole feed from serialised VEVENT blocks, in the order given: `calendar_chunks`
    joined."""
    return b"".join(calendar_chunks(info, events))


def calendar(info: FeedInfo, occurrences: Iterable[Occurrence], register: Register,
             revisions: Mapping[str, Revision], link_base: str | None = None) -> bytes:
    """A feed of the dated occurrences given, in their order; standing obligations are left
    out (they have no day). Every occurrence's entry needs a revision."""
    return b"".join(calendar_pieces(info, occurrences, register, revisions, link_base))


def calendar_pieces(info: FeedInfo, occurrences: Iterable[Occurrence], register: Register,
                    revisions: Mapping[str, Revision], link_base: str | None = None
                    ) -> Iterator[bytes]:
    """`calendar`, a piece at a time (`calendar_chunks`)."""
    writer = EventWriter(register, link_base)
    return calendar_chunks(info, (writer.event_bytes(o, revisions[o.entry.id])
                                  for o in occurrences if o.when is not None))


def message_calendar(occurrences: Iterable[Occurrence], register: Register,
                     revisions: Mapping[str, Revision], link_base: str | None = None) -> bytes:
    """A calendar sent with a message (an e-mail's `text/calendar; method=PUBLISH` part): the
    dated occurrences' events byte for byte as the feeds write them, with the same UID and
    SEQUENCE, so that an event added from the message and the same event in a subscribed feed
    are one, which the feed's later versions update (`link_base`: as the feeds were
    written with). Each occurrence once, in the order given; no feed name or refresh
    interval, since nobody subscribes to it."""
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    head = bytes(cal.to_ical())
    if not head.endswith(_END):
        raise AssertionError("icalendar's calendar no longer ends with END:VCALENDAR")
    writer = EventWriter(register, link_base)
    seen: set[str] = set()
    events = []
    for o in occurrences:
        if o.when is not None and o.id not in seen:
            seen.add(o.id)
            events.append(writer.event_bytes(o, revisions[o.entry.id]))
    return head[: -len(_END)] + b"".join(events) + _END


def library_calendar(info: FeedInfo, occurrences: Iterable[Occurrence], register: Register,
                     revisions: Mapping[str, Revision], link_base: str | None = None) -> bytes:
    """The same feed serialised by icalendar in one piece: the reference `calendar` must
    equal, and the baseline of the benchmark."""
    cal = header(info)
    for o in occurrences:
        if o.when is not None:
            cal.add_component(event(o, register, revisions[o.entry.id], link_base))
    return bytes(cal.to_ical())
