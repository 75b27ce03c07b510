"""`calendar-tool run` as a real process against a real receiver: killed with SIGKILL in the
middle of a burst and restarted, two processes on one PostgreSQL, SIGTERM while a delivery is
in flight, and register edits picked up while it runs. Reminders fall due by the wall clock
(ten minutes ago, within the catch-up window), so nothing here waits for a schedule: each test
waits for an event (a request arriving, a log line) with a deadline."""

from __future__ import annotations

import os
import signal
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from calendar_tool import store
from calendar_tool.config import Settings
from calendar_tool.model import Format, Offset, Subscription
from tests import processes
from tests.conftest import CLI
from tests.processes import Run
from tests.receiver import Received, Receiver, Stall
from tests.registers import HEADER, entry


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    """The processes a test started; any left running are killed at the end. Each logged
    JSON and nothing else: `run` writes plain text only when it refuses to go on."""
    with processes.started() as runs:
        yield runs
    for run in runs:
        assert [line for line in run.lines if not line.startswith("{")] == []


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def due_now(tmp_path: Path, db_url: str, receiver: Receiver, subscriptions: int,
            entries: int = 3, days_back: int = 0) -> tuple[Path, datetime]:
    """Deadlines due today (and `days_back` days before), reminded (P0D) at a time of day ten
    minutes ago by the real clock, to `subscriptions` JSON subscriptions (one path each)."""
    at = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)
    days = [(at - timedelta(days=n)).date().isoformat() for n in range(days_back + 1)]
    register = tmp_path / "obligations.yaml"
    register.write_text(HEADER + "".join(entry(f"d{n}-{i}", day) for n, day in enumerate(days)
                                         for i in range(entries)))
    engine = store.open_store(db_url)
    store.add_subscriptions(engine, [Subscription(
        name=f"s{n:03}", url=f"{receiver.base}/hook/{n:03}", format=Format.JSON,
        created_at=at - timedelta(days=days_back + 1), offsets=(Offset(),), overdue=False,
        time_of_day=at.time()) for n in range(subscriptions)])
    engine.dispose()
    return register, at


def reminders_seen(requests: list[Received]) -> dict[tuple[str, str], set[str]]:
    """(receiver path, occurrence) -> the webhook ids it arrived under, answered 200."""
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in requests:
        if r.status_sent == 200:
            for item in r.json["data"]["reminders"]:
                seen[(r.path, item["occurrence"]["id"])].add(r.headers["webhook-id"])
    return seen


def all_of(expected: set[tuple[str, str]]) -> Callable[[list[Received]], bool]:
    return lambda requests: set(reminders_seen(requests)) >= expected


def test_sigkill_in_a_burst_loses_nothing_and_sends_nothing_under_two_ids(
        db_url: str, tmp_path: Path, receiver: Receiver, runs: list[Run]) -> None:
    register, _ = due_now(tmp_path, db_url, receiver, subscriptions=40)
    expected = {(f"/hook/{n:03}", f"d0-{i}") for n in range(40) for i in range(3)}
    # Each answer takes 50 ms, so the burst lasts long enough to be killed in the middle.
    receiver.script(*[Stall(0.05)] * 40)
    runs.append(Run(db_url, register, tmp_path / "feeds"))
    receiver.wait_for(12, timeout=30)
    assert runs[0].stop(signal.SIGKILL) == -signal.SIGKILL
    before = len(receiver.requests)
    assert before < 40  # killed in the middle, not after

    runs.append(Run(db_url, register, tmp_path / "feeds"))
    receiver.wait_until(all_of(expected), timeout=30)
    assert runs[1].stop() == 0

    seen = reminders_seen(receiver.requests)
    assert set(seen) == expected
    assert {len(ids) for ids in seen.values()} == {1}  # one webhook id per reminder
    # Forty messages in all, whichever process sent each; a message whose answer the kill cut
    # off arrives again under its own id.
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 40


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_run_processes_on_one_postgresql_send_each_reminder_once(
        db_url: str, tmp_path: Path, receiver: Receiver, runs: list[Run]) -> None:
    register, _ = due_now(tmp_path, db_url, receiver, subscriptions=30)
    expected = {(f"/hook/{n:03}", f"d0-{i}") for n in range(30) for i in range(3)}
    runs.extend(Run(db_url, register, tmp_path / f"feeds-{n}") for n in range(2))
    receiver.wait_until(all_of(expected), timeout=30)
    for run in runs:
        run.wait_for("scheduler.started")
    assert [run.stop() for run in runs] == [0, 0]
    assert len(receiver.requests) == 30  # not one twice
    assert set(reminders_seen(receiver.requests)) == expected
    assert sum(len(run.events("reminder.sent")) for run in runs) == 30


