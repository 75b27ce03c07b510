"""Writing generated files: atomically, and only when their bytes change.

Feed readers and web servers may read a feed at any moment, so a file is never seen half
written; an unchanged file keeps its modification time, so HTTP caches (ETag, Last-Modified)
and file-sync tools see nothing to do. A feed of a large register is hundreds of megabytes:
it is written as it is produced, a chunk at a time, and compared with the old file a piece at
a time, so that neither is ever whole in memory.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import io
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

# mkstemp creates files readable by their owner only; a web server serving the feeds must
# read them too.
_MODE = 0o644


# What tells one version of a file from another without reading it: (st_mtime_ns, st_size,
# st_ino, st_ctime_ns). An edit in place changes the first two; an editor or `git checkout`
# that renames a new file over the old one changes the inode; and the change time cannot be
# set back by hand, so a file rewritten in place with its modification time restored still
# differs. Two writes of the same size within one tick of the file system's clock look the
# same; the next write (or a touch) tells them apart.
Version = tuple[int, int, int, int]


def version(st: os.stat_result) -> Version:
    """The `Version` of a file from its `stat`."""
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def version_of(path: Path) -> Version | None:
    """The `Version` of the file at `path`; None when there is none."""
    try:
        return version(os.stat(path))
    except FileNotFoundError:
        return None


class NotAFile(OSError):
    """A path that names something to read which is neither a regular file nor a folder: a
    FIFO, whose reading waits for a writer that may never come, a device (/dev/zero never
    ends), a socket. `kind` says which, with its article."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(errno.EINVAL, f"{kind}, not a regular file", str(path))
        self.kind = kind


_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _regular(path: Path, st: os.stat_result) -> None:
    """Nothing when `st` is a regular file's; IsADirectoryError for a folder (as opening one
    to read would raise), NotAFile for anything else."""
    if stat.S_ISREG(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
    raise NotAFile(path, kind)


def open_regular(path: Path) -> io.BufferedReader:
    """The regular file at `path` (symbolic links followed), open to read; OSError when it
    cannot be, IsADirectoryError for a folder, NotAFile for anything else. Looked at before
    it is opened, so that no device is opened at all, and again once open, opened without
    waiting: a FIFO put there in between would hold up the open until a writer came."""
    _regular(path, os.stat(path))
    return open(os.fspath(path), "rb", opener=_regular_descriptor)


def _regular_descriptor(path: str, flags: int) -> int:
    """`open_regular`'s descriptor, for `open` to hold (`_PRIVATE` says why)."""
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        _regular(Path(path), os.fstat(fd))
        os.set_blocking(fd, True)
        return fd  # nothing of Python runs between this step and the file that holds it
    except BaseException:
        os.close(fd)
        raise


# How long a file must have stood unchanged for its version to stand for its text: past the
# tick of any file system's clock that keeps sub-second times, so that a later write gets a
# later modification and change time.
SETTLED_SECONDS = 2


def read_settled(path: Path, now: Callable[[], int] = time.time_ns
                 ) -> tuple[bytes, Version | None]:
    """The bytes of the file at `path`, and its `Version` when that tells this text from any
    later one: the file did not change while it was read, was last written or touched two
    seconds before or more (`now`: the time in nanoseconds), and keeps sub-second times. Else
    None: the version of a file written within the same tick could be that of the next write
    too. Raises OSError (NotAFile for a FIFO, a device or a socket: `open_regular`)."""
    with open_regular(path) as f:
        before = os.fstat(f.fileno())
        data = f.read()
        after = os.fstat(f.fileno())
    seen = version(after)
    written = max(after.st_mtime_ns, after.st_ctime_ns)
    if seen != version(before) or now() - written < SETTLED_SECONDS * 1_000_000_000 or \
            after.st_ctime_ns % 1_000_000_000 == 0:  # whole seconds: a coarse clock
        return data, None
    return data, seen


class Span(NamedTuple):
    """`size` bytes of an open file from `at`: a chunk of `write_chunks_if_changed` that the
    kernel copies (`os.copy_file_range`) without this process reading it. A feed written
    again after an edit is mostly stretches of the file it replaces."""

    source: BinaryIO
    at: int
    size: int


class Written(NamedTuple):
    """A chunk of `replace_file` that writes itself into the open file (`pickle.dump`), so
    that a large cache's bytes are never whole in memory: the run `publish` keeps was 24 MB
    of pickle made whole before it was written, the peak of a first publish."""

    write: Callable[[BinaryIO], object]


def write_if_changed(path: Path, data: bytes) -> bool:
    """Replace `path` with `data` unless it already holds exactly these bytes; True if written.
    (`write_chunks_if_changed` for bytes that come in pieces.)"""
    # Bytes in hand are compared before anything is written: an unchanged file then leaves
    # no temporary file behind in the folder, nor moves the folder's modification time.
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    return write_chunks_if_changed(path, [data])


def write_chunks_if_changed(path: Path, chunks: Iterable[bytes | Span]) -> bool:
    """Replace `path` with the bytes of `chunks`, one after the other, unless it already holds
    exactly these bytes; True if written. A `Span` is copied from its file by the kernel.

    The chunks go to a temporary file in the same folder (so the rename cannot cross file
    systems) as they come, and are compared with the old file's bytes as they are written,
    so each file is gone through once. When they are the same, the temporary file is removed
    and the old file left as it was. Otherwise the new one is flushed to disk and replaces the
    old in one `os.replace`. If `chunks` raises, the temporary file is removed and the old
    file left as it was.
    """
    return _write(path, chunks, published=True)


# The buffer of each file of `drafts`: a write per event would be a system call every few
# kilobytes, and a large register's feeds are a gigabyte; a dozen feeds' buffers are held
# at once.
_DRAFT_BUFFER = 256 * 1024


class Draft:
    """A file written beside `path` (through `file`) to replace it under the rules of
    `write_chunks_if_changed`, for bytes that come to several files at once: a first publish
    serialises each event once and writes it into every feed it is in. Compared with the old
    file once written (`commit`), rather than as it is written."""

    def __init__(self, path: Path) -> None:
        """A draft of `path`, its name chosen and its file not made yet (`open`)."""
        self.path = path
        self._tmp = _temporary_name(path)
        self._done = False
        self._file: BinaryIO | None = None

    def open(self) -> None:
        """Make the draft's file, which `discard` removes from now on."""
        # Read as well as written: it is compared with the old file once written.
        self._file = open(  # noqa: SIM115  # the draft holds it: `commit`, `discard`
            self._tmp, "xb+", buffering=_DRAFT_BUFFER, opener=_PRIVATE)

    @property
    def file(self) -> BinaryIO:
        assert self._file is not None, "a draft written before it was opened"
        return self._file

    def commit(self) -> bool:
        """Replace `path` with what was written, flushed to disk first and readable by all,
        unless it holds these very bytes already (the draft is then removed and the old file
        left as it was); True if replaced. A folder in the way raises IsADirectoryError."""
        f = self.file
        try:
            f.flush()
            same = _same_bytes(f, self.path)
            if not same:
                os.fsync(f.fileno())
            f.close()
            if same:
                os.unlink(self._tmp)
            else:
                os.chmod(self._tmp, _MODE)
                os.replace(self._tmp, self.path)
        except BaseException:
            self.discard()
            raise
        self._done = True
        return not same

    def discard(self) -> None:
        """Remove what was written, unless it was committed."""
        if self._done:
            return
        self._done = True
        if self._file is not None:
            with contextlib.suppress(OSError):  # its unwritten buffer is of no more use
                self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)


