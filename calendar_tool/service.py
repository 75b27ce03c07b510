"""The use cases, as functions of what they need (register, store engine, HTTP client, clock),
so that the command line and the scheduler are thin shells over them and the tests can hand in
a real database, a real receiver and a clock they move.

Reminders go through two steps, each safe to run from any number of processes at once:

1. `enqueue` computes the reminders that have fallen due since each subscription was last
   looked at and claims them in the ledger, one message per subscription and hour (a digest
   when several fall in the same hour). Reminders older than the catch-up window are recorded
   as skipped, not sent: a scheduler that was down for a week does not flood a channel.
2. `deliver` takes due messages (one per subscription at a time, paced), sends each once and
   records the attempt; a failure is retried later on the schedule in `notify`.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from calendar_tool import notify, revisions, store
from calendar_tool.clock import Clock
from calendar_tool.errors import DeliveryFailed, SubscriptionInvalid
from calendar_tool.model import Register, Revision
from calendar_tool.publish import PublishReport, publish
from calendar_tool.reminders import (
    BEGINNING,
    Format,
    Reminder,
    Subscription,
    reach,
    reminders_between,
    subscription_problems,
)
from calendar_tool.timeline import DEFAULT_HORIZON_YEARS, occurrences

DEFAULT_CATCH_UP = timedelta(hours=24)
# Slack takes about one message a second per webhook and answers a burst with 429.
DEFAULT_PACE = timedelta(seconds=1)
DEFAULT_BATCH = 100
DEFAULT_WORKERS = 8


def owner_id() -> str:
    """Who holds a lease: host, process and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def release_dead_leases(engine: store.Engine, now: datetime,
                        alive: Callable[[int], bool] = _pid_alive) -> int:
    """Release the leases of senders on this host whose process is gone (killed with -9, or
    the machine rebooted), so that a restarted scheduler sends their messages at once rather
    than when the leases run out. A sender on another host, or one whose pid now belongs to
    another process, cannot be told from a live one: its leases run out on their own."""
    host = socket.gethostname()
    dead = []
    for owner in store.lease_owners(engine, now):
        parts = owner.rsplit(":", 2)  # as owner_id writes it
        if len(parts) == 3 and parts[0] == host and parts[1].isdigit() \
                and not alive(int(parts[1])):
            dead.append(owner)
    return store.release(engine, dead)


# --- revisions and feeds ---------------------------------------------------------------------

def sync(engine: store.Engine, register: Register, now: datetime) -> dict[str, Revision]:
    """Bring the entries' snapshots in the store up to date with the register."""
    old = store.load_revisions(engine)
    new = revisions.next_revisions(old, register, now)
    store.save_revisions(engine, old, new)
    return new


def publish_feeds(engine: store.Engine, register: Register, out_dir: Path, clock: Clock,
                  horizon_years: int = DEFAULT_HORIZON_YEARS) -> PublishReport:
    """Sync the revisions, then write the feeds with them."""
    revs = sync(engine, register, clock.now())
    return publish(register, revs, out_dir, clock, horizon_years)


# --- subscriptions ---------------------------------------------------------------------------

def check_subscription(sub: Subscription, register: Register) -> None:
    problems = subscription_problems(sub, register)
    if problems:
        raise SubscriptionInvalid(problems)


def add_subscription(engine: store.Engine, register: Register, sub: Subscription
                     ) -> Subscription:
    """Check and store a subscription; a JSON one gets a new signing secret (returned once)."""
    check_subscription(sub, register)
    if sub.format is Format.JSON and sub.secret is None:
        sub = replace(sub, secret=notify.new_secret())
    store.add_subscription(engine, sub)
    return sub


@dataclass(frozen=True)
class SampleResult:
    status: int | None
    latency: float
    error: str | None


