"""The Mattermost incoming-webhook message: `text` in Mattermost's Markdown (it draws no Slack
`blocks`), within 4,000 characters, the limit of the oldest servers still about (newer ones
take 16,383): a heading, then the reminder, or the digest's most urgent reminders a line each,
then "…and N more, the soonest in …". Nobody is mentioned: an "@" in the register's text is
followed by a word joiner, so "@channel" in a title notifies no one.

Mattermost answers an unknown or deleted hook 400 (not 404), with the error id
`web.incoming_webhook.invalid.app_error`: dead, said in words; 501 means incoming webhooks
are turned off on the server, which a retry does not change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from calendar_tool import wording
from calendar_tool.delivery.channels.common import (
    Channel,
    Context,
    clip,
    fit,
    source_link,
    whole_lines,
)
from calendar_tool.delivery.channels.links import occurrence_link
from calendar_tool.delivery.retry import Outcome
from calendar_tool.model import Reminder, State

TEXT_MAX = 4000
MAX_SHOWN = 20
_LINE_MAX = 180


def payload(reminders: Sequence[Reminder], context: Context) -> dict[str, Any]:
    """One reminder, or a digest of several, as one Markdown post."""
    lines = [f"**{_md(wording.TEST_MARK)}**"] if context.test else []
    if len(reminders) == 1:
        r = reminders[0]
        title = clip(f"{wording.lead(r)}: {wording.heading(r.occurrence)}", 300)
        lines.append(f"#### {_link(title, occurrence_link(context.base, r))}")
        lines.extend(_details(r, context))
        return {"text": whole_lines(lines, TEXT_MAX)}
    lines.append(f"#### {_md(wording.message_title(reminders))}")
    return {"text": _digest(lines, reminders, context)}


def _details(r: Reminder, context: Context) -> list[str]:
    o = r.occurrence
    lines = [f"**When:** {_md(wording.when_left(r))}"]
    detail = wording.change_detail(r)
    if detail:  # a moved or confirmed date: the day reminders counted from until now
        lines.append(f"**{_md(wording.lead(r))}:** {_md(detail)}")
    if o.entry.actors:
        who = wording.terms(o.entry.actors, context.register.actors, ", ")
        lines.append(f"**Who:** {_md(clip(who, 500))}")
    if o.location:
        lines.append(f"**Where:** {_md(clip(o.location, 200))}")
    if o.state.state is not State.OPEN:
        lines.append(f"**Status:** {o.state.state.value}")
    source = source_link(r, context.register)
    if source is not None:
        lines.append(f"**Source:** {_link(clip(source[0], 200), source[1])}")
    return lines


def _digest(head: list[str], reminders: Sequence[Reminder], context: Context) -> str:
    """The heading, a list item per reminder (whole items only), and what is left out."""
    def line(r: Reminder) -> str:
        title = clip(wording.heading(r.occurrence), _LINE_MAX)
        detail = wording.change_detail(r)
        return (f"- **{_link(title, occurrence_link(context.base, r))}**: "
                f"{_md(wording.lead(r))}, {_md(wording.when(r.occurrence))}"
                + (f". {_md(detail)}" if detail else ""))

    return fit(head, reminders, line, TEXT_MAX, MAX_SHOWN)


_MARKDOWN = re.compile(r"([\\`*_~|\[\]<>#])")
# Mattermost finds mentions in a post's text words (split at any character but a letter, a
# digit and `:._-@`), escaped or not, and "@channel" from a webhook notifies everyone in the
# channel: a word joiner after each "@" splits the word without showing.
_WORD_JOINER = "\u2060"


def _md(text: str) -> str:
    """Text shown as it is in Mattermost's Markdown, mentioning nobody ("@channel" in a title
    notified the whole channel)."""
    return _MARKDOWN.sub(r"\\\1", text).replace("@", "@" + _WORD_JOINER)


def _link(text: str, url: str | None) -> str:
    if not url:
        return _md(text)
    safe = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{_md(text)}]({safe})"


# --- URLs and answers ------------------------------------------------------------------------

_HOOK = re.compile(r"/hooks/[a-z0-9]{26}/?$")


def detect(url: str) -> str | None:
    """A Mattermost incoming webhook: `…/hooks/<26-character id>` on any host (Rocket.Chat's
    `/hooks/<id>/<token>` has two segments, and slash commands live under `/hooks/commands/`)."""
    parts = urlsplit(url)  # ValueError: not a URL of its service (`guess`)
    if parts.scheme in ("http", "https") and _HOOK.search(parts.path):
        return "a Mattermost incoming webhook URL (…/hooks/ and a 26-character id)"
    return None


def answer(status: int, text: str) -> tuple[Outcome, str] | None:
    """400 naming the hook unknown, and 501 (webhooks turned off), are settled answers."""
    if status == 400 and "web.incoming_webhook.invalid.app_error" in text:
        return Outcome.DEAD, ("Mattermost does not know this hook: it was deleted, or the URL "
                              "is wrong (web.incoming_webhook.invalid.app_error)")
    if status == 501:
        return Outcome.DEAD, "incoming webhooks are turned off on this Mattermost server"
    return None


CHANNEL = Channel(payload, detect=detect, answer=answer)
