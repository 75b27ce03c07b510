"""`publish()` of every feed (all, per area, per actor, index) into an empty folder
and again with nothing changed, per distinct event, against icalendar's own serialisation of
the same events (`Calendar.to_ical()` of one calendar holding them, the components built
beforehand and not timed): what writing those events with the library alone would cost.

For a scale benchmark: `publish_seconds` (a cold full publish) and
`republish_after_edit_seconds` (one entry edited under a running `run`: the path
`Runner.publish` takes, the store synced and the events of the last run reused)."""

from __future__ import annotations

import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.generate import register_text
from calendar_tool import ical, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.model import Register
from calendar_tool.publish import EventCache, feed_occurrences, feed_specs, publish
from calendar_tool.register import load_register, parse_register
from calendar_tool.revisions import next_revisions
from calendar_tool.timeline import horizon

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 6, 1, tzinfo=UTC)
BASELINE = "icalendar Calendar.to_ical(), same events"


def _median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _baseline(register: Register) -> tuple[float, int]:
    """Seconds for icalendar to serialise the events of all.ics, and how many there are."""
    occs = feed_occurrences(register, horizon(NOW.date()))
    revs = next_revisions({}, register, NOW)
    cal = ical.header(feed_specs(register)[0].info)
    for o in occs:
        cal.add_component(ical.event(o, register, revs[o.entry.id]))
    return _median(cal.to_ical, 3), len(occs)


def _rows(label: str, register: Register, runs: int) -> list[dict[str, object]]:
    base, events = _baseline(register)
    clock = FixedClock(NOW)
    revs = next_revisions({}, register, NOW)  # the store's part is not timed here
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(runs + 1))

        def fresh() -> None:
            publish(register, revs, Path(tmp) / f"run{next(counter)}", clock)

        first = _median(fresh, runs)
        again = _median(lambda: publish(register, revs, Path(tmp) / "run0", clock), runs)
        feeds = len(feed_specs(register))
    per = 1e6 / events
    rows = []
    for what, seconds in (("first publish", first), ("republish, nothing changed", again)):
        rows.append({
            "name": f"{what}, {label} ({events:,} events, up to {feeds} feeds)",
            "figure": seconds * per, "unit": "µs/event",
            "baseline": BASELINE, "baseline_figure": base * per, "ratio": seconds / base,
        })
    return rows


def publish_seconds(register: Register, out_dir: Path) -> float:
    """Seconds for a cold full publish of `register` into `out_dir` (empty or missing): every
    feed and the index, on 1 June 2025. The revisions are computed first and not timed, as in
    `run()`: they are the store's part (`republish_after_edit` times that too)."""
    revs = next_revisions({}, register, NOW)
    start = time.perf_counter()
    publish(register, revs, out_dir, FixedClock(NOW))
    return time.perf_counter() - start


@dataclasses.dataclass(frozen=True)
class Republish:
    """What republishing after a one-entry edit cost, as `run` does it."""

    seconds: float  # service.publish_feeds: the store synced, then the feeds
    # The same edit once more, the two steps of publish_feeds timed apart:
    sync_seconds: float  # the store's revisions (every entry hashed)
    publish_seconds: float  # the feeds, with the EventCache
    serialised: int  # events serialised again; the others came from the EventCache
    events: int  # events in all.ics
    written: tuple[str, ...]  # the feeds whose files were rewritten


def edited(register: Register, entry_id: str | None = None) -> Register:
    """`register` with one entry's title changed: `entry_id`, or the first dated entry from
    the middle of the register on."""
    entries = list(register.entries)
    if entry_id is None:
        middle = len(entries) // 2
        index = next(i for i in range(middle, len(entries))
                     if entries[i].date is not None or entries[i].relative is not None)
    else:
        index = next(i for i, e in enumerate(entries) if e.id == entry_id)
    entries[index] = dataclasses.replace(entries[index], title=entries[index].title + " (edited)")
    return dataclasses.replace(register, entries=tuple(entries))


def republish_after_edit(register: Register, out_dir: Path, entry_id: str | None = None
                         ) -> Republish:
    """Publish `register` into `out_dir` as `run` does at start (a new SQLite store beside
    it, an EventCache kept; not timed), then an hour later the register with one entry edited
    (`edited`), timed: what `Runner.publish` does after a reload, the store's sync included.
    Then that entry is edited again, and the sync and the publishing timed apart."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as tmp:
        engine = store.open_store(f"sqlite:///{tmp}/bench.db")
        try:
            cache = EventCache()
            service.publish_feeds(engine, register, out_dir, FixedClock(NOW), cache=cache)
            changed = edited(register, entry_id)
            later = FixedClock(NOW + timedelta(hours=1))
            start = time.perf_counter()
            report = service.publish_feeds(engine, changed, out_dir, later, cache=cache)
            seconds = time.perf_counter() - start
            again = edited(changed, entry_id)
            later = FixedClock(NOW + timedelta(hours=2))
            start = time.perf_counter()
            revs = service.sync(engine, again, later.now())
            synced = time.perf_counter()
            publish(again, revs, out_dir, later, cache=cache)
            done = time.perf_counter()
        finally:
            engine.dispose()
    return Republish(seconds, synced - start, done - synced, report.serialised,
                     report.feeds[0].events, tuple(f.name for f in report.feeds if f.written))


def republish_after_edit_seconds(register: Register, out_dir: Path,
                                 entry_id: str | None = None) -> float:
    """Seconds of `republish_after_edit`'s timed republish."""
    return republish_after_edit(register, out_dir, entry_id).seconds


def run() -> list[dict[str, object]]:
    """Rows for BENCHMARKS.md: the real register, then a generated 10,000-entry one."""
    rows = _rows("obligations.yaml", load_register(ROOT / "obligations.yaml"), 5)
    generated = parse_register(register_text(10_000), "generated.yaml")
    rows += _rows("generated register of 10,000 entries", generated, 1)
    return rows


def main(results: list[dict[str, object]]) -> None:
    """Add this benchmark's rows to `results` (for a runner that collects them)."""
    results.extend(run())


if __name__ == "__main__":
    for row in run():
        sys.stdout.write(f"{row['name']}: {row['figure']:.1f} {row['unit']} "
                         f"(baseline {row['baseline_figure']:.1f}, {row['ratio']:.2f}x)\n")
