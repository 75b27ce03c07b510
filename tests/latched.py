"""`python tests/latched.py LATCH ARGS...`: `calendar-tool ARGS`, held in its first read of
the register until the test lets it go (`processes.reading_latch`). That read first reads the
named pipe LATCH to its end, which waits for a writer and then for the writer to close it,
then reads the entry cache as it always does. A seam of the tests' own: no file in the cache
folder can hold a command (a named pipe there is no cache), so nothing real can any more."""

from __future__ import annotations

import sys
from pathlib import Path

from calendar_tool.cli import main
from calendar_tool.register import cache


def _held(latch: Path) -> None:
    """The entry cache's `read`, its first call held until the writer of `latch` closes it."""
    read = cache.read

    def held(path: Path) -> cache.Kept:
        cache.read = read
        with latch.open("rb") as f:
            f.read()
        return read(path)

    cache.read = held


if __name__ == "__main__":
    _held(Path(sys.argv[1]))
    main(args=sys.argv[2:], prog_name="calendar-tool")
