"""The store on SQLite and PostgreSQL: schema versioning, subscriptions, revisions, and the
ledger's claims and leases."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from psycopg.sql import Literal
from sqlalchemy import Connection, event, inspect, text

from calendar_tool import service, store
from calendar_tool.delivery.reminders import reminders_between
from calendar_tool.errors import StoreFailed, UnknownSubscription
from calendar_tool.feeds.revisions import next_revisions
from calendar_tool.model import Format, Kind, Offset, Revision, Subscription
from calendar_tool.register import parse_located, parse_register
from calendar_tool.timeline import occurrences
from tests.paths import SAMPLE
from tests.registers import entry, register_of

T0 = datetime(2027, 6, 30, 9, 0, tzinfo=UTC)


def _sub(name: str = "team", **kw: object) -> Subscription:
    values: dict[str, object] = {
        "name": name, "url": "https://hooks.slack.com/services/T0/B0/SECRET",
        "format": Format.SLACK, "created_at": datetime(2027, 1, 1, tzinfo=UTC)}
    values.update(kw)
    return Subscription(**values)  # type: ignore[arg-type]


def test_a_new_database_gets_the_current_schema_and_reopening_keeps_the_data(
        db_url: str) -> None:
    first = store.open_store(db_url)
    assert store.schema_version(first) == store.SCHEMA_VERSION
    store.add_subscription(first, _sub())
    first.dispose()
    again = store.open_store(db_url)
    assert [i.subscription.name for i in store.subscriptions(again)] == ["team"]
    again.dispose()


def test_a_database_newer_than_the_code_is_refused(engine: store.Engine, db_url: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE meta SET value = '99' WHERE key = 'schema_version'"))
    with pytest.raises(StoreFailed, match="schema version 99, newer than"):
        store.open_store(db_url)


def test_a_migration_step_upgrades_in_place_without_losing_rows(
        engine: store.Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """How a later schema change lands: one step in MIGRATIONS, run once, rows kept."""
    store.add_subscription(engine, _sub())

    def add_note(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE subscription ADD COLUMN note VARCHAR DEFAULT 'kept'"))

    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)
    monkeypatch.setitem(store.MIGRATIONS, store.SCHEMA_VERSION, add_note)
    upgraded = store.open_store(db_url)
    assert store.schema_version(upgraded) == store.SCHEMA_VERSION
    with upgraded.connect() as conn:
        assert conn.execute(text("SELECT name, note FROM subscription")).all() == [
            ("team", "kept")]
    store.open_store(db_url).dispose()  # a second start runs nothing again
    upgraded.dispose()


@pytest.mark.parametrize(("url", "message"), [
    ("nonsense", "is not a database URL"),
    ("postgresql://postgres@127.0.0.1:1/none", "cannot open the database"),
])
def test_an_unusable_database_is_one_clear_error(url: str, message: str) -> None:
    with pytest.raises(StoreFailed, match=message):
        store.open_store(url)


def test_the_password_never_shows_in_a_database_error() -> None:
    with pytest.raises(StoreFailed) as caught:
        store.open_store("postgresql://user:hunter2@127.0.0.1:1/none")
    assert "hunter2" not in str(caught.value)


def test_a_subscription_round_trips_every_field(engine: store.Engine) -> None:
    sub = _sub(format=Format.JSON, url="http://127.0.0.1:9/hook", secret="whsec_abc",
               areas=frozenset({"victims", "trafficking"}), actors=frozenset({"commission"}),
               kinds=frozenset({Kind.DEADLINE, Kind.REPORT}),
               offsets=(Offset(days=14), Offset()), overdue=False,
               time_of_day=time(7, 30), zone="Europe/Vienna")
    store.add_subscription(engine, sub)
    info = store.subscription(engine, "team")
    assert info.subscription == sub
    assert info.disabled_reason is None


def test_names_are_unique_and_unknown_names_are_errors(engine: store.Engine) -> None:
    store.add_subscription(engine, _sub())
    with pytest.raises(StoreFailed, match="name: a subscription named 'team' already exists"):
        store.add_subscription(engine, _sub())
    with pytest.raises(UnknownSubscription):
        store.subscription(engine, "other")
    with pytest.raises(UnknownSubscription):
        store.remove_subscription(engine, "other")
    store.remove_subscription(engine, "team")
    assert store.subscriptions(engine) == []


def test_revisions_round_trip_and_only_changes_are_written(engine: store.Engine) -> None:
    first = {"a": Revision("sha256:1", 0, T0), "b": Revision("sha256:2", 3, T0)}
    assert store.save_revisions(engine, {}, first) == 2
    loaded = store.load_revisions(engine)
    assert loaded == first
    # Entries revised at one instant share one datetime: memory a process holding 100,000
    # revisions keeps.
    assert loaded["a"].changed_at is loaded["b"].changed_at
    second = dict(first, b=Revision("sha256:3", 4, T0 + timedelta(hours=1)))
    assert store.save_revisions(engine, first, second) == 1
    assert store.load_revisions(engine) == second
    assert store.load_revisions(engine)["b"].changed_at.tzinfo is UTC
    # Any instant, in any zone, comes back as the same instant in UTC, to the microsecond.
    odd = datetime(2031, 2, 3, 4, 5, 6, 789, tzinfo=timezone(timedelta(hours=-5)))
    third = dict(second, c=Revision("sha256:4", 0, odd))
    store.save_revisions(engine, second, third)
    back = store.load_revisions(engine)
    assert (back == third, back["c"].changed_at.isoformat()) == \
        (True, "2031-02-03T09:05:06.000789+00:00")


def test_revisions_read_back_share_the_strings_the_process_holds(engine: store.Engine) -> None:
    """An id or hash read equal to one the process holds (`held`) is that very object: `run`
    keeps the revisions beside the register's ids and the hashes it computed, and held twice
    they were 17 MB at 100,000 entries. Others are read as they are."""
    revs = {"a": Revision("sha256:1", 0, T0), "b": Revision("sha256:2", 3, T0)}
    store.save_revisions(engine, {}, revs)
    # Made at run time, so not the objects the module's constants are.
    entry_id, digest = "".join(["a"]), "".join(["sha256:", "1"])
    loaded = store.load_revisions(engine, {entry_id: entry_id, digest: digest})
    assert loaded == revs
    [(a_id, a), (b_id, b)] = loaded.items()
    assert (a_id is entry_id, a.hash is digest) == (True, True)
    assert (b_id, b.hash) == ("b", "sha256:2")


def test_revisions_are_written_a_chunk_at_a_time_in_one_save(
        engine: store.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows go to the database a chunk at a time (to bound memory); every row is written
    and the save counts once."""
    monkeypatch.setattr(store, "_ROWS_CHUNK", 2)
    revs = {f"e{i}": Revision(f"sha256:{i}", i, T0 + timedelta(seconds=i)) for i in range(5)}
    assert store.save_revisions(engine, {}, revs) == 5
    assert store.load_revisions(engine) == revs
    assert store.revisions_written(engine) == 1


