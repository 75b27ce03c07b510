"""The scheduler's jobs in-process, on SQLite and PostgreSQL, with the clock injected: a
reminder fires at its instant and once, a first start on the real register sends nothing old,
missed reminders are sent late within the catch-up window, register edits republish only what
they touch, a broken edit changes nothing, retries get a job at their instant, and the leases of
a dead sender are released. APScheduler is started paused so that its jobs can be read without
any of them running on the wall clock."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED, BaseScheduler

from calendar_tool import delivery, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.delivery.reminders import BEGINNING
from calendar_tool.logs import JsonLines
from calendar_tool.model import Format, Offset, Subscription
from calendar_tool.scheduler import Options, Runner, Scheduler, _BackgroundScheduler
from tests.paths import REGISTER
from tests.receiver import Accept, Fail, Receiver
from tests.registers import HEADER, entry, load_register

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
AT_DUE = datetime(2027, 6, 30, 9, 0, tzinfo=UTC)
LINK = "http://127.0.0.1:8000"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT_DUE - timedelta(seconds=1))


@pytest.fixture
def receiver(clock: FixedClock) -> Iterator[Receiver]:
    with Receiver(secret=SECRET, now=clock.now) as r:
        yield r


@pytest.fixture
def client() -> Iterator[delivery.Senders]:
    with delivery.Senders(5) as c:
        yield c


def write_register(path: Path, *entries: str) -> Path:
    path.write_text(HEADER + "".join(entries))
    return path


def subscribe(engine: store.Engine, url: str, name: str = "team", **kw: object) -> None:
    values: dict[str, object] = {
        "name": name, "url": url, "format": Format.JSON, "secret": SECRET,
        "created_at": datetime(2027, 1, 1, tzinfo=UTC), "offsets": (Offset(),),
        "overdue": False}
    values.update(kw)
    store.add_subscription(engine, Subscription(**values))  # type: ignore[arg-type]


def runner_for(engine: store.Engine, client: delivery.Senders, clock: FixedClock, path: Path,
               tmp_path: Path) -> Runner:
    # Pacing waits move the test's clock instead of sleeping.
    def sleep(seconds: float) -> None:
        clock.advance_to(clock.now() + timedelta(seconds=seconds))

    return Runner(engine, client, clock, path, Options(tmp_path / "feeds", LINK), sleep=sleep)


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, object]]:
    """The logged events of that name, as the JSON lines a collector would read."""
    lines = [json.loads(JsonLines().format(r)) for r in caplog.records]
    return [line for line in lines if line["event"] == name]


def test_a_reminder_fires_at_its_instant_and_once(
        engine: store.Engine, client: delivery.Senders, clock: FixedClock, receiver: Receiver,
        tmp_path: Path) -> None:
    path = write_register(tmp_path / "r.yaml", entry("a", "2027-06-30"))
    subscribe(engine, receiver.url)
    runner = runner_for(engine, client, clock, path, tmp_path)
    scheduler = Scheduler(runner)
    scheduler.start(paused=True)
    try:
        jobs = scheduler.jobs()
        # The interval jobs run on APScheduler's own (wall) clock; the dated ones at the
        # instants the runner's clock gave.
        assert set(jobs) == {"catch-up", "remind@2027-06-30T09:00:00Z", "sweep", "watch"}
        assert (jobs["catch-up"], jobs["remind@2027-06-30T09:00:00Z"]) == (clock.now(), AT_DUE)

        assert runner.remind() == []  # a second early
        assert receiver.requests == []

        clock.advance_to(AT_DUE)
        [sent] = runner.remind()
        assert (sent.state, sent.status, sent.subscription) == ("sent", 200, "team")
        [request] = receiver.requests
        assert request.verified is True
        assert [r["occurrence"]["id"] for r in request.json["data"]["reminders"]] == ["a"]
        assert request.headers["webhook-id"] == sent.message_id

        clock.advance_to(AT_DUE + timedelta(minutes=1))
        assert runner.remind() == []
        scheduler.plan()
        assert not [j for j in scheduler.jobs() if j.startswith("remind@")]
        assert len(receiver.requests) == 1
    finally:
        scheduler.stop()


def test_first_start_on_the_real_register_sends_nothing_old(
        engine: store.Engine, client: delivery.Senders, clock: FixedClock, receiver: Receiver,
        tmp_path: Path) -> None:
    """The register is full of 2002 and 2005 deadlines: a subscription made today gets none of
    them, and one made long ago has them all recorded as skipped, none sent."""
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    clock.advance_to(now)
    subscribe(engine, receiver.url, name="new", created_at=now, offsets=None, overdue=True)
    runner = runner_for(engine, client, clock, REGISTER, tmp_path)
    runner.start()
    assert runner.remind() == []
    assert store.deliveries(engine, now) == []
    assert runner.pending() == []

    subscribe(engine, receiver.url, name="old", created_at=BEGINNING, offsets=None,
              overdue=True)
    old = store.subscription(engine, "old").subscription
    owed = service.plan(load_register(REGISTER), [old], BEGINNING, now)
    assert len(owed) > 50  # the register's dated past: reminders, due days, overdue notices
    assert runner.remind() == []
    assert receiver.requests == []
    ledger = store.deliveries(engine, now, limit=10_000)
    assert len(ledger) == len(owed)
    assert {d.status for d in ledger} == {"skipped"}


def test_missed_reminders_are_sent_late_within_the_catch_up_window_and_skipped_beyond(
        engine: store.Engine, client: delivery.Senders, clock: FixedClock, receiver: Receiver,
        tmp_path: Path) -> None:
    """Down from before 09:00 on 29 June until 07:00 on 1 July: the 30 June reminder (22 hours
    late) is sent, the 29 June one (46 hours late) is recorded as skipped."""
    clock.advance_to(datetime(2027, 7, 1, 7, 0, tzinfo=UTC))
    path = write_register(tmp_path / "r.yaml", entry("old", "2027-06-29"),
                          entry("late", "2027-06-30"))
    subscribe(engine, receiver.url)
    runner = runner_for(engine, client, clock, path, tmp_path)
    runner.start()
    [sent] = runner.remind()
    assert sent.state == "sent"
    [request] = receiver.requests
    assert [r["occurrence"]["id"] for r in request.json["data"]["reminders"]] == ["late"]
    ledger = {d.occurrence_id: d.status for d in store.deliveries(engine, clock.now())}
    assert ledger == {"late": "sent", "old": "skipped"}


def test_a_failed_delivery_gets_a_job_at_its_retry_instant(
        engine: store.Engine, client: delivery.Senders, clock: FixedClock, receiver: Receiver,
        tmp_path: Path) -> None:
    path = write_register(tmp_path / "r.yaml", entry("a", "2027-06-30"))
    subscribe(engine, receiver.url)
    receiver.script(Fail(503), Accept())
    clock.advance_to(AT_DUE)
    runner = runner_for(engine, client, clock, path, tmp_path)
    scheduler = Scheduler(runner)
    scheduler.start(paused=True)
    try:
        [failed] = runner.remind()
        assert (failed.state, failed.status) == ("pending", 503)
        scheduler.plan()
        retry_at = failed.next_attempt_at
        assert retry_at is not None
        # The first retry is 5 s later, give or take the 20 % jitter.
        assert timedelta(seconds=4) <= retry_at - AT_DUE <= timedelta(seconds=6)
        assert scheduler.jobs()["deliver"] == retry_at
        clock.advance_to(retry_at)
        [sent] = runner.remind()
        assert (sent.state, sent.message_id) == ("sent", failed.message_id)
        scheduler.plan()
        assert "deliver" not in scheduler.jobs()
        assert [r.headers["webhook-id"] for r in receiver.requests] == [failed.message_id] * 2
    finally:
        scheduler.stop()


def _feeds(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.ics"))}


def test_a_feeds_folder_deleted_under_run_is_written_again_by_the_sweep(
        engine: store.Engine, client: delivery.Senders, clock: FixedClock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """The feeds folder deleted (or emptied), or one feed removed, under `run` with no edit:
    the sweep's next turn writes them again the same, where subscribers got 404 until the
    next day."""
    caplog.set_level(logging.INFO, logger="calendar_tool")
    path = write_register(tmp_path / "r.yaml", entry("a", "2027-06-30"))
    runner = runner_for(engine, client, clock, path, tmp_path)
    scheduler = Scheduler(runner)
    scheduler.start(paused=True)
    try:
        feeds = tmp_path / "feeds"
        before = _feeds(feeds)
        caplog.clear()
        runner.refresh()  # the same day, nothing gone: nothing written
        assert events(caplog, "feed.published") == []
        shutil.rmtree(feeds)
        runner.refresh()
        assert _feeds(feeds) == before
        assert (feeds / "index.json").is_file()
        assert sorted(str(e["feed"]) for e in events(caplog, "feed.published")) == [
            "actor-member-states", "all", "area-trafficking"]
        # One feed removed, the index left: that feed alone is written again.
        caplog.clear()
        (feeds / "all.ics").unlink()
        runner.refresh()
        assert _feeds(feeds) == before
        assert [e["feed"] for e in events(caplog, "feed.published")] == ["all"]
    finally:
        scheduler.stop()


def test_an_edit_republishes_the_feeds_it_touches_and_a_broken_edit_changes_nothing(
        engine: store.Engine, client: delivery.Senders, clock: FixedClock, receiver: Receiver,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="calendar_tool")
    path = write_register(
        tmp_path / "r.yaml", entry("a", "2027-06-30"),
        entry("b", "2027-09-30", area="victims", actor="commission"))
    subscribe(engine, receiver.url)
    runner = runner_for(engine, client, clock, path, tmp_path)
    scheduler = Scheduler(runner)
    scheduler.start(paused=True)
    try:
        feeds = tmp_path / "feeds"
        before = _feeds(feeds)
        assert list(before) == ["actor-commission.ics", "actor-member-states.ics", "all.ics",
                                "area-trafficking.ics", "area-victims.ics"]
        assert runner.reload() is False  # nothing changed

        caplog.clear()
        path.write_text(path.read_text().replace("Title of b", "Review of b"))
        assert runner.reload() is True
        after = _feeds(feeds)
        assert {name for name in before if before[name] != after[name]} == {
            "all.ics", "area-victims.ics", "actor-commission.ics"}
        assert b"Review of b" in after["all.ics"]
        assert [e["feed"] for e in events(caplog, "feed.published")] == [
            "all", "area-victims", "actor-commission"]
        assert [e["entries"] for e in events(caplog, "register.reloaded")] == [2]

        # Moving a's date out of the look-ahead takes its job away.
        assert "remind@2027-06-30T09:00:00Z" in scheduler.jobs()
        good = runner.register
        broken = path.read_text().replace("date: 2027-06-30", "date: 2027-07-30").replace(
            "kind: deadline", "kind: bogus", 1)
        caplog.clear()
        path.write_text(broken)
        assert runner.reload() is False
        scheduler.plan()
        assert runner.register is good
        assert _feeds(feeds) == after
        assert "remind@2027-06-30T09:00:00Z" in scheduler.jobs()
        line = broken.splitlines().index("    kind: bogus") + 1
        [invalid] = events(caplog, "register.invalid")
        assert invalid["level"] == "error"
        assert invalid["problems"] == [
            f"{path}:{line}:11: entries[0].kind: 'bogus' is not one of: deadline, target, "
            "report, period, event, session, standing"]

        path.write_text(broken.replace("kind: bogus", "kind: deadline"))
        assert runner.reload() is True
        scheduler.plan()
        assert not [j for j in scheduler.jobs() if j.startswith("remind@")]
    finally:
        scheduler.stop()


def test_the_leases_of_a_dead_sender_on_this_host_are_released(
        engine: store.Engine, clock: FixedClock, tmp_path: Path) -> None:
    """Only a sender on this host whose process is gone: one on another host, or one alive,
    keeps its lease until it runs out."""
    reg = load_register(write_register(tmp_path / "r.yaml", entry("a", "2027-06-30")))
    for n in range(3):
        subscribe(engine, f"http://127.0.0.1:9/hook/{n}", name=f"s{n}")
    clock.advance_to(AT_DUE)
    assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(3, 3, 0)
    host = socket.gethostname()
    dead, alive, elsewhere = (f"{host}:4242:aaaa", f"{host}:{os.getpid()}:bbbb",
                              f"not-{host}:4242:cccc")
    for owner in (dead, alive, elsewhere):
        assert len(store.take(engine, owner, AT_DUE, timedelta(minutes=5), timedelta(0),
                              limit=1)) == 1
    released = service.release_dead_leases(engine, AT_DUE, alive=lambda pid: pid != 4242)
    assert released == 1
    assert store.lease_owners(engine, AT_DUE) == {alive, elsewhere}
    [again] = store.take(engine, "next", AT_DUE, timedelta(minutes=5), timedelta(0))
    assert again.subscription in {"s0", "s1", "s2"}


def test_a_stop_while_a_date_job_that_ran_is_removed_ends_quietly() -> None:
    """APScheduler's own race (agronholm/apscheduler#104): a stop that lands between its
    thread handing a date job (the catch-up at start, a reminder's instant) to the executor
    and removing it made that thread raise JobLookupError, a traceback amid `run`'s JSON log.
    Stopped at exactly that moment, the thread's turn ends with nothing to wait for, and the
    job has run."""
    ran = threading.Event()
    aps = _BackgroundScheduler(timezone=UTC, job_defaults={"misfire_grace_time": 3600})

    class StopOnSubmit(ThreadPoolExecutor):  # type: ignore[misc]
        def submit_job(self, job: Any, run_times: Any) -> None:
            super().submit_job(job, run_times)
            BaseScheduler.shutdown(aps, wait=True)  # what `stop` does, from its own thread

    aps.add_executor(StopOnSubmit(1))
    aps.start(paused=True)  # its thread waits: the turn below is the only one
    aps.add_job(ran.set, "date", run_date=datetime.now(UTC) - timedelta(seconds=1),
                id="catch-up")
    aps.state = STATE_RUNNING
    assert aps._process_jobs() is None
    assert ran.wait(5)
    assert aps.state == STATE_STOPPED
