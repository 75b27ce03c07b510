"""`run` keeps each register out of the collector's sight (heap.kept), which is safe only if
a replaced register is freed by reference counting alone: no cycle among the objects a
register, its resolver, its revisions, its feeds' events and its reminders' agenda make."""

from __future__ import annotations

import gc
import os
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
        first = weakref.ref(runner.register)  # type: ignore[arg-type]
        path.write_text(text.replace("title: The biennium 2002-2003", "title: The biennium"))
        os.utime(path, ns=(1, 1))  # a new version even within the file system's clock tick
        assert runner.reload()
        runner.pending()
        assert first() is None
    engine.dispose()
    gc.collect()

