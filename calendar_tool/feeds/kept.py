"""Content hashes kept on disk between processes: a fresh `publish`, or `run` starting, then
hashes only the entries whose inputs changed since the hashes were kept, instead of every
entry of the register (hashing 100,000 entries took a third of a publish).

One file per register path in the cache folder (`CALENDAR_TOOL_CACHE`; `off`: none), beside
the entry cache: a pickled head {stamp}, then {digest of an entry's text: (context digest,
resolved date, content hash)}. A kept hash is taken for an entry only through `Hashes`, which
checks it as it checks a hash kept in memory.

What invalidates a kept hash:
- the entry's text: it is found by a digest of the entry's byte-identical text, and an entry
  is a function of its own text alone (as the entry cache takes it);
- what the entry takes from the rest of the register (the default reminders, the declared
  actors, areas and documents, the public URL: `revisions._Context`'s digest) and its
  resolved date when it is dated from another entry: each kept beside the hash, and another
  one means hashing the entry again;
- the code: the file is stamped with a digest of the modules the hash depends on (`_CODE`)
  and of the code that turns an entry's text into the entry (given by the caller, the
  register's), and a file with another stamp is ignored.
Anything wrong with the file (missing, corrupt, another stamp, not a regular file) only means
hashing every entry, and failing to write it is not an error either. Unpickling runs code from
the file, so it lives in the user's own cache folder, as the entry cache does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pickle
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, TypeGuard

from calendar_tool import wording
from calendar_tool.feeds import ical
from calendar_tool.feeds.publishing import EventCache, KeptEvents
from calendar_tool.feeds.revisions import Hashes
from calendar_tool.files import (
    Version,
    Written,
    cache_path,
    code_digest,
    copy_file,
    open_regular,
    replace_file,
    version,
)
from calendar_tool.model import Entry, Revision
from calendar_tool.timeline import Resolved

# What a content hash is computed with, from an entry, its resolved date and its context.
_CODE = ("model.py", "wording/events.py", "timeline.py", "feeds/revisions.py",
         "feeds/kept.py")
# What an entry's events are expanded and serialised with, from the entry and its revision.
_EVENT_CODE = (*_CODE, "feeds/ical.py", "feeds/publishing.py")


def _key(text: str) -> bytes:
    """What an entry's text is found by in the file: a digest, so that the file does not hold
    the register's text a second time."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


@dataclass(frozen=True)
class HashFile:
    """The content hashes of one register's entries, kept in `path` between processes.

    `entries`: the register's entries by the digest of the text each was read from (`of`);
    `stamp`: a digest of the code that turns an entry's text into the entry."""

    path: Path
    entries: Mapping[bytes, Entry]
    stamp: str

    @classmethod
    def of(cls, folder: Path, register: Path, entries: Mapping[str, Entry], stamp: str
           ) -> HashFile:
        """The hashes of the register at `register` in the cache `folder`, for `entries` by
        their text (`Located.reusable()`). Only digests of the texts are held, so that a
        large register's text is not kept alive for the file's sake."""
        return cls(cache_path(folder, register, "hashes", "pickle"),
                   {_key(text): entry for text, entry in entries.items()}, stamp)

    def seed(self, hashes: Hashes) -> int:
        """Give `hashes` the hash kept for each entry; how many were found."""
        kept = self._read()
        found = 0
        if kept:
            for key, entry in self.entries.items():
                record = kept.get(key)
                if _usable(record):
                    context, resolved, digest = record
                    hashes.keep(entry, context, resolved, digest)
                    found += 1
        hashes.written = hashes.computed
        return found

    def keep(self, hashes: Hashes) -> None:
        """Write the hashes `hashes` holds for the entries (only theirs, so that the file does
        not grow with every edit)."""
        records = {}
        for key, entry in self.entries.items():
            record = hashes.kept(entry)
            if record is not None:
                records[key] = record
        hashes.written = hashes.computed
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(self.path, [_pickled({"stamp": self._stamp()}), _streamed(records)])

    def _stamp(self) -> str:
        # `wording.stamp()` as the hashes take it, beside the code's digest, so that the file
        # follows whatever the hashes were computed with.
        return f"{code_digest(_CODE)}:{wording.stamp()}:{self.stamp}"

    def _read(self) -> dict[bytes, Any]:
        try:
            # Never a named pipe put in its place: opening one waits for a writer.
            with open_regular(self.path) as f:
                head = pickle.load(f)
                if not isinstance(head, dict) or head.get("stamp") != self._stamp():
                    return {}
                records = pickle.load(f)
        except Exception:  # a broken file (truncated, another version) is no file
            return {}
        return records if isinstance(records, dict) else {}


def _usable(record: Any) -> TypeGuard[tuple[str, Resolved | None, str]]:
    """Whether a record of the file has the shape `keep` writes: anything else is not kept.
    (A resolved date of another type is never equal to an entry's, so is never taken.)"""
    return type(record) is tuple and len(record) == 3 and type(record[0]) is str \
        and type(record[2]) is str


