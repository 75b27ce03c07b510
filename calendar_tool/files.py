"""Writing generated files: atomically, and only when their bytes change.

Feed readers and web servers may read a feed at any moment, so a file is never seen half
written; an unchanged file keeps its modification time, so HTTP caches (ETag, Last-Modified)
and file-sync tools see nothing to do.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

# mkstemp creates files readable by their owner only; a web server serving the feeds must
# read them too.
_MODE = 0o644


def write_if_changed(path: Path, data: bytes) -> bool:
    """Replace `path` with `data` unless it already holds exactly these bytes; True if written.

    The bytes go to a temporary file in the same folder (so the rename cannot cross file
    systems), are flushed to disk, and replace the old file in one `os.replace`.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True
