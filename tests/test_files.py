"""Generated files are replaced atomically and only when their bytes change, whether they come
whole or in chunks (a feed, as it is assembled)."""

from __future__ import annotations

import errno
import itertools
import linecache
import os
import stat
import sys
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

import pytest

from bench.generate import register_text
from calendar_tool import files
from calendar_tool.feeds import ical
from calendar_tool.feeds.revisions import next_revisions
from calendar_tool.files import (
    Span,
    Written,
    copy_file,
    drafts,
    open_regular,
    replace_file,
    version_of,
    write_chunks_if_changed,
    write_if_changed,
)
from calendar_tool.register import parse_register
from calendar_tool.timeline import occurrences


def test_writes_new_file_readable_by_all(tmp_path: Path) -> None:
    """A new file is written, mode 644 so a web server can read it, with no temp file left."""
    path = tmp_path / "all.ics"
    assert write_if_changed(path, b"one") is True
    assert path.read_bytes() == b"one"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.ics"]


def test_same_bytes_leave_the_file_untouched(tmp_path: Path) -> None:
    """Equal bytes are not written: same inode, same modification time, and the folder
    untouched too (no temporary file made and removed in it)."""
    path = tmp_path / "all.ics"
    write_if_changed(path, b"one")
    os.utime(tmp_path, ns=(10**18, 10**18))  # a folder time no write of ours can leave
    before = path.stat()
    assert write_if_changed(path, b"one") is False
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert tmp_path.stat().st_mtime_ns == 10**18


def test_new_bytes_replace_the_file_in_one_step(tmp_path: Path) -> None:
    """Different bytes replace the file by rename (a new inode), never editing it in place."""
    path = tmp_path / "all.ics"
    write_if_changed(path, b"one")
    before = path.stat().st_ino
    assert write_if_changed(path, b"two") is True
    assert path.read_bytes() == b"two"
    assert path.stat().st_ino != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.ics"]


# --- bytes that come in chunks ---------------------------------------------------------------

def _names(folder: Path) -> list[str]:
    """Every name in the folder, temporary files (dot files) included."""
    return sorted(p.name for p in folder.iterdir())


def test_a_feed_in_chunks_is_written_as_calendar_bytes_joins_it(tmp_path: Path) -> None:
    """A generated feed of more than a thousand events, written from `ical.calendar_chunks`
    as it comes, is byte for byte `ical.calendar_bytes` of the same events, mode 644, with
    no temp file left; written again from chunks, it is found unchanged."""
    register = parse_register(register_text(300), "generated.yaml")
    revs = next_revisions({}, register, datetime(2025, 6, 1, tzinfo=UTC))
    writer = ical.EventWriter(register)
    blocks = [writer.event_bytes(o, revs[o.entry.id])
              for o in occurrences(register, date(2031, 1, 1)) if o.when is not None]
    assert len(blocks) > 1000
    info = ical.FeedInfo("all", "Generated", "A generated register.")
    path = tmp_path / "all.ics"
    assert write_chunks_if_changed(path, ical.calendar_chunks(info, iter(blocks))) is True
    assert path.read_bytes() == ical.calendar_bytes(info, blocks)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    before = path.stat()
    assert write_chunks_if_changed(path, ical.calendar_chunks(info, iter(blocks))) is False
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _names(tmp_path) == ["all.ics"]


