"""Entries kept on disk between commands: reused for the same text and the same code only."""

from __future__ import annotations

import dataclasses
import os
import pickle
import pickletools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from calendar_tool import wording
from calendar_tool.config import Settings
from calendar_tool.model import Revision
from calendar_tool.register import cache as entry_cache
from calendar_tool.register import forked, parse_register, pickles
from calendar_tool.register.cache import cache_file, read, stamp
from calendar_tool.register.cache import load as load_cached
from calendar_tool.timeline import occurrences, resolver_for
from tests.conftest import CLI
from tests.paths import REGISTER
from tests.registers import HEADER, entry


def _register(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "obligations.yaml"
    path.write_text(HEADER + "".join(entries))
    return path


def _poison(kept: Path, text: str, title: str, code: str | None = None) -> None:
    """Rewrite the kept entry for `text` with another title: only reuse can show it."""
    entries, dates = read(kept)
    entries[text] = replace(entries[text], title=title)
    kept.write_bytes(pickle.dumps({"stamp": code or stamp(), "parts": 1})
                     + pickle.dumps((entries, dates)))


def test_kept_entries_are_reused_for_the_same_text_only(tmp_path: Path) -> None:
    a, b = entry("a", "2005"), entry("b", "2006")
    path, folder = _register(tmp_path, a, b), tmp_path / "cache"
    assert [e.title for e in load_cached(path, folder).register.entries] == \
        ["Title of a", "Title of b"]
    kept = cache_file(folder, path)
    assert set(read(kept)[0]) == {a, b}

    _poison(kept, a, "kept title")
    assert [e.title for e in load_cached(path, folder).register.entries] == \
        ["kept title", "Title of b"]

    # Editing the entry's text is what invalidates it; the file then keeps the new text only.
    edited = a.replace("Title of a", "Title of a, edited")
    path.write_text(HEADER + edited + b)
    assert [e.title for e in load_cached(path, folder).register.entries] == \
        ["Title of a, edited", "Title of b"]
    assert set(read(kept)[0]) == {edited, b}


def test_equal_sources_and_lists_are_one_object_read_cold_or_from_the_cache(tmp_path: Path
                                                                           ) -> None:
    """Entries that cite the same source, or name the same areas and actors, share one
    object for it, read cold and read back from the entry cache: a register repeats them
    thousands of times, and each copy is memory a process holding the entries keeps. A
    source that differs in any field is its own object."""
    other = entry("c", "2007").replace("para: '1'", "para: '2'")
    path, folder = _register(tmp_path, entry("a", "2005"), entry("b", "2006"), other), \
        tmp_path / "cache"
    for _ in ("cold", "from the cache"):
        a, b, c = load_cached(path, folder).register.entries
        assert a.sources is b.sources and a.sources[0] is b.sources[0]
        assert (a.areas, a.actors) == (("trafficking",), ("member-states",))
        assert a.areas is b.areas is c.areas and a.actors is b.actors is c.actors
        assert c.sources[0].para == "2" and c.sources[0] is not a.sources[0]
    assert len(read(cache_file(folder, path))[0]) == 3


def test_a_file_from_other_code_or_a_broken_one_is_ignored(tmp_path: Path) -> None:
    a = entry("a", "2005")
    path, folder = _register(tmp_path, a), tmp_path / "cache"
    load_cached(path, folder)
    kept = cache_file(folder, path)
    _poison(kept, a, "kept by other code", code="0" * 16)
    assert load_cached(path, folder).register.entries[0].title == "Title of a"

    kept.write_bytes(b"\x80\x05 not a pickle")
    assert load_cached(path, folder).register.entries[0].title == "Title of a"
    assert set(read(kept)[0]) == {a}  # written again, whole


def test_a_large_cache_is_pickled_in_halves_by_two_processes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many entries are pickled half by a forked process; the file reads back whole, and if
    the forked process fails the first pickles its half as well."""
    texts = [entry(f"e{i}", str(2000 + i)) for i in range(6)]
    path, folder = _register(tmp_path, *texts), tmp_path / "cache"
    monkeypatch.setattr(entry_cache, "_APART_FROM", 0)
    monkeypatch.setattr(forked, "available", lambda: True)  # on a machine of one core too
    load_cached(path, folder)
    kept = cache_file(folder, path)
    with kept.open("rb") as f:
        assert pickle.load(f) == {"stamp": stamp(), "parts": 2}
        assert list(pickle.load(f)[0]) == texts[:3]
        assert list(pickle.load(f)[0]) == texts[3:]
    assert [e.id for e in read(kept)[0].values()] == [f"e{i}" for i in range(6)]

    kept.unlink()
    parent, dumps = os.getpid(), pickles.dumps

    def failing_elsewhere(value: object) -> bytes:
        if os.getpid() != parent:
            raise MemoryError  # the forked process exits 1
        return dumps(value)

    monkeypatch.setattr(pickles, "dumps", failing_elsewhere)
    load_cached(path, folder)
    assert [e.id for e in read(kept)[0].values()] == [f"e{i}" for i in range(6)]


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    path = _register(tmp_path, entry("a", "2005"))
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    assert load_cached(path, blocked).register.entries[0].id == "a"


def test_the_cache_folder_setting() -> None:
    assert Settings.from_env({"CALENDAR_TOOL_CACHE": "/c"}).cache == Path("/c")
    assert Settings.from_env({"CALENDAR_TOOL_CACHE": "off", "HOME": "/h"}).cache is None
    assert Settings.from_env({"XDG_CACHE_HOME": "/x", "HOME": "/h"}).cache == \
        Path("/x/calendar-tool")
    assert Settings.from_env({"HOME": "/h"}).cache == Path("/h/.cache/calendar-tool")
    assert Settings.from_env({}).cache is None


def test_commands_keep_the_entries_they_read(cli: CLI, tmp_path: Path) -> None:
    folder = Path(Settings.from_env().cache or "")
    path = _register(tmp_path, entry("a", "2005"), entry("b", "2006"))
    result = cli("validate", register=path)
    assert result.exit_code == 0, result.output
    assert set(read(entry_cache.cache_file(folder, path))[0]) == \
        {entry("a", "2005"), entry("b", "2006")}


def test_a_few_edits_leave_the_file_and_more_rewrite_it(tmp_path: Path) -> None:
    texts = [entry(f"e{i}", "2005") for i in range(300)]
    path, folder = _register(tmp_path, *texts), tmp_path / "cache"
    load_cached(path, folder)
    kept = cache_file(folder, path)
    before = kept.read_bytes()

    # Up to 1 entry in 100 read again on each command costs less than rewriting them all.
    edited = [t.replace("Title of", "Edited title of") for t in texts[:3]]
    path.write_text(HEADER + "".join(edited + texts[3:]))
    titles = [e.title for e in load_cached(path, folder).register.entries]
    assert titles[:4] == ["Edited title of e0", "Edited title of e1", "Edited title of e2",
                          "Title of e3"]
    assert kept.read_bytes() == before

    edited = [t.replace("Title of", "Edited title of") for t in texts[:4]]
    path.write_text(HEADER + "".join(edited + texts[4:]))
    assert load_cached(path, folder).register.entries[3].title == "Edited title of e3"
    assert set(read(kept)[0]) == {*edited, *texts[4:]}


def test_kept_dates_come_back_with_the_entries_and_follow_a_moved_anchor(tmp_path: Path
                                                                         ) -> None:
    series = entry("s", "x", kind="session").replace(
        "    date: x\n", "    series: {rule: FREQ=YEARLY, start: 2001-05-08}\n")
    report = entry("r", "{from: s#3, offset: -P1M}")
    path, folder = _register(tmp_path, series, report), tmp_path / "cache"
    load_cached(path, folder)
    _, kept = read(cache_file(folder, path))
    # What resolving found is kept with the entries: the next command does not redo it.
    series_dates, _ = kept[series]
    _, (_, resolved) = kept[report]
    assert sorted(series_dates) == [1, 2, 3]
    # No. 3 is estimated in May 2003 (the rule names no day), a month before is April.
    assert resolved.value.iso() == "2003-04"
    # Read back as the entries are (see the test below), not with a dict of its own each.
    assert type(resolved).__name__ == "Resolved"
    assert not hasattr(resolved, "__dict__")

    moved = series.replace("2001-05-08", "2002-05-08")
    path.write_text(HEADER + moved + report)
    located = load_cached(path, folder)
    by_id = {o.id: o for o in occurrences(located.register, date(2010, 1, 1))}
    assert wording.when(by_id["r"]) == "by end of April 2004"


def _objects(value: object) -> Iterator[object]:
    """`value` and every dataclass object and tuple within it."""
    yield value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _objects(getattr(value, f.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _objects(item)


def test_entries_pickled_for_the_caches_come_back_equal_holding_their_own_fields() -> None:
    """The entry cache (whole) and the date index (one entry at a time) pickle entries so
    that each dataclass comes back made by its constructor, equal to the entry read; and
    every object an entry holds keeps its fields in slots, never in a dict of its own (which
    was about a sixth of the memory `run` holds for its entries)."""
    entries = list(parse_register(REGISTER.read_text()).entries)
    whole = pickles.loads(pickles.dumps(entries))
    alone = [pickles.entry(data) for data in pickles.each(entries)]
    assert whole == alone == entries
    found = [o for e in (*whole, *alone, *entries) for o in _objects(e)
             if dataclasses.is_dataclass(o)]
    # Every kind of object an entry holds is among them.
    assert {type(o).__name__ for o in found} == {
        "Entry", "DatedValue", "Source", "Status", "Series", "KnownOccurrence", "Relative",
        "Offset"}
    assert [o for o in found if hasattr(o, "__dict__")] == []


def test_pickle_rebuilds_the_model_by_its_constructors_too() -> None:
    """Pickled the plain way (a forked read sends entries back so, the run kept on disk holds
    revisions, the kept hashes resolved dates), the model's slotted types come back equal,
    each one a call of its constructor: no BUILD, which would run the `__setstate__` the
    dataclass decorator writes, setting one field at a time in Python."""
    register = parse_register(REGISTER.read_text())
    revision = Revision("sha256:0", 2, datetime(2025, 6, 1, tzinfo=UTC))
    resolved = resolver_for(register).resolve(
        next(e for e in register.entries if e.relative is not None))
    values = [list(register.entries), revision, resolved]
    data = pickle.dumps(values, pickle.HIGHEST_PROTOCOL)
    assert pickle.loads(data) == values
    ops = {op.name for op, _, _ in pickletools.genops(data)}
    assert "REDUCE" in ops
    assert "BUILD" not in ops
