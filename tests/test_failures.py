"""Failures at run time: what `run`, `remind`, `publish` and `serve` do when the database, the
disk or a receiver fails under them, and when they are stopped mid-way. Real parts throughout
(SQLite files and the test PostgreSQL, a receiver on 127.0.0.1), the clock injected."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from click.testing import CliRunner
from sqlalchemy import event, text

from calendar_tool import delivery, service, store
from calendar_tool.cli import main
from calendar_tool.clock import FixedClock
from calendar_tool.delivery import Attempt, Outcome, SmtpServer
from calendar_tool.delivery.smtp import SmtpSender
from calendar_tool.errors import StoreFailed
from calendar_tool.files import cache_path
from calendar_tool.model import Format, Offset, Outbound, Subscription
from calendar_tool.scheduler import Options, Runner
from tests.receiver import Receiver, Stall
from tests.registers import HEADER, entry
from tests.test_email import _body
from tests.test_run import due_now
from tests.test_scheduler import events

LINK = "http://127.0.0.1:8000"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
AT_DUE = datetime(2027, 6, 30, 9, 0, tzinfo=UTC)


@contextlib.contextmanager
def writes_refused(engine: store.Engine) -> Iterator[None]:
    """The database refuses this engine's writes while the block runs: another connection
    holds the tables the ledger writes, and the engine gives up waiting after 0.2 s (SQLite's
    busy timeout, PostgreSQL's lock timeout) rather than the 30 s it waits in use. What a
    database restarting or locked by a backup looks like to `run`."""
    if engine.dialect.name == "sqlite":
        setting = "PRAGMA busy_timeout=200"
    else:
        setting = "SET lock_timeout = '200ms'"

    def impatient(dbapi_conn: Any, _record: object, _proxy: object) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(setting)
        cur.close()

    event.listen(engine, "checkout", impatient)
    try:
        with _held(engine):
            yield
    finally:
        event.remove(engine, "checkout", impatient)


@contextlib.contextmanager
def _held(engine: store.Engine) -> Iterator[None]:
    """The ledger's tables held by a connection of their own: SQLite's whole file, the
    message and attempt tables on PostgreSQL."""
    path = store.sqlite_path(engine)
    if path is not None:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with engine.connect() as conn:
        conn.execute(text("SET lock_timeout = 0"))
        conn.execute(text("LOCK TABLE message, attempt IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()


@contextlib.contextmanager
def answered_while_refused(engine: store.Engine, receiver: Receiver, call: Callable[[], object]
                           ) -> Iterator[list[StoreFailed]]:
    """`call` run in a thread until the receiver holds its request, then the database's
    writes refused (`writes_refused`) until it has ended: the StoreFailed it raised when its
    answer came back to a ledger that could not take it. The block runs with writes still
    refused."""
    failed: list[StoreFailed] = []

    def run() -> None:
        try:
            call()
        except StoreFailed as exc:
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    receiver.wait_for(1)
    with writes_refused(engine):
        thread.join(10)
        assert not thread.is_alive()
        yield failed


def _runner(engine: store.Engine, senders: delivery.Senders, clock: FixedClock, tmp_path: Path,
            url: str) -> Runner:
    """A runner on a register with one deadline due at AT_DUE, reminded on the day to `url`."""
    path = tmp_path / "obligations.yaml"
    path.write_text(HEADER + entry("a", AT_DUE.date().isoformat()))
    store.add_subscription(engine, Subscription(
        name="team", url=url, format=Format.JSON, secret=SECRET,
        created_at=AT_DUE - timedelta(days=1), offsets=(Offset(),), overdue=False))
    runner = Runner(engine, senders, clock, path,
                    Options(tmp_path / "feeds", LINK, watch=None))
    runner.start()
    return runner


# --- the ledger cannot be written when an answer comes back ----------------------------------

def test_an_answer_the_ledger_could_not_take_is_recorded_later_and_not_sent_again(
        engine: store.Engine, tmp_path: Path) -> None:
    """The receiver took the reminder (200) while the database refused writes: the answer
    was dropped with the failed transaction, the message stayed leased, and once the lease
    ran out (5 minutes) the reminder was sent again. Now the answer is kept and recorded as
    soon as the database takes writes again, before anything else is sent."""
    clock = FixedClock(AT_DUE)
    with Receiver(secret=SECRET, now=clock.now) as receiver, delivery.Senders(5) as senders:
        runner = _runner(engine, senders, clock, tmp_path, receiver.url)
        runner.claim()
        receiver.script(Stall(1))  # answers 200 after a second: time to refuse writes
        with answered_while_refused(engine, receiver, runner.send) as failed:
            pass
        assert [str(e).startswith("database error: ") for e in failed] == [True]
        # The database takes writes again: the answer is recorded, once.
        assert [(r.state, r.status, r.number) for r in runner.send()] == [("sent", 200, 1)]
        # Long past the lease of the attempt that was not recorded: nothing is sent again.
        clock.advance_to(AT_DUE + service.Policy().lease + timedelta(minutes=1))
        assert runner.remind() == []
    assert [r.status_sent for r in receiver.requests] == [200]
    [view] = store.deliveries(engine, clock.now())
    assert (view.status, view.attempts, view.last_status) == ("sent", 1, 200)
    assert [(a.number, a.status) for a in store.attempts(engine)] == [(1, 200)]



def test_run_stopping_while_the_ledger_refuses_an_answer_says_which_it_could_not_record(
        engine: store.Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An answer kept because the ledger refused it is recorded as `run` stops when the
    database takes writes again; while it still refuses them, each is logged as an error
    (`reminder.unrecorded`) rather than forgotten without a word: the next start may send it
    again, under the same webhook id."""
    caplog.set_level(logging.INFO, logger="calendar_tool")
    clock = FixedClock(AT_DUE)
    with Receiver(secret=SECRET, now=clock.now) as receiver, delivery.Senders(5) as senders:
        runner = _runner(engine, senders, clock, tmp_path, receiver.url)
        runner.claim()
        receiver.script(Stall(1))
        with answered_while_refused(engine, receiver, runner.send) as failed:
            assert len(failed) == 1
            [held] = runner.unrecorded
            runner.settle()
        [said] = events(caplog, "reminder.unrecorded")
        assert (said["level"], said["subscription"], said["message"], said["status"],
                said["state"]) == ("error", "team", held.message_id, 200, "sent")
        assert str(said["error"]).startswith("database error: ")
        runner.settle()  # the database is back: recorded, and logged as sent
    assert runner.unrecorded == []
    assert [e["message"] for e in events(caplog, "reminder.sent")] == [held.message_id]
    [view] = store.deliveries(engine, clock.now())
    assert (view.status, view.attempts, view.last_status) == ("sent", 1, 200)

# --- a signal during `remind` ------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_remind_finishes_and_records_the_send_in_flight(
        tmp_path: Path, sig: signal.Signals) -> None:
    """Ctrl-C (or SIGTERM) while `remind` waited for an answer ended it at once: "Aborted!"
    and exit 1 (the code of a register with problems), or killed by SIGTERM; the receiver
    got the reminder, the ledger did not say so, and the next pass once the lease ran out
    (315 s) sent it again. Now `remind` stops as `run` does: the attempt in flight finishes
    and is recorded, the message not yet started is handed back for the next pass, and it
    says so and exits 0."""
    db_url = f"sqlite:///{tmp_path / 'calendar-tool.db'}"
    with Receiver() as receiver:
        register, _ = due_now(tmp_path, db_url, receiver, subscriptions=1, entries=1,
                              days_back=1)  # two messages, paced: one in flight at a time
        receiver.script(Stall(1.0))
        env = dict(os.environ, CALENDAR_TOOL_DB=db_url, CALENDAR_TOOL_REGISTER=str(register))
        proc = subprocess.Popen([sys.executable, "-m", "calendar_tool.cli", "remind",
                                 "--catch-up", "48"], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            receiver.wait_for(1, timeout=20)
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        [first] = receiver.requests
    assert (proc.returncode, err) == (0, "")
    assert out == ("claimed 2 reminders in 2 messages, skipped 0 past the catch-up window; "
                   "sent 1, to retry 0, dead 0; stopped by a signal, the rest left pending "
                   "for the next pass\n")
    assert first.status_sent == 200
    engine = store.open_store(db_url)
    try:
        ledger = sorted((d.status, d.attempts, d.message_id == first.headers["webhook-id"])
                        for d in store.deliveries(engine, datetime.now(UTC)))
    finally:
        engine.dispose()
    # The second is pending, not `sending`: handed back, the next pass takes it at once.
    assert ledger == [("pending", 0, False), ("sent", 1, True)]


# --- a database server that never answers ------------------------------------------------------

@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that takes connections and never says a word: a PostgreSQL server
    hung, or a firewall that lets the handshake through and nothing after it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # connections wait in the backlog, never accepted or answered
        yield listener.getsockname()[1]


def test_a_postgresql_server_that_never_answers_is_exit_7_not_a_hang(
        silent_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq waits for ever for a server that takes the connection and never answers, and so
    did every command on it (`run`, `remind`, `deliveries`, ...): no line, no exit. Now a
    connection not made within CONNECT_TIMEOUT seconds (10; 1 here) is exit 7 in one line,
    and a URL's own `connect_timeout` still wins."""
    assert store.CONNECT_TIMEOUT == 10
    monkeypatch.setattr(store, "CONNECT_TIMEOUT", 1)
    url = f"postgresql://calendar@127.0.0.1:{silent_port}/calendar"
    result = CliRunner().invoke(main, ["--db", url, "deliveries"])
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == (f"error: --db: cannot open the database postgresql+psycopg://"
                             f"calendar@127.0.0.1:{silent_port}/calendar: connection timeout "
                             "expired\n")
    # The URL's own wins: with the default at an hour, the command still ends (a bound on a
    # hang, not a measure of speed: the default would hold it for the hour).
    monkeypatch.setattr(store, "CONNECT_TIMEOUT", 3600)
    started = time.monotonic()
    result = CliRunner().invoke(main, ["--db", f"{url}?connect_timeout=1", "deliveries"])
    assert result.exit_code == 7 and "connection timeout expired" in result.stderr
    assert time.monotonic() - started < 600


# --- a database server that vanishes mid-session --------------------------------------------

def _keepalives(engine: store.Engine) -> tuple[int, int, int, int]:
    """The TCP keepalive settings of a connection of `engine`, read from its socket:
    (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT)."""
    raw = engine.raw_connection()
    try:
        fd = os.dup(raw.driver_connection.fileno())  # type: ignore[union-attr]
        with socket.socket(fileno=fd) as sock:
            return (sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT))
    finally:
        raw.close()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(("query", "expected"), [
    ("", (30, 10, 3)),
    ("&keepalives_idle=45", (45, 10, 3)),
    ("&keepalives_interval=5&keepalives_count=9", (30, 5, 9)),
])
def test_a_postgresql_connection_probes_a_server_gone_silent_within_a_minute(
        db_url: str, query: str, expected: tuple[int, int, int]) -> None:
    """A PostgreSQL server gone mid-session without a word (a cable pulled, a machine paused)
    held a command, or `run`, on the dead connection for the system's default, two hours and
    more. Connections now carry TCP keepalives (store.KEEPALIVES: probed after 30 s idle, 3
    probes 10 s apart), read here from the socket itself; a URL's own value of each wins."""
    assert store.KEEPALIVES == {"keepalives": 1, "keepalives_idle": 30,
                                "keepalives_interval": 10, "keepalives_count": 3}
    engine = store.open_store(db_url + query)
    try:
        on, *probes = _keepalives(engine)
    finally:
        engine.dispose()
    assert (on != 0, *probes) == (True, *expected)


def _settings(engine: store.Engine, *names: str) -> tuple[str, ...]:
    """What PostgreSQL says of each of its settings `names` on a connection of `engine`."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(f"SHOW {name}")).scalar_one() for name in names)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(("more", "expected"), [("", "30s"), (" -c lock_timeout=5s", "5s")])
def test_a_postgresql_statement_waits_for_a_lock_as_long_as_sqlite_does(
        db_url: str, more: str, expected: str) -> None:
    """A statement on PostgreSQL waited for a lock for ever: a process stopped while it held
    one (suspended, a machine paused mid-transaction) held every other command, and `run`.
    It now waits 30 s (store.LOCK_TIMEOUT), as SQLite's busy timeout, read here from the
    server; the URL's own `options` (the test database's schema, its `search_path`) are
    kept, and win if they set it."""
    assert store.LOCK_TIMEOUT == "30s"
    schema = unquote(db_url).rsplit("search_path=", 1)[1]
    engine = store.open_store(db_url + quote(more))
    try:
        assert _settings(engine, "lock_timeout", "search_path") == (expected, schema)
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_lock_not_had_in_time_is_one_line_and_exit_7(db_url: str) -> None:
    """A command that cannot have its lock within the timeout ends with the database's
    error on one line, exit 7, and the other process's work as it was (here a URL's own
    timeout of 0.2 s, for a test that does not wait the default's 30 s)."""
    CliRunner().invoke(main, ["--db", db_url, "deliveries"])  # the schema made
    holder = store.open_store(db_url)
    try:
        with holder.begin() as conn:
            conn.execute(text("LOCK TABLE subscription IN ACCESS EXCLUSIVE MODE"))
            result = CliRunner().invoke(main, [
                "--db", db_url + quote(" -c lock_timeout=200ms"), "subscribe", "add",
                "team", "--url", "https://example.org/hook"])
    finally:
        holder.dispose()
    assert (result.exit_code, result.stderr) == (
        7, "error: database error: canceling statement due to lock timeout\n")


