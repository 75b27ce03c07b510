"""`calendar-tool run`: keep the feeds current and send each reminder at its instant. The only
module that imports APScheduler.

The work is in `Runner`, one method per job, each doing what is due at its clock's now and safe
to repeat and to run in several processes at once (the ledger in the store decides who sends
what). `Scheduler` only says when: APScheduler's 3.x line, jobs kept in memory with fixed ids
and rebuilt from the register and the ledger at every start, never in a job store (3.x's
SQLAlchemy store pickles jobs, drops those it cannot load, and cannot be shared):

- `catch-up`: once at start, claims what fell due while nothing was running (within the
  catch-up window; older reminders are recorded as skipped).
- `remind@<instant>`: one per instant at which a reminder falls due within the look-ahead:
  claims it.
- `deliver`: at the next retry (or pacing) instant the ledger holds: wakes the sender.
- `sweep`: every minute, the safety net: claims and sends what is due (a lease another
  process left to run out, a subscription added meanwhile), republishes when the day
  changes, plans again.
- `watch`: every second, on its own thread, reloads the register when its file changes.

Jobs claim; they never send. Sending runs on a thread of its own (`_Sender`), woken by each
claim and retry instant, so that a slow receiver holding one of its sending threads never
holds up the next claim, nor a message to another subscription. A job that starts late (a
long publish ahead of it) still runs within the catch-up window (`misfire_grace_time`), and
several missed runs of one job run once (`coalesce`). Before each turn, a job (and the
sender) checks that the SQLite file is still the one opened (`Scheduler._lost`).
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from calendar_tool import heap, service
from calendar_tool.clock import Clock, iso_utc, today
from calendar_tool.errors import CalendarToolError, StoreFailed
from calendar_tool.feeds import feeds_missing
from calendar_tool.logs import event
from calendar_tool.model import Register
from calendar_tool.register import Edit, RegisterFile
from calendar_tool.stopping import Signals
from calendar_tool.timeline import DEFAULT_HORIZON_YEARS

REMIND = "remind@"


@dataclass(frozen=True)
class Options:
    """What `run` is told: where to publish, how to send, how often to look."""

    out_dir: Path
    public_url: str  # what reminders link to
    # What the feeds' events link back to: the public URL when one is set (None: no link).
    feed_links: str | None = None
    catch_up: timedelta = service.DEFAULT_CATCH_UP
    policy: service.Policy = field(default_factory=service.Policy)
    horizon_years: int = DEFAULT_HORIZON_YEARS
    # Reminder jobs are planned this far ahead; the sweep plans again well before it runs out.
    lookahead: timedelta = timedelta(hours=2)
    sweep: timedelta = timedelta(minutes=1)
    watch: timedelta | None = timedelta(seconds=1)  # None: do not watch the register


class Runner:
    """The work of `run`; see the module's docstring for when each method is called."""

    def __init__(self, engine: service.Engine, senders: service.Senders, clock: Clock,
                 register: Path | RegisterFile, options: Options, owner: str | None = None,
                 sleep: Callable[[float], object] | None = None,
                 rng: random.Random | None = None) -> None:
        self.engine = engine
        self.senders = senders
        self.clock = clock
        # A server in this process may share it (`run --serve`): an edit is read once. Each
        # read makes millions of objects that outlive it and no garbage cycles: heap.py.
        self.source = register if isinstance(register, RegisterFile) \
            else RegisterFile(register, reading=heap.kept)
        self.path = self.source.path
        self.options = options
        self.owner = owner or service.owner_id()
        self.rng = rng or random.Random()
        self.stopping = threading.Event()
        # Answers the ledger refused (the database down for a moment), recorded before the
        # next send: see `service.deliver_ready`.
        self.unrecorded: list[service.Result] = []
        # Waiting out a subscription's pacing ends early when asked to stop.
        self._sleep = sleep or self.stopping.wait
        self.register: Register | None = None  # the last good one
        # The revision whose problems were logged (the error, for a file that cannot be read).
        self._reported: str | None = None
        self._published: date | None = None  # the day the feeds were last published for
        # Republishing after an edit reuses the other entries' events and revisions.
        self.event_cache = service.EventCache()
        # The last run of an earlier process, for the first to take up, and kept again by
        # a run that serialised many events (a new day, many edits).
        self.kept_events = service.kept_events(self.source.cache, self.path)
        self.revisions = service.KeptRevisions()
        # The watch's reload and the sweep's daily republish run on the scheduler's threads;
        # one at a time, so that each run finds on disk the files the last one kept.
        self._publishing = threading.Lock()
        # The register's expanded occurrences, shared by `pending` and `remind` and kept until
        # another Register object (a reload) or a later end than they reach is asked about.
        self.agendas = service.AgendaCache()
        # A SQLite file deleted under a running process takes every write after it with it.
        self.store_file = service.store_file(engine)

    # --- the register and the feeds ---------------------------------------------------------

    def start(self) -> None:
        """Load the register (it must be valid), sync and publish, and release the leases of
        this host's senders that died. Raises what `load_register` raises."""
        self.reload()
        released = service.release_dead_leases(self.engine, self.clock.now())
        if released:
            event("lease.released", messages=released)

    def reload(self) -> bool:
        """Take the register again if its file changed. A valid one is synced, its feeds
        republished (only the files whose bytes change are written) and it replaces the last
        good one; an invalid one is logged once, problem by problem, and the last good one
        stays. Returns whether a new register was taken. On the first load, an invalid
        register is raised instead: there is nothing to keep running with."""
        state = self.source.current()
        if state.failure is not None:
            if self.register is None:
                raise state.failure
            # A file that cannot be read has no revision: what is wrong with it tells one
            # such state from the next (gone, a folder), and from a good register (None).
            broken = state.revision if state.revision is not None else state.error
            if broken != self._reported:
                self._reported = broken
                event("register.invalid", logging.ERROR, file=str(self.path),
                      error=state.error, problems=list(state.problems))
            return False
        if state.register is self.register or state.register is None:
            return False
        first = self.register is None
        self.register = state.register
        self._reported = None
        self.publish(raise_errors=first, edit=state.edit)
        # Logged once the feeds are written, so that whoever waits for it sees them.
        event("register.loaded" if first else "register.reloaded", file=str(self.path),
              entries=len(state.register.entries))
        return True

    def publish(self, raise_errors: bool = False, edit: Edit | None = None) -> None:
        """Sync the store and write the feeds that changed (`edit`: how the register differs
        from the one published last, when known)."""
        reg = self.register
        if reg is None:
            return
        # The content hashes an earlier process kept, for the first publish to hash again
        # only the entries changed since (the ones after keep theirs in memory).
        stored = None if self.revisions.register is not None else \
            service.kept_hashes(self.source.cache, self.path, self.source.by_text())
        try:
            with self._publishing, heap.kept():
                report = service.publish_feeds(self.engine, reg, self.options.out_dir,
                                               self.clock, self.options.horizon_years,
                                               self.event_cache, self.revisions, edit,
                                               self.options.feed_links, stored,
                                               self.kept_events)
        except CalendarToolError as exc:
            if raise_errors:
                raise
            # The sweep tries again; the feeds on disk stay as they were.
            event("feed.failed", logging.ERROR, error=str(exc))
            self._published = None
            return
        heap.trim()  # the events serialised, now in the feeds, freed: see heap.trim
        self._published = today(self.clock)
        for feed in report.feeds:
            if feed.written:
                event("feed.published", feed=feed.name,
                      path=str(self.options.out_dir / feed.path), events=feed.events)
        for path in report.removed:
            event("feed.removed", path=str(self.options.out_dir / path))
        event("feeds.checked", logging.DEBUG, feeds=len(report.feeds), written=report.written,
              serialised=report.serialised)

    def settle(self) -> None:
        """At the end of `run`: record the answers the ledger refused (`unrecorded`) if it
        takes them now; else log each as `reminder.unrecorded`, sent and not in the ledger,
        which the next start may send again (under the same webhook id)."""
        if not self.unrecorded:
            return
        try:
            service.record_held(self.engine, self.owner, self.unrecorded, _log_results)
        except CalendarToolError as exc:
            for r in self.unrecorded:
                event("reminder.unrecorded", logging.ERROR, subscription=r.subscription,
                      message=r.message_id, attempt=r.number, status=r.status,
                      state=r.state, error=str(exc))

    def keep(self) -> None:
        """Keep the last publishing run on disk if the one kept is behind it (edits since):
        at the end of `run`, for the next start to take up."""
        if self.kept_events is not None:
            with self._publishing, heap.kept():
                self.kept_events.keep_if_behind(self.event_cache)

    # --- reminders --------------------------------------------------------------------------

    def remind(self) -> list[service.Result]:
        """Claim what is due now and send it, with the retries that are due."""
        self.claim()
        return self.send()

    def claim(self) -> None:
        """Claim the reminders due now, queueing their messages; sends nothing."""
        reg = self.register
        if reg is None or self.stopping.is_set():
            return
        claimed = service.enqueue(self.engine, reg, self.clock, self.options.public_url,
                                  self.options.catch_up, self.agendas, self.options.feed_links)
        if claimed.messages or claimed.skipped:
            event("reminders.claimed", reminders=claimed.reminders, messages=claimed.messages,
                  skipped=claimed.skipped)

    def send(self, woken: Callable[[], bool] = lambda: False) -> list[service.Result]:
        """Send what is due (`service.deliver_ready`), each answer logged once the ledger
        holds it; `woken`: whether more was claimed meanwhile."""
        if self.register is None or self.stopping.is_set():
            return []
        return service.deliver_ready(self.engine, self.senders, self.clock, self.owner,
                                     self._sleep, self.options.policy, self.rng,
                                     self.stopping.is_set, _log_results, woken,
                                     self.unrecorded)

    def refresh(self) -> None:
        """Republish when the day changed (the horizon moved, or a publish failed), or when
        what the last publish wrote is gone from the feeds folder (the folder deleted or
        emptied, a feed removed), which subscribers were otherwise answered 404 for until
        the next day or the next edit."""
        if self._published != today(self.clock) or \
                (self._published is not None and feeds_missing(self.options.out_dir)):
            self.publish()

    def store_problem(self) -> str | None:
        """Why the database cannot be written any more (its SQLite file deleted, replaced or
        made read-only under us), if it cannot."""
        return None if self.store_file is None else self.store_file.problem()

    def pending(self) -> list[datetime]:
        """The instants within the look-ahead at which a reminder falls due."""
        reg = self.register
        if reg is None:
            return []
        now = self.clock.now()
        return service.pending_instants(self.engine, reg, now, now + self.options.lookahead,
                                        self.agendas)

    def next_retry(self) -> datetime | None:
        return service.next_delivery(self.engine, self.clock.now())


