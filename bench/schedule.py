"""Scheduling lateness: 1,000 subscriptions each owed a reminder at the same minute, sent by the
real scheduler (`scheduler.Scheduler` on APScheduler, SQLite file, system clock) to a local
keep-alive receiver that notes when each request arrives. Lateness is arrival minus the
reminder's instant: the job waking, the claim of 1,000 reminders and the paced, threaded sending
together. The baseline is a bare httpx loop POSTing 1,000 requests of the same size over the same
8 threads in the same run, the least any sender needs; the ratio is lateness over that time
(lower is better; it cannot go below about 1)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.deliver import bare_posts, receiver
from calendar_tool import delivery, store
from calendar_tool.clock import SystemClock
from calendar_tool.model import Format, Offset, Subscription
from calendar_tool.scheduler import Options, Runner, Scheduler

COUNT = 1_000
BASELINE = f"bare httpx loop, {COUNT:,} requests, same 8 threads"


def _register(day: str) -> str:
    return f"""\
register: {{title: Bench, reminders: [P0D]}}
areas: {{a: {{title: A}}}}
actors: {{b: {{title: B}}}}
documents: {{D/1: {{title: D}}}}
entries:
  - id: due
    title: Due
    kind: deadline
    date: {day}
    actors: [b]
    areas: [a]
    sources: [{{doc: D/1, para: '1', quote: q}}]
"""


def _lateness(tmp: Path) -> list[float]:
    # The next whole minute at least 15 s away: time to start before it falls due.
    now = datetime.now(UTC)
    at = (now + timedelta(seconds=75)).replace(second=0, microsecond=0)
    register = tmp / "obligations.yaml"
    register.write_text(_register(at.date().isoformat()))
    arrivals: list[float] = []
    server, base = receiver(arrivals)
    engine = store.open_store(f"sqlite:///{tmp / 'bench.db'}")
    try:
        store.add_subscriptions(engine, [Subscription(
            name=f"s{n}", url=f"{base}/hook/{n}", format=Format.JSON, secret=None,
            created_at=now - timedelta(days=1), offsets=(Offset(),), overdue=False,
            time_of_day=at.time()) for n in range(COUNT)])
        with delivery.Senders() as client:
            runner = Runner(engine, client, SystemClock(), register,
                            Options(tmp / "feeds", "http://127.0.0.1:8000", watch=None))
            scheduler = Scheduler(runner)
            scheduler.start()
            try:
                deadline = time.time() + (at - now).total_seconds() + 120
                while len(arrivals) < COUNT and time.time() < deadline:
                    time.sleep(0.2)
            finally:
                scheduler.stop()
    finally:
        engine.dispose()
        server.shutdown()
    assert len(arrivals) == COUNT, f"{len(arrivals)} of {COUNT} arrived"
    instant = at.timestamp()
    return [a - instant for a in arrivals]


def run() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        late = _lateness(Path(tmp))
    server, base = receiver()
    try:
        bare = bare_posts(base, b"x" * 900, COUNT)  # about the size of one reminder's JSON body
    finally:
        server.shutdown()
    late.sort()
    p50 = statistics.median(late)
    p95 = late[int(0.95 * (len(late) - 1))]
    rows = []
    for name, figure in (("median", p50), ("95th percentile", p95), ("last", late[-1])):
        rows.append({"name": f"lateness of {COUNT:,} reminders due the same minute, {name}",
                     "figure": figure * 1000, "unit": "ms", "baseline": BASELINE,
                     "baseline_figure": bare * 1000, "ratio": figure / bare})
    return rows


if __name__ == "__main__":
    for row in run():
        sys.stdout.write(f"{row['name']}: {row['figure']:.0f} {row['unit']} "
                         f"(baseline {row['baseline_figure']:.0f}, {row['ratio']:.2f}x)\n")
