"""The commands that open the database, each as a whole process (`subscribe list`, `subscribe
remove`, `deliveries`, `subscribe test` to a local receiver answering 200), on a SQLite file
holding one subscription, against `python -c "import click, yaml"` in the same run (the floor
any Python command-line tool with these libraries pays), and on PostgreSQL when
CALENDAR_TOOL_TEST_POSTGRES names one. `python -c "import sqlalchemy"` is measured beside them:
what the database layer alone costs to load, which no database command can go below."""

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
FLOOR = "python -c 'import click, yaml'"
RUNS = 15


def _median(cmd: list[str], runs: int = RUNS, before: Callable[[], None] | None = None,
            ok: tuple[int, ...] = (0,)) -> float:
    """Median wall time of `runs` runs after one warm-up run (page cache, .pyc files, the entry
    cache); `before` runs untimed ahead of each (a subscription to remove again)."""
    times = []
    for n in range(runs + 1):
        if before is not None:
            before()
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, cwd=ROOT, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode not in ok:
            raise RuntimeError(f"{cmd}: exit {done.returncode}: {done.stderr.strip()}")
        if n:
            times.append(elapsed)
    return statistics.median(times)


def _subscription(url: str) -> Subscription:
    return Subscription(name="team", url=url, format=Format.JSON,
                        created_at=datetime(2026, 1, 1, tzinfo=UTC), secret=None)


def _rows(label: str, db: str, hook: str, floor: float) -> list[dict[str, object]]:
    engine = service.open_store(db)
    try:
        store.add_subscription(engine, _subscription(hook))

        def again() -> None:
            if not service.has_subscription(engine, "team"):
                store.add_subscription(engine, _subscription(hook))

        tool = [*TOOL, "--db", db]
        measured = {
            "subscribe list": _median([*tool, "subscribe", "list"]),
            "deliveries": _median([*tool, "deliveries"]),
            "subscribe test (a receiver answering 200)": _median(
                [*tool, "subscribe", "test", "team"]),
            "subscribe remove": _median([*tool, "subscribe", "remove", "team"], before=again),
        }
    finally:
        engine.dispose()
    return [{"name": f"{name}, {label}", "figure": wall * 1000, "unit": "ms",
             "baseline": FLOOR, "baseline_figure": floor * 1000, "ratio": wall / floor}
            for name, wall in measured.items()]


def run() -> list[dict[str, object]]:
    floor = _median([sys.executable, "-c", "import click, yaml"])
    orm = _median([sys.executable, "-c", "import sqlalchemy"])
    rows: list[dict[str, object]] = [
        {"name": "python -c 'import sqlalchemy' (the database layer alone)",
         "figure": orm * 1000, "unit": "ms", "baseline": FLOOR,
         "baseline_figure": floor * 1000, "ratio": orm / floor}]
    server, base = receiver()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows += _rows("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", f"{base}/hook",
                          floor)
        pg = os.environ.get("CALENDAR_TOOL_TEST_POSTGRES")
        if pg:
            with pg_schema(pg, "startup") as url:
                rows += _rows("PostgreSQL", url, f"{base}/hook", floor)
    finally:
        server.shutdown()
    return rows
