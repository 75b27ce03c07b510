"""The database: subscriptions, the delivery ledger and the entries' revisions. The only module
that imports SQLAlchemy.

A SQLite file by default (created on first use), PostgreSQL when the URL names one. The ledger
is what makes every reminder arrive once:

- `delivery` has one row per reminder owed, unique on (subscription, occurrence, offset).
  Whoever inserts the row has claimed the reminder; a second claimant, in this process or
  another, inserts nothing (INSERT … ON CONFLICT DO NOTHING) and so sends nothing.
- `message` is what goes over the wire: one reminder, or a digest of a subscription's
  reminders that fall in the same hour. Its id is the `webhook-id` of every attempt, so a
  receiver can drop a retry it already has. A sender takes a message with a lease
  (`lease_until`, a compare-and-set UPDATE); a sender that dies mid-send leaves the message
  to be taken again when the lease runs out, under the same id.
- `attempt` records every try: time, HTTP status, latency, error.

Writes to SQLite take the write lock at BEGIN (BEGIN IMMEDIATE) so that two processes queue
for it instead of failing with "database is locked" half way through a transaction.

The schema is versioned by `meta.schema_version`; see `migrate`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import uuid
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    cast,
    create_engine,
    delete,
    event,
    func,
    inspect,
    literal_column,
    select,
    text,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy import Engine as Engine  # re-exported: the service types engines with it
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, SAWarning
from sqlalchemy.schema import CreateTable

from calendar_tool.config import DEFAULT_DB
from calendar_tool.errors import StoreFailed, UnknownSubscription, os_reason
from calendar_tool.model import Format, Kind, Offset, Outbound, Reminder, Revision, Subscription

SCHEMA_VERSION = 3

_T = TypeVar("_T")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store only takes aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- tables ----------------------------------------------------------------------------------
# SQLAlchemy Core tables: every statement below is Core (ON CONFLICT, RETURNING and
# compare-and-set UPDATEs have no ORM form, and plain rows are all the callers need), and the
# ORM with sqlmodel and pydantic would more than double the import every database command pays
# (BENCHMARKS.md, "startup"). The DDL is what sqlmodel's models emitted, byte for byte, so
# databases created before and after read the same.

METADATA = MetaData()


def _text(name: str, *args: Any, nullable: bool = False, **kw: Any) -> Column[Any]:
    return Column(name, String(), *args, nullable=nullable, **kw)


def _int(name: str, *args: Any, nullable: bool = False, **kw: Any) -> Column[Any]:
    return Column(name, Integer(), *args, nullable=nullable, **kw)


def _when(name: str, nullable: bool = False) -> Column[Any]:
    return Column(name, UTCDateTime(), nullable=nullable)


def _parent(name: str, target: str, kind: Callable[..., Column[Any]], index: bool
            ) -> Column[Any]:
    """A column pointing at `target`; its rows go when the row they point at goes."""
    return kind(name, ForeignKey(target, ondelete="CASCADE"), index=index)


META = Table(
    "meta", METADATA,
    _text("key", primary_key=True),
    _text("value"),
)

SUBS = Table(
    "subscription", METADATA,
    _int("id", primary_key=True),
    _text("name", unique=True),
    _text("url"),
    _text("format"),
    _text("areas", default="[]"),  # JSON lists
    _text("actors", default="[]"),
    _text("kinds", default="[]"),
    _text("offsets", nullable=True),  # JSON list of ISO durations; None: each entry's own
    Column("overdue", Boolean(), nullable=False, default=True),
    _text("time_of_day", default="09:00"),
    _text("zone", default="UTC"),
    _text("secret", nullable=True),
    Column("enabled", Boolean(), nullable=False, default=True),
    _text("disabled_reason", nullable=True),
    _when("created_at"),
    # Reminders up to this instant have been looked at (claimed, or recorded as skipped).
    _when("checked_until", nullable=True),
    # Pacing: no message to this subscription before this instant.
    _when("next_send_at", nullable=True),
    Column("estimated", Boolean(), nullable=False, default=False),  # estimated dates too
    Column("review", Boolean(), nullable=False, default=False),  # the keepers' weekly review
)

SNAPSHOTS = Table(
    "entry_snapshot", METADATA,
    _text("entry_id", primary_key=True),
    _text("hash"),
    _int("sequence"),
    _when("changed_at"),
)

# The senders' queue: only pending messages, in the order they are taken. A partial index
# stays as small as the queue however long the ledger of sent messages grows; the queries that
# use it spell the status as a literal (PENDING): PostgreSQL cannot match a partial index
# against a bound parameter in a generic plan, the one a connection settles on once psycopg
# prepares a statement it runs often (docs/STORE.md).
_DUE = text("status = 'pending'")
PENDING: ColumnElement[str] = literal_column("'pending'", String)

MESSAGES = Table(
    "message", METADATA,
    _text("id", primary_key=True),
    _parent("subscription_id", "subscription.id", _int, index=True),
    _text("status"),  # pending, sent, dead, skipped
    _text("body"),
    _int("attempts", default=0),
    _when("created_at"),
    _when("next_attempt_at"),
    _text("lease_owner", nullable=True),
    _when("lease_until", nullable=True),
    _when("sent_at", nullable=True),
    _int("last_status", nullable=True),
    _text("last_error", nullable=True),
)


@functools.cache
def _queue_index() -> Index:
    """`ix_message_due`, made on the table when a schema is created or migrated: an index
    with PostgreSQL's options loads that dialect (20-40 ms), which a command on SQLite that
    only reads does not need."""
    return Index("ix_message_due", MESSAGES.c.next_attempt_at, MESSAGES.c.id,
                 postgresql_where=_DUE, sqlite_where=_DUE)

DELIVERIES = Table(
    "delivery", METADATA,
    _int("id", primary_key=True),
    _parent("subscription_id", "subscription.id", _int, index=False),
    _text("occurrence_id"),
    _text("offset"),
    # The day the reminder was counted from ("" in rows older than schema version 3, and for
    # an undated occurrence): a date the register confirms or moves is reminded again.
    _text("counted_from", default=""),
    Column("estimated", Boolean(), nullable=False, default=False),  # was that day an estimate
    _text("notice"),
    _when("remind_at"),
    _parent("message_id", "message.id", _text, index=True),
    UniqueConstraint("subscription_id", "occurrence_id", "offset", "counted_from",
                     name="uq_delivery_key"),
    Index("ix_delivery_remind_at", "remind_at"),
)

ATTEMPTS = Table(
    "attempt", METADATA,
    _int("id", primary_key=True),
    _parent("message_id", "message.id", _text, index=True),
    _int("number"),
    _when("at"),
    _int("status", nullable=True),
    _int("latency_ms"),
    _text("error", nullable=True),
)


# --- engine and schema -----------------------------------------------------------------------

def normalise_url(url: str) -> str:
    """`postgresql://…` means psycopg 3, the driver installed with the tool."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # SQLAlchemy then issues BEGIN itself (below), instead of pysqlite's deferred one.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_store(url: str = DEFAULT_DB, given_by: str = "the database URL") -> Engine:
    """An engine on `url` with the schema created or migrated; StoreFailed when unusable.
    `given_by` names what gave the URL (`--db`, `CALENDAR_TOOL_DB`), for the message."""
    try:
        parsed = make_url(normalise_url(url))
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise StoreFailed(f"{given_by}: {_masked(url)!r} is not a database URL such as "
                          "sqlite:///calendar-tool.db or postgresql://user@host/db") from None
    if _in_memory(parsed):
        # The database holds what nothing can rebuild (signing secrets, the ledger, every
        # feed's SEQUENCE): one that ends with the command would lose it all, silently.
        raise StoreFailed(f"{given_by}: {_masked(url)!r} is a SQLite database in memory, lost "
                          "when the command ends: give a file, such as "
                          "sqlite:///calendar-tool.db")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # deprecations of the library's: not the user's
            engine = create_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite",
                                   connect_args=_connect_args(parsed))
    except Exception as exc:  # a dialect or driver that is not installed
        raise StoreFailed(f"{given_by}: cannot use the database {_safe(url)}: {exc}") from None
    warned = [w for w in caught if issubclass(w.category, SAWarning)]
    if warned:
        # A part of the URL the driver ignores (`?mode=memory` without `uri=true`): the
        # database opened would not be the one asked for. SQLAlchemy only warned, in two
        # lines of a source file on stderr, and the command went on.
        engine.dispose()
        said = str(warned[0].message).split(" (Background on this warning", 1)[0]
        raise StoreFailed(f"{given_by}: {_masked(url)!r} is not taken as written: {said}")
    path = sqlite_path(engine)
    if path is not None:
        _create_private(path, url, given_by)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    try:
        migrate(engine)
    except DatabaseError as exc:  # OperationalError, and SQLite's "file is not a database"
        engine.dispose()
        raise StoreFailed(f"{given_by}: cannot open the database {_safe(url)}: "
                          f"{_one_line(exc.orig)}") from None
    except BaseException:
        engine.dispose()
        raise
    return engine


