"""Publishing: the register as iCalendar feeds in a folder that any web server can serve.

One feed for everything (`all.ics`), one per declared area (`area-<key>.ics`) and one per
declared actor (`actor-<key>.ics`), and `index.json` listing them. An area or actor with no
dated occurrence gets no feed, since RFC 5545 does not allow a calendar without components; a
feed that an earlier run wrote and this one does not is removed, so that no stale copy is
served. Series are expanded up to a
horizon (`timeline.DEFAULT_HORIZON_YEARS` past today by default, the same as `list`), so every
client sees the same dates whatever its support for recurrence rules.

Each file is replaced atomically and only when its bytes change; a feed is written to disk as
it is assembled and compared with the old file a piece at a time (`files.write_chunks_if_changed`),
so that neither is ever whole in memory: `all.ics` of a large register is hundreds of megabytes.
The entries' revisions (SEQUENCE, LAST-MODIFIED) are given: the service computes them and saves
them in the store before publishing, so that a run stopped half way gives the same bytes for the
feeds it had not written yet when it is repeated.

Each event is serialised once per run, whatever the number of feeds it is in; under an
`EventCache`, a first run writes each straight into the file of every feed it is in as it
is serialised, rather than holding them in memory (`files.drafts`). A long-running
process also keeps its last run (`EventCache`): where its events lie in the `all.ics` it
wrote, so that after an edit only the edited entry is expanded and serialised again and the
others are copied from that file, and the feed files it left, so that only the feeds the
edited entry was or is in are assembled again; the others are not even read. What
invalidates each is said there. A new process takes up the run an earlier one kept on disk
(`EventCache.seed`, `kept.EventFile`) as if it had made it.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import os
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter, eq, is_, is_not, itemgetter
from pathlib import Path
from typing import IO, BinaryIO, Literal, NamedTuple, cast

from calendar_tool import wording
from calendar_tool.clock import Clock, today
from calendar_tool.errors import PublishFailed, os_reason
from calendar_tool.feeds import ical
from calendar_tool.files import (
    Draft,
    Span,
    Version,
    drafts,
    open_regular,
    version,
    version_of,
    write_chunks_if_changed,
    write_if_changed,
)
from calendar_tool.model import Entry, Occurrence, Register, Revision
from calendar_tool.timeline import (
    DEFAULT_HORIZON_YEARS,
    Resolver,
    entry_occurrences,
    horizon,
    occurrences,
    resolver_for,
    series_count,
    sort_key,
)

INDEX_NAME = "index.json"
# Only names this module writes are ever removed from the folder.
FEED_FILE = re.compile(r"^(all|(area|actor)-[a-z0-9]+(-[a-z0-9]+)*)\.ics$")


@dataclass(frozen=True)
class FeedResult:
    """One feed of a publishing run."""

    name: str
    title: str
    path: str  # relative to the output folder
    events: int
    written: bool


@dataclass(frozen=True)
class PublishReport:
    out_dir: Path
    feeds: tuple[FeedResult, ...]
    index_written: bool
    removed: tuple[str, ...]  # files of earlier runs that are no longer published
    skipped: tuple[str, ...]  # feeds not written because they would hold no event
    horizon: date
    serialised: int = 0  # events serialised in this run; the others came from an EventCache

    @property
    def written(self) -> int:
        return sum(f.written for f in self.feeds)

    @property
    def unchanged(self) -> int:
        return len(self.feeds) - self.written


@dataclass(frozen=True)
class FeedSpec:
    """A feed to write: its metadata and which entries' occurrences it carries."""

    info: ical.FeedInfo
    facet: Literal["all", "area", "actor"] = "all"
    key: str = ""

    def keep(self, e: Entry | Facets) -> bool:
        if self.facet == "area":
            return self.key in e.areas
        if self.facet == "actor":
            return self.key in e.actors
        return True


def feed_specs(register: Register) -> list[FeedSpec]:
    """`all`, then one feed per declared area and per declared actor, in declaration order."""
    specs = [FeedSpec(ical.FeedInfo("all", *wording.feed_all(register)))]
    for key, term in register.areas.items():
        specs.append(FeedSpec(ical.FeedInfo(f"area-{key}", *wording.feed_area(register, term)),
                              "area", key))
    for key, term in register.actors.items():
        specs.append(FeedSpec(ical.FeedInfo(f"actor-{key}", *wording.feed_actor(register, term)),
                              "actor", key))
    return specs


def feed_occurrences(register: Register, until: date) -> list[Occurrence]:
    """The dated occurrences feeds carry, sorted by date (standing obligations have no day)."""
    return [o for o in occurrences(register, until) if o.when is not None]


class FeedEvent:
    """An event of the feeds: its place in their order (`day`, `eid`, `number`: its
    `timeline.sort_key` but the first item, which is the same for every dated occurrence)
    and its VEVENT bytes. Under an `EventCache` they are in memory (`data`) from when they
    are serialised until the run that did so has written every file, then only where they
    lie in its `all.ics` (`at`, `size`), read back from it when a feed is assembled again;
    without one, always in memory.

    One object for an event, shared by every list of the run that holds it (so that moving
    it to the file is one assignment), and no more: a run taken up at 100,000 entries holds
    311,000 of them, and a pair of a key tuple and an object of the bytes' place was 40 MB
    more."""

    __slots__ = ("at", "data", "day", "eid", "number", "size")

    def __init__(self, day: date, eid: str, number: int, data: bytes | None, at: int = 0,
                 size: int = 0) -> None:
        """Bytes just serialised (`data`), or where bytes lie in a file (`at`, `size`)."""
        self.day, self.eid, self.number = day, eid, number
        self.data = data
        self.at = at
        self.size = len(data) if data is not None else size


# Where an event sorts (in C): its day, entry id and number. `_keyed` gives the same of an
# occurrence.
_KEY = attrgetter("day", "eid", "number")
_DATA, _SIZE = attrgetter("data"), attrgetter("size")
_REVISION = attrgetter("revision")
_DAY, _EID, _NUMBER, _AT = attrgetter("day"), attrgetter("eid"), attrgetter("number"), \
    attrgetter("at")
EventKey = tuple[date, str, int]


def _keyed(o: Occurrence) -> EventKey:
    _, day, eid, number = sort_key(o)
    return day, eid, number


# The parts of `_keyed`, of an occurrence on a calendar day.
_ENTRY_ID, _DUE = attrgetter("entry.id"), attrgetter("key_date")


def _number(o: Occurrence) -> int:
    return o.number or 0


class Facets(NamedTuple):
    """Which feeds an entry's events are in, for an entry a run kept on disk
    (`KeptEvents`): its areas and actors, as the Entry has them."""

    areas: tuple[str, ...]
    actors: tuple[str, ...]


@dataclass(frozen=True, slots=True)  # one per entry: no __dict__ each (10 MB at 100,000)
class _Kept:
    """An entry's part of a publishing run: what it was published with, and its events."""

    # The version published, or for a run kept on disk its areas and actors: which feeds
    # its events are in.
    entry: Entry | Facets
    revision: Revision
    until: date | None  # the horizon its occurrences reach; None when that does not matter
    events: tuple[FeedEvent, ...]