def test_the_store_counts_the_writes_of_revisions(engine: store.Engine) -> None:
    """Each save that writes a row counts once; a save with nothing to write does not."""
    first = {"a": Revision("sha256:1", 0, T0)}
    assert store.revisions_written(engine) == 0
    store.save_revisions(engine, {}, first)
    assert store.revisions_written(engine) == 1
    assert store.save_revisions(engine, first, first) == 0
    assert store.revisions_written(engine) == 1
    store.save_revisions(engine, first, {"a": Revision("sha256:2", 1, T0)})
    assert store.revisions_written(engine) == 2


def test_kept_revisions_are_read_again_after_another_process_writes(engine: store.Engine,
                                                                    db_url: str) -> None:
    """Two `run` processes on one store: the first keeps its revisions between syncs, the
    second edits an entry in between. The first must continue from the second's sequence,
    not from what it kept: a feed's SEQUENCE never goes back."""
    text = SAMPLE.read_text()
    original = parse_register(text, "sample.yaml")
    edited = parse_register(text.replace("title: The biennium 2002-2003", "title: Biennium"),
                            "sample.yaml")
    other = store.open_store(db_url)
    try:
        kept = service.KeptRevisions()
        assert service.sync(engine, original, T0, kept)["biennium"].sequence == 0
        assert kept.written == 1
        assert service.sync(other, edited, T0 + timedelta(hours=1))["biennium"].sequence == 1
        back = service.sync(engine, original, T0 + timedelta(hours=2), kept)
    finally:
        other.dispose()
    assert back["biennium"] == Revision(back["biennium"].hash, 2, T0 + timedelta(hours=2))
    assert store.load_revisions(engine) == back
    assert kept.written == 3


