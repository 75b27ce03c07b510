"""How the register reads to a person: a date with its precision, a status, a citation, an
occurrence's heading, a feed event's title and description, a reminder's lead. Pure: plain
values in, text out. The one place that phrases what `list`, `show`, the feeds, the
messages and the pages say, so that a change of wording is made here once.

A feed event's text changes when this module does: every entry's content hash takes
`STAMP`, a digest of this file, so the first publish after a change of wording moves every
SEQUENCE and LAST-MODIFIED once and subscribed calendars take the new text.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from calendar_tool.model import (
    DatedValue,
    Entry,
    Kind,
    Occurrence,
    Offset,
    Precision,
    Register,
    Relative,
    Reminder,
    Source,
    State,
    Status,
    Term,
)

MONTHS = tuple(calendar.month_name)

AS_WRITTEN = "as written"
"""The derivation of a date the register gives as it is."""


@cache
def stamp() -> str:
    """A digest of this module's text: what feed events say changes only with it."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


# --- dates ------------------------------------------------------------------------------------

def day(d: date) -> str:
    """"8 May 2001"."""
    return f"{d.day} {MONTHS[d.month]} {d.year}"


def date_text(w: DatedValue) -> str:
    """A dated value as a person writes it: "2005", "May 2001", "10–17 April 2000"."""
    s, e = w.start, w.end
    if w.within:
        return f"between {day(s)} and {day(e)}"
    if w.precision is Precision.YEAR:
        return f"{s.year}–{e.year}" if w.is_range else str(s.year)
    if w.precision is Precision.MONTH:
        if not w.is_range:
            return f"{MONTHS[s.month]} {s.year}"
        if s.year == e.year:
            return f"{MONTHS[s.month]}–{MONTHS[e.month]} {s.year}"
        return f"{MONTHS[s.month]} {s.year}–{MONTHS[e.month]} {e.year}"
    if not w.is_range or s == e:
        return day(s)
    if (s.year, s.month) == (e.year, e.month):
        return f"{s.day}–{e.day} {MONTHS[s.month]} {s.year}"
    if s.year == e.year:
        return f"{s.day} {MONTHS[s.month]}–{e.day} {MONTHS[e.month]} {s.year}"
    return f"{day(s)}–{day(e)}"


def when(o: Occurrence) -> str:
    """The occurrence's date as the text gives it, with "by" for what falls due."""
    if o.when is None:
        return "standing"
    text = date_text(o.when)
    if o.entry.kind.is_due and o.entry.kind is not Kind.PERIOD:
        if o.when.within:
            return f"by a day {text}"
        if o.when.precision is Precision.DAY and not o.when.is_range:
            return f"by {text}"
        return f"by end of {text}"
    return text


def offset_phrase(offset: Offset) -> str:
    """"6 weeks before", "1 year after", "at"."""
    if offset.is_zero:
        return "at"
    parts = []
    for amount, unit in ((offset.years, "year"), (offset.months, "month")):
        if amount:
            parts.append(f"{amount} {unit}{'s' if amount != 1 else ''}")
    if offset.days:
        weeks, days = divmod(offset.days, 7)
        if weeks and not days:
            parts.append(f"{weeks} week{'s' if weeks != 1 else ''}")
        else:
            parts.append(f"{offset.days} day{'s' if offset.days != 1 else ''}")
    return " ".join(parts) + (" before" if offset.negative else " after")


def relative(rel: Relative) -> str:
    """A relative date as `show` gives it: "-P6W from the start of X"."""
    side = "end" if rel.anchor_end else "start"
    if rel.offset.is_zero:
        return f"at the {side} of {rel.ref}"
    return f"{rel.offset} from the {side} of {rel.ref}"


def estimated_from(rule: str) -> str:
    """The derivation of an occurrence the series' rule estimates."""
    return f"estimated from the rule {rule}"


def counted_from(rel: Relative, anchor: DatedValue, tentative: bool, anchor_how: str) -> str:
    """The derivation of a relative date: "6 weeks before the start of X (10–17 April
    2000)", with how the anchor's own date was found when it was not as written."""
    side = "end" if rel.anchor_end else "start"
    how = f"{offset_phrase(rel.offset)} the {side} of {rel.ref} ({date_text(anchor)}"
    how += ", tentative)" if tentative else ")"
    if anchor_how != AS_WRITTEN:
        how += f"; {rel.ref}: {anchor_how}"
    return how


STANDING = "standing: no date"
"""The derivation of a standing obligation, which has no date."""


# --- an entry ---------------------------------------------------------------------------------

def heading(o: Occurrence) -> str:
    """The entry's title, with the occurrence number in a series."""
    title = o.entry.title
    return title if o.number is None else f"{title} (no. {o.number})"


def status(s: Status) -> str:
    """"met since 2006-01-01: a note", as listings and feeds show it."""
    out = s.state.value
    if s.date:
        out += f" since {s.date.isoformat()}"
    return f"{out}: {s.note}" if s.note else out


def citation(s: Source) -> str:
    """`A/RES/55/59 para. 27` as a citation reads ("annex, 25" and "preamble" as given)."""
    para = s.para
    label = para if para[:1].isalpha() and not para[:2].isupper() else f"para. {para}"
    return f"{s.doc} {label}"


