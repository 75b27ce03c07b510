"""Reminder delivery: 5,000 reminders, one per subscription, claimed in the ledger and sent to
a local keep-alive HTTP receiver by `service.deliver_ready` (leases, signing, attempt records,
8 threads), against a bare httpx loop POSTing the same bodies with the same headers over the
same 8 threads in the same run: the floor for sending them at all. The claim (`enqueue`) is
timed on its own. Ratios here are rates: ours over the floor's (higher is better)."""

from __future__ import annotations

import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from calendar_tool import notify, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.model import Offset
from calendar_tool.register import parse_register
from calendar_tool.reminders import Format, Subscription

COUNT = 5_000
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

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.arrivals is not None:
            self.arrivals.append(time.time())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def receiver(arrivals: list[float] | None = None) -> tuple[ThreadingHTTPServer, str]:
    """A keep-alive HTTP server on 127.0.0.1 answering 200 to every POST, and its base URL."""
    handler = type("Handler", (_Handler,), {"arrivals": arrivals})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _setup(url: str, base: str) -> tuple[store.Engine, FixedClock, float]:
    engine = store.open_store(url)
    reg = parse_register(REGISTER, "bench.yaml")
    secret = notify.new_secret()
    store.add_subscriptions(engine, [Subscription(
        name=f"s{n}", url=f"{base}/hook/{n}", format=Format.JSON, secret=secret,
        created_at=AT - timedelta(days=1), offsets=(Offset(),), overdue=False)
        for n in range(COUNT)])
    clock = FixedClock(AT)
    start = time.perf_counter()
    claimed = service.enqueue(engine, reg, clock, "http://127.0.0.1:8000")
    assert claimed.messages == COUNT, claimed
    return engine, clock, time.perf_counter() - start


def _bare(engine: store.Engine) -> float:
    """The same requests, each with fresh signature headers as a sender must make them."""
    taken = store.take(engine, "bare", AT, timedelta(hours=1), timedelta(0), limit=COUNT)
    assert len(taken) == COUNT
    with notify.make_client() as client:

        def post(m: store.Outbound) -> int:
            headers = notify.headers(m.id, m.body, AT, m.secret)
            return client.post(m.url, content=m.body, headers=headers).status_code

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=service.DEFAULT_WORKERS) as pool:
            statuses = list(pool.map(post, taken))
        elapsed = time.perf_counter() - start
    assert statuses == [200] * COUNT
    return elapsed


def _ours(engine: store.Engine, clock: FixedClock) -> float:
    with notify.make_client() as client:
        start = time.perf_counter()
        results = service.deliver_ready(engine, client, clock, "bench", lambda s: None,
                                        rng=random.Random(1))
        elapsed = time.perf_counter() - start
    assert len(results) == COUNT and {r.state for r in results} == {"sent"}
    return elapsed


def _rows(label: str, url_for: Any) -> list[dict[str, object]]:
    server, base = receiver()
    try:
        ours_engine, clock, claim = _setup(url_for("ours"), base)
        bare_engine, _, _ = _setup(url_for("bare"), base)
        bare = _bare(bare_engine)
        ours = _ours(ours_engine, clock)
        ours_engine.dispose()
        bare_engine.dispose()
    finally:
        server.shutdown()
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
        rows = _rows("SQLite", lambda name: f"sqlite:///{Path(tmp) / name}.db")
    pg = os.environ.get("CALENDAR_TOOL_TEST_POSTGRES")
    if pg:
        from sqlalchemy import create_engine, text

        schemas = []

        def pg_url(name: str) -> str:
            schema = f"bench_{name}_{os.getpid()}"
            admin = create_engine(store.normalise_url(pg))
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            admin.dispose()
            schemas.append(schema)
            return f"{pg}?options=-csearch_path%3D{schema}"

        try:
            rows += _rows("PostgreSQL", pg_url)
        finally:
            admin = create_engine(store.normalise_url(pg))
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()
    return rows


if __name__ == "__main__":
    for row in run():
        sys.stdout.write(f"{row['name']}: {row['figure']:.0f} {row['unit']} "
                         f"(baseline {row['baseline_figure']:.0f}, {row['ratio']:.2f}x)\n")
