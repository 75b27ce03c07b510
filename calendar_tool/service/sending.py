"""Sending what is claimed: messages taken from the ledger under a lease, sent on several
threads (one message per subscription at a time, paced), each attempt recorded, a failure
retried later on the schedule in `delivery.retry`; and the leases of senders that died."""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from calendar_tool import delivery, store
from calendar_tool.clock import Clock
from calendar_tool.config import SMTP_URL_ENV
from calendar_tool.errors import StoreFailed, UsageError
from calendar_tool.model import Outbound, Register
from calendar_tool.service.reminders import enqueue

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


def _outcome(message: Outbound, attempt: delivery.Attempt, at: datetime,
             rng: random.Random) -> store.Result:
    """What the ledger records for one attempt: sent, dead, or pending until the next try."""
    state, next_at, disable = "dead", None, None
    if attempt.outcome is delivery.Outcome.SENT:
        state = "sent"
    elif attempt.outcome is delivery.Outcome.GONE:
        # 410, or what a channel means by it (Discord's 404 Unknown Webhook): the error says.
        disable = f"the receiver answered {attempt.error or 'that it is gone'} at {at.isoformat()}"
    elif attempt.outcome is delivery.Outcome.RETRY:
        delay = delivery.retry_delay(message.attempts + 1, attempt.retry_after, rng)
        if delay is not None:
            state, next_at = "pending", at + delay
    return store.Result(message.id, at, attempt.status, attempt.latency, attempt.error, state,
                        next_at, disable, message.subscription, message.attempts + 1)


def _sender(senders: delivery.Senders, clock: Clock, rng: random.Random
            ) -> Callable[[Outbound], store.Result]:
    def send(m: Outbound) -> store.Result:
        at = clock.now()
        attempt = senders.send(m, at)
        return _outcome(m, attempt, at, rng)

    return send


def deliver(engine: store.Engine, senders: delivery.Senders, clock: Clock, owner: str,
            policy: Policy = Policy(), rng: random.Random | None = None) -> list[store.Result]:
    """One round: take the messages due now and send each once, concurrently across
    subscriptions (one message per subscription per round keeps each one paced)."""
    rng = rng or random.Random()
    taken = store.take(engine, owner, clock.now(), policy.lease, policy.pace, policy.batch)
    if not taken:
        return []
    send = _sender(senders, clock, rng)
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
                 send: Callable[[Outbound], store.Result]) -> None:
        self._pool = pool
        self._send = send
        self._changed = threading.Condition()
        self._sending: dict[Future[store.Result], Outbound] = {}
        self._answered: list[store.Result] = []
        self._first_answer = 0.0  # when the oldest answer not yet handed out came back
        self._failed: BaseException | None = None
        self._wake_at = 0  # the waiter wants to know when at most this many are left

    def submit(self, messages: Sequence[Outbound]) -> None:
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
                    if not self._answered:
                        self._first_answer = time.monotonic()
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
        """The answers since the last call, if there are at least `least` of them or the
        oldest came back _RECORD_WITHIN ago; raises what a sending thread raised."""
        with self._changed:
            if self._failed is not None:
                raise self._failed
            if not self._answered or (
                    len(self._answered) < least
                    and time.monotonic() - self._first_answer < _RECORD_WITHIN):
                return []
            out, self._answered = self._answered, []
        return out

    def left_over(self) -> list[store.Result]:
        """Every answer not yet handed out, whatever a sending thread raised: for a sender
        leaving on an error, to record them later rather than forget them."""
        with self._changed:
            out, self._answered = self._answered, []
        return out

    def wait(self, most: int, timeout: float) -> None:
        """Until at most `most` messages are left to send, or `timeout` seconds."""
        with self._changed:
            self._wake_at = most
            self._changed.wait_for(
                lambda: len(self._sending) <= most or self._failed is not None, timeout)

    def cancel(self) -> list[Outbound]:
        """Take back the messages no thread has started on."""
        with self._changed:
            queued = list(self._sending.items())
        return [m for future, m in queued if future.cancel()]


