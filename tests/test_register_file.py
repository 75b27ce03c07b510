"""The register file under a long-running process: read again only when it changes, the last
good version kept while it has problems or is gone, one reading shared by the scheduler and
the server of `run --serve`."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from calendar_tool import delivery, heap
from calendar_tool.clock import FixedClock
from calendar_tool.errors import RegisterInvalid, RegisterNotFound
from calendar_tool.model import Entry, Register
from calendar_tool.register import RegisterFile
from calendar_tool.scheduler import Options, Runner
from calendar_tool.store import Engine
from tests.registers import HEADER, entry

GOOD = HEADER + entry("a", "2030-06-30")


def _register(source: RegisterFile) -> Register:
    """The register `source` reads now, which must have validated."""
    register = source.current().register
    assert register is not None
    return register


def _write(path: Path, text: str, tick: int) -> None:
    """Write and give the file its own mtime, so no two versions share one clock tick."""
    path.write_text(text)
    os.utime(path, ns=(tick * 10**9, tick * 10**9))


def test_unchanged_file_is_not_read_again_and_problems_keep_the_last_good(
        tmp_path: Path) -> None:
    path = tmp_path / "obligations.yaml"
    _write(path, GOOD, 1)
    source = RegisterFile(path)
    first = source.current()
    assert first.ok and first.revision == hashlib.sha256(GOOD.encode()).hexdigest()[:12]
    assert source.current() is first  # one stat, no read

    broken = GOOD.replace("kind: deadline", "kind: bogus")
    _write(path, broken, 2)
    bad = source.current()
    assert bad.register is first.register and bad.served == first.revision
    assert isinstance(bad.failure, RegisterInvalid)
    line = broken.splitlines().index("    kind: bogus") + 1
    assert bad.problems == (
        f"{path}:{line}:11: entries[0].kind: 'bogus' is not one of: deadline, target, "
        "report, period, event, session, standing",)

    path.unlink()
    gone = source.current()
    assert (gone.revision, gone.register, gone.error) == (
        None, first.register, f"no register at {str(path)!r}: give --register PATH or set "
        "CALENDAR_TOOL_REGISTER")
    assert isinstance(gone.failure, RegisterNotFound)

    _write(path, GOOD, 3)
    back = source.current()
    assert back.ok and back.register is first.register  # same bytes: not parsed again


def test_each_read_and_only_a_read_goes_through_reading(tmp_path: Path) -> None:
    """What a shell gives as `reading` (`heap.kept` in `run` and `serve`) is entered around
    each read of new text, whether it validates or not, and never when the file is unchanged:
    freezing on every request would freeze what a request leaves behind."""
    entered: list[Path] = []

    @contextlib.contextmanager
    def reading() -> Iterator[None]:
        entered.append(path)
        yield

    path = tmp_path / "obligations.yaml"
    _write(path, GOOD, 1)
    source = RegisterFile(path, reading=reading)
    assert source.current().ok and len(entered) == 1
    source.current()
    assert len(entered) == 1
    _write(path, GOOD.replace("kind: deadline", "kind: bogus"), 2)
    assert not source.current().ok and len(entered) == 2
    source.current()
    _write(path, GOOD.replace("2030-06-30", "2031-06-30"), 3)
    assert source.current().ok and len(entered) == 3
    # With heap.kept, what the read made is frozen: out of the collector's passes.
    frozen = gc.get_freeze_count()
    try:
        register = RegisterFile(path, reading=heap.kept).current().register
        assert register is not None and gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()


def test_run_serve_reads_an_edit_once_for_the_scheduler_and_the_server(
        engine: Engine, tmp_path: Path) -> None:
    """The server's reading of an edit is the register the scheduler then takes."""
    path = tmp_path / "obligations.yaml"
    _write(path, GOOD, 1)
    source = RegisterFile(path)
    with delivery.Senders(5) as client:
        runner = Runner(engine, client, FixedClock(datetime(2027, 1, 1, tzinfo=UTC)), source,
                        Options(tmp_path / "feeds", "http://127.0.0.1:8000"))
        runner.start()
        assert runner.register is source.current().register
        _write(path, GOOD.replace("Title of a", "Renamed a"), 2)
        served = source.current().register  # a request to the server reads it first
        assert runner.reload() is True
        assert runner.register is served
        assert runner.reload() is False


