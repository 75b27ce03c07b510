"""The use cases, as functions of what they need (register, store engine, HTTP client, clock),
so that the command line and the scheduler are thin shells over them and the tests can hand in
a real database, a real receiver and a clock they move.

Reminders go through two steps, each safe to run from any number of processes at once:

1. `enqueue` computes the reminders that have fallen due since each subscription was last
   looked at and claims them in the ledger, one message per subscription and hour (a digest
   when several fall in the same hour). Reminders older than the catch-up window are recorded
   as skipped, not sent: a scheduler that was down for a week does not flood a channel.
2. `deliver_ready` takes due messages (one per subscription at a time, paced), sends each
   once and records the attempt, taking more as senders come free, until none is due; a
   failure is retried later on the schedule in `notify`. (`deliver` is one round of the same
   steps: take, send, record.)
"""

from __future__ import annotations

import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Container, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from calendar_tool import delivery, store
from calendar_tool.clock import Clock
from calendar_tool.delivery import (
    BEGINNING,
    Agenda,
    AgendaCache,
    reach,
    subscription_problems,
)
from calendar_tool.errors import DeliveryFailed, SubscriptionInvalid
from calendar_tool.feeds import EventCache, Hashes, PublishReport, next_revisions, publish
from calendar_tool.model import Format, Register, Reminder, Revision, Subscription
from calendar_tool.register import Edit
from calendar_tool.timeline import DEFAULT_HORIZON_YEARS

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

class KeptRevisions:
    """The store's revisions as this process last read or wrote them, for a process that
    syncs again after every edit (`run`): reading 100,000 rows back each time was a fifth of
    a reload.

    What invalidates them: a write by another process (several `run` processes may share one
    PostgreSQL), seen in the store's count of revision writes (`store.revisions_written`)
    having moved by more than this process's own writes.

    One sync at a time uses them: `Runner.publish` holds its lock around the sync."""

    def __init__(self) -> None:
        self.written: int | None = None  # the store's count when `revisions` were current
        self.revisions: dict[str, Revision] = {}
        self.register: Register | None = None  # the register they were computed for
        self.hashes = Hashes()  # the entries' content hashes, by entry


def sync(engine: store.Engine, register: Register, now: datetime,
         kept: KeptRevisions | None = None, edit: Edit | None = None) -> dict[str, Revision]:
    """Bring the entries' snapshots in the store up to date with the register (reading
    them from `kept` while no one else has written them; and when the register is an `edit`
    of the one they were computed for, hashing only the entries the edit may have changed)."""
    if kept is None:
        old = store.load_revisions(engine)
        new = next_revisions(old, register, now)
        store.save_revisions(engine, old, new)
        return new
    before = store.revisions_written(engine)
    current = kept.written == before
    old = kept.revisions if current else store.load_revisions(engine)
    only = edit.ids if current and edit is not None and edit.follows(kept.register) else None
    new = next_revisions(old, register, now, only, kept.hashes)
    kept.hashes.only(register.entries, unless_within=len(only or ()) * 4)
    mine = 1 if store.save_revisions(engine, old, new, only) else 0
    after = store.revisions_written(engine)
    # Any other count means another process wrote in between: read them again next time.
    kept.written = after if after == before + mine else None
    kept.revisions, kept.register = new, register
    return new


def publish_feeds(engine: store.Engine, register: Register, out_dir: Path, clock: Clock,
                  horizon_years: int = DEFAULT_HORIZON_YEARS, cache: EventCache | None = None,
                  kept: KeptRevisions | None = None, edit: Edit | None = None
                  ) -> PublishReport:
    """Sync the revisions, then write the feeds with them (reusing the events `cache` holds
    from the last run and the revisions `kept`, in a process that keeps them; `edit`: how
    the register differs from the one published before, when the reader knows)."""
    revs = sync(engine, register, clock.now(), kept, edit)
    return publish(register, revs, out_dir, clock, horizon_years, cache)


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
        sub = replace(sub, secret=delivery.new_secret())
    store.add_subscription(engine, sub)
    return sub


@dataclass(frozen=True)
class SampleResult:
    status: int | None
    latency: float
    error: str | None


