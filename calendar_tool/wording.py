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
    KnownOccurrence,
    Notice,
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


def _on(w: DatedValue) -> str:
    return f"on {date_text(w)}" if w.precision is Precision.DAY and not w.within \
        else f"in {date_text(w)}"


def estimated(rule: str, counted: tuple[int, DatedValue, bool],
              month_of: KnownOccurrence | None) -> str:
    """How an occurrence of a series was estimated: "estimated: annual from no. 10, which
    met in May 2001". `counted`: the number and date the rule counted from, and whether that
    is a known occurrence (else the series' start); `month_of`: the known occurrence whose
    month the estimate takes, when there is one."""
    number, value, known = counted
    how = f"estimated: {rhythm(rule)} from no. {number}"
    how += f", which met {_on(value)}" if known else f", the series' start ({date_text(value)})"
    if month_of is not None and not (known and month_of.number == number):
        how += f"; the month of no. {month_of.number} ({date_text(month_of.date)})"
    return how


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


def listed_date(o: Occurrence) -> str:
    """The date column of `list` and the page: the date as the text gives it, and whether it
    is estimated."""
    return when(o) + (" (estimated)" if o.tentative else "")


def listed_title(o: Occurrence, most: int | None = None) -> str:
    """The title column of `list` and the page: the heading and any state but open; with
    `most`, cut to that many characters ending in "…" before the state, which the cut of a
    whole title took away (`list --status missed` then showed no row as missed)."""
    state = o.state.state
    mark = f" [{state.value}]" if state is not State.OPEN else ""
    title = heading(o)
    if most is not None and len(title) + len(mark) > most:
        title = title[:max(most - len(mark) - 1, 0)] + "…"
    return title + mark


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
        return f"expected {_on(o.when)}, dates to be confirmed" if not said \
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
    # A calendar's name starts as a name does: "Sessions – …", not "sessions – …".
    return f"{said[:1].upper()}{said[1:]} – {register.title}", \
        f"{description}\n\nSelected: {said}."


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


def first_of(shown: int, total: int) -> str:
    """What a page says under a list it cut short: "The first 200 of 49107, by date."."""
    return f"The first {shown} of {total}, by date."


def no_feed_yet(published: bool) -> str:
    """Why the page offers no feed of everything: all.ics is not in the feeds folder, since
    the register has no dated event (an empty calendar is not written), or nothing was
    published yet."""
    if published:
        return ("Nothing to subscribe to yet: the register has no dated event, so no feed of "
                "everything was published.")
    return "Nothing to subscribe to yet: the feeds have not been published."


def too_many_to_draw(total: int, most: int, chosen: bool) -> str:
    """Why a page draws no timeline: what would be drawn is more than it draws."""
    what = "This selection has" if chosen else "The register has"
    return (f"{what} {total} dated occurrences up to the feeds' horizon; the timeline draws "
            f"at most {most}. Choose an area, an actor or a kind to draw fewer.")


# --- reminders --------------------------------------------------------------------------------

def days_left(n: int) -> str:
    """"today", "in 30 days", "1 day overdue"."""
    if n == 0:
        return "today"
    if n > 0:
        return f"in {n} day{'s' if n != 1 else ''}"
    return f"{-n} day{'s' if n != -1 else ''} overdue"


_REVIEW_REASONS = {
    "estimated": "estimated: confirm the date, or record it once the session has met",
    "rests-on-estimate": "dated from an estimate: confirm the date it counts from",
    "long-past": "past its due day with no status: record whether it was met or missed",
    "urgent-old": "urgent, undated and over a year old: record whether it was done",
}


def review_reason(reason: str) -> str:
    """Why the keepers should look at an item of the review (`timeline.review`)."""
    return _REVIEW_REASONS.get(reason, reason)


def lead(r: Reminder) -> str:
    """"Due in 30 days", "Starts today", "1 day overdue": what is owed reads as due, what
    takes place (an event, a session) as starting; an estimate reads as expected, never due;
    a confirmed or changed date and an item of the keepers' review say so."""
    if r.notice is Notice.REVIEW:
        return f"To review ({review_reason(r.detail or '')})"
    if r.notice is Notice.CONFIRMED:
        return "Date confirmed"
    if r.notice is Notice.CHANGED:
        return "Date changed"
    o = r.occurrence
    if o.tentative and o.when is not None:
        return f"Expected {_on(o.when)}; estimated, dates not yet confirmed"
    n = r.days_left
    if n < 0:
        return days_left(n)
    verb = "Due" if o.entry.kind.is_due else "Starts"
    return f"{verb} {days_left(n)}"


def change_detail(r: Reminder) -> str | None:
    """What a notice of a confirmed or changed date adds: the day reminders counted from."""
    if r.notice not in (Notice.CONFIRMED, Notice.CHANGED) or not r.detail:
        return None
    return f"Reminders so far counted from {day(date.fromisoformat(r.detail))}; now from " \
           f"{day(r.occurrence.key_date)}." if r.occurrence.key_date else None


TEST_MARK = "Test message from calendar-tool"
"""What every test message (`subscribe test`) opens with, in every channel."""

INVENTED = "Example deadline (invented for this test: the register has no upcoming dated entry)"
"""The title of the occurrence a test message invents when the register has none to show."""


def message_title(reminders: Sequence[Reminder], test: bool = False) -> str:
    """A message's one-line title: "Due in 7 days: Annual report" for one reminder, "3
    reminders for team" for a digest, "12 items to review for keepers" for the keepers'
    review; a test message says so first."""
    if len(reminders) == 1:
        r = reminders[0]
        title = f"{lead(r)}: {heading(r.occurrence)}"
    elif all(r.notice is Notice.REVIEW for r in reminders):
        title = f"{len(reminders)} items to review for {reminders[0].subscription}"
    else:
        title = f"{len(reminders)} reminders for {reminders[0].subscription}"
    return f"{TEST_MARK}: {title}" if test else title


def when_left(r: Reminder) -> str:
    """The date as the text gives it, and how far it is: "by 30 June 2027 (in 7 days)"."""
    return f"{when(r.occurrence)} ({days_left(r.days_left)})"


def more(hidden: Sequence[Reminder]) -> str:
    """What a digest says of the reminders it leaves out (the most urgent come first, so the
    first left out is the soonest): "…and 7 more, the soonest in 14 days"."""
    soonest = min(r.days_left for r in hidden)
    return f"…and {len(hidden)} more, the soonest {days_left(soonest)}"


# --- coverage ---------------------------------------------------------------------------------

def share(part: int, whole: int) -> str:
    """"95.4%": a share rounded down to a tenth, so that it never reads as more than it is."""
    tenths = 1000 * part // whole if whole else 1000
    return f"{tenths // 10}.{tenths % 10}%"


def coverage_summary(cited: int, reviewed: int, dated: int) -> str:
    """"212 of 300 dated passages cited (70.6%), 75 reviewed as not a commitment; 13 left
    (95.6% cited or reviewed)"."""
    left = dated - cited - reviewed
    return (f"{cited} of {dated} dated passages cited ({share(cited, dated)}), {reviewed} "
            f"reviewed as not a commitment; {left} left ({share(cited + reviewed, dated)} "
            "cited or reviewed)")
