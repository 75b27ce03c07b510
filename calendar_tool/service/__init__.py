"""The use cases, as functions of what they need (register, store engine, senders, clock), so
that the command line, the scheduler and the server are thin shells over them, and the tests
hand in a real database, a real receiver and a clock they move.

Owns: the use cases: revisions and feeds (`feeds`), subscriptions and the ledger as people
see them (`subscriptions`), what reminders are owed and claiming them (`reminders`), sending
and leases (`sending`).
May import: register, feeds, delivery, store, timeline, listing, wording, model, clock, config,
errors.

Reminders go through two steps, each safe to run from any number of processes at once:

1. `enqueue` computes the reminders that have fallen due since each subscription was last
   looked at and claims them in the ledger, one message per subscription and hour (a digest
   when several fall in the same hour). Reminders older than the catch-up window are recorded
   as skipped, not sent: a scheduler that was down for a week does not flood a channel.
2. `deliver_ready` takes due messages (one per subscription at a time, paced), sends each
   once and records the attempt, taking more as senders come free, until none is due; a
   failure is retried later on the schedule in `delivery.retry`. (`deliver` is one round of
   the same steps: take, send, record.)

The shells never open the store or a transport themselves: `open_store` and `open_senders`
hand them what they pass back in, and the types they hold are named here.
"""

from __future__ import annotations

from calendar_tool import delivery, feeds, store
from calendar_tool.service.feeds import (
    KeptRevisions,
    feed_revisions,
    publish_feeds,
    selection,
    sync,
)
from calendar_tool.service.reminders import (
    DEFAULT_CATCH_UP,
    dry_run,
    due_groups,
    enqueue,
    pending_instants,
    plan,
)
from calendar_tool.service.sending import (
    DEFAULT_BATCH,
    DEFAULT_PACE,
    DEFAULT_WORKERS,
    Policy,
    deliver,
    deliver_ready,
    next_delivery,
    open_senders,
    owner_id,
    release_dead_leases,
    remind_now,
)
from calendar_tool.service.subscriptions import (
    SampleResult,
    add_subscription,
    attempts,
    check_subscription,
    has_subscription,
    ledger,
    remove_subscription,
    send_sample,
    subscription,
    subscriptions,
)

Engine = store.Engine
Senders = delivery.Senders
# The caches a long-running process keeps between runs (see each): made by the shells, passed
# back in.
EventCache = feeds.EventCache
AgendaCache = delivery.AgendaCache
SubscriptionInfo = store.SubscriptionInfo
DeliveryView = store.DeliveryView
AttemptView = store.AttemptView
Result = store.Result
Claimed = store.Claimed


def open_store(url: str) -> Engine:
    """The database at `url`, its schema created or migrated; StoreFailed when unusable."""
    return store.open_store(url)


StoreFile = store.StoreFile


def store_file(engine: Engine) -> StoreFile | None:
    """The SQLite file of `engine`, to check under a long-running process that it is still
    the one opened (None on PostgreSQL)."""
    return store.store_file(engine)


__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_CATCH_UP",
    "DEFAULT_PACE",
    "DEFAULT_WORKERS",
    "AgendaCache",
    "AttemptView",
    "Claimed",
    "DeliveryView",
    "Engine",
    "EventCache",
    "KeptRevisions",
    "Policy",
    "Result",
    "SampleResult",
    "Senders",
    "StoreFile",
    "SubscriptionInfo",
    "add_subscription",
    "attempts",
    "check_subscription",
    "deliver",
    "deliver_ready",
    "dry_run",
    "due_groups",
    "enqueue",
    "feed_revisions",
    "has_subscription",
    "ledger",
    "next_delivery",
    "open_senders",
    "open_store",
    "owner_id",
    "pending_instants",
    "plan",
    "publish_feeds",
    "release_dead_leases",
    "remind_now",
    "remove_subscription",
    "selection",
    "send_sample",
    "store_file",
    "subscription",
    "subscriptions",
    "sync",
]