# How often a sender waiting on its threads asks whether it should stop, or take more.
_STOP_CHECK = 0.1


# An answer is recorded (and logged) at most this long after it came back, however few others
# came back with it: a burst is still recorded a batch at a time, and one slow receiver no
# longer holds the others' answers unrecorded (and unlogged) until it answers or times out.
_RECORD_WITHIN = 0.2


# How long a sender waits for rows another sender holds, rather than asking again at once.
_LOCKED = 0.05


def deliver_ready(engine: store.Engine, senders: delivery.Senders, clock: Clock, owner: str,
                  sleep: Callable[[float], object], policy: Policy = Policy(),
                  rng: random.Random | None = None,
                  stopping: Callable[[], bool] = lambda: False,
                  recorded: Callable[[Sequence[store.Result]], object] = lambda rs: None,
                  woken: Callable[[], bool] = lambda: False,
                  unrecorded: list[store.Result] | None = None) -> list[store.Result]:
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
    next start (or another process). `recorded` is handed each batch of answers once the
    ledger holds them (to log them then: a process killed later has logged what it recorded).
    `woken` is asked at every turn: true when more may be due (the scheduler claimed some),
    so that what is claimed while a slow receiver holds a thread goes out on the others.

    `unrecorded` holds the answers an earlier call could not record (the database refused
    the write: StoreFailed): they are recorded first, before anything is taken, and the
    answers this call cannot record are added to it before the error is raised. A receiver
    that took a reminder while the ledger could not say so is not sent it again when the
    message's lease runs out; the caller keeps the list from one call to the next."""
    rng = rng or random.Random()
    held = [] if unrecorded is None else unrecorded
    done = record_held(engine, owner, held, recorded)  # StoreFailed: nothing taken
    with ThreadPoolExecutor(max_workers=policy.workers) as pool:
        sending = _Sending(pool, _sender(senders, clock, rng))
        loop = _Loop(engine, owner, clock, policy, sending, recorded, held)
        try:
            while True:
                stop = stopping()
                if woken():
                    loop.more = True
                loop.take_or_give_back(stop)
                if not loop.collect(stop, done):
                    sending.wait(policy.refill if loop.more and not stop else 0, _STOP_CHECK)
                    continue
                if stop:
                    break
                if loop.more:
                    continue
                wait = loop.pause()
                if wait is None:
                    break
                sleep(wait)
                loop.more = True
        finally:
            # Leaving on an error: what no thread has started is not sent (its lease runs
            # out), what is being sent is finished, and the answers not recorded are kept
            # for the next call to record (none are left when it ends as usual).
            pool.shutdown(wait=True, cancel_futures=True)
            held.extend(sending.left_over())
    return done


def record_held(engine: store.Engine, owner: str, held: list[store.Result],
                recorded: Callable[[Sequence[store.Result]], object]) -> list[store.Result]:
    """Record the answers an earlier round could not (`deliver_ready`'s `unrecorded`), and
    forget them once recorded; StoreFailed, holding them still, while the ledger refuses."""
    if not held:
        return []
    done = list(held)
    store.record(engine, owner, done)
    held.clear()
    recorded(done)
    return done