def send_sample(sub: Subscription, register: Register, client: notify.Client, clock: Clock,
                link_base: str) -> SampleResult:
    """Send one sample reminder (the subscription's next one, or any dated occurrence) and
    report the answer. Not recorded in the ledger: it is not a reminder anyone is owed."""
    now = clock.now()
    sample = _sample(register, sub, now)
    body = notify.render(sub.format, [sample], register, link_base)
    message_id = f"msg_test_{uuid.uuid4().hex}"
    attempt = notify.send(client, sub.url, body, notify.headers(message_id, body, now,
                                                                  sub.secret), now, sub.secret)
    result = SampleResult(attempt.status, attempt.latency, attempt.error)
    if attempt.outcome is not notify.Outcome.SENT:
        what = f"HTTP {attempt.status}" if attempt.status else attempt.error
        raise DeliveryFailed(f"the receiver of {sub.name!r} answered {what} "
                             f"after {attempt.latency:.2f} s")
    return result


def _sample(register: Register, sub: Subscription, now: datetime) -> Reminder:
    anyone = replace(sub, created_at=BEGINNING, areas=frozenset(),
                     actors=frozenset(), kinds=frozenset(), enabled=True)
    for who in (replace(sub, created_at=now, enabled=True), anyone):
        found = plan(register, [who], now, now + timedelta(days=400))
        if found:
            return found[0]
    found = plan(register, [anyone], BEGINNING, now)
    if not found:
        raise DeliveryFailed("the register has no dated occurrence to build a sample from")
    return found[-1]


# --- reminders -------------------------------------------------------------------------------

def plan(register: Register, subs: Sequence[Subscription], start: datetime, end: datetime
         ) -> list[Reminder]:
    """The reminders the subscriptions are owed with start <= instant < end."""
    until = (end + reach(register, subs)).date()
    return reminders_between(register, occurrences(register, until), subs, start, end)


def dry_run(engine: store.Engine, register: Register, subs: Sequence[Subscription],
            start: datetime, end: datetime) -> tuple[list[Reminder], int]:
    """What the subscriptions' rules produce in the window, leaving out what the ledger
    already holds (their count is returned too). A subscription's creation time is ignored
    here, so that an admin can preview any period."""
    found = plan(register, [replace(s, created_at=BEGINNING) for s in subs], start, end)
    done = store.ledger_keys(engine, since=start)
    todo = [r for r in found if r.key not in done]
    return todo, len(found) - len(todo)


def pending_instants(engine: store.Engine, register: Register, start: datetime, end: datetime
                     ) -> list[datetime]:
    """The distinct instants in [start, end) at which the enabled subscriptions are owed a
    reminder the ledger does not hold yet: when the scheduler must wake."""
    subs = [i.subscription for i in store.subscriptions(engine, enabled_only=True)]
    if not subs:
        return []
    held = store.ledger_keys(engine, since=start)
    return sorted({r.instant for r in plan(register, subs, start, end) if r.key not in held})


def enqueue(engine: store.Engine, register: Register, clock: Clock, link_base: str,
            catch_up: timedelta = DEFAULT_CATCH_UP) -> store.Claimed:
    """Claim every reminder due by now that the ledger does not hold yet.

    Each subscription is looked at from where it was last looked at (its creation, the first
    time), and always over the whole catch-up window, so that a reminder an edit of the register
    placed in the recent past is still sent. Due reminders within the window are queued; older
    ones are recorded as skipped."""
    now = clock.now()
    infos = store.subscriptions(engine, enabled_only=True)
    if not infos:
        return store.Claimed(0, 0, 0)
    subs = {i.subscription.name: i.subscription for i in infos}
    late = now - catch_up
    end = now + timedelta(microseconds=1)  # due at `now` counts
    starts = {i.subscription.name: min(i.checked_until or i.subscription.created_at, late)
              for i in infos}
    occs = occurrences(register, (end + reach(register, subs.values())).date())
    # What the ledger already holds is left out here, so that a run every minute does not
    # try to claim the whole catch-up window again; a claim that races another still loses
    # on the unique key.
    held = store.ledger_keys(engine, since=min(starts.values()))
    groups: list[tuple[Sequence[Reminder], bool]] = []
    for name, sub in subs.items():
        owed = [r for r in reminders_between(register, occs, [sub], starts[name], end)
                if r.key not in held]
        skipped = [r for r in owed if r.instant < late]
        if skipped:
            groups.append((skipped, True))
        by_hour: dict[datetime, list[Reminder]] = {}
        for r in owed:
            if r.instant >= late:
                by_hour.setdefault(r.instant.replace(minute=0, second=0, microsecond=0),
                                   []).append(r)
        groups.extend((rs, False) for _, rs in sorted(by_hour.items()))

    def render(rs: Sequence[Reminder]) -> str:
        return notify.render(subs[rs[0].subscription].format, rs, register, link_base)

    return store.claim(engine, groups, render, now, dict.fromkeys(subs, now))


