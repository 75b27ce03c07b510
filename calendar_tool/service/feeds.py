"""Revisions and feeds: each entry's SEQUENCE kept in the store, and the feeds written with
them, whole (`publish`, `run`) or as one subscriber's selection (`serve`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from calendar_tool import register as registers
from calendar_tool import store
from calendar_tool.clock import Clock
from calendar_tool.feeds import (
    EventCache,
    EventFile,
    FeedInfo,
    Hashes,
    HashFile,
    PublishReport,
    Selection,
    next_revisions,
    publish,
    selected_feed,
)
from calendar_tool.model import Entry, Register, Revision
from calendar_tool.service.listing import selected
from calendar_tool.timeline import DEFAULT_HORIZON_YEARS, Query

if TYPE_CHECKING:  # the reader's type only: importing it would load PyYAML
    from calendar_tool.register import Edit


class KeptRevisions:
    """The store's revisions as this process last read or wrote them, for a process that
    syncs again after every edit (`run`): reading 100,000 rows back each time was a fifth of
    a reload.

    What invalidates them: a write by another process (several `run` processes may share one
    PostgreSQL), seen in the store's count of revision writes (`store.revisions_written`)
    having moved by more than this process's own writes.

    One sync at a time uses them: `Runner.publish` holds its lock around the sync."""

    def __init__(self) -> None:
        self.written: int | None = None  # the store's count when `revisions` were current
        self.revisions: dict[str, Revision] = {}
        self.register: Register | None = None  # the register they were computed for
        self.hashes = Hashes()  # the entries' content hashes, by entry


def kept_hashes(folder: Path | None, register: Path, entries: Mapping[str, Entry]
                ) -> HashFile | None:
    """Where the content hashes of the register at `register` are kept between processes, in
    the cache `folder` (None: nowhere); `entries`: its entries by their text, as its reader
    gives them (`Located.reusable()`, `RegisterFile.by_text()`)."""
    if folder is None:
        return None
    # Through the door at the call: `stamp` lives beside the register's reader (PyYAML),
    # which the commands that only import this module do not need.
    return HashFile.of(folder, register, entries, registers.stamp())


def kept_events(folder: Path | None, register: Path) -> EventFile | None:
    """Where the last publishing run of the register at `register` is kept between
    processes, in the cache `folder` (None: nowhere)."""
    return None if folder is None else EventFile(folder, register)


def sync(engine: store.Engine, register: Register, now: datetime,
         kept: KeptRevisions | None = None, edit: Edit | None = None,
         link_base: str | None = None, stored: HashFile | None = None) -> dict[str, Revision]:
    """Bring the entries' snapshots in the store up to date with the register (reading
    them from `kept` while no one else has written them; and when the register is an `edit`
    of the one they were computed for, hashing only the entries the edit may have changed).
    `link_base`: the public URL the feeds' events link back to, if any. `stored`: the content
    hashes an earlier process kept (`kept_hashes`), taken by a process's first sync and
    written again when many were computed anew."""
    if kept is None:
        hashes = Hashes()
        if stored is not None:
            stored.seed(hashes)
        old = store.load_revisions(engine, _held(register, hashes))
        new = next_revisions(old, register, now, hashes=hashes, link_base=link_base)
        _keep_hashes(stored, hashes, register)
        del hashes  # not held while the store is written, a peak of a large publish
        store.save_revisions(engine, old, new)
        return new
    if stored is not None and kept.register is None:
        stored.seed(kept.hashes)
    before = store.revisions_written(engine)
    current = kept.written == before
    old = kept.revisions if current else store.load_revisions(engine,
                                                              _held(register, kept.hashes))
    only = edit.ids if current and edit is not None and edit.follows(kept.register) else None
    new = next_revisions(old, register, now, only, kept.hashes, link_base)
    _keep_hashes(stored, kept.hashes, register)
    kept.hashes.only(register.entries, unless_within=len(only or ()) * 4)
    mine = 1 if store.save_revisions(engine, old, new, only) else 0
    after = store.revisions_written(engine)
    # Any other count means another process wrote in between: read them again next time.
    kept.written = after if after == before + mine else None
    kept.revisions, kept.register = new, register
    return new


def _held(register: Register, hashes: Hashes) -> dict[str, str]:
    """The strings the revisions read from the store may share (`store.load_revisions`):
    the register's ids and the hashes kept for its entries."""
    ids = [e.id for e in register.entries]
    digests = list(hashes.digests())
    held = dict(zip(ids, ids, strict=True))
    held.update(zip(digests, digests, strict=True))
    return held