@dataclass(frozen=True)
class _Feed:
    """A feed as a publishing run left it."""

    spec: FeedSpec
    # Its events, sorted (the run's own objects, not copies); none: the feed would have been
    # empty and was not written. None when not known: all.ics's of a run taken up from disk
    # (`EventCache.seed`), which are all the run's events, and another feed's when the run
    # kept had not picked them out either; they are picked out when a run assembles it.
    events: list[FeedEvent] | None
    file: Version | None  # of its file once written or found unchanged; None when empty
    count: int  # how many events it has
    start: int | None = None  # where its first event lies in its file, when a run wrote it


@dataclass(frozen=True)
class _Run:
    """What a publishing run leaves for the next one."""

    entries: dict[str, _Kept]
    events: list[FeedEvent]  # all the entries' events, sorted
    until: date | None = None  # the horizon
    out_dir: Path | None = None  # where it wrote `feeds` (resolved)
    feeds: dict[str, _Feed] = field(default_factory=dict)  # by name
    # The file its events lie in (`FeedEvent.at`), as it was then: its all.ics, or for a run
    # kept on disk the copy kept with it.
    source: tuple[Path, Version] | None = None
    # For each series whose dates it counted, where its first occurrence past `until` starts
    # (date.max: it has none): a later horizon short of it is known to bring nothing new.
    # Series only, by id: a field of every entry's part was 2 MB more that `run` holds.
    nexts: dict[str, date] = field(default_factory=dict)


@dataclass(frozen=True)
class _Events:
    """A run's events, and what changed since the last run."""

    events: list[FeedEvent]  # every event the feeds carry, sorted
    serialised: int  # how many of them had to be serialised
    entries: dict[str, _Kept]  # this run's, for the next one
    last: _Run | None = None  # the last run; None without a cache
    # The entries whose events changed since the last run, as the last run had them and as
    # this one has them, those with events only: the feeds they are in are those that changed.
    gone: tuple[_Kept, ...] = ()
    new: tuple[_Kept, ...] = ()
    source: _Source | None = None  # the last run's all.ics, which its events are read from
    # After a few changes, all.ics as stretches of the last run's events and the events
    # between them (`_splice`); None otherwise.
    pieces: list[_Piece] | None = None
    nexts: dict[str, date] = field(default_factory=dict)  # this run's, for the next one
    # The feeds, by name, when they were written as the events were serialised (a first
    # run's: `_written_at_once`), and whether each file was; and where all.ics's first event
    # lies in it. None: they are yet to be written (`_write_feeds`).
    feeds: dict[str, tuple[_Feed, bool]] | None = None
    start: int | None = None

    def changed_events(self) -> int:
        """How many events the changed entries had and have."""
        return sum(len(k.events) for k in (*self.gone, *self.new))


# Reading events back from the last run's all.ics: events less than `_GAP` bytes apart are
# read in one piece, of up to `_PIECE` bytes: a few reads for the events of a whole feed,
# rather than one per event.
_GAP = 64 * 1024
_PIECE = 1 << 20


class _Source:
    """The file a run reads events back from, open for the time of the run: the `all.ics`
    the last run wrote, taken only while it is the very file that run left
    (`files.Version`)."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    @classmethod
    def of(cls, last: _Run) -> _Source | None:
        """The file the last run's events lie in, if it is as that run left it; None
        otherwise."""
        if last.source is None:
            return None
        path, expected = last.source
        try:
            # Never a named pipe put in its place, whose opening waits for a writer.
            file = open_regular(path)
        except OSError:
            return None
        # Checked on the file opened, which a later rename over it does not change.
        if version(os.fstat(file.fileno())) != expected:
            file.close()
            return None
        return cls(file)

    @property
    def file(self) -> BinaryIO:
        return self._file

    def close(self) -> None:
        self._file.close()

    def read(self, blocks: list[FeedEvent]) -> Iterator[bytes]:
        """The bytes of `blocks` (none in memory), in order, neighbours in one read, and
        those that follow one another in the file as one slice: most of them do. One pass
        over the blocks, since a feed has hundreds of thousands."""
        start = first = last = -1
        runs: list[tuple[int, int]] = []  # of the piece to read: (where, end) of each run
        for b in blocks:
            at = b.at
            stop = at + b.size
            if start >= 0 and last <= at <= last + _GAP and stop - start <= _PIECE:
                if at != last:
                    runs.append((first, last))
                    first = at
                last = stop
                continue
            if start >= 0:
                runs.append((first, last))
                yield from self._piece(start, runs)
            start = first = at
            last = stop
            runs = []
        if start >= 0:
            runs.append((first, last))
            yield from self._piece(start, runs)

    def _piece(self, start: int, runs: list[tuple[int, int]]) -> Iterator[bytes]:
        end = runs[-1][1]
        piece = os.pread(self._file.fileno(), end - start, start)
        if len(piece) != end - start:
            raise OSError(f"{self._file.name} is shorter than the events it holds")
        if len(runs) == 1:
            yield piece
            return
        for first, last in runs:
            yield piece[first - start:last - start]


def _blocks(events: list[FeedEvent], source: _Source | None) -> Iterator[bytes]:
    """The VEVENT bytes of `events`, in order: those in memory as they are, the others read
    back from the last run's all.ics."""
    pending: list[FeedEvent] = []
    for ev in events:
        data = ev.data
        if data is None:
            pending.append(ev)
            continue
        if pending:
            assert source is not None, "an event kept in a file no run opened"
            yield from source.read(pending)
            pending = []
        yield data
    if pending:
        assert source is not None, "an event kept in a file no run opened"
        yield from source.read(pending)


def _move(events: list[FeedEvent], start: int) -> None:
    """Let `events`, written one after the other into all.ics from `start`,
    hold where they lie there instead of their bytes."""
    at = start
    for ev in events:
        ev.at, ev.data = at, None
        at += ev.size


def _shift(order: list[FeedEvent], pieces: list[_Piece], start: int) -> bool:
    """`_move` for an all.ics that is `pieces` of the last run's events `order` (`_splice`),
    when they lay one after the other in its file (`_in_all`): each stretch's events move
    by as much as its first, and not at all when it did not move, as none before the first
    change do. False, moving none, when they did not so lie."""
    places = _in_all(order, pieces)
    if places is None:
        return False
    at, stretches = start, iter(places)
    for piece in pieces:
        if type(piece) is _Stretch:
            was, size = next(stretches)
            if at != was:
                for ev in order[piece.start:piece.stop]:
                    ev.at += at - was
            at += size
        else:
            ev = cast(FeedEvent, piece)
            ev.at, ev.data = at, None
            at += ev.size
    return True


