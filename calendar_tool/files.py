"""Writing generated files: atomically, and only when their bytes change.

Feed readers and web servers may read a feed at any moment, so a file is never seen half
written; an unchanged file keeps its modification time, so HTTP caches (ETag, Last-Modified)
and file-sync tools see nothing to do. A feed of a large register is hundreds of megabytes:
it is written as it is produced, a chunk at a time, and compared with the old file a piece at
a time, so that neither is ever whole in memory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

# mkstemp creates files readable by their owner only; a web server serving the feeds must
# read them too.
_MODE = 0o644
# Bytes read from each file at a time when comparing: enough for few system calls, little
# enough not to matter next to a feed.
_PIECE = 1 << 20


def write_if_changed(path: Path, data: bytes) -> bool:
    """Replace `path` with `data` unless it already holds exactly these bytes; True if written.
    (`write_chunks_if_changed` for bytes that come in pieces.)"""
    return write_chunks_if_changed(path, [data])


def write_chunks_if_changed(path: Path, chunks: Iterable[bytes]) -> bool:
    """Replace `path` with the bytes of `chunks`, one after the other, unless it already holds
    exactly these bytes; True if written.

    The chunks go to a temporary file in the same folder (so the rename cannot cross file
    systems) as they come; the old file is then compared with it, sizes first. When they are
    the same, the temporary file is removed and the old file left as it was. Otherwise the new
    one is flushed to disk and replaces the old in one `os.replace`. If `chunks` raises, the
    temporary file is removed and the old file left as it was.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.writelines(chunks)
            f.flush()
            same = _same_bytes(Path(tmp), path)
            if not same:
                os.fsync(f.fileno())
        if same:
            os.unlink(tmp)
            return False
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def replace_file(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, without comparing or flushing to disk first:
    for a cache, which is written when it has changed and whose loss in a crash (a file
    truncated or empty) only means work done again. Flushing tens of megabytes took as long
    as writing them."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _same_bytes(new: Path, old: Path) -> bool:
    """Whether `old` exists and holds the bytes of `new`, read a piece at a time."""
    try:
        if old.stat().st_size != new.stat().st_size:
            return False
        with new.open("rb") as a, old.open("rb") as b:
            while piece := a.read(_PIECE):
                if b.read(_PIECE) != piece:
                    return False
            return not b.read(1)
    except FileNotFoundError:
        return False
