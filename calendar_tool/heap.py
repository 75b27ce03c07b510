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
import gc
from collections.abc import Iterator


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
