"""`calendar-tool run` as a real process for the tests: its log (stderr) read line by line as
it comes, each line a JSON event or, when `run` refuses to go on, a last line of plain text."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Run:
    """A `calendar-tool run --out FEEDS ARGS` process on the database `db_url` and the
    register `register` (`public_url`: CALENDAR_TOOL_PUBLIC_URL, unset by default)."""

    def __init__(self, db_url: str, register: Path, feeds: Path, *args: str,
                 public_url: str | None = None, latch: Path | None = None) -> None:
        """`latch`: a `reading_latch` that holds the process in its first read."""
        env = dict(os.environ, CALENDAR_TOOL_DB=db_url, CALENDAR_TOOL_REGISTER=str(register))
        env.pop("CALENDAR_TOOL_PUBLIC_URL", None)
        if public_url is not None:
            env["CALENDAR_TOOL_PUBLIC_URL"] = public_url
        self.proc = subprocess.Popen(
            [*command(latch), "run", "--out", str(feeds), *args],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        with self.proc.stderr:
            for raw in self.proc.stderr:
                with self._seen:
                    self.lines.append(raw.rstrip("\n"))
                    self._seen.notify_all()

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The JSON events logged so far (those called `name`), in order."""
        with self._seen:
            found = [json.loads(x) for x in self.lines if x.startswith("{")]
        return [x for x in found if name is None or x["event"] == name]

    def wait_for(self, name: str, count: int = 1, timeout: float = 20.0
                 ) -> list[dict[str, Any]]:
        """The events called `name` once there are `count` of them; TimeoutError if they do
        not come within `timeout` seconds or the process ends first."""
        deadline = time.monotonic() + timeout
        while len(found := self.events(name)) < count:
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                raise TimeoutError(f"no {count} x {name} in {self.lines}")
            with self._seen:
                self._seen.wait(min(left, 0.2))
        return found

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send `sig` (if it still runs) and wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 30.0) -> int:
        """The exit code, once the process has ended (and reaped: a killed pid is then gone)
        and its log is read to the end."""
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


def command(latch: Path | None = None) -> list[str]:
    """How a test runs `calendar-tool`: as `python -m calendar_tool.cli`, or held in its first
    read of the register by `latch` (`reading_latch`), through `tests/latched.py`."""
    if latch is None:
        return [sys.executable, "-m", "calendar_tool.cli"]
    return [sys.executable, str(Path(__file__).with_name("latched.py")), str(latch)]


def reading_latch(folder: Path) -> Path:
    """A named pipe in `folder` that holds a process started with it (`command`) in its first
    read of the register, where it looks for the entries an earlier command kept: reading the
    pipe waits for a writer (`writer_of`), then for the test to close it. A file of the tool's
    cannot be the latch: the register, and every file in the cache folder, is refused when it
    is not a regular file, rather than waited on."""
    fifo = folder / "reading-latch"
    os.mkfifo(fifo)
    return fifo


def writer_of(fifo: Path, timeout: float = 30.0) -> int:
    """A descriptor open to write to the named pipe `fifo`, once a process has opened it to
    read (opening a pipe to write returns only then): with `reading_latch`, the process is
    then in its first read of the register, and stays there until the test closes it."""
    opened: list[int] = []
    opening = threading.Thread(target=lambda: opened.append(os.open(fifo, os.O_WRONLY)),
                               daemon=True)
    opening.start()
    opening.join(timeout)
    assert opened, f"nothing opened {fifo} to read within {timeout} s"
    return opened[0]


@contextlib.contextmanager
def started() -> Iterator[list[Run]]:
    """For a fixture: the processes a test starts; any left running are killed at the end."""
    runs: list[Run] = []
    yield runs
    for run in runs:
        if run.proc.poll() is None:
            run.proc.kill()
        run.wait(10)
