"""The date index: every query answered from it equals the answer computed from the register
without it (the JSON of `list` and `review`, byte for byte), after any edit; a stale,
truncated, foreign or damaged index is never trusted; an edit rebuilds only what it reached."""

from __future__ import annotations

import gc
import json
import os
import re
import tempfile
import time
import zlib
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import register_text
from calendar_tool import files, listing
from calendar_tool.errors import RegisterInvalid, UsageError
from calendar_tool.model import Occurrence, Register
from calendar_tool.register import (
    RegisterFile,
    dated,
    held_count,
    held_pick,
    held_select,
    held_used,
    parse_located,
    parse_register,
)
from calendar_tool.register import index as date_index
from calendar_tool.register.index import DateIndex, index_file, reached_since
from calendar_tool.timeline import Query, ReviewItem, list_query, parse_span, review, select
from tests.conftest import CLI
from tests.paths import REGISTER, SAMPLE
from tests.registers import HEADER, entry

# What `list` and `review` are asked, on days before, among and after the register's dates.
QUERIES: list[dict[str, Any]] = [
    {}, {"due": "2005"}, {"due": "2001..2003"}, {"from_": "2004-06"}, {"until": "2002-03"},
    {"upcoming": "90d"}, {"upcoming": "1y", "kinds": ["session", "event"]},
    {"upcoming": "6m", "states": ["open"]}, {"overdue": True},
    {"due": "2000..2010", "areas": ["trafficking"]}, {"due": "2035..2040"},
    {"from_": "2002", "until": "2099"}, {"actors": ["member-states"], "kinds": ["target"]},
]
TODAYS = (date(2001, 6, 1), date(2026, 12, 2))
WITHIN = ("180d", "1y")


def _json(found: list[Occurrence], reg: Register) -> str:
    """What `list --format json` prints, but for the indentation (which json's C encoder
    does not do: the same objects, encoded faster)."""
    return json.dumps([listing.occurrence_json(o, reg) for o in found], ensure_ascii=False)


def _review_json(found: list[ReviewItem], reg: Register) -> str:
    """What `review --format json` prints, but for the indentation."""
    return json.dumps([{**listing.occurrence_json(i.occurrence, reg), "reason": i.reason}
                       for i in found], ensure_ascii=False)


def _query(reg: Register, today: date, kwargs: dict[str, Any]) -> Any:
    try:
        return list_query(reg, today, **kwargs)
    except UsageError:  # an area this register does not declare
        return None


def _direct(text: str) -> dict[str, str]:
    """Every answer, computed from the register without an index."""
    reg = parse_register(text, "r.yaml")
    out = {}
    for today in TODAYS:
        for n, kwargs in enumerate(QUERIES):
            q = _query(reg, today, kwargs)
            if q is not None:
                out[f"{today} {n}"] = _json(select(reg, q, today), reg)
        for within in WITHIN:
            out[f"{today} review {within}"] = _review_json(
                review(reg, today, parse_span(within)), reg)
    return out


def _indexed(path: Path, folder: Path) -> dict[str, str]:
    """Every answer, from the index in `folder` (built or updated first if it is stale)."""
    out = {}
    for today in TODAYS:
        for n, kwargs in enumerate(QUERIES):
            dates = dated(path, folder)
            q = _query(dates.head, today, kwargs)
            if q is not None:
                out[f"{today} {n}"] = _json(dates.select(q, today), dates.head)
        for within in WITHIN:
            dates = dated(path, folder)
            out[f"{today} review {within}"] = _review_json(
                dates.review(today, parse_span(within)), dates.head)
    return out


def _held(reg: Register) -> dict[str, str]:
    """Every `list` answer of a register held in memory (`serve`), from its index there."""
    out = {}
    for today in TODAYS:
        for n, kwargs in enumerate(QUERIES):
            q = _query(reg, today, kwargs)
            if q is not None:
                out[f"{today} {n}"] = _json(held_select(reg, q, today), reg)
    return out


