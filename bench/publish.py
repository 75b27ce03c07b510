"""`publish()` of every feed (all, per area, per actor, index) into an empty folder
and again with nothing changed, per distinct event, against icalendar's own serialisation of
the same events (`Calendar.to_ical()` of one calendar holding them, the components built
beforehand and not timed): what writing those events with the library alone would cost.
(bench/scale.py times whole publishes and `run`'s reloads.)

In this section's run of 2026-12-03 (scale and publish alone), the republish rows read 172.6
and 39.5 µs/event against 138.4 and 24.0 in the run before (the 10,000 entries' one run each),
on a machine slower that day. That path (`publish()` without a cache) did not change;
interleaved runs at 10,000 entries of the code before and after gave 32.7 to 43.2 and 32.6 to
49.1 µs/event."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.generate import register_text
from calendar_tool.clock import FixedClock
from calendar_tool.feeds import ical
from calendar_tool.feeds.publishing import feed_occurrences, feed_specs, publish
from calendar_tool.feeds.revisions import next_revisions
from calendar_tool.model import Register
from calendar_tool.register import parse_register
from calendar_tool.timeline import horizon
from tests.registers import load_register

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
