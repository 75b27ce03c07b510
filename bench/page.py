"""The page of `serve` as the register grows: generated registers of 1,000, 10,000 and 100,000
entries (bench/generate.py), each served in a process of its own (the app under uvicorn, asked
over HTTP on 127.0.0.1 with today fixed to 2026-12-03), the register read before the first
request as `serve` reads it before it listens:

- `GET /`, the first request: it makes the in-memory date index of the register (every
  occurrence resolved once), which later requests and `/api/obligations` answer from;
- `GET /` again (median of five), `GET /?area=firearms` (a selection: median of five after
  its first), an entry's page `GET /obligations/e1` (median of five), and the size of `/`.

The page lists at most 200 occurrences in each of its lists and draws its timeline for at
most 2,000 dated occurrences, with "the first 200 of N" and a link to all of them as JSON;
before that cap, the page of 100,000 entries took 25 s and was 126 MB of HTML. The baseline
of each row is the same request on the register ten times smaller, in the same run: a ratio
near 10 is linear growth, near 1 a cost that does not grow with the register.

With series expanded at a quarter of the cost (issue 24, this run; "scale"), the first
request at 100,000 entries, measured side by side with the code before (timed runs, three
interleaved pairs of this section's child at 100,000 entries): 3.9 to 5.1 s before, 2.8 to
2.9 s after; the later requests the same. (That run's machine was about 1.6 times slower
than the one before it for the same work; the rows below are from a later run, see "scale".)

This run (830cce0's code, on an Intel Xeon): every request at 100,000 entries took the
same time as the run before's or less (the first 1.6 s, `/` 157 ms, an entry's page 1.2 ms);
the growth ratios read higher because the 10,000-entry requests ran faster on this machine.
An entry's page now lists a series as far as the published feeds reach (`index.json`),
five years when none say otherwise, as here: the same work as before.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.generate import register_text

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 10_000, 100_000)
REPEAT = 5


def page_child(register: str, work: str) -> None:
    """In a child process: serve `register` and time the requests, printed as JSON."""
    import httpx

    from calendar_tool import heap
    from calendar_tool.clock import FixedClock
    from calendar_tool.register import RegisterFile
    from calendar_tool.web import server

    source = RegisterFile(Path(register), reading=heap.kept)  # as `serve` reads it
    assert source.current().register is not None
    app = server.make_app(register=source, feeds=Path(work), db=f"sqlite:///{work}/store.db",
                          clock=FixedClock(datetime(2026, 12, 3, 9, tzinfo=UTC)))
    got: dict[str, float] = {}
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=600) as client:

        def timed(path: str) -> tuple[float, httpx.Response]:
            start = time.perf_counter()
            r = client.get(path, headers={"Accept-Encoding": "identity"})
            assert r.status_code == 200, (path, r.status_code)
            return time.perf_counter() - start, r

        got["first"], page = timed("/")
        got["bytes"] = len(page.content)
        for name, path in (("home", "/"), ("area", "/?area=firearms"),
                           ("entry", "/obligations/e1")):
            timed(path)
            got[name] = statistics.median(timed(path)[0] for _ in range(REPEAT))
    print(json.dumps(got))  # noqa: T201 - read by the parent


def _measure(register: Path, work: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from bench.page import page_child; "
         "page_child(sys.argv[1], sys.argv[2])", str(register), str(work)],
        cwd=ROOT, capture_output=True, text=True, check=True)
    got: dict[str, float] = json.loads(out.stdout)
    return got


_ROWS = (("first", "GET / first, making the in-memory date index", "s"),
         ("home", "GET / (median of 5)", "ms"),
         ("area", "GET /?area=firearms (median of 5)", "ms"),
         ("entry", "GET /obligations/e1 (median of 5)", "ms"),
         ("bytes", "size of /", "KB"))


def run() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    before: dict[str, float] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            work = Path(tmp) / str(size)
            work.mkdir()
            register = work / "obligations.yaml"
            register.write_text(register_text(size))
            got = _measure(register, work)
            if before is not None:
                for key, name, unit in _ROWS:
                    scale = {"s": 1.0, "ms": 1000.0, "KB": 1 / 1024}[unit]
                    figure, base = got[key] * scale, before[key] * scale
                    rows.append({"name": f"{name}, {size:,} entries", "figure": figure,
                                 "unit": unit, "baseline": f"{size // 10:,} entries",
                                 "baseline_figure": base, "ratio": figure / base})
            before = got
            print(f"page: {size:,} entries done", file=sys.stderr)  # noqa: T201
    return rows