# --- an SMTP server that trickles its answers --------------------------------------------------

@pytest.fixture
def trickling_smtp() -> Iterator[int]:
    """An SMTP server on 127.0.0.1 that greets one byte every 0.1 s, a continuation line after
    another ("220-…"), for as long as the client stays: each read gets a byte well within any
    timeout, and the greeting never ends."""
    done = threading.Event()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(5)

        def serve() -> None:
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                with conn:
                    line = b"220-slow\r\n"
                    sent = 0
                    while not done.wait(0.1):
                        conn.sendall(line[sent % len(line):][:1])
                        sent += 1

        server = threading.Thread(target=serve)
        server.start()
        try:
            yield listener.getsockname()[1]
        finally:
            done.set()
            server.join(5)


def test_an_smtp_attempt_ends_within_its_timeout_however_the_server_trickles(
        trickling_smtp: int) -> None:
    """smtplib bounds each read, not the session: a server sending its greeting a byte at a
    time held an e-mail attempt for as long as it kept sending (past the lease of the
    message, when another sender takes it and mails it again). Now the whole session is
    bounded by the timeout, as a webhook's attempt is, and it is tried again later."""
    message = Outbound("msg_t", "mail", "mailto:a@example.org", Format.EMAIL, None,
                       _body(), 0)
    sender = SmtpSender(SmtpServer.parse(f"smtp://127.0.0.1:{trickling_smtp}"), 1)
    attempts: list[Attempt] = []
    # On a thread, so that the test fails rather than waits if the attempt does not end.
    attempting = threading.Thread(target=lambda: attempts.append(sender.send(message, AT_DUE)),
                                  daemon=True)
    attempting.start()
    attempting.join(3)
    [attempt] = attempts
    assert (attempt.outcome, attempt.status, attempt.error) == (
        Outcome.RETRY, None, f"127.0.0.1:{trickling_smtp} did not answer within 1 s")