@contextlib.contextmanager
def drafts(paths: Sequence[Path]) -> Iterator[list[Draft]]:
    """A `Draft` for each of `paths`, in order; those not committed are removed at the end,
    whatever ends it."""
    made: list[Draft] = []
    try:
        for path in paths:
            # Known before its file is made: whatever ends the process once it is (SIGTERM
            # raises at any step, `cli.base`) leaves no draft behind.
            made.append(draft := Draft(path))
            draft.open()
        yield made
    finally:
        for draft in made:
            draft.discard()


def _same_bytes(written: BinaryIO, path: Path) -> bool:
    """Whether the regular file at `path` holds the bytes of the open file `written`: the
    same size, then the whole of it as a span compared (`_same_span`)."""
    old = _replaced(path)
    if old is None:
        return False
    with old:
        size = os.fstat(written.fileno()).st_size
        return os.fstat(old.fileno()).st_size == size and \
            _same_span(Span(written, 0, size), old)


def replace_file(path: Path, data: Iterable[bytes | Written]) -> None:
    """Replace `path` with the pieces of `data`, one after the other, atomically, without
    comparing or flushing to disk first:
    for a cache, which is written when it has changed and whose loss in a crash (a file
    truncated or empty) only means work done again. Flushing tens of megabytes took as long
    as writing them. The file stays readable by its owner only."""
    _write(path, data, published=False)


# How a temporary file is made, by `open` in mode "x" (new: never a file that is there; not
# inherited by children): readable by its owner only.
# SIGTERM raises at any step of Python (`cli.base`), such as right after a call that made a
# file object returns: the object is then dropped, and closes its descriptor. A clean-up
# that closed the descriptor again failed with EBADF, which took the place of the exit (143),
# and could have closed another file of the same number. So a descriptor is closed by hand
# only until a file object holds it, never after; and here `open`'s own C code calls
# `os.open`, so that no step of Python comes between the two.
_PRIVATE = functools.partial(os.open, mode=0o600)


def _temporary_name(path: Path) -> str:
    """A name for a new file beside `path`, to be renamed over it: `.all.ics.<16 hex>.tmp`.
    Chosen before the file is made, and made (`_PRIVATE`) inside the `try` that removes it, so
    that a SIGTERM raised right after the file is made (it raises at any step: `cli.base`)
    finds its name; `tempfile.mkstemp` makes the file before it gives the name. Sixty-four
    random bits: no other file of the folder has it."""
    return str(path.parent / f".{path.name}.{os.urandom(8).hex()}.tmp")