def test_a_sync_after_an_edit_gives_what_a_full_sync_gives(engine: store.Engine) -> None:
    """`run` re-reads an edited register knowing what the edit reached (`register.Edit`) and
    hashes only those entries: the moved congress and the document dated from it get new
    revisions, as a sync of every entry gives them, and nothing else moves."""
    text = SAMPLE.read_text()
    first = parse_located(text, "sample.yaml")
    kept = service.KeptRevisions()
    before = service.sync(engine, first.register, T0, kept)
    edited = parse_located(text.replace("2000-04-10..2000-04-17", "2000-04-11..2000-04-18"),
                           "sample.yaml", before=first)
    edit = edited.edit
    assert edit is not None and edit.ids == {"tenth-congress", "intersessional-document"}
    later = T0 + timedelta(hours=1)
    got = service.sync(engine, edited.register, later, kept, edit)
    assert got == next_revisions(before, edited.register, later)
    assert {k for k in got if got[k] != before[k]} == edit.ids
    assert got["tenth-congress"] == Revision(got["tenth-congress"].hash, 1, later)
    assert store.load_revisions(engine) == got
    assert kept.written == 2


def _claim(engine: store.Engine, names: list[str], now: datetime, apart: bool = False
           ) -> store.Claimed:
    """Claim the reminders due by `now`: one message per subscription, or per reminder."""
    reg = register_of(entry("a", "2027-06-30"), entry("b", "2027-06-30"))
    subs = [store.subscription(engine, n).subscription for n in names]
    occs = occurrences(reg, datetime(2028, 1, 1).date())
    owed = reminders_between(reg, occs, subs, datetime(2027, 6, 1, tzinfo=UTC),
                             now + timedelta(seconds=1))
    groups = [([r for r in owed if r.subscription == n], False) for n in names]
    if apart:
        groups = [([r], False) for r in owed]
    return store.claim(engine, groups, lambda rs: f"{len(rs)} reminders", now,
                       dict.fromkeys(names, now))


def test_a_reminder_is_claimed_once(engine: store.Engine) -> None:
    store.add_subscription(engine, _sub(offsets=(Offset(),), overdue=False))
    assert _claim(engine, ["team"], T0) == store.Claimed(1, 2, 0)
    assert _claim(engine, ["team"], T0) == store.Claimed(0, 0, 0)
    assert store.ledger_keys(engine) == {("team", "a", "P0D", "2027-06-30"),
                                         ("team", "b", "P0D", "2027-06-30")}
    assert {i.subscription.name: i.checked_until for i in store.subscriptions(engine)} == {
        "team": T0}


def test_a_lease_keeps_a_message_from_a_second_sender_until_it_runs_out(
        engine: store.Engine) -> None:
    store.add_subscription(engine, _sub(offsets=(Offset(),), overdue=False))
    _claim(engine, ["team"], T0)
    lease, pace = timedelta(seconds=60), timedelta(0)
    [taken] = store.take(engine, "one", T0, lease, pace)
    assert (taken.subscription, taken.body, taken.attempts) == ("team", "2 reminders", 0)
    assert store.take(engine, "two", T0 + timedelta(seconds=59), lease, pace) == []
    assert [v.status for v in store.deliveries(engine, T0)] == ["sending", "sending"]
    # "one" died without recording anything: after the lease, "two" takes the same message.
    [again] = store.take(engine, "two", T0 + timedelta(seconds=61), lease, pace)
    assert again.id == taken.id
    # A late record by "one" no longer moves the message: "two" holds it.
    store.record(engine, "one", [store.Result(taken.id, T0, 200, 0.1, None, "sent")])
    assert [v.status for v in store.deliveries(engine, T0 + timedelta(seconds=62))] == [
        "sending", "sending"]
    store.record(engine, "two", [store.Result(taken.id, T0, 200, 0.1, None, "sent")])
    assert [v.status for v in store.deliveries(engine, T0)] == ["sent", "sent"]


def test_pacing_holds_a_subscriptions_next_message(engine: store.Engine) -> None:
    store.add_subscription(engine, _sub(offsets=(Offset(days=1), Offset()), overdue=False))
    assert _claim(engine, ["team"], T0, apart=True) == store.Claimed(4, 4, 0)
    pace = timedelta(seconds=1)
    assert len(store.take(engine, "one", T0, timedelta(seconds=60), pace)) == 1
    assert store.take(engine, "one", T0, timedelta(seconds=60), pace) == []
    assert store.next_sendable(engine, T0) == T0 + pace
    assert len(store.take(engine, "one", T0 + pace, timedelta(seconds=60), pace)) == 1
    assert store.next_sendable(engine, T0 + pace) == T0 + 2 * pace


def test_removing_a_subscription_removes_its_ledger(engine: store.Engine) -> None:
    store.add_subscription(engine, _sub(offsets=(Offset(),), overdue=False))
    _claim(engine, ["team"], T0)
    store.remove_subscription(engine, "team")
    assert store.deliveries(engine, T0) == []
    assert store.ledger_keys(engine) == set()


