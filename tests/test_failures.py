"""Failures at run time: what `run`, `remind`, `publish` and `serve` do when the database, the
disk or a receiver fails under them, and when they are stopped mid-way. Real parts throughout
(SQLite files and the test PostgreSQL, a receiver on 127.0.0.1), the clock injected."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from calendar_tool import delivery, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.errors import StoreFailed
from calendar_tool.model import Format, Offset, Subscription
from calendar_tool.scheduler import Options, Runner
from tests.receiver import Receiver, Stall
from tests.registers import HEADER, entry

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
        failed: list[BaseException] = []

        def send() -> None:
            try:
                runner.send()
            except StoreFailed as exc:
                failed.append(exc)

        sender = threading.Thread(target=send)
        sender.start()
        receiver.wait_for(1)
        with writes_refused(engine):
            sender.join(10)
        assert not sender.is_alive()
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