CONNECT_TIMEOUT = 10
"""Seconds a new PostgreSQL connection may take: libpq waits for ever for a server that takes
the connection and never answers (hung, or behind a firewall that lets only the handshake
through), and every command waited with it, `run` at start and at each reconnection."""


KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3}
"""libpq's TCP keepalives on a PostgreSQL connection: a server gone mid-session without a word
(a cable pulled, a machine paused) is found out after about a minute idle (30 s, then 3
probes 10 s apart), rather than after the system's default of two hours and more, which a
command, or `run`, spent waiting on the dead connection."""


LOCK_TIMEOUT = "30s"
"""How long a PostgreSQL statement waits for a lock (libpq's `options`, `-c lock_timeout`):
as long as SQLite's `busy_timeout`. It waited for ever, so that a process that stopped while
it held one (suspended, or its machine paused mid-transaction) held every other command, and
`run`, with it; the statement now fails, a one-line database error (exit 7)."""


def _connect_args(parsed: URL) -> dict[str, Any]:
    """The driver's settings: on PostgreSQL, CONNECT_TIMEOUT and KEEPALIVES, each unless the
    URL gives its own (`connect_timeout`, `keepalives`, ...), and LOCK_TIMEOUT added to the
    URL's `options` unless they set it."""
    if parsed.get_backend_name() != "postgresql":
        return {}
    settings = {"connect_timeout": CONNECT_TIMEOUT, **KEEPALIVES}
    args: dict[str, Any] = {name: value for name, value in settings.items()
                            if name not in parsed.query}
    given = parsed.query.get("options", "")
    if isinstance(given, str) and "lock_timeout" not in given:
        args["options"] = f"{given} -c lock_timeout={LOCK_TIMEOUT}".strip()
    return args


def _in_memory(parsed: URL) -> bool:
    """Whether a URL names a SQLite database in memory: `sqlite://`, `sqlite:///`,
    `sqlite:///:memory:`, or SQLite's URI form (`file::memory:`, `?mode=memory`)."""
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    if database in ("", ":memory:"):
        return True
    return database.startswith("file:") and (
        database.startswith("file::memory:") or parsed.query.get("mode") == "memory")


def _one_line(error: BaseException | None) -> str:
    """A driver's message on one line (psycopg adds a hint on a line of its own); a server's
    error by its primary message alone, without the statement psycopg quotes after it ("LINE
    1: INSERT INTO …", a caret under it), which is the tool's, not the user's."""
    primary = getattr(getattr(error, "diag", None), "message_primary", None)
    return " ".join(str(primary or error).split())


def sqlite_path(engine: Engine) -> Path | None:
    """The file of a SQLite database (None for PostgreSQL, or a database in memory)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return Path(database)


def _create_private(path: Path, url: str, given_by: str) -> None:
    """Create a new database file readable by its owner alone: it holds the subscriptions'
    signing secrets, and SQLite would create it readable by all (0644). SQLite gives its
    journal and WAL files the permissions of the database file."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        reason = os_reason(exc)
        raise StoreFailed(f"{given_by}: cannot open the database {_safe(url)}: {reason}") from None


