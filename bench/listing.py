"""`calendar-tool list --due 2005` as a whole process, against `python -c "import click, yaml"`
in the same run (the floor any Python command-line tool with these libraries pays)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import register_text

ROOT = Path(__file__).resolve().parent.parent
TOOL = [sys.executable, "-m", "calendar_tool.cli"]


def _best_of(cmd: list[str], runs: int) -> float:
    """Median wall time of `runs` runs, after one warm-up run (page cache, .pyc files)."""
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run() -> list[dict[str, object]]:
    baseline = _best_of([sys.executable, "-c", "import click, yaml"], 15)
    rows: list[dict[str, object]] = []
    real = _best_of([*TOOL, "list", "--due", "2005"], 15)
    rows.append({"name": "list --due 2005, obligations.yaml (48 entries)", "figure": real * 1000,
                 "unit": "ms", "baseline": "python -c 'import click, yaml'",
                 "baseline_figure": baseline * 1000, "ratio": real / baseline})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated.yaml"
        path.write_text(register_text(10_000))
        big = _best_of([*TOOL, "--register", str(path), "list", "--due", "2005"], 5)
        rows.append({"name": "list --due 2005, generated register (10,000 entries)",
                     "figure": big * 1000, "unit": "ms",
                     "baseline": "python -c 'import click, yaml'",
                     "baseline_figure": baseline * 1000, "ratio": big / baseline})
        validate = _best_of([*TOOL, "--register", str(path), "validate"], 5)
        rows.append({"name": "validate, generated register (10,000 entries)",
                     "figure": validate * 1000, "unit": "ms",
                     "baseline": "python -c 'import click, yaml'",
                     "baseline_figure": baseline * 1000, "ratio": validate / baseline})
    return rows