def test_sigterm_finishes_the_delivery_in_flight_and_leaves_the_rest_claimable(
        db_url: str, tmp_path: Path, receiver: Receiver, runs: list[Run]) -> None:
    """One subscription owed two messages (yesterday's and today's, with a 48-hour catch-up),
    paced a second apart. SIGTERM while the first is being answered: it is recorded as sent,
    the second stays pending, and the next start sends it."""
    register, _ = due_now(tmp_path, db_url, receiver, subscriptions=1, entries=1, days_back=1)
    receiver.script(Stall(1.0))
    runs.append(Run(db_url, register, tmp_path / "feeds", "--catch-up", "48"))
    receiver.wait_for(1, timeout=20)
    assert runs[0].stop(signal.SIGTERM) == 0
    [first] = receiver.requests
    assert first.status_sent == 200
    assert [e["signal"] for e in runs[0].events("scheduler.stopping")] == ["SIGTERM"]
    [sent] = runs[0].events("reminder.sent")
    assert sent["message"] == first.headers["webhook-id"]

    engine = store.open_store(db_url)
    try:
        ledger = {d.occurrence_id: (d.status, d.attempts)
                  for d in store.deliveries(engine, datetime.now(UTC))}
    finally:
        engine.dispose()
    assert sorted(ledger.values()) == [("pending", 0), ("sent", 1)]

    runs.append(Run(db_url, register, tmp_path / "feeds", "--catch-up", "48"))
    receiver.wait_for(2, timeout=20)
    assert runs[1].stop() == 0
    assert set(reminders_seen(receiver.requests)) == {("/hook/000", "d0-0"),
                                                      ("/hook/000", "d1-0")}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_run_starts_ends_it_with_nothing_started(
        tmp_path: Path, runs: list[Run], sig: signal.Signals) -> None:
    """SIGTERM or SIGINT while `run` is still reading the register (held there by a named
    pipe it reads before its entry cache, `processes.reading_latch`, so that the signal comes
    at that very step): `run` finishes what it is doing, then starts nothing (its feeds
    folder is made, and left empty; no scheduler) and exits 0, rather than being ended by the
    signal (SIGTERM: exit 143) or by click ("Aborted!", exit 1), as before."""
    register = tmp_path / "obligations.yaml"
    register.write_text(HEADER + entry("a", "2030-06-30"))
    latch = processes.reading_latch(tmp_path)
    runs.append(run := Run(f"sqlite:///{tmp_path / 'db.sqlite'}", register, tmp_path / "feeds",
                           "--watch", "0", latch=latch))
    writer = processes.writer_of(latch)  # `run` is in its first read of the register
    run.proc.send_signal(sig)
    os.close(writer)
    assert run.wait() == 0
    assert [(e["event"], e.get("signal"), e.get("started")) for e in run.events()] == \
        [("scheduler.stopping", sig.name, None), ("feeds.created", None, None),
         ("scheduler.stopped", None, False)]
    assert list((tmp_path / "feeds").iterdir()) == []


def test_an_edit_is_published_while_running_and_a_broken_one_is_not(
        tmp_path: Path, runs: list[Run]) -> None:
    db_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    register = tmp_path / "obligations.yaml"
    register.write_text(HEADER + entry("a", "2030-06-30"))
    feeds = tmp_path / "feeds"
    runs.append(run := Run(db_url, register, feeds, "--watch", "0.1"))
    run.wait_for("scheduler.started")
    assert b"Title of a" in (feeds / "all.ics").read_bytes()

    register.write_text(HEADER + entry("a", "2030-06-30").replace("Title of a", "Renamed a"))
    run.wait_for("register.reloaded", timeout=10)
    published = (feeds / "all.ics").read_bytes()
    assert b"Renamed a" in published

    broken = HEADER + entry("a", "2030-06-30").replace("deadline", "dead line")
    register.write_text(broken)
    [invalid] = run.wait_for("register.invalid", timeout=10)
    line = broken.splitlines().index("    kind: dead line") + 1
    assert invalid["problems"] == [
        f"{register}:{line}:11: entries[0].kind: 'dead line' is not one of: deadline, target, "
        "report, period, event, session, standing"]
    assert (feeds / "all.ics").read_bytes() == published
    assert run.proc.poll() is None  # still running
    assert run.stop() == 0
    assert [e["event"] for e in run.events()][-2:] == ["scheduler.stopping", "scheduler.stopped"]


def test_run_refuses_a_register_with_problems(cli: CLI, tmp_path: Path) -> None:
    register = tmp_path / "obligations.yaml"
    text = HEADER + entry("a", "2030-02-30")
    register.write_text(text)
    result = cli("run", "--out", str(tmp_path / "feeds"), register=register)
    line = text.splitlines().index("    date: 2030-02-30") + 1
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{register}:{line}:11: entries[0].date: '2030-02-30' is not a real date "
        "(day is out of range for month)")
    assert not (tmp_path / "feeds").exists()


@pytest.mark.parametrize("serve_at", ["nonsense", "127.0.0.1:99999", ":8000"])
def test_run_refuses_a_serve_address_before_it_makes_anything(cli: CLI, tmp_path: Path,
                                                              serve_at: str) -> None:
    """`--serve` that is not HOST:PORT is a usage error before the feeds folder is made (it
    was made first) or the register read."""
    result = cli("run", "--out", str(tmp_path / "feeds"), "--serve", serve_at)
    assert (result.exit_code, result.stderr) == (
        2, f"error: --serve {serve_at!r} is not HOST:PORT such as 127.0.0.1:8000\n")
    assert not (tmp_path / "feeds").exists()


