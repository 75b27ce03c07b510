"""Revisions of entries: a content hash per entry, and a SEQUENCE and change instant that
advance only when that hash changes.

Feeds need them so that a subscribed client updates an event in place when its entry changes
and sees nothing new when it does not. Pure: the store keeps them (`entry_snapshot`), the
service passes them in and saves what `next_revisions` returns.

What is hashed is everything the feed shows for the entry that does not depend on the day of
publishing: the entry as written, its resolved date when it is dated from another entry (so
moving the anchor revises the entries dated from it), its effective reminder offsets, the
titles and links of the actors, areas and documents it names, the public URL its events link
back to when there is one, how all of it is phrased (`wording.stamp`: a new wording
revises every entry once), and the code that dates a series' occurrences from its rule and
known dates (`timeline.py`, `_dating`: new code can move estimates, whose DTSTART a calendar
updates only with a new SEQUENCE, so it too revises every entry once). How far a series is
expanded is
not part of it: a new estimated occurrence appearing as the horizon moves does not revise the
occurrences already published.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from functools import cache
from operator import itemgetter
from typing import Any

from calendar_tool import wording
from calendar_tool.files import code_digest
from calendar_tool.model import Entry, Offset, Register, Revision, Source, Term
from calendar_tool.timeline import Resolved, Resolver, resolver_for


def _plain(value: Any) -> Any:
    """JSON-ready form; None fields are left out so that adding an optional field to the
    model later does not change every hash (and so bump every SEQUENCE)."""
    # Types tested cheapest first: a hash is taken of every entry, hundreds of thousands of
    # values, and `dataclasses.is_dataclass`/`fields` per value were most of its cost.
    kind: type = type(value)
    if kind in _AS_IS or value is None:
        return value
    names = _field_names(kind)
    if names is not None:
        plain = {}
        for name in names:
            field_value = getattr(value, name)
            if type(field_value) in _AS_IS:
                plain[name] = field_value
            elif field_value is not None:
                plain[name] = _plain(field_value)
        return plain
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [v if type(v) in _AS_IS else _plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


_AS_IS = frozenset((str, int, bool, float))


@cache
def _field_names(kind: type) -> tuple[str, ...] | None:
    """The fields of a dataclass, in order; None for any other type."""
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple(f.name for f in dataclasses.fields(kind))


# One encoder for every hash: `json.dumps` with options makes a new one per call, a good part
# of hashing a small entry.
_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _digest(payload: Any) -> str:
    return _text_digest(_JSON.encode(payload))


def _text_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# The entry's fields in the order the encoder writes their keys (sorted), each key as written.
_ENTRY_KEYS = tuple((name, f"{json.encoder.encode_basestring(name)}:")
                    for name in sorted(f.name for f in dataclasses.fields(Entry)))
_STRING = json.encoder.encode_basestring  # in C; the encoder's own for ensure_ascii=False
# At most this many parts in each table of `_Parts`.
_PARTS_MOST = 20_000


class _Parts:
    """The JSON text of the parts of entries, written once in a pass over a register's
    entries and found by identity: a register reads equal parts as one object (the same
    tuple of sources, of actors or of reminder offsets, one status, one date of a day), so
    most entries' parts were made plain and encoded many times over (at 100,000 entries,
    most of hashing them). Each table holds at most `_PARTS_MOST`, so that a register whose
    parts are all distinct holds little more than before; and a pass's tables are dropped
    with it."""

    __slots__ = ("actors", "areas", "documents", "fields", "reminders")

    def __init__(self) -> None:
        # By the part's identity, the part held beside its text: while it is kept, no other
        # object has its identity.
        self.fields: dict[int, tuple[object, str]] = {}  # of the value of an entry's field
        self.reminders: dict[int, tuple[object, str]] = {}  # of the offsets in effect
        self.actors: dict[int, tuple[object, str]] = {}  # of actor ids: their titles
        self.areas: dict[int, tuple[object, str]] = {}
        self.documents: dict[int, tuple[object, str]] = {}  # of sources: their documents


def _part(table: dict[int, tuple[object, str]], value: object,
          plain: Callable[[Any], Any]) -> str:
    """The JSON text of `plain(value)`, from `table` when written for this very `value`."""
    known = table.get(id(value))
    if known is not None:  # held beside its text, so no other object has its identity
        return known[1]
    text = _JSON.encode(plain(value))
    if len(table) < _PARTS_MOST:
        table[id(value)] = (value, text)
    return text


def _entry_text(entry: Entry, parts: _Parts) -> str:
    """`_JSON.encode(_plain(entry))`, the text of each part not a string taken from
    `parts`."""
    out = []
    fields = parts.fields
    for name, key in _ENTRY_KEYS:
        value = getattr(entry, name)
        if value is None:
            continue
        if type(value) is str:
            out.append(key + _STRING(value))
            continue
        known = fields.get(id(value))
        out.append(key + (known[1] if known is not None else _part(fields, value, _plain)))
    return "{" + ",".join(out) + "}"


class Hashes:
    """Content hashes kept between syncs by a process that hashes the same entries again
    (`run` after each edit, `serve` for each filtered feed): a register re-read after an edit
    hands back the same Entry object for every entry whose text is unchanged, and hashing
    100,000 entries again was most of a reload.

    An entry's hash is kept by the entry object (by its id, with the entry held beside it and
    taken only for that very object) together with what else it was computed from: its
    resolved date, and a digest of what it takes from the rest of the register (the default
    reminders and the declared actors, areas and documents: `_Context`). An edit of a
    declared title or document, or of the default reminders, changes that digest and so
    hashes every entry again: more than it needs, never less. A fresh process takes the
    hashes an earlier one kept on disk (`kept.HashFile`), checked in the same way."""

    def __init__(self) -> None:
        self._context: _Context | None = None
        # By the entry's id, a string the register holds anyway: keyed by `id(entry)`, each
        # record had an int of its own (3 MB at 100,000 entries).
        self._by_entry: dict[str, tuple[Entry, str, Resolved | None, str]] = {}
        # How many hashes were computed rather than found kept, and how many of them the
        # file of kept hashes (`HashFile`) already had when it was last read or written.
        self.computed = 0
        self.written = 0

    def context(self, register: Register, link_base: str | None = None) -> _Context:
        kept = self._context
        if kept is None or kept.register() is not register or kept.link_base != link_base:
            self._context = _Context.of(register, link_base)
        assert self._context is not None
        return self._context

    def get(self, entry: Entry, context: str, resolved: Resolved | None) -> str | None:
        kept = self._by_entry.get(entry.id)
        if kept is None or kept[0] is not entry or kept[1] != context or kept[2] != resolved:
            return None
        if kept[2] is not resolved:
            # Equal, but another object: one read from the file of kept hashes (`HashFile`).
            # The caller's is the one its resolver keeps, so holding it frees the copy.
            self._by_entry[entry.id] = (entry, context, resolved, kept[3])
        return kept[3]

    def keep(self, entry: Entry, context: str, resolved: Resolved | None, digest: str) -> None:
        self._by_entry[entry.id] = (entry, context, resolved, digest)

    def kept(self, entry: Entry) -> tuple[str, Resolved | None, str] | None:
        """What is kept for `entry`: the context digest and resolved date it was hashed with,
        and its hash."""
        kept = self._by_entry.get(entry.id)
        if kept is None or kept[0] is not entry:
            return None
        return kept[1], kept[2], kept[3]

    def digests(self) -> Iterator[str]:
        """Every hash kept."""
        return map(itemgetter(3), self._by_entry.values())

    def only(self, entries: Collection[Entry], unless_within: int = 0) -> None:
        """Forget every entry but these (the register hashed last); not worth a pass over
        them all while at most `unless_within` more are kept."""
        if len(self._by_entry) <= len(entries) + unless_within:
            return
        live = {e.id: e for e in entries}
        self._by_entry = {k: v for k, v in self._by_entry.items() if live.get(k) is v[0]}


@dataclass(frozen=True)
class _Context:
    """What entries' hashes take from the rest of one register, made once per register."""

    register: weakref.ref[Register]
    # Of the default reminders, the declared actors, areas and documents, and the public URL.
    digest: str
    documents: dict[str, Any]  # the declared documents in plain form
    link_base: str | None = None

    @classmethod
    def of(cls, register: Register, link_base: str | None = None) -> _Context:
        documents = {k: _plain(d) for k, d in register.documents.items()}
        payload: dict[str, Any] = {
            "reminders": _offsets(register.reminders),
            "actors": {k: t.title for k, t in register.actors.items()},
            "areas": {k: t.title for k, t in register.areas.items()},
            "documents": documents,
        }
        if link_base is not None:
            payload["links"] = link_base
        return cls(weakref.ref(register), _digest(payload), documents, link_base)


