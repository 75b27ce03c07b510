"""Issue 23: nothing a register edit or a receiver does can stop the scheduler. One section per
finding of the fault tests, each test named for what it guards (README, "Reliability"):

1. a register that never finishes (INTERVAL=0 spun `validate` and `run` for ever);
2. `validate` accepted registers that `publish`, `remind` and `run` could not run;
3. `--timeout` did not bound an attempt, and one slow receiver delayed every other;
4. `Retry-After: 0` spent the whole retry budget in seconds;
5. extreme but well-formed options and parameters gave tracebacks and HTTP 500;
6. quiet data loss (a deleted SQLite file), a world-readable database, sends logged only when
   a round ended, and characters or bytes reported at no place.

The fuzz and property tests that go with 2 and 5 are in tests/test_fuzz.py.
"""

from __future__ import annotations

import json
import random
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path

import httpx
import pytest

from calendar_tool import delivery, model, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.model import DatedValue, Format, Offset, Series, Subscription
from calendar_tool.scheduler import Options, Runner, Scheduler
from calendar_tool.timeline import series_dates
from calendar_tool.web import server
from tests import processes
from tests.conftest import CLI
from tests.paths import SAMPLE
from tests.processes import Run
from tests.receiver import Accept, RateLimit, Receiver, Stall, Trickle
from tests.registers import HEADER, entry, register_of

LINK = "http://127.0.0.1:8000"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def series(entry_id: str, rule: str, start: str = "2000", extra: str = "") -> str:
    """A session series' YAML entry (`extra`: more fields of `series`, inline)."""
    inline = f'{{rule: "{rule}", start: {start}{", " + extra if extra else ""}}}'
    return entry(entry_id, "", kind="session", extra=f"series: {inline}").replace(
        "    date: \n", "")


def where(text: str, needle: str) -> tuple[int, int]:
    """The line and column (from 1) where `needle` first stands in `text`."""
    at = text.index(needle)
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


@pytest.fixture
def procs() -> Iterator[list[Run]]:
    """The processes a test started; any left running are killed at the end."""
    with processes.started() as runs:
        yield runs


# --- 1. a register that never finishes --------------------------------------------------------

def test_a_zero_interval_is_a_problem_at_its_line_and_validate_ends(tmp_path: Path) -> None:
    """`rule: FREQ=YEARLY;INTERVAL=0` made `validate` spin for ever inside the recurrence
    expansion: it is refused at the rule's line and column, in a process that ends."""
    text = HEADER + series("s", "FREQ=YEARLY;INTERVAL=0")
    path = tmp_path / "obligations.yaml"
    path.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "calendar_tool.cli", "--register", str(path), "validate"],
        capture_output=True, text=True, timeout=60, check=False)
    line, column = where(text, '"FREQ=YEARLY;INTERVAL=0"')
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{path}:{line}:{column}: entries[0].series.rule: INTERVAL=0 must be a whole number "
        "of at least 1",
        "error: 1 problem in the register"]


def test_run_keeps_serving_through_a_zero_interval_edit_and_takes_the_fix(
        tmp_path: Path, procs: list[Run]) -> None:
    """Under `run --serve` the same edit spun the watch thread, left /healthz unanswered,
    was never replaced by a later fix and ignored SIGTERM: now it is logged with its line,
    /healthz answers 503, the fix is taken, and SIGTERM stops the process."""
    path = tmp_path / "obligations.yaml"
    good = HEADER + series("s", "FREQ=YEARLY")
    path.write_text(good)
    procs.append(run := Run(f"sqlite:///{tmp_path / 'db.sqlite'}", path, tmp_path / "feeds",
                            "--watch", "0.1", "--serve", "127.0.0.1:0"))
    run.wait_for("scheduler.started")
    [listening] = run.events("server.listening")

    broken = good.replace("FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=0")
    path.write_text(broken)
    [invalid] = run.wait_for("register.invalid")
    line, column = where(broken, '"FREQ=YEARLY;INTERVAL=0"')
    assert invalid["problems"] == [
        f"{path}:{line}:{column}: entries[0].series.rule: INTERVAL=0 must be a whole number "
        "of at least 1"]
    assert httpx.get(f"{listening['url']}healthz", timeout=10).status_code == 503

    path.write_text(good.replace("FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=2"))
    run.wait_for("register.reloaded")
    assert httpx.get(f"{listening['url']}healthz", timeout=10).status_code == 200
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait() == 0


