"""`list` and `review` as whole processes, on the real register and on generated registers of
10,000 and 100,000 entries (bench/generate.py), each beside what sets its floor, measured in
turns in the same run (medians): `python -c "import click, yaml"` (what any Python
command-line tool with these libraries pays before doing anything); remind(1), Debian's
compiled reminder tool, over the same dates (`remind -n`: the next date of every reminder;
`remind -s12`: a year's calendar), on a register of the generated one's single-date entries
only, each one a `REM` line; the same command on the register ten times smaller (growth: 10
is linear); the same on one core (`taskset -c 0`), against the floor on one core. Memory is
the peak resident size of the command's whole process tree (bench/measure.py).

`validate` is set beside the floor too (it reads the register through the entry cache, or
with no cache, and has no use for the index). "index" is the command as an admin's second
command runs it: the register unchanged since
the last command, answered from the date index in the cache folder (the register's text is
hashed, not read; only the entries printed are unpickled). "no cache" is
`CALENDAR_TOOL_CACHE=off`: the register read and checked in full, every date resolved, as
every command did before the index. "after an edit": the first command after one entry's
title changed, which reads the register through the entry cache (and checks it) and updates
the index for what the edit reached.

Targets at 100,000 entries (issue 24): `list --due 2005` and `list --upcoming 1y` within 0.3 s
from the index and 2 s with no cache, remind -n within 10x, growth from 10,000 at most 10x,
nothing bought with a second process that one core could not give back. The machine of the run
that built the index (2 shared cores) ran about 1.8 times slower than the one the targets were
set on: compare ratios. Before and after the index, in one interleaved run of the two versions
on that machine (medians; issue 24): `list --due 2005` at 100,000 entries 3.29 s and 376 MB
with a warm entry cache before, 0.42 s and 73 MB from the index (7.8x faster); `list --upcoming
1y` 4.28 s before, 0.44 s after (9.7x); at 10,000 entries 0.49 and 0.59 s before, 0.17 and 0.24
s after; growth from 10,000 to 100,000 2.5x (6.7x before); with no cache 7.8 and 9.3 s before,
7.6 and 8.7 s after (the same work: the listing's table is made once per row now); on one core
the index's figures are the same, and no cache 9.1 and 10.4 s before, 8.1 and 9.1 s after.
Reached here: within 0.3 s from the index on the targets' machine (0.42 s here, which is about
0.23 s there), remind -n within 10x (on the single-date register), the growth, one core. Not
reached: 2 s with no cache. From the index what is left is Python's start and the imports
(about three times the floor), hashing the register file (a tenth of reading it), unpickling
the entries printed (about 12 µs each; a year of the generated register prints 7,000) and
formatting them. With no cache, reading and checking 100,000 entries (libyaml composing, the
walk, the checks across entries, resolving every date) is 4 to 5 s on the targets' machine on
its own, and no part of it can be skipped without giving up the checks every command runs. The
first `list` after the register changed reads it as before (through the entry cache) and
updates the index (3 s here at 100,000 entries, 3.5 s before the index for the same command);
the first of all, or after an edit outside the entries, builds it whole (7 s here: the rows,
every entry pickled, 73 MB written): the "scale" section's `list --due 2005` runs right after
`validate` and so measures that build. `review` prints every deadline long past with no status
recorded (54,658 items at 100,000 entries): 1.9 s from the index against 5.8 s before. The
run before this one, on a machine as fast as the targets' (validate cold 4.8 s at 100,000
entries, "scale"): from the index `list --due 2005` 0.306 s (5.0x a floor of 61.7 ms), `list
--upcoming 1y` 0.326 s. Entries are pickled by their constructor (`register/pickles`: an entry
of the index 441 bytes rather than 772): side by side with the code before (timed runs, ten
interleaved pairs of `list --due 2005` at 100,000 entries, from the index) 0.344 s and 72.0 MiB
before, 0.326 s and 68.6 MiB after; then a table row became a tuple rather than a dict, and rows
of the same days share one value: twelve pairs, 0.297 s before, 0.286 s after. This run (an AMD
EPYC machine, validate cold 5.5 s: a little slower for that work), the model's types slotted
("scale"): from the index `list --due 2005` 0.288 s (4.6x its floor), `list --upcoming 1y`
0.322 s, `review` 1.47 s (1.83 s the run before); side by side with the code of the run before
(99dc7c1), twelve interleaved pairs of `list --due 2005`: 0.96x the time, 65.5 MiB against
68.5. The first `list` after an edit 2.0 s; with no cache 3.7 s (2 cores) and 5.7 s on one.

Made directly, read back in C, known by its version (issue 24, this run; the same kind of
machine, noisier: the floor 83.9 ms against 62.5 ms the run before, so compare ratios). The
model's types held in bulk set their slots directly when made (`model.held_in_bulk`), and the
entries read back find the model's table in C (`register/pickles`' own unpickler): the 7,907
entries `list --upcoming 1y` prints at 100,000 entries are unpickled in 50 ms rather than 79,
in one process (best of fifteen). The register is no longer hashed (24 ms for 32 MB) when the
file is at the version the index kept, which it keeps when the text had stood two seconds
before the index was written; this section therefore waits that long after writing each
generated register, as a keeper's next command comes seconds after an edit ("after an edit"
still measures the first command right after one). And a read-only command loads neither
`logging` nor `tempfile`. Side by side with the code of the run before (7d0ee09) at 100,000
entries, from the index (timed runs, interleaved pairs, medians): `list --upcoming 1y` 0.346 s
and 66.0 MiB against 0.405 s and 67.2 MiB (twenty pairs, 0.83x the time), `list --due 2005`
0.293 s against 0.370 s (twenty pairs, 0.77x), `review` 1.73 s against 2.15 s (eight pairs,
0.84x). Against the floor, 4.21x and 4.88x here, 4.60x and 5.15x the run before: at the
floor of the run before (62.5 ms) that is 0.26 s and 0.31 s. Still not reached: `list
--upcoming 1y` within 0.3 s on this machine, and 2 s with no cache (unchanged: the read).

This run (issue 24; a machine whose floor is 61.6 ms): from the index at 100,000 entries `list
--due 2005` 0.236 s and `list --upcoming 1y` 0.255 s (3.83x and 4.14x the floor), within 0.3 s.
A cold read now forks no copy of itself where the process may run on one processor only
(`taskset -c 0`, a container given one core): there the copy ran by turns with the reader, and
pickling and unpickling its half of the entries was all it added (`register/forked`); side by
side, validate cold on one core at 100,000 entries took 0.90x the time (five interleaved
pairs). On two cores the reader keeps 52% of the entries, since the copy also pickles what it
read (0.97x, six pairs). And `list` loads orjson only when it writes JSON. Still not reached: 2
s with no cache (4.2 s here, 6.1 s on one core), which is the read. This section was measured
at 6a0f209's code; a run at 3d6b19c an hour before, on the same machine, read 3.8 s with no
cache and 3.3 s for validate where this one reads 4.2 s and 3.8 s, though the two versions read
the register with the same code and take the same time side by side (validate with no cache,
six interleaved pairs: 0.99x): the machine's pace varies from run to run.

The floor of a cold read (issue 24, this run). A read with no cache starts with libyaml
composing each entry's text into nodes with their places, which no later step can skip;
measured alone in one process, as the reader does it (the row "libyaml composing each entry
alone"), that is 3.20 s at 100,000 entries here: over the 2 s the targets give `list` with no
cache, and over the 3 s they give a cold validate, on one core. `list` with no cache takes
1.37x it on two cores (where the copy the read forks composes nearly half the entries) and
2.01x on one; validate 1.22x on two. A source written again (the same three fields) is now
the source read before it, not walked again (`register/walk`): validate with no cache on one
core at 100,000 entries 5.5 to 5.8 s against 6.1 to 6.4 s before, three interleaved pairs.
From the index at 100,000 entries, `list --due 2005` 0.261 s and `list --upcoming 1y` 0.283 s,
within 0.3 s (4.14x and 4.47x the floor; 3.83x and 4.14x the run before, whose code takes the
same time: fifteen interleaved pairs of `list --due 2005` against stop 40's (6286338), 1.01x).
This section was measured at 37e30ea's code.

This run (c8b3df5's code, issue 24): the machine ran slower than the run before's, its floor
94.1 ms against 63.2 ms, so compare ratios. From the index `list --due 2005` takes 4.41x the
floor and `list --upcoming 1y` 4.87x (4.14x and 4.47x the run before); side by side with stop
41's code (97e3600), fifteen interleaved pairs of `list --due 2005` from the index, 1.00x.
Composing each entry alone takes 4.14 s here; `list` with no cache 1.24x it, validate with
no cache 1.22x, `list` with no cache on one core 2.04x. This section was measured at
c8b3df5's code.

This run (2b9a924's code, issue 24) is on another machine, an AMD EPYC (the run before's was
an Intel Xeon), whose floor reads 83.5 ms: from the index `list --due 2005` takes 0.334 s
(4.00x the floor) and `list --upcoming 1y` 0.447 s (5.36x). Composing each entry alone takes
4.11 s; `list` with no cache 1.35x it (1.24x the run before) and validate with no cache 1.18x.
This stop changed how a series is expanded (an estimate between two known occurrences lies
between them, and expansion goes on while a known occurrence after could still start by the
bound: 29cd7ac): side by side with stop 42's code (6568f87), `list --due 2005` with no cache
at 100,000 entries takes 1.00x the time (five interleaved pairs, 4.05 s against 3.92 s), so the
ratio's rise is this run's machine, not the code.

This run (18dc604's code, issue 24), on an Intel Xeon whose floor reads 61.6 ms: from the
index `list --due 2005` takes 0.266 s (4.30x the floor) and `list --upcoming 1y` 0.275 s, within
0.3 s. A new row sets a cold read beside less than any reader through PyYAML can do: its C
parser handing over the register's events, no node made (2.64 s at 100,000 entries). `list`
with no cache takes 1.59x it and validate with no cache 1.40x; composing each entry with its
places, which every problem's line and column need, takes 3.00 s. So the 2 s target for `list`
with no cache lies below what PyYAML alone takes, and the 3 s for validate at what composing
alone takes: neither can be met by a reader on PyYAML (issue 24 is marked blocked on this).
This stop added checks to the read (a YAML tag on a value, NEL, LS and PS written raw, an area's
key too long for its feed's file name, a rule picking dates finer than its start) and reads an
area or actor named twice once: side by side with stop 43's code (61db651), validate with no
cache at 100,000 entries takes 1.03x the time (fourteen interleaved pairs, 3.60 s against 3.54
s), the cost of those checks.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.generate import register_text
from bench.measure import FLOOR, FLOOR_CMD, TOOL, launch, remind
from calendar_tool import files

SIZES = (10_000, 100_000)
RUNS = 5
COLD_RUNS = 3
TODAY = "2026-12-02"
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_ENTRY = re.compile(r"^  - id: ", re.M)


@dataclass
class Case:
    """A command to measure: run in turns with the others, `before` (untimed) ahead of each
    run."""

    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    one_core: bool = False
    before: Callable[[], None] | None = None


def _measured(cases: dict[str, Case], runs: int) -> dict[str, tuple[float, float]]:
    """Median wall seconds and peak megabytes of each case, the cases run in turns (so that
    a machine getting busier or quieter moves them all), after one warm-up run of each."""
    seen: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for n in range(runs + 1):
        for name, case in cases.items():
            if case.before is not None:
                case.before()
            got = launch(case.cmd, case.env, case.one_core)
            if n:
                seen[name].append((got.wall, got.peak))
    return {name: (statistics.median(w for w, _ in got), statistics.median(p for _, p in got))
            for name, got in seen.items()}


def _row(name: str, figure: float, unit: str, baseline: str, base: float | None
         ) -> dict[str, object]:
    return {"name": name, "figure": figure, "unit": unit, "baseline": baseline,
            "baseline_figure": base, "ratio": figure / base if base else 1.0}


def single_dates(text: str) -> str:
    """The register with its single-date entries only (no series, relative dates or standing
    obligations): the dates remind(1) is given too."""
    starts = [m.start() for m in _ENTRY.finditer(text)]
    chunks = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    kept = [c for c in chunks if "\n    date: " in c and "{from:" not in c]
    return text[:starts[0]] + "".join(kept)


def rem_lines(text: str) -> str:
    """One `REM` line per single-date entry, on the day `list` sorts it by (a deadline's due
    day, an event's first day)."""
    from calendar_tool.register import parse_register

    out = []
    for e in parse_register(text, "r.yaml").entries:
        if e.date is not None:
            d = e.date.due if e.kind.is_due else e.date.start
            out.append(f"REM {d.day} {_MONTHS[d.month - 1]} {d.year} MSG {e.id}: {e.title}")
    return "\n".join(out) + "\n"


def _edit(path: Path) -> Callable[[], None]:
    """Each call changes one entry's title back or forth: the next command reads an edit."""
    text = path.read_text()
    m = re.search(r"\n    title: (Generated commitment number \d+)", text[len(text) // 2:])
    assert m is not None
    at = len(text) // 2 + m.end(1)
    edited = text[:at] + " (edited)" + text[at:]
    flip = [edited, text]

    def change() -> None:
        flip.reverse()
        path.write_text(flip[0])

    return change


def _size(size: int, work: Path, rem: str | None) -> dict[str, tuple[float, float]]:
    """Every case for one generated register."""
    reg, single, rems = work / "r.yaml", work / "single.yaml", work / "single.rem"
    reg.write_text(register_text(size))
    single.write_text(single_dates(reg.read_text()))
    rems.write_text(rem_lines(single.read_text()))
    # A keeper's command comes seconds after their edit, not within the file system's tick:
    # the index then keeps the register's version, and the commands after it compare that
    # rather than hash the text (`files.read_settled`). "after an edit" below measures the
    # first command right after one.
    time.sleep(files.SETTLED_SECONDS)
    warm = {"CALENDAR_TOOL_CACHE": str(work / "cache")}
    cold = {"CALENDAR_TOOL_CACHE": "off"}
    due = [*TOOL, "--register", str(reg), "list", "--due", "2005", "--today", TODAY]
    upcoming = ["list", "--upcoming", "1y", "--today", TODAY]
    cases = {
        "floor": Case(FLOOR_CMD), "floor, one core": Case(FLOOR_CMD, one_core=True),
        "due": Case(due, warm), "due, one core": Case(due, warm, True),
        "upcoming": Case([*TOOL, "--register", str(reg), *upcoming], warm),
        "review": Case([*TOOL, "--register", str(reg), "review", "--today", TODAY], warm),
        "validate": Case([*TOOL, "--register", str(reg), "validate"], warm),
        "single": Case([*TOOL, "--register", str(single), *upcoming], warm),
    }
    if rem is not None:
        cases["remind -n"] = Case([rem, "-n", str(rems), TODAY])
    got = _measured(cases, RUNS)
    edited = work / "edited.yaml"
    edited.write_text(reg.read_text())
    got |= _measured({"edit": Case([*TOOL, "--register", str(edited), "list", "--due", "2005",
                                    "--today", TODAY], warm, before=_edit(edited))}, RUNS)
    slow = {"due, no cache": Case(due, cold), "due, no cache, one core": Case(due, cold, True),
            "validate, no cache": Case([*TOOL, "--register", str(reg), "validate"], cold),
            "single, no cache": Case([*TOOL, "--register", str(single), *upcoming], cold)}
    slow["compose"] = Case([*_COMPOSE, str(reg)])
    slow["parse"] = Case([*_PARSE, str(reg)])
    if rem is not None:
        slow["remind -s12"] = Case([rem, "-s12", str(rems), TODAY])
    return got | _measured(slow, COLD_RUNS)


# The rows of each size: (case, what it is, baseline case, baseline's name).
_AGAINST_FLOOR = [
    ("due", "list --due 2005, index", "floor", FLOOR),
    ("edit", "list --due 2005, first after a one-entry edit (index updated)", "floor", FLOOR),
    ("due, no cache", "list --due 2005, no cache", "floor", FLOOR),
    ("upcoming", "list --upcoming 1y, index", "floor", FLOOR),
    ("review", "review, index", "floor", FLOOR),
    ("validate", "validate, entry cache", "floor", FLOOR),
    ("validate, no cache", "validate, no cache", "floor", FLOOR),
    ("due, one core", "list --due 2005, index, one core (taskset -c 0)", "floor, one core",
     f"{FLOOR}, one core"),
    ("due, no cache, one core", "list --due 2005, no cache, one core (taskset -c 0)",
     "floor, one core", f"{FLOOR}, one core"),
]
_AGAINST_REMIND = [
    ("single", "list --upcoming 1y, index", "remind -n"),
    ("single, no cache", "list --upcoming 1y, no cache", "remind -n"),
    ("single", "list --upcoming 1y, index", "remind -s12"),
]
_GROWTH = ["due", "due, no cache", "upcoming", "review", "edit", "validate", "validate, no cache"]
# What a cold read costs before a field is looked at: libyaml composing each entry's text
# into nodes with their places, as the reader does (`register/compose`: the text split, each
# entry composed on its own, the collector paused), in one process, the nodes then dropped.
_COMPOSE = [sys.executable, "-c",
            "import gc, sys\n"
            "gc.disable()\n"
            "from calendar_tool.register.compose import compose, split_entries\n"
            "head, chunks = split_entries(open(sys.argv[1], encoding='utf-8').read())\n"
            "for chunk in chunks:\n"
            "    compose(chunk.text)\n"]
COMPOSED = "libyaml composing each entry alone, one process (register/compose)"
_AGAINST_COMPOSE = ["due, no cache", "validate, no cache", "due, no cache, one core"]
# Less than any reader built on PyYAML can do: its C parser handing over the register's
# events (3.9 million at 100,000 entries), none kept, no node made, nothing split.
_PARSE = [sys.executable, "-c",
          "import gc, sys, yaml\n"
          "gc.disable()\n"
          "for _ in yaml.parse(open(sys.argv[1], encoding='utf-8').read(), yaml.CSafeLoader):\n"
          "    pass\n"]
PARSED = "libyaml's events alone, no node made, one process (yaml.parse, CSafeLoader)"


def _rows(size: int, got: dict[str, tuple[float, float]],
          smaller: dict[str, tuple[float, float]] | None, missing: str) -> list[dict[str, object]]:
    n = f"{size:,} entries"
    rows = [_row(f"{what}, {n}", got[case][0] * 1000, "ms", base_name, got[base][0] * 1000)
            for case, what, base, base_name in _AGAINST_FLOOR]
    for case in _AGAINST_COMPOSE:
        what = next(w for c, w, _, _ in _AGAINST_FLOOR if c == case)
        rows.append(_row(f"{what}, {n}", got[case][0] * 1000, "ms", COMPOSED,
                         got["compose"][0] * 1000))
    for case in _AGAINST_COMPOSE[:2]:
        what = next(w for c, w, _, _ in _AGAINST_FLOOR if c == case)
        rows.append(_row(f"{what}, {n}", got[case][0] * 1000, "ms", PARSED,
                         got["parse"][0] * 1000))
    for case, what, base in _AGAINST_REMIND:
        label = f"{what}, the {n}' single-date entries only"
        if base in got:
            rows.append(_row(label, got[case][0] * 1000, "ms", f"{base} over the same dates",
                             got[base][0] * 1000))
        else:
            rows.append(_row(label, got[case][0] * 1000, "ms", f"{base}: not measured "
                             f"({missing})", None))
    if smaller is not None:
        tenth = f"same, {size // 10:,} entries"
        for case in _GROWTH:
            what = next(w for c, w, _, _ in _AGAINST_FLOOR if c == case)
            rows.append(_row(f"growth: {what}, {n}", got[case][0] * 1000, "ms", tenth,
                             smaller[case][0] * 1000))
    for case in ("due", "due, no cache", "edit"):
        what = next(w for c, w, _, _ in _AGAINST_FLOOR if c == case)
        peak = smaller[case][1] if smaller is not None else None
        rows.append(_row(f"peak memory (process tree), {what}, {n}", got[case][1], "MB",
                         f"same, {size // 10:,} entries" if peak else "(smallest size here)",
                         peak))
    return rows


def run() -> list[dict[str, object]]:
    rem, missing = remind()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = {"CALENDAR_TOOL_CACHE": str(Path(tmp) / "real-cache")}
        real = _measured({"floor": Case(FLOOR_CMD),
                          "due": Case([*TOOL, "list", "--due", "2005"], cache)}, 15)
        rows.append(_row("list --due 2005, index, obligations.yaml (99 entries)",
                         real["due"][0] * 1000, "ms", FLOOR, real["floor"][0] * 1000))
        smaller = None
        for size in SIZES:
            work = Path(tmp) / str(size)
            work.mkdir()
            got = _size(size, work, rem)
            rows += _rows(size, got, smaller, missing)
            smaller = got
            print(f"listing: {size:,} entries done", file=sys.stderr)  # noqa: T201
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)  # noqa: T201
