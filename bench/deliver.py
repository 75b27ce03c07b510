"""Reminder delivery: 10,000 reminders, one per subscription, claimed in the ledger and sent to
a local keep-alive HTTP receiver by `service.deliver_ready` (leases, signing, attempt records,
8 threads), against a bare httpx loop POSTing the same messages (same ids, bodies and
signature headers) over the same 8 threads in the same run: the floor for sending them at all.
The bare loop runs before and after ours and its mean is the baseline, so that a machine
getting busier or quieter during the run moves both sides. The claim (`enqueue`) is timed on
its own. Ratios here are rates: ours over the floor's (higher is better).

This run (830cce0's code, on an Intel Xeon): the claim reads 9.55x and 5.56x the bare loop's
rate where the run before read 10.65x and 6.30x, because the bare loop ran faster here (981
against 777 deliveries a second); this stop's changes to what a claim does (offsets falling on
the same instant reminded once, the days told read in order) take the same time: `enqueue` of
10,000 reminders on SQLite, six interleaved pairs with stop 43's code (61db651), 1.00x.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from calendar_tool import delivery, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.model import Format, Offset, Outbound, Register, Subscription
from calendar_tool.register import parse_register

COUNT = 10_000
AT = datetime(2027, 6, 30, 9, 0, tzinfo=UTC)
BASELINE = "bare httpx loop, same requests, same 8 threads"
REGISTER = """\
register: {title: Bench, reminders: [P0D]}
areas: {a: {title: A}}
actors: {b: {title: B}}
documents: {D/1: {title: D}}
entries:
  - id: due
    title: Due
    kind: deadline
    date: 2027-06-30
    actors: [b]
    areas: [a]
    sources: [{doc: D/1, para: '1', quote: q}]