def send_sample(sub: Subscription, register: Register, client: delivery.Client, clock: Clock,
                link_base: str) -> SampleResult:
    """Send one sample reminder (the subscription's next one, or any dated occurrence) and
    report the answer. Not recorded in the ledger: it is not a reminder anyone is owed."""
    now = clock.now()
    sample = _sample(register, sub, now)
    body = delivery.render(sub.format, [sample], register, link_base)
    message_id = f"msg_test_{uuid.uuid4().hex}"
    attempt = delivery.send(client, sub.url, body, delivery.headers(message_id, body, now,
                                                                  sub.secret), now, sub.secret)
    result = SampleResult(attempt.status, attempt.latency, attempt.error)
    if attempt.outcome is not delivery.Outcome.SENT:
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

def plan(register: Register, subs: Sequence[Subscription], start: datetime, end: datetime,
         agendas: AgendaCache | None = None) -> list[Reminder]:
    """The reminders the subscriptions are owed with start <= instant < end. `agendas` keeps
    the register's expanded occurrences between calls (the scheduler's; see `AgendaCache`)."""
    return _agenda(register, subs, end, agendas).between(subs, start, end)


def _agenda(register: Register, subs: Sequence[Subscription], end: datetime,
            agendas: AgendaCache | None) -> Agenda:
    """An agenda reaching far enough for the subscriptions' windows ending at `end`."""
    if agendas is not None:
        return agendas.reaching(register, subs, end)
    return Agenda.expand(register, (end + reach(register, subs)).date())


def dry_run(engine: store.Engine, register: Register, subs: Sequence[Subscription],
            start: datetime, end: datetime) -> tuple[list[Reminder], int]:
    """What the subscriptions' rules produce in the window, leaving out what the ledger
    already holds (their count is returned too). A subscription's creation time is ignored
    here, so that an admin can preview any period."""
    found = plan(register, [replace(s, created_at=BEGINNING) for s in subs], start, end)
    done = store.ledger_keys(engine, since=start)
    todo = [r for r in found if r.key not in done]
    return todo, len(found) - len(todo)


def pending_instants(engine: store.Engine, register: Register, start: datetime, end: datetime,
                     agendas: AgendaCache | None = None) -> list[datetime]:
    """The distinct instants in [start, end) at which the enabled subscriptions are owed a
    reminder the ledger does not hold yet: when the scheduler must wake."""
    subs = [i.subscription for i in store.subscriptions(engine, enabled_only=True)]
    if not subs:
        return []
    held = store.ledger_keys(engine, since=start)
    return sorted({r.instant for r in plan(register, subs, start, end, agendas)
                   if r.key not in held})


def enqueue(engine: store.Engine, register: Register, clock: Clock, link_base: str,
            catch_up: timedelta = DEFAULT_CATCH_UP, agendas: AgendaCache | None = None
            ) -> store.Claimed:
    """Claim every reminder due by now that the ledger does not hold yet.

    Each subscription is looked at from where it was last looked at (its creation, the first
    time), and always over the whole catch-up window, so that a reminder an edit of the register
    placed in the recent past is still sent. Due reminders within the window are queued; older
    ones are recorded as skipped. `agendas` as for `plan`."""
    now = clock.now()
    infos = store.subscriptions(engine, enabled_only=True)
    if not infos:
        return store.Claimed(0, 0, 0)
    subs = {i.subscription.name: i.subscription for i in infos}
    # What the ledger already holds is left out here, so that a run every minute does not
    # try to claim the whole catch-up window again; a claim that races another still loses
    # on the unique key.
    held = store.ledger_keys(engine, since=min(_looked_from(i, now - catch_up) for i in infos))
    groups = due_groups(register, infos, held, now, catch_up, agendas)

    def render(rs: Sequence[Reminder]) -> str:
        return delivery.render(subs[rs[0].subscription].format, rs, register, link_base)

    return store.claim(engine, groups, render, now, dict.fromkeys(subs, now))


def _looked_from(info: store.SubscriptionInfo, late: datetime) -> datetime:
    return min(info.checked_until or info.subscription.created_at, late)