class EventCache:
    """The last publishing run, for the next run to reuse: a process that keeps running
    (`calendar-tool run`) republishes after every edit of the register, and an edit changes
    the events of one entry, not the hundreds of thousands of a large register, and the
    feeds of one area and a few actors, not all of them.

    The events, entry by entry. A run expands and serialises again only the entries whose
    events may have changed, and takes the others, already in date order, from the last run:
    not their bytes, which the process does not hold (a large register's are hundreds of
    megabytes), but where they lie in the `all.ics` the last run wrote. After a few changes,
    a feed assembled again is its header, the changed entries' events and the stretches
    between them of the file it replaces (for all.ics, of the last run's), which the
    kernel copies (`files.Span`) without this process reading them; after many, the
    unchanged events are read back from that all.ics, neighbours in one read.
    An entry's events are reused only with the revision they were written with. That suffices
    because an entry's occurrences are a function of the entry and the date it resolves to,
    and each event a function of its occurrence and of what the register says about the
    actors, areas, documents and reminders it names; all of that is in the revision's content
    hash (`revisions.content_hash`), on which SEQUENCE already relies for subscribers to see a
    change. How far a series is expanded depends on the horizon as well.

    What invalidates an entry's events:
    - a new revision of the entry: any change to what the feed shows for it (the entry, the
      date of its anchor, a title or document it names, the register's default reminders);
    - for a series, a new horizon (a new day): its occurrences are expanded again, and those
      it already had keep their events; when it has no occurrence in the days the horizon
      moved on, its events did not change at all (`_entry_events`), which a horizon short of
      where its next occurrence starts (`_Run.nexts`) is known to bring without a count;
    - a run without the entry (it was removed): each run keeps only what it published;
    - every event at once: an `all.ics` that is not the file the last run left (its
      `files.Version` differs: rewritten, replaced, removed, or written by a run that then
      failed). The run then serialises every event, as without a cache.
    Nothing else: no event depends on the day of publishing.

    The feeds, for the folder the last run wrote: each feed's spec, its events (the run's
    own, in order) and the version of its file as the run left it (`files.Version`: size,
    modification time, inode, change time). A feed's bytes are a function of its spec and
    of its entries' events, so a feed none of whose entries' events changed, with the same
    spec, has the bytes of the last run, whatever the horizon; if its file is still the one
    the last run left, it is not assembled, read or compared, and is reported unchanged with
    the last run's count of events. A feed that did change is, after a few changed events,
    its last events with the changes made, rather than picked out of all the events again;
    that holds whatever else changed, since the changed entries (below) are all the events
    that come and go.

    What invalidates a feed (it is then assembled and compared as without a cache):
    - an entry whose events changed (see above) and that is in the feed in the last run or
      in this one: added, removed, edited, or moved from one area or actor to another (both
      feeds are assembled again);
    - a new spec: the feed's title or description (the register's title, the area's or
      actor's), or a feed the last run did not have;
    - a file that is not as the last run left it: removed, rewritten, touched or replaced by
      anyone else (its version differs). Only a change that keeps all four goes unseen: the
      same size written in place within the tick of the file system's clock in which the
      run wrote the file;
    - a run into another folder than the last run's;
    - a run that failed: a run is kept only once it has written every file, so that the next
      one compares with the last that did.
    A feed the last run found empty (and did not write) stays so while none of its entries
    changes: it is skipped again without being assembled. One that becomes empty or not
    empty has an entry that changed.

    So the revisions given must be those `revisions.next_revisions` computes for the register
    published, as `service.publish_feeds` passes them; revisions made up by hand do not change
    when an entry does. Holds one run's events as where they lie in its `all.ics`, a few
    dozen bytes each (the feeds' lists refer to the same events), and the bytes of those a
    run serialised only until it has written its files; a run with no last run holds none,
    writing them into the feeds' files as it goes instead (`_written_at_once`). One run at
    a time: a run that has written every file moves the events it kept to where its own
    `all.ics` has them (`Runner.publish` holds its lock around a run).

    Between processes: `kept` gives the last run as plain data and `seed` takes such a run
    up, its events lying in the copy of its all.ics kept with it (`kept.EventFile`), which
    is checked as the last run's all.ics is. The rules above hold unchanged, since the
    revisions come from the store, which both processes share; an entry's Entry is then
    its areas and actors (`Facets`), all a run needs of an entry it no longer has, and a
    feed's events are picked out of the run's only when a run assembles it again.
    """

    def __init__(self) -> None:
        # The last run's entries, events and feeds: one attribute, replaced in one
        # assignment, so that a run never sees one run's entries with another's events.
        self._last = _Run({}, [])

    def events(self, register: Register, revs: Mapping[str, Revision], until: date,
               link_base: str | None = None, into: Path | None = None) -> _Events:
        """Every event the feeds carry up to `until`, in date order, how many of them had to
        be serialised, and which entries' events changed since the last run. Nothing is kept
        yet: `publish` keeps the run once it has written every file (`keep`). (`link_base`:
        the public URL, which the revisions' hashes take: a new one revises every entry.)
        With the feeds' folder (`into`) and no last run, or one most of whose entries were
        revised since, every event is serialised straight into the files of the feeds it is
        in there rather than into memory, and the feeds come back written
        (`_written_at_once`, `_Events.feeds`)."""
        writer = ical.EventWriter(register, link_base)
        last = self._last
        source = _Source.of(last)
        if source is None and last.events:
            last = _Run({}, [])  # its events are not where it left them: serialise them all
        revised = _revised(register, revs, last) if last.entries else None
        touched = sorted(revised) if revised is not None and last.until == until else None
        if into is not None and revised is not None and \
                len(revised) > len(register.entries) // _MOSTLY:
            # Most entries were revised (the store is new, the public URL or a declared
            # title every entry shows changed): their events are serialised again, straight
            # into the feeds' files as a first run's are, not into memory (800 MB at 100,000
            # entries). The last run is let go now, not once this one is kept: it is of no
            # more use.
            if source is not None:
                source.close()
            self._last = last = _Run({}, [])
        if into is not None and not last.entries and not last.events:
            return _written_at_once(register, revs, until, writer, last, into)
        try:
            return self._collect(register, revs, until, writer, last, source, touched)
        except BaseException:
            if source is not None:
                source.close()
            raise

    def _collect(self, register: Register, revs: Mapping[str, Revision], until: date,
                 writer: ical.EventWriter, last: _Run, source: _Source | None,
                 touched: list[str] | None) -> _Events:
        """`events`, from `last` (whose events are read back from `source`); `touched`: the
        entries `_revised` gives when the last run reached the same horizon, sorted (runs
        that do the same work do it in the same order); None: every entry is looked at.
        The events' `nexts` are the last run's, for the entries the register still has, as
        each entry looked at leaves them (`_entry_events`)."""
        resolver = resolver_for(register)
        if touched is None:
            kept: dict[str, _Kept] = {}
            todo: Iterable[Entry] = register.entries
            looked: Iterable[str] = last.entries
        else:
            kept = dict(last.entries)
            removed = last.entries.keys() - register.by_id.keys()
            for k in removed:
                del kept[k]
            todo = [register.by_id[k] for k in touched]
            looked = sorted(removed.union(touched))
        fresh: list[FeedEvent] = []
        new: list[_Kept] = []
        serialised = 0
        nexts = {k: d for k, d in last.nexts.items() if k in register.by_id}
        for e in todo:
            old = last.entries.get(e.id)
            own, made, after = _entry_events(e, revs[e.id], _reach(e, until), old,
                                             nexts.pop(e.id, None), resolver, until, writer)
            kept[e.id], serialised = own, serialised + made
            if after is not None:
                nexts[e.id] = after
            if old is not None and own.events is old.events:
                continue  # its events as the last run had them: neither gone nor new
            fresh += own.events
            if own.events:
                new.append(own)
        gone = [old for k in looked
                if (old := last.entries.get(k)) is not None and old.events
                and ((now := kept.get(k)) is None or now.events is not old.events)]
        stale = [ev for old in gone for ev in old.events]
        merged, pieces = _merge(last.events, stale, fresh)
        return _Events(merged, serialised, kept, last, tuple(gone), tuple(new), source, pieces,
                       nexts)

    def keep(self, run: _Run) -> None:
        """Keep a run that has written all its files, for the next one."""
        self._last = run

    def empty(self) -> bool:
        """Whether it holds no run yet."""
        return not self._last.entries and self._last.source is None

    def held(self) -> int:
        """How many bytes of events the last run left in memory rather than in its files."""
        last = self._last
        return sum(len(ev.data) for ev in last.events if ev.data is not None)

    def kept(self) -> KeptEvents | None:
        """The last run as plain data, for another process to take up (`seed`): None when
        there is none, or its events do not all lie in its file."""
        last = self._last
        if last.source is None or last.until is None or last.out_dir is None:
            return None
        events = last.events
        if any(map(is_not, map(_DATA, events), itertools.repeat(None))):
            return None
        # First, as it makes and drops a table a feed: the columns below then take the
        # memory freed, rather than more (publish keeps its run at its peak).
        feeds = {name: (feed.spec, feed.file, feed.count, feed.start,
                        _places(feed.events, events) if feed.spec.facet != "all" else None)
                 for name, feed in last.feeds.items()}
        # Each event's fields as columns, not a tuple an event: a tuple and its entry in
        # pickle's memo were 55 MB at 100,000 entries, the peak of a first publish, which
        # keeps its run. One date object for each day, which pickle then writes once and
        # the process that takes the run up shares (10 MB of 311,000 events' dates).
        same: dict[date, date] = {}
        days = list(map(same.setdefault, map(_DAY, events), map(_DAY, events)))
        eids = list(map(_EID, events))
        numbers = array("q", map(_NUMBER, events))
        places, sizes = array("Q", map(_AT, events)), array("Q", map(_SIZE, events))
        entries = KeptEntries.of(last.entries)
        return KeptEvents(last.until, last.out_dir, feeds, entries, days, eids, numbers, places,
                          sizes, last.source, last.nexts)

    def seed(self, kept: KeptEvents, revs: Mapping[str, Revision] | None = None) -> None:
        """Take up a run another process kept (`kept`), as if this process had made it:
        its events lie in `kept.source`, which is checked before each run reads it. Each
        feed's events are taken from where the run kept says they are among its events.
        `revs`: the revisions this process publishes with; an entry's kept revision equal
        to its one there is taken as that object, so that the process does not hold two
        copies of every revision (25 MB at 100,000 entries) and the next run finds the
        unchanged ones by reference (`_revised`). Its ids are the process's strings too (5 MB
        at 100,000 entries): `revs`' keys, the register's own."""
        # Sizes repeat: one int object for each, not one per event.
        sizes: dict[int, int] = {}
        own = {k: k for k in revs} if revs is not None else {}
        eids = map(own.get, kept.eids, kept.eids)
        events = [FeedEvent(day, eid, number, None, at, sizes.setdefault(size, size))
                  for day, eid, number, at, size in zip(kept.days, eids, kept.numbers,
                                                        kept.places, kept.sizes, strict=True)]
        # Sorted as they were written; a run merges into them by bisection.
        events.sort(key=_KEY)
        by_entry = _by_entry(events)
        facets: dict[tuple[tuple[str, ...], tuple[str, ...]], Facets] = {}
        entries = {}
        current = revs if revs is not None else {}
        for read, revision, until, areas, actors in kept.entries.rows(current):
            k = own.get(read, read)
            # One Facets per pair, as the register's entries share their tuples.
            shown = facets.setdefault((areas, actors), Facets(areas, actors))
            entries[k] = _Kept(shown, revision, until, tuple(by_entry.get(k, ())))
        feeds = {name: _Feed(spec, None if places is None else
                             list(map(events.__getitem__, places)), file, count, start)
                 for name, (spec, file, count, start, places) in kept.feeds.items()}
        nexts = {own.get(k, k): day for k, day in kept.nexts.items()}
        self._last = _Run(entries, events, kept.until, kept.out_dir, feeds, kept.source, nexts)