# Hashes computed anew, as a part of the register, up to which the kept file is left as it is:
# writing 100,000 hashes costs a fraction of a second, hashing a few entries again on each
# start milliseconds, so a few edits do not rewrite it, and many do.
_STALE_PART = 100


def _keep_hashes(stored: HashFile | None, hashes: Hashes, register: Register) -> None:
    if stored is not None and \
            hashes.computed - hashes.written > len(register.entries) // _STALE_PART:
        stored.keep(hashes)


def publish_feeds(engine: store.Engine, register: Register, out_dir: Path, clock: Clock,
                  horizon_years: int = DEFAULT_HORIZON_YEARS, cache: EventCache | None = None,
                  kept: KeptRevisions | None = None, edit: Edit | None = None,
                  link_base: str | None = None, stored: HashFile | None = None,
                  stored_events: EventFile | None = None) -> PublishReport:
    """Sync the revisions, then write the feeds with them (reusing the events `cache` holds
    from the last run and the revisions `kept`, in a process that keeps them; `edit`: how
    the register differs from the one published before, when the reader knows). With
    `link_base` (the public URL, `CALENDAR_TOOL_PUBLIC_URL`), every event links back to its
    entry's page; without, the feeds are as they always were. `stored`: the content hashes
    kept between processes (`kept_hashes`); `stored_events`: the last run's events
    (`kept_events`), which a cache that holds no run yet takes up, and which are kept again
    when this run had to serialise many of them."""
    revs = sync(engine, register, clock.now(), kept, edit, link_base, stored)
    if stored_events is not None:
        cache = cache if cache is not None else EventCache()
        if cache.empty():
            stored_events.seed(cache, revs)
    report = publish(register, revs, out_dir, clock, horizon_years, cache, link_base)
    if stored_events is not None and cache is not None:
        _keep_events(stored_events, cache, report)
    return report


def _keep_events(stored: EventFile, cache: EventCache, report: PublishReport) -> None:
    """Keep the run on disk when what is kept is of another day or many of its events were
    serialised anew (as `_keep_hashes`: a few edits do not copy all.ics again)."""
    events = sum(f.events for f in report.feeds if f.name == "all")
    if stored.until != report.horizon or report.serialised > events // _STALE_PART:
        stored.keep(cache)
    elif report.serialised or report.written or report.removed:
        stored.behind = True  # kept at the process's end (`EventFile.keep_if_behind`)


def entry_revisions(engine: store.Engine, register: Register, ids: Collection[str],
                    at: datetime, hashes: Hashes | None = None, link_base: str | None = None
                    ) -> dict[str, Revision]:
    """The revisions of the entries `ids` as the feeds have them, or as the next publish
    gives them (dated `at`) where the register has moved on: what an e-mail's calendar part
    gives each event, and a selection, hashing only those entries. `hashes`: as kept by a
    long-running server; `link_base`: as `publish_feeds` is given it."""
    return next_revisions(store.load_revisions(engine), register, at, only=ids, hashes=hashes,
                          link_base=link_base)


def selection(engine: store.Engine, register: Register, at: datetime, info: FeedInfo,
              chosen: Query, today: date, out: IO[bytes], hashes: Hashes | None = None,
              link_base: str | None = None) -> Selection:
    """The feed of the selection `chosen` (its filters) on `today`, written into `out`: the
    same events, byte for byte, as the published feeds carry; its event count and its
    Last-Modified (`feeds.selected_feed`). Its revisions are those of its entries alone
    (`entry_revisions`), dated `at` where they move on: the register file's change time, so
    that its bytes stay the same from one request to the next. Its occurrences are picked from
    the register's date index in memory (`listing.selected`): only the events it holds are
    made, not every occurrence of the register. Its series are expanded as far as `chosen`
    says (`Query.horizon_years`: those of the published feeds, for `serve`)."""
    found = selected(register, chosen, today)
    revs = entry_revisions(engine, register, {o.entry.id for o in found}, at, hashes, link_base)
    return selected_feed(register, revs, info, found, at, out, chosen.horizon_years, link_base)