def _held_agrees(text: str) -> None:
    """What the page asks of a register held in memory agrees with `select`: the same
    occurrences in the same order (`held_pick`: counted, the dated ones first, told apart,
    the first few made), and each filter's count of dated occurrences up to the horizon
    (`held_count`: the events of that selection's feed)."""
    reg = parse_register(text, "r.yaml")
    for today in TODAYS:
        for kwargs in QUERIES:
            q = _query(reg, today, kwargs)
            if q is None:
                continue
            expected = select(reg, q, today)
            keys = [(o.entry.id, o.number) for o in expected]
            found = held_pick(reg, q, today)
            assert (len(found), found.dated, found.keys()) == \
                (len(expected), sum(o.when is not None for o in expected), set(keys))
            assert [o.id for o in found.first(3)] == [o.id for o in expected[:3]]
            assert [o.id for o in found.without(set(keys[::2])).first()] == \
                [o.id for o in expected[1::2]]
            filters = Query(areas=q.areas, actors=q.actors, kinds=q.kinds, states=q.states)
            assert held_count(reg, q, today) == \
                sum(o.when is not None for o in select(reg, filters, today))


# --- generated registers and random edits ----------------------------------------------------

_ENTRY = re.compile(r"^  - id: ", re.M)


def _entries(text: str) -> tuple[str, list[str]]:
    starts = [m.start() for m in _ENTRY.finditer(text)]
    head = text[:starts[0]]
    return head, [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def _edit(text: str, op: str, i: int, n: int) -> str:
    """One edit of the entry at `i` (modulo their number): what an admin does by hand."""
    head, chunks = _entries(text)
    i %= len(chunks)
    chunk = chunks[i]
    if op == "title":
        chunks[i] = re.sub(r"(\n    title: )", rf"\1Edited {n}: ", chunk, count=1)
    elif op == "year":
        chunks[i] = re.sub(r"\b(19|20)\d\d\b", lambda m: str(1990 + (int(m.group(0)) + n) % 45),
                           chunk, count=1)
    elif op == "delete":
        del chunks[i]
    elif op == "copy":
        chunks.append(re.sub(r"^  - id: (\S+)", rf"  - id: \1-copy{n}", chunk, count=1))
    elif op == "met":
        chunks[i] = chunk.rstrip("\n") + "\n    status: {state: met, date: 2004-05-01}\n"
    elif op == "move":
        chunks.insert(n % len(chunks), chunks.pop(i))
    elif op == "rule":
        chunks[i] = chunk.replace("FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=2", 1)
    return head + "".join(chunks)


def _bases() -> list[str]:
    return [REGISTER.read_text(), SAMPLE.read_text()]


_OPS = st.sampled_from(["title", "year", "delete", "copy", "met", "move", "rule"])


@st.composite
def _registers(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, int]]]:
    """A register (the real one, the sample, or a generated one) and edits to make in turn."""
    base = draw(st.one_of(st.sampled_from(_bases()),
                          st.integers(0, 10_000).map(lambda seed: register_text(40, seed))))
    edits = draw(st.lists(st.tuples(_OPS, st.integers(0, 10_000), st.integers(0, 10_000)),
                          min_size=1, max_size=4))
    return base, edits


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_registers())
def test_every_answer_from_the_index_is_the_answer_without_it(
        case: tuple[str, list[tuple[str, int, int]]]) -> None:
    """For generated registers and random edits, `list` (every kind of period and filter,
    with series reaching past the index's horizon) and `review` answered from the index, the
    file's (updated after each edit from the one before) and the one of a register held in
    memory (read afresh, and as `serve` reads it: made after each edit from the index of
    the register before), equal what the register gives without it, JSON for JSON; and so
    do the counts, first few and terms used that the page takes from the latter."""
    text, edits = case
    with tempfile.TemporaryDirectory() as tmp:
        path, folder = Path(tmp) / "r.yaml", Path(tmp) / "cache"
        source = RegisterFile(path)  # as `serve` reads it: each index from the one before
        for step, (op, i, n) in enumerate([("none", 0, 0), *edits]):
            edited = _edit(text, op, i, n) if step else text
            try:
                parse_register(edited, "r.yaml")
            except RegisterInvalid:
                continue  # an edit the register refuses: the admin undoes it
            text = edited
            path.write_text(text)
            os.utime(path, ns=(step * 10**9, step * 10**9))
            expected = _direct(text)
            assert _indexed(path, folder) == expected
            listed = {k: v for k, v in expected.items() if "review" not in k}
            assert _held(parse_register(text, "r.yaml")) == listed
            served = source.current().register
            assert served is not None and _held(served) == listed
            # What the page offers to filter by, from the index updated after the edit.
            assert held_used(served, TODAYS[1]) == (
                {a for e in served.entries for a in e.areas},
                {a for e in served.entries for a in e.actors}, {e.kind for e in served.entries})
            _held_agrees(text)