def _entry_events(e: Entry, rev: Revision, reach: date | None, old: _Kept | None,
                  after: date | None, resolver: Resolver, until: date,
                  writer: ical.EventWriter) -> tuple[_Kept, int, date | None]:
    """An entry's part of a run, how many of its events were serialised, and for a series
    where its next occurrence past `until` starts, when known (`_Run.nexts`; `after`: the
    last run's). The last run's part (`old`) when it has the same revision and reach; else
    its occurrences up to `until`, each event the last run's for the same occurrence under
    the same revision, or serialised. A series with the same revision and as many dates up
    to `until` as it had events (nothing new in the days the horizon moved on) keeps the
    very tuple the last run had, which tells the run the entry's events did not change: the
    day after, a large register's feeds are then mostly left as they are rather than all
    assembled again. (An entry of the same revision that is not a series has the same
    reach, so it is the last run's part; one that is, with another count, has events that
    come or go: no other case can find all its events the last run's.)"""
    if old is not None and old.revision == rev and old.until == reach:
        return old, 0, after
    if old is not None and old.revision == rev and e.series is not None:
        # A series' occurrences up to any horizon are those that start by it, so they hold
        # those up to a nearer one, a horizon short of the next start brings none, and as
        # many as the last run had are the same: counted without making an occurrence each
        # (a large register's series have 230,000).
        if after is not None and old.until is not None and old.until <= until < after:
            return _Kept(e, rev, reach, old.events), 0, after
        count, after = series_count(e.series, until)
        if count == len(old.events):
            return _Kept(e, rev, reach, old.events), 0, after
    had = {_KEY(ev): ev for ev in old.events} \
        if old is not None and old.revision == rev else {}
    events = []
    made = 0
    for o in entry_occurrences(e, resolver, until):
        if o.when is None:
            continue  # a standing obligation: no calendar day
        key = _keyed(o)
        ev = had.get(key)
        if ev is None:
            ev = FeedEvent(*key, writer.event_bytes(o, rev))
            made += 1
        events.append(ev)
    return _Kept(e, rev, reach, tuple(events)), made, None


def _written_at_once(register: Register, revs: Mapping[str, Revision], until: date,
                     writer: ical.EventWriter, last: _Run, folder: Path) -> _Events:
    """`EventCache.events` when there is no last run to take events from: every event
    serialised once, in date order, straight into the file of each feed of `folder` it is
    in (`files.drafts`), and each file then replacing the feed when its bytes changed; the
    feeds come back written (`_Events.feeds`). None of the events' bytes is held, since a
    large register's are hundreds of megabytes, and none is read back: once every file is
    written they lie in all.ics as they do after any run (`_move`)."""
    occs, left = _sorted_occurrences(register, until)
    specs = feed_specs(register)
    heads = [tuple(ical.calendar_chunks(spec.info, ())) for spec in specs]
    with drafts([folder / f"{spec.info.name}.ics" for spec in specs]) as files:
        for draft, (head, _) in zip(files, heads, strict=True):
            draft.file.write(head)
        chosen = _serialise(occs, writer, revs, list(zip(specs, files, strict=True)), left)
        feeds: dict[str, tuple[_Feed, bool]] = {}
        for spec, draft, evs, (head, end) in zip(specs, files, chosen, heads, strict=True):
            written, file, first = False, None, None
            if evs:  # an empty feed is not written: its draft is removed
                draft.file.write(end)
                written, file, first = draft.commit(), version_of(draft.path), len(head)
            feeds[spec.info.name] = (_Feed(spec, evs, file, len(evs), first), written)
    events = chosen[0]  # all.ics's, which has every event
    by_entry = _by_entry(events)
    kept: dict[str, _Kept] = {}
    new = []
    for e in register.entries:
        own = kept[e.id] = _Kept(e, revs[e.id], _reach(e, until),
                                 tuple(by_entry.pop(e.id, ())))
        if own.events:
            new.append(own)
    return _Events(events, len(events), kept, last, (), tuple(new), feeds=feeds,
                   start=len(heads[0][0]) if events else None)


