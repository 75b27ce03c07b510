"""The Slack incoming-webhook message: a `text` fallback plus Block Kit `blocks`, within
Slack's limits (a header of at most 150 characters, sections of at most 3000, at most 50
blocks: the 20 most urgent reminders shown, then "…and N more, the soonest in …"), and at
most 10,000 characters of text in all its blocks together (fewer shown when more would not
fit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from calendar_tool import wording
from calendar_tool.delivery.channels.common import (
    Channel,
    Context,
    clip,
    clip_escaped,
    whole_lines,
)
from calendar_tool.delivery.channels.links import occurrence_link
from calendar_tool.delivery.retry import Outcome
from calendar_tool.model import Notice, Register, Reminder, State

SLACK_MAX_SHOWN = 20  # 1 header + 20 sections + 19 dividers + 1 context = 41 of Slack's 50 blocks
SLACK_HEADER_MAX = 150
SLACK_TEXT_MAX = 3000
_SLACK_HEADING_MAX = 300  # one long title must not push the rest of a section past 3000
# The text of all a message's blocks together: Slack refuses more (`msg_blocks_too_long`) at
# about 12,000 characters, a limit it does not document (its SDK's maintainers give 12,000
# "with a buffer for block containers"; messages of 11,341 were refused: slackapi/bolt-js
# issues 2509 and 2867). A refused digest is no reminder at all: fewer are shown instead.
SLACK_BLOCKS_TEXT_MOST = 10_000
_SLACK_MORE_ROOM = 100  # for "…and N more, the soonest in N days"


def payload(reminders: Sequence[Reminder], context: Context) -> dict[str, Any]:
    """One reminder, or a digest of several, as a Block Kit message."""
    register, base = context.register, context.base
    title = wording.message_title(reminders, context.test)
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": clip(title, SLACK_HEADER_MAX), "emoji": False}},
    ]
    used = len(blocks[0]["text"]["text"]) + _SLACK_MORE_ROOM
    shown = 0
    for r in reminders[:SLACK_MAX_SHOWN]:
        section = _slack_section(r, register, base)
        used += len(section)
        if shown and used > SLACK_BLOCKS_TEXT_MOST:
            break
        if shown:
            blocks.append({"type": "divider"})
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": section}})
        shown += 1
    more = wording.more(reminders[shown:]) if reminders[shown:] else None
    if more:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(more)}]})
    mark = f"{wording.TEST_MARK}:" if context.test else None
    return {"text": _slack_fallback(reminders, base, mark), "blocks": blocks}


def _slack_section(r: Reminder, register: Register, base: str) -> str:
    o = r.occurrence
    heading = clip_escaped(wording.heading(o), _SLACK_HEADING_MAX, _esc)
    lines = [f"*<{_slack_url(occurrence_link(base, r))}|{heading}>*",
             f"*When:* {_esc(wording.listed_date(o))} "
             f"({_esc(wording.days_left(r.days_left))})"]
    detail = wording.change_detail(r)
    if detail:
        lines.append(f"*{_esc(wording.lead(r))}:* {_esc(detail)}")
    elif r.notice is Notice.REVIEW:
        lines.append(f"*To review:* {_esc(wording.review_reason(r.detail or ''))}")
    if o.entry.actors:
        who = wording.terms(o.entry.actors, register.actors, ", ")
        lines.append(f"*Who:* {clip_escaped(who, 500, _esc)}")
    if o.location:
        lines.append(f"*Where:* {clip_escaped(o.location, 200, _esc)}")
    state = o.state.state
    if state is not State.OPEN:
        lines.append(f"*Status:* {_esc(state.value)}")
    if o.sources:
        source = o.sources[0]
        cite = clip_escaped(wording.citation(source), 200, _esc)
        doc = register.documents.get(source.doc)
        lines.append("*Source:* " + (f"<{_slack_url(doc.url)}|{cite}>" if doc and doc.url
                                     else cite))
    return whole_lines(lines, SLACK_TEXT_MAX)


def _slack_fallback(reminders: Sequence[Reminder], base: str, first: str | None = None) -> str:
    """One line per reminder (after `first`, if given), for notifications and clients that do
    not draw blocks; whole lines only, so that a cut never leaves half a link."""
    lines: list[str] = [first] if first else []
    used = len(first) if first else -1  # the first line has no newline before it
    for i, r in enumerate(reminders):
        o = r.occurrence
        line = _esc(f"{wording.lead(r)}: {clip(wording.heading(o), _SLACK_HEADING_MAX)} "
                    f"({wording.when(o)}) {occurrence_link(base, r)}")
        rest = reminders[i + 1:]
        tail = len("\n" + wording.more(rest)) if rest else 0
        if used + 1 + len(line) + tail > SLACK_TEXT_MAX:
            # The previous round kept room for exactly this line.
            lines.append(wording.more(reminders[i:]))
            break
        lines.append(line)
        used += 1 + len(line)
    return clip("\n".join(lines), SLACK_TEXT_MAX)


def _esc(text: str) -> str:
    """Slack's three control characters; everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_url(url: str) -> str:
    # "|" would end the link target early; a URL never needs it literally.
    return _esc(url).replace("|", "%7C")


def detect(url: str) -> str | None:
    """Slack's incoming webhooks (`hooks.slack.com/services/…`, and GovSlack's); not its
    Workflow Builder URLs (`/triggers/`, `/workflows/`), which take another body."""
    parts = urlsplit(url)  # ValueError: not a URL of its service (`guess`)
    if parts.hostname in ("hooks.slack.com", "hooks.slack-gov.com") and \
            not parts.path.startswith(("/triggers/", "/workflows/")):
        return "a Slack incoming webhook URL"
    return None


def answer(status: int, text: str) -> tuple[Outcome, str] | None:
    """Slack answers a removed or disabled webhook 404 `no_service`: it is gone, as a 410."""
    if status == 404 and text.strip().startswith("no_service"):
        return Outcome.GONE, "Slack says the webhook was removed or disabled (no_service)"
    return None


CHANNEL = Channel(payload, detect=detect, answer=answer)