def test_run_serves_the_feeds_it_publishes(tmp_path: Path, runs: list[Run]) -> None:
    """`run --serve` answers with what it published, from the same process."""
    register = tmp_path / "obligations.yaml"
    register.write_text(HEADER + entry("a", "2030-06-30"))
    feeds = tmp_path / "feeds"
    runs.append(run := Run(f"sqlite:///{tmp_path / 'db.sqlite'}", register, feeds,
                           "--serve", "127.0.0.1:0"))
    run.wait_for("scheduler.started")
    [listening] = run.events("server.listening")
    url = listening["url"]
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
    # What it serves, as `serve`'s line says: it gave the address alone.
    assert (listening["feeds"], listening["register"]) == (str(feeds), str(register))
    feed = httpx.get(f"{url}feeds/all.ics")
    assert feed.status_code == 200
    assert feed.content == (feeds / "all.ics").read_bytes()
    page = httpx.get(url)
    assert page.status_code == 200 and "Test register" in page.text
    assert run.stop() == 0


@pytest.mark.parametrize(("public_url", "subscribed", "warned"), [
    (None, True, True), ("http://127.0.0.2:8000", True, True), (None, False, False),
    ("https://calendar.example.org", True, False),
])
def test_run_warns_once_when_reminder_links_point_at_this_machine(
        tmp_path: Path, runs: list[Run], public_url: str | None, subscribed: bool,
        warned: bool) -> None:
    """`run` logs one warning at start when reminders would link to a loopback address
    (CALENDAR_TOOL_PUBLIC_URL unset, or set to one) while a subscription receives them; none
    without a subscription, none with a public address."""
    register = tmp_path / "obligations.yaml"
    register.write_text(HEADER + entry("a", "2030-06-30"))
    db_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = store.open_store(db_url)
    if subscribed:
        store.add_subscriptions(engine, [Subscription(
            name="team", url="http://127.0.0.1:9/hook", format=Format.JSON,
            created_at=datetime.now(UTC))])
    engine.dispose()
    runs.append(run := Run(db_url, register, tmp_path / "feeds", "--watch", "0",
                           public_url=public_url))
    run.wait_for("scheduler.started")
    # Killed rather than stopped: only its start is looked at here, and a SIGTERM in the
    # first instants can meet APScheduler removing its one-off catch-up job (a race of
    # APScheduler's shutdown, logged as a thread's exception).
    assert run.stop(signal.SIGKILL) == -signal.SIGKILL
    warnings = run.events("links.loopback")
    expected = [{"ts": warnings[0]["ts"] if warnings else "", "level": "warning",
                 "event": "links.loopback", "link_base": public_url or "http://127.0.0.1:8000",
                 "subscriptions": 1, "fix": "set CALENDAR_TOOL_PUBLIC_URL to the address "
                 "people reach `serve` at"}]
    assert warnings == (expected if warned else [])
    if warned:  # at start, before anything else
        assert run.events()[0]["event"] == "links.loopback"


@pytest.mark.parametrize(("public_url", "loopback"), [
    (None, True), ("http://127.0.0.1:8000", True), ("http://127.9.9.9", True),
    ("http://localhost:8000", True), ("http://app.localhost", True), ("http://[::1]:8000", True),
    ("http://0.0.0.0:8000", True), ("https://calendar.example.org", False),
    ("http://192.0.2.7:8000", False), ("http://[2001:db8::1]", False),
])
def test_loopback_links_are_this_machines_addresses(public_url: str | None,
                                                    loopback: bool) -> None:
    """Which link bases only this machine can open: 127.0.0.0/8, ::1, localhost (and its
    subdomains) and 0.0.0.0; the default (no public URL) is one of them."""
    env = {"CALENDAR_TOOL_PUBLIC_URL": public_url} if public_url else {}
    assert Settings.from_env(env).loopback_links is loopback


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_three_run_processes_share_the_sending_and_send_each_reminder_once(
        db_url: str, tmp_path: Path, receiver: Receiver, runs: list[Run]) -> None:
    """bench/fleet.py, small: 100 subscriptions owed a digest on each of the last three days
    (300 messages, 600 reminders, paced a second apart per subscription), three processes
    claiming and sending them at once."""
    register, _ = due_now(tmp_path, db_url, receiver, subscriptions=100, entries=2,
                          days_back=2)
    expected = {(f"/hook/{n:03}", f"d{d}-{i}") for n in range(100) for d in range(3)
                for i in range(2)}
    runs.extend(Run(db_url, register, tmp_path / f"feeds-{n}", "--catch-up", "72",
                    "--watch", "0") for n in range(3))
    receiver.wait_until(all_of(expected), timeout=60)
    for run in runs:
        run.wait_for("scheduler.started")
    assert [run.stop() for run in runs] == [0, 0, 0]
    seen = reminders_seen(receiver.requests)
    assert set(seen) == expected
    assert {len(ids) for ids in seen.values()} == {1}  # each reminder under one webhook id
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 300  # each message once, whichever process sent it
    assert sum(len(run.events("reminder.sent")) for run in runs) == 300