def _sorted_occurrences(register: Register, until: date
                        ) -> tuple[list[Occurrence | None], dict[str, int]]:
    """The dated occurrences up to `until`, in the order of all.ics, and how many each entry
    has (those with none left out)."""
    occs: list[Occurrence | None] = []  # each dropped once written
    left: dict[str, int] = {}
    resolver = resolver_for(register)
    for e in register.entries:
        before = len(occs)
        occs += (o for o in entry_occurrences(e, resolver, until)
                 if o.when is not None)  # a standing obligation has no calendar day
        if len(occs) > before:
            left[e.id] = len(occs) - before
    # The occurrences themselves sorted, not their places by their keys: the keys and the
    # places were 30 MB more held while every event was written (100,000 entries). In the
    # order `_keyed` gives, a part of the key at a time from the last (the sort is stable),
    # each part an object the occurrence holds: a tuple of the three for each was 25 MB
    # more, at the peak of a first publish.
    occs.sort(key=_number)  # type: ignore[arg-type]  # none is None yet
    occs.sort(key=_ENTRY_ID)
    occs.sort(key=_DUE)
    return occs, left


def _serialise(occs: list[Occurrence | None], writer: ical.EventWriter,
               revs: Mapping[str, Revision], feeds: list[tuple[FeedSpec, Draft]],
               left: dict[str, int]) -> list[list[FeedEvent]]:
    """Serialise `occs` (sorted), each dropped once written, into the draft of every feed
    it is in, and drop what the writer keeps for an entry once its last one is (`left`: how
    many each entry has, counted down); the events of each feed, in order (the first feed's
    placed one after the other from 0: `FeedEvent.at`)."""
    chosen: list[list[FeedEvent]] = [[] for _ in feeds]
    # For each entry being written, the drafts' writes and event lists of its feeds.
    targets: dict[str, list[tuple[Callable[[bytes], object], list[FeedEvent]]]] = {}
    sizes: dict[int, int] = {}  # one int object for each size, not one per event
    at = 0
    for i, o in enumerate(occs):
        assert o is not None
        occs[i] = None
        e = o.entry
        entry_id = e.id
        data = writer.event_bytes(o, revs[entry_id])
        into = targets.get(entry_id)
        if into is None:
            into = targets[entry_id] = [(draft.file.write, evs) for (spec, draft), evs
                                        in zip(feeds, chosen, strict=True) if spec.keep(e)]
        left[entry_id] -= 1
        if not left[entry_id]:
            writer.forget(entry_id)
            del targets[entry_id]
        size = len(data)
        ev = FeedEvent(*_keyed(o), None, at, sizes.setdefault(size, size))
        at += size
        for write, evs in into:
            write(data)
            evs.append(ev)
    return chosen


def _by_entry(events: Iterable[FeedEvent]) -> dict[str, list[FeedEvent]]:
    """`events` by their entry's id, each entry's in the order given."""
    out: dict[str, list[FeedEvent]] = {}
    for ev in events:
        out.setdefault(ev.eid, []).append(ev)
    return out


def _reach(e: Entry, until: date) -> date | None:
    """The horizon an entry's events reach, as a run keeps it: a series' `until`; None for
    any other entry, whose events do not depend on it."""
    return until if e.series is not None else None


def _places(evs: list[FeedEvent] | None, events: list[FeedEvent]) -> array[int] | None:
    """Where each of a feed's events `evs` is among all the run's events `events` (the same
    objects, sorted alike), for a process that takes the run up: it then has each feed's
    events without a pass over all of them, and its first edit copies a feed's other events
    from the feed's file as every later one does. None when the feed's events were not
    picked out (or, which cannot be, are not all among them, in their order).

    A pass over `events` for each feed, in C: a table of every event's place by its identity
    was 30 MB at 100,000 entries, the peak of a first publish, which keeps its run. An event
    is hashed and compared by its identity (it defines neither), with no int made for it."""
    if evs is None:
        return None
    mine = set(evs)
    found = array("I", itertools.compress(itertools.count(), map(mine.__contains__, events)))
    if len(found) != len(evs) or not all(map(is_, evs, map(events.__getitem__, found))):
        return None
    return found


# A run writes its events as a first run does, when more than one entry in this many was
# revised since the last run (see `EventCache.events`).
_MOSTLY = 2


def _revised(register: Register, revs: Mapping[str, Revision], last: _Run) -> set[str]:
    """The ids of the entries whose events may not be the last run's whatever the horizon:
    those it did not have, and those with another revision. Whether most entries were
    revised is asked of this, not of `touched`: a run on a later day than the last (every
    entry then looked at) that revises most entries would otherwise serialise all their
    events into memory (800 MB at 100,000 entries: a new store the day after a `run`).

    A pass over references to the revisions rather than the entries: after an edit, the
    entries of a large register were a third of the cost of republishing. The revisions
    the run was written with are gathered from its entries in C, at each run: some 30 ms
    more at 100,000 entries than when the run held them in a dict of its own, which was
    3.7 MB more that `run` keeps. (Reaching them through the entries' parts without the
    dict costs less time, and left `run` 2.5 MB larger after its start: where the
    allocator puts what comes after is the whole difference.)"""
    before = dict(zip(last.entries, map(_REVISION, last.entries.values()), strict=True))
    ids = register.by_id.keys() - last.entries.keys()
    for k in _other_objects(revs, before):
        rev, was = revs[k], before.get(k)
        # The same object, unless the run was taken up from disk: compared then.
        if was is not rev and was != rev and k in register.by_id:
            ids.add(k)
    return ids


def _other_objects(revs: Mapping[str, Revision], before: Mapping[str, Revision]
                   ) -> Iterable[str]:
    """The ids in `revs` whose revision may not be the very object `before` has: when both
    list the same ids in the same order, as one process's runs do (`next_revisions` keeps
    the order of the revisions it is given, and adds new ids at the end), those whose
    objects differ and those after `before`'s last, found in C; otherwise all of them."""
    if len(revs) < len(before) or not all(map(eq, revs, before)):
        return revs
    return itertools.chain(
        itertools.compress(revs, map(is_not, revs.values(), before.values())),
        itertools.islice(revs, len(before), None))


@dataclass(frozen=True)
class KeptEntries:
    """The entries of a run kept on disk (`KeptEvents`), in the run's order, a column for
    each field: by entry its id, its revision (hash, sequence, instant), the horizon its
    events reach (None when that does not matter), its areas and actors. Not a tuple and a
    revision an entry: those, and their places in pickle's memo while the run was written,
    were 25 MB at 100,000 entries, at the peak of a first publish."""

    ids: list[str]
    hashes: list[str]
    sequences: array[int]
    changed: list[datetime]
    untils: list[date | None]
    areas: list[tuple[str, ...]]
    actors: list[tuple[str, ...]]

    @classmethod
    def of(cls, entries: Mapping[str, _Kept]) -> KeptEntries:
        out = cls([], [], array("q"), [], [], [], [])
        for k, kept in entries.items():
            out.ids.append(k)
            out.hashes.append(kept.revision.hash)
            out.sequences.append(kept.revision.sequence)
            out.changed.append(kept.revision.changed_at)
            out.untils.append(kept.until)
            out.areas.append(kept.entry.areas)
            out.actors.append(kept.entry.actors)
        return out

    def rows(self, revs: Mapping[str, Revision]) -> Iterator[
            tuple[str, Revision, date | None, tuple[str, ...], tuple[str, ...]]]:
        """Each entry's id, revision, horizon, areas and actors; its revision the very one
        `revs` has for it when that is the same."""
        for k, digest, sequence, changed, until, areas, actors in zip(
                self.ids, self.hashes, self.sequences, self.changed, self.untils, self.areas,
                self.actors, strict=True):
            kept = Revision(digest, sequence, changed)
            now = revs.get(k)
            yield k, now if now is not None and now == kept else kept, until, areas, actors