def test_expansion_ends_at_the_occurrence_cap_and_the_calendars_end() -> None:
    """No expansion runs away: an open daily series ends at its 20,000th occurrence, a
    yearly one at the calendar's last year, and one whose rule never yields (30 February) is
    its start alone."""
    daily = Series("FREQ=DAILY", DatedValue.day(date(2000, 1, 1)))
    found = list(islice(series_dates(daily), 20_001))
    assert len(found) == 20_000
    assert model.MAX_OCCURRENCES == 20_000
    assert found[-1].value.start == date(2000, 1, 1) + timedelta(days=19_999)
    yearly = Series("FREQ=YEARLY;INTERVAL=7", DatedValue.year(1990))
    assert [sd.value.start.year for sd in series_dates(yearly)][-2:] == [2193, 2200]
    never = Series("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", DatedValue.day(date(2150, 1, 1)))
    assert [sd.value for sd in series_dates(never)] == [DatedValue.day(date(2150, 1, 1))]


# --- 2. validate accepts only what the other commands can run ---------------------------------

@pytest.mark.parametrize(("old", "new", "needle", "problem"), [
    ("reminders: [P30D, P7D, P0D]", "reminders: [P99999Y, P0D]", "P99999Y",
     "register.reminders[0]: P99999Y is longer than a reminder can be: at most P10Y or "
     "P120M (3,720 days, a year counted as 366 days and a month as 31)"),
    ("date: 2027-06-30", "date: 9999-12-31", "9999-12-31",
     "entries[0].date: '9999-12-31' is outside the calendar this tool handles (1900-01-01 "
     "to 2200-12-31)"),
    ("date: 2027-06-30", "date: 1899-12", "1899-12",
     "entries[0].date: '1899-12' is outside the calendar this tool handles (1900-01-01 to "
     "2200-12-31)"),
    ("date: 2027-06-30\n", "date: 2027-06-30\n    reminders: [P121M]\n", "P121M",
     "entries[0].reminders[0]: P121M is longer than a reminder can be: at most P10Y or P120M "
     "(3,720 days, a year counted as 366 days and a month as 31)"),
    ("date: 2028-01-01", "date: {from: a, offset: P174Y}", "{from: a",
     "entries[1].date: P174Y from a falls outside the calendar (1900-01-01 to 2200-12-31)"),
    ("date: 2028-01-01", "date: {from: s#20001}", "{from: s",
     "entries[1].date.from: 's' has no occurrence #20001: a series has at most 20,000 "
     "occurrences, numbered 1 to 20000"),
    ("start: 2000", "start: 2000, count: 20001", "20001",
     "entries[2].series.count: '20001' must be a whole number of at most 20,000"),
    ('"FREQ=YEARLY"', '"FREQ=YEARLY;BYHOUR=9,10"', '"FREQ=YEARLY;BYHOUR',
     "entries[2].series.rule: BYHOUR gives times of day; a series is dated in days"),
    # A rule that gives no date is the rule's problem, at the rule: the entry has no `date`.
    ('"FREQ=YEARLY", start: 2000', '"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", start: 2000-02-01',
     '"FREQ=YEARLY;BYMONTH',
     "entries[2].series.rule: the rule FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30 yields no date "
     "after series.start (2000-02-01) up to 2200-12-31, the calendar's end"),
    # dateutil's BYEASTER past Easter's year: an IndexError in every command.
    ('"FREQ=YEARLY", start: 2000', '"FREQ=YEARLY;BYEASTER=1,300", start: 2000-04-24',
     '"FREQ=YEARLY;BYEASTER', "entries[2].series.rule: BYEASTER=300 must lie between -80 "
     "and 250: a day of the year of its Easter"),
    # A key names its feed file: `publish` failed with "file name too long", exit 6.
    ("  victims: {", f"  {'v' * 251}: {{", "v" * 251,
     f"areas.{'v' * 251}: a key of 251 characters is too long: at most 100, as it names "
     "the feed file area-KEY.ics"),
])
def test_validate_refuses_what_publish_remind_or_run_cannot_run(
        cli: CLI, tmp_path: Path, old: str, new: str, needle: str, problem: str) -> None:
    """`reminders: [P99999Y, P0D]` failed every remind job with OverflowError and `date:
    9999-12-31` crashed `publish` and `run`, though `validate` accepted both: each bound is a
    problem at its line and column now. So are an area's key too long for a file name, and a
    BYEASTER that dateutil cannot expand."""
    text = (HEADER + entry("a", "2027-06-30") + entry("b", "2028-01-01")
            + series("s", "FREQ=YEARLY")).replace(old, new, 1)
    path = tmp_path / "obligations.yaml"
    path.write_text(text)
    result = cli("validate", register=path)
    line, column = where(text, needle)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{path}:{line}:{column}: {problem}",
                                          "error: 1 problem in the register"]