@dataclass(frozen=True)
class Policy:
    """How `deliver` sends: per-attempt timeout, pacing per subscription, batch and threads."""

    timeout: float = notify.DEFAULT_TIMEOUT
    pace: timedelta = DEFAULT_PACE
    batch: int = DEFAULT_BATCH
    workers: int = DEFAULT_WORKERS

    @property
    def lease(self) -> timedelta:
        """Long enough for a whole batch to be sent, with room to record it. A sender that
        dies leaves its messages to be taken again after this."""
        rounds = -(-self.batch // self.workers)
        return timedelta(seconds=self.timeout * rounds + 30)


def _outcome(message: store.Outbound, attempt: notify.Attempt, at: datetime,
             rng: random.Random) -> store.Result:
    """What the ledger records for one attempt: sent, dead, or pending until the next try."""
    state, next_at, disable = "dead", None, None
    if attempt.outcome is notify.Outcome.SENT:
        state = "sent"
    elif attempt.outcome is notify.Outcome.GONE:
        disable = f"the receiver answered 410 Gone at {at.isoformat()}"
    elif attempt.outcome is notify.Outcome.RETRY:
        delay = notify.retry_delay(message.attempts + 1, attempt.retry_after, rng)
        if delay is not None:
            state, next_at = "pending", at + delay
    return store.Result(message.id, at, attempt.status, attempt.latency, attempt.error, state,
                        next_at, disable, message.subscription, message.attempts + 1)


def deliver(engine: store.Engine, client: notify.Client, clock: Clock, owner: str,
            policy: Policy = Policy(), rng: random.Random | None = None) -> list[store.Result]:
    """One round: take the messages due now and send each once, concurrently across
    subscriptions (one message per subscription per round keeps each one paced)."""
    rng = rng or random.Random()
    taken = store.take(engine, owner, clock.now(), policy.lease, policy.pace, policy.batch)
    if not taken:
        return []

    def send(m: store.Outbound) -> store.Result:
        at = clock.now()
        attempt = notify.send(client, m.url, m.body, notify.headers(m.id, m.body, at, m.secret),
                              at, m.secret)
        return _outcome(m, attempt, at, rng)

    if policy.workers > 1 and len(taken) > 1:
        with ThreadPoolExecutor(max_workers=min(policy.workers, len(taken))) as pool:
            results = list(pool.map(send, taken))
    else:
        results = [send(m) for m in taken]
    store.record(engine, owner, results)
    return results


def deliver_ready(engine: store.Engine, client: notify.Client, clock: Clock, owner: str,
                  sleep: Callable[[float], object], policy: Policy = Policy(),
                  rng: random.Random | None = None,
                  stopping: Callable[[], bool] = lambda: False) -> list[store.Result]:
    """Rounds of `deliver` until nothing more is due now. Waits out the pacing between
    messages to one subscription (with `sleep`: tests hand in one that moves their clock), but
    not a retry scheduled for later: that is the scheduler's to wait for.

    `stopping` is asked between rounds: a round in flight is finished and recorded, and what
    is left stays pending for the next start (or another process)."""
    done: list[store.Result] = []
    while not stopping():
        results = deliver(engine, client, clock, owner, policy, rng)
        done.extend(results)
        if results:
            continue
        now = clock.now()
        then = store.next_sendable(engine, now)
        if then is None or then > now + policy.pace:
            return done
        sleep(max((then - now).total_seconds(), 0.0))
    return done
