"""Reminders, from arithmetic to the wire.

Owns: when each reminder falls (`reminders`, pure), one
pure payload module per channel (`channels`), and sending (`http`), with the retry schedule
(`retry`) and the masking of secrets (`masking`); `senders` puts every transport behind one
interface (`Sender`), so that the service sends a message without knowing how it travels.

httpx and standardwebhooks are imported by `http` alone.
May import: model, timeline, listing, wording, clock, errors.
"""

from __future__ import annotations

from calendar_tool.delivery.channels import render
from calendar_tool.delivery.http import Client, headers, make_client, send
from calendar_tool.delivery.masking import MASK, SECRET_MASK, mask_url, new_secret, redact
from calendar_tool.delivery.reminders import (
    BEGINNING,
    Agenda,
    AgendaCache,
    local_instant,
    occurrence_reminders,
    reach,
    reminders_between,
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

__all__ = [
    "BEGINNING", "DEFAULT_TIMEOUT", "JITTER", "MASK", "MAX_RETRY_AFTER", "RETRY_DELAYS",
    "SECRET_MASK", "Agenda", "AgendaCache", "Attempt", "Client", "Outcome", "Sender", "Senders",
    "classify",
    "headers", "local_instant", "make_client", "mask_url", "new_secret", "occurrence_reminders",
    "parse_retry_after", "reach", "redact", "reminders_between", "render", "retry_delay",
    "retry_floor", "send", "subscription_problems",
]
