"""What a calendar event says: a date with its precision and how it was found, a status, a
citation, an occurrence's heading, a feed event's title, description and alarms. Pure: plain
values in, text out. `list`, `show`, the pages and the messages say dates, statuses and
citations with these same functions (`views` builds on them).

Every entry's content hash takes `stamp()`, a digest of this file: the first publish after a
change here moves every SEQUENCE and LAST-MODIFIED once, so subscribed calendars take the new
text. What only lists, pages, feed headers and messages say lives in `views`, so that a change
of their wording does not revise every event of every subscribed calendar.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from calendar_tool.model import (
    DatedValue,
    Entry,
    Kind,
    KnownOccurrence,
    Occurrence,
    Offset,
    Precision,
    Register,
    Relative,
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
        return _between_text(w)
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


def _between_text(w: DatedValue) -> str:
    """One unknown day between two: "between 2 May 2001 and 9 May 2001" as days, "between April and
    October 2001" as whole months, "between 2002 and 2003" as whole years (an estimate
    between two known occurrences of a series)."""
    s, e = w.start, w.end
    if w.precision is Precision.YEAR:
        return f"between {s.year} and {e.year}"
    if w.precision is Precision.MONTH:
        if s.year == e.year:
            return f"between {MONTHS[s.month]} and {MONTHS[e.month]} {s.year}"
        return f"between {MONTHS[s.month]} {s.year} and {MONTHS[e.month]} {e.year}"
    return f"between {day(s)} and {day(e)}"


def when(o: Occurrence) -> str:
    """The occurrence's date as the text gives it, with "by" for what falls due; for one on
    no calendar day, its word of urgency and since when, or what it awaits."""
    if o.when is None:
        return undated(o)
    text = date_text(o.when)
    if o.entry.kind.is_due and o.entry.kind is not Kind.PERIOD:
        if o.when.within:
            return f"by a day {text}"
        if o.when.precision is Precision.DAY:
            # Due on the last of its days: "by 15 March 2005 (1–15 March 2005)", not "by end
            # of 1–15 March 2005".
            return f"by {day(o.when.end)} ({text})" if o.when.is_range else f"by {text}"
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


_RHYTHMS = {"YEARLY": ("annual", "years"), "MONTHLY": ("monthly", "months"),
            "WEEKLY": ("weekly", "weeks"), "DAILY": ("daily", "days")}
_PLAIN_RULE = re.compile(r"^FREQ=(YEARLY|MONTHLY|WEEKLY|DAILY)(?:;INTERVAL=([0-9]+))?$")


def rhythm(rule: str) -> str:
    """A recurrence rule as a person says it: "annual", "every 5 years"."""
    m = _PLAIN_RULE.match(rule)
    if m is None:
        return f"by the rule {rule}"
    word, unit = _RHYTHMS[m.group(1)]
    n = int(m.group(2) or 1)
    return word if n == 1 else f"every {n} {unit}"


def on_or_in(w: DatedValue) -> str:
    """"on 8 May 2001" for a day, "in May 2001" (or "in 2005"), and a day between two as
    "between April and October 2001" ("in between" was said before)."""
    if w.within:
        return date_text(w)
    return f"on {date_text(w)}" if w.precision is Precision.DAY else f"in {date_text(w)}"


def estimated(rule: str, counted: tuple[int, DatedValue, bool],
              month_of: KnownOccurrence | None) -> str:
    """How an occurrence of a series was estimated: "estimated: annual from no. 10 (May
    2001)". `counted`: the number and date the rule counted from, and whether that is a
    known occurrence (else the series' start); `month_of`: the known occurrence whose month
    the estimate takes, when there is one. No tense and no verb: a known occurrence may be a
    date confirmed ahead (no. 36 in May 2027, read in 2026) or a deadline, which no one
    "meets", and an event's words never depend on the day they are read."""
    number, value, known = counted
    how = f"estimated: {rhythm(rule)} from no. {number}"
    how += f" ({date_text(value)})" if known else f", the series' start ({date_text(value)})"
    if month_of is not None and not (known and month_of.number == number):
        how += f"; the month of no. {month_of.number} ({date_text(month_of.date)})"
    return how


def between(after: tuple[int, DatedValue, bool], before: KnownOccurrence) -> str:
    """How an occurrence of a series was estimated that lies between the occurrence before it
    and the next known one, the rule alone placing it at or past that one: "estimated:
    between no. 2 (March 2001) and no. 4 (November 2001)". `after`: the number and date of
    the occurrence before it, and whether that is known (else it is an estimate, and says
    so: "no. 3 (2002, estimated)")."""
    number, value, known = after
    said = date_text(value) if known else f"{date_text(value)}, estimated"
    return (f"estimated: between no. {number} ({said}) and no. {before.number} "
            f"({date_text(before.date)})")


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

def pending(awaited: str) -> str:
    """The derivation of an event whose date is still awaited: "pending: <what>"."""
    return f"pending: {awaited}"

NOT_YET_DATED = "not yet dated"


def since_text(since: tuple[DatedValue, str]) -> str:
    """"since 4 December 2000 (A/RES/55/59)": the date an urgent commitment counts from."""
    value, doc = since
    return f"since {date_text(value)} ({doc})"


def urgent(urgency: str, since: tuple[DatedValue, str] | None) -> str:
    """The derivation of an undated urgent commitment: "as soon as possible, since 4
    December 2000 (A/RES/55/59)"."""
    return f"{urgency}, {since_text(since)}" if since else urgency


def awaiting(rel: Relative, anchor_how: str) -> str:
    """The derivation of a date counted from an event still pending: the rule, and what the
    anchor awaits ("90 days after the start of X, not yet dated (pending: …)")."""
    side = "end" if rel.anchor_end else "start"
    return f"{offset_phrase(rel.offset)} the {side} of {rel.ref}, {NOT_YET_DATED} ({anchor_how})"


def undated(o: Occurrence) -> str:
    """The date column of an occurrence on no calendar day: "as soon as possible, since
    2001 (E/CN.15/2001/5)", "90 days after X, not yet dated", "not yet dated", "standing"."""
    e = o.entry
    if e.urgency is not None:
        return urgent(e.urgency, o.since)
    if e.relative is not None:
        return f"{offset_phrase(e.relative.offset)} {e.relative.ref}, {NOT_YET_DATED}"
    if e.pending is not None:
        return NOT_YET_DATED
    return "standing"


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
    # Citations of the same place read the same whatever their quotes: no `unique_sources`.
    cites = list(dict.fromkeys(map(citation, sources)))
    more = f" (+{len(cites) - most})" if len(cites) > most else ""
    return "; ".join(cites[:most]) + more


def term(vocab: Mapping[str, Term], key: str) -> str:
    """A declared area's or actor's title (its key when it is not declared)."""
    found = vocab.get(key)
    return found.title if found else key


def terms(keys: Iterable[str], vocab: Mapping[str, Term], sep: str = "; ") -> str:
    return sep.join(term(vocab, k) for k in keys)


# --- feed events ------------------------------------------------------------------------------

def _days_say_it_all(w: DatedValue | None, is_due: bool) -> bool:
    """Whether the calendar day(s) alone carry the date as precisely as the text gives it."""
    if w is None or w.within or w.precision is not Precision.DAY:
        return False
    return not (is_due and w.is_range)


def unplaced(o: Occurrence) -> bool:
    """Whether the occurrence takes place over days no text gives: an event or session known
    only to the month or year (or to a span of days it falls in), or estimated (a series'
    days repeated by its rule, or counted from an estimate). A calendar shows it as a marker
    on the first day of that period, never as a banner over it."""
    w = o.when
    return w is not None and not o.entry.kind.is_due and \
        (w.within or w.precision is not Precision.DAY or o.tentative)


def _unplaced_when(o: Occurrence, said: bool) -> str:
    """"expected in May 2027, dates to be confirmed" (an estimate), "May 2001, dates not
    given" (the text gives the month only); without the date when the title has `said` it
    ("Global forum … in 2002 – dates not given")."""
    assert o.when is not None
    if o.tentative:
        return f"expected {on_or_in(o.when)}, dates to be confirmed" if not said \
            else "expected, dates to be confirmed"
    return f"{date_text(o.when)}, dates not given" if not said else "dates not given"


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
    if unplaced(o):
        text += f" – {_unplaced_when(o, _title_says_it(text, o.when))}"
    elif not _days_say_it_all(o.when, o.entry.kind.is_due) and not _title_says_it(text, o.when):
        text += f" – {when(o) if when_text is None else when_text}"
        if o.tentative:
            text += " (estimated)"
    elif o.tentative:
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
    if unplaced(o):
        said = _unplaced_when(o, said=False)
        opening = (f"{said[:1].upper()}{said[1:]}{' (estimated)' if o.tentative else ''}: "
                   "shown on the first day of the period.\n")
    else:
        opening = f"{before}{text}{after}{' (estimated)' if o.tentative else ''}.\n"
    state = o.state
    if state.state is not State.OPEN:
        opening += f"Status: {status(state)}\n"
        if state.sources:
            opening += f"Recorded by: {citations(state.sources, most=len(state.sources))}\n"
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
