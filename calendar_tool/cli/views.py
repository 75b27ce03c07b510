"""Subscriptions, the delivery ledger and planned reminders as text a person reads, or JSON.

Secrets never reach these views: URLs go through `delivery.mask_url`, the signing secret is
never shown, and the ledger's errors were redacted when they were recorded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from calendar_tool import wording
from calendar_tool.clock import iso_utc
from calendar_tool.delivery import mask_url
from calendar_tool.listing import grid
from calendar_tool.model import Reminder, Subscription
from calendar_tool.service import AttemptView, DeliveryView, SubscriptionInfo


def _utc(value: datetime | None) -> str:
    """An instant in a table: readable, UTC (JSON uses `clock.iso_utc`)."""
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


def _filters(sub: Subscription) -> str:
    parts = [f"area={','.join(sorted(sub.areas))}" if sub.areas else "",
             f"actor={','.join(sorted(sub.actors))}" if sub.actors else "",
             f"kind={','.join(sorted(sub.kinds))}" if sub.kinds else ""]
    return " ".join(p for p in parts if p) or "everything"


def _offsets(sub: Subscription) -> str:
    if sub.review:
        return "weekly review"
    own = "entry's own" if sub.offsets is None else ",".join(str(o) for o in sub.offsets)
    return own + (",overdue" if sub.overdue else "") + (",estimated" if sub.estimated else "")


def subscription_json(info: SubscriptionInfo) -> dict[str, Any]:
    sub = info.subscription
    return {
        "name": sub.name, "url": mask_url(sub.url), "format": sub.format.value,
        "areas": sorted(sub.areas), "actors": sorted(sub.actors),
        "kinds": sorted(k.value for k in sub.kinds),
        "offsets": None if sub.offsets is None else [str(o) for o in sub.offsets],
        "overdue": sub.overdue, "time": sub.time_of_day.strftime("%H:%M"), "zone": sub.zone,
        "signed": sub.secret is not None, "enabled": sub.enabled,
        "disabled_reason": info.disabled_reason, "created_at": _iso(sub.created_at),
        "estimated": sub.estimated, "review": sub.review,
    }


def subscriptions_table(infos: Sequence[SubscriptionInfo]) -> str:
    rows = []
    for info in infos:
        sub = info.subscription
        state = "enabled" if sub.enabled else f"disabled: {info.disabled_reason or ''}"
        rows.append([sub.name, sub.format.value, mask_url(sub.url), _filters(sub),
                     _offsets(sub), f"{sub.time_of_day:%H:%M} {sub.zone}", state])
    return grid(("name", "format", "url", "filters", "offsets", "at", "state"), rows,
                "no subscriptions: add one with `calendar-tool subscribe add`")


def subscriptions_json(infos: Sequence[SubscriptionInfo]) -> str:
    return json.dumps([subscription_json(i) for i in infos], indent=2, ensure_ascii=False)


def plan_table(reminders: Sequence[Reminder], zones: dict[str, str]) -> str:
    """What a dry run would send: when (UTC and the subscription's local time), to whom,
    what."""
    rows = []
    for r in reminders:
        zone = zones.get(r.subscription, "UTC")
        local = r.instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
        rows.append([_utc(r.instant), f"{local} {zone}", r.subscription, r.notice.value,
                     r.offset, r.occurrence.id, wording.listed_date(r.occurrence)])
    return grid(("at (utc)", "local", "subscription", "type", "offset", "occurrence", "date"),
                rows, "nothing would be sent")


def deliveries_table(views: Sequence[DeliveryView], filtered: bool = False) -> str:
    """The ledger's rows `views` as a table; when there are none, whether the ledger is
    empty or none is of the `filtered` statuses or subscription."""
    rows = []
    for v in views:
        last = str(v.last_status) if v.last_status is not None else ""
        if v.last_error:
            last = f"{last} {v.last_error}".strip()
        nxt = f" next {_utc(v.next_attempt_at)}" if v.status == "retrying" else ""
        rows.append([_utc(v.remind_at), v.subscription, v.occurrence_id, v.offset,
                     v.status + nxt, str(v.attempts), last[:80], v.message_id])
    return grid(("remind at", "subscription", "occurrence", "offset", "status", "attempts",
                 "last answer", "webhook id"), rows,
                "no delivery matches" if filtered else "the ledger is empty")


def deliveries_json(views: Sequence[DeliveryView], attempts: Sequence[AttemptView]) -> str:
    by_message: dict[str, list[dict[str, Any]]] = {}
    for a in attempts:
        by_message.setdefault(a.message_id, []).append(
            {"number": a.number, "at": _iso(a.at), "status": a.status,
             "latency_ms": a.latency_ms, "error": a.error})
    return json.dumps([{
        "subscription": v.subscription, "occurrence": v.occurrence_id, "offset": v.offset,
        "type": v.notice, "remind_at": _iso(v.remind_at), "status": v.status,
        "webhook_id": v.message_id, "attempts": by_message.get(v.message_id, []),
        "sent_at": _iso(v.sent_at), "next_attempt_at": _iso(v.next_attempt_at),
    } for v in views], indent=2, ensure_ascii=False)