def test_equal_bytes_in_other_chunks_leave_the_file_untouched(tmp_path: Path) -> None:
    """What counts is the bytes, not where the chunks part them: no write, same inode and
    modification time, no temp file left."""
    path = tmp_path / "all.ics"
    write_if_changed(path, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    before = path.stat()
    chunks = [b"BEGIN:", b"", b"VCALENDAR\r\nEND", b":VCALENDAR\r\n"]
    assert write_chunks_if_changed(path, iter(chunks)) is False
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _names(tmp_path) == ["all.ics"]


MIB = 1 << 20


@pytest.mark.parametrize(("old", "new"), [
    (b"abc", b"abcd"),  # longer
    (b"abcd", b"abc"),  # shorter
    (b"abc", b"abd"),  # the same size
    (b"x" * (3 * MIB), b"x" * (2 * MIB) + b"y" + b"x" * (MIB - 1)),  # past the first piece
    (b"x" * (3 * MIB), b"x" * (3 * MIB - 1) + b"y"),  # the last byte
], ids=["longer", "shorter", "same-size", "third-mebibyte", "last-byte"])
def test_any_difference_is_written(tmp_path: Path, old: bytes, new: bytes) -> None:
    """Different bytes replace the file, whether the size differs or not and wherever the
    first difference is."""
    path = tmp_path / "all.ics"
    write_if_changed(path, old)
    assert write_chunks_if_changed(path, (new[i:i + 1000] for i in range(0, len(new), 1000))) \
        is True
    assert path.read_bytes() == new
    assert _names(tmp_path) == ["all.ics"]


def test_no_bytes_make_an_empty_file(tmp_path: Path) -> None:
    """No chunks at all still write the file when there is none; an empty one is then
    unchanged."""
    path = tmp_path / "empty.ics"
    assert write_chunks_if_changed(path, []) is True
    assert path.read_bytes() == b""
    assert write_chunks_if_changed(path, []) is False


class Broken(Exception):
    pass


def _failing(*chunks: bytes) -> Iterator[bytes]:
    yield from chunks
    raise Broken("the feed could not be assembled")


def test_a_failure_half_way_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    """Chunks that raise half way: the exception goes through, the old file keeps its bytes,
    inode and modification time, and no temporary file is left; where there was no file,
    none is made."""
    path = tmp_path / "all.ics"
    write_if_changed(path, b"old bytes")
    before = path.stat()
    with pytest.raises(Broken):
        write_chunks_if_changed(path, _failing(b"new ", b"bytes " * 100_000))
    after = path.stat()
    assert path.read_bytes() == b"old bytes"
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _names(tmp_path) == ["all.ics"]
    with pytest.raises(Broken):
        write_chunks_if_changed(tmp_path / "new.ics", _failing(b"new bytes"))
    assert _names(tmp_path) == ["all.ics"]


def test_a_cache_chunk_that_writes_itself_is_written_in_its_place(tmp_path: Path) -> None:
    """`replace_file` with a `Written` chunk (a pickle streamed into the file): its bytes lie
    between the chunks around it, the file is replaced in one step, owner-only as a cache is,
    and a writer that fails leaves the old file and no temporary file."""
    path = tmp_path / "run.pickle"
    replace_file(path, [b"old"])
    replace_file(path, [b"head;", Written(lambda f: f.write(b"streamed" * 3)), b";tail"])
    assert path.read_bytes() == b"head;streamedstreamedstreamed;tail"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def fail(f: BinaryIO) -> None:
        f.write(b"half")
        raise Broken

    with pytest.raises(Broken):
        replace_file(path, [b"new", Written(fail)])
    assert path.read_bytes() == b"head;streamedstreamedstreamed;tail"
    assert _names(tmp_path) == ["run.pickle"]


def _kernel(monkeypatch: pytest.MonkeyPatch, kernel: bool) -> None:
    """Without the kernel's copy, as across file systems on an old kernel."""
    if not kernel:
        def refuse(*_args: object) -> int:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        monkeypatch.setattr(os, "copy_file_range", refuse)


@pytest.mark.parametrize("kernel", [True, False], ids=["copy_file_range", "through Python"])
def test_a_copy_replaces_its_file_with_the_bytes_and_gives_its_version(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: bool) -> None:
    """`copy_file` replaces the copy with the source's bytes, whatever was there, and gives
    the version the copy has on disk; where the kernel cannot copy (another file system on
    an old kernel), the bytes go through the process, with the same result."""
    source = tmp_path / "all.ics"
    data = os.urandom(3 << 20) + b"END:VCALENDAR\r\n"
    source.write_bytes(data)
    copy = tmp_path / "cache" / "events.ics"
    copy.parent.mkdir()
    copy.write_bytes(b"an older and longer copy " * 200_000)
    _kernel(monkeypatch, kernel)
    with source.open("rb") as f:
        f.read(100)  # wherever the source was read to, the whole file is copied
        got = copy_file(f, copy)
    assert copy.read_bytes() == data
    assert got == version_of(copy)
    assert _names(copy.parent) == ["events.ics"]


@pytest.mark.parametrize("kernel", [True, False], ids=["copy_file_range", "through Python"])
def test_spans_are_copied_from_their_file_between_the_chunks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: bool) -> None:
    """A `Span` chunk is its file's bytes from where it says, between the chunks around it,
    however the source was read; the same chunks again leave the file untouched, the spans'
    bytes compared with the file's."""
    _kernel(monkeypatch, kernel)
    data = os.urandom(3 * MIB)
    (tmp_path / "old.ics").write_bytes(data)
    path = tmp_path / "all.ics"
    with (tmp_path / "old.ics").open("rb") as source:
        source.read(10)
        chunks: list[bytes | Span] = [
            b"head\r\n", Span(source, 100, 2 * MIB), b"between", Span(source, 0, 50),
            Span(source, 3 * MIB - 7, 7), b"end"]
        assert write_chunks_if_changed(path, iter(chunks)) is True
        assert path.read_bytes() == b"head\r\n" + data[100:100 + 2 * MIB] + b"between" + \
            data[:50] + data[-7:] + b"end"
        before = path.stat()
        assert write_chunks_if_changed(path, iter(chunks)) is False
        moved: list[bytes | Span] = [b"head\r\n", Span(source, 101, 2 * MIB), b"between"]
        assert write_chunks_if_changed(path, iter(moved)) is True
    after = path.stat()
    assert after.st_ino != before.st_ino
    assert path.read_bytes() == b"head\r\n" + data[101:101 + 2 * MIB] + b"between"
    assert _names(tmp_path) == ["all.ics", "old.ics"]


