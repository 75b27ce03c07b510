"""What lists, pages, feed headers, messages and `coverage` say beyond the events' own text:
a listed date and title, a feed's or a selection's title, what a page says of its lists, a
reminder's lead and a message's title, a share of the source texts covered. Pure, as
`events`, whose dates, statuses and citations it says them with.

Not in the content hash: changing what is said here leaves every feed event as it was.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from calendar_tool.model import Kind, Notice, Occurrence, Register, Reminder, State, Term
from calendar_tool.wording.events import day, heading, on_or_in, term, when


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
    return counted(n, "event")


def counted(n: int, noun: str) -> str:
    """`n` of `noun`, a noun whose plural takes an "s": "1 message", "2 messages"."""
    return f"{n} {noun}{'s' if n != 1 else ''}"


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


def never_in_a_feed() -> str:
    """Why the page offers no feed of standing obligations alone: they fall on no day, so no
    event of a calendar can hold one, whatever the register comes to hold."""
    return ("Nothing to subscribe to: standing obligations fall on no day, so no calendar "
            "can hold them. The JSON at the foot of the page lists them.")


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
        return f"in {counted(n, 'day')}"
    return f"{counted(-n, 'day')} overdue"


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
        return f"Expected {on_or_in(o.when)}; estimated, dates not yet confirmed"
    n = r.days_left
    if n < 0:
        return days_left(n)
    verb = "Due" if o.entry.kind.is_due else "Starts"
    return f"{verb} {days_left(n)}"


def change_detail(r: Reminder) -> str | None:
    """What a notice of a confirmed or changed date adds: the day reminders counted from."""
    if r.notice not in (Notice.CONFIRMED, Notice.CHANGED) or not r.detail:
        return None
    now = r.occurrence.key_date
    if now is None:
        return None
    if r.detail == now.isoformat():  # an estimate confirmed on the day it counted from
        return f"Reminders keep counting from {day(now)}."
    o = r.occurrence
    if o.tentative and o.when is not None:
        # Whoever takes no estimates gets no more reminders of it: "now from" would promise.
        return f"Reminders so far counted from {day(date.fromisoformat(r.detail))}; the " \
               f"date is now an estimate (expected {on_or_in(o.when)}), reminded only to " \
               "subscriptions that take estimates."
    return f"Reminders so far counted from {day(date.fromisoformat(r.detail))}; now from " \
           f"{day(now)}."


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