@dataclass(frozen=True)
class KeptEvents:
    """A publishing run as plain data (`EventCache.kept`), for a later process to take up
    (`EventCache.seed`) from the file it is kept in (`kept.EventFile`)."""

    until: date
    out_dir: Path  # resolved
    # Each feed's spec, file, number of events, where its first event lies in its file, and
    # where its events are among `events` (None: not known, and for all.ics, all of them).
    feeds: dict[str, tuple[FeedSpec, Version | None, int, int | None, array[int] | None]]
    entries: KeptEntries
    # Every event's day, entry id and number, sorted by them.
    days: list[date]
    eids: list[str]
    numbers: array[int]
    places: array[int]  # where each event lies in `source`
    sizes: array[int]  # and its size
    source: tuple[Path, Version]  # the file the events lie in, as it was
    nexts: dict[str, date]  # `_Run.nexts`


# Changed events up to which a run's events (and its feeds') are the last run's with the
# changes made one by one, rather than sorted again (or, for a feed, picked out again).
_FEW = 1000


class _Stretch(NamedTuple):
    """The events of a sorted list from `start` up to `stop`, as they were."""

    start: int
    stop: int


# A list of events after a few changes: stretches of the list before, and the events between.
_Piece = _Stretch | FeedEvent


def _merge(order: list[FeedEvent], stale: list[FeedEvent], fresh: list[FeedEvent]
           ) -> tuple[list[FeedEvent], list[_Piece] | None]:
    """`order` (sorted) without the `stale` events and with the `fresh` ones, sorted; and
    after a few changes, the same as pieces of `order` (`_splice`)."""
    if len(stale) + len(fresh) > _FEW:
        gone = {ev.eid for ev in stale}  # an entry's events are all stale or none
        merged = [ev for ev in order if ev.eid not in gone] + fresh
        merged.sort(key=_KEY)
        return merged, None
    pieces = _splice(order, stale, fresh)
    merged = []
    for piece in pieces:
        if type(piece) is _Stretch:
            merged += order[piece.start:piece.stop]
        else:
            merged.append(cast(FeedEvent, piece))
    return merged, pieces


def _splice(order: list[FeedEvent], stale: list[FeedEvent], fresh: list[FeedEvent]
            ) -> list[_Piece]:
    """`order` (sorted) without the `stale` events and with the `fresh` ones, in order, as
    stretches of `order` and the fresh events between them. After an edit, a few events in
    some hundred thousand: each found by bisection, rather than a pass over them all, and
    the stretches are what a feed written again copies from its file as they are."""
    cuts: list[tuple[int, int, EventKey, FeedEvent | None]] = []
    for gone in stale:
        key = _KEY(gone)
        at = bisect.bisect_left(order, key, key=_KEY)
        if at == len(order) or _KEY(order[at]) != key:
            raise AssertionError(f"{key} is not among the last run's events")
        cuts.append((at, 1, key, None))
    # Before the event it goes before; an entry's events are all stale or none, so no fresh
    # event has the key of one that stays.
    for new in fresh:
        key = _KEY(new)
        cuts.append((bisect.bisect_left(order, key, key=_KEY), 0, key, new))
    cuts.sort(key=itemgetter(0, 1, 2))
    pieces: list[_Piece] = []
    done = 0  # the events of `order` before this are placed or dropped
    for at, _, _, ev in cuts:
        if done < at:
            pieces.append(_Stretch(done, at))
            done = at
        if ev is None:
            done = at + 1
        else:
            pieces.append(ev)
    if done < len(order):
        pieces.append(_Stretch(done, len(order)))
    return pieces


def _events(register: Register, revs: Mapping[str, Revision], until: date,
            cache: EventCache | None, link_base: str | None, out_dir: Path) -> _Events:
    """Every event the feeds carry up to `until`, in date order, and how many were
    serialised: all of them, without a cache (and then in memory)."""
    if cache is not None:
        return cache.events(register, revs, until, link_base, into=out_dir)
    writer = ical.EventWriter(register, link_base)
    events = [FeedEvent(*_keyed(o), writer.event_bytes(o, revs[o.entry.id]))
              for o in feed_occurrences(register, until)]
    return _Events(events, len(events), {})


def _unchanged_feeds(specs: Sequence[FeedSpec], events: _Events, out_dir: Path
                     ) -> dict[str, _Feed]:
    """The feeds of `specs` that the last run left as this run would, by name: those it need
    not assemble (see `EventCache`)."""
    last = events.last
    if last is None or last.out_dir != _resolved(out_dir):
        return {}
    touched: set[str] = set()
    for k in (*events.gone, *events.new):
        touched.update(spec.info.name for spec in specs if spec.keep(k.entry))
        if len(touched) == len(specs):
            return {}  # a new default reminder, say: nothing to spare
    unchanged = {}
    for spec in specs:
        name = spec.info.name
        feed = last.feeds.get(name)
        if feed is None or feed.spec != spec or name in touched:
            continue
        if feed.file is None or version_of(out_dir / f"{name}.ics") == feed.file:
            unchanged[name] = feed
    return unchanged


def _feed_events(specs: Sequence[FeedSpec], register: Register, events: _Events
                 ) -> list[tuple[list[FeedEvent], list[_Piece] | None]]:
    """The events of each feed of `specs`, in order, and after a few changes the same as
    pieces of the last run's (`_splice`).

    A feed of everything has them all. After a few changes, a feed the last run had is its
    events then with the changes made, found by bisection: after an edit, a pass over all
    the events was most of the cost of republishing. Any other is picked out of all the
    events: one pass for them all, with each spec asked once per entry, rather than a pass
    per feed, since a large register has hundreds of thousands.
    """
    chosen: list[list[FeedEvent]] = [[] for _ in specs]
    pieces: list[list[_Piece] | None] = [None for _ in specs]
    last = events.last.feeds if events.last is not None else {}
    few = events.changed_events() <= _FEW
    picked = []
    for n, (spec, feed) in enumerate(zip(specs, chosen, strict=True)):
        old = last.get(spec.info.name)
        if spec.facet == "all":
            feed += events.events
            pieces[n] = events.pieces
        elif few and old is not None and old.events is not None and \
                (old.spec.facet, old.spec.key) == (spec.facet, spec.key):
            merged, pieces[n] = _merge(
                old.events, [ev for k in events.gone if spec.keep(k.entry) for ev in k.events],
                [ev for k in events.new if spec.keep(k.entry) for ev in k.events])
            feed += merged
        else:
            picked.append((spec, feed))
    if picked:
        _pick(picked, register, events)
    return list(zip(chosen, pieces, strict=True))