def test_a_span_of_the_file_replaced_is_that_file_as_it_was(tmp_path: Path) -> None:
    """Spans of the very file being replaced: where they are its own bytes in their place,
    the file is left untouched; otherwise the new file has the old one's bytes where the
    spans say, the old file being renamed over only once the new one is whole."""
    path = tmp_path / "all.ics"
    body = os.urandom(MIB)
    write_if_changed(path, b"head" + body + b"end")
    before = path.stat()
    with path.open("rb") as old:
        assert write_chunks_if_changed(path, [b"head", Span(old, 4, MIB), b"end"]) is False
        assert path.stat().st_mtime_ns == before.st_mtime_ns
        assert write_chunks_if_changed(
            path, [b"new head", Span(old, 4, 1000), b"+", Span(old, 1004, MIB - 1000), b"end"]
        ) is True
    assert path.read_bytes() == b"new head" + body[:1000] + b"+" + body[1000:] + b"end"


@pytest.mark.parametrize("kernel", [True, False], ids=["copy_file_range", "through Python"])
def test_a_span_past_the_end_of_its_file_fails_and_leaves_the_old_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: bool) -> None:
    """A span longer than what its file has left raises OSError (publishing reports it) and
    leaves the old file as it was, with no temporary file."""
    _kernel(monkeypatch, kernel)
    path = tmp_path / "all.ics"
    write_if_changed(path, b"old bytes")
    (tmp_path / "short").write_bytes(b"x" * 100)
    with (tmp_path / "short").open("rb") as source, pytest.raises(OSError, match="early"):
        write_chunks_if_changed(path, [b"head", Span(source, 50, 51)])
    assert path.read_bytes() == b"old bytes"
    assert _names(tmp_path) == ["all.ics", "short"]


# --- drafts: bytes that come to several files at once ----------------------------------------

def _drafted(tmp_path: Path, contents: dict[str, list[bytes]], commit: bool = True
             ) -> dict[str, bool]:
    """Write each file's pieces into its draft, interleaved as a first publish writes events
    into every feed they are in; whether each commit replaced its file."""
    paths = [tmp_path / name for name in contents]
    replaced = {}
    with drafts(paths) as made:
        for pieces in itertools.zip_longest(*contents.values()):
            for draft, piece in zip(made, pieces, strict=True):
                if piece is not None:
                    draft.file.write(piece)
        if commit:
            replaced = {d.path.name: d.commit() for d in made}
    return replaced