def test_the_calendars_edges_publish_remind_and_run(cli: CLI, tmp_path: Path) -> None:
    """What validate accepts at the edges (the first and last day, reminders ten years ahead,
    a daily series of 20,000 occurrences) publishes, plans and runs on those very days."""
    text = (HEADER.replace("[P30D, P7D, P0D]", "[P10Y, P120M, P3720D, P0D]")
            + entry("first", "1900-01-01") + entry("last", "2200-12-31")
            + entry("days", "", kind="event", extra="series: {rule: FREQ=DAILY, start: "
                    "2146-01-01}").replace("    date: \n", ""))
    path = tmp_path / "obligations.yaml"
    path.write_text(text)
    assert cli("validate", register=path).exit_code == 0
    for day in ("1900-01-01", "2200-12-31"):
        out = tmp_path / f"feeds-{day}"
        published = cli("publish", "--out", str(out), "--today", day, register=path)
        assert published.exit_code == 0, published.stderr
        planned = cli("remind", "--dry-run", "--at", day, "--window", "0d", register=path)
        assert planned.exit_code == 0, planned.stderr

    for now in (datetime(1900, 1, 1, 9, tzinfo=UTC), datetime(2200, 12, 31, 9, tzinfo=UTC)):
        engine = store.open_store(f"sqlite:///{tmp_path / f'run-{now.year}.db'}")
        clock = FixedClock(now)

        def sleep(seconds: float, clock: FixedClock = clock) -> None:
            clock.advance_to(clock.now() + timedelta(seconds=seconds))

        try:
            store.add_subscription(engine, Subscription(
                name="team", url="http://127.0.0.1:9/hook", format=Format.JSON,
                created_at=now - timedelta(days=2), offsets=None))
            with delivery.Senders(1) as senders:
                runner = Runner(engine, senders, clock, path,
                                Options(tmp_path / f"run-{now.year}", LINK), sleep=sleep)
                runner.start()
                results = runner.remind()
        finally:
            engine.dispose()
        # The entry due that day, reminded on the day; nothing listens at port 9, so the
        # message waits for its retry.
        assert [(r.subscription, r.state) for r in results] == [("team", "pending")]


def test_a_subscription_stored_with_a_longer_offset_fails_no_job(
        engine: store.Engine, tmp_path: Path) -> None:
    """A subscription stored before offsets were capped (`--offset P99999Y`) would fail
    every reminder job as the register's offset did: its impossible offset is passed over,
    and its other offsets, and the other subscriptions, are reminded."""
    now = datetime(2027, 6, 30, 9, 0, tzinfo=UTC)
    path = tmp_path / "obligations.yaml"
    path.write_text(HEADER + entry("a", "2027-06-30"))
    clock = FixedClock(now)
    with Receiver() as receiver, delivery.Senders(5) as senders:
        store.add_subscriptions(engine, [Subscription(
            name=name, url=receiver.url, format=Format.JSON, created_at=now - timedelta(days=1),
            offsets=offsets, overdue=False) for name, offsets in (
                ("old", (Offset(years=99999), Offset())), ("new", (Offset(),)))])
        runner = Runner(engine, senders, clock, path, Options(tmp_path / "feeds", LINK))
        runner.start()
        results = runner.remind()
    assert sorted((r.subscription, r.state) for r in results) == [("new", "sent"),
                                                                   ("old", "sent")]


