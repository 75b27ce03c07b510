"""Reminders, from arithmetic to the wire.

Owns: when each reminder falls (`reminders`, pure), one
pure payload module per channel (`channels`: the signed JSON webhook, Slack, Microsoft Teams,
Discord, Mattermost, e-mail), and sending (`http` for webhooks, `smtp` for e-mail), with the
retry schedule (`retry`) and the masking of secrets (`masking`); `senders` puts every
transport behind one interface (`Sender`), so that the service sends a message without knowing
how it travels.

httpx and standardwebhooks are imported by `http` alone, smtplib by `smtp` alone; `http` only
when one of its names (`Client`, `headers`, `make_client`, `send`) is first asked for or
`Senders` opens: a command that sends nothing does not load them.
May import: feeds (an e-mail's calendar part is the feeds' events), model, timeline, listing,
wording, clock, errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from calendar_tool import doors
from calendar_tool.delivery.channels import guess, render
from calendar_tool.delivery.masking import MASK, SECRET_MASK, mask_url, new_secret, redact
from calendar_tool.delivery.reminders import (
    BEGINNING,
    Agenda,
    AgendaCache,
    change_notices,
    local_instant,
    occurrence_reminders,
    reach,
    reminders_between,
    review_reminders,
    subscription_problems,
)
from calendar_tool.delivery.retry import (
    DEFAULT_TIMEOUT,
    JITTER,
    MAX_RETRY_AFTER,
    RETRY_DELAYS,
    Attempt,
    Outcome,
    classify,
    parse_retry_after,
    retry_delay,
    retry_floor,
)
from calendar_tool.delivery.senders import Sender, Senders
from calendar_tool.delivery.smtp import SmtpServer

if TYPE_CHECKING:
    from calendar_tool.delivery.http import Client, headers, make_client, send

_HTTP = ("Client", "headers", "make_client", "send")


__getattr__ = doors.lazy(__name__, dict.fromkeys(_HTTP, "calendar_tool.delivery.http"), globals())

__all__ = [
    "BEGINNING",
    "DEFAULT_TIMEOUT",
    "JITTER",
    "MASK",
    "MAX_RETRY_AFTER",
    "RETRY_DELAYS",
    "SECRET_MASK",
    "Agenda",
    "AgendaCache",
    "Attempt",
    "Client",
    "Outcome",
    "Sender",
    "Senders",
    "SmtpServer",
    "change_notices",
    "classify",
    "guess",
    "headers",
    "local_instant",
    "make_client",
    "mask_url",
    "new_secret",
    "occurrence_reminders",
    "parse_retry_after",
    "reach",
    "redact",
    "reminders_between",
    "render",
    "retry_delay",
    "retry_floor",
    "review_reminders",
    "send",
    "subscription_problems",
]