def test_drafts_replace_what_changed_and_leave_what_did_not(tmp_path: Path) -> None:
    """Each committed draft replaces its file when the bytes differ (a new inode, mode 644)
    and leaves it as it was when they are the same (inode and modification time kept), as
    `write_chunks_if_changed` does; no draft is left in the folder."""
    write_if_changed(tmp_path / "same.ics", b"one " * 300_000)
    write_if_changed(tmp_path / "other.ics", b"one " * 300_000)
    same, other = (tmp_path / "same.ics").stat(), (tmp_path / "other.ics").stat()
    replaced = _drafted(tmp_path, {"same.ics": [b"one " * 100_000] * 3,
                                   "other.ics": [b"one " * 100_000] * 2 + [b"two " * 100_000],
                                   "new.ics": [b"new"]})
    assert replaced == {"same.ics": False, "other.ics": True, "new.ics": True}
    after = (tmp_path / "same.ics").stat()
    assert (after.st_ino, after.st_mtime_ns) == (same.st_ino, same.st_mtime_ns)
    assert (tmp_path / "other.ics").stat().st_ino != other.st_ino
    assert (tmp_path / "other.ics").read_bytes() == b"one " * 200_000 + b"two " * 100_000
    assert stat.S_IMODE((tmp_path / "new.ics").stat().st_mode) == 0o644
    assert _names(tmp_path) == ["new.ics", "other.ics", "same.ics"]


def test_drafts_not_committed_are_removed_whatever_ends_them(tmp_path: Path) -> None:
    """Drafts left uncommitted, by a failure or by choice (an empty feed is not written),
    are removed and the files there left as they were; a folder in a file's place fails
    its commit and leaves no draft either."""
    write_if_changed(tmp_path / "all.ics", b"old bytes")
    before = (tmp_path / "all.ics").stat()
    with pytest.raises(Broken), drafts([tmp_path / "all.ics", tmp_path / "new.ics"]) as made:
        made[0].file.write(b"new bytes" * 100_000)
        raise Broken("the feed could not be assembled")
    _drafted(tmp_path, {"all.ics": [b"other bytes"], "new.ics": [b"x"]}, commit=False)
    after = (tmp_path / "all.ics").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _names(tmp_path) == ["all.ics"]
    (tmp_path / "folder.ics").mkdir()
    with pytest.raises(IsADirectoryError):
        _drafted(tmp_path, {"folder.ics": [b"bytes"]})
    assert _names(tmp_path) == ["all.ics", "folder.ics"]


class Interrupted(BaseException):
    """What SIGTERM raises in a command (SystemExit, `cli.base`), at a step a test chooses."""


# Where the steps are counted: this module's code, and `os` (whose `fdopen` it called).
_STEPPED = {files.__file__, os.__file__}


def _interrupted_at(step: int, action: Callable[[], object]) -> str | None:
    """Run `action`, raising Interrupted before its `step`-th instruction of bytecode in
    `_STEPPED` (from 0), as a signal's handler raises between two; the line of code it was
    raised at, or None if the action ended first. Anything else it raises goes on."""
    count = itertools.count()
    where: list[str] = []

    def each(frame: FrameType, event: str, _arg: object) -> Any:
        if event == "opcode" and next(count) == step:
            line = frame.f_lineno  # None in code of no line: a clean-up on the way out
            where.append(linecache.getline(frame.f_code.co_filename, line or 0).strip())
            raise Interrupted  # the tracer is unset as it raises: one interruption a run
        return each

    def enter(frame: FrameType, _event: str, _arg: object) -> Any:
        if frame.f_code.co_filename not in _STEPPED:
            return None
        frame.f_trace_opcodes = True
        return each

    # A file object the interruption dropped before anything held it closes itself, and
    # warns that it was left open: the warning of a process that is ending.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        sys.settrace(enter)
        try:
            action()
        except Interrupted:
            return where[0]
        finally:
            sys.settrace(None)
    return None


def _open_descriptors() -> set[int]:
    """The process's open descriptors (less that of the listing, closed once read)."""
    return {fd for fd in map(int, os.listdir("/proc/self/fd")) if _is_open(fd)}


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _leaks(before: set[int]) -> int:
    """How many descriptors are open that were not `before`; closed here."""
    left = _open_descriptors() - before
    for fd in left:
        os.close(fd)
    return len(left)