# --- 3. an attempt's whole time, and one slow receiver ----------------------------------------

@pytest.mark.parametrize("head", [False, True], ids=["body", "headers"])
def test_timeout_bounds_an_attempt_whose_answer_trickles(head: bool) -> None:
    """A receiver answering 200 and then trickling its body (or its headers) a byte at a
    time held each attempt for minutes under `--timeout 5`: the attempt now ends when its
    timeout is spent, while the receiver is still trickling. Trickled headers are a timeout
    to retry; a body trickled after its status line said 200 is sent (the receiver took it:
    retrying it posted the reminder twice where nothing drops a repeated webhook id)."""
    now = datetime.now(UTC)
    timed_out = "127.0.0.1:{port} took the request but did not answer in full within 1 s"
    with Receiver() as receiver, delivery.make_client(timeout=1) as client:
        receiver.script(Trickle(every=0.5, size=40, head=head))  # 20 s of trickle
        attempt = delivery.send(client, receiver.url, "{}",
                                delivery.headers("m", "{}", now, None), now)
        said = timed_out.format(port=receiver.port)
        if head:
            assert (attempt.outcome, attempt.status, attempt.error) == (
                delivery.Outcome.RETRY, None, said)
        else:
            assert (attempt.outcome, attempt.status, attempt.error) == (
                delivery.Outcome.SENT, 200, f"HTTP 200, then {said}")
        assert len(receiver.requests) == 1


def test_a_slow_receiver_delays_no_other_subscriptions_reminder(
        engine: store.Engine, tmp_path: Path) -> None:
    """While one receiver holds its attempt open, a reminder claimed for another
    subscription goes out on the sender's other threads: claiming never waits for a slow
    round to end. (Reminders claimed once a slow round had started waited for it: three
    minutes behind a trickling receiver.)"""
    now = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    path = tmp_path / "obligations.yaml"
    path.write_text(HEADER + entry("a", now.date().isoformat()))
    clock = FixedClock(now + timedelta(seconds=1))

    def owed(name: str, url: str) -> Subscription:
        return Subscription(name=name, url=url, format=Format.JSON, secret=SECRET,
                            created_at=now - timedelta(days=1), offsets=(Offset(),),
                            overdue=False, time_of_day=now.time())

    with Receiver() as slow, Receiver() as quick, delivery.Senders(30) as senders:
        slow.script(Stall(30))
        store.add_subscription(engine, owed("slow", slow.url))
        runner = Runner(engine, senders, clock, path,
                        Options(tmp_path / "feeds", LINK, sweep=timedelta(seconds=0.2),
                                watch=None))
        scheduler = Scheduler(runner)
        scheduler.start()
        try:
            slow.wait_for(1, timeout=10)  # the catch-up claimed it; its attempt is held
            store.add_subscription(engine, owed("quick", quick.url))  # the sweep claims it
            [arrived] = quick.wait_for(1, timeout=10)
            assert arrived.json["data"]["reminders"][0]["subscription"] == "quick"
            assert [r.status_sent for r in slow.requests] == [0]  # still held
        finally:
            slow.close()  # releases the held attempt, which then gets its 200
            scheduler.stop()


# --- 4. Retry-After cannot burn the budget ----------------------------------------------------

