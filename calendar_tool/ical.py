"""Occurrences to RFC 5545 calendars. Pure: occurrences, revisions and feed metadata in, bytes
out; the only module that imports `icalendar`.

Every value that icalendar would otherwise invent is given: the UID is the occurrence id, and
DTSTAMP and LAST-MODIFIED are the entry's last change (`model.Revision`), so the same input
always gives the same bytes. Each event is serialised once (`event_bytes`) and feeds are
assembled from those blocks (`calendar_bytes`): byte for byte what icalendar's
`Calendar.to_ical()` gives for the same components (a test checks it), without serialising an
event again for every area and actor feed it appears in.

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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from icalendar import Alarm, Calendar, Event
from icalendar.prop import vDuration, vText

from calendar_tool.model import Kind, Occurrence, Offset, Precision, Register, Revision, State, Term

PRODID = "-//calendar-tool//calendar-tool//EN"
UID_DOMAIN = "calendar-tool"
# Register changes are rare and dates are months apart: twice a day is prompt enough for a
# correction to reach subscribers without clients polling for nothing.
DEFAULT_REFRESH = timedelta(hours=12)

_END = b"END:VCALENDAR\r\n"


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
    text = o.heading()
    if not _days_shown_say_it_all(o):
        text += f" – {o.when_text()}"
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
    return (start - (start - offset.delta)).days


# --- text ------------------------------------------------------------------------------------

def _terms(keys: Sequence[str], vocab: Mapping[str, Term]) -> str:
    return "; ".join(vocab[k].title if k in vocab else k for k in keys)


def description(o: Occurrence, register: Register) -> str:
    """What is owed, by whom, when as the text gives it, status, and where the text says so."""
    e = o.entry
    when = o.when_text()
    if e.kind.is_due and e.kind is not Kind.PERIOD:
        when = "Due " + when
    elif e.kind is Kind.PERIOD:
        when = f"Period {when}, ending on its last day"
    else:
        when = "Takes place " + when
    if o.tentative:
        when += " (estimated)"
    lines = [when + "."]
    if o.state.state is not State.OPEN:
        lines.append(f"Status: {o.state.text()}")
    if e.description:
        lines.append(f"What: {e.description}")
    lines.append(f"Who: {_terms(e.actors, register.actors)}")
    lines.append(f"Area: {_terms(e.areas, register.areas)}")
    if o.derivation != "as written":
        lines.append(f"Date: {o.derivation}.")
    note = o.note or e.note
    if note:
        lines.append(f"Note: {note}")
    # A reprint of the same text in another file cites the same place: show it once.
    sources = list({(s.doc, s.para, s.quote): s for s in o.sources}.values())
    lines.append("")
    lines.append("Source:" if len(sources) == 1 else "Sources:")
    for s in sources:
        doc = register.documents.get(s.doc)
        lines.append(f"{s.citation()}: “{s.quote}”")
        if doc is not None:
            lines.append(f"  {doc.title}" + (f" <{doc.url}>" if doc.url else ""))
    lines.append("")
    lines.append(f"Register id: {o.id}")
    return "\n".join(lines)


def _url(o: Occurrence, register: Register) -> str | None:
    for s in o.sources:
        doc = register.documents.get(s.doc)
        if doc is not None and doc.url:
            return doc.url
    return None


# --- components ------------------------------------------------------------------------------

def event(o: Occurrence, register: Register, revision: Revision) -> Event:
    """The VEVENT of one dated occurrence."""
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
    url = _url(o, register)
    if url:
        ev.add("url", url)
    # Outlook reads these rather than the DATE value type to show a banner that blocks nothing.
    ev.add("x-microsoft-cdo-alldayevent", "TRUE")
    ev.add("x-microsoft-cdo-busystatus", "FREE")
    if o.state.state.reminds and not o.tentative:
        offsets = e.reminders if e.reminders is not None else register.reminders
        title = summary(o)
        for days in sorted({_trigger_days(off, start) for off in offsets}, reverse=True):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("trigger", timedelta(days=-days))
            when = "Today" if days == 0 else f"In {days} day{'s' if days != 1 else ''}"
            alarm.add("description", f"{when}: {title}")
            ev.add_component(alarm)
    return ev


def event_bytes(o: Occurrence, register: Register, revision: Revision) -> bytes:
    """The serialised VEVENT block of one occurrence, CRLF line ends, folded at 75 octets."""
    return bytes(event(o, register, revision).to_ical())


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


def calendar_bytes(info: FeedInfo, events: Iterable[bytes]) -> bytes:
    """A whole feed from serialised VEVENT blocks, in the order given."""
    head = bytes(header(info).to_ical())
    if not head.endswith(_END):
        raise AssertionError("icalendar's calendar no longer ends with END:VCALENDAR")
    return head[: -len(_END)] + b"".join(events) + _END


def calendar(info: FeedInfo, occurrences: Iterable[Occurrence], register: Register,
             revisions: Mapping[str, Revision]) -> bytes:
    """A feed of the dated occurrences given, in their order; standing obligations are left
    out (they have no day). Every occurrence's entry needs a revision."""
    return calendar_bytes(info, (event_bytes(o, register, revisions[o.entry.id])
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
