"""Measuring a command as a whole process: its wall time and the peak resident memory of its
whole process tree, optionally on one core (`taskset -c 0`), and the baselines the benchmarks
set beside it: the `import click, yaml` floor and remind(1). No `run()`: `make bench` does not
pick it up as a benchmark of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL = [sys.executable, "-m", "calendar_tool.cli"]
FLOOR_CMD = [sys.executable, "-c", "import click, yaml"]
FLOOR = "python -c 'import click, yaml'"

# Run by a small Python of its own, which starts the command and reports its wall time and the
# peak of the resident sizes of the command and of every process it starts (children,
# grandchildren: a forked half of a cold read, anything else), added up every 10 ms, or the
# command's own peak as the kernel counts it if that is larger. A forked copy shares pages
# with its parent until either writes them: the sum counts them twice, an upper bound.
# Measured from a process of its own because Linux counts a child's peak from its parent's
# at the fork: a command forked by a large benchmark process would report that process's.
# With `one-core`, the launcher pins itself to the first CPU first (as `taskset -c 0` does),
# and the command and everything it starts inherit it. With `own`, only the descendants that
# run the command's own command line count (its forked copies): not a helper it starts, such
# as the editor of the scale benchmark's reload, which stands for a person's editor.
_LAUNCH = """
import os, subprocess, sys, time
def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return None
def kids(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(k) for k in f.read().split()]
    except OSError:
        return []
def tree(pid):
    own = cmdline(pid) if sys.argv[3] == "own" else None
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [k for k in kids(p) if own is None or cmdline(k) == own]
    return out
def resident(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0
if sys.argv[2] == "one-core":
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
start = time.perf_counter()
p = subprocess.Popen(sys.argv[4:])
together = 0
while True:
    done, status, usage = os.wait4(p.pid, os.WNOHANG)
    if done:
        break
    together = max(together, sum(resident(q) for q in tree(p.pid)))
    time.sleep(0.01)
wall = time.perf_counter() - start
open(sys.argv[1], "w").write(f"{wall} {max(usage.ru_maxrss, together)}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class Measured:
    """One run: wall seconds, peak resident megabytes of the process tree, what it printed."""

    wall: float
    peak: float
    output: str


def launch(cmd: Sequence[str], env: dict[str, str] | None = None, one_core: bool = False,
           own: bool = False) -> Measured:
    """Run `cmd` once from the project's folder (with `env` added to the environment); with
    `own`, its peak counts only its forked copies beside it (see `_LAUNCH`)."""
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as report:
        done = subprocess.run([sys.executable, "-c", _LAUNCH, report.name,
                               "one-core" if one_core else "all", "own" if own else "tree",
                               *cmd], stdout=out,
                              stderr=subprocess.STDOUT, cwd=ROOT, check=False,
                              env={**os.environ, **(env or {})})
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
        wall, kilobytes = report.read().split()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{text[-2000:]}")
    return Measured(float(wall), int(kilobytes) / 1024, text)


# remind(1), the Debian package: what a compiled tool pays to answer from the same dates.
REMIND_ENV = "CALENDAR_TOOL_BENCH_REMIND"


def remind() -> tuple[str | None, str]:
    """The remind(1) binary (CALENDAR_TOOL_BENCH_REMIND names another), installed with
    apt-get as root when absent, as scripts/services installs the test services (not with
    CALENDAR_TOOL_NO_INSTALL=1); None and why when there is none."""
    given = os.environ.get(REMIND_ENV)
    if given:
        return (given, "") if os.access(given, os.X_OK) else (None, f"{REMIND_ENV}={given} "
                                                                     "is not an executable")
    found = shutil.which("remind")
    if found:
        return found, ""
    if os.environ.get("CALENDAR_TOOL_NO_INSTALL") == "1":
        return None, "remind is not installed (CALENDAR_TOOL_NO_INSTALL=1)"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "remind is not installed, and apt-get as root is not available to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "remind"]):
        if subprocess.run(step, capture_output=True, env=env, check=False).returncode != 0:
            return None, f"installing remind failed ({' '.join(step)})"
    found = shutil.which("remind")
    return (found, "") if found else (None, "remind is still missing after apt-get install")


def flushed_copies(paths: Sequence[Path]) -> float:
    """Seconds to copy each file of `paths` beside itself as the feeds' code copies a file
    (`files.copy_file`: by the kernel, `os.copy_file_range`) and flush the copy to disk, one
    after the other: what writing those bytes durably costs this machine at the least, the
    floor of a command that must replace those files. The copies are removed after the
    clock stops."""
    from calendar_tool import files

    copies = [path.with_name(f".floor.{path.name}") for path in paths]
    start = time.perf_counter()
    try:
        for path, copy in zip(paths, copies, strict=True):
            with path.open("rb") as source:
                files.copy_file(source, copy)
            fd = os.open(copy, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return time.perf_counter() - start
    finally:
        for copy in copies:
            copy.unlink(missing_ok=True)