def test_a_receiver_rate_limited_for_20_hours_with_retry_after_0_still_gets_its_reminder(
        engine: store.Engine) -> None:
    """`429` with `Retry-After: 0` on every answer gave eight attempts in seven seconds,
    then dead: a receiver rate-limited past them lost the reminder. Now the attempts keep
    the schedule's floor and span the day: one that recovers after 20 hours gets it."""
    start = datetime(2027, 6, 30, 9, 0, tzinfo=UTC)
    clock = FixedClock(start)
    recovers = start + timedelta(hours=20)
    reg = register_of(entry("a", "2027-06-30"))
    attempts: list[tuple[datetime, str, int | None]] = []
    with Receiver() as receiver, delivery.Senders(5) as senders:
        service.add_subscription(engine, reg, Subscription(
            name="team", url=receiver.url, format=Format.JSON, secret=SECRET,
            created_at=start - timedelta(days=1), offsets=(Offset(),), overdue=False))
        assert service.enqueue(engine, reg, clock, LINK).messages == 1
        rng = random.Random(23)
        while not attempts or attempts[-1][1] == "pending":
            receiver.script(RateLimit("0") if clock.now() < recovers else Accept())
            [result] = service.deliver(engine, senders, clock, "owner", service.Policy(5), rng)
            attempts.append((clock.now(), result.state, result.status))
            then = service.next_delivery(engine, clock.now())
            if then is not None:
                clock.advance_to(then)
    assert attempts[-1][1:] == ("sent", 200)
    assert attempts[-1][0] >= recovers
    assert len(attempts) <= 8
    assert [status for _, _, status in attempts[:-1]] == [429] * (len(attempts) - 1)


# --- 5. extreme options and parameters --------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["list", "--upcoming", "99999999y"],
     "error: --upcoming: '99999999y' is longer than the calendar this tool handles "
     "(1900-01-01 to 2200-12-31)"),
    (["list", "--upcoming", "99999999999999999999d"],
     "error: --upcoming: '99999999999999999999d' is longer than the calendar this tool "
     "handles (1900-01-01 to 2200-12-31)"),
    (["list", "--upcoming", "1y", "--today", "2200-12-01"],
     "error: --upcoming: '1y' from 2200-12-01 ends on 2201-12-01, past the end of the "
     "calendar this tool handles (1900-01-01 to 2200-12-31)"),
    (["publish", "--today", "9999-12-01"],
     "error: --today '9999-12-01' is outside the calendar this tool handles (1900-01-01 to "
     "2200-12-31)"),
    (["remind", "--dry-run", "--window", "99999y"],
     "error: --window: '99999y' is longer than the calendar this tool handles (1900-01-01 "
     "to 2200-12-31)"),
    (["remind", "--dry-run", "--at", "9999-12-31"],
     "error: --at '9999-12-31' is outside the calendar this tool handles (1900-01-01 to "
     "2200-12-31)"),
    (["list", "--due", "9999"],
     "error: --due: '9999' is outside the calendar this tool handles (1900-01-01 to "
     "2200-12-31)"),
])
def test_options_outside_the_calendar_are_one_line_usage_errors(
        cli: CLI, tmp_path: Path, args: list[str], message: str) -> None:
    """Each of the issue's extreme options printed a traceback: now one line, exit 2."""
    result = cli(*args, "--out", str(tmp_path)) if args[0] == "publish" else cli(*args)
    assert (result.exit_code, result.stderr.splitlines()) == (2, [message])
    assert result.stdout == ""


def test_a_database_url_with_a_port_that_is_not_a_number_is_exit_7(tmp_path: Path) -> None:
    """`--db postgresql://u:p@127.0.0.1:notaport/x` printed a traceback and exited 1."""
    done = subprocess.run(
        [sys.executable, "-m", "calendar_tool.cli", "--register", str(SAMPLE), "--db",
         "postgresql://u:p@127.0.0.1:notaport/x", "deliveries"],
        capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr.splitlines()) == (7, [
        "error: --db: 'postgresql://u:***@127.0.0.1:notaport/x' is not a database URL such as "
        "sqlite:///calendar-tool.db or postgresql://user@host/db"])