def content_hash(entry: Entry, register: Register, resolver: Resolver,
                 hashes: Hashes | None = None, link_base: str | None = None,
                 parts: _Parts | None = None) -> str:
    """A digest of everything the feeds show for `entry` (see the module docstring), whose
    events link to `link_base` when given; kept in `hashes` when given. `parts`: what this
    pass over the register has written of its entries' parts (`next_revisions`).

    The digest is of `payload`'s JSON text, written here from its parts (the same text)."""
    resolved = resolver.resolve(entry) if entry.relative is not None else None
    context = (hashes or Hashes()).context(register, link_base)
    if hashes is not None:
        known = hashes.get(entry, context.digest, resolved)
        if known is not None:
            return known
    parts = parts if parts is not None else _Parts()
    documents = context.documents
    # The payload's keys in their sorted order, as the encoder writes them.
    text = "".join((
        '{"actors":', _part(parts.actors, entry.actors,
                            lambda keys: _titles(register.actors, keys)),
        ',"areas":', _part(parts.areas, entry.areas, lambda keys: _titles(register.areas, keys)),
        ',"documents":', _part(parts.documents, entry.all_sources(),
                               lambda sources: _documents(documents, sources)),
        ',"entry":', _entry_text(entry, parts),
        "" if link_base is None else ',"links":' + _STRING(link_base),
        ',"reminders":', _part(parts.reminders, register.reminders_for(entry), _offsets),
        ',"resolved":', _JSON.encode(_resolved(resolved)),
        ',"timeline":', _STRING(_dating()),
        ',"wording":', _STRING(wording.stamp()), "}"))
    digest = _text_digest(text)
    if hashes is not None:
        hashes.computed += 1
        hashes.keep(entry, context.digest, resolved, digest)
    return digest


