"""Several processes on one PostgreSQL: three real `calendar-tool run` processes (the command as
deployed: its own interpreter, scheduler, system clock and 8 sending threads each) on one
database, owed 10,000 reminders that fell due within the catch-up window (2,500 JSON
subscriptions, a deadline on each of the last four days: four messages each, paced a second
apart), sending to one keep-alive HTTP receiver on 127.0.0.1 that records every request.

Checked, not only timed: every reminder arrives once (10,000 distinct (subscription,
occurrence, offset) keys under 10,000 distinct webhook ids), each process's share (its own
`reminder.sent` log lines) adds up to the total, and the three feed folders hold the same
bytes. A retry under a webhook id that already arrived (an attempt whose answer came too late
for the sender, on a loaded machine) is dropped as DESIGN.md's receiver drops it, once it is
checked to be the same message; how many there were is in the first row's name. The rate is
deliveries from the first request's arrival to the last; the baseline is a bare httpx loop
POSTing 10,000 bodies of the same size over 8 threads to the same receiver in the same run
(ratio: the fleet's rate over the loop's). Needs PostgreSQL (CALENDAR_TOOL_TEST_POSTGRES, a
fresh schema); without it there are no rows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.deliver import bare_posts, pg_schema, receiver
from calendar_tool import delivery, service, store
from calendar_tool.clock import SystemClock
from calendar_tool.model import Format, Offset, Subscription
from tests.registers import load_register

PROCESSES = 3
SUBSCRIPTIONS = 2_500
DAYS = 4
COUNT = SUBSCRIPTIONS * DAYS
BASELINE = f"bare httpx loop, {COUNT:,} requests of the same size, 8 threads"
TIMEOUT = 180.0  # seconds for the whole delivery before the run counts as failed


def _register(days: list[str]) -> str:
    entries = "".join(f"""\
  - id: d{n}
    title: Deadline {n}
    kind: deadline
    date: {day}
    actors: [b]
    areas: [a]
    sources: [{{doc: D/1, para: '1', quote: q}}]
""" for n, day in enumerate(days))
    return f"""\
register: {{title: Fleet, reminders: [P0D]}}
areas: {{a: {{title: A}}}}
actors: {{b: {{title: B}}}}
documents: {{D/1: {{title: D}}}}
entries:
{entries}"""


def _prepare(tmp: Path, url: str, base: str) -> Path:
    """The register, the subscriptions and the feeds' revisions in the database: a deadline
    on each of the last DAYS days, reminded (P0D) at a time of day ten minutes ago."""
    at = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)
    register = tmp / "obligations.yaml"
    register.write_text(_register([(at - timedelta(days=n)).date().isoformat()
                                   for n in range(DAYS)]))
    engine = store.open_store(url)
    try:
        secret = delivery.new_secret()
        store.add_subscriptions(engine, [Subscription(
            name=f"s{n:04}", url=f"{base}/hook/{n:04}", format=Format.JSON, secret=secret,
            created_at=at - timedelta(days=DAYS), offsets=(Offset(),), overdue=False,
            time_of_day=at.time()) for n in range(SUBSCRIPTIONS)])
        # Published once before the fleet starts, as an admin would: the entries' revisions
        # are in the database, so every process publishes the same bytes (README, "Running
        # several processes").
        service.publish_feeds(engine, load_register(register), tmp / "feeds-admin",
                              SystemClock())
    finally:
        engine.dispose()
    return register


def _pending(url: str) -> int:
    from sqlalchemy import text

    engine = store.open_store(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM message WHERE status = 'pending'")).scalar_one())
    finally:
        engine.dispose()


def _fleet(tmp: Path, url: str, register: Path, arrivals: list[float],
           requests: list[tuple[str, str, bytes]]) -> list[int]:
    """Start the processes, wait until every reminder has arrived and nothing is pending,
    stop them with SIGTERM; returns each process's count of `reminder.sent` lines."""
    env = dict(os.environ, CALENDAR_TOOL_DB=url, CALENDAR_TOOL_REGISTER=str(register))
    logs = [tmp / f"run-{n}.log" for n in range(PROCESSES)]
    procs = []
    for n, log in enumerate(logs):
        with log.open("w") as err:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "calendar_tool.cli", "run", "--out",
                 str(tmp / f"feeds-{n}"), "--catch-up", str(24 * DAYS), "--watch", "0"],
                env=env, stdout=subprocess.DEVNULL, stderr=err))
    try:
        deadline = time.monotonic() + TIMEOUT
        while len({webhook_id for _, webhook_id, _ in requests}) < COUNT or _pending(url):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"{len(requests)} of {COUNT} requests arrived; logs in "
                                   + ", ".join(log.read_text()[-500:] for log in logs))
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = [p.wait(60) for p in procs]
    assert codes == [0] * PROCESSES, codes
    return [sum(json.loads(line)["event"] == "reminder.sent"
                for line in log.read_text().splitlines()) for log in logs]


