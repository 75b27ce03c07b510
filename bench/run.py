"""`make bench`: run every benchmark and write BENCHMARKS.md with the machine and the date.

Each benchmark module has `run() -> list[dict]`; a row names what was measured, its figure and
unit, and the baseline measured in the same run with the ratio between them. Absolute times
vary between machines; the ratios are what to compare across runs.
"""

from __future__ import annotations

import compileall
import datetime
import importlib
import os
import platform
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODULES = ["bench.listing", "bench.startup", "bench.publish", "bench.deliver", "bench.schedule",
           "bench.serve", "bench.page", "bench.fleet", "bench.scale"]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def main() -> None:
    # The commands benchmarked keep their entry cache in a folder of this run's own: the
    # user's would keep a file per generated register. Measurements after a warm-up run
    # thus see a warm cache, as an admin's second command does.
    # The commands measured start from the package's compiled bytecode, as an installed tool
    # does (pip compiles it; Python writes it on first import). An environment that sets
    # PYTHONDONTWRITEBYTECODE, as this project's machines do, would otherwise have every
    # command compile the package from source, some 0.1 s a process on every row.
    compileall.compile_dir(ROOT / "calendar_tool", quiet=1)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CALENDAR_TOOL_CACHE"] = cache
        _run_all(sys.argv[1:])


def _run_all(only: list[str]) -> None:
    """Every benchmark, or with `only` (`python bench/run.py listing scale`) those alone:
    their sections of BENCHMARKS.md are replaced, each saying when it was measured alone,
    and the others kept as they are."""
    sections = []
    names = [n for n in MODULES if not only or n.split(".")[-1] in only]
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue  # a benchmark that is not written yet
        rows = module.run()
        if not rows and only:
            # fleet without PostgreSQL (`make bench` sets CALENDAR_TOOL_TEST_POSTGRES): an
            # empty table would replace the figures of a run that had it.
            print(f"{name}: no figures; its section of BENCHMARKS.md is left as it was",  # noqa: T201
                  file=sys.stderr)
            continue
        lines = [f"## {name.split('.')[-1]}", "", (module.__doc__ or "").strip(), "",
                 "| measured | figure | baseline (same run) | ratio |", "| --- | --- | --- | --- |"]
        for r in rows:
            base = r.get("baseline_figure")
            base_text = f"{r['baseline']}: {base:.1f} {r['unit']}" if base is not None \
                else str(r["baseline"])
            lines.append(f"| {r['name']} | {r['figure']:.1f} {r['unit']} | {base_text} | "
                         f"{r['ratio']:.2f}x |")
        sections.append("\n".join(lines))
        print("\n".join(lines[4:]))  # noqa: T201 - a benchmark reports on the terminal
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    if only:
        _replace(sections, f"(Measured alone on {today} by `python bench/run.py "
                           f"{' '.join(only)}`, machine: {_machine()}.)")
        return
    text = (f"# Benchmarks\n\nWritten by `make bench` on {today}.\n\nMachine: {_machine()}\n\n"
            + "\n\n".join(sections) + "\n")
    (ROOT / "BENCHMARKS.md").write_text(text)


def _replace(sections: list[str], note: str) -> None:
    """Put each section in place of the one of the same heading in BENCHMARKS.md (at the
    end when there is none), with `note` under its heading."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    for section in sections:
        heading, _, body = section.partition("\n")
        section = f"{heading}\n\n{note}\n{body}"
        parts = re.split(r"(?m)^(?=## )", text)
        found = [i for i, part in enumerate(parts) if part.split("\n", 1)[0] == heading]
        if found:
            parts[found[0]] = section + "\n\n"
        else:
            parts[-1] = parts[-1].rstrip("\n") + "\n\n" + section + "\n\n"
        text = "".join(parts)
    path.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
