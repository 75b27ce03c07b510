"""`run` keeps each register out of the collector's sight (heap.kept), which is safe only if
a replaced register is freed by reference counting alone: no cycle among the objects a
register, its resolver, its revisions, its feeds' events and its reminders' agenda make."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from calendar_tool import delivery, heap, store
from calendar_tool.clock import FixedClock
from calendar_tool.scheduler import Options, Runner
from tests.paths import SAMPLE


@pytest.fixture
def collector_off() -> Iterator[None]:
    with heap.kept():
        yield


def test_a_replaced_register_is_freed_without_the_collector(tmp_path: Path,
                                                            collector_off: None) -> None:
    path = tmp_path / "obligations.yaml"
    text = SAMPLE.read_text()
    path.write_text(text)
    engine = store.open_store(f"sqlite:///{tmp_path / 'calendar-tool.db'}")
    clock = FixedClock(datetime(2025, 6, 1, tzinfo=UTC))
    with delivery.Senders(5) as client:
        runner = Runner(engine, client, clock, path,
                        Options(tmp_path / "feeds", "http://127.0.0.1:8000", watch=None))
        runner.start()
        runner.pending()  # expands the agenda the reminders are computed from
        first = weakref.ref(runner.register)
        path.write_text(text.replace("title: The biennium 2002-2003", "title: The biennium"))
        os.utime(path, ns=(1, 1))  # a new version even within the file system's clock tick
        assert runner.reload()
        runner.pending()
        assert first() is None
    engine.dispose()
    gc.collect()



# In a process of its own, so that what the test process allocated before does not count.
_FREED_AND_TRIMMED = """
import os, sys
from calendar_tool import heap

def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

events = [bytes(1000) + n.to_bytes(4, "little") for n in range(100_000)]  # 100 MB
later = [bytes(1000) for _ in range(10)]  # allocated after them: the heap's top stays used
del events
freed = resident()
heap.trim()
print(freed, resident())
"""


def test_trim_gives_freed_event_bytes_back_to_the_system() -> None:
    """What `run` frees once a publish has written its feeds (100,000 events of about a
    kilobyte each) stays resident until heap.trim hands it back."""
    done = subprocess.run([sys.executable, "-c", _FREED_AND_TRIMMED], capture_output=True,
                          text=True, check=True)
    freed, trimmed = (int(n) for n in done.stdout.split())
    assert freed - trimmed > 80 * 2**20, (freed, trimmed)
