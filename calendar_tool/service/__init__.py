"""The use cases, as functions of what they need (register, store engine, senders, clock), so
that the command line, the scheduler and the server are thin shells over them, and the tests
hand in a real database, a real receiver and a clock they move.

Owns: the use cases: revisions and feeds (`feeds`), subscriptions and the ledger as people
see them (`subscriptions`), what reminders are owed and claiming them (`reminders`), sending
and leases (`sending`), what the page and the API list (`listing`).
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

The door is lazy: a name is looked up in its module when first asked for, so a command loads
what it uses (`subscribe list` neither httpx nor icalendar: BENCHMARKS.md, "Start-up").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from calendar_tool import doors

if TYPE_CHECKING:
    from calendar_tool.delivery import AgendaCache as AgendaCache
    from calendar_tool.delivery import Senders as Senders
    from calendar_tool.feeds import EventCache as EventCache
    from calendar_tool.feeds import Selection as Selection
    from calendar_tool.service.feeds import (
        KeptRevisions,
        kept_events,
        kept_hashes,
        publish_feeds,
        selection,
        sync,
    )
    from calendar_tool.service.listing import (
        Coming,
        Drawn,
        Shown,
        coming,
        drawn,
        listed,
        listed_lazily,
        selection_count,
        used,
    )
    from calendar_tool.service.reminders import (
        DEFAULT_CATCH_UP,
        dry_run,
        due_groups,
        enqueue,
        held,
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
        record_held,
        release_dead_leases,
        remind_now,
    )
    from calendar_tool.service.subscriptions import (
        SampleResult,
        add_subscription,
        attempts,
        check_subscription,
        guess_format,
        has_subscription,
        ledger,
        remove_subscription,
        sample_reminder,
        send_sample,
        subscription,
        subscriptions,
    )
    from calendar_tool.store import AttemptView as AttemptView
    from calendar_tool.store import Claimed as Claimed
    from calendar_tool.store import DeliveryView as DeliveryView
    from calendar_tool.store import Engine as Engine
    from calendar_tool.store import Result as Result
    from calendar_tool.store import StoreFile as StoreFile
    from calendar_tool.store import SubscriptionInfo as SubscriptionInfo
    from calendar_tool.store import revisions_written as revisions_written
    from calendar_tool.store import store_file as store_file

# The module each name of the door lives in. The caches a long-running process keeps between
# runs (`EventCache`, `AgendaCache`: see each) are made by the shells and passed back in.
_HOMES: dict[str, str] = {
    **dict.fromkeys(["KeptRevisions", "kept_events", "kept_hashes", "publish_feeds",
                     "selection", "sync"], "calendar_tool.service.feeds"),
    **dict.fromkeys(["Coming", "Drawn", "Shown", "coming", "drawn", "listed", "listed_lazily",
                     "selection_count", "used"], "calendar_tool.service.listing"),
    **dict.fromkeys(["DEFAULT_CATCH_UP", "dry_run", "due_groups", "enqueue", "held",
                     "pending_instants", "plan"], "calendar_tool.service.reminders"),
    **dict.fromkeys(["DEFAULT_BATCH", "DEFAULT_PACE", "DEFAULT_WORKERS", "Policy", "deliver",
                     "deliver_ready", "next_delivery", "open_senders", "owner_id",
                     "record_held", "release_dead_leases", "remind_now"],
                    "calendar_tool.service.sending"),
    **dict.fromkeys(["SampleResult", "add_subscription", "attempts", "check_subscription",
                     "guess_format", "has_subscription", "ledger", "remove_subscription",
                     "sample_reminder", "send_sample", "subscription", "subscriptions"],
                    "calendar_tool.service.subscriptions"),
    # `store_file`: the SQLite file of an engine, which a long-running process checks is still
    # the one it opened (None on PostgreSQL); `revisions_written`: whether the store's
    # revisions moved since a process last looked (a server's selected feeds).
    **dict.fromkeys(["Engine", "SubscriptionInfo", "DeliveryView", "AttemptView", "Result",
                     "Claimed", "StoreFile", "revisions_written", "store_file"],
                    "calendar_tool.store"),
    **dict.fromkeys(["Senders", "AgendaCache"], "calendar_tool.delivery"),
    **dict.fromkeys(["EventCache", "Selection"], "calendar_tool.feeds"),
}


__getattr__ = doors.lazy(__name__, _HOMES, globals())


def open_store(url: str, given_by: str = "the database URL") -> Engine:
    """The database at `url`, its schema created or migrated; StoreFailed when unusable
    (the message names `given_by`, what gave the URL, when it can never be used)."""
    from calendar_tool import store

    return store.open_store(url, given_by)


__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_CATCH_UP",
    "DEFAULT_PACE",
    "DEFAULT_WORKERS",
    "AgendaCache",
    "AttemptView",
    "Claimed",
    "Coming",
    "DeliveryView",
    "Drawn",
    "Engine",
    "EventCache",
    "KeptRevisions",
    "Policy",
    "Result",
    "SampleResult",
    "Selection",
    "Senders",
    "Shown",
    "StoreFile",
    "SubscriptionInfo",
    "add_subscription",
    "attempts",
    "check_subscription",
    "coming",
    "deliver",
    "deliver_ready",
    "drawn",
    "dry_run",
    "due_groups",
    "enqueue",
    "guess_format",
    "has_subscription",
    "held",
    "kept_events",
    "kept_hashes",
    "ledger",
    "listed",
    "listed_lazily",
    "next_delivery",
    "open_senders",
    "open_store",
    "owner_id",
    "pending_instants",
    "plan",
    "publish_feeds",
    "record_held",
    "release_dead_leases",
    "remind_now",
    "remove_subscription",
    "revisions_written",
    "sample_reminder",
    "selection",
    "selection_count",
    "send_sample",
    "store_file",
    "subscription",
    "subscriptions",
    "sync",
    "used",
]