def test_a_backlog_on_one_subscription_does_not_crowd_out_another(
        engine: store.Engine) -> None:
    reg = register_of(*(entry(f"e{i}", f"2027-06-{i + 1:02d}") for i in range(12)))
    store.add_subscription(engine, _sub("busy", offsets=(Offset(),), overdue=False))
    store.add_subscription(engine, _sub("quiet", offsets=(Offset(),), overdue=False))
    occs = occurrences(reg, datetime(2028, 1, 1).date())
    subs = [store.subscription(engine, n).subscription for n in ("busy", "quiet")]
    owed = reminders_between(reg, occs, subs, datetime(2027, 6, 1, tzinfo=UTC), T0)
    busy = [([r], False) for r in owed if r.subscription == "busy"]
    quiet = [([r], False) for r in owed if r.subscription == "quiet"][-1:]
    store.claim(engine, busy + quiet, lambda rs: "", T0, {})
    taken = store.take(engine, "one", T0, timedelta(seconds=60), timedelta(seconds=1), limit=2)
    assert sorted(m.subscription for m in taken) == ["busy", "quiet"]


def _walk_plan(engine: store.Engine) -> str:
    """The plan of the queue walk `take` runs, captured as it runs and explained with its own
    parameters. On PostgreSQL as a prepared statement's generic plan, the one a connection
    settles on once psycopg prepares a statement it runs often (its parameters unknown to
    the planner), and with sequential scans off, since on a table this small the planner
    would rightly read the heap rather than any index."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any,
                _many: bool) -> None:
        if "ORDER BY message.next_attempt_at" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        store.take(engine, "one", T0, timedelta(seconds=60), timedelta(0))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    [(statement, params)] = seen
    raw = engine.raw_connection()
    cursor = raw.cursor()
    try:
        if engine.dialect.name != "postgresql":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
            return "\n".join(r[3] for r in cursor.fetchall())
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
        numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m[1]) + 1}", statement)
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE walk AS {numbered}")
        try:
            # Spelt out: EXECUTE's arguments cannot be parameters themselves.
            values = ", ".join(Literal(params[n]).as_string(raw.driver_connection)
                               for n in names)
            cursor.execute(f"EXPLAIN EXECUTE walk({values})")
            return "\n".join(r[0] for r in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE walk")
    finally:
        raw.rollback()
        raw.close()


def test_take_walks_the_queue_in_the_order_of_its_partial_index(engine: store.Engine) -> None:
    """docs/STORE.md: the walk reads ix_message_due (pending messages by next_attempt_at, id)
    in its order, and needs no sort. On PostgreSQL the status must be spelled as a literal
    for that: a bound parameter loses the partial index in a generic plan."""
    store.add_subscription(engine, _sub(offsets=(Offset(),), overdue=False))
    _claim(engine, ["team"], T0)
    plan = _walk_plan(engine)
    if engine.dialect.name == "postgresql":
        assert "Index Scan using ix_message_due on message" in plan, plan
        assert "Sort" not in plan, plan
    else:
        assert "SEARCH message USING INDEX ix_message_due" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


# The ledger as schema version 2 made it: no day counted from, a key without it.
_DELIVERY_V2 = """CREATE TABLE delivery_v2 (
    id INTEGER NOT NULL PRIMARY KEY, subscription_id INTEGER NOT NULL
        REFERENCES subscription (id) ON DELETE CASCADE,
    occurrence_id VARCHAR NOT NULL, "offset" VARCHAR NOT NULL, notice VARCHAR NOT NULL,
    remind_at DATETIME NOT NULL, message_id VARCHAR NOT NULL
        REFERENCES message (id) ON DELETE CASCADE,
    CONSTRAINT uq_delivery_key UNIQUE (subscription_id, occurrence_id, "offset"))"""


def _as_version_2(conn: Connection) -> None:
    """Take a database of this version back to what schema version 2 was, rows kept."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE delivery DROP CONSTRAINT uq_delivery_key"))
        conn.execute(text("ALTER TABLE delivery DROP COLUMN counted_from"))
        conn.execute(text("ALTER TABLE delivery DROP COLUMN estimated"))
        conn.execute(text('ALTER TABLE delivery ADD CONSTRAINT uq_delivery_key UNIQUE '
                          '(subscription_id, occurrence_id, "offset")'))
    else:  # SQLite cannot drop a column a unique key names: the table is made again
        kept = 'id, subscription_id, occurrence_id, "offset", notice, remind_at, message_id'
        conn.execute(text(_DELIVERY_V2))
        conn.execute(text(f"INSERT INTO delivery_v2 ({kept}) SELECT {kept} FROM delivery"))
        conn.execute(text("DROP TABLE delivery"))
        conn.execute(text("ALTER TABLE delivery_v2 RENAME TO delivery"))
        conn.execute(text("CREATE INDEX ix_delivery_remind_at ON delivery (remind_at)"))
    conn.execute(text("ALTER TABLE subscription DROP COLUMN estimated"))
    conn.execute(text("ALTER TABLE subscription DROP COLUMN review"))
    conn.execute(text("UPDATE meta SET value = '2' WHERE key = 'schema_version'"))