def _log_results(results: Sequence[service.Result]) -> None:
    for r in results:
        _log_result(r)


def _log_result(r: service.Result) -> None:
    fields: dict[str, Any] = {"subscription": r.subscription, "message": r.message_id,
                              "attempt": r.number, "status": r.status,
                              "latency_ms": round(r.latency * 1000)}
    if r.error:
        fields["error"] = r.error
    if r.state == "sent":
        event("reminder.sent", **fields)
    elif r.state == "pending":
        at = r.next_attempt_at
        event("reminder.retry", logging.WARNING, **fields,
              next_attempt_at=iso_utc(at) if at else None)
    else:
        event("reminder.dead", logging.ERROR, **fields, disabled=r.disable)


class _BackgroundScheduler(BackgroundScheduler):  # type: ignore[misc]
    """APScheduler's background scheduler, but for a known race (agronholm/apscheduler#104):
    stopped while it removed a date job that had just run (the catch-up at start, or a
    reminder's instant), its thread raised JobLookupError, a traceback amid the JSON log. The
    job had run, or returned at once since a stop was asked; nothing is left to do."""

    def _process_jobs(self) -> float | None:
        try:
            wait: float | None = super()._process_jobs()
        except JobLookupError:
            if self.state == STATE_STOPPED:
                return None
            raise
        return wait