@pytest.mark.parametrize("name", ["real", "sample", "generated"])
def test_the_commands_print_the_same_with_the_index_as_without(
        name: str, cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`list` (json, csv, table) and `review` print byte for byte what they print with no
    cache folder, from a cold index and from a warm one."""
    text = {"real": REGISTER.read_text(), "sample": SAMPLE.read_text(),
            "generated": register_text(300, seed=11)}[name]
    path = tmp_path / "r.yaml"
    path.write_text(text)
    commands = [["list", "--today", "2026-12-02", "--format", "json"],
                ["list", "--today", "2026-12-02", "--overdue", "--format", "csv"],
                ["list", "--today", "2001-06-01", "--upcoming", "90d"],
                ["list", "--due", "2005", "--format", "json"],
                ["review", "--today", "2026-12-02", "--format", "json"],
                ["review", "--today", "2004-01-01", "--within", "1y"]]
    monkeypatch.setenv("CALENDAR_TOOL_CACHE", "off")
    off = [cli(*args, register=path) for args in commands]
    assert all(r.exit_code == 0 for r in off)
    monkeypatch.setenv("CALENDAR_TOOL_CACHE", str(tmp_path / "cache"))
    for _ in ("cold", "warm"):
        assert [cli(*args, register=path).stdout for args in commands] == [r.stdout for r in off]


def _ordered_series(entry_id: str, kind: str, known: str) -> str:
    """A yearly series from 2000 with the known occurrences `known` (YAML lines)."""
    return (f"  - id: {entry_id}\n    title: Series {entry_id}\n    kind: {kind}\n"
            "    series:\n      rule: FREQ=YEARLY\n      start: 2000\n      occurrences:\n"
            f"{known}    actors: [commission]\n    areas: [trafficking]\n"
            "    sources: [{doc: D/1, para: '1', quote: a quote}]\n")


def test_the_index_answers_as_the_register_where_dates_follow_numbers(tmp_path: Path) -> None:
    """Series with an estimate between two known occurrences (a session and a deadline),
    and one whose no. 3 "in 2001" starts before its no. 2 in September 2001: every answer
    from the index (the file's, and the one of a register held in memory) is the answer
    without it, and the window of 90 days from 1 June 2001 holds that no. 3 (expansion
    stopped at no. 2, past the window)."""
    between = "        2: {date: 2001-03}\n        4: {date: 2001-11}\n"
    text = HEADER + _ordered_series("between", "session", between) + \
        _ordered_series("due", "deadline", between) + \
        _ordered_series("year", "session", "        2: {date: 2001-09}\n"
                                            "        3: {date: 2001}\n")
    path = tmp_path / "r.yaml"
    path.write_text(text)
    expected = _direct(text)
    assert '"id": "year#3"' in expected[f"{TODAYS[0]} {QUERIES.index({'upcoming': '90d'})}"]
    assert _indexed(path, tmp_path / "cache") == expected
    assert _held(parse_register(text, "r.yaml")) == \
        {k: v for k, v in expected.items() if "review" not in k}


# --- what makes an index stale or unusable ----------------------------------------------------

def _register(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(HEADER + "".join(entries))
    return path


def _due(path: Path, folder: Path, period: str = "2005") -> list[str]:
    dates = dated(path, folder)
    today = date(2026, 12, 2)
    return [o.id for o in dates.select(list_query(dates.head, today, due=period), today)]


def _fresh(path: Path, folder: Path) -> DateIndex:
    """The index in `folder`, which must be the register's as it is now."""
    found = date_index._open(index_file(folder, path))
    assert found is not None and found.text == date_index.text_digest(path.read_bytes())
    return found


def test_a_current_index_answers_without_reading_the_register(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once written, the index answers alone, making an entry only of what it prints: the
    register's text is hashed, not read."""
    path, folder = _register(tmp_path, entry("a", "2005"), entry("b", "2006"),
                             entry("c", "{from: a, offset: -P1M}")), tmp_path / "cache"
    assert _due(path, folder) == ["c", "a"]
    made: list[int] = []
    blob = DateIndex.blob

    def counted(self: DateIndex, ref: int) -> bytes:
        made.append(ref)
        return blob(self, ref)

    monkeypatch.setattr(DateIndex, "blob", counted)
    monkeypatch.setattr(date_index, "_load", lambda *args: pytest.fail("the register was read"))
    assert _due(path, folder) == ["c", "a"]
    assert sorted(made) == [0, 2]


def test_an_edit_makes_the_index_stale(tmp_path: Path) -> None:
    """The index is of one text: the next command after an edit answers for the new one."""
    path, folder = _register(tmp_path, entry("a", "2005"), entry("b", "2006")), tmp_path / "c"
    assert _due(path, folder) == ["a"]
    path.write_text(HEADER + entry("a", "2007") + entry("b", "2005"))
    assert _due(path, folder) == ["b"]
    assert _fresh(path, folder).text == date_index.text_digest(path.read_bytes())


def _later(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    """Commands read the register `seconds` from now, as far as its settling goes."""
    shifted = partial(files.read_settled, now=lambda: time.time_ns() + seconds * 10**9)
    monkeypatch.setattr(date_index, "read_settled", shifted)


def _hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The registers hashed by the commands from now on."""
    hashed: list[Path] = []
    digest = date_index._file_digest

    def counted(path: Path) -> str:
        hashed.append(path)
        return digest(path)

    monkeypatch.setattr(date_index, "_file_digest", counted)
    return hashed


def _next_tick(path: Path) -> None:
    """Wait until a write to `path` gets a change time other than its own now (the file
    system's clock moves in ticks of a few milliseconds)."""
    before = path.stat().st_ctime_ns
    while True:
        os.utime(path)
        if path.stat().st_ctime_ns != before:
            return


def test_a_settled_register_is_known_by_its_version_until_any_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A register that stood unchanged for two seconds when its index was written is known
    by its file's version (modification and change time, size, inode) afterwards: not
    hashed. Any write changes the version, even one of the same size with its modification
    time set back: the next command hashes the text and answers for the new one."""
    path, folder = _register(tmp_path, entry("a", "2005"), entry("b", "2006")), tmp_path / "c"
    _later(monkeypatch, 60)
    assert _due(path, folder) == ["a"]
    assert _fresh(path, folder).seen == files.version(path.stat())
    hashed = _hashes(monkeypatch)
    assert _due(path, folder) == ["a"]
    assert hashed == []
    old = path.stat()
    _next_tick(path)
    path.write_text(path.read_text().replace("2005", "2007").replace("2006", "2005"))
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (old.st_size, old.st_mtime_ns)
    assert _due(path, folder) == ["b"]
    assert hashed == [path]


def test_a_register_written_just_now_is_hashed_by_every_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two writes within one tick of the file system's clock can leave the same version: the
    index of a register written under two seconds before keeps no version of it."""
    path, folder = _register(tmp_path, entry("a", "2005"), entry("b", "2006")), tmp_path / "c"
    assert _due(path, folder) == ["a"]
    assert _fresh(path, folder).seen is None
    hashed = _hashes(monkeypatch)
    assert _due(path, folder) == ["a"]
    assert hashed == [path]


def _corrupt(target: Path, how: str) -> None:
    data = bytearray(target.read_bytes())
    if how == "truncated":
        del data[len(data) // 2:]
    elif how == "grown":
        data += b"\0" * 8
    elif how == "empty":
        data = bytearray()
    elif how == "garbage":
        data = bytearray(b"not an index at all" * 10)
    elif how == "header":
        data[20] ^= 0xFF
    elif how == "rows":
        start = 16 + int.from_bytes(data[8:12], "little")  # the first column, after the header
        data[start + (-start) % 8 + 3] ^= 0x01
    target.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "grown", "empty", "garbage", "header", "rows"])
def test_a_broken_index_is_built_again(tmp_path: Path, how: str) -> None:
    """A truncated, grown, emptied, overwritten or damaged index file is not read: the
    command answers from the register and writes the index again."""
    path, folder = _register(tmp_path, entry("a", "2005"), entry("b", "2006")), tmp_path / "c"
    assert _due(path, folder) == ["a"]
    target = index_file(folder, path)
    _corrupt(target, how)
    assert date_index._open(target) is None
    assert _due(path, folder) == ["a"]
    assert _fresh(path, folder).count == 2


def test_a_damaged_entry_in_the_index_is_found_when_it_is_read(tmp_path: Path) -> None:
    """Each pickled entry has its CRC-32: one damaged is found when a query reads it, and
    the index is built again from the register."""
    path, folder = _register(tmp_path, entry("a", "2005"), entry("b", "2006")), tmp_path / "c"
    _due(path, folder)
    target = index_file(folder, path)
    data = bytearray(target.read_bytes())
    quoted = data.index(b"Title of a")
    data[quoted] ^= 0x20
    target.write_bytes(bytes(data))
    assert _due(path, folder) == ["a"]
    assert date_index._open(target) is not None


def test_an_index_written_by_other_code_is_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The header names the format, the layout of numbers and a digest of the code: an index
    written by another version of the tool is built again."""
    path, folder = _register(tmp_path, entry("a", "2005")), tmp_path / "c"
    _due(path, folder)
    target = index_file(folder, path)
    data = target.read_bytes()
    size = int.from_bytes(data[8:12], "little")
    header = json.loads(data[16:16 + size])
    for field, value in (("code", "0" * 16), ("format", 0), ("layout", "big:i8")):
        other = json.dumps({**header, field: value}).encode("utf-8")
        other = other.ljust(size)  # the same length, so that the columns stay where they are
        target.write_bytes(data[:8] + len(other).to_bytes(4, "little")
                           + zlib.crc32(other).to_bytes(4, "little") + other + data[16 + size:])
        assert date_index._open(target) is None, field
    assert _due(path, folder) == ["a"]
    assert date_index._open(target) is not None


def test_an_unwritable_cache_folder_only_costs_time(tmp_path: Path) -> None:
    """When the index cannot be written, the command answers from the one it built."""
    path = _register(tmp_path, entry("a", "2005"))
    folder = tmp_path / "file-not-folder"
    folder.write_text("")
    assert _due(path, folder) == ["a"]


def test_a_register_with_problems_is_refused_as_before(tmp_path: Path) -> None:
    """An index is only ever of a register that validated: an edit that breaks it is
    reported, whatever index there is."""
    path, folder = _register(tmp_path, entry("a", "2005")), tmp_path / "c"
    _due(path, folder)
    path.write_text(HEADER + entry("a", "2005-13"))
    with pytest.raises(RegisterInvalid):
        dated(path, folder)


# --- what an edit reaches --------------------------------------------------------------------

_LINKED = [entry("a", "2005"), entry("b", "{from: a, offset: P1M}"),
           entry("c", "{from: b, offset: P1Y}"), entry("d", "2003"),
           entry("s", "", kind="session", extra="series: {rule: FREQ=YEARLY, start: 2000}"
                 ).replace("    date: \n", ""),
           entry("r", "{from: s#3, offset: -P6W}"), entry("e", "2001")]


def _reached(tmp_path: Path, old: str, new: str) -> set[str] | None:
    """What an edit of the linked register reaches, as the index update finds it."""
    path, folder = _register(tmp_path, *_LINKED), tmp_path / "c"
    _due(path, folder)
    before = _fresh(path, folder)
    text = path.read_text().replace(old, new, 1)
    located = parse_located(text, "r.yaml")
    digests = date_index.entry_digests(located)
    assert digests is not None
    return reached_since(before, located.register, digests, before.until)


@pytest.mark.parametrize(("old", "new", "reached"), [
    ("Title of d", "Title of d, edited", {"d"}),
    ("date: 2005", "date: 2004", {"a", "b", "c"}),  # b counts from a, c from b
    ("  - id: e\n", "  - id: e2\n", {"e", "e2"}),
    ("start: 2000}", "start: 2001}", {"s", "r"}),
    ("Title of c", "Title of c, edited", {"c"}),
])
def test_an_edit_reaches_what_counts_from_it(
        tmp_path: Path, old: str, new: str, reached: set[str]) -> None:
    """An edit reaches the entries whose text changed or went and, however indirectly,
    every entry whose date counts from one of those; nothing else is made again."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(date_index, "_UPDATE_PART", 1)  # any edit is an update here
        assert _reached(tmp_path, old, new) == reached


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[list[int] | None]:
    """The places of the entries whose rows each index build makes (None: every entry)."""
    calls: list[list[int] | None] = []
    rows = date_index.register_rows

    def spy(register: Register, until: date, only: Any = None) -> Any:
        calls.append(None if only is None else sorted(only))
        return rows(register, until, only)

    monkeypatch.setattr(date_index, "register_rows", spy)
    return calls


def test_an_update_makes_only_what_the_edit_reached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: list[list[int] | None]) -> None:
    """The index updated after an edit keeps the rows and pickled entries of what the edit
    did not reach, and answers as an index built from the register alone."""
    monkeypatch.setattr(date_index, "_UPDATE_PART", 1)
    path, folder = _register(tmp_path, *_LINKED), tmp_path / "c"
    _due(path, folder)
    path.write_text(path.read_text().replace("date: 2005", "date: 2004", 1))
    assert _due(path, folder, "2000..2031") == _due(path, tmp_path / "other", "2000..2031")
    assert made == [None, [0, 1, 2], None]
    assert _indexed(path, folder) == _direct(path.read_text())


def test_derivations_left_behind_by_edits_are_dropped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each edit of a relative date leaves its old derivation in the index; once those no
    row uses outnumber the rest, an update renumbers what is left, answering the same."""
    monkeypatch.setattr(date_index, "_UPDATE_PART", 1)
    monkeypatch.setattr(date_index, "_UNUSED_DERIVATIONS", 0)
    path, folder = _register(tmp_path, *_LINKED), tmp_path / "c"
    _due(path, folder)
    counts = []
    for months in range(2, 8):
        path.write_text(re.sub(r"offset: P\d+M", f"offset: P{months}M", path.read_text()))
        _due(path, folder)
        counts.append(len(_fresh(path, folder).derivations()))
        assert _indexed(path, folder) == _direct(path.read_text())
    # Five in use: two more left behind by each edit, dropped once they outnumber those.
    assert counts == [7, 9, 5, 7, 9, 5]


def test_an_edit_of_the_head_or_of_many_entries_builds_anew(
        tmp_path: Path, made: list[list[int] | None]) -> None:
    """An edit outside the entries (vocabulary, documents: an urgent commitment's date comes
    from its document's) or reaching more than a tenth of them builds the index anew."""
    path, folder = _register(tmp_path, *_LINKED), tmp_path / "c"
    _due(path, folder)
    path.write_text(path.read_text().replace("date: 2005", "date: 2004", 1))  # 3 of 7
    _due(path, folder)
    path.write_text(path.read_text().replace("A document", "The document"))
    _due(path, folder)
    assert made == [None, None, None]


def test_a_query_past_the_horizon_extends_the_index(tmp_path: Path) -> None:
    """A series is kept up to the end of the year five years after today; a query reaching
    further extends it (every series made again), and one past 25 years is answered from
    the register, leaving the index as it was."""
    path, folder = _register(tmp_path, *_LINKED), tmp_path / "c"
    assert "s#30" in _due(path, folder, "2029")
    assert _fresh(path, folder).until == date(2031, 12, 31)
    assert "s#41" in _due(path, folder, "2040")
    assert _fresh(path, folder).until == date(2040, 12, 31)
    assert "s#61" in _due(path, folder, "2060")
    assert _fresh(path, folder).until == date(2040, 12, 31)


def test_an_edit_read_under_serve_updates_the_index_in_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a one-entry edit read by the RegisterFile `serve` holds, the new register's index
    in memory is made from the one before (only the entry edited made again), and answers
    as the register does; an edit outside the entries builds it anew."""
    path = tmp_path / "r.yaml"
    text = register_text(200, 3)
    path.write_text(text)
    source = RegisterFile(path)
    today = date(2026, 12, 2)
    first = source.current().register
    assert first is not None
    q = list_query(first, today, upcoming="1y")
    held_select(first, q, today)
    path.write_text(_edit(text, "year", 7, 3))
    os.utime(path, ns=(10**9, 10**9))
    edited = source.current().register
    assert edited is not None and edited is not first

    def anew(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("built anew")

    with monkeypatch.context() as m:
        m.setattr(date_index, "contents", anew)
        assert _json(held_select(edited, q, today), edited) == \
            _json(select(edited, q, today), edited)
    path.write_text(_edit(text, "year", 7, 3).replace("Generated register", "Renamed"))
    os.utime(path, ns=(2 * 10**9, 2 * 10**9))
    renamed = source.current().register
    assert renamed is not None
    with monkeypatch.context() as m, pytest.raises(AssertionError, match="built anew"):
        m.setattr(date_index, "contents", anew)
        held_select(renamed, q, today)


def test_the_index_of_a_register_in_memory_goes_with_it() -> None:
    """`serve`'s index is made once per register read and dropped with the register."""
    reg = parse_register(HEADER + "".join(_LINKED), "r.yaml")
    today = date(2026, 12, 2)
    q = list_query(reg, today, upcoming="1y")
    assert [o.id for o in held_select(reg, q, today)] == ["s#27", "s#28"]
    assert id(reg) in date_index._HELD
    key = id(reg)
    del reg
    gc.collect()
    assert key not in date_index._HELD