# The lines that may leave a descriptor open when interrupted: in `open_regular`, between
# `os.open`'s return and the `try` that closes it, and between the end of that `try` and the
# return that hands the descriptor to `open` (it needs flags that `open` does not give: a
# step of Python of its own). CPython runs a signal's handler right after a call returns,
# so the first can happen, as the process ends; the others cannot.
_OPENED = {"fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY)", "try:",
           "return fd  # nothing of Python runs between this step and the file that holds it"}


def test_an_interruption_at_any_step_of_drafts_leaves_nothing_and_is_what_ends_them(
        tmp_path: Path) -> None:
    """A first publish's drafts interrupted by SIGTERM exited 6, "cannot publish into
    'feeds': bad file descriptor", rather than 143 (CI, stop 42): the signal came right
    after `os.fdopen` made a draft's file object, which was dropped and closed the
    descriptor, and the clean-up closed it a second time. Interrupted before each of its
    steps in turn, a publish's drafts now end with the interruption itself, and leave no
    draft behind, no descriptor open (but at `_OPENED`), and each feed old or new."""
    write_if_changed(tmp_path / "same.ics", b"same")
    write_if_changed(tmp_path / "other.ics", b"old")

    def publish() -> None:
        with drafts([tmp_path / "same.ics", tmp_path / "other.ics"]) as made:
            for draft, data in zip(made, [b"same", b"new"], strict=True):
                draft.file.write(data)
                draft.commit()

    step, before, leaked_at = 0, _open_descriptors(), set()
    while (at := _interrupted_at(step, publish)) is not None:
        if _leaks(before):
            leaked_at.add(at)
        assert _names(tmp_path) == ["other.ics", "same.ics"], at
        assert (tmp_path / "same.ics").read_bytes() == b"same"
        assert (tmp_path / "other.ics").read_bytes() in (b"old", b"new"), at
        step += 1
    assert ((tmp_path / "other.ics").read_bytes(), leaked_at) == (b"new", _OPENED)
    assert step > 100  # it went through every step of the drafts' code, not a few


@pytest.mark.parametrize("published", [True, False], ids=["feed", "cache"])
def test_an_interruption_at_any_step_of_a_write_leaves_nothing_and_is_what_ends_it(
        tmp_path: Path, published: bool) -> None:
    """The same of a feed written alone (`write_chunks_if_changed`), which compares its
    bytes with the old file's (opened by `open_regular`), and of a cache file
    (`replace_file`), which does not."""
    path = tmp_path / "all.ics"

    def write() -> None:
        if published:
            write_chunks_if_changed(path, [b"n", b"ew"])
        else:
            replace_file(path, [b"n", b"ew"])

    write_if_changed(path, b"old")
    step, before, leaked_at = 0, _open_descriptors(), set()
    while (at := _interrupted_at(step, write)) is not None:
        if _leaks(before):
            leaked_at.add(at)
        assert _names(tmp_path) == ["all.ics"], at
        assert path.read_bytes() in (b"old", b"new"), at
        write_if_changed(path, b"old")
        step += 1
    assert (path.read_bytes(), leaked_at, step > 30) == \
        (b"new", _OPENED if published else set(), True)


def test_an_interruption_at_any_step_of_opening_a_regular_file_is_what_ends_it(
        tmp_path: Path) -> None:
    """`open_regular` closed the descriptor by hand if `os.fdopen` raised, after the file
    object made inside it had closed it already: EBADF in place of the interruption. Only
    the interruption now ends it, and no descriptor is left open but at `_OPENED`."""
    path = tmp_path / "all.ics"
    path.write_bytes(b"bytes")
    read: list[bytes] = []

    def read_it() -> None:
        with open_regular(path) as f:
            read.append(f.read())

    step, before, leaked_at = 0, _open_descriptors(), set()
    while (at := _interrupted_at(step, read_it)) is not None:
        if _leaks(before):
            leaked_at.add(at)
        step += 1
    assert (read, leaked_at, step > 20) == ([b"bytes"], _OPENED, True)