@pytest.mark.parametrize(("query", "message"), [
    ("upcoming=99999999y", "upcoming: '99999999y' is longer than the calendar this tool "
     "handles (1900-01-01 to 2200-12-31)"),
    ("upcoming=99999999999999999999d", "upcoming: '99999999999999999999d' is longer than the "
     "calendar this tool handles (1900-01-01 to 2200-12-31)"),
    ("today=9999-12-31&upcoming=1y", "today '9999-12-31' is outside the calendar this tool "
     "handles (1900-01-01 to 2200-12-31)"),
    ("today=2200-12-31&upcoming=1d", "upcoming: '1d' from 2200-12-31 ends on 2201-01-01, "
     "past the end of the calendar this tool handles (1900-01-01 to 2200-12-31)"),
])
def test_query_parameters_outside_the_calendar_are_a_400_naming_them(
        tmp_path: Path, query: str, message: str) -> None:
    """`/api/obligations?upcoming=99999999y` and the like answered 500."""
    engine = store.open_store(f"sqlite:///{tmp_path / 'db'}")
    app = server.make_app(register=SAMPLE, feeds=tmp_path, db=engine,
                          clock=FixedClock(datetime(2025, 6, 1, tzinfo=UTC)))
    try:
        with server.BackgroundServer(app) as running:
            answer = httpx.get(f"{running.url}/api/obligations?{query}", timeout=10)
    finally:
        engine.dispose()
    assert (answer.status_code, answer.json()) == (400, {"error": message})


# --- 6. no quiet loss -------------------------------------------------------------------------

def test_run_stops_with_exit_7_when_its_sqlite_file_is_deleted(
        tmp_path: Path, procs: list[Run]) -> None:
    """The SQLite file deleted under a running `run` went unnoticed, and everything written
    after it was gone at the next start: now the next job turn logs it once as an error and
    the process stops with exit 7."""
    path = tmp_path / "obligations.yaml"
    path.write_text(HEADER + entry("a", "2030-06-30"))
    db = tmp_path / "calendar-tool.db"
    procs.append(run := Run(f"sqlite:///{db}", path, tmp_path / "feeds", "--watch", "0.1"))
    run.wait_for("scheduler.started")
    for name in ("calendar-tool.db", "calendar-tool.db-wal", "calendar-tool.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    assert run.wait() == 7
    problem = (f"the database file {str(db)!r} was deleted: stopped rather than write where a "
               "restart would not find it; restore the file from a backup, or start again on "
               "a new one")
    assert [(e["level"], e["error"]) for e in run.events("store.lost")] == [("error", problem)]
    assert run.lines[-1] == f"error: {problem}"
    assert [json.loads(x)["event"] for x in run.lines[-3:-1]] == ["store.lost",
                                                                  "scheduler.stopped"]


def test_a_replaced_database_file_is_noticed(tmp_path: Path) -> None:
    """A file put in the database's place (a restore over a running process) is not the one
    the process has open: it is noticed as the deletion is."""
    engine = store.open_store(f"sqlite:///{tmp_path / 'calendar-tool.db'}")
    try:
        watched = store.store_file(engine)
        assert watched is not None and watched.problem() is None
        (tmp_path / "other.db").write_bytes(b"")
        (tmp_path / "other.db").replace(tmp_path / "calendar-tool.db")
        assert watched.problem() == (
            f"the database file {str(tmp_path / 'calendar-tool.db')!r} was replaced by another "
            "file: stopped rather than write where a restart would not find it; restore the "
            "file from a backup, or start again on a new one")
    finally:
        engine.dispose()


def test_the_database_file_and_its_wal_are_created_owner_only(tmp_path: Path) -> None:
    """The database holds the subscriptions' signing secrets, and was created 0644."""
    engine = store.open_store(f"sqlite:///{tmp_path / 'calendar-tool.db'}")
    try:
        store.add_subscription(engine, Subscription(
            name="team", url="http://127.0.0.1:9/hook", format=Format.JSON, secret=SECRET,
            created_at=datetime(2027, 1, 1, tzinfo=UTC)))
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    finally:
        engine.dispose()
    assert modes == {"calendar-tool.db": 0o600, "calendar-tool.db-wal": 0o600,
                     "calendar-tool.db-shm": 0o600}


def test_a_killed_run_has_logged_every_send_its_ledger_holds(
        tmp_path: Path, procs: list[Run]) -> None:
    """A SIGKILLed `run` had logged none of the sends it had recorded: log lines were
    written when a delivery round ended, and one slow receiver kept the round going. Now
    each answer is logged once recorded: killed while one receiver holds its attempt, the
    log names exactly the messages the ledger holds as sent."""
    db_url = f"sqlite:///{tmp_path / 'calendar-tool.db'}"
    at = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)
    path = tmp_path / "obligations.yaml"
    path.write_text(HEADER + entry("a", at.date().isoformat()))
    engine = store.open_store(db_url)
    with Receiver() as receiver:
        store.add_subscriptions(engine, [Subscription(
            name=f"s{n}", url=f"{receiver.base}/hook/{n}", format=Format.JSON,
            created_at=at - timedelta(days=1), offsets=(Offset(),), overdue=False,
            time_of_day=at.time()) for n in range(10)])
        receiver.script(Stall(60))  # the first to arrive is held; the others answered
        procs.append(run := Run(db_url, path, tmp_path / "feeds", "--timeout", "60"))
        logged = run.wait_for("reminder.sent", count=9)
        run.proc.send_signal(signal.SIGKILL)
        assert run.wait() == -signal.SIGKILL
    try:
        ledger = {d.message_id for d in store.deliveries(engine, datetime.now(UTC))
                  if d.status == "sent"}
    finally:
        engine.dispose()
    assert len(ledger) == 9
    assert {e["message"] for e in logged} == ledger


