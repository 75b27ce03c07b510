"""Entries already read, kept on disk between commands: `validate`, `list` and the other
one-shot commands then compose and check again only the entries an edit touched.

One file per register path in the cache folder (`CALENDAR_TOOL_CACHE`, by default
`~/.cache/calendar-tool`; `off` turns it off), holding pickles one after the other: a head
{stamp, parts}, then `parts` of {entry text: Entry}, which together are the register's.
What invalidates a cached entry:
- its text: an entry is reused only for the byte-identical text, and an entry is a function of
  its own text alone (checks across entries run on every read);
- the code: the file is stamped with a digest of the modules that turn text into entries
  (`model`, `register`) and that compute what is kept on them (`timeline`, `revisions`), and a
  file with another stamp is ignored.
The entries carry what reading derived from them (`model.keep_derived`): a series' dates,
and a relative date with the anchor date it came from. Each is checked against what it came
from when it is used, so a moved anchor is never missed; reading 100,000 entries no longer
resolves their dates again. (The file is written as the register is read, before anything
hashes an entry; `revisions` is in the stamp all the same, since a content hash kept on an
entry would be pickled with it.)
Anything wrong with the file (missing, corrupt, another stamp) only means reading everything
again, and failing to write it is not an error either. Unpickling runs code from the file, so it
lives in the user's own cache folder, as Python's bytecode caches do.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
from functools import cache
from pathlib import Path

from calendar_tool import heap
from calendar_tool.files import replace_file
from calendar_tool.model import Entry
from calendar_tool.register import forked
from calendar_tool.register.located import Located
from calendar_tool.register.read import load_located

# What turns text into entries, and what computes the values that may be kept on them
# (`model.keep_derived`): a series' dates, a relative date, a content hash.
_CODE = ("model.py", "timeline.py", "feeds/revisions.py", "register/compose.py",
         "register/walk.py", "register/checks.py", "register/read.py")


@cache
def stamp() -> str:
    """A digest of the code that turns register text into entries."""
    digest = hashlib.sha256()
    for name in _CODE:
        digest.update((Path(__file__).parent.parent / name).read_bytes())
    return digest.hexdigest()[:16]


def cache_file(folder: Path, register: Path) -> Path:
    """Where the entries of the register at `register` are kept."""
    key = hashlib.sha256(str(register.resolve()).encode("utf-8")).hexdigest()[:16]
    return folder / f"entries-{key}.pickle"


def read(path: Path) -> dict[str, Entry]:
    """The entries kept in `path` by their text; empty when there is nothing usable."""
    entries: dict[str, Entry] = {}
    try:
        with path.open("rb") as f, heap.kept():
            head = pickle.load(f)
            if not isinstance(head, dict) or head.get("stamp") != stamp():
                return {}
            for _ in range(int(head["parts"])):
                entries.update(pickle.load(f))
    except Exception:  # a broken cache (truncated, another version) is a cold cache
        return {}
    return entries


def kept(register: Path, folder: Path | None) -> dict[str, Entry]:
    """The entries kept for the register at `register` by their text (none without a
    folder): for a reader of its own to reuse, such as `run`'s `RegisterFile`."""
    return {} if folder is None else read(cache_file(folder, register))


# Entries from which the file is pickled in two halves, one by a forked process.
_APART_FROM = 10_000


def write(path: Path, entries: dict[str, Entry], apart: bool = False) -> None:
    """Keep `entries` (a register's, by text: only these, so the file does not grow with
    every edit). With `apart` (a process without threads: see `forked`), many entries are
    pickled half here and half in a forked process at the same time: pickling 100,000
    entries took a second."""
    # Pickling makes and drops an object for each it pickles, millions of them: see heap.py.
    with heap.kept():
        if apart and forked.available() and len(entries) >= _APART_FROM:
            items = list(entries.items())
            first, second = dict(items[:len(items) // 2]), dict(items[len(items) // 2:])
            other = forked.Forked(lambda: _pickled(second))
            parts = [_pickled(first), other.result() or _pickled(second)]
        else:
            parts = [_pickled(entries)]
    head = _pickled({"stamp": stamp(), "parts": len(parts)})
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, [head, *parts])


def _pickled(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


# Entries read afresh or kept in vain, as a part of the register, up to which the file is
# left as it is: writing 100,000 entries takes seconds, composing a few of them again on each
# command milliseconds, so a few edits do not rewrite it, and many do.
_STALE_PART = 100


def load_cached(register: Path, folder: Path | None) -> Located:
    """`register.load_located`, reusing the entries kept in `folder` (None: no cache), and
    keeping the entries read this time when they differ from what was kept by more than a
    few (`_STALE_PART`). For the one-shot commands, which run no threads: a cold read of a
    large register shares the work with a second process (`apart`)."""
    if folder is None:
        return load_located(register, apart=True)
    path = cache_file(folder, register)
    known = read(path)
    located = load_located(register, known, apart=True)
    entries = located.reusable()
    fresh = sum(1 for text in entries if text not in known)
    unused = len(known) - (len(entries) - fresh)
    if max(fresh, unused) > len(entries) // _STALE_PART:
        write(path, entries, apart=True)
    return located
