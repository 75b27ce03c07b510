"""The Slack incoming-webhook message: a `text` fallback plus Block Kit `blocks`, within
Slack's limits (a header of at most 150 characters, sections of at most 3000, at most 50
blocks: 20 reminders shown, then "…and N more")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from calendar_tool import wording
from calendar_tool.delivery.channels.links import entry_link
from calendar_tool.model import Notice, Register, Reminder, State

SLACK_MAX_SHOWN = 20  # 1 header + 20 sections + 19 dividers + 1 context = 41 of Slack's 50 blocks
SLACK_HEADER_MAX = 150
SLACK_TEXT_MAX = 3000
_SLACK_HEADING_MAX = 300  # one long title must not push the rest of a section past 3000


def payload(reminders: Sequence[Reminder], register: Register, base: str) -> dict[str, Any]:
    """One reminder, or a digest of several, as a Block Kit message."""
    if len(reminders) == 1:
        r = reminders[0]
        title = f"{wording.lead(r)}: {wording.heading(r.occurrence)}"
    else:
        title = f"{len(reminders)} reminders for {reminders[0].subscription}"
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": _clip(title, SLACK_HEADER_MAX), "emoji": False}},
    ]
    shown = reminders[:SLACK_MAX_SHOWN]
    for i, r in enumerate(shown):
        if i:
            blocks.append({"type": "divider"})
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": _slack_section(r, register, base)}})
    hidden = len(reminders) - len(shown)
    if hidden:
        blocks.append({"type": "context",
                       "elements": [{"type": "mrkdwn", "text": f"…and {hidden} more"}]})
    return {"text": _slack_fallback(reminders, base), "blocks": blocks}


def _slack_section(r: Reminder, register: Register, base: str) -> str:
    o = r.occurrence
    heading = _esc(_clip(wording.heading(o), _SLACK_HEADING_MAX))
    lines = [f"*<{_slack_url(entry_link(base, r))}|{heading}>*",
             f"*When:* {_esc(wording.listed_date(o))} "
             f"({_esc(wording.days_left(r.days_left))})"]
    detail = wording.change_detail(r)
    if detail:
        lines.append(f"*{_esc(wording.lead(r))}:* {_esc(detail)}")
    elif r.notice is Notice.REVIEW:
        lines.append(f"*To review:* {_esc(wording.review_reason(r.detail or ''))}")
    if o.entry.actors:
        who = wording.terms(o.entry.actors, register.actors, ", ")
        lines.append(f"*Who:* {_esc(_clip(who, 500))}")
    if o.location:
        lines.append(f"*Where:* {_esc(_clip(o.location, 200))}")
    state = o.state.state
    if state is not State.OPEN:
        lines.append(f"*Status:* {_esc(state.value)}")
    if o.sources:
        source = o.sources[0]
        cite = _esc(_clip(wording.citation(source), 200))
        doc = register.documents.get(source.doc)
        lines.append("*Source:* " + (f"<{_slack_url(doc.url)}|{cite}>" if doc and doc.url
                                     else cite))
    return _clip("\n".join(lines), SLACK_TEXT_MAX)


def _slack_fallback(reminders: Sequence[Reminder], base: str) -> str:
    """One line per reminder, for notifications and clients that do not draw blocks; whole lines
    only, so that a cut never leaves half a link."""
    lines: list[str] = []
    used = -1  # the first line has no newline before it
    for i, r in enumerate(reminders):
        o = r.occurrence
        line = _esc(f"{wording.lead(r)}: {_clip(wording.heading(o), _SLACK_HEADING_MAX)} "
                    f"({wording.when(o)}) {entry_link(base, r)}")
        rest = len(reminders) - i - 1
        tail = len(f"\n…and {rest} more") if rest else 0
        if used + 1 + len(line) + tail > SLACK_TEXT_MAX:
            # The previous round kept room for exactly this line.
            lines.append(f"…and {len(reminders) - i} more")
            break
        lines.append(line)
        used += 1 + len(line)
    return _clip("\n".join(lines), SLACK_TEXT_MAX)


def _esc(text: str) -> str:
    """Slack's three control characters; everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_url(url: str) -> str:
    # "|" would end the link target early; a URL never needs it literally.
    return _esc(url).replace("|", "%7C")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

