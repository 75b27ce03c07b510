"""SIGINT and SIGTERM for the long-running commands (`run`, `serve`), taken from before they
read the register, and for `remind`, whose sends in flight finish and are recorded.

Reading a large register takes seconds, and a signal in that time used to end the process
before the command's own handling was in place: by the signal's default action (SIGTERM,
exit 143) or with click's "Aborted!" (SIGINT, exit 1). `Signals` holds both from the
command's start: a signal is logged and kept (`received`), and what the command has started
by then is asked to stop (`then`). A command that finds a signal received before it began
its work ends with exit 0, having published, claimed and served nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from calendar_tool.logs import event


class Signals:
    """SIGINT and SIGTERM while the `with` block runs, each logged as the event `logged`
    (`scheduler.stopping`, `server.stopping`) with the signal's name."""

    def __init__(self, logged: str) -> None:
        self.received = threading.Event()
        self._logged = logged
        self._stop: Callable[[], None] | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        self._previous = {s: signal.signal(s, self._on) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *_exc: object) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def then(self, stop: Callable[[], None]) -> None:
        """Call `stop` on a signal from now on (it must be safe from a signal handler)."""
        self._stop = stop

    def _on(self, signum: int, _frame: FrameType | None) -> None:
        event(self._logged, signal=signal.Signals(signum).name)
        self.received.set()
        if self._stop is not None:
            self._stop()