def test_a_first_start_on_a_missing_register_says_how_to_name_one(
        engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with delivery.Senders(5) as client:
        runner = Runner(engine, client, FixedClock(datetime(2027, 1, 1, tzinfo=UTC)), path,
                        Options(tmp_path / "feeds", "http://127.0.0.1:8000"))
        with pytest.raises(RegisterNotFound) as info:
            runner.start()
    assert str(info.value) == (f"no register at {str(path)!r}: give --register PATH or set "
                               "CALENDAR_TOOL_REGISTER")
    assert not (tmp_path / "feeds").exists()


def test_the_first_read_reuses_the_entries_it_is_given(tmp_path: Path) -> None:
    """What `run` does with the entry cache: entries given by their text are not read
    again; only the first read uses them, later reads reuse the last one."""
    from dataclasses import replace

    from calendar_tool.register import parse_located
    from calendar_tool.register.cache import cache_file, write

    path = tmp_path / "obligations.yaml"
    a, b = entry("a", "2030-06-30"), entry("b", "2031-06-30")
    _write(path, HEADER + a + b, 1)
    kept = parse_located(HEADER + a + b).reusable()
    # Another title for the text of `a` in the entry cache: only reuse can show it.
    folder = tmp_path / "cache"
    write(cache_file(folder, path), {a: replace(kept[a], title="kept title"), b: kept[b]})
    source = RegisterFile(path, folder)
    assert [e.title for e in _register(source).entries] == ["kept title", "Title of b"]

    _write(path, HEADER + a + entry("b", "2032-06-30"), 2)
    again = _register(source)
    assert [e.title for e in again.entries] == ["kept title", "Title of b"]
    assert again.entries[1].date is not None and again.entries[1].date.iso() == "2032-06-30"


def test_a_first_read_the_cache_had_little_of_is_kept_for_the_next_start(
        tmp_path: Path) -> None:
    """`run` started on a register its entry cache has little or nothing of (a new cache
    folder, a new version of the tool) keeps the entries it read, so that its next start
    reuses them rather than reading every entry again; a first read the cache had all of
    leaves the file as it is."""
    from calendar_tool.register.cache import cache_file, read

    path, folder = tmp_path / "obligations.yaml", tmp_path / "cache"
    _write(path, HEADER + entry("a", "2030-06-30") + entry("b", "2031-06-30"), 1)
    first = _register(RegisterFile(path, folder))
    assert sorted(e.id for e in read(cache_file(folder, path))[0].values()) == ["a", "b"]
    written = cache_file(folder, path).stat().st_mtime_ns

    again = _register(RegisterFile(path, folder))
    assert again.entries == first.entries
    assert cache_file(folder, path).stat().st_mtime_ns == written


def test_the_dates_kept_across_edits_are_those_of_the_last_good_read(tmp_path: Path) -> None:
    """What resolving keeps from one read to the next (a series' dates, a relative date)
    holds the entries of the register read last, and no others: after an edit it forgets the
    entries the edit replaced, after an edit that failed it also forgets what the failed text
    left. (Reached into, as nothing else shows what a long-running process holds.)"""
    series = entry("s", "", kind="session", extra="series: {rule: FREQ=YEARLY, start: 2000}"
                   ).replace("    date: \n", "")
    text = HEADER + entry("a", "2005") + entry("b", "{from: a, offset: P1M}") + series + \
        entry("r", "{from: s#3, offset: -P6W}")
    path = tmp_path / "obligations.yaml"
    _write(path, text, 1)
    source = RegisterFile(path)

    def held() -> set[str]:
        dates = source._dates
        return {cast(Entry, e).id
                for e, *_ in (*dates._series.values(), *dates._relative.values())}

    assert source.current().ok and held() == {"b", "s", "r"} and len(source._dates) == 3
    kept = {e.id: e for e in _register(source).entries}

    _write(path, text.replace("Title of r", "Title of r, edited"), 2)
    edited = source.current()
    assert edited.ok and edited.edit is not None and held() == {"b", "s", "r"}
    assert len(source._dates) == 3
    assert edited.register is not None
    assert edited.register.entry("r") is not kept["r"] and edited.register.entry("s") is kept["s"]

    _write(path, text.replace("Title of s", "Title of s, edited").replace("P6W", "P3000Y"), 3)
    assert not source.current().ok  # its new `s` was resolved before the checks failed
    _write(path, text.replace("Title of b", "Title of b, edited"), 4)
    again = source.current()
    assert again.ok and held() == {"b", "s", "r"} and len(source._dates) == 3

    _write(path, text.replace(entry("b", "{from: a, offset: P1M}"), ""), 5)
    assert source.current().ok and held() == {"s", "r"} and len(source._dates) == 2