"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would
    arrivals: list[float] | None = None  # set: the wall time of each request is appended
    # set: (path, webhook-id, body) of each request is appended
    requests: list[tuple[str, str, bytes]] | None = None

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.arrivals is not None:
            self.arrivals.append(time.time())
        if self.requests is not None:
            self.requests.append((self.path, self.headers.get("webhook-id", ""), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def receiver(arrivals: list[float] | None = None,
             requests: list[tuple[str, str, bytes]] | None = None
             ) -> tuple[ThreadingHTTPServer, str]:
    """A keep-alive HTTP server on 127.0.0.1 answering 200 to every POST, and its base URL."""
    handler = type("Handler", (_Handler,), {"arrivals": arrivals, "requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def bare_posts(base: str, body: bytes, count: int) -> float:
    """Seconds for a bare httpx loop to POST `body` `count` times to the receiver at `base`,
    on as many threads as `deliver` sends with: the floor a sender of webhooks pays."""
    with delivery.make_client() as client:
        def post(n: int) -> int:
            return client.post(f"{base}/bare/{n}", content=body).status_code

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=service.DEFAULT_WORKERS) as pool:
            statuses = list(pool.map(post, range(count)))
        elapsed = time.perf_counter() - start
    assert statuses == [200] * count
    return elapsed


def _setup(url: str, base: str) -> tuple[store.Engine, FixedClock, float]:
    engine = store.open_store(url)
    reg = parse_register(REGISTER, "bench.yaml")
    secret = delivery.new_secret()
    store.add_subscriptions(engine, [Subscription(
        name=f"s{n}", url=f"{base}/hook/{n}", format=Format.JSON, secret=secret,
        created_at=AT - timedelta(days=1), offsets=(Offset(),), overdue=False)
        for n in range(COUNT)])
    clock = FixedClock(AT)
    start = time.perf_counter()
    claimed = service.enqueue(engine, reg, clock, "http://127.0.0.1:8000")
    assert claimed.messages == COUNT, claimed
    return engine, clock, time.perf_counter() - start


def _requests(engine: store.Engine) -> list[Outbound]:
    """The queued messages, for the bare loop: taken without pacing, then handed back, so
    that the ledger is as it was for ours."""
    taken = store.take(engine, "bare", AT, timedelta(hours=1), timedelta(0), limit=COUNT)
    assert len(taken) == COUNT
    assert store.release(engine, ["bare"]) == COUNT
    return taken


def _bare(messages: list[Outbound]) -> float:
    """The same requests, each with fresh signature headers as a sender must make them."""
    with delivery.make_client() as client:

        def post(m: Outbound) -> int:
            headers = delivery.headers(m.id, m.body, AT, m.secret)
            return client.post(m.url, content=m.body, headers=headers).status_code

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=service.DEFAULT_WORKERS) as pool:
            statuses = list(pool.map(post, messages))
        elapsed = time.perf_counter() - start
    assert statuses == [200] * COUNT
    return elapsed


def _ours(engine: store.Engine, clock: FixedClock) -> float:
    with delivery.Senders() as client:
        start = time.perf_counter()
        results = service.deliver_ready(engine, client, clock, "bench", lambda s: None,
                                        rng=random.Random(1))
        elapsed = time.perf_counter() - start
    assert len(results) == COUNT and {r.state for r in results} == {"sent"}
    return elapsed


def _rows(label: str, url: str) -> list[dict[str, object]]:
    server, base = receiver()
    try:
        engine, clock, claim = _setup(url, base)
        messages = _requests(engine)
        before = _bare(messages)
        ours = _ours(engine, clock)
        after = _bare(messages)
        engine.dispose()
    finally:
        server.shutdown()
    bare = (before + after) / 2
    return [
        {"name": f"deliver {COUNT:,} reminders, {label}", "figure": COUNT / ours,
         "unit": "deliveries/s", "baseline": BASELINE, "baseline_figure": COUNT / bare,
         "ratio": bare / ours},
        {"name": f"claim {COUNT:,} reminders (enqueue), {label}", "figure": COUNT / claim,
         "unit": "reminders/s", "baseline": "the bare loop's sending rate, same run",
         "baseline_figure": COUNT / bare, "ratio": bare / claim},
    ]


def run() -> list[dict[str, object]]:
    """Rows for BENCHMARKS.md: on SQLite, then on PostgreSQL when CALENDAR_TOOL_TEST_POSTGRES
    names one (`make bench` sets it). A ratio is our rate over the bare loop's: 1.00x is no
    overhead, 0.80x is 80% of the floor; claiming above 1.00x is not what limits delivery."""
    with tempfile.TemporaryDirectory() as tmp:
        rows = _rows("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}")
    pg = os.environ.get("CALENDAR_TOOL_TEST_POSTGRES")
    if pg:
        with pg_schema(pg, "deliver") as url:
            rows += _rows("PostgreSQL", url)
    return rows


@contextmanager
def pg_schema(pg: str, name: str) -> Iterator[str]:
    """A URL on a fresh schema of the PostgreSQL at `pg`, dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{name}_{os.getpid()}"
    admin = create_engine(store.normalise_url(pg))
    try:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        sep = "&" if "?" in pg else "?"
        yield f"{pg}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


# --- the query plans behind docs/STORE.md -------------------------------------------------

LEDGER = 100_000  # message rows, a tenth of them pending: a year of a busy deployment


def _fill(engine: store.Engine) -> None:
    """COUNT subscriptions and a ledger of LEDGER messages, the last COUNT of them pending and
    due (one per subscription), the others sent, each with its delivery and attempt."""
    from sqlalchemy import text

    store.add_subscriptions(engine, [Subscription(
        name=f"s{n:05}", url=f"http://127.0.0.1:9/hook/{n}", format=Format.JSON,
        secret=delivery.new_secret(), created_at=AT - timedelta(days=400), offsets=(Offset(),),
        overdue=False) for n in range(COUNT)])
    with engine.begin() as conn:
        subs = [r[0] for r in conn.execute(text("SELECT id FROM subscription ORDER BY id"))]
        body = "{" + "x" * 900 + "}"  # about one reminder's JSON
        for start in range(0, LEDGER, 10_000):
            messages, deliveries, attempts = [], [], []
            for i in range(start, start + 10_000):
                pending = i >= LEDGER - COUNT
                when = AT - timedelta(minutes=LEDGER - i)
                message_id = store.new_message_id()
                messages.append({
                    "id": message_id, "subscription_id": subs[i % COUNT],
                    "status": "pending" if pending else "sent", "body": body,
                    "attempts": 0 if pending else 1, "created_at": when,
                    "next_attempt_at": when, "sent_at": None if pending else when,
                    "last_status": None if pending else 200})
                deliveries.append({
                    "subscription_id": subs[i % COUNT], "occurrence_id": f"old-{i // COUNT}",
                    "offset": "P0D", "notice": "obligation.due", "remind_at": when,
                    "message_id": message_id})
                if not pending:
                    attempts.append({"message_id": message_id, "number": 1, "at": when,
                                     "status": 200, "latency_ms": 5, "error": None})
            conn.execute(store.MESSAGES.insert(), messages)
            conn.execute(store.DELIVERIES.insert(), deliveries)
            if attempts:
                conn.execute(store.ATTEMPTS.insert(), attempts)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _short(text: str) -> str:
    """A statement or plan line with its long lists of values cut down to three."""
    import re

    text = " ".join(text.split())
    text = re.sub(r"\{[^{},']+(,[^{},']+){3,}\}", "{…}", text)
    text = re.sub(r"\((%\(\w+\)s::\w+|\?)(, (%\(\w+\)s::\w+|\?)){3,}\)", "(…)", text)
    return re.sub(r"(VALUES \([^)]*\))(, \([^)]*\))+", r"\1, …", text)


def plans(url: str) -> str:
    """Each statement claim, take, record and the scheduler's reads issue against a ledger of
    LEDGER messages, with its plan: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, run on the
    statement's own connection inside a savepoint rolled back before the statement itself
    runs (so each is planned against the state it really meets); EXPLAIN QUERY PLAN on
    SQLite."""
    from sqlalchemy import event

    engine = store.open_store(url)
    _fill(engine)
    out: list[str] = []
    phase = [""]
    explain = _explainer(engine.dialect.name == "postgresql", phase, out)
    event.listen(engine, "before_cursor_execute", explain)
    _phases(engine, parse_register(REGISTER, "bench.yaml"), phase)
    event.remove(engine, "before_cursor_execute", explain)
    engine.dispose()
    return "\n".join(out)


def _explainer(pg: bool, phase: list[str], out: list[str]) -> Callable[..., None]:
    """A `before_cursor_execute` listener that appends to `out` the plan of each statement
    run while `phase[0]` names a phase."""
    def explain(conn: Any, _cursor: Any, statement: str, params: Any, _context: Any,
                many: bool) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE",
                                                       "DELETE")):
            return
        if not phase[0]:
            return
        # executemany: the first row's; a multi-row INSERT comes as one flat row.
        nested = many and isinstance(params, (list, tuple)) \
            and isinstance(params[0], (dict, tuple, list))
        args = params[0] if nested else params
        args = args if isinstance(args, dict) else tuple(args)
        cursor = conn.connection.dbapi_connection.cursor()
        if pg:
            cursor.execute("SAVEPOINT plans")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, args)
            plan = [r[0] for r in cursor.fetchall()]
            cursor.execute("ROLLBACK TO SAVEPOINT plans")
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, args)
            plan = [r[3] for r in cursor.fetchall()]
        cursor.close()
        shown = "\n".join(_short(line) for line in plan) or "(no table read: a plain INSERT)"
        out.append(f"#### {phase[0]}\n\n```sql\n{_short(statement)}\n```\n\n```text\n"
                   f"{shown}\n```\n")

    return explain


def _phases(engine: store.Engine, reg: Register, phase: list[str]) -> None:
    """Claim, take, record and the scheduler's reads, each under its name in `phase[0]`
    (empty: a statement not shown)."""
    subs = [i.subscription for i in store.subscriptions(engine)[:100]]
    owed = service.plan(reg, subs, AT - timedelta(days=1), AT + timedelta(seconds=1))
    lease = timedelta(minutes=5)
    phase[0] = "claim (100 reminders)"
    store.claim(engine, [([r], False) for r in owed], lambda rs: "{}", AT,
                {s.name: AT for s in subs})
    phase[0] = "take"
    taken = store.take(engine, "plans", AT, lease, timedelta(seconds=1))
    phase[0] = "record"
    store.record(engine, "plans", [store.Result(m.id, AT, 200, 0.01, None, "sent")
                                   for m in taken])
    phase[0] = ""
    ahead = store.take(engine, "peek", AT, lease, timedelta(0))
    store.release(engine, ["peek"])
    phase[0] = "take, a page further (every subscription on the first page busy)"
    store.take(engine, "plans", AT, lease, timedelta(seconds=1),
               busy={m.subscription for m in ahead})
    phase[0] = "next_sendable"
    store.next_sendable(engine, AT)
    phase[0] = "ledger_keys (enqueue: what the ledger holds since the catch-up window)"
    store.ledger_keys(engine, since=AT - timedelta(hours=24))
    phase[0] = "lease_owners and release (at start only)"
    store.lease_owners(engine, AT)
    store.release(engine, ["nobody"])
    phase[0] = ""


if __name__ == "__main__":
    if sys.argv[1:2] == ["--plans"]:
        with tempfile.TemporaryDirectory() as tmp:
            sys.stdout.write("### SQLite\n\n" + plans(f"sqlite:///{Path(tmp) / 'plans.db'}"))
        pg = os.environ.get("CALENDAR_TOOL_TEST_POSTGRES")
        if pg:
            with pg_schema(pg, "plans") as url:
                sys.stdout.write("\n### PostgreSQL\n\n" + plans(url))
        sys.exit(0)
    for row in run():
        sys.stdout.write(f"{row['name']}: {row['figure']:.0f} {row['unit']} "
                         f"(baseline {row['baseline_figure']:.0f}, {row['ratio']:.2f}x)\n")