class StoreFile:
    """A SQLite file under a long-running process: whether it is still the file it opened.
    A file deleted (or replaced) under an open connection takes every later write with it,
    and a read-only one refuses the next start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        st = os.stat(path)
        self._identity = (st.st_dev, st.st_ino)

    def problem(self) -> str | None:
        """What happened to the file, if it is no longer the one opened, or not writable."""
        where = f"the database file {str(self.path)!r}"
        advice = ("stopped rather than write where a restart would not find it; restore the "
                  "file from a backup, or start again on a new one")
        try:
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) != self._identity:
                return f"{where} was replaced by another file: {advice}"
            if os.access(self.path, os.R_OK | os.W_OK):
                return None
            # Deleted between the two looks, `access` says no as well: say which it was.
            os.stat(self.path)
        except FileNotFoundError:
            return f"{where} was deleted: {advice}"
        except OSError as exc:
            return f"{where} cannot be looked at ({exc.strerror}): {advice}"
        return f"{where} is no longer writable: {advice}"


def store_file(engine: Engine) -> StoreFile | None:
    """The SQLite file of `engine` to watch (None for PostgreSQL or a database in memory)."""
    path = sqlite_path(engine)
    if path is None:
        return None
    try:
        return StoreFile(path)
    except OSError as exc:
        raise StoreFailed(f"cannot look at the database file {str(path)!r}: "
                          f"{exc.strerror}") from None


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _masked(url)


def _masked(url: str) -> str:
    """A URL that does not parse, with whatever stands between `user:` and `@` masked."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _index_the_queue(conn: Connection) -> None:
    """Version 2: the senders' queue gets a partial index on (next_attempt_at, id) of pending
    messages, in the order `take` walks it; it replaces (status, next_attempt_at), which held
    every message ever sent and left the tie-break on id to a sort."""
    conn.execute(text("DROP INDEX IF EXISTS ix_message_ready"))
    _queue_index().create(conn, checkfirst=True)


def _count_from_a_day(conn: Connection) -> None:
    """Version 3: subscriptions may take estimated dates and the keepers' review; the ledger
    keeps the day each reminder was counted from (and whether it was an estimate), and its
    unique key takes that day, so that a confirmed or moved date is reminded again and never
    twice for the same day. Rows already in the ledger keep "" (see `ledger_keys`).

    PostgreSQL changes the constraint in place; SQLite cannot change a table's unique key,
    so the ledger's rows are copied into a table made with the new key, in this transaction."""
    conn.execute(text("ALTER TABLE subscription ADD COLUMN estimated BOOLEAN NOT NULL "
                      "DEFAULT false"))
    conn.execute(text("ALTER TABLE subscription ADD COLUMN review BOOLEAN NOT NULL "
                      "DEFAULT false"))
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE delivery ADD COLUMN counted_from VARCHAR NOT NULL "
                          "DEFAULT ''"))
        conn.execute(text("ALTER TABLE delivery ADD COLUMN estimated BOOLEAN NOT NULL "
                          "DEFAULT false"))
        conn.execute(text("ALTER TABLE delivery DROP CONSTRAINT uq_delivery_key"))
        conn.execute(text('ALTER TABLE delivery ADD CONSTRAINT uq_delivery_key UNIQUE '
                          '(subscription_id, occurrence_id, "offset", counted_from)'))
        return
    kept = "id, subscription_id, occurrence_id, \"offset\", notice, remind_at, message_id"
    ddl = str(CreateTable(DELIVERIES).compile(conn))
    conn.execute(text(ddl.replace("CREATE TABLE delivery ", "CREATE TABLE delivery_v3 ", 1)))
    conn.execute(text(f"INSERT INTO delivery_v3 ({kept}, counted_from, estimated) "
                      f"SELECT {kept}, '', 0 FROM delivery"))
    conn.execute(text("DROP TABLE delivery"))
    conn.execute(text("ALTER TABLE delivery_v3 RENAME TO delivery"))
    for index in DELIVERIES.indexes:
        index.create(conn)


# Each schema change adds one step here and bumps SCHEMA_VERSION; a step alters tables in
# place (add a column with a default, copy data), so upgrading never loses rows.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _index_the_queue,
                                                       3: _count_from_a_day}