def unique_sources(sources: Iterable[Source]) -> list[Source]:
    """Each source once: a reprint of the same text in another file cites the same place with
    the same quote, and is shown once."""
    return list({(s.doc, s.para, s.quote): s for s in sources}.values())


def citations(sources: Sequence[Source], most: int = 2) -> str:
    """The first few distinct citations, and how many more there are."""
    cites = list(dict.fromkeys(citation(s) for s in unique_sources(sources)))
    more = f" (+{len(cites) - most})" if len(cites) > most else ""
    return "; ".join(cites[:most]) + more


def term(vocab: Mapping[str, Term], key: str) -> str:
    """A declared area's or actor's title (its key when it is not declared)."""
    found = vocab.get(key)
    return found.title if found else key


def terms(keys: Iterable[str], vocab: Mapping[str, Term], sep: str = "; ") -> str:
    return sep.join(term(vocab, k) for k in keys)


def listed_date(o: Occurrence) -> str:
    """The date column of `list` and the page: the date as the text gives it, and whether it
    is estimated."""
    return when(o) + (" (estimated)" if o.tentative else "")


def listed_title(o: Occurrence) -> str:
    """The title column of `list` and the page: the heading and any state but open."""
    state = o.state.state
    return heading(o) + (f" [{state.value}]" if state is not State.OPEN else "")


# --- feed events ------------------------------------------------------------------------------

def _days_say_it_all(w: DatedValue | None, is_due: bool) -> bool:
    """Whether the calendar day(s) alone carry the date as precisely as the text gives it."""
    if w is None or w.within or w.precision is not Precision.DAY:
        return False
    return not (is_due and w.is_range)


# A year as a word of a title ("by 2005", "1992-1997"), not inside a symbol (E/CN.15/2001/4).
_YEAR_WORD = re.compile(r"(?<![\w/.])(\d{4})(?![\w/])")


def _title_says_it(title: str, w: DatedValue | None) -> bool:
    """Whether the title already gives the date as precisely as the text does: each of its
    years as a word ("… by 2005", "the biennium 2002-2003") for a date known to the year,
    the month and year ("May 2001") for one known to the month."""
    if w is None or w.within or w.precision is Precision.DAY:
        return False
    first, last = w.start, w.end
    if w.precision is Precision.MONTH:
        return all(f"{MONTHS[d.month]} {d.year}" in title for d in (first, last))
    if str(last.year) not in title:  # most titles name no year: no pattern to run
        return False
    return {str(first.year), str(last.year)} <= set(_YEAR_WORD.findall(title))


def event_summary(o: Occurrence, when_text: str | None = None) -> str:
    """A feed event's title: the heading, the date when the day alone would say more than the
    text (unless the title gives it already: never "… by 2005 – by end of 2005"), whether it
    is estimated, and any state other than open. (`when_text`: `when(o)`, when the caller has
    it already.)"""
    text = heading(o)
    if not _days_say_it_all(o.when, o.entry.kind.is_due) and not _title_says_it(text, o.when):
        text += f" – {when(o) if when_text is None else when_text}"
    if o.tentative:
        text += " (estimated)"
    state = o.state.state
    if state is not State.OPEN:
        text += f" [{state.value}]"
    return text


class EntryText(NamedTuple):
    """What the descriptions of all the occurrences of one entry share."""

    what_who: str  # what is owed (when the entry says more than its title), who, which area
    closing: str  # the sources, and the start of the last line: the id follows


def entry_text(e: Entry, register: Register, sources: Sequence[Source] | None = None
               ) -> EntryText:
    """The shared parts of an entry's descriptions (`sources`: the occurrence's, when they
    differ from the entry's own)."""
    what = f"What: {e.description}\n" if e.description else ""
    who = (f"Who: {terms(e.actors, register.actors)}\n"
           f"Area: {terms(e.areas, register.areas)}\n")
    return EntryText(what + who,
                     f"\n{_source_lines(e.sources if sources is None else sources, register)}"
                     "\n\nRegister id: ")


def _source_lines(sources: Sequence[Source], register: Register) -> str:
    """The description's lines citing the sources, with their documents."""
    unique = unique_sources(sources)
    lines = ["Source:" if len(unique) == 1 else "Sources:"]
    for s in unique:
        doc = register.documents.get(s.doc)
        lines.append(f"{citation(s)}: “{s.quote}”")
        if doc is not None:
            lines.append(f"  {doc.title}" + (f" <{doc.url}>" if doc.url else ""))
    return "\n".join(lines)


def page_link(base: str, occurrence_id: str) -> str:
    """The address of an entry's (or a series occurrence's) page under `base`, the public
    URL: `https://calendar.example.org/obligations/congresses%2310`."""
    return f"{base}/obligations/{quote(occurrence_id, safe='')}"