class Scheduler:
    """When the runner's jobs run: APScheduler in the background, in UTC, and sending on a
    thread of its own (`_Sender`)."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._idle = threading.Condition()
        self._active = 0  # jobs running now
        # The watch thread, the reminder jobs and the sender all plan; one at a time, so
        # that none removes a job another just looked up.
        self._planning = threading.RLock()
        self.sender = _Sender(runner, self._plan_retry, self._lost)
        # Set when the process should end: a signal, or a database it can no longer write.
        self.finished = threading.Event()
        self.failure: CalendarToolError | None = None
        options = runner.options
        self._aps = _BackgroundScheduler(
            timezone=UTC,
            # Claims and publishing one job at a time; none of them sends (the sender's
            # thread does), so a slow receiver never holds up the next claim. The register
            # watch on a thread of its own, so an edit is picked up during a long publish.
            executors={"default": ThreadPoolExecutor(1), "watch": ThreadPoolExecutor(1)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                # APScheduler's default of 1 second drops a run that starts late; a reminder
                # is still worth sending late within the catch-up window.
                "misfire_grace_time": max(int(options.catch_up.total_seconds()), 1),
            },
        )

    def start(self, paused: bool = False) -> None:
        """Load and publish (raising if the register is invalid), plan, and start. `paused`
        plans without running anything (for inspection), the sender included."""
        self.runner.start()
        options = self.runner.options
        self._aps.add_job(self._guarded(self._sweep), "interval",
                          seconds=options.sweep.total_seconds(), id="sweep",
                          replace_existing=True)
        if options.watch is not None:
            self._aps.add_job(self._guarded(self._watch), "interval",
                              seconds=options.watch.total_seconds(), id="watch",
                              executor="watch", replace_existing=True)
        self._aps.add_job(self._guarded(self._remind), "date", run_date=self.runner.clock.now(),
                          id="catch-up", replace_existing=True)
        self.plan()
        if not paused:
            self.sender.start()
        self._aps.start(paused=paused)
        event("scheduler.started", owner=self.runner.owner, register=str(self.runner.path),
              feeds=str(options.out_dir), pid=os.getpid())

    def jobs(self) -> dict[str, datetime]:
        """Each job's id and its next run."""
        return {j.id: j.next_run_time for j in self._aps.get_jobs()}

    def plan(self) -> None:
        """One job per pending instant (ids fixed by the instant, so planning again replaces
        rather than duplicates), none for an instant no longer pending, and the retry job."""
        wanted = {f"{REMIND}{iso_utc(t)}": t for t in self.runner.pending()}
        with self._planning:
            for job in self._aps.get_jobs():
                if job.id.startswith(REMIND) and job.id not in wanted:
                    job.remove()
            for job_id, at in wanted.items():
                self._aps.add_job(self._guarded(self._remind), "date", run_date=at, id=job_id,
                                  replace_existing=True)
        event("reminders.planned", logging.DEBUG, instants=len(wanted),
              first=iso_utc(min(wanted.values())) if wanted else None)
        self._plan_retry()

    def _plan_retry(self) -> None:
        then = self.runner.next_retry()
        with self._planning:
            if self.runner.stopping.is_set():
                return
            if then is not None:
                self._aps.add_job(self._guarded(self._deliver), "date", run_date=then,
                                  id="deliver", replace_existing=True)
            elif self._aps.get_job("deliver") is not None:
                self._aps.remove_job("deliver")

    def _remind(self) -> None:
        self.runner.claim()
        self.sender.wake()

    def _deliver(self) -> None:
        self.sender.wake()

    def _sweep(self) -> None:
        self.runner.refresh()
        self.runner.claim()
        self.sender.wake()
        self.plan()

    def _watch(self) -> None:
        if self.runner.reload():
            self.plan()

    def _guarded(self, job: Callable[[], None]) -> Callable[[], None]:
        """A job that fails (the database went away) logs one line and runs again at its next
        turn; it never takes the scheduler down. A job does nothing once a stop is asked, and
        none runs on a SQLite file that is gone (`_lost`)."""
        name = job.__name__.lstrip("_")

        def run() -> None:
            with self._idle:
                if self.runner.stopping.is_set():
                    return
                self._active += 1
            try:
                if not self._lost():
                    job()
            except CalendarToolError as exc:
                event("job.failed", logging.ERROR, job=name, error=str(exc))
            except Exception:
                event("job.failed", logging.ERROR, exc_info=True, job=name)
            finally:
                with self._idle:
                    self._active -= 1
                    self._idle.notify_all()

        run.__name__ = name
        return run

    def _lost(self) -> bool:
        """Whether the database file went away (or became read-only): then it is logged once
        and the process asked to stop with StoreFailed, rather than write into a file that a
        restart will not find."""
        problem = self.runner.store_problem()
        if problem is None:
            return False
        with self._idle:
            first = self.failure is None
            if first:
                self.failure = StoreFailed(problem)
        if first:
            event("store.lost", logging.ERROR, error=problem)
            self.request_stop()
        return True

    def request_stop(self) -> None:
        """Ask the running jobs to finish: the messages being sent complete and are recorded,
        nothing new starts. Safe from a signal handler."""
        self.runner.stopping.set()
        self.sender.wake()
        self.finished.set()

    def stop(self) -> None:
        """Stop and wait for the jobs and the sends in flight."""
        self.request_stop()
        # Wait for the jobs ourselves before APScheduler's shutdown: it holds its job lock
        # while it waits for them, and a finishing job plans its retry under that lock.
        with self._idle:
            while self._active:
                self._idle.wait()
        self.sender.join()
        if self._aps.running:
            self._aps.shutdown(wait=True)
        self.runner.settle()
        self.runner.keep()
        event("scheduler.stopped", owner=self.runner.owner)