def migrate(engine: Engine) -> None:
    """Create the schema on an empty database, or bring an older one up to SCHEMA_VERSION.

    Runs in one transaction, serialised between processes (PostgreSQL advisory lock; SQLite's
    write lock), so two schedulers starting together do not both create tables."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7361)"))
        have = inspect(conn).has_table("meta")
        version = None
        if have:
            version = conn.execute(select(META.c.value).where(META.c.key == "schema_version")
                                   ).scalar_one_or_none()
        if version is None:
            _queue_index()
            METADATA.create_all(conn)
            conn.execute(META.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            return
        current = int(version)
        if current == SCHEMA_VERSION:
            return  # nothing written: a command's start commits no write
        if current > SCHEMA_VERSION:
            raise StoreFailed(f"the database has schema version {current}, newer than this "
                              f"calendar-tool's {SCHEMA_VERSION}: upgrade calendar-tool")
        for step in range(current + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[step](conn)
        conn.execute(update(META).where(META.c.key == "schema_version")
                     .values(value=str(SCHEMA_VERSION)))


def schema_version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(META.c.value).where(META.c.key == "schema_version"))
                   .scalar_one())


@contextmanager
def _tx(engine: Engine) -> Iterator[Connection]:
    try:
        with engine.begin() as conn:
            yield conn
    except IntegrityError:
        raise  # a constraint: the caller's to read (a name taken, a row gone)
    except DatabaseError as exc:
        # OperationalError (the server gone, a lock not had), and what a damaged SQLite file
        # says ("database disk image is malformed"), a DatabaseError of its own.
        raise StoreFailed(f"database error: {_one_line(exc.orig)}") from None


def _insert(conn: Connection, table: Any) -> Any:
    """INSERT that can say ON CONFLICT DO NOTHING on both databases."""
    # Imported here: the PostgreSQL dialect's modules cost a SQLite command 20-40 ms to load.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


# --- subscriptions ---------------------------------------------------------------------------

def _to_row(sub: Subscription) -> dict[str, Any]:
    return {
        "name": sub.name, "url": sub.url, "format": sub.format.value,
        "areas": json.dumps(sorted(sub.areas)), "actors": json.dumps(sorted(sub.actors)),
        "kinds": json.dumps(sorted(k.value for k in sub.kinds)),
        "offsets": None if sub.offsets is None else json.dumps([str(o) for o in sub.offsets]),
        "overdue": sub.overdue, "time_of_day": sub.time_of_day.strftime("%H:%M"),
        "zone": sub.zone, "secret": sub.secret, "enabled": sub.enabled,
        "created_at": sub.created_at, "estimated": sub.estimated, "review": sub.review,
    }


def _from_row(row: Any) -> Subscription:
    offsets = None if row.offsets is None else tuple(Offset.parse(o)
                                                     for o in json.loads(row.offsets))
    return Subscription(
        name=row.name, url=row.url, format=Format(row.format), created_at=row.created_at,
        areas=frozenset(json.loads(row.areas)), actors=frozenset(json.loads(row.actors)),
        kinds=frozenset(Kind(k) for k in json.loads(row.kinds)), offsets=offsets,
        overdue=row.overdue, time_of_day=time.fromisoformat(row.time_of_day), zone=row.zone,
        enabled=row.enabled, secret=row.secret, estimated=row.estimated, review=row.review,
    )


@dataclass(frozen=True)
class SubscriptionInfo:
    """A subscription with what the store adds: why it was disabled, and up to which instant
    its reminders have been looked at (claimed, or recorded as skipped)."""

    subscription: Subscription
    disabled_reason: str | None
    checked_until: datetime | None = None


def add_subscription(engine: Engine, sub: Subscription) -> None:
    """Store a new subscription; StoreFailed if the name is taken."""
    add_subscriptions(engine, [sub])


def add_subscriptions(engine: Engine, subs: Sequence[Subscription]) -> None:
    """Store new subscriptions in one transaction: all of them, or none if a name is taken."""
    try:
        with _tx(engine) as conn:
            conn.execute(SUBS.insert(), [_to_row(sub) for sub in subs])
    except IntegrityError:
        taken = ", ".join(repr(s.name) for s in subs)
        what = f"a subscription named {taken} already exists" if len(subs) == 1 \
            else f"one of the names {taken} is taken"
        raise StoreFailed(f"name: {what}") from None


def subscriptions(engine: Engine, enabled_only: bool = False) -> list[SubscriptionInfo]:
    """Every subscription, by name."""
    query = select(SUBS).order_by(SUBS.c.name)
    if enabled_only:
        query = query.where(SUBS.c.enabled)
    with _tx(engine) as conn:
        return [SubscriptionInfo(_from_row(r), r.disabled_reason, r.checked_until)
                for r in conn.execute(query)]


def subscription(engine: Engine, name: str) -> SubscriptionInfo:
    with _tx(engine) as conn:
        row = conn.execute(select(SUBS).where(SUBS.c.name == name)).first()
    if row is None:
        raise UnknownSubscription(f"no subscription named {name!r}; "
                                  "`calendar-tool subscribe list` shows them")
    return SubscriptionInfo(_from_row(row), row.disabled_reason, row.checked_until)


def remove_subscription(engine: Engine, name: str) -> None:
    """Delete a subscription with its ledger (the rows cascade)."""
    with _tx(engine) as conn:
        gone = conn.execute(delete(SUBS).where(SUBS.c.name == name)).rowcount
    if not gone:
        raise UnknownSubscription(f"no subscription named {name!r}")


def _sub_ids(conn: Connection) -> dict[str, int]:
    return {r.name: r.id for r in conn.execute(select(SUBS.c.name, SUBS.c.id))}


# --- revisions -------------------------------------------------------------------------------

# The meta row counting the writes of `save_revisions`: a process that keeps the revisions it
# last read or wrote asks it whether another process has written since.
_REVISIONS_WRITTEN = "revisions_written"


def load_revisions(engine: Engine, held: Mapping[str, str] | None = None
                   ) -> dict[str, Revision]:
    """Every entry's revision, by entry id. `held`: strings the process holds already (the
    register's ids, the content hashes it keeps), each by itself; an id or hash read equal to
    one of them is taken as that object, so that a process keeping the revisions (`run`) does
    not hold a second copy of each (17 MB at 100,000 entries)."""
    same = (held if held is not None else {}).get
    with _tx(engine) as conn:
        changed: Any = SNAPSHOTS.c.changed_at
        instant: Callable[[Any], datetime] = _as_is
        if engine.dialect.name == "sqlite":
            # SQLite keeps the instant as ISO 8601 text in UTC (`UTCDateTime`), which
            # SQLAlchemy reads with a pattern per row: most of the half second of loading
            # 100,000, which every publish and every start of `run` pays. `datetime` reads
            # that text itself.
            changed, instant = type_coerce(changed, String), _utc_from_text
        rows = conn.execute(select(SNAPSHOTS.c.entry_id, SNAPSHOTS.c.hash,
                                   SNAPSHOTS.c.sequence, changed))
        out: dict[str, Revision] = {}
        # One datetime per instant, read once: a publish gives every entry it revises the
        # same one, so a large register has a handful for 100,000 entries.
        instants: dict[Any, datetime] = {}
        for entry_id, digest, sequence, at in rows:
            when = instants.get(at)
            if when is None:
                when = instants[at] = instant(at)
            out[same(entry_id, entry_id)] = Revision(same(digest, digest), sequence, when)
        return out


def _as_is(at: datetime) -> datetime:
    return at


def _utc_from_text(at: str) -> datetime:
    return datetime.fromisoformat(at).replace(tzinfo=UTC)


def revisions_written(engine: Engine) -> int:
    """How many times `save_revisions` has written to this store."""
    with _tx(engine) as conn:
        value = conn.execute(select(META.c.value).where(META.c.key == _REVISIONS_WRITTEN)
                             ).scalar_one_or_none()
    return 0 if value is None else int(value)


# Rows per executemany of snapshots (see `save_revisions`).
_ROWS_CHUNK = 10_000


def save_revisions(engine: Engine, old: Mapping[str, Revision], new: Mapping[str, Revision],
                   only: Collection[str] | None = None) -> int:
    """Write the revisions that differ from `old` (among `only`, when the others are known to
    be the same), counting the write in `revisions_written`; returns how many were written."""
    changed = [(k, r) for k, r in new.items() if old.get(k) != r] if only is None else \
        [(k, new[k]) for k in sorted(only) if k in new and old.get(k) != new[k]]
    if not changed:
        return 0
    with _tx(engine) as conn:
        stmt = _insert(conn, SNAPSHOTS)
        stmt = stmt.on_conflict_do_update(
            index_elements=["entry_id"],
            set_={"hash": stmt.excluded.hash, "sequence": stmt.excluded.sequence,
                  "changed_at": stmt.excluded.changed_at})
        # A chunk of rows at a time, in the one transaction: the rows of 100,000 entries and
        # their bound parameters at once were a hundred megabytes of small objects, whose
        # memory the feeds' events, made next, could not reuse.
        for chunk in _chunks(changed, _ROWS_CHUNK):
            conn.execute(stmt, [{"entry_id": k, "hash": r.hash, "sequence": r.sequence,
                                 "changed_at": r.changed_at} for k, r in chunk])
        count = _insert(conn, META).values(key=_REVISIONS_WRITTEN, value="1")
        conn.execute(count.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": cast(cast(META.c.value, Integer) + 1, String)}))
    return len(changed)


# --- the ledger: claiming reminders ----------------------------------------------------------

def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Claimed:
    """What one claim of due reminders produced."""

    messages: int  # messages queued to send
    reminders: int  # reminders in them
    skipped: int  # reminders recorded as skipped (past the catch-up window)


def _claim_deliveries(conn: Connection) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the keys inserted: the reminders won. Run with
    a list of rows, SQLAlchemy sends them as multi-row INSERTs (insertmanyvalues), a few
    statements for any number of reminders."""
    return _insert(conn, DELIVERIES).on_conflict_do_nothing(
        index_elements=["subscription_id", "occurrence_id", "offset", "counted_from"]
    ).returning(DELIVERIES.c.message_id, DELIVERIES.c.occurrence_id, DELIVERIES.c.offset,
                DELIVERIES.c.counted_from)