@dataclass
class _Loop:
    """The turns of `deliver_ready`: take or hand back, collect, and wait."""

    engine: store.Engine
    owner: str
    clock: Clock
    policy: Policy
    sending: _Sending
    recorded: Callable[[Sequence[store.Result]], object]
    unrecorded: list[store.Result]  # answers the ledger refused, for the next call
    more: bool = True  # the last take found something: there may be more
    locked_out: bool = False  # the last take found rows another sender holds

    def take_or_give_back(self, stop: bool) -> None:
        """Take the next batch when few are left to send; when stopping, hand back what no
        thread has started on."""
        if stop:
            returned = self.sending.cancel()
            if returned:
                store.give_back(self.engine, self.owner, [m.id for m in returned])
        elif self.more and self.sending.count() <= self.policy.refill:
            busy = self.sending.subscriptions()
            taken = store.take(self.engine, self.owner, self.clock.now(), self.policy.lease,
                               self.policy.pace, self.policy.batch, busy)
            self.sending.submit(taken)
            self.more = bool(taken)
            # Nothing taken with nothing of ours in flight while something is due: another
            # sender holds those rows for a moment (PostgreSQL's walk skips locked rows
            # rather than waiting for them).
            self.locked_out = not taken and not busy

    def collect(self, stop: bool, done: list[store.Result]) -> bool:
        """Record the answers back; whether nothing is left being sent. A transaction per
        batch of answers, not per wake-up; all of them once idle or stopping."""
        # Read before collecting: an answer that lands in between is collected on the next
        # turn, not lost.
        idle = self.sending.count() == 0
        results = self.sending.answered(0 if idle or stop else self.policy.refill)
        if results:
            try:
                store.record(self.engine, self.owner, results)
            except StoreFailed:
                self.unrecorded.extend(results)
                raise
            done.extend(results)
            self.recorded(results)
        return idle

    def pause(self) -> float | None:
        """Seconds until the next message may be sent, if that is within the pacing; None
        when nothing more is due now (a retry later is the scheduler's to wait for)."""
        now = self.clock.now()
        then = store.next_sendable(self.engine, now)
        if then is None or then > now + self.policy.pace:
            return None
        return max((then - now).total_seconds(), _LOCKED if self.locked_out else 0.0)


def remind_now(engine: store.Engine, register: Register, senders: delivery.Senders,
               clock: Clock, link_base: str, catch_up: timedelta, policy: Policy,
               sleep: Callable[[float], object], feed_links: str | None = None,
               stopping: Callable[[], bool] = lambda: False
               ) -> tuple[store.Claimed, list[store.Result]]:
    """One pass of what `run` does continuously: claim what is due by now, then send it (and
    the retries that are due), recording every attempt. `feed_links` as for `enqueue`;
    `stopping` as for `deliver_ready`: what is being sent is finished and recorded, the rest
    handed back for the next pass. StoreFailed when the ledger refuses a write, naming the
    messages sent whose answers it did not take."""
    claimed = enqueue(engine, register, clock, link_base, catch_up, feed_links=feed_links)
    unrecorded: list[store.Result] = []
    try:
        return claimed, deliver_ready(engine, senders, clock, owner_id(), sleep, policy,
                                      stopping=stopping, unrecorded=unrecorded)
    except StoreFailed as exc:
        # No later round records them: say which receivers have a reminder the ledger
        # does not know of.
        if not unrecorded:
            raise
        ids = ", ".join(r.message_id for r in unrecorded)
        it = "it" if len(unrecorded) == 1 else "them"
        raise StoreFailed(f"{exc}; sent and not recorded: {ids} (the next pass may send {it} "
                          "again, under the same webhook id)") from None


def next_delivery(engine: store.Engine, now: datetime) -> datetime | None:
    """The earliest instant a pending message could be sent (its retry or its pacing)."""
    return store.next_sendable(engine, now)


def open_senders(timeout: float = delivery.DEFAULT_TIMEOUT, smtp_url: str | None = None
                 ) -> delivery.Senders:
    """Every transport, each attempt bounded by `timeout` seconds, e-mail going through the
    SMTP server of `smtp_url` (the settings' `CALENDAR_TOOL_SMTP_URL`; None: none): close it
    when done (it is a context manager). UsageError naming the variable for a URL that is not
    an SMTP server's."""
    server = None
    if smtp_url:
        try:
            server = delivery.SmtpServer.parse(smtp_url)
        except ValueError as exc:
            raise UsageError(f"{SMTP_URL_ENV}: {exc}") from None
    return delivery.Senders(timeout, server)