def _pickled(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _streamed(value: object) -> Written:
    """`value` pickled straight into the file `replace_file` writes, never whole in memory
    (the run a publish of 100,000 entries keeps is 24 MB of pickle, its hashes 12 MB)."""
    return Written(lambda f: _Pickler(f).dump(value))


class _Pickler(pickle.Pickler):
    """`pickle`'s own, writing an array's items straight from the array. `array` pickles
    itself as a copy of its items in a new bytes object, which the pickler's memo then
    holds until the whole value is written: the kept run's columns and its feeds' places,
    10 MB at 100,000 entries, at the peak of a first publish."""

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file, pickle.HIGHEST_PROTOCOL)

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is array:
            return _array, (obj.typecode, pickle.PickleBuffer(obj))
        return NotImplemented


def _array(typecode: str, items: bytes | bytearray) -> array[Any]:
    """An array `_Pickler` wrote."""
    return array(typecode, items)


class EventFile:
    """The events of the last publishing run of one register, kept in the cache folder
    between processes: a fresh `publish`, or `run` starting, then expands and serialises
    only the entries whose revision changed since (serialising 311,000 events was half of a
    publish at 100,000 entries), and does not even assemble the feeds that were left as they
    were. Two files: a copy of the run's all.ics (`events-<key>.ics`), which its events are
    read back from, byte for byte, and the run as plain data (`events-<key>.pickle`:
    `publishing.KeptEvents`), where each event lies in that copy.

    The copy is made by the kernel (`files.copy_file`), from the all.ics the run wrote,
    opened and checked to be that very file. The run is taken up through
    `EventCache.seed`, and an entry's events then reused under the same rules as in one
    process (`EventCache`): the same revision, and for a series the same horizon.

    What invalidates it, beside what `EventCache` says:
    - the code: the file is stamped with a digest of the modules that expand and serialise
      events (`_EVENT_CODE`), the wording's stamp and icalendar's version; another stamp
      and the file is ignored;
    - the copy: each run checks it is the file the run was kept with (`files.Version`:
      size, times, inode), so a copy rewritten, removed or replaced by another process
      means serialising every event, as without it;
    - the feeds folder: its feeds are taken as unchanged only while each file is the one the
      kept run left (`files.Version`), in the same folder (resolved).
    Anything wrong with the files only means serialising every event, and failing to write
    them is not an error either. Unpickling runs code from the file, so it lives in the
    user's own cache folder, as the entry cache does."""

    def __init__(self, folder: Path, register: Path) -> None:
        self.path = cache_path(folder, register, "events", "pickle")
        self.copy = self.path.with_suffix(".ics")
        # The horizon of the run the files hold, as this process last read or wrote them
        # (None: none usable): a new one is a reason to keep the run again.
        self.until: date | None = None
        # Whether this process has published since the run the files hold, without keeping
        # its run (a few edits are not worth it): what its end keeps (`keep_if_behind`).
        self.behind = False

    def seed(self, cache: EventCache, revs: Mapping[str, Revision] | None = None) -> int:
        """Give `cache` the run kept on disk, if one is usable; how many events it holds.
        `revs`: the revisions the process publishes with (`EventCache.seed`)."""
        kept = self._read()
        if kept is None:
            return 0
        try:
            cache.seed(kept, revs)
        except Exception:  # a file of the right stamp but another shape is no file
            return 0
        self.until = kept.until
        return len(kept.eids)

    def keep(self, cache: EventCache) -> None:
        """Keep the last run of `cache`: its events' file copied (unless they already lie in
        the copy), then the run."""
        kept = cache.kept()
        if kept is None:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            source = kept.source if kept.source[0] == self.copy else self._copied(kept)
            if source is None:
                return
            replace_file(self.path, [_pickled({"stamp": self._stamp()}),
                                     _streamed(dataclasses.replace(kept, source=source))])
            self.until = kept.until
            self.behind = False

    def keep_if_behind(self, cache: EventCache) -> None:
        """Keep the last run of `cache` if the run kept is behind it (`behind`): at the end
        of a process, so that the next one takes up the feeds as they are, rather than
        assembling and comparing again every feed the edits since reached (at 100,000
        entries, a few seconds of its start)."""
        if self.behind:
            self.keep(cache)

    def _copied(self, kept: KeptEvents) -> tuple[Path, Version] | None:
        """A copy of the file the run's events lie in, if it is still the one they do."""
        path, expected = kept.source
        with open_regular(path) as f:  # a named pipe there is not the file: not waited on
            if version(os.fstat(f.fileno())) != expected:
                return None
            return self.copy, copy_file(f, self.copy)

    def _stamp(self) -> str:
        return f"{code_digest(_EVENT_CODE)}:{wording.stamp()}:{ical.SERIALISER}"

    def _read(self) -> KeptEvents | None:
        try:
            # Never a named pipe put in its place: opening one waits for a writer.
            with open_regular(self.path) as f:
                head = pickle.load(f)
                if not isinstance(head, dict) or head.get("stamp") != self._stamp():
                    return None
                kept = pickle.load(f)
        except Exception:  # a broken file (truncated, another version) is no file
            return None
        if not isinstance(kept, KeptEvents) or kept.source[0] != self.copy:
            return None
        return kept
