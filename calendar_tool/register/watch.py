"""The register file under a long-running process: parsed again only when the file changes,
and the last version that validated kept in service while the file has problems.

`run` (its register watch) and `serve` (every request) read the register through one of
these; `run --serve` hands both the same one, so an edit is read and validated once.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from calendar_tool.errors import CalendarToolError, RegisterInvalid, RegisterNotFound
from calendar_tool.files import Version, open_regular, version
from calendar_tool.model import Entry, Register
from calendar_tool.register.cache import keep_if_stale, kept
from calendar_tool.register.index import held_follows
from calendar_tool.register.located import Edit, Located
from calendar_tool.register.read import decode, parse_located, unreadable
from calendar_tool.timeline import EntryDates


def revision_of(data: bytes) -> str:
    """A register's revision: the first 12 hex digits of the SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()[:12]


@dataclass(frozen=True)
class RegisterState:
    """What is known of the register file now.

    `register` is the last version that validated, kept while the file has problems;
    `failure` says why the file as it is now is not the one in service."""

    revision: str | None  # digest of the file's bytes now; None when it cannot be read
    register: Register | None = None
    served: str | None = None  # the revision of `register`
    changed_at: datetime | None = None  # the file's mtime when `register` was read
    failure: CalendarToolError | None = None
    # How `register` differs from the one served before it, when the reader knows.
    edit: Edit | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and self.register is not None

    @property
    def error(self) -> str | None:
        return None if self.failure is None else str(self.failure)

    @property
    def problems(self) -> tuple[str, ...]:
        """Each problem as `validate` prints it."""
        if isinstance(self.failure, RegisterInvalid):
            return tuple(str(p) for p in self.failure.problems)
        return ()


class RegisterFile:
    """The register at `path`; `current()` costs one `stat` while the file is unchanged.

    `cache`: the entry cache's folder (`cache.kept`), whose entries the first read reuses as
    later reads reuse the last one: `run` then starts on a large register without composing
    again the entries `validate` or `publish` already read. `reading`: what each read of the
    file's text goes in (a shell passes `heap.kept`: the collector off while a read makes
    millions of objects, and what it made frozen after), and only a read: a call that finds
    the file unchanged does not enter it."""

    def __init__(self, path: Path, cache: Path | None = None,
                 reading: Callable[[], AbstractContextManager[object]] = nullcontext) -> None:
        self.path = path
        self._reading = reading
        self._lock = threading.Lock()
        self._seen: Version | None = None
        self._state = RegisterState(None, failure=RegisterNotFound(f"{path} not read yet"))
        # The last parse that validated: an edit then reads again only the entries it touched.
        self._located: Located | None = None
        self.cache = cache
        self._known: dict[str, Entry] | None = None
        # What resolving derived from each entry, carried from one read to the next.
        self._dates = EntryDates()
        self._strays = False  # whether `_dates` may hold entries of a text that failed

    def by_text(self) -> dict[str, Entry]:
        """The entries of the last read that validated by the text each was read from
        (`Located.reusable`): what is kept by entry text elsewhere, such as the feeds' content
        hashes, is found by it."""
        with self._lock:
            located = self._located
        return {} if located is None else located.reusable()

    def current(self) -> RegisterState:
        with self._lock:
            try:
                st = os.stat(self.path)
                if version(st) == self._seen:
                    return self._state
                # Never a FIFO or a device: reading one would hang or never end.
                with open_regular(self.path) as f:
                    data = f.read()
            except OSError as exc:
                self._seen = None
                self._state = replace(self._state, revision=None,
                                      failure=unreadable(self.path, exc))
                return self._state
            self._seen = version(st)
            rev = revision_of(data)
            old = self._state
            if rev == old.served and old.register is not None:
                self._state = replace(old, revision=rev, failure=None)
                return self._state
            try:
                text = decode(data, str(self.path))
            except RegisterInvalid as exc:
                self._state = replace(old, revision=rev, failure=exc)
                return self._state
            # The bytes go before the text is parsed: tens of megabytes less at the peak of a
            # reload, when the old register and the new are both in memory.
            del data
            with self._reading():
                self._state = self._parse(rev, text, st.st_mtime_ns)
            return self._state

    def _parse(self, rev: str, text: str, mtime_ns: int) -> RegisterState:
        old = self._state
        if self._located is None and self._known is None:
            self._known, self._dates = kept(self.path, self.cache)
        try:
            located = parse_located(text, str(self.path), known=self._known,
                                    before=self._located, dates=self._dates)
        except RegisterInvalid as exc:
            # Resolving may have kept dates for entries of the text that failed.
            self._strays = True
            return replace(old, revision=rev, failure=exc)
        if self._located is None and self._known is not None:
            # The first read: kept again when the cache had little of it (after an upgrade
            # of the tool, say), or every start would read the register cold until some
            # other command kept it.
            keep_if_stale(self.path, self.cache, self._known, located, self._dates)
        self._located = located
        self._known = {}  # what it held is in `located` now, or was not of use
        self._forget(located)
        edit = located.edit
        if edit is not None and (before := edit.before()) is not None:
            held_follows(located.register, before, edit.ids)
        changed = datetime.fromtimestamp(mtime_ns / 1e9, UTC).replace(microsecond=0)
        return RegisterState(rev, located.register, rev, changed, edit=located.edit)

    def _forget(self, located: Located) -> None:
        """Let the dates kept forget the entries the register read last no longer has: after
        an edit, those of the ids it reached that are not the same objects now (every other
        entry is), else whichever are not among its entries."""
        edit, new = located.edit, located.register
        was = edit.before() if edit is not None else None
        if edit is None or was is None or self._strays:
            self._dates.only(new.entries)
            self._strays = False
            return
        self._dates.forget(old for k in edit.ids
                           if (old := was.by_id.get(k)) is not None and new.by_id.get(k) is not old)
