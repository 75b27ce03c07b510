"""What the process keeps in memory: when Python's cyclic garbage collector runs.

A large register is millions of long-lived objects (100,000 entries, their sources, dates and
cached forms), and almost none of them ever becomes cyclic garbage: they are freed by
reference counting when the next version of the register replaces them. The collector does
not know that. Each of its full passes walks every object, and it makes one whenever the
objects created since the last pass reach a quarter of those that survived it, which reading,
expanding or publishing a large register does again and again: those passes were a fifth to
a quarter of every step at 100,000 entries. Pausing the collector alone only defers them:
the first pass after walks everything made during the pause. So:

`kept()` goes around work that makes many objects, no cyclic garbage, and keeps most of
what it makes (reading the register, serialising feed events): the collector is off while it
runs, and what exists at the end is moved out of its sight (`gc.freeze`), so that later
passes walk only what is made after. A reload of `run` ends with publishing, so it ends
frozen too.

Frozen objects are still freed by reference counting; only cyclic garbage among them would
never be collected. The objects a register is made of hold no cycles (tests/test_heap.py
checks that a replaced register is freed with the collector off), so freezing after each load
of a long-running process does not leak.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def kept() -> Iterator[None]:
    """The collector off for the duration, then what exists frozen and the collector back
    to how it was (nesting is fine)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def trim() -> None:
    """Give the memory a large step freed back to the system, where the C library keeps it.

    glibc's allocator keeps freed blocks for reuse, and returns to the system only the free
    top of its heap: the hundreds of megabytes of event bytes a `run` publish frees once its
    feeds are written (feeds.EventCache then keeps where they lie, not the bytes) stayed
    resident, interleaved with what lives on. `malloc_trim` hands back every free page.
    Nothing happens with a C library that has no such call."""
    release = _malloc_trim()
    if release is not None:
        release(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes  # only a long-running process calls trim()

    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None