def _pick(picked: list[tuple[FeedSpec, list[FeedEvent]]], register: Register, events: _Events
          ) -> None:
    """Each feed's events picked out of all the events, in one pass."""
    into: dict[str, list[list[FeedEvent]]] = {}
    for ev in events.events:
        entry_id = ev.eid
        targets = into.get(entry_id)
        if targets is None:
            entry = register.entry(entry_id)
            assert entry is not None
            targets = [feed for spec, feed in picked if spec.keep(entry)]
            into[entry_id] = targets
        for feed in targets:
            feed.append(ev)


@dataclass(frozen=True)
class Selection:
    """A feed of one's own selection, once written (`selected_feed`): how many events it
    holds, and when its bytes last changed (its Last-Modified)."""

    events: int
    modified: datetime


def selected_feed(register: Register, revs: Mapping[str, Revision], info: ical.FeedInfo,
                  chosen: Sequence[Occurrence], changed_at: datetime, out: IO[bytes],
                  horizon_years: int = DEFAULT_HORIZON_YEARS, link_base: str | None = None
                  ) -> Selection:
    """A feed of one's own selection, written into `out` a piece at a time (one of most of
    a large register is hundreds of megabytes): of `chosen`, the dated occurrences up to the
    feeds' horizon that the selection's filters take, in feed order (those of
    `feed_occurrences` that `timeline.matches` takes; `service.selection` has them from the
    date index).

    Built as `publish` builds each of its feeds: the same horizon, the same events in the same
    order, each with the same bytes, so an event of a selected feed is byte for byte the event
    of `all.ics` published on the same day with the same revisions. Unlike `publish`, which
    writes no feed that would be empty, this returns a calendar without events when nothing is
    selected: a subscriber's own filter may match nothing yet and must still be subscribable.

    Its `modified` is the latest of what its bytes depend on: `changed_at` (when the register
    was last edited: titles, and entries that left the selection), the revisions of the
    entries it holds, and the day the latest of its series occurrences came within the
    horizon (the feed grows by one when the horizon passes an occurrence's start).
    """
    modified = max([changed_at, *(revs[o.entry.id].changed_at for o in chosen)])
    entered = max((_within_horizon_from(o.when.start, horizon_years) for o in chosen
                   if o.number is not None and o.when is not None), default=None)
    if entered is not None:
        modified = max(modified, datetime.combine(entered, time(), UTC))
    for piece in ical.calendar_pieces(info, chosen, register, revs, link_base):
        out.write(piece)
    return Selection(len(chosen), modified)


def _within_horizon_from(start: date, horizon_years: int) -> date:
    """The first day whose horizon (`timeline.horizon`) reaches `start`."""
    try:
        day = start.replace(year=start.year - horizon_years)
    except ValueError:  # 29 February, in a year that has none
        day = date(start.year - horizon_years, 2, 28)
    # Around 29 February the horizon of two days can be the same: step to the first.
    while horizon(day - _ONE_DAY, horizon_years) >= start:
        day -= _ONE_DAY
    while horizon(day, horizon_years) < start:
        day += _ONE_DAY
    return day


_ONE_DAY = timedelta(days=1)


def index_bytes(feeds: Sequence[FeedResult], horizon_years: int = DEFAULT_HORIZON_YEARS
                ) -> bytes:
    """`index.json`: each feed's name, title, path and event count, in feed order, and how
    many years past today the feeds expand series (`read_index` reads it)."""
    doc = {"feeds": [{"name": f.name, "title": f.title, "path": f.path, "events": f.events}
                     for f in feeds], "horizon_years": horizon_years}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class PublishedIndex(NamedTuple):
    """What a publish left in `index.json`: the feeds it lists (each a mapping, as written),
    how many years past today they expand series (a feed of one's own selection takes the
    same, so that its events are those of all.ics), and when it was written."""

    feeds: list[dict[str, object]]
    horizon_years: int
    written: datetime


