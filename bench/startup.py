"""The commands that open the database, each as a whole process (`subscribe list`, `subscribe
remove`, `deliveries`, `subscribe test` to a local receiver answering 200), on a SQLite file
holding one subscription, against `python -c "import click, yaml"` in the same run (the floor
any Python command-line tool with these libraries pays), and on PostgreSQL when
CALENDAR_TOOL_TEST_POSTGRES names one. `python -c "import sqlalchemy"` is measured beside
them: what loading the database layer alone costs, below which no database command can go.

What a database command loads: SQLAlchemy Core and the one dialect its URL names (psycopg for
PostgreSQL), the service modules it calls, and the register and httpx only for `subscribe
test`. The tables are Core `Table`s, not sqlmodel models: sqlmodel brought pydantic and the ORM
(`sqlalchemy.orm`) with it, half as much again as SQLAlchemy's own import (`import sqlmodel`
453 ms against `import sqlalchemy` 292 ms, medians of one run), for statements that were all
Core already; nor do they load httpx, icalendar or the register unless they use them.
SQLAlchemy stays: it is the one dialect layer that makes the ledger's claims (`INSERT … ON
CONFLICT DO NOTHING … RETURNING`) and leases (compare-and-set `UPDATE … RETURNING`, `SKIP
LOCKED`) one code path on SQLite and PostgreSQL, and writing those twice against two DB-API
drivers would trade a tenth of a second at a command's start for two implementations of the
part that must never send a reminder twice. Its own import (the first row: 3.5 to 4.5 times the
floor on a 2-core machine) is already past 3x the floor, and most of what each command costs;
`list` and the other commands that read only the register never load it."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.deliver import pg_schema, receiver
from calendar_tool import service, store
from calendar_tool.model import Format, Subscription

ROOT = Path(__file__).resolve().parent.parent
TOOL = [sys.executable, "-m", "calendar_tool.cli"]
FLOOR_CMD = [sys.executable, "-c", "import click, yaml"]
FLOOR = "python -c 'import click, yaml'"
RUNS = 11


def _wall(cmd: list[str], ok: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, cwd=ROOT, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in ok:
        raise RuntimeError(f"{cmd}: exit {done.returncode}: {done.stderr.strip()}")
    return elapsed


def _row(name: str, cmd: list[str], before: Callable[[], None] | None = None
         ) -> dict[str, object]:
    """Median wall times of `cmd` and of the floor, run in turns (so that a machine getting
    busier or quieter moves both), after a warm-up of each (page cache, .pyc files, the entry
    cache); `before` runs untimed ahead of each run of `cmd` (a subscription to remove
    again)."""
    ours, floor = [], []
    for n in range(RUNS + 1):
        base = _wall(FLOOR_CMD)
        if before is not None:
            before()
        wall = _wall(cmd)
        if n:
            ours.append(wall)
            floor.append(base)
    figure, baseline = statistics.median(ours), statistics.median(floor)
    return {"name": name, "figure": figure * 1000, "unit": "ms", "baseline": FLOOR,
            "baseline_figure": baseline * 1000, "ratio": figure / baseline}


def _subscription(url: str) -> Subscription:
    return Subscription(name="team", url=url, format=Format.JSON,
                        created_at=datetime(2026, 1, 1, tzinfo=UTC), secret=None)


def _rows(label: str, db: str, hook: str) -> list[dict[str, object]]:
    engine = service.open_store(db)
    try:
        store.add_subscription(engine, _subscription(hook))

        def again() -> None:
            if not service.has_subscription(engine, "team"):
                store.add_subscription(engine, _subscription(hook))

        tool = [*TOOL, "--db", db]
        return [
            _row(f"subscribe list, {label}", [*tool, "subscribe", "list"]),
            _row(f"deliveries, {label}", [*tool, "deliveries"]),
            _row(f"subscribe test (a receiver answering 200), {label}",
                 [*tool, "subscribe", "test", "team"]),
            _row(f"subscribe remove, {label}", [*tool, "subscribe", "remove", "team"],
                 before=again),
        ]
    finally:
        engine.dispose()


def run() -> list[dict[str, object]]:
    rows = [_row("python -c 'import sqlalchemy' (the database layer alone)",
                 [sys.executable, "-c", "import sqlalchemy"])]
    server, base = receiver()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows += _rows("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", f"{base}/hook")
        pg = os.environ.get("CALENDAR_TOOL_TEST_POSTGRES")
        if pg:
            with pg_schema(pg, "startup") as url:
                rows += _rows("PostgreSQL", url, f"{base}/hook")
    finally:
        server.shutdown()
    return rows