_CLAIMED = update(MESSAGES).where(MESSAGES.c.id == bindparam("b_id")).values(
    body=bindparam("b_body"), next_attempt_at=bindparam("b_next", type_=UTCDateTime()))

# Rows per IN (...) list: well under SQLite's 32,766 parameters and PostgreSQL's 65,535.
_IN_CHUNK = 1000


def claim(engine: Engine, groups: Sequence[tuple[Sequence[Reminder], bool]],
          render: Callable[[Sequence[Reminder]], str], now: datetime,
          checked: Mapping[str, datetime]) -> Claimed:
    """Claim reminders, one group per message, and queue the messages.

    Each group is (reminders of one subscription, skipped). Within a group only the reminders
    this call inserts are claimed (the others belong to whoever inserted them first); a group
    left with none makes no message, and the message body is rendered for exactly the
    reminders won. `checked` moves the subscriptions' `checked_until` forward (never back;
    see `_check`).

    One transaction and a few statements however many groups: a statement per group made
    claiming 10,000 reminders take longer than sending them. Each message goes in whole,
    rendered for its whole group (the deliveries refer to it, so it goes first), in one
    executemany; then every delivery in multi-row INSERTs. A group usually wins all its
    reminders (`enqueue` leaves out what the ledger holds); one that won only some has its
    message rendered again for those, and one that won none has its message deleted.
    """
    with _tx(engine) as conn:
        # The per-minute sweep usually has nothing to claim: no read of every subscription.
        ids = _sub_ids(conn) if any(group for group, _ in groups) else {}
        planned, rows, deliveries = _planned(groups, ids, render, now)
        if not planned:
            _check(conn, checked)
            return Claimed(0, 0, 0)
        conn.execute(MESSAGES.insert(), rows)
        won: dict[str, set[tuple[str, str, str]]] = {}
        # Only the rows this statement inserts come back: the reminders won.
        for g in conn.execute(_claim_deliveries(conn), deliveries):
            won.setdefault(g.message_id, set()).add((g.occurrence_id, g.offset, g.counted_from))
        claimed = _settle(conn, planned, won, render)
        _check(conn, checked)
    return claimed


# A message planned by a claim: its id, its reminders, and whether they are skipped.
_Planned = tuple[str, Sequence[Reminder], bool]


def _planned(groups: Sequence[tuple[Sequence[Reminder], bool]], ids: Mapping[str, int],
             render: Callable[[Sequence[Reminder]], str], now: datetime
             ) -> tuple[list[_Planned], list[dict[str, Any]], list[dict[str, Any]]]:
    """A message for each group of a known subscription, its row, and its deliveries' rows."""
    planned: list[_Planned] = []
    rows: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for group, skip in groups:
        sub_id = ids.get(group[0].subscription) if group else None
        if sub_id is None:  # empty, or the subscription was removed meanwhile
            continue
        message_id = new_message_id()
        planned.append((message_id, group, skip))
        # Due from its earliest reminder, so that senders take older reminders first.
        rows.append({"id": message_id, "subscription_id": sub_id,
                     "status": "skipped" if skip else "pending",
                     "body": "" if skip else render(group), "created_at": now,
                     "next_attempt_at": min(r.instant for r in group)})
        deliveries.extend(
            {"subscription_id": sub_id, "occurrence_id": r.occurrence.id,
             "offset": r.offset, "counted_from": r.counted_from, "estimated": r.estimated,
             "notice": r.notice.value, "remind_at": r.instant,
             "message_id": message_id} for r in group)
    return planned, rows, deliveries