def _dating() -> str:
    """A digest of the code that dates occurrences (`timeline.py`)."""
    return code_digest(("timeline.py",))


def payload(entry: Entry, register: Register, resolver: Resolver,
            link_base: str | None = None) -> dict[str, Any]:
    """What `content_hash` digests, as plain data: the reference its text is written to
    equal."""
    resolved = resolver.resolve(entry) if entry.relative is not None else None
    out: dict[str, Any] = {
        "entry": _plain(entry),
        "resolved": _resolved(resolved),
        "reminders": _offsets(register.reminders_for(entry)),
        "actors": _titles(register.actors, entry.actors),
        "areas": _titles(register.areas, entry.areas),
        "documents": _documents(_Context.of(register).documents, entry.all_sources()),
        # How the feeds phrase all of it: a new wording is new text for every entry.
        "wording": wording.stamp(),
        # How a series' occurrences are dated: new code may move its estimates.
        "timeline": _dating(),
    }
    if link_base is not None:  # left out when unset, so that those hashes stay as they were
        out["links"] = link_base
    return out


def _titles(terms: Mapping[str, Term], keys: Iterable[str]) -> dict[str, str]:
    """The titles of the declared actors or areas an entry names."""
    return {k: t.title for k in keys if (t := terms.get(k))}


def _documents(documents: Mapping[str, Any], sources: Iterable[Source]) -> dict[str, Any]:
    """The documents (in plain form) that `sources` cite, by symbol."""
    return {d: documents[d] for d in sorted({s.doc for s in sources}) if d in documents}


def _offsets(offsets: Iterable[Offset]) -> list[str]:
    """Reminder offsets as written (P30D)."""
    return [str(r) for r in offsets]


def _resolved(resolved: Resolved | None) -> dict[str, Any] | None:
    if resolved is None:
        return None
    return {"value": resolved.value.iso() if resolved.value else None,
            "tentative": resolved.tentative, "derivation": resolved.derivation}


def next_revisions(old: Mapping[str, Revision], register: Register, now: datetime,
                   only: Collection[str] | None = None, hashes: Hashes | None = None,
                   link_base: str | None = None) -> dict[str, Revision]:
    """The revisions after publishing `register` at `now`; `only`: the ids of the entries
    that may have changed since `old` was computed (`register.Edit`), the others kept as they
    are; `hashes`: the content hashes a long-running process keeps (`Hashes`); `link_base`:
    the public URL the events link back to, if any.

    An entry whose hash is unchanged keeps its revision exactly; a new entry starts at
    sequence 0; a changed one gets sequence + 1 and `now` as its change instant (one second
    after the previous one if the clock has not moved past it, so LAST-MODIFIED always
    advances). Entries gone from the register keep their record: an id that comes back
    continues its sequence instead of restarting below what clients already hold.
    """
    if now.tzinfo is None:
        raise ValueError("next_revisions needs an aware datetime for `now`")
    stamp = now.astimezone(UTC).replace(microsecond=0)
    resolver = resolver_for(register)
    hashes = hashes if hashes is not None else Hashes()
    parts = _Parts()
    out = dict(old)
    for entry in register.entries if only is None else \
            (e for e in register.entries if e.id in only):
        digest = content_hash(entry, register, resolver, hashes, link_base, parts)
        prev = old.get(entry.id)
        if prev is None:
            out[entry.id] = Revision(digest, 0, stamp)
        elif prev.hash != digest:
            changed = stamp if stamp > prev.changed_at else prev.changed_at + timedelta(seconds=1)
            out[entry.id] = Revision(digest, prev.sequence + 1, changed)
    return out