def test_control_characters_are_reported_at_their_line_and_column(
        cli: CLI, tmp_path: Path) -> None:
    """libyaml reports a control character at 1:1: the register names each one's place."""
    text = HEADER + entry("a", "2027-06-30").replace("Title of a", "Title\x07 of a") \
        + entry("b", "2027-06-30").replace("Title of b", "Title of b\x1b")
    path = tmp_path / "obligations.yaml"
    path.write_text(text)
    result = cli("validate", register=path)
    first, second = where(text, "\x07"), where(text, "\x1b")
    assert (result.exit_code, result.stderr.splitlines()) == (1, [
        f"{path}:{first[0]}:{first[1]}: control character U+0007 is not allowed in YAML: "
        "delete it",
        f"{path}:{second[0]}:{second[1]}: control character U+001B is not allowed in YAML: "
        "delete it",
        "error: 2 problems in the register"])


def test_a_control_character_is_escaped_only_where_a_text_may_hold_it(
        cli: CLI, tmp_path: Path) -> None:
    """U+0007 written as the escape "\\a" is refused again at its field, so the advice for
    it is to delete it; a C1 control such as U+0086, which no field refuses once escaped,
    keeps the advice to escape it."""
    text = HEADER + entry("a", "2027-06-30").replace("Title of a", "Title\x07 of a") \
        + entry("b", "2027-06-30").replace("Title of b", "Title of b\x86")
    path = tmp_path / "obligations.yaml"
    path.write_text(text)
    first, second = where(text, "\x07"), where(text, "\x86")
    assert cli("validate", register=path).stderr.splitlines() == [
        f"{path}:{first[0]}:{first[1]}: control character U+0007 is not allowed in YAML: "
        "delete it",
        f"{path}:{second[0]}:{second[1]}: control character U+0086 is not allowed in YAML: "
        "delete it, or write it as an escape in double quotes",
        "error: 2 problems in the register"]
    escaped = HEADER + entry("a", "2027-06-30").replace("Title of a", '"Title\\a of a"')
    path.write_text(escaped)
    assert cli("validate", register=path).stderr.splitlines()[0].endswith(
        "entries[0].title: contains the control character U+0007, which calendars cannot "
        "carry (RFC 5545): remove it")