def _settle(conn: Connection, planned: Sequence[_Planned],
            won: Mapping[str, set[tuple[str, str, str]]],
            render: Callable[[Sequence[Reminder]], str]) -> Claimed:
    """Each planned message as its reminders won make it: whole, rendered again for the few
    it won, or deleted when it won none."""
    messages = reminders = skipped = 0
    lost: list[str] = []
    partial: list[dict[str, Any]] = []
    for message_id, group, skip in planned:
        keys = won.get(message_id)
        if not keys:
            lost.append(message_id)
            continue
        got = [r for r in group if (r.occurrence.id, r.offset, r.counted_from) in keys] \
            if len(keys) < len(group) else group
        if got is not group:
            partial.append({"b_id": message_id, "b_body": "" if skip else render(got),
                            "b_next": min(r.instant for r in got)})
        if skip:
            skipped += len(got)
        else:
            messages += 1
            reminders += len(got)
    for chunk in _chunks(lost, _IN_CHUNK):
        conn.execute(delete(MESSAGES).where(MESSAGES.c.id.in_(chunk)))
    if partial:
        conn.execute(_CLAIMED, partial)
    return Claimed(messages, reminders, skipped)


def _check(conn: Connection, checked: Mapping[str, datetime]) -> None:
    """Move `checked_until` forward, a thousand subscriptions a statement (a claim passes
    one instant for all of them).

    A subscription a sender holds at that moment (PostgreSQL; `take` locks the ones it
    walks) is left as it was rather than waited for: a claim waiting for a sender while that
    sender waits to lock a row this claim has just updated is a deadlock. Nothing is lost by
    it: `enqueue` always looks back over the whole catch-up window, and leaves out what the
    ledger holds."""
    by_until: dict[datetime, list[str]] = {}
    for name, until in checked.items():
        by_until.setdefault(until, []).append(name)
    for until, names in by_until.items():
        for chunk in _chunks(names, _IN_CHUNK):
            # Locked first, then updated by primary key: as one UPDATE … WHERE id IN
            # (SELECT … SKIP LOCKED), PostgreSQL joins the whole table to the subquery.
            free = list(conn.execute(select(SUBS.c.id).where(
                SUBS.c.name.in_(chunk),
                (SUBS.c.checked_until.is_(None)) | (SUBS.c.checked_until < until),
            ).with_for_update(skip_locked=True, key_share=True)).scalars())
            if free:
                conn.execute(update(SUBS).where(SUBS.c.id.in_(free))
                             .values(checked_until=until))


# --- the ledger: sending -------------------------------------------------------------------

def take(engine: Engine, owner: str, now: datetime, lease: timedelta, pace: timedelta,
         limit: int = 100, busy: Collection[str] = ()) -> list[Outbound]:
    """Lease up to `limit` messages that are due, at most one per subscription, and hold
    each of their subscriptions back by `pace` (Slack takes about one message a second).
    Subscriptions named in `busy` (the caller is still sending to them) are passed over.

    Both updates are compare-and-set, so two senders never take the same message and never
    pace the same subscription twice."""
    free = (MESSAGES.c.lease_until.is_(None)) | (MESSAGES.c.lease_until < now)
    ready = (SUBS.c.next_send_at.is_(None)) | (SUBS.c.next_send_at <= now)
    with _tx(engine) as conn:
        first = _first_due(conn, now, free, ready, limit, busy)
        if not first:
            return []
        subs = {r.id: (r.name, r.url, _FORMATS[r.format], r.secret) for r in conn.execute(
            update(SUBS).where(SUBS.c.id.in_(list(first)), ready)
            .values(next_send_at=now + pace)
            .returning(SUBS.c.id, SUBS.c.name, SUBS.c.url, SUBS.c.format, SUBS.c.secret))}
        wanted = [first[s][1] for s in first if s in subs]
        if not wanted:
            return []
        taken = conn.execute(
            update(MESSAGES).where(MESSAGES.c.id.in_(wanted), MESSAGES.c.status == PENDING,
                                   free)
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(MESSAGES.c.id, MESSAGES.c.subscription_id, MESSAGES.c.body,
                       MESSAGES.c.attempts)).all()
    out = sorted(taken, key=lambda m: first[m.subscription_id])
    return [Outbound(m.id, *subs[m.subscription_id], m.body, m.attempts) for m in out]


def _first_due(conn: Connection, now: datetime, free: ColumnElement[bool],
               ready: ColumnElement[bool], limit: int, busy: Collection[str]
               ) -> dict[int, tuple[datetime, str]]:
    """Each subscription's oldest due message, by subscription id, at most `limit` of them.

    Oldest first: a subscription with a long backlog gets one message per round and cannot
    crowd the others out. Walking the queue in its index's order and keeping the first
    message of each subscription gives exactly that, and stops after `limit` subscriptions;
    ranking every due message (a window function) read the whole queue for each round. On
    PostgreSQL the walk locks the subscriptions it passes and skips those another sender has
    locked, so concurrent senders walk past each other instead of queueing behind one another
    for the same rows (SQLite has one writer at a time anyway). FOR NO KEY UPDATE, the lock
    the pacing UPDATE takes anyway: FOR UPDATE would also skip every subscription whose
    messages another process is inserting (their foreign keys hold KEY SHARE locks on it),
    which is all of them while a claim is in flight."""
    first: dict[int, tuple[datetime, str]] = {}
    after: tuple[datetime, str] | None = None
    page = limit
    while len(first) < limit:
        walk = (
            select(MESSAGES.c.id, MESSAGES.c.subscription_id, MESSAGES.c.next_attempt_at,
                   SUBS.c.name)
            .join(SUBS, SUBS.c.id == MESSAGES.c.subscription_id)
            .where(MESSAGES.c.status == PENDING, MESSAGES.c.next_attempt_at <= now, free,
                   ready, SUBS.c.enabled)
            .order_by(MESSAGES.c.next_attempt_at, MESSAGES.c.id)
            .limit(page)
            .with_for_update(of=SUBS, skip_locked=True, key_share=True)
        )
        if after is not None:
            walk = walk.where(tuple_(MESSAGES.c.next_attempt_at, MESSAGES.c.id)
                              > tuple_(bindparam("after_at", after[0], UTCDateTime()),
                                       bindparam("after_id", after[1])))
        rows = conn.execute(walk).all()
        for r in rows:
            if len(first) < limit and r.name not in busy:
                first.setdefault(r.subscription_id, (r.next_attempt_at, r.id))
        if len(rows) < page:
            break
        after = (rows[-1].next_attempt_at, rows[-1].id)
        page = min(page * 2, 1000)  # a backlog of one subscription: read on faster
    return first