class _Sender:
    """Sending on a thread of its own: woken when something may be due (a claim, a retry's
    instant, the sweep), it sends until nothing more is (`Runner.send`), taking what is
    claimed meanwhile on its free threads, then plans the next retry and sleeps."""

    def __init__(self, runner: Runner, after: Callable[[], None],
                 lost: Callable[[], bool]) -> None:
        self.runner = runner
        self._after = after
        self._lost = lost
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="calendar-tool-sender",
                                        daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def _woken(self) -> bool:
        """Whether a wake-up came since the last look (and forget it)."""
        if not self._wake.is_set():
            return False
        self._wake.clear()
        return True

    def _run(self) -> None:
        runner = self.runner
        # Stopping is set before the wake-up that tells of it, which a round may have taken.
        while not runner.stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            if runner.stopping.is_set():
                return
            try:
                if not self._lost():
                    runner.send(self._woken)
                    self._after()
            except CalendarToolError as exc:
                event("job.failed", logging.ERROR, job="send", error=str(exc))
            except Exception:
                event("job.failed", logging.ERROR, exc_info=True, job="send")


def run_until_signalled(scheduler: Scheduler, signals: Signals) -> None:
    """Start, then run until SIGINT or SIGTERM (`signals`, taken since before `run` read the
    register); stop cleanly either way, and do not start at all after a signal that came
    first. Raises StoreFailed when it stopped because its SQLite file went away."""
    signals.then(scheduler.request_stop)
    if signals.received.is_set():
        # Nothing was published, claimed or sent: the next start does it all.
        event("scheduler.stopped", owner=scheduler.runner.owner, started=False)
        return
    scheduler.start()  # raises, with nothing to stop, when the register is refused
    try:
        scheduler.finished.wait()
    finally:
        scheduler.stop()
    if scheduler.failure is not None:
        raise scheduler.failure