def _write(path: Path, chunks: Iterable[bytes | Span | Written], published: bool) -> bool:
    """Write `chunks` to a temporary file and rename it over `path`. A published file is
    compared with the old one (and left alone when the same), flushed to disk first, and
    made readable by all; a cache file is none of these."""
    tmp = _temporary_name(path)
    try:
        with open(tmp, "xb", opener=_PRIVATE) as f, _compared(path, published) as old:
            same = old is not None
            for chunk in chunks:
                if isinstance(chunk, Written):
                    chunk.write(f)
                    same = False  # not compared: it is only for caches (`replace_file`)
                    continue
                if isinstance(chunk, Span):
                    f.flush()  # the kernel writes at the file's position
                    _copy_range(chunk.source.fileno(), f.fileno(), chunk.at, chunk.size)
                    if same:
                        same = old is not None and _same_span(chunk, old)
                    continue
                f.write(chunk)
                if same:
                    same = old is not None and old.read(len(chunk)) == chunk
            if same and old is not None and old.read(1):
                same = False  # the old file goes on
            if published and not same:
                f.flush()
                os.fsync(f.fileno())
        if same:
            os.unlink(tmp)
            return False
        if published:
            os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def _compared(path: Path, published: bool
              ) -> io.BufferedReader | contextlib.nullcontext[None]:
    """What a write of `path` compares its bytes with: for a published file, the file it
    replaces, open (`_replaced`); else nothing (None, entered)."""
    old = _replaced(path) if published else None
    return old if old is not None else contextlib.nullcontext()


def _replaced(path: Path) -> io.BufferedReader | None:
    """The file a write replaces, open to compare with, when there is a regular one: anything
    else in its place (a named pipe, whose opening waited for a writer for ever) is replaced
    as a missing file is. A folder raises IsADirectoryError, as replacing it would."""
    try:
        return open_regular(path)
    except (FileNotFoundError, NotAFile):
        return None


def copy_file(source: BinaryIO, path: Path) -> Version:
    """Replace `path` with a copy of the open file `source`, atomically and without comparing
    or flushing (a cache, as `replace_file`); the `Version` of the copy as it was written,
    taken on the file itself so that a file another process renamed over it since does not
    pass for it. The bytes are copied by the kernel where it can (`os.copy_file_range`):
    a large register's all.ics is hundreds of megabytes."""
    tmp = _temporary_name(path)
    try:
        with open(tmp, "xb", opener=_PRIVATE) as copy:
            _copy_bytes(source, copy)
            os.replace(tmp, path)
            return version(os.fstat(copy.fileno()))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _copy_bytes(source: BinaryIO, copy: BinaryIO) -> None:
    """The whole of `source` into the empty `copy`, by offsets: a buffered reader's own
    position is not its file's."""
    src = source.fileno()
    _copy_range(src, copy.fileno(), 0, os.fstat(src).st_size)


def _copy_range(src: int, dst: int, at: int, size: int) -> None:
    """`size` bytes of `src` from `at` into `dst` at its position, which moves past them:
    by the kernel where it can, else through this process. Raises OSError when `src` ends
    first."""
    try:
        while size:
            n = os.copy_file_range(src, dst, size, at)
            if not n:
                break
            at, size = at + n, size - n
    except OSError:  # across file systems on an old kernel, say: through this process
        pass
    while size:
        chunk = os.pread(src, min(size, 1 << 20), at)
        if not chunk:
            raise OSError(f"a file being copied ended {size} bytes early")
        n = os.write(dst, chunk)
        at, size = at + n, size - n


def _same_span(span: Span, old: BinaryIO) -> bool:
    """Whether the next `span.size` bytes of `old` are those of `span`; `old` moves past
    them. Bytes that are the old file's own, where they were, are not read."""
    here = old.tell()
    mine, theirs = os.fstat(span.source.fileno()), os.fstat(old.fileno())
    if (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino) and here == span.at:
        old.seek(here + span.size)
        return span.at + span.size <= theirs.st_size
    at, left = span.at, span.size
    while left:
        piece = os.pread(span.source.fileno(), min(left, 1 << 20), at)
        if not piece or old.read(len(piece)) != piece:
            return False
        at, left = at + len(piece), left - len(piece)
    return True


def cache_path(folder: Path, register: Path, kind: str, suffix: str) -> Path:
    """Where what is kept of the register at `register` under `kind` lives in the cache
    `folder`: one file per register path (resolved) and kind, `<kind>-<digest>.<suffix>`."""
    key = hashlib.sha256(str(register.resolve()).encode("utf-8")).hexdigest()[:16]
    return folder / f"{kind}-{key}.{suffix}"


@functools.cache
def code_digest(modules: tuple[str, ...]) -> str:
    """A digest of the package's `modules` (paths within it, such as "feeds/ical.py"): what
    a file kept between processes is stamped with, so that other code ignores it."""
    digest = hashlib.sha256()
    for name in modules:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]