# Format("json") goes through the enum machinery for every message taken; a dict does not.
_FORMATS = {f.value: f for f in Format}


@dataclass(frozen=True)
class Result:
    """The outcome of one attempt to send a message, as the ledger records it."""

    message_id: str
    at: datetime
    status: int | None
    latency: float  # seconds
    error: str | None
    state: str  # sent, pending (to retry), dead
    next_attempt_at: datetime | None = None
    disable: str | None = None  # set: disable the subscription, with this reason
    # For the log only; the ledger knows both already.
    subscription: str = ""
    number: int = 0  # 1 for the first attempt


_RECORD = update(MESSAGES).where(
    MESSAGES.c.id == bindparam("b_id"), MESSAGES.c.lease_owner == bindparam("b_owner"),
).values(
    attempts=MESSAGES.c.attempts + 1, status=bindparam("b_status"),
    last_status=bindparam("b_last_status"), last_error=bindparam("b_error"),
    lease_owner=None, lease_until=None,
    sent_at=func.coalesce(bindparam("b_sent_at", type_=UTCDateTime()), MESSAGES.c.sent_at),
    next_attempt_at=func.coalesce(bindparam("b_next", type_=UTCDateTime()),
                                  MESSAGES.c.next_attempt_at),
)


_ATTEMPT = ATTEMPTS.insert().values(
    message_id=bindparam("a_id"),
    number=func.coalesce(select(MESSAGES.c.attempts).where(MESSAGES.c.id == bindparam("a_id"))
                         .scalar_subquery(), 0) + 1,
    at=bindparam("a_at", type_=UTCDateTime()), status=bindparam("a_status"),
    latency_ms=bindparam("a_latency"), error=bindparam("a_error"),
)


def record(engine: Engine, owner: str, results: Sequence[Result]) -> None:
    """Record attempts and move their messages on, in one transaction.

    A subscription disabled here (410 Gone) has its other pending messages marked dead, with
    the reason, so they stay visible rather than silently dropped. The answer of a message
    that is gone (its subscription removed while it was sent) is not recorded: its attempt
    would refer to nothing, a foreign-key violation that failed the whole batch. The batch
    is then recorded again without it (only then: the usual one costs no extra read)."""
    if not results:
        return
    try:
        _record(engine, owner, results)
    except IntegrityError:
        try:
            _record(engine, owner, results, recheck=True)
        except IntegrityError as exc:  # removed again meanwhile: the next round records it
            raise StoreFailed(f"database error: {_one_line(exc.orig)}") from None


def _record(engine: Engine, owner: str, results: Sequence[Result], recheck: bool = False
            ) -> None:
    with _tx(engine) as conn:
        if recheck and not (results := _still_there(conn, results)):
            return
        # Before _RECORD counts the attempt: each row numbers itself from the message.
        conn.execute(_ATTEMPT, [
            {"a_id": x.message_id, "a_at": x.at, "a_status": x.status,
             "a_latency": round(x.latency * 1000), "a_error": x.error} for x in results])
        # One statement for the whole batch (executemany): a statement per message cost a
        # third of the sending rate.
        conn.execute(_RECORD, [
            {"b_id": x.message_id, "b_owner": owner, "b_status": x.state,
             "b_last_status": x.status, "b_error": x.error,
             "b_sent_at": x.at if x.state == "sent" else None, "b_next": x.next_attempt_at}
            for x in results])
        for x in results:
            if x.disable:
                sub_id = conn.execute(select(MESSAGES.c.subscription_id)
                                      .where(MESSAGES.c.id == x.message_id)).scalar_one()
                conn.execute(update(SUBS).where(SUBS.c.id == sub_id)
                             .values(enabled=False, disabled_reason=x.disable))
                conn.execute(update(MESSAGES).where(MESSAGES.c.subscription_id == sub_id,
                                                 MESSAGES.c.status == "pending")
                             .values(status="dead", last_error=x.disable))


def _still_there(conn: Connection, results: Sequence[Result]) -> list[Result]:
    """The results whose messages are still in the ledger, held there (PostgreSQL) until the
    transaction ends so that a removal waits for it."""
    ids = [x.message_id for x in results]
    there: set[str] = set()
    for chunk in _chunks(ids, _IN_CHUNK):
        there.update(conn.execute(select(MESSAGES.c.id).where(MESSAGES.c.id.in_(chunk))
                                  .with_for_update(key_share=True)).scalars())
    return [x for x in results if x.message_id in there]


def give_back(engine: Engine, owner: str, message_ids: Collection[str]) -> int:
    """Hand back messages this owner took and will not send (it is stopping), to be taken
    again at once, by it or another sender. Returns how many were handed back."""
    count = 0
    with _tx(engine) as conn:
        for chunk in _chunks(list(message_ids), _IN_CHUNK):
            count += conn.execute(
                update(MESSAGES).where(MESSAGES.c.id.in_(chunk),
                                       MESSAGES.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)).rowcount
    return count


def lease_owners(engine: Engine, now: datetime) -> set[str]:
    """Who holds a lease that has not run out."""
    with _tx(engine) as conn:
        return set(conn.execute(select(MESSAGES.c.lease_owner).distinct()
                                .where(MESSAGES.c.lease_until >= now)).scalars())


def release(engine: Engine, owners: Collection[str]) -> int:
    """Hand the messages these owners hold back, to be taken at once: for senders known to be
    dead, whose leases would otherwise hold their messages until they run out. Returns how many
    messages were released. The message keeps its id, so a receiver that got it before its
    sender died sees the same webhook id again and can drop it."""
    if not owners:
        return 0
    with _tx(engine) as conn:
        return conn.execute(update(MESSAGES).where(MESSAGES.c.lease_owner.in_(list(owners)))
                            .values(lease_owner=None, lease_until=None)).rowcount


