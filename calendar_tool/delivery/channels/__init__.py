"""One pure module per channel builds its message body from reminders; this registry says
which module serves which format. A new channel is one module here plus a line in `_RENDER`."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from calendar_tool.delivery.channels import slack, webhook
from calendar_tool.model import Format, Register, Reminder

Payload = Callable[[Sequence[Reminder], Register, str], dict[str, Any]]

_RENDER: dict[Format, Payload] = {
    Format.JSON: webhook.payload,
    Format.SLACK: slack.payload,
}


def render(fmt: Format, reminders: Sequence[Reminder], register: Register, link_base: str) -> str:
    """The body of one message for one subscription: one reminder, or a digest of several.

    Deterministic, so that a retry sends the same bytes (and the same signature input): the time
    inside is the reminders' own, and their order is fixed here rather than by the caller.
    """
    if not reminders:
        raise ValueError("a message needs at least one reminder")
    if len({r.subscription for r in reminders}) != 1:
        raise ValueError("a message holds the reminders of one subscription")
    ordered = sorted(reminders, key=lambda r: (_utc(r.instant), r.occurrence.id, r.offset))
    base = link_base.rstrip("/")
    payload = _RENDER[fmt](ordered, register, base)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=False)



def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a reminder's instant must be an aware datetime")
    return at.astimezone(UTC)
