"""The JSON webhook body, signed per Standard Webhooks when the subscription has a secret.

The body is one message, holding one reminder or, when several fall due for one subscription
at once, a digest of them::

    {
      "type": "obligation.reminder" | "obligation.due" | "obligation.overdue"
              | "obligation.digest",
      "timestamp": "2002-12-01T09:00:00Z",
      "test": true,                      (only in a test message: `subscribe test`)
      "data": {
        "reminders": [
          {
            "type": "obligation.reminder" | "obligation.due" | "obligation.overdue"
                    | "obligation.confirmed" | "obligation.changed" | "obligation.review",
            "subscription": "team",
            "offset": "P30D" | "P0D" | "overdue" | "changed" | "review",
            "remind_at": "2002-12-01T09:00:00Z",
            "days_left": 30,
            "estimated": false,        # counted from an estimated date
            "counted_from": "2002-12-31",  # the day reminders count from (null: undated)
            "detail": null,            # a changed date: the day told last;
                                       # a review: why (estimated, rests-on-estimate, long-past)
            "url": "<link base>/obligations/<entry id>",
            "occurrence": { ...one object of `calendar-tool list --format json`... }
          }
        ]
      }
    }

`type` is the single reminder's notice, or `obligation.digest` for more than one. `timestamp` is
the instant of the earliest reminder (not the time of sending, so a retry carries the same
bytes); `days_left` counts the days from the subscriber's local day of the reminder to the
occurrence's day, negative once overdue. Reminders are ordered most urgent first: by days left,
then the occurrence's day, then its id, then the offset. `test` is there (true) only in a test
message, whose one reminder is about a real upcoming occurrence (or one invented for the test,
its title saying so). Like `list --format json`, fields are only ever added.

Headers on every message: `webhook-id` (the same on every retry of one message, so a receiver
drops a duplicate), and with a secret `webhook-timestamp` and `webhook-signature` (`v1,<base64
HMAC-SHA256 of "{id}.{timestamp}.{body}">`), which `standardwebhooks.Webhook(secret).verify`
checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from calendar_tool.clock import iso_utc
from calendar_tool.delivery.channels.common import Channel, Context
from calendar_tool.delivery.channels.links import entry_link
from calendar_tool.listing import occurrence_json
from calendar_tool.model import Reminder

DIGEST = "obligation.digest"


def payload(reminders: Sequence[Reminder], context: Context) -> dict[str, Any]:
    """One reminder, or a digest of several (`obligation.digest`)."""
    kind = reminders[0].notice.value if len(reminders) == 1 else DIGEST
    register, base = context.register, context.base
    out: dict[str, Any] = {
        "type": kind,
        "timestamp": iso_utc(min(r.instant for r in reminders)),
    }
    if context.test:
        out["test"] = True
    out["data"] = {"reminders": [
        {
            "type": r.notice.value,
            "subscription": r.subscription,
            "offset": r.offset,
            "remind_at": iso_utc(r.instant),
            "days_left": r.days_left,
            "estimated": r.estimated,
            "counted_from": r.counted_from or None,
            "detail": r.detail,
            "url": entry_link(base, r),
            "occurrence": occurrence_json(r.occurrence, register),
        }
        for r in reminders
    ]}
    return out


CHANNEL = Channel(payload)

