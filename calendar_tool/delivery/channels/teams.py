"""The Microsoft Teams message, for a Teams Workflows webhook (the Power Automate template "Post
to a channel when a webhook request is received"): one Adaptive Card, version 1.4, in the
envelope the workflow reads (`{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <card>}]}`).

Version 1.4 because the workflow's "Post card in a chat or channel" step draws no later card
("We're sorry, this card couldn't be displayed"), though Teams itself takes 1.5. The card
uses 1.0–1.2 elements only (TextBlock, FactSet, Container, Action.OpenUrl): nothing answers a
click in this flow, so no Action.Submit. Markdown is Teams' subset, in TextBlock texts and
fact values only; every TextBlock wraps. The whole body stays within 28 KB, the webhook's
limit: a digest shows its 20 most urgent reminders, fewer if they would not fit, then "…and N
more, the soonest in …".

The retired Office 365 connectors (`*.webhook.office.com`, `outlook.office.com/webhook/`) take
another body and no longer post: their URLs are refused at `subscribe add`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from calendar_tool import wording
from calendar_tool.delivery.channels.common import Channel, Context, clip, cut, source_link
from calendar_tool.delivery.channels.links import occurrence_link
from calendar_tool.delivery.retry import Outcome
from calendar_tool.model import Reminder, State

CARD_VERSION = "1.4"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 28_000  # "The message size limit is 28 KB"
MAX_SHOWN = 20
_TITLE_MAX = 300
_FACT_MAX = 500


def payload(reminders: Sequence[Reminder], context: Context) -> dict[str, Any]:
    """One reminder, or a digest of several, as one Adaptive Card message."""
    most = MAX_SHOWN
    while True:
        message = _message(reminders, context, most)
        size = len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode())
        if size <= MAX_BYTES or most == 1:
            return message
        most -= 1


def _message(reminders: Sequence[Reminder], context: Context, most: int) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    if context.test:
        body.append(_text(wording.TEST_MARK, weight="Bolder", color="Attention"))
    if len(reminders) == 1:
        r = reminders[0]
        body.append(_text(_md(clip(wording.message_title(reminders), _TITLE_MAX)),
                          size="Medium", weight="Bolder"))
        body.append({"type": "FactSet", "facts": _facts(r, context)})
        action = _open("Open the entry", occurrence_link(context.base, r))
    else:
        body.append(_text(_md(wording.message_title(reminders)), size="Medium",
                          weight="Bolder"))
        shown, more = cut(reminders, most)
        body.extend(_item(r, context) for r in shown)
        if more:
            body.append(_text(more, isSubtle=True, separator=True))
        action = _open("Open the register", context.base + "/")
    card = {"$schema": SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION,
            "msteams": {"width": "Full"}, "body": body, "actions": [action]}
    return {"type": "message",
            "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card}]}


def _item(r: Reminder, context: Context) -> dict[str, Any]:
    """One reminder of a digest: its title linking to its page, then its facts."""
    heading = _md(clip(f"{wording.lead(r)}: {wording.heading(r.occurrence)}", _TITLE_MAX))
    link = occurrence_link(context.base, r)
    return {"type": "Container", "separator": True, "items": [
        _text(f"**[{heading}]({_url(link)})**"),
        {"type": "FactSet", "facts": _facts(r, context)},
    ]}


def _facts(r: Reminder, context: Context) -> list[dict[str, str]]:
    """When (as precise as the text, and how far), who, where, the state if not open, and the
    source with its link."""
    o = r.occurrence
    register = context.register
    facts = [("When", _md(wording.when_left(r)))]
    detail = wording.change_detail(r)
    if detail:  # a moved or confirmed date: the day reminders counted from until now
        facts.append((_md(wording.lead(r)), _md(detail)))
    if o.entry.actors:
        facts.append(("Who", _md(clip(wording.terms(o.entry.actors, register.actors, ", "),
                                      _FACT_MAX))))
    if o.location:
        facts.append(("Where", _md(clip(o.location, _FACT_MAX))))
    if o.state.state is not State.OPEN:
        facts.append(("Status", _md(o.state.state.value)))
    source = source_link(r, register)
    if source is not None:
        cite, url = source
        shown = _md(clip(cite, _FACT_MAX))
        facts.append(("Source", f"[{shown}]({_url(url)})" if url else shown))
    return [{"title": title, "value": value} for title, value in facts]


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _open(title: str, url: str) -> dict[str, Any]:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


_MARKDOWN = re.compile(r"([\\`*_\[\]])")


def _md(text: str) -> str:
    """Text shown as it is in Teams' markdown: what would start emphasis, code or a link
    escaped (Teams draws no headers, quotes or HTML, so nothing else needs it)."""
    return _MARKDOWN.sub(r"\\\1", text)


def _url(url: str) -> str:
    # A link target ends at the first ")" or space: neither is needed literally in a URL.
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


# --- URLs ------------------------------------------------------------------------------------

_WORKFLOW_PATH = re.compile(
    r"^(/powerautomate/automations/direct(/cu/\d+)?)?/workflows/[0-9a-fA-F]{32}"
    r"/triggers/manual/paths/invoke/?$")
_WORKFLOW_HOSTS = (".environment.api.powerplatform.com", ".logic.azure.com")


def detect(url: str) -> str | None:
    """A Teams Workflows (Power Automate) webhook, or a retired Office 365 connector (which
    `problems` then refuses, rather than sending it a body it cannot show)."""
    parts = urlsplit(url)  # ValueError: not a URL of its service (`guess`)
    host = (parts.hostname or "").lower()
    if _retired(host, parts.path):
        return "a retired Office 365 connector URL"
    if host.endswith(_WORKFLOW_HOSTS) and _WORKFLOW_PATH.match(parts.path) \
            and "sig=" in parts.query:
        if host.endswith(".logic.azure.com"):
            return ("a Power Automate workflow URL on the older logic.azure.com host, which "
                    "Microsoft is retiring: if it stops, copy the workflow's new URL")
        return "a Power Automate workflow URL"
    return None


def _retired(host: str, path: str) -> bool:
    return host.endswith(".webhook.office.com") or (
        host == "outlook.office.com" and path.startswith("/webhook/"))


def problems(url: str) -> list[str]:
    """A retired Office 365 connector is refused: it no longer posts anything."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    if _retired((parts.hostname or "").lower(), parts.path):
        return ["a retired Office 365 connector (webhook.office.com) no longer posts to Teams: "
                "create a Workflows webhook in the channel instead (the template \"Post to a "
                "channel when a webhook request is received\") and subscribe its URL"]
    return []


def answer(status: int, text: str) -> tuple[Outcome, str] | None:
    """401 and 403 come from a workflow whose trigger does not let anyone call it."""
    if status in (401, 403):
        return Outcome.DEAD, ("the workflow refuses anonymous calls: set its trigger's \"Who "
                              "can trigger the flow\" to Anyone")
    return None


CHANNEL = Channel(payload, detect=detect, problems=problems, answer=answer)
