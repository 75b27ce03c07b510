"""The e-mail: its subject, date, plain text, HTML and calendar, as the data the SMTP sender
(`delivery/smtp.py`) puts into a MIME message (`multipart/alternative` of text/plain,
text/html and `text/calendar; method=PUBLISH`, with the calendar also attached as a `.ics`
file)::

    {"subject": "Due in 7 days: Annual report",
     "date": "Wed, 23 Jun 2027 07:00:00 +0000",
     "text": "...", "html": "...",
     "calendar": "BEGIN:VCALENDAR\\r\\n...METHOD:PUBLISH...END:VCALENDAR\\r\\n"}

The calendar holds each reminded occurrence as its feed's event, byte for byte, with its
feed UID and SEQUENCE (`feeds.message_calendar`): a recipient adds the deadline in one click,
and a later change of the entry, published in the feeds, replaces it. `date` is the earliest
reminder's instant, so that a retry is the same message, byte for byte.

Addresses are `mailto:` URLs, several separated by commas (`mailto:a@example.org,b@example.org`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote

from calendar_tool import wording
from calendar_tool.delivery.channels.common import Channel, Context, cut, source_link
from calendar_tool.delivery.channels.links import occurrence_link
from calendar_tool.model import Reminder, Revision, State

MAX_SHOWN = 100  # in the text and HTML; the calendar holds every occurrence
_FOOTER = ("Sent by calendar-tool to the subscription {name!r}. The calendar in this message "
           "adds {these} to your calendar; the calendar feeds at {base}/ keep them current.")


def payload(reminders: Sequence[Reminder], context: Context) -> dict[str, Any]:
    """One reminder, or a digest of several, as the parts of one e-mail."""
    # The feeds' writer (and icalendar) only once an e-mail is made: the commands that merely
    # list or check subscriptions load this registry too.
    from calendar_tool.feeds import message_calendar

    earliest = min(r.instant for r in reminders)
    revisions = {r.occurrence.entry.id: context.revisions.get(r.occurrence.entry.id)
                 or Revision("", 0, earliest) for r in reminders}
    calendar = message_calendar((r.occurrence for r in reminders), context.register, revisions,
                                context.feed_links)
    return {
        "subject": wording.message_title(reminders, context.test),
        "date": format_datetime(earliest),
        "text": _text(reminders, context),
        "html": _html(reminders, context),
        "calendar": calendar.decode("utf-8"),
    }


def _facts(r: Reminder, context: Context) -> list[tuple[str, str, str | None]]:
    """(label, text, link) of one reminder: when, who, where, the state, the source, the
    entry's page."""
    o = r.occurrence
    facts: list[tuple[str, str, str | None]] = [("When", wording.when_left(r), None)]
    detail = wording.change_detail(r)
    if detail:  # a moved or confirmed date: the day reminders counted from until now
        facts.append((wording.lead(r), detail, None))
    if o.entry.actors:
        facts.append(("Who", wording.terms(o.entry.actors, context.register.actors, ", "),
                      None))
    if o.location:
        facts.append(("Where", o.location, None))
    if o.state.state is not State.OPEN:
        facts.append(("Status", o.state.state.value, None))
    source = source_link(r, context.register)
    if source is not None:
        facts.append(("Source", source[0], source[1]))
    link = occurrence_link(context.base, r)
    facts.append(("Entry", link, link))
    return facts


def _footer(reminders: Sequence[Reminder], context: Context) -> str:
    these = "this date" if len(reminders) == 1 else "these dates"
    return _FOOTER.format(name=reminders[0].subscription, these=these, base=context.base)


def _text(reminders: Sequence[Reminder], context: Context) -> str:
    lines = [f"{wording.TEST_MARK}.", ""] if context.test else []
    lines += [wording.message_title(reminders), ""]
    shown, more = cut(reminders, MAX_SHOWN)
    for r in shown:
        if len(reminders) > 1:
            lines.append(f"{wording.lead(r)}: {wording.heading(r.occurrence)}")
        for label, text, link in _facts(r, context):
            lines.append(f"{label}: {text}" + (f" <{link}>" if link and link != text else ""))
        lines.append("")
    if more:
        lines += [more, ""]
    lines += ["-- ", _footer(reminders, context)]
    return "\n".join(lines) + "\n"


def _html(reminders: Sequence[Reminder], context: Context) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html><head><meta charset="utf-8"></head><body>']
    if context.test:
        out.append(f"<p><strong>{e(wording.TEST_MARK)}.</strong></p>")
    out.append(f"<h2>{e(wording.message_title(reminders))}</h2>")
    shown, more = cut(reminders, MAX_SHOWN)
    for r in shown:
        if len(reminders) > 1:
            page = occurrence_link(context.base, r)
            out.append(f"<h3>{e(wording.lead(r))}: {_a(wording.heading(r.occurrence), page)}</h3>")
        out.append("<table>")
        for label, text, link in _facts(r, context):
            out.append(f"<tr><th align=\"left\">{e(label)}</th><td>{_a(text, link)}</td></tr>")
        out.append("</table>")
    if more:
        out.append(f"<p>{e(more)}</p>")
    out.append(f"<hr><p><small>{e(_footer(reminders, context))}</small></p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _a(text: str, link: str | None) -> str:
    if not link:
        return html.escape(text)
    return f'<a href="{html.escape(link, quote=True)}">{html.escape(text)}</a>'


# --- addresses -------------------------------------------------------------------------------

_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*"
                      r"[A-Za-z0-9])?$")


def addresses(url: str) -> list[str]:
    """The addresses of a `mailto:` URL, in its order (ValueError naming what is wrong)."""
    scheme, colon, rest = url.partition(":")
    if scheme.lower() != "mailto" or not colon:
        raise ValueError("not a mailto: URL")
    if "?" in rest or "#" in rest:
        raise ValueError("mailto: takes addresses only, such as "
                         "mailto:a@example.org,b@example.org (no ?subject= or other fields)")
    found = [unquote(a).strip() for a in rest.split(",")]
    if not any(found):
        raise ValueError("mailto: names no address, such as mailto:team@example.org")
    for a in found:
        if not _ADDRESS.match(a):
            raise ValueError(f"{a!r} is not an e-mail address such as team@example.org")
    return found


def detect(url: str) -> str | None:
    return "mailto: addresses" if url[:7].lower() == "mailto:" else None


def problems(url: str) -> list[str]:
    try:
        addresses(url)
    except ValueError as exc:
        return [str(exc)]
    return []


CHANNEL = Channel(payload, schemes=("mailto",), detect=detect, problems=problems)