def due_groups(register: Register, infos: Sequence[store.SubscriptionInfo],
               held: Container[tuple[str, str, str]], now: datetime,
               catch_up: timedelta = DEFAULT_CATCH_UP, agendas: AgendaCache | None = None
               ) -> list[tuple[Sequence[Reminder], bool]]:
    """What `enqueue` claims, as `store.claim` takes it: for each subscription in turn, the
    reminders due by `now` since it was last looked at (and over the whole catch-up window)
    that `held` leaves out; those older than the window in one group, to record as skipped,
    the others in one group per hour, to send. Nothing here reads the store."""
    late = now - catch_up
    end = now + timedelta(microseconds=1)  # due at `now` counts
    subs = [i.subscription for i in infos]
    agenda = _agenda(register, subs, end, agendas)
    groups: list[tuple[Sequence[Reminder], bool]] = []
    found = agenda.each((i.subscription, _looked_from(i, late), end) for i in infos)
    for owed_now in found:
        owed = [r for r in owed_now if r.key not in held]
        skipped = [r for r in owed if r.instant < late]
        if skipped:
            groups.append((skipped, True))
        by_hour: dict[datetime, list[Reminder]] = {}
        for r in owed:
            if r.instant >= late:
                by_hour.setdefault(r.instant.replace(minute=0, second=0, microsecond=0),
                                   []).append(r)
        groups.extend((rs, False) for _, rs in sorted(by_hour.items()))
    return groups