def description_parts(o: Occurrence, shared: EntryText, when_text: str | None = None,
                      link: str | None = None) -> tuple[str, str, str, str, str]:
    """A feed event's description in its parts, in order: when (and the state, if not open);
    what, who and where; how the date was found and any note; the sources; the id, and the
    address of the entry's page when there is one (`link`), last. Each part but the last ends
    with a line break or a space (the feed escapes them one by one)."""
    e = o.entry
    if e.kind is Kind.PERIOD:
        before, after = "Period ", ", ending on its last day"
    else:
        before, after = ("Due " if e.kind.is_due else "Takes place "), ""
    text = when(o) if when_text is None else when_text
    opening = f"{before}{text}{after}{' (estimated)' if o.tentative else ''}.\n"
    state = o.state
    if state.state is not State.OPEN:
        opening += f"Status: {status(state)}\n"
    notes = "" if o.derivation == AS_WRITTEN else f"Date: {o.derivation}.\n"
    note = o.note or e.note
    if note:
        notes += f"Note: {note}\n"
    last = o.id if link is None else f"{o.id}\nEntry page: {link}"
    return opening, shared.what_who, notes, shared.closing, last


def description(o: Occurrence, register: Register, link: str | None = None) -> str:
    """A feed event's description whole: what is owed, by whom, when as the text gives it,
    status, and where the text says so; the entry's page last, when there is one (`link`)."""
    return "".join(description_parts(o, entry_text(o.entry, register, o.sources), None, link))


def alarm_lead(days: int) -> str:
    """What an alarm says before the event's title: "Today", "In 7 days"."""
    return "Today" if days == 0 else f"In {days} day{'s' if days != 1 else ''}"


# --- feeds ------------------------------------------------------------------------------------

FEED_EXPLAINED = (
    "Deadlines sit on their due day, the last day of the period the text gives (\"by 2005\" "
    "is due on 31 December 2005); events span their days. Estimated dates of recurring "
    "sessions are tentative; withdrawn commitments are cancelled. Each event cites its source "
    "text."
)


def feed_all(register: Register) -> tuple[str, str]:
    """The title and description of the feed of everything."""
    what = register.description or register.title
    return register.title, f"{what}\n\n{FEED_EXPLAINED}"


def feed_area(register: Register, area: Term) -> tuple[str, str]:
    return (f"{area.title} – {register.title}",
            f"Commitments in the area {area.title} of: {register.title}.\n\n{FEED_EXPLAINED}")


def feed_actor(register: Register, actor: Term) -> tuple[str, str]:
    return (f"{actor.title} – {register.title}",
            f"Commitments owed by {actor.title} under: {register.title}.\n\n{FEED_EXPLAINED}")


KIND_PLURALS = {Kind.DEADLINE: "deadlines", Kind.TARGET: "targets", Kind.REPORT: "reports",
                Kind.PERIOD: "periods", Kind.EVENT: "events", Kind.SESSION: "sessions",
                Kind.STANDING: "standing obligations"}


def selection(register: Register, areas: Collection[str] = (), actors: Collection[str] = (),
              kinds: Collection[Kind] = (), states: Collection[State] = ()) -> str:
    """A selection of the register in words, by titles and in the order the register
    declares them: "Trafficking in persons; Member States; deadlines, targets"; "" for
    everything."""
    parts = [", ".join(t.title for k, t in register.areas.items() if k in areas),
             ", ".join(t.title for k, t in register.actors.items() if k in actors),
             ", ".join(KIND_PLURALS[k] for k in Kind if k in kinds)]
    if states:
        parts.append("status " + ", ".join(s.value for s in State if s in states))
    return "; ".join(p for p in parts if p)


def feed_selection(register: Register, areas: Collection[str] = (),
                   actors: Collection[str] = (), kinds: Collection[Kind] = (),
                   states: Collection[State] = ()) -> tuple[str, str]:
    """The title and description of a feed of one's own selection, named by titles as the
    published feeds are: "Trafficking in persons – <register title>"."""
    title, description = feed_all(register)
    said = selection(register, areas, actors, kinds, states)
    if not said:
        return title, description
    return f"{said} – {register.title}", f"{description}\n\nSelected: {said}."


def feed_label(register: Register, facet: str, key: str) -> str:
    """A published feed's short name in a list of them: the area's or actor's title, or
    "Everything" for the feed of the whole register."""
    if facet == "area":
        return term(register.areas, key)
    if facet == "actor":
        return term(register.actors, key)
    return "Everything"


def events_count(n: int) -> str:
    """"1 event", "24 events"."""
    return f"{n} event{'s' if n != 1 else ''}"


# --- reminders --------------------------------------------------------------------------------

def days_left(n: int) -> str:
    """"today", "in 30 days", "1 day overdue"."""
    if n == 0:
        return "today"
    if n > 0:
        return f"in {n} day{'s' if n != 1 else ''}"
    return f"{-n} day{'s' if n != -1 else ''} overdue"


def lead(r: Reminder) -> str:
    """"Due in 30 days", "Starts today", "1 day overdue": what is owed reads as due, what
    takes place (an event, a session) as starting."""
    n = r.days_left
    if n < 0:
        return days_left(n)
    verb = "Due" if r.occurrence.entry.kind.is_due else "Starts"
    return f"{verb} {days_left(n)}"