def test_version_2_keeps_its_ledger_and_counts_from_a_day(engine: store.Engine,
                                                          db_url: str) -> None:
    """Migration 3: the ledger's rows stay (their day counted from unknown, ""), a row of
    version 2 still holds its reminder whatever day it counts from, and a reminder counted from
    another day can be claimed beside it; subscriptions take estimates and reviews."""
    store.add_subscription(engine, _sub(offsets=(Offset(),), overdue=False))
    _claim(engine, ["team"], T0)
    with engine.begin() as conn:
        _as_version_2(conn)
    upgraded = store.open_store(db_url)
    try:
        assert store.schema_version(upgraded) == store.SCHEMA_VERSION == 3
        assert store.ledger_keys(upgraded) == {("team", "a", "P0D", ""), ("team", "b", "P0D", "")}
        [info] = store.subscriptions(upgraded)
        assert (info.subscription.estimated, info.subscription.review) == (False, False)
        # The day b counts from moves a week; a's stays.
        reg = register_of(entry("a", "2027-06-30"), entry("b", "2027-07-07"))
        team = store.subscription(upgraded, "team").subscription
        owed = service.plan(reg, [team], T0 - timedelta(hours=1), T0 + timedelta(days=8))
        keys = store.ledger_keys(upgraded)
        assert [(r.occurrence.id, r.counted_from, service.held(keys, r)) for r in owed] == [
            ("a", "2027-06-30", True), ("b", "2027-07-07", True)]
        moved = [r for r in owed if r.occurrence.id == "b"]
        assert store.claim(upgraded, [(moved, False)], lambda rs: "moved", T0, {}) == \
            store.Claimed(1, 1, 0)
        assert ("team", "b", "P0D", "2027-07-07") in store.ledger_keys(upgraded)
    finally:
        upgraded.dispose()


def test_version_1_gets_the_queue_index_in_place(engine: store.Engine, db_url: str) -> None:
    """Migration 2 swaps (status, next_attempt_at) for the partial index; rows stay."""
    store.add_subscription(engine, _sub(offsets=(Offset(),), overdue=False))
    _claim(engine, ["team"], T0)
    with engine.begin() as conn:  # the schema as version 1 left it
        _as_version_2(conn)
        conn.execute(text("DROP INDEX ix_message_due"))
        conn.execute(text("CREATE INDEX ix_message_ready ON message (status, next_attempt_at)"))
        conn.execute(text("UPDATE meta SET value = '1' WHERE key = 'schema_version'"))
    upgraded = store.open_store(db_url)
    try:
        assert store.schema_version(upgraded) == store.SCHEMA_VERSION
        names = {i["name"] for i in inspect(upgraded).get_indexes("message")}
        assert "ix_message_due" in names and "ix_message_ready" not in names
        [taken] = store.take(upgraded, "one", T0, timedelta(seconds=60), timedelta(0))
        assert taken.body == "2 reminders"
    finally:
        upgraded.dispose()


@pytest.mark.parametrize(("deleted", "said"), [
    (True, "was deleted"), (False, "is no longer writable")])
def test_a_file_deleted_while_it_is_looked_at_is_said_deleted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deleted: bool, said: str) -> None:
    """`run` looks at its SQLite file twice (is it the same file, may it write it): a file
    deleted between the two looks was reported as no longer writable, which sends someone
    to check permissions; it is said deleted. A file that is there and refused stays
    "no longer writable" (made so here: root may write any file)."""
    db = tmp_path / "calendar-tool.db"
    db.write_bytes(b"")
    watched = store.StoreFile(db)

    def access(path: object, mode: int) -> bool:
        if deleted:
            db.unlink()
        return False

    monkeypatch.setattr(os, "access", access)
    assert watched.problem() == (
        f"the database file {str(db)!r} {said}: stopped rather than write where a restart "
        "would not find it; restore the file from a backup, or start again on a new one")