def _once(requests: list[tuple[str, str, bytes]]) -> list[tuple[str, str, bytes]]:
    """The requests as a receiver that drops retries keeps them: the first under each webhook
    id. A retry must be the same message (path and body) as the first."""
    first: dict[str, tuple[str, str, bytes]] = {}
    for request in requests:
        kept = first.setdefault(request[1], request)
        assert (kept[0], kept[2]) == (request[0], request[2]), \
            f"webhook id {request[1]} came with another message"
    return list(first.values())


def _check(delivered: list[tuple[str, str, bytes]], shares: list[int], tmp: Path) -> None:
    """Each reminder once, by key and by webhook id (retries dropped, `_once`); the shares
    add up; the feeds agree."""
    keys: Counter[tuple[str, str, str]] = Counter()
    for path, _, body in delivered:
        for item in json.loads(body)["data"]["reminders"]:
            keys[(item["subscription"], item["occurrence"]["id"], item["offset"])] += 1
            assert path == f"/hook/{item['subscription'][1:]}", path
    expected = {(f"s{n:04}", f"d{d}", "P0D") for n in range(SUBSCRIPTIONS) for d in range(DAYS)}
    assert len(delivered) == COUNT, f"{len(delivered)} webhook ids for {COUNT} reminders"
    assert set(keys) == expected and set(keys.values()) == {1}, "a reminder arrived twice"
    assert sum(shares) == COUNT, shares
    folders = [tmp / f"feeds-{n}" for n in range(PROCESSES)]
    contents = [{p.name: p.read_bytes() for p in sorted(f.iterdir())} for f in folders]
    assert contents[0] and all(c == contents[0] for c in contents), "the feeds differ"


def run() -> list[dict[str, object]]:
    pg = os.environ.get("CALENDAR_TOOL_TEST_POSTGRES")
    if not pg:
        return []
    arrivals: list[float] = []
    requests: list[tuple[str, str, bytes]] = []
    server, base = receiver(arrivals, requests)
    try:
        with tempfile.TemporaryDirectory() as name, pg_schema(pg, "fleet") as url:
            tmp = Path(name)
            register = _prepare(tmp, url, base)
            started = time.time()
            shares = _fleet(tmp, url, register, arrivals, requests)
            delivered = _once(requests)
            _check(delivered, shares, tmp)
            retries = len(requests) - len(delivered)
        fleet = max(arrivals) - min(arrivals)
        size = round(sum(len(body) for _, _, body in requests) / len(requests))
        bare = bare_posts(base, b"x" * size, COUNT)
    finally:
        server.shutdown()
    rows: list[dict[str, object]] = [
        {"name": f"{PROCESSES} run processes on one PostgreSQL, {COUNT:,} reminders, each "
                 f"delivered once (by key and by webhook id; {retries} retries "
                 "dropped)",
         "figure": COUNT / fleet, "unit": "deliveries/s", "baseline": BASELINE,
         "baseline_figure": COUNT / bare, "ratio": bare / fleet},
        {"name": "the same, from the processes' start to the last delivery (start-up, "
                 "three concurrent claims, sending)",
         "figure": COUNT / (max(arrivals) - started), "unit": "deliveries/s",
         "baseline": BASELINE, "baseline_figure": COUNT / bare,
         "ratio": bare / (max(arrivals) - started)},
    ]
    for n, share in enumerate(shares):
        rows.append({"name": f"process {n + 1}'s share (its reminder.sent log lines)",
                     "figure": share, "unit": "messages",
                     "baseline": f"an even share of {COUNT:,}",
                     "baseline_figure": COUNT / PROCESSES,
                     "ratio": share / (COUNT / PROCESSES)})
    return rows


if __name__ == "__main__":
    for row in run():
        sys.stdout.write(f"{row['name']}: {row['figure']:.0f} {row['unit']} "
                         f"(baseline {row['baseline_figure']:.0f}, {row['ratio']:.2f}x)\n")
