"""Content hashes kept on disk between processes (`feeds.HashFile`): a fresh process's sync
takes them and gives exactly the revisions a sync without them gives, hashing again only the
entries whose inputs changed; a broken or foreign file is no file."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from calendar_tool import delivery, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.feeds.revisions import next_revisions
from calendar_tool.model import Revision
from calendar_tool.register import RegisterFile, parse_located, parse_register
from calendar_tool.scheduler import Options, Runner
from calendar_tool.timeline import resolver_for
from tests.conftest import CLI
from tests.paths import SAMPLE

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2025, 7, 1, 8, 30, tzinfo=UTC)
ENTRIES = len(parse_register(SAMPLE.read_text()).entries)


def _sync(engine: store.Engine, tmp_path: Path, text: str, now: datetime
          ) -> tuple[dict[str, Revision], int]:
    """A sync as a fresh process starting `run` makes it: the register read afresh (no entry
    object of an earlier read), the hashes found in the cache folder; with how many entries it
    hashed."""
    path = tmp_path / "obligations.yaml"
    path.write_text(text)
    located = parse_located(text, str(path))
    kept = service.KeptRevisions()
    stored = service.kept_hashes(tmp_path / "cache", path, located.reusable())
    revs = service.sync(engine, located.register, now, kept, stored=stored)
    return revs, kept.hashes.computed


def _kept_file(tmp_path: Path) -> Path:
    [path] = (tmp_path / "cache").glob("hashes-*.pickle")
    return path


def _edited(old: str, new: str) -> str:
    text = SAMPLE.read_text()
    assert text.count(old) == 1, old
    return text.replace(old, new)


# (old text, new text, how many entries a sync after the edit hashes again)
EDITS = [
    # Nothing changed: every hash is taken from the file.
    ("", "", 0),
    # One entry's own text.
    ("title: A report in a month", "title: A report in May", 1),
    # A declared area's title: what every entry takes from the rest of the register.
    ("victims: {title: Victims of crime}", "victims: {title: Victims}", ENTRIES),
    # An anchor's date: the anchor's text, and the resolved date of the entry dated from it.
    ("date: 2000-04-10..2000-04-17", "date: 2000-04-11..2000-04-18", 2),
]


@pytest.mark.parametrize(("old", "new", "hashed"), EDITS)
def test_a_fresh_process_hashes_only_what_changed_and_revises_as_without_the_file(
        engine: store.Engine, tmp_path: Path, old: str, new: str, hashed: int) -> None:
    """A second process's sync, after an edit, gives exactly the revisions of a sync that
    hashes every entry (SEQUENCE, change instant, hash), and hashes only the entries the edit
    reached."""
    text = SAMPLE.read_text()
    first, computed = _sync(engine, tmp_path, text, T0)
    assert computed == ENTRIES
    edited = _edited(old, new) if old else text
    second, computed = _sync(engine, tmp_path, edited, T1)
    assert second == next_revisions(first, parse_register(edited), T1)
    assert computed == hashed
    assert store.load_revisions(engine) == second


def _records(path: Path) -> tuple[dict[str, Any], dict[bytes, Any]]:
    with path.open("rb") as f:
        return pickle.load(f), pickle.load(f)


def _write(path: Path, head: object, records: object) -> None:
    path.write_bytes(pickle.dumps(head) + pickle.dumps(records))


def _planted(tmp_path: Path) -> dict[bytes, Any]:
    """The kept records with every hash replaced by one no entry has: only reuse shows it."""
    head, records = _records(_kept_file(tmp_path))
    planted = {k: (context, resolved, "sha256:planted") for k, (context, resolved, _) in
               records.items()}
    _write(_kept_file(tmp_path), head, planted)
    return planted


def test_the_kept_hashes_are_what_the_next_process_takes(engine: store.Engine,
                                                         tmp_path: Path) -> None:
    """A hash planted in the file becomes the entries' hash in the next process's sync (so
    every entry is revised): the file is read, not merely present."""
    first, _ = _sync(engine, tmp_path, SAMPLE.read_text(), T0)
    _planted(tmp_path)
    second, computed = _sync(engine, tmp_path, SAMPLE.read_text(), T1)
    assert computed == 0
    assert {r.hash for r in second.values()} == {"sha256:planted"}
    assert second == {k: Revision("sha256:planted", r.sequence + 1, T1)
                      for k, r in first.items()}


@pytest.mark.parametrize("damage", ["foreign stamp", "truncated", "not a pickle",
                                    "records of another shape"])
def test_a_broken_or_foreign_file_means_hashing_every_entry(
        engine: store.Engine, tmp_path: Path, damage: str) -> None:
    """Damage of any kind is no file: every entry is hashed, the revisions are those of a
    sync without it, nothing is raised, and the file is written anew for the next process."""
    first, _ = _sync(engine, tmp_path, SAMPLE.read_text(), T0)
    path = _kept_file(tmp_path)
    planted = _planted(tmp_path)
    data = path.read_bytes()
    if damage == "foreign stamp":
        _write(path, {"stamp": "another code"}, planted)
    elif damage == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif damage == "not a pickle":
        path.write_bytes(b"not a pickle at all")
    else:
        head, _ = _records(path)
        _write(path, head, {k: ("sha256:planted",) for k in planted})
    second, computed = _sync(engine, tmp_path, SAMPLE.read_text(), T1)
    assert computed == ENTRIES
    assert second == first
    third, computed = _sync(engine, tmp_path, SAMPLE.read_text(), T1)
    assert (third, computed) == (first, 0)


def test_without_a_cache_folder_nothing_is_kept() -> None:
    """`CALENDAR_TOOL_CACHE=off`: no file to read or write."""
    located = parse_located(SAMPLE.read_text(), "sample.yaml")
    assert service.kept_hashes(None, SAMPLE, located.reusable()) is None


def test_publish_takes_the_hashes_an_earlier_publish_kept(cli: CLI, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """`calendar-tool publish` keeps the hashes in the cache folder and the next publish
    takes them: a hash planted in the file revises every event (SEQUENCE 1)."""
    monkeypatch.setenv("CALENDAR_TOOL_CACHE", str(tmp_path / "cache"))
    register = tmp_path / "obligations.yaml"
    register.write_text(SAMPLE.read_text())
    out = tmp_path / "feeds"
    first = cli("publish", "--out", str(out), "--today", "2025-06-01", register=register)
    assert first.exit_code == 0, first.stderr
    assert b"SEQUENCE:1\r\n" not in (out / "all.ics").read_bytes()
    _planted(tmp_path)
    again = cli("publish", "--out", str(out), "--today", "2025-07-01", register=register)
    assert again.exit_code == 0, again.stderr
    data = (out / "all.ics").read_bytes()
    assert data.count(b"SEQUENCE:1\r\n") == data.count(b"BEGIN:VEVENT\r\n") == 59


def test_run_starts_on_the_hashes_publish_kept(engine: store.Engine, tmp_path: Path) -> None:
    """`run`'s first publish, through the register file's reader with the cache folder,
    hashes no entry that `publish` hashed before it, and publishes what `publish` did."""
    path, folder = tmp_path / "obligations.yaml", tmp_path / "cache"
    path.write_text(SAMPLE.read_text())
    located = parse_located(path.read_text(), str(path))
    service.publish_feeds(engine, located.register, tmp_path / "published", FixedClock(T0),
                          stored=service.kept_hashes(folder, path, located.reusable()))
    with delivery.Senders(5) as client:
        runner = Runner(engine, client, FixedClock(T1), RegisterFile(path, folder),
                        Options(tmp_path / "run", "http://127.0.0.1:8000", watch=None))
        runner.start()
    assert runner.revisions.hashes.computed == 0
    assert (tmp_path / "run" / "all.ics").read_bytes() == \
        (tmp_path / "published" / "all.ics").read_bytes()


def test_a_kept_hash_taken_holds_the_resolved_date_the_register_holds(
        engine: store.Engine, tmp_path: Path) -> None:
    """A hash taken from the file keeps the resolved date its entry was hashed with, read
    back from the file as another object. Once taken, it holds the one the register's
    resolver holds instead (equal to it), so that a process does not keep two copies of
    every resolved date."""
    text = SAMPLE.read_text()
    _sync(engine, tmp_path, text, T0)
    path = tmp_path / "obligations.yaml"
    located = parse_located(text, str(path))
    register = located.register
    kept = service.KeptRevisions()
    stored = service.kept_hashes(tmp_path / "cache", path, located.reusable())
    assert stored is not None
    stored.seed(kept.hashes)
    relative = [e for e in register.entries if e.relative is not None]
    resolver = resolver_for(register)
    before = [kept.hashes.kept(e) for e in relative]
    assert len(relative) == 2
    assert all(k is not None and k[1] == resolver.resolve(e) and k[1] is not resolver.resolve(e)
               for e, k in zip(relative, before, strict=True))
    service.sync(engine, register, T1, kept)
    assert kept.hashes.computed == 0
    after = [kept.hashes.kept(e) for e in relative]
    assert [(k[0], k[2]) for k in after if k] == [(k[0], k[2]) for k in before if k]
    assert all(k is not None and k[1] is resolver.resolve(e)
               for e, k in zip(relative, after, strict=True))
