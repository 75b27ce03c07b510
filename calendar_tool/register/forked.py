"""Work done in a forked copy of this process, on the machine's other core: Python runs one
thread of Python at a time, and a cold read of a large register is seconds of it.

Only for a process that runs no threads (the one-shot commands): a forked process has none
of them, nor a way to release the locks they held. The copy shares the parent's memory until
either writes to it, sends back bytes through a pipe, and leaves without running exit
handlers or flushing the parent's buffered output a second time.
"""

from __future__ import annotations

import os
from collections.abc import Callable


def available() -> bool:
    """Whether this platform can fork (not Windows) and this process may run on more than
    one processor: on one (`taskset -c 0`, a container given one core), the copy would run
    by turns with this process, and pickling what it read back would be all it added."""
    if not hasattr(os, "fork"):
        return False
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere, the machine's count
    cores = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return cores > 1


class Forked:
    """`work()` running in a forked copy of this process from construction on; `result()`
    its bytes."""

    def __init__(self, work: Callable[[], bytes]) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the copy: never returns
            status = 1
            try:
                os.close(read)
                data = work()
                with os.fdopen(write, "wb") as f:
                    f.write(data)
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> bytes | None:
        """What `work()` returned; None when it failed (raised, or the copy was killed).
        Reads to the end before waiting, since the copy cannot finish writing into a full
        pipe."""
        with os.fdopen(self._read, "rb") as f:
            data = f.read()
        _, status = os.waitpid(self._pid, 0)
        return data if status == 0 else None
