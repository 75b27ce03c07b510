"""Generated files are replaced atomically and only when their bytes change."""

from __future__ import annotations

import stat
from pathlib import Path

from calendar_tool.files import write_if_changed


def test_writes_new_file_readable_by_all(tmp_path: Path) -> None:
    """A new file is written, mode 644 so a web server can read it, with no temp file left."""
    path = tmp_path / "all.ics"
    assert write_if_changed(path, b"one") is True
    assert path.read_bytes() == b"one"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.ics"]


def test_same_bytes_leave_the_file_untouched(tmp_path: Path) -> None:
    """Equal bytes are not written: same inode, same modification time."""
    path = tmp_path / "all.ics"
    write_if_changed(path, b"one")
    before = path.stat()
    assert write_if_changed(path, b"one") is False
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_new_bytes_replace_the_file_in_one_step(tmp_path: Path) -> None:
    """Different bytes replace the file by rename (a new inode), never editing it in place."""
    path = tmp_path / "all.ics"
    write_if_changed(path, b"one")
    before = path.stat().st_ino
    assert write_if_changed(path, b"two") is True
    assert path.read_bytes() == b"two"
    assert path.stat().st_ino != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.ics"]