def next_sendable(engine: Engine, now: datetime) -> datetime | None:
    """The earliest instant at which a pending message not leased by anyone could be taken:
    its retry time or its subscription's pacing, whichever is later. None when there is none.
    """
    free = (MESSAGES.c.lease_until.is_(None)) | (MESSAGES.c.lease_until < now)
    with _tx(engine) as conn:
        rows = conn.execute(
            select(func.min(MESSAGES.c.next_attempt_at, type_=UTCDateTime()),
                   SUBS.c.next_send_at)
            .join(SUBS, SUBS.c.id == MESSAGES.c.subscription_id)
            .where(MESSAGES.c.status == PENDING, free, SUBS.c.enabled)
            .group_by(SUBS.c.id, SUBS.c.next_send_at)
        ).all()
    best: datetime | None = None
    for first, paced in rows:
        when = max(first, paced) if paced is not None else first
        best = when if best is None or when < best else best
    return best


def ledger_keys(engine: Engine, since: datetime | None = None
                ) -> set[tuple[str, str, str, str]]:
    """The (subscription, occurrence, offset, day counted from) the ledger holds, of reminders
    due at or after `since` when it is given, and every item of the keepers' reviews (each is
    sent once, whenever it was). A row from before schema version 3 has "" for the day: it
    holds the reminder whatever day it counts from (`Reminder.key`)."""
    query = (select(SUBS.c.name, DELIVERIES.c.occurrence_id, DELIVERIES.c.offset,
                    DELIVERIES.c.counted_from)
             .join(SUBS, SUBS.c.id == DELIVERIES.c.subscription_id))
    if since is not None:
        query = query.where((DELIVERIES.c.remind_at >= since)
                            | (DELIVERIES.c.notice == "obligation.review"))
    with _tx(engine) as conn:
        return {(r.name, r.occurrence_id, r.offset, r.counted_from)
                for r in conn.execute(query)}


# The notices that tell a subscriber of a date.
_REMINDING = ("obligation.reminder", "obligation.due", "obligation.confirmed",
              "obligation.changed")


def reminded(engine: Engine, since: datetime) -> dict[tuple[str, str], list[tuple[str, bool]]]:
    """For each (subscription, occurrence) reminded since `since` (a reminder, a due notice or
    a notice of a changed date, sent or about to be), the days they counted from, each with
    whether it was an estimate, in the order they were claimed: what a change of that
    occurrence's date is told against (the last one is what the subscriber was told last)."""
    query = (select(SUBS.c.name, DELIVERIES.c.occurrence_id, DELIVERIES.c.counted_from,
                    DELIVERIES.c.estimated)
             .join(SUBS, SUBS.c.id == DELIVERIES.c.subscription_id)
             .join(MESSAGES, MESSAGES.c.id == DELIVERIES.c.message_id)
             .where(DELIVERIES.c.remind_at >= since,
                    DELIVERIES.c.notice.in_(_REMINDING),
                    MESSAGES.c.status.in_(("pending", "sent")))
             .order_by(DELIVERIES.c.id))
    out: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    with _tx(engine) as conn:
        for r in conn.execute(query):
            out.setdefault((r.name, r.occurrence_id), []).append((r.counted_from, r.estimated))
    return out


# --- reading the ledger ----------------------------------------------------------------------

STATUSES = ("pending", "retrying", "sending", "sent", "dead", "skipped")


@dataclass(frozen=True)
class DeliveryView:
    """One reminder in the ledger, as `calendar-tool deliveries` shows it."""

    subscription: str
    occurrence_id: str
    offset: str
    notice: str
    remind_at: datetime
    status: str  # one of STATUSES
    message_id: str
    attempts: int
    last_status: int | None
    last_error: str | None
    sent_at: datetime | None
    next_attempt_at: datetime | None


def _view_status(status: str, attempts: int, lease_until: datetime | None, now: datetime
                 ) -> str:
    if status != "pending":
        return status
    if lease_until is not None and lease_until >= now:
        return "sending"
    return "retrying" if attempts else "pending"


def deliveries(engine: Engine, now: datetime, statuses: Sequence[str] = (),
               subscription_name: str | None = None, limit: int | None = None
               ) -> list[DeliveryView]:
    """The ledger, newest reminder first, filtered by status and subscription."""
    query = (
        select(SUBS.c.name, DELIVERIES.c.occurrence_id, DELIVERIES.c.offset, DELIVERIES.c.notice,
               DELIVERIES.c.remind_at, MESSAGES.c.status, MESSAGES.c.id, MESSAGES.c.attempts,
               MESSAGES.c.last_status, MESSAGES.c.last_error, MESSAGES.c.sent_at,
               MESSAGES.c.next_attempt_at, MESSAGES.c.lease_until)
        .join(MESSAGES, MESSAGES.c.id == DELIVERIES.c.message_id)
        .join(SUBS, SUBS.c.id == DELIVERIES.c.subscription_id)
        .order_by(DELIVERIES.c.remind_at.desc(), SUBS.c.name, DELIVERIES.c.occurrence_id,
                  DELIVERIES.c.offset)
    )
    if subscription_name is not None:
        query = query.where(SUBS.c.name == subscription_name)
    with _tx(engine) as conn:
        rows = conn.execute(query).all()
    out = []
    for r in rows:
        status = _view_status(r.status, r.attempts, r.lease_until, now)
        if statuses and status not in statuses:
            continue
        out.append(DeliveryView(
            r.name, r.occurrence_id, r.offset, r.notice, r.remind_at, status, r.id, r.attempts,
            r.last_status, r.last_error, r.sent_at,
            r.next_attempt_at if r.status == "pending" else None))
        if limit is not None and len(out) >= limit:
            break
    return out


@dataclass(frozen=True)
class AttemptView:
    message_id: str
    number: int
    at: datetime
    status: int | None
    latency_ms: int
    error: str | None


def attempts(engine: Engine, message_id: str | None = None) -> list[AttemptView]:
    """Every attempt (of one message), oldest first."""
    query = select(ATTEMPTS).order_by(ATTEMPTS.c.at, ATTEMPTS.c.id)
    if message_id is not None:
        query = query.where(ATTEMPTS.c.message_id == message_id)
    with _tx(engine) as conn:
        return [AttemptView(r.message_id, r.number, r.at, r.status, r.latency_ms, r.error)
                for r in conn.execute(query)]
