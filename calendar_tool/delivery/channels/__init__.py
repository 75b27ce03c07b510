"""One pure module per channel builds its message body from reminders, says which URLs are
its own and what its receiver's answers mean; this registry says which module serves which
format. A new channel is one module here plus a line in `_CHANNELS`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from calendar_tool.delivery.channels import discord, email, mattermost, slack, teams, webhook
from calendar_tool.delivery.channels.common import Answer, Channel, Context
from calendar_tool.model import Format, Register, Reminder, Revision

_CHANNELS: dict[Format, Channel] = {
    Format.JSON: webhook.CHANNEL,
    Format.SLACK: slack.CHANNEL,
    Format.TEAMS: teams.CHANNEL,
    Format.DISCORD: discord.CHANNEL,
    Format.MATTERMOST: mattermost.CHANNEL,
    Format.EMAIL: email.CHANNEL,
}

# The order URLs are recognised in: the first channel that knows a URL takes it.
_GUESSES = (Format.EMAIL, Format.SLACK, Format.TEAMS, Format.DISCORD, Format.MATTERMOST)


def render(fmt: Format, reminders: Sequence[Reminder], register: Register, link_base: str,
           *, test: bool = False, revisions: Mapping[str, Revision] | None = None,
           feed_links: str | None = None) -> str:
    """The body of one message for one subscription: one reminder, or a digest of several.

    Deterministic, so that a retry sends the same bytes (and the same signature input): the time
    inside is the reminders' own, and their order is fixed here rather than by the caller: the
    most urgent first (fewest days left, then the earliest day, then the occurrence id), so
    that whatever a channel's limits cut from a digest is what can wait longest. `test` marks
    a test message (`subscribe test`); `revisions` are the entries' and `feed_links` what the
    feeds' events link back to (for the e-mail's calendar part, whose events are the feeds')."""
    if not reminders:
        raise ValueError("a message needs at least one reminder")
    if len({r.subscription for r in reminders}) != 1:
        raise ValueError("a message holds the reminders of one subscription")
    for r in reminders:
        _utc(r.instant)
    ordered = sorted(reminders, key=_urgency)
    context = Context(register, link_base.rstrip("/"), test, revisions or {}, feed_links)
    payload = _CHANNELS[fmt].payload(ordered, context)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def _urgency(r: Reminder) -> tuple[int, date, str, str, datetime]:
    return (r.days_left, r.occurrence.key_date or date.min, r.occurrence.id, r.offset,
            _utc(r.instant))


def guess(url: str) -> tuple[Format, str]:
    """The format a URL's service takes, and why ("a Power Automate workflow URL"); `json`
    (the signed webhook) for a URL no channel recognises."""
    for fmt in _GUESSES:
        try:
            why = _CHANNELS[fmt].detect(url)
        except ValueError:  # a URL that does not parse ('http://[::1/'): the URL check
            continue  # then refuses it at its field, whatever the format
        if why is not None:
            return fmt, why
    return Format.JSON, "no chat service recognised in the URL: a signed JSON webhook"


def url_problems(fmt: Format, url: str) -> list[str]:
    """What is wrong with `url` as an address of the format's channel (empty: nothing)."""
    return _CHANNELS[fmt].problems(url)


def schemes(fmt: Format) -> tuple[str, ...]:
    """The URL schemes the format's addresses use."""
    return _CHANNELS[fmt].schemes


def target(fmt: Format, url: str) -> str:
    """The URL a message is posted to: the subscription's, or what its channel asks for
    (Discord's `?wait=true`, so that a message it could not save is an error)."""
    return _CHANNELS[fmt].target(url)


def answer(fmt: Format) -> Answer | None:
    """The channel's own reading of its receiver's answers, where the generic one (HTTP
    status alone) says less than the channel means; None: the generic one."""
    return _CHANNELS[fmt].answer


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a reminder's instant must be an aware datetime")
    return at.astimezone(UTC)


__all__ = ["Answer", "Context", "answer", "guess", "render", "schemes", "target",
           "url_problems"]
