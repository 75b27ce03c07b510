"""Entries already read, kept on disk between commands: `validate`, `list` and the other
one-shot commands then compose and check again only the entries an edit touched.

One file per register path in the cache folder (`CALENDAR_TOOL_CACHE`, by default
`~/.cache/calendar-tool`; `off` turns it off), holding pickles one after the other: a head
{stamp, parts}, then `parts` of ({entry text: Entry}, {entry text: its dates}), which together
are the register's. An entry's dates are what resolving derived from it alone
(`timeline.EntryDates`: a series' numbered dates, a relative date with the anchor date it came
from), kept for the entries that have any; each is checked against what it came from when it
is used, so a moved anchor is never missed, and reading 100,000 entries does not resolve their
dates again.

What invalidates a cached entry:
- its text: an entry is reused only for the byte-identical text, and an entry is a function of
  its own text alone (checks across entries run on every read);
- the code: the file is stamped with a digest of the modules that turn text into entries and
  dates (`_CODE`), and a file with another stamp is ignored.
Anything wrong with the file (missing, corrupt, another stamp, not a regular file: a named
pipe there is never waited on) only means reading everything again, and failing to write it is
not an error either. Unpickling runs code from the file, so it lives in the user's own cache
folder, as Python's bytecode caches do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from calendar_tool.files import cache_path, code_digest, open_regular, replace_file
from calendar_tool.model import Entry
from calendar_tool.register import forked, pickles
from calendar_tool.register.located import Located
from calendar_tool.register.read import parse_located, read_text
from calendar_tool.timeline import EntryDates

# What turns text into entries, and what computes the dates kept beside them.
_CODE = ("model.py", "wording/events.py", "timeline.py", "register/compose.py",
         "register/walk.py", "register/checks.py", "register/read.py", "register/pickles.py")

# Entries by their text, and what resolving derived from those that have any (`EntryDates.of`).
Kept = tuple[dict[str, Entry], dict[str, Any]]


def stamp() -> str:
    """A digest of the code that turns register text into entries."""
    return code_digest(_CODE)


def cache_file(folder: Path, register: Path) -> Path:
    """Where the entries of the register at `register` are kept."""
    return cache_path(folder, register, "entries", "pickle")


def read(path: Path) -> Kept:
    """The entries kept in `path` by their text, and their dates; empty when there is
    nothing usable."""
    entries: dict[str, Entry] = {}
    derived: dict[str, Any] = {}
    try:
        # Never a named pipe put in its place: opening one waits for a writer, for ever.
        with open_regular(path) as f:
            head = pickles.load(f)
            if not isinstance(head, dict) or head.get("stamp") != stamp():
                return {}, {}
            for _ in range(int(head["parts"])):
                part_entries, part_derived = pickles.load(f)
                entries.update(part_entries)
                derived.update(part_derived)
    except Exception:  # a broken cache (truncated, another version) is a cold cache
        return {}, {}
    return entries, derived


def seeded(kept: Kept) -> tuple[dict[str, Entry], EntryDates]:
    """The kept entries by their text, and their dates ready for the resolver."""
    entries, derived = kept
    dates = EntryDates()
    for text, found in derived.items():
        entry = entries.get(text)
        if entry is not None:
            dates.take(entry, found)
    return entries, dates


def kept(register: Path, folder: Path | None) -> tuple[dict[str, Entry], EntryDates]:
    """The entries kept for the register at `register` by their text (none without a
    folder), with their dates: for a reader of its own to reuse, such as `run`'s
    `RegisterFile`."""
    return seeded(({}, {}) if folder is None else read(cache_file(folder, register)))


# Entries from which the file is pickled in two halves, one by a forked process.
_APART_FROM = 10_000


def write(path: Path, entries: dict[str, Entry], dates: EntryDates | None = None,
          apart: bool = False) -> None:
    """Keep `entries` (a register's, by text: only these, so the file does not grow with
    every edit), with what `dates` holds for them. With `apart` (a process without threads:
    see `forked`), many entries are pickled half here and half in a forked process at the
    same time: pickling 100,000 entries took a second."""
    if apart and forked.available() and len(entries) >= _APART_FROM:
        items = list(entries.items())
        first, second = dict(items[:len(items) // 2]), dict(items[len(items) // 2:])
        other = forked.Forked(lambda: pickles.dumps(_part(second, dates)))
        parts = [pickles.dumps(_part(first, dates)), other.result() or
                 pickles.dumps(_part(second, dates))]
    else:
        parts = [pickles.dumps(_part(entries, dates))]
    head = pickles.dumps({"stamp": stamp(), "parts": len(parts)})
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, [head, *parts])


def _part(entries: dict[str, Entry], dates: EntryDates | None) -> Kept:
    """Entries and the dates of those that have any, as one part of the file pickles them."""
    if dates is None:
        return entries, {}
    derived = {}
    for text, entry in entries.items():
        kept = dates.of(entry)
        if kept != (None, None):
            derived[text] = kept
    return entries, derived


# Entries read afresh or kept in vain, as a part of the register, up to which the file is
# left as it is: writing 100,000 entries takes seconds, composing a few of them again on each
# command milliseconds, so a few edits do not rewrite it, and many do.
_STALE_PART = 100


def load(register: Path, folder: Path | None, text: str | None = None) -> Located:
    """The register at `register` (whose text is `text`, when the caller has read it),
    read by a one-shot command: reusing the entries kept in
    `folder` (None: no cache), and keeping the entries read this time when they differ from
    what was kept by more than a few (`_STALE_PART`). One-shot commands run no threads, so a
    cold read of a large register shares the work with a second process (`apart`)."""
    text = read_text(register) if text is None else text
    if folder is None:
        return parse_located(text, str(register), apart=True)
    known, dates = seeded(read(cache_file(folder, register)))
    located = parse_located(text, str(register), known=known, dates=dates, apart=True)
    keep_if_stale(register, folder, known, located, dates, apart=True)
    return located


def keep_if_stale(register: Path, folder: Path | None, known: Mapping[str, Entry],
                  located: Located, dates: EntryDates, apart: bool = False) -> None:
    """Keep the entries of `located` (the register at `register` read with the entries
    `known`, which were kept) when they differ from those by more than a few (`write`)."""
    if folder is None:
        return
    entries = located.reusable()
    fresh = sum(1 for text in entries if text not in known)
    unused = len(known) - (len(entries) - fresh)
    if max(fresh, unused) > len(entries) // _STALE_PART:
        write(cache_file(folder, register), entries, dates, apart=apart)