@dataclass(frozen=True)
class Policy:
    """How `deliver_ready` (and `deliver`) send: per-attempt timeout, pacing per subscription,
    batch and threads."""

    timeout: float = delivery.DEFAULT_TIMEOUT
    pace: timedelta = DEFAULT_PACE
    batch: int = DEFAULT_BATCH
    workers: int = DEFAULT_WORKERS

    @property
    def refill(self) -> int:
        """`deliver_ready` takes the next batch when this few messages are left to send, so
        that the threads have work while the ledger is read and written."""
        return max(self.workers, self.batch // 2)

    @property
    def lease(self) -> timedelta:
        """Long enough for a message to wait for those taken before it (a batch, and the
        `refill` left of the one before) and be sent, with room to record it. A sender that
        dies leaves its messages to be taken again after this."""
        rounds = -(-(self.batch + self.refill) // self.workers)
        return timedelta(seconds=self.timeout * rounds + 30)


def _outcome(message: store.Outbound, attempt: delivery.Attempt, at: datetime,
             rng: random.Random) -> store.Result:
    """What the ledger records for one attempt: sent, dead, or pending until the next try."""
    state, next_at, disable = "dead", None, None
    if attempt.outcome is delivery.Outcome.SENT:
        state = "sent"
    elif attempt.outcome is delivery.Outcome.GONE:
        disable = f"the receiver answered 410 Gone at {at.isoformat()}"
    elif attempt.outcome is delivery.Outcome.RETRY:
        delay = delivery.retry_delay(message.attempts + 1, attempt.retry_after, rng)
        if delay is not None:
            state, next_at = "pending", at + delay
    return store.Result(message.id, at, attempt.status, attempt.latency, attempt.error, state,
                        next_at, disable, message.subscription, message.attempts + 1)


def _sender(client: delivery.Client, clock: Clock, rng: random.Random
            ) -> Callable[[store.Outbound], store.Result]:
    def send(m: store.Outbound) -> store.Result:
        at = clock.now()
        attempt = delivery.send(client, m.url, m.body, delivery.headers(m.id, m.body, at, m.secret),
                              at, m.secret)
        return _outcome(m, attempt, at, rng)

    return send


def deliver(engine: store.Engine, client: delivery.Client, clock: Clock, owner: str,
            policy: Policy = Policy(), rng: random.Random | None = None) -> list[store.Result]:
    """One round: take the messages due now and send each once, concurrently across
    subscriptions (one message per subscription per round keeps each one paced)."""
    rng = rng or random.Random()
    taken = store.take(engine, owner, clock.now(), policy.lease, policy.pace, policy.batch)
    if not taken:
        return []
    send = _sender(client, clock, rng)
    if policy.workers > 1 and len(taken) > 1:
        with ThreadPoolExecutor(max_workers=min(policy.workers, len(taken))) as pool:
            results = list(pool.map(send, taken))
    else:
        results = [send(m) for m in taken]
    store.record(engine, owner, results)
    return results


class _Sending:
    """The messages handed to the sending threads, and the answers they came back with."""

    def __init__(self, pool: ThreadPoolExecutor,
                 send: Callable[[store.Outbound], store.Result]) -> None:
        self._pool = pool
        self._send = send
        self._changed = threading.Condition()
        self._sending: dict[Future[store.Result], store.Outbound] = {}
        self._answered: list[store.Result] = []
        self._failed: BaseException | None = None
        self._wake_at = 0  # the waiter wants to know when at most this many are left

    def submit(self, messages: Sequence[store.Outbound]) -> None:
        for m in messages:
            future = self._pool.submit(self._send, m)
            with self._changed:
                self._sending[future] = m
            future.add_done_callback(self._finished)

    def _finished(self, future: Future[store.Result]) -> None:
        with self._changed:
            self._sending.pop(future, None)
            if not future.cancelled():
                error = future.exception()
                if error is None:
                    self._answered.append(future.result())
                elif self._failed is None:
                    self._failed = error
            # Only when the waiter's condition may hold: not one wake-up per answer.
            if len(self._sending) <= self._wake_at or self._failed is not None:
                self._changed.notify_all()

    def count(self) -> int:
        with self._changed:
            return len(self._sending)

    def subscriptions(self) -> set[str]:
        with self._changed:
            return {m.subscription for m in self._sending.values()}

    def answered(self, least: int = 0) -> list[store.Result]:
        """The answers since the last call, if there are at least `least` of them; raises
        what a sending thread raised."""
        with self._changed:
            if self._failed is not None:
                raise self._failed
            if len(self._answered) < max(least, 1):
                return []
            out, self._answered = self._answered, []
        return out

    def wait(self, most: int, timeout: float) -> None:
        """Until at most `most` messages are left to send, or `timeout` seconds."""
        with self._changed:
            self._wake_at = most
            self._changed.wait_for(
                lambda: len(self._sending) <= most or self._failed is not None, timeout)

    def cancel(self) -> list[store.Outbound]:
        """Take back the messages no thread has started on."""
        with self._changed:
            queued = list(self._sending.items())
        return [m for future, m in queued if future.cancel()]


# How often a sender waiting on its threads asks whether it should stop.
_STOP_CHECK = 0.1
# How long a sender waits for rows another sender holds, rather than asking again at once.
_LOCKED = 0.05


def deliver_ready(engine: store.Engine, client: delivery.Client, clock: Clock, owner: str,
                  sleep: Callable[[float], object], policy: Policy = Policy(),
                  rng: random.Random | None = None,
                  stopping: Callable[[], bool] = lambda: False) -> list[store.Result]:
    """Send what is due now until nothing more is. Waits out the pacing between messages to
    one subscription (with `sleep`: tests hand in one that moves their clock), but not a
    retry scheduled for later: that is the scheduler's to wait for.

    The ledger is read and written while the threads send: the next batch is taken when
    `policy.refill` messages of the last one are left to send, and the answers that came
    back meanwhile are recorded then. A subscription still being sent to is passed over, so
    that it gets one message at a time whatever the pacing. Sending a batch, then recording
    it and taking the next, left the threads idle for as long as the ledger took.

    `stopping` is asked while sending: the messages being sent are finished and recorded,
    those no thread has started on are handed back, and what is left stays pending for the
    next start (or another process)."""
    rng = rng or random.Random()
    done: list[store.Result] = []
    with ThreadPoolExecutor(max_workers=policy.workers) as pool:
        sending = _Sending(pool, _sender(client, clock, rng))
        try:
            more = True  # the last take found something: there may be more
            locked_out = False
            while True:
                stop = stopping()
                if stop:
                    returned = sending.cancel()
                    if returned:
                        store.give_back(engine, owner, [m.id for m in returned])
                elif more and sending.count() <= policy.refill:
                    busy = sending.subscriptions()
                    taken = store.take(engine, owner, clock.now(), policy.lease, policy.pace,
                                       policy.batch, busy)
                    sending.submit(taken)
                    more = bool(taken)
                    # Nothing taken with nothing of ours in flight while something is due:
                    # another sender holds those rows for a moment (PostgreSQL's walk skips
                    # locked rows rather than waiting for them).
                    locked_out = not taken and not busy
                # Read before collecting: an answer that lands in between is collected on
                # the next turn, not lost. A transaction per batch of answers, not per
                # wake-up; all of them once idle or stopping.
                idle = sending.count() == 0
                results = sending.answered(0 if idle or stop else policy.refill)
                if results:
                    store.record(engine, owner, results)
                    done.extend(results)
                if not idle:
                    sending.wait(policy.refill if more and not stop else 0, _STOP_CHECK)
                    continue
                if stop:
                    break
                if more:
                    continue
                now = clock.now()
                then = store.next_sendable(engine, now)
                if then is None or then > now + policy.pace:
                    break
                sleep(max((then - now).total_seconds(), _LOCKED if locked_out else 0.0))
                more = True
        finally:
            # Leaving on an error: what no thread has started is not sent (its lease runs
            # out), what is being sent is finished.
            pool.shutdown(wait=True, cancel_futures=True)
    return done