def test_a_byte_that_is_not_utf8_is_reported_at_its_line_and_column(
        cli: CLI, tmp_path: Path) -> None:
    """A register that is not UTF-8 got no line: the first bad byte is named with its place
    (the column counts characters, so `é` before it is one)."""
    text = HEADER + entry("a", "2027-06-30").replace("Title of a", "Titlé of a")
    data = text.encode("utf-8").replace(b"Titl\xc3\xa9 of a", b"Titl\xc3\xa9 \xffof a")
    path = tmp_path / "obligations.yaml"
    path.write_bytes(data)
    result = cli("validate", register=path)
    line, column = where(text, "Titlé of a")
    assert (result.exit_code, result.stderr.splitlines()) == (1, [
        f"{path}:{line}:{column + 6}: byte 0xff is not UTF-8: save the file as UTF-8",
        "error: 1 problem in the register"])


def test_a_line_break_only_yaml_takes_is_reported_at_its_line_and_column(
        cli: CLI, tmp_path: Path) -> None:
    """YAML takes NEL, LS and PS written as they are for line breaks, editors do not: the
    problems after one were reported lines below where an editor shows them (here 'YAML
    syntax: did not find expected key' at line 24 of 22, the NEL having split a title's line
    in two). Each is a problem at its place, in an editor's lines; written as an escape in
    double quotes it is text, and the problems after it are on their lines."""
    text = (HEADER + entry("a", "2027-06-30").replace(
                "Title of a\n", 'Title of a\n    description: "one\u2028two"\n')
            + entry("b", "2027-06-30", kind="bogus").replace("Title of b", "Title\x85 of b"))
    path = tmp_path / "obligations.yaml"
    path.write_text(text, encoding="utf-8")
    first, second = where(text, "\u2028"), where(text, "\x85")
    result = cli("validate", register=path)
    assert (result.exit_code, result.stderr.splitlines()) == (1, [
        f"{path}:{first[0]}:{first[1]}: line separator U+2028 is a line break to YAML but not "
        "to an editor: delete it, or write it as an escape in double quotes",
        f"{path}:{second[0]}:{second[1]}: next line U+0085 is a line break to YAML but not to "
        "an editor: delete it, or write it as an escape in double quotes",
        "error: 2 problems in the register"])
    path.write_text(text.replace("\u2028", "\\u2028").replace("\x85", ""), encoding="utf-8")
    kind = where(text, "bogus")
    assert cli("validate", register=path).stderr.splitlines() == [
        f"{path}:{kind[0]}:{kind[1]}: entries[1].kind: 'bogus' is not one of: deadline, target, "
        "report, period, event, session, standing", "error: 1 problem in the register"]


@pytest.mark.parametrize(("value", "tag"), [("!Urgent report", "!Urgent"),
                                            ("!!binary aGVsbG8=", "!!binary"),
                                            ("!<tag:example.org,2026:x> report",
                                             "tag:example.org,2026:x")])
def test_a_yaml_tag_on_a_value_is_a_problem_at_its_place(
        cli: CLI, tmp_path: Path, value: str, tag: str) -> None:
    """`title: !Urgent report` was read as the title "report" (YAML takes `!Urgent` for a
    tag, and the register reads values as text, tags left aside), and validate said nothing:
    the word was gone from every list, page and feed. A tag is a problem at its place; `!!str`
    (what a value is anyway) and a quoted value are taken."""
    text = HEADER + entry("a", "2027-06-30").replace("Title of a", value)
    path = tmp_path / "obligations.yaml"
    path.write_text(text)
    line, column = where(text, value)
    result = cli("validate", register=path)
    assert (result.exit_code, result.stderr.splitlines()) == (1, [
        f"{path}:{line}:{column}: entries[0].title: {tag} is a YAML tag, which a register does "
        "not take: delete it, or put the whole value in quotes when it is part of the text",
        "error: 1 problem in the register"])
    for taken, shown in ((f"'{value}'", value), ("!!str Report", "Report")):
        path.write_text(text.replace(value, taken))
        assert cli("show", "a", register=path).stdout.splitlines()[0] == f"a: {shown}"