def read_index(index: Path) -> PublishedIndex | None:
    """The `index.json` at `index`, read once; None when there is none or it cannot be used
    (not JSON, no list of feeds, a named pipe in its place, which would hold the caller).
    The horizon is the default when it does not say (one written before it said)."""
    try:
        with open_regular(index) as file:
            written = datetime.fromtimestamp(os.fstat(file.fileno()).st_mtime, UTC)
            doc = json.loads(file.read().decode("utf-8"))
        feeds = doc["feeds"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(feeds, list):
        return None
    years = doc.get("horizon_years")
    if type(years) is not int or years < 0:
        years = DEFAULT_HORIZON_YEARS
    return PublishedIndex([f for f in feeds if isinstance(f, dict)], years, written)


def feeds_missing(out_dir: Path) -> bool:
    """Whether what a publish left in `out_dir` is no longer all there: its index.json gone,
    or a feed the index lists (the folder deleted or emptied, a file removed), which a
    process that keeps publishing writes again rather than waiting for a change."""
    index = out_dir / INDEX_NAME
    if not index.is_file():
        return True
    return any(not (out_dir / name).is_file()
               for name in _old_feed_paths(index) if FEED_FILE.match(name))


def _old_feed_paths(index: Path) -> list[str]:
    """The paths of the feeds `index` lists; none when it cannot be read, which only means
    that nothing is known to be stale."""
    found = read_index(index)
    return [] if found is None else [str(f["path"]) for f in found.feeds if "path" in f]


def publish(register: Register, revs: Mapping[str, Revision], out_dir: Path, clock: Clock,
            horizon_years: int = DEFAULT_HORIZON_YEARS, cache: EventCache | None = None,
            link_base: str | None = None) -> PublishReport:
    """Write the register's feeds and `index.json` into `out_dir`.

    `register` is already validated and `revs` holds a revision for each of its entries
    (computed with the same `link_base`: the public URL events link back to, if any).
    Files whose bytes would not change are left untouched. With a `cache`, the events it
    holds from the last run are reused, and the feeds the last run left that none of the
    changed entries is in are not assembled again (see `EventCache` for when that is valid).
    Raises PublishFailed when the folder cannot be written.
    """
    if horizon_years < 0:
        raise ValueError("horizon_years must not be negative")
    until = horizon(today(clock), horizon_years)
    events: _Events | None = None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        events = _events(register, revs, until, cache, link_base, out_dir)
        feeds, start = _write_feeds(register, events, out_dir)
        results = [FeedResult(name, feed.spec.info.title, f"{name}.ics", feed.count, written)
                   for name, (feed, written) in feeds.items() if feed.count]
        removed = _remove_stale(out_dir, {f.path for f in results})
        index_written = write_if_changed(out_dir / INDEX_NAME,
                                         index_bytes(results, horizon_years))
    except FileExistsError as exc:  # mkdir: something that is not a folder is in the way
        raise PublishFailed(f"cannot publish into {str(out_dir)!r}: {exc.filename!r} is not a "
                            "folder") from None
    except OSError as exc:
        raise PublishFailed(f"cannot publish into {str(out_dir)!r}: {_why(exc, out_dir)}"
                            ) from None
    finally:
        if events is not None and events.source is not None:
            events.source.close()
    if cache is not None:
        source = events.last.source if events.last is not None else None
        if start is not None:
            # Every file is written, so nothing reads the last run's all.ics any more: each
            # event now lies in this run's.
            assembled = feeds["all"][0]
            assert assembled.events is not None, "all.ics was assembled by this run"
            if events.last is None or events.pieces is None or \
                    not _shift(events.last.events, events.pieces, start):
                _move(assembled.events, start)
            file = assembled.file
            source = None if file is None else (out_dir / "all.ics", file)
        cache.keep(_Run(events.entries, events.events, until, _resolved(out_dir),
                        {name: feed for name, (feed, _) in feeds.items()}, source,
                        events.nexts))
    # RFC 5545 requires at least one component in a calendar: an empty feed is not written.
    skipped = tuple(name for name, (feed, _) in feeds.items() if not feed.count)
    return PublishReport(out_dir, tuple(results), index_written, removed, skipped, until,
                         events.serialised)


# A feed's temporary file, as `files` names it beside the feed: .all.ics.k3j9x2.tmp
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[^.]+\.tmp$")


def _why(exc: OSError, out_dir: Path) -> str:
    """Why writing into `out_dir` failed, as a person reads it: "permission denied (writing
    all.ics)", the file named as the folder has it rather than the temporary file written
    first, and no errno."""
    reason = os_reason(exc)
    if exc.filename is None:
        return reason
    path = Path(os.fsdecode(exc.filename))
    if path.parent.resolve() != out_dir.resolve():
        return f"{reason} ({str(path)!r})"
    temporary = _TEMPORARY.match(path.name)
    return f"{reason} (writing {temporary['name'] if temporary else path.name})"


def _write_feeds(register: Register, events: _Events, out_dir: Path
                 ) -> tuple[dict[str, tuple[_Feed, bool]], int | None]:
    """Each feed of the register by name, as written (or left, when unchanged), and whether
    its file was written; and where the first event of all.ics lies in it when this run
    assembled it (None otherwise)."""
    if events.feeds is not None:
        return events.feeds, events.start
    specs = feed_specs(register)
    unchanged = _unchanged_feeds(specs, events, out_dir)
    build = [spec for spec in specs if spec.info.name not in unchanged]
    chosen = dict(zip([spec.info.name for spec in build],
                      _feed_events(build, register, events), strict=True))
    feeds: dict[str, tuple[_Feed, bool]] = {}
    start = None
    for spec in specs:
        name = spec.info.name
        path = out_dir / f"{name}.ics"
        feed = unchanged.get(name)
        written = False
        if feed is None:
            evs, pieces = chosen[name]
            first = None
            if evs:
                written, first = _write_feed(path, spec, evs, pieces, events)
                start = first if spec.facet == "all" else start
            feed = _Feed(spec, evs, version_of(path) if evs else None, len(evs), first)
        feeds[name] = (feed, written)
    return feeds, start


def _write_feed(path: Path, spec: FeedSpec, evs: list[FeedEvent], pieces: list[_Piece] | None,
                events: _Events) -> tuple[bool, int]:
    """Write one feed assembled again: whether its file was written, and where its first
    event lies in it. After a few changes, the stretches of events that stay as they were
    are copied by the kernel from the file they lie in (`files.Span`): the other events of
    the feeds an edit reached are hundreds of megabytes on a large register."""
    with contextlib.ExitStack() as files:
        spans = _spans(path, spec, pieces, events, files) if pieces is not None else None
        if spans is None:
            chunks: Iterator[bytes | Span] = ical.calendar_chunks(spec.info,
                                                                  _feed_blocks(evs, events))
        else:
            head, end = ical.calendar_chunks(spec.info, ())
            chunks = itertools.chain((head,), _pieced(spans, events.source), (end,))
        head = cast(bytes, next(chunks))
        return write_chunks_if_changed(path, itertools.chain((head,), chunks)), len(head)


def _spans(path: Path, spec: FeedSpec, pieces: list[_Piece], events: _Events,
           files: contextlib.ExitStack) -> list[Span | FeedEvent] | None:
    """`pieces` of the last run's events with each stretch as where its bytes lie: in the
    last run's all.ics for all.ics, in its own file as the last run left it for another
    feed. None when they are not known to lie there (a run taken up from disk has no
    feed's events but all.ics's; a file someone else wrote): the feed is then assembled
    event by event."""
    last = events.last
    if last is None:
        return None
    if spec.facet == "all":
        if events.source is None:
            return None
        source, places = events.source.file, _in_all(last.events, pieces)
    else:
        old = last.feeds.get(spec.info.name)
        if old is None or old.events is None or old.start is None or old.file is None:
            return None
        try:
            source = files.enter_context(open_regular(path))
        except OSError:
            return None
        if version(os.fstat(source.fileno())) != old.file:
            return None
        places = _in_feed(old.events, pieces, old.start)
    if places is None:
        return None
    stretches = iter(places)
    return [Span(source, *next(stretches)) if type(piece) is _Stretch
            else cast(FeedEvent, piece) for piece in pieces]


def _in_all(order: list[FeedEvent], pieces: list[_Piece]) -> list[tuple[int, int]] | None:
    """Where each stretch of `pieces` lies in the file the events of `order` were read
    from (`FeedEvent.at`) and how long it is: one after the other, as every run's events lie
    in the all.ics it wrote (`_move`, `_shift`), and a run taken up from disk's in the copy
    of it. None when they do not so lie."""
    places = []
    for piece in pieces:
        if type(piece) is _Stretch:
            first, last = order[piece.start], order[piece.stop - 1]
            if first.data is not None or last.data is not None or last.at < first.at:
                return None
            places.append((first.at, last.at + last.size - first.at))
    return places


def _in_feed(order: list[FeedEvent], pieces: list[_Piece], start: int
             ) -> list[tuple[int, int]]:
    """Where each stretch of `pieces` lies in the file of a feed whose events are `order`,
    the first at `start`, and how long it is."""
    places = []
    done, at = 0, start  # where order[done] lies
    for piece in pieces:
        if type(piece) is _Stretch:
            at += _size(order[done:piece.start])
            size = _size(order[piece.start:piece.stop])
            places.append((at, size))
            done, at = piece.stop, at + size
    return places


def _size(events: list[FeedEvent]) -> int:
    """How many bytes `events` have: in C, since a feed has hundreds of thousands."""
    return sum(map(_SIZE, events))


def _pieced(spans: list[Span | FeedEvent], source: _Source | None) -> Iterator[bytes | Span]:
    """The chunks of `_spans`: the spans as they are, the events between them as bytes."""
    loose: list[FeedEvent] = []
    for piece in spans:
        if type(piece) is Span:
            if loose:
                yield from _blocks(loose, source)
                loose = []
            yield piece
        else:
            loose.append(cast(FeedEvent, piece))
    if loose:
        yield from _blocks(loose, source)


def _feed_blocks(evs: list[FeedEvent], events: _Events) -> Iterator[bytes]:
    if events.last is None:
        # No cache, so every event's bytes in hand: without a Python step per event, all.ics
        # has hundreds of thousands.
        return cast(Iterator[bytes], map(_DATA, evs))
    return _blocks(evs, events.source)


def _resolved(out_dir: Path) -> Path:
    """The folder as a run keeps it: the same folder named from another working folder (or
    by another process, `KeptEvents`) is still the same."""
    return out_dir.resolve()


def _remove_stale(out_dir: Path, current: set[str]) -> tuple[str, ...]:
    """Remove the feeds an earlier run wrote (by its index) that this one does not."""
    removed = []
    for old in _old_feed_paths(out_dir / INDEX_NAME):
        if old not in current and FEED_FILE.match(old) and (out_dir / old).is_file():
            (out_dir / old).unlink()
            removed.append(old)
    return tuple(removed)