# --- the register file goes away under `run` ---------------------------------------------------

def test_a_register_file_gone_or_unreadable_under_run_is_logged_once_each_way(
        engine: store.Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An edit with problems was logged, but a register deleted, moved, made a folder or a
    named pipe under `run` was not: the state of an unreadable file has no revision, and
    "no revision" was also what `run` had last reported. Each is now logged once, as an
    error naming the file and what is wrong, the last good register stays in force, and the
    file back is taken up."""
    caplog.set_level(logging.INFO, logger="calendar_tool")
    clock = FixedClock(AT_DUE)
    with delivery.Senders(5) as senders:
        runner = _runner(engine, senders, clock, tmp_path, "http://127.0.0.1:9/hook")
    path, good = runner.path, runner.register
    text_before = path.read_text()
    feeds = {p.name: p.read_bytes() for p in (tmp_path / "feeds").iterdir()}
    caplog.clear()
    path.rename(tmp_path / "moved.yaml")
    assert [runner.reload(), runner.reload()] == [False, False]
    path.mkdir()
    assert runner.reload() is False
    path.rmdir()
    os.mkfifo(path)
    assert runner.reload() is False
    path.unlink()
    path.write_text(text_before.replace("Title of a", "Title of a, edited"))
    assert runner.reload() is True
    invalid = [(e["level"], e["file"], e["error"]) for e in events(caplog, "register.invalid")]
    where = str(path)
    other = "give --register PATH or set CALENDAR_TOOL_REGISTER"
    assert invalid == [
        ("error", where, f"no register at {where!r}: {other}"),
        ("error", where, f"the register {where!r} is a folder, not a file: {other}"),
        ("error", where, f"the register {where!r} is a named pipe (FIFO), not a regular "
                         f"file: {other}")]
    assert runner.register is not good
    assert [e["entries"] for e in events(caplog, "register.reloaded")] == [1]
    assert {p.name for p in (tmp_path / "feeds").iterdir()} == set(feeds)


# --- a SQLite file that is not a database, or no longer one ------------------------------------

def test_a_file_that_is_not_a_database_is_exit_7_in_one_line(tmp_path: Path) -> None:
    """SQLite says "file is not a database" as a DatabaseError, not the OperationalError the
    store turned into its one line: a traceback and exit 1 (the code of a register with
    problems)."""
    db = tmp_path / "calendar-tool.db"
    db.write_text("register:\n  title: not a database\n" * 200)
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "deliveries"])
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == f"error: --db: cannot open the database sqlite:///{db}: file is " \
                            "not a database\n"


def test_a_database_file_damaged_under_a_command_is_a_store_failure(tmp_path: Path) -> None:
    """A database file damaged after it was opened (a disk failing, a copy over it) made every
    later statement raise SQLite's DatabaseError, which the store let through: a traceback
    for a command, and `job.failed` with one for each of `run`'s jobs. It is a StoreFailed
    (exit 7) with SQLite's words now."""
    db = tmp_path / "calendar-tool.db"
    engine = store.open_store(f"sqlite:///{db}")
    try:
        store.add_subscription(engine, Subscription(
            name="team", url="http://127.0.0.1:9/hook", format=Format.JSON,
            created_at=AT_DUE - timedelta(days=1)))
        engine.dispose()  # the pages go to the file
        with db.open("r+b") as f:
            f.seek(4096)  # past the header: the file still opens
            f.write(bytes(range(256)) * ((db.stat().st_size - 4096) // 256))
        with pytest.raises(StoreFailed) as failed:
            store.subscriptions(engine)
    finally:
        engine.dispose()
    assert str(failed.value) == "database error: database disk image is malformed"


# --- what stands in a feed's place ---------------------------------------------------------------

def test_a_named_pipe_in_a_feeds_place_is_replaced_not_waited_on(tmp_path: Path) -> None:
    """`publish` opened the file it replaces to compare it with the new bytes, and a named pipe
    there (left by a tool, a test, a mistake) held that open for ever: no line, no exit, and
    a temporary file left behind when it was killed. A feed's place holding anything but a
    regular file is now replaced as a missing file is."""
    register = tmp_path / "obligations.yaml"
    register.write_text(HEADER + entry("a", "2030-06-30"))
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    os.mkfifo(feeds / "all.ics")
    env = dict(os.environ, CALENDAR_TOOL_DB=f"sqlite:///{tmp_path / 'calendar-tool.db'}",
               CALENDAR_TOOL_REGISTER=str(register))
    done = subprocess.run([sys.executable, "-m", "calendar_tool.cli", "publish", "--out",
                           str(feeds)], env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    assert f"written   {feeds / 'all.ics'} (1 event)" in done.stdout.splitlines()
    assert (feeds / "all.ics").is_file()
    assert (feeds / "all.ics").read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    assert sorted(p.name for p in feeds.iterdir()) == [
        "actor-member-states.ics", "all.ics", "area-trafficking.ics", "index.json"]


def test_run_republishes_over_a_named_pipe_put_in_a_feeds_place(
        engine: store.Engine, tmp_path: Path) -> None:
    """`run` opened the all.ics it had written, to copy its unchanged events from, and a named
    pipe put there held its register watch for ever: no edit was published again, a warning
    was logged every second ("maximum number of running instances reached"), and SIGTERM no
    longer stopped it. The pipe is now replaced as a feed rewritten by someone else is."""
    clock = FixedClock(AT_DUE)
    with delivery.Senders(5) as senders:
        runner = _runner(engine, senders, clock, tmp_path, "http://127.0.0.1:9/hook")
    feeds = tmp_path / "feeds"
    (feeds / "all.ics").unlink()
    os.mkfifo(feeds / "all.ics")
    runner.path.write_text(runner.path.read_text().replace("Title of a", "Title of a, edited"))
    reloaded: list[bool] = []
    # On a thread, so that the test fails rather than waits if the reload does not end.
    reloading = threading.Thread(target=lambda: reloaded.append(runner.reload()), daemon=True)
    reloading.start()
    reloading.join(20)
    assert reloaded == [True]
    for name in ("all.ics", "area-trafficking.ics"):
        assert b"SUMMARY:Title of a\\, edited" in (feeds / name).read_bytes()



# --- what stands in a cache file's place -----------------------------------------------------

def _command_in(tmp_path: Path, cache: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`calendar-tool ARGS` in a process of its own, on the register and a database of
    `tmp_path`, with `cache` as CALENDAR_TOOL_CACHE; a command still waiting after 30 s fails
    the test rather than holding the suite."""
    env = dict(os.environ, CALENDAR_TOOL_CACHE=cache,
               CALENDAR_TOOL_DB=f"sqlite:///{tmp_path / cache.replace('/', '_')}.db",
               CALENDAR_TOOL_REGISTER=str(tmp_path / "obligations.yaml"))
    return subprocess.run([sys.executable, "-m", "calendar_tool.cli", *args], env=env,
                          capture_output=True, text=True, timeout=30, cwd=tmp_path)


@pytest.mark.parametrize(("kind", "suffix", "command"), [
    ("entries", "pickle", ["validate"]),
    ("dates", "index", ["list"]),
    ("hashes", "pickle", ["publish", "--out", "feeds"]),
    ("events", "pickle", ["publish", "--out", "feeds"]),
])
def test_a_named_pipe_in_a_cache_files_place_is_no_cache_not_waited_on(
        tmp_path: Path, kind: str, suffix: str, command: list[str]) -> None:
    """The entry cache, the date index, the kept hashes and the kept publishing run were
    opened with a plain open, and a named pipe in the cache folder at such a file's place held
    `validate`, `list` or `publish` there for ever. A file there that is not a regular one is
    now no cache: the command answers as it does with the cache off, and keeps a new one."""
    (tmp_path / "obligations.yaml").write_text(HEADER + entry("a", "2030-06-30"))
    expected = _command_in(tmp_path, "off", *command)
    shutil.rmtree(tmp_path / "feeds", ignore_errors=True)
    cache = tmp_path / "cache"
    cache.mkdir()
    kept = cache_path(cache, tmp_path / "obligations.yaml", kind, suffix)
    os.mkfifo(kept)
    done = _command_in(tmp_path, str(cache), *command)
    assert (done.returncode, done.stdout, done.stderr) == (0, expected.stdout, "")
    assert expected.returncode == 0 and expected.stdout
    assert kept.is_file()


def test_a_named_pipe_in_index_jsons_place_is_replaced_not_waited_on(tmp_path: Path) -> None:
    """`publish` read the index.json it had written (to remove the feeds it no longer writes)
    with a plain open: a named pipe in its place held it for ever. The pipe is now no index,
    and is replaced by the index written, as a missing one is."""
    (tmp_path / "obligations.yaml").write_text(HEADER + entry("a", "2030-06-30"))
    (tmp_path / "feeds").mkdir()
    os.mkfifo(tmp_path / "feeds" / "index.json")
    done = _command_in(tmp_path, "off", "publish", "--out", "feeds")
    assert (done.returncode, done.stderr) == (0, "")
    index = json.loads((tmp_path / "feeds" / "index.json").read_text())
    assert [f["path"] for f in index["feeds"]] == ["all.ics", "area-trafficking.ics",
                                                   "actor-member-states.ics"]


# --- a subscription removed while its message is being sent ------------------------------------

def test_a_subscription_removed_while_its_message_is_sent_fails_no_round(
        engine: store.Engine, tmp_path: Path) -> None:
    """`subscribe remove` while `run` waited for that subscription's receiver: the message
    and its ledger rows went with the subscription, and recording the answer inserted an
    attempt for a message no longer there, a foreign-key violation that failed the whole
    batch (the other subscriptions' answers with it, to be sent again once their leases ran
    out). The answer of a message that is gone is now dropped, the others recorded."""
    clock = FixedClock(AT_DUE)
    with Receiver() as slow, Receiver() as quick, delivery.Senders(5) as senders:
        runner = _runner(engine, senders, clock, tmp_path, slow.url)
        store.add_subscription(engine, Subscription(
            name="other", url=quick.url, format=Format.JSON,
            created_at=AT_DUE - timedelta(days=1), offsets=(Offset(),), overdue=False))
        runner.claim()
        slow.script(Stall(1))  # answers after a second: time to remove its subscription
        results: list[list[service.Result]] = []
        sender = threading.Thread(target=lambda: results.append(runner.send()), daemon=True)
        sender.start()
        slow.wait_for(1)
        quick.wait_for(1)
        store.remove_subscription(engine, "team")
        sender.join(20)
        assert [sorted((r.subscription, r.state) for r in rs) for rs in results] == [
            [("other", "sent"), ("team", "sent")]]
        assert [r.status_sent for r in slow.requests + quick.requests] == [200, 200]
        # Nothing is left to send, to anyone, however long past the leases.
        clock.advance_to(AT_DUE + service.Policy().lease + timedelta(minutes=1))
        assert runner.remind() == []
    assert [(v.subscription, v.status, v.attempts)
            for v in store.deliveries(engine, clock.now())] == [("other", "sent", 1)]


def test_remind_names_the_sends_the_ledger_refused(
        engine: store.Engine, tmp_path: Path) -> None:
    """A one-shot `remind` whose ledger refused the answer of a send said only "database
    error: …": nothing told that the receiver had the reminder and the next pass might send
    it again. The error now names each message sent and not recorded."""
    clock = FixedClock(AT_DUE)
    with Receiver(secret=SECRET, now=clock.now) as receiver, delivery.Senders(5) as senders:
        runner = _runner(engine, senders, clock, tmp_path, receiver.url)
        reg = runner.register
        assert reg is not None
        receiver.script(Stall(1))

        def remind() -> object:
            return service.remind_now(engine, reg, senders, clock, LINK, timedelta(hours=24),
                                      service.Policy(5), lambda s: None)

        with answered_while_refused(engine, receiver, remind) as failed:
            pass
    [request] = receiver.requests
    message = request.headers["webhook-id"]
    [error] = [str(e) for e in failed]
    assert error.startswith("database error: ")
    assert error.endswith(f"; sent and not recorded: {message} (the next pass may send it "
                          "again, under the same webhook id)")
