"""The Discord webhook message (Execute Webhook): a one-line `content` for notifications, and
one embed holding the reminder, or the digest's most urgent reminders as lines, within
Discord's limits (`content` 2,000 characters; an embed's title 256, description 4,096, all
embed text 6,000). Nobody is pinged: `allowed_mentions` parses nothing, whatever a title says.

Messages go to the webhook URL with `?wait=true`, so that Discord answers once the message is
saved (200) and a message it could not save is an error rather than a silent 204. A deleted
webhook answers 404 (`Unknown Webhook`, code 10015): like a 410, the subscription is disabled,
and Discord asks that such a URL not be tried again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from calendar_tool import wording
from calendar_tool.delivery.channels.common import (
    Channel,
    Context,
    clip,
    clip_escaped,
    fit,
    source_link,
    whole_lines,
)
from calendar_tool.delivery.channels.links import occurrence_link
from calendar_tool.delivery.retry import Outcome
from calendar_tool.model import Reminder

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
MAX_SHOWN = 20
_LINE_MAX = 180  # a digest's line: one long title must not crowd out the others
# Colours by urgency (integers, as Discord takes them): overdue, today, later.
RED, ORANGE, BLUE = 0xE74C3C, 0xE67E22, 0x3498DB


def payload(reminders: Sequence[Reminder], context: Context) -> dict[str, Any]:
    """One reminder, or a digest of several, as a message with one embed."""
    content = clip_escaped(wording.message_title(reminders, context.test), CONTENT_MAX, _md)
    embed: dict[str, Any]
    if len(reminders) == 1:
        r = reminders[0]
        embed = {"title": clip(wording.heading(r.occurrence), TITLE_MAX),
                 "url": occurrence_link(context.base, r),
                 "description": _details(r, context)}
    else:
        embed = {"title": clip(wording.message_title(reminders), TITLE_MAX),
                 "url": context.base + "/",
                 "description": _digest(reminders, context)}
    embed["color"] = _colour(reminders[0].days_left)
    return {"content": content, "allowed_mentions": {"parse": []}, "embeds": [embed]}


def _details(r: Reminder, context: Context) -> str:
    o = r.occurrence
    lines = [f"**{_md(wording.lead(r))}**", f"**When:** {_md(wording.when_left(r))}"]
    detail = wording.change_detail(r)
    if detail:  # a moved or confirmed date: the day reminders counted from until now
        lines.append(_md(detail))
    if o.entry.actors:
        who = wording.terms(o.entry.actors, context.register.actors, ", ")
        lines.append(f"**Who:** {_md(clip(who, 500))}")
    if o.location:
        lines.append(f"**Where:** {_md(clip(o.location, 200))}")
    if o.state.state.value != "open":
        lines.append(f"**Status:** {o.state.state.value}")
    source = source_link(r, context.register)
    if source is not None:
        cite, url = source
        lines.append("**Source:** " + _link(clip(cite, 200), url))
    return whole_lines(lines, DESCRIPTION_MAX)


def _digest(reminders: Sequence[Reminder], context: Context) -> str:
    """A line per reminder, most urgent first, whole lines only, and what is left out."""
    def line(r: Reminder) -> str:
        title = clip(wording.heading(r.occurrence), _LINE_MAX)
        detail = wording.change_detail(r)
        return (f"{_link(title, occurrence_link(context.base, r), bold=True)}: "
                f"{_md(wording.lead(r))}, {_md(wording.when(r.occurrence))}"
                + (f". {_md(detail)}" if detail else ""))

    return fit([], reminders, line, DESCRIPTION_MAX, MAX_SHOWN)


def _colour(days_left: int) -> int:
    return RED if days_left < 0 else ORANGE if days_left == 0 else BLUE


_MARKDOWN = re.compile(r"([\\`*_~|\[\]()<>#@:-])")


def _md(text: str) -> str:
    """Text shown as it is in Discord's markdown (and no mention, link or heading made of
    it)."""
    return _MARKDOWN.sub(r"\\\1", text)


def _link(text: str, url: str | None, bold: bool = False) -> str:
    shown = _md(text)
    if bold:
        shown = f"**{shown}**"
    if not url:
        return shown
    safe = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{shown}]({safe})"


# --- URLs and answers ------------------------------------------------------------------------

_WEBHOOK = re.compile(r"^/api(/v\d+)?/webhooks/\d{17,20}/[A-Za-z0-9_-]+/?$")
_HOSTS = ("discord.com", "ptb.discord.com", "canary.discord.com", "discordapp.com")


def detect(url: str) -> str | None:
    """Discord's Execute Webhook URL (not its /slack and /github variants, which take those
    services' bodies)."""
    parts = urlsplit(url)  # ValueError: not a URL of its service (`guess`)
    if (parts.hostname or "").lower() in _HOSTS and _WEBHOOK.match(parts.path):
        return "a Discord webhook URL"
    return None


def target(url: str) -> str:
    """The URL with `wait=true`, keeping any other parameter (a `thread_id`)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("wait", "true")])))


def answer(status: int, text: str) -> tuple[Outcome, str] | None:
    """404: the webhook was deleted (Discord asks that it not be tried again); 401: its token
    is wrong."""
    if status == 404:
        return Outcome.GONE, "Discord says the webhook no longer exists (Unknown Webhook)"
    if status == 401:
        return Outcome.DEAD, "Discord refused the webhook's token"
    return None


CHANNEL = Channel(payload, detect=detect, target=target, answer=answer)
