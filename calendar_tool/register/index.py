"""The date index: every occurrence of the register resolved once and kept sorted by date,
so that `list`, `review` and the page answer a period by a range scan, and make `Entry`
objects only of what they print.

An index is bytes (a file in the cache folder for the one-shot commands, memory for `serve`):
a header, then columns of fixed-size numbers, one set per group of rows (what falls due, by
its due day; what takes place, by its first day; what has no day), each group sorted by
(day, entry id, number) as `list` prints them. A row holds what the queries test (the days,
precision, tentativeness, state, the entry's kind, areas and actors through its entry) and
what an occurrence is made of besides its entry (its number, how its date was derived, the
date an urgent commitment counts from); the entry itself is pickled once in the file and
unpickled only when a row of it is printed. A series is kept up to a horizon (`until`), each
of its rows with the first day up to which `timeline.series_dates` gives it (`reach`: its
start): a query up to a day takes exactly the rows `timeline.series_dates` would give up to
that day.

What makes an index stale, and what is done then:
- another register text (its SHA-256 is in the header: each command hashes the file, which
  costs a tenth of reading it), another code (a digest of the whole package's modules),
  another format or layout of numbers, a query beyond its horizon: read the register
  (through the entry cache, checked in full as every command does) and write the index
  again, from the old one where that is sound: rows and pickled entries are kept for every
  entry the edit did not reach (one whose text, digest kept per entry, is the same and that
  counts from no entry whose text changed or went, however indirectly), only when the text
  outside the entries is the same and the edit reached few entries; otherwise from the
  register alone;
- a truncated, foreign or damaged file: the header says the file's size and each column's
  CRC-32, checked on opening (each pickled entry's when it is unpickled): anything wrong is an
  index that is not there.
A failure to write the index is not an error: the command answers from the one it built.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import mmap
import os
import pickle
import sys
import threading
import weakref
import zlib
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache, lru_cache
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from dateutil.relativedelta import relativedelta

from calendar_tool.files import (
    Version,
    cache_path,
    open_regular,
    read_settled,
    replace_file,
    version,
)
from calendar_tool.model import DatedValue, Entry, Kind, Occurrence, Precision, Register, State
from calendar_tool.register import pickles
from calendar_tool.timeline import (
    URGENT_OLD,
    Query,
    Resolver,
    ReviewItem,
    chosen,
    dated_match,
    dependants,
    entry_occurrences,
    horizon,
    placed,
    resolver_for,
    review_order,
    review_reason,
    select,
    urgent_old,
    worded_series_dates,
)
from calendar_tool.timeline import review as timeline_review

if TYPE_CHECKING:  # the reader: loaded only when the index must be built (see the door)
    from calendar_tool.register.located import Located

FORMAT = 1
_MAGIC = b"CTDATES\x00"
# The groups of rows: what falls due (by its due day), what takes place (by its first day),
# what is on no calendar day.
DUE, SPAN, UNDATED = 0, 1, 2
_COLUMNS = ("key", "num", "start", "end", "reach", "ref", "deriv", "since")
_PRECISIONS = (Precision.YEAR, Precision.MONTH, Precision.DAY)
_STATES = tuple(State)
_OPEN = _STATES.index(State.OPEN)
_KINDS = tuple(Kind)
# The numbers of the file: their types' sizes and the machine's byte order are in the
# header, and a file written with others is not read.
_LAYOUT = f"{sys.byteorder}:" + ",".join(f"{c}{array(c).itemsize}" for c in "iIHQB")
# How far past today (in years) an index keeps a series at most: a query reaching further
# is answered from the register itself, so that one odd query does not make the index huge.
_FARTHEST_YEARS = 25
# The part of the entries an edit may reach for the index to be updated rather than built
# again: past it, building anew costs about the same.
_UPDATE_PART = 10
# How many more derivations no row uses than derivations used an update leaves in the file
# before it renumbers them (each edit of a relative date or series leaves its old ones).
_UNUSED_DERIVATIONS = 64

# (key day, entry id, number or -1, first day, last day, reach, entry's place, derivation,
# since, bits): one occurrence, days as ordinals (0: none).
Row = tuple[int, str, int, int, int, int, int, str, int, int]


class Unusable(Exception):
    """An index that cannot be used: truncated, damaged, or written by other code."""


@cache
def code_stamp() -> str:
    """A digest of the package's code: every module may go into what an index holds (how
    entries are read, dates resolved, derivations worded, rows kept), so any change to any
    of them means building it again."""
    digest = hashlib.sha256(f"{FORMAT}".encode())
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def index_file(folder: Path, register: Path) -> Path:
    """Where the date index of the register at `register` is kept (beside its entries)."""
    return cache_path(folder, register, "dates", "index")


def text_digest(data: bytes) -> str:
    """What tells one register text from another in an index's header."""
    return hashlib.sha256(data).hexdigest()


# --- rows ------------------------------------------------------------------------------------

_PRECISION_BITS = {p: i for i, p in enumerate(_PRECISIONS)}
_STATE_BITS = {s: i << 5 for i, s in enumerate(_STATES)}


def _bits(w: DatedValue | None, tentative: bool, state: State) -> int:
    """A row's flags: precision (2 bits), range, within, tentative, then the state."""
    bits = tentative << 4 | _STATE_BITS[state]
    if w is not None:
        bits |= _PRECISION_BITS[w.precision] | w.is_range << 2 | w.within << 3
    return bits


def entry_rows(entry: Entry, ref: int, resolver: Resolver, until: date
               ) -> Iterator[tuple[int, Row]]:
    """The rows of one entry (each with its group), a series' up to `until`: what
    `timeline.entry_occurrences` gives."""
    if entry.series is not None:
        yield from _series_rows(entry, ref, until)
        return
    for o in entry_occurrences(entry, resolver, until):
        w = o.when
        since = o.since[0].end.toordinal() if o.since is not None else 0
        bits = _bits(w, o.tentative, o.state.state)
        if w is None:
            yield UNDATED, (0, entry.id, -1, 0, 0, 0, ref, o.derivation, since, bits)
            continue
        start = w.start.toordinal()
        group, key = (DUE, w.due.toordinal()) if entry.kind.is_due else (SPAN, start)
        yield group, (key, entry.id, -1, start, w.end.toordinal(), 0, ref, o.derivation, since,
                      bits)


def _series_rows(entry: Entry, ref: int, until: date) -> Iterator[tuple[int, Row]]:
    """A series' rows, as `timeline.entry_occurrences` makes its occurrences (the state of a
    known occurrence's own status, else the entry's), with each occurrence's `reach`."""
    series = entry.series
    assert series is not None
    group = DUE if entry.kind.is_due else SPAN
    for sd, text in worded_series_dates(series, until):
        k, w = sd.known, sd.value
        status = k.status if k is not None and k.status is not None else entry.status
        start = w.start.toordinal()
        # Its reach is its start: `series_dates` gives an occurrence up to any day from its
        # start on, and no other (no estimate starts before the occurrence before it).
        yield group, (w.due.toordinal() if group == DUE else start, entry.id, sd.number, start,
                      w.end.toordinal(), start, ref, text, 0, _bits(w, k is None, status.state))


def register_rows(register: Register, until: date, only: Iterable[int] | None = None
                  ) -> list[list[Row]]:
    """The rows of the register's entries (those at the places `only`, when given), by
    group, unsorted."""
    groups: list[list[Row]] = [[], [], []]
    resolver = resolver_for(register)
    entries = register.entries
    for ref in range(len(entries)) if only is None else only:
        for group, row in entry_rows(entries[ref], ref, resolver, until):
            groups[group].append(row)
    return groups


# --- writing ---------------------------------------------------------------------------------

# A group's rows column by column (`_COLUMNS` and "bits"), sorted as `list` prints them.
Columns = dict[str, "array[int]"]
_CODES = {**dict.fromkeys(_COLUMNS, "i"), "bits": "H"}


def pack(rows: list[Row], derivations: dict[str, int]) -> Columns:
    """A group's rows sorted, as columns, each derivation by its place in `derivations`
    (added there when new). `rows` is emptied: a large register's rows as tuples take more
    memory than the whole file."""
    rows.sort()
    cols = {name: array(code) for name, code in _CODES.items()}
    if rows:
        keys, _, nums, starts, ends, reaches, refs, texts, since, bits = zip(*rows, strict=True)
        rows.clear()
        derivs = [derivations.setdefault(t, len(derivations)) for t in texts]
        for name, col in zip((*_COLUMNS, "bits"), (keys, nums, starts, ends, reaches, refs,
                                                   derivs, since, bits), strict=True):
            cols[name].extend(col)
    return cols


@dataclass
class Blobs:
    """Each entry pickled, by place: the bytes of those pickled afresh, and runs of places
    (first, end) in `source`, an older index whose pickled entries are copied as they are, a
    piece at a time, when the index is written; with where each entry ends and its CRC-32."""

    pieces: list[bytes | tuple[int, int]]
    ends: array[int]
    crcs: array[int]
    source: DateIndex | None = None

    @classmethod
    def of(cls, pickled: Iterable[bytes]) -> Blobs:
        pieces: list[bytes | tuple[int, int]] = []
        ends, crcs = array("Q", [0]), array("I")
        for data in pickled:
            pieces.append(data)
            ends.append(ends[-1] + len(data))
            crcs.append(zlib.crc32(data))
        return cls(pieces, ends, crcs)

    def chunks(self) -> Iterator[bytes]:
        for piece in self.pieces:
            if isinstance(piece, bytes):
                yield piece
            else:
                assert self.source is not None
                yield from self.source.blob_bytes(*piece)


@dataclass
class Contents:
    """What an index holds, before it is laid out as bytes."""

    register: Register
    until: date
    columns: list[Columns]
    derivations: list[str]
    text: str | None = None  # the register text's digest
    head: str | None = None  # the digest of its text outside the entries (None: unknown)
    digests: list[bytes] | None = None  # each entry's text digest, by place
    blobs: Blobs | None = None
    # The register file's version when it held that text, if it tells that text from any
    # later one (`files.read_settled`): a command then needs no digest of the text.
    seen: Version | None = None


def contents(register: Register, until: date, text: str | None = None,
             head: str | None = None, digests: list[bytes] | None = None,
             blobs: bool = False) -> Contents:
    """The index of `register` up to `until`, made from the register alone."""
    derivations: dict[str, int] = {}
    columns = [pack(rows, derivations) for rows in register_rows(register, until)]
    return Contents(register, until, columns, list(derivations), text, head, digests,
                    Blobs.of(pickles.each(register.entries)) if blobs else None)


def _strings(values: Sequence[str]) -> tuple[array[int], bytes]:
    """Strings as offsets into their UTF-8 bytes."""
    offsets, parts, at = array("I", [0]), [], 0
    for value in values:
        data = value.encode("utf-8")
        parts.append(data)
        at += len(data)
        offsets.append(at)
    return offsets, b"".join(parts)


def _sections(c: Contents) -> dict[str, bytes]:
    """Every column and table of the index but the pickled entries, by name."""
    out: dict[str, bytes] = {}
    for g, cols in enumerate(c.columns):
        out.update({f"{g}.{name}": col.tobytes() for name, col in cols.items()})
    span = c.columns[SPAN]
    out["span"] = array("i", [max(map(int.__sub__, span["end"], span["start"]), default=0)
                              ]).tobytes()
    entries = c.register.entries
    offsets, text = _strings([e.id for e in entries])
    out["eid.off"], out["eid"] = offsets.tobytes(), text
    out["kind"] = array("B", [_KINDS.index(e.kind) for e in entries]).tobytes()
    profiles: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
    out["prof"] = array("i", [profiles.setdefault((e.areas, e.actors), len(profiles))
                              for e in entries]).tobytes()
    out["profiles"] = json.dumps([list(p) for p in profiles]).encode("utf-8")
    offsets, text = _strings(c.derivations)
    out["deriv.off"], out["deriv"] = offsets.tobytes(), text
    out["digest"] = b"".join(c.digests) if c.digests is not None else b""
    blobs = c.blobs or Blobs.of(())
    out["blob.off"], out["blob.crc"] = blobs.ends.tobytes(), blobs.crcs.tobytes()
    out["head"] = pickle.dumps(replace(c.register, entries=()), pickle.HIGHEST_PROTOCOL)
    return out


def encode(c: Contents) -> Iterator[bytes]:
    """The index's bytes, in pieces: magic, header length and CRC, header, sections (the
    pickled entries last, copied from an older index a piece at a time)."""
    sections = _sections(c)
    blob_size = (c.blobs or Blobs.of(())).ends[-1]
    table: dict[str, list[int]] = {}
    at = 0
    for name, data in [*sections.items(), ("blob", b"")]:
        size = blob_size if name == "blob" else len(data)
        table[name] = [at, size, zlib.crc32(data)]
        at += size + (-size) % 8
    meta = {"format": FORMAT, "layout": _LAYOUT, "code": code_stamp(), "text": c.text,
            "head": c.head, "until": c.until.toordinal(), "entries": len(c.register.entries),
            "groups": [len(cols["key"]) for cols in c.columns], "blobs": c.blobs is not None,
            "digests": c.digests is not None, "seen": c.seen, "sections": table, "data": at}
    header = json.dumps(meta).encode("utf-8")
    yield from (_MAGIC, len(header).to_bytes(4, "little"),
                zlib.crc32(header).to_bytes(4, "little"), header,
                b"\0" * ((-(len(_MAGIC) + 8 + len(header))) % 8))
    for data in sections.values():
        yield from (data, b"\0" * ((-len(data)) % 8))
    if c.blobs is not None:
        yield from c.blobs.chunks()
    yield b"\0" * ((-blob_size) % 8)


# --- reading ---------------------------------------------------------------------------------

class DateIndex:
    """An index's bytes, checked, with its columns as views: the file's mapped pages, or
    bytes in memory."""

    def __init__(self, data: Any, fd: int | None = None) -> None:
        """`data`: the index's bytes (or the file's mapped pages); `fd`: the file, open, to
        read each pickled entry from on its own (the few a query prints are scattered over
        the file: mapping the pages around each would map most of it), closed with the
        index."""
        view = memoryview(data)
        if len(view) < 16 or bytes(view[:8]) != _MAGIC:
            raise Unusable("not an index")
        size = int.from_bytes(view[8:12], "little")
        header = bytes(view[16:16 + size])
        if len(header) != size or zlib.crc32(header) != int.from_bytes(view[12:16], "little"):
            raise Unusable("damaged header")
        meta = json.loads(header)
        if (meta.get("format"), meta.get("layout"), meta.get("code")) != \
                (FORMAT, _LAYOUT, code_stamp()):
            raise Unusable("written by other code")
        start = 16 + size + (-(16 + size)) % 8
        if len(view) != start + meta["data"]:
            raise Unusable("truncated or grown")
        self._data = data  # what the views look into: kept open while they live
        self.sections: dict[str, memoryview] = {}
        for name, (at, length, crc) in meta["sections"].items():
            part = view[start + at:start + at + length]
            if name != "blob" and zlib.crc32(part) != crc:
                raise Unusable(f"damaged section {name}")
            self.sections[name] = part
        self._blob_at = start + meta["sections"]["blob"][0]
        self._fd = fd
        if fd is not None:
            weakref.finalize(self, os.close, fd)
        self.text: str | None = meta["text"]
        seen = meta["seen"]
        self.seen: Version | None = None if seen is None else tuple(seen)
        self.head_digest: str | None = meta["head"]
        self.until = date.fromordinal(meta["until"])
        self.count: int = meta["entries"]
        self.has_blobs: bool = meta["blobs"]
        self.has_digests: bool = meta["digests"]
        self._cols = [{name: self.sections[f"{g}.{name}"].cast("i") for name in _COLUMNS}
                      for g in (DUE, SPAN, UNDATED)]
        for g, cols in enumerate(self._cols):
            cols["bits"] = self.sections[f"{g}.bits"].cast("H")
        self._eid_off = self.sections["eid.off"].cast("I")
        self._deriv_off = self.sections["deriv.off"].cast("I")
        self._blob_off = self.sections["blob.off"].cast("Q")
        self._blob_crc = self.sections["blob.crc"].cast("I")
        self._kinds = self.sections["kind"]
        self._prof = self.sections["prof"].cast("i")
        self.span: int = self.sections["span"].cast("i")[0]
        self._profiles = [(tuple(a), tuple(b)) for a, b in
                          json.loads(bytes(self.sections["profiles"]))]
        self._head: Register | None = None
        self._eids: list[str] | None = None
        # What `held_count` counted, by query and horizon.
        self.counts: dict[tuple[Query, int], int] = {}

    @property
    def head(self) -> Register:
        """The register without its entries: title, vocabularies, documents."""
        if self._head is None:
            self._head = pickle.loads(self.sections["head"])
        return self._head

    def covers(self, until: date) -> bool:
        return until <= self.until

    def eid(self, ref: int) -> str:
        off = self._eid_off
        return str(self.sections["eid"][off[ref]:off[ref + 1]], "utf-8")

    def derivation(self, n: int) -> str:
        off = self._deriv_off
        return str(self.sections["deriv"][off[n]:off[n + 1]], "utf-8")

    def eid_list(self) -> list[str]:
        """`eids`, made once for the index (a register held in memory asks again and again)."""
        if self._eids is None:
            self._eids = self.eids()
        return self._eids

    def eids(self) -> list[str]:
        """Every entry's id, by place."""
        text = str(self.sections["eid"], "utf-8")
        off = self._eid_off.tolist()
        if not text.isascii():  # ids are ASCII; were they not, offsets count bytes
            return [self.eid(ref) for ref in range(self.count)]
        return [text[a:b] for a, b in itertools.pairwise(off)]

    def blob_ends(self) -> memoryview:
        """Where each pickled entry ends in the section of pickled entries."""
        return self._blob_off

    def blob_crcs(self) -> memoryview:
        return self._blob_crc

    def digests(self) -> list[bytes]:
        """Every entry's text digest, by place."""
        data = bytes(self.sections["digest"])
        return [data[i:i + 16] for i in range(0, len(data), 16)]

    def blob(self, ref: int) -> bytes:
        """Entry `ref` pickled, checked against its CRC-32."""
        at, end = self._blob_off[ref], self._blob_off[ref + 1]
        if self._fd is not None:
            data = os.pread(self._fd, end - at, self._blob_at + at)
        else:
            data = bytes(self.sections["blob"][at:end])
        if not self.has_blobs or zlib.crc32(data) != self._blob_crc[ref]:
            raise Unusable(f"damaged entry {ref}")
        return data

    def rows(self, group: int, lo: int | None = None, hi: int | None = None
             ) -> list[tuple[int, ...]]:
        """The rows of a group whose key is from `lo` to `hi` (None: no bound), in order:
        (key, number, first day, last day, reach, entry's place, derivation, since, bits)."""
        cols = self._cols[group]
        keys = cols["key"]
        i = 0 if lo is None else bisect.bisect_left(keys, lo)
        j = len(keys) if hi is None else bisect.bisect_right(keys, hi)
        if i >= j:
            return []
        return list(zip(*(cols[name][i:j].tolist() for name in (*_COLUMNS, "bits")),
                        strict=True))

    def columns(self, group: int) -> dict[str, memoryview]:
        """A group's columns, as views."""
        return self._cols[group]

    def derivations(self) -> list[str]:
        """Every derivation's text, by number."""
        return [self.derivation(n) for n in range(len(self._deriv_off) - 1)]

    def blob_bytes(self, first: int, end: int, piece: int = 1 << 20) -> Iterator[bytes]:
        """The pickled entries at places `first` to `end` (excluded), as they are in the
        file, a piece at a time."""
        at, stop = self._blob_off[first], self._blob_off[end]
        while at < stop:
            size = min(piece, stop - at)
            if self._fd is not None:
                data = os.pread(self._fd, size, self._blob_at + at)
            else:
                data = bytes(self.sections["blob"][at:at + size])
            if len(data) != size:
                raise Unusable("truncated while read")
            yield data
            at += size

    def kind(self, ref: int) -> Kind:
        return _KINDS[self._kinds[ref]]

    def profile(self, ref: int) -> int:
        return self._prof[ref]

    def areas_actors(self, profile: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self._profiles[profile]

    def used(self) -> tuple[set[str], set[str], set[Kind]]:
        """The areas, actors and kinds the entries use: from the table of their areas and
        actors (each pair once, made from the entries) and the column of their kinds."""
        areas = {a for areas, _ in self._profiles for a in areas}
        actors = {a for _, actors in self._profiles for a in actors}
        return areas, actors, {_KINDS[k] for k in set(self._kinds)}

    def entries(self, refs: Iterable[int], held: Sequence[Entry] | None) -> dict[int, Entry]:
        """The entries at the places `refs`: from `held` (the register's, when in memory),
        else unpickled from the index."""
        if held is not None:
            return {ref: held[ref] for ref in refs}
        return {ref: pickles.entry(self.blob(ref)) for ref in refs}


# --- queries ---------------------------------------------------------------------------------

# One value for the rows of the same days and bits, as the register's read shares them: a
# query makes a date for thousands of rows, over a few hundred distinct days. Bounded, as
# `serve` asks for years.
@lru_cache(maxsize=1 << 14)
def _when(start: int, end: int, bits: int) -> DatedValue:
    return DatedValue(date.fromordinal(start), date.fromordinal(end), _PRECISIONS[bits & 3],
                      bool(bits & 4), bool(bits & 8))


def _state(bits: int) -> State:
    return _STATES[bits >> 5 & 7]


class _Pick(NamedTuple):
    """A row taken by a query: where it sorts, its group and values. A tuple, not a
    dataclass: a page's query makes hundreds of thousands."""

    order: tuple[Any, ...]
    group: int
    row: tuple[int, ...]


class _Takes:
    """Whether the query's filters (areas, actors, kinds, states) take a row: asked once per
    combination of an entry's areas and actors, its kind and the row's state."""

    def __init__(self, index: DateIndex, q: Query) -> None:
        self.index, self.q = index, q
        self._seen: dict[tuple[int, int, int], bool] = {}

    def __call__(self, ref: int, bits: int) -> bool:
        index = self.index
        key = (index.profile(ref), index._kinds[ref], bits >> 5)
        found = self._seen.get(key)
        if found is None:
            areas, actors = index.areas_actors(key[0])
            found = self._seen[key] = chosen(self.q, index.kind(ref), areas, actors,
                                             _state(bits))
        return found


def index_select(index: DateIndex, q: Query, today: date, held: Sequence[Entry] | None = None
                 ) -> list[Occurrence]:
    """`timeline.select` answered from the index (which must cover the query's horizon):
    the rows of the query's period, tested as `timeline.matches` tests an occurrence, made
    into occurrences sorted by date. `held`: the register's entries, when in memory."""
    return _occurrences(index, _picks(index, q, today), held)


def _picks(index: DateIndex, q: Query, today: date) -> list[_Pick]:
    """The rows `index_select` takes, in the order of `timeline.sort_key`: what has no day
    last."""
    until = q.horizon(today).toordinal()
    takes = _Takes(index, q)
    lo = None if q.start is None else q.start.toordinal()
    hi = None if q.end is None else q.end.toordinal()
    windows: list[tuple[int, int | None, int | None]] = []
    if q.overdue_on is not None:
        # Only what falls due can be overdue: due before that day.
        before = q.overdue_on.toordinal() - 1
        windows.append((DUE, lo, before if hi is None else min(hi, before)))
    else:
        windows += [(DUE, lo, hi), (SPAN, None if lo is None else lo - index.span, hi)]
    if not q.dated:
        windows.append((UNDATED, None, None))
    found = [(group, index.rows(group, first, last)) for group, first, last in windows]
    # A query over much of the register names many entries: all their ids at once then.
    eid = index.eid if sum(len(rows) for _, rows in found) < index.count // 8 \
        else index.eid_list().__getitem__
    # Without a period, every dated row answers (`dated_match`): its date need not be made.
    dated = q.dated
    overdue = q.overdue_on is not None
    picks: list[_Pick] = []
    for group, rows in found:
        for row in rows:
            key, num, start, end, reach, ref, _, _, bits = row
            if reach > until or (lo is not None and group == SPAN and end < lo) or \
                    not takes(ref, bits):
                continue
            if group == DUE:
                # Found by its due day, it lies in the period (`dated_match`); an overdue one
                # must be firm and open too (`is_overdue`).
                if overdue and (bits & 16 or bits >> 5 & 7 != _OPEN):
                    continue
            elif dated:
                w = _when(start, end, bits)
                if not dated_match(q, index.kind(ref), _state(bits), w, bool(bits & 16)):
                    continue
            picks.append(_Pick((group == UNDATED, key, eid(ref), num if num > 0 else 0),
                               group, row))
    picks.sort(key=itemgetter(0))
    return picks


def _occurrences(index: DateIndex, picks: Sequence[_Pick], held: Sequence[Entry] | None
                 ) -> list[Occurrence]:
    """The occurrences of the rows picked, each entry made once."""
    entries = index.entries({p.row[5] for p in picks}, held)
    documents = index.head.documents
    derivations: dict[int, str] = {}
    out = []
    for p in picks:
        _, num, start, end, _, ref, deriv, since, bits = p.row
        text = derivations.get(deriv)
        if text is None:
            text = derivations[deriv] = index.derivation(deriv)
        w = None if p.group == UNDATED else _when(start, end, bits)
        out.append(placed(entries[ref], None if num < 0 else num, w, bool(bits & 16), text,
                          documents, since != 0))
    return out


def index_review(index: DateIndex, today: date, within: relativedelta,
                 held: Sequence[Entry] | None = None) -> list[ReviewItem]:
    """`timeline.review` answered from the index (which must cover today + `within`)."""
    start, end = today - within, today + within
    first, last = start.toordinal(), end.toordinal()
    picks: list[_Pick] = []
    reasons: list[str] = []
    scans: tuple[tuple[int, int | None], ...] = ((DUE, None), (SPAN, first - index.span))
    for group, lo in scans:
        for row in index.rows(group, lo, last):
            key, num, s, e, reach, ref, _, _, bits = row
            if reach > last or (group == SPAN and (e < first or not bits & 16)):
                continue
            reason = review_reason(index.kind(ref), _state(bits), _when(s, e, bits),
                                   bool(bits & 16), num >= 0, start, end)
            if reason is not None:
                day = date.fromordinal(key)
                days = (day, day) if group == DUE else (date.fromordinal(s), date.fromordinal(e))
                order = review_order(today, *days, (0, day, index.eid(ref),
                                                    num if num > 0 else 0))
                picks.append(_Pick(order, group, row))
                reasons.append(reason)
    ranked = sorted(range(len(picks)), key=lambda i: picks[i].order)
    urgent = [_Pick((row[7], index.eid(row[5])), UNDATED, row)
              for row in index.rows(UNDATED) if row[7] != 0 and
              _state(row[8]) is State.OPEN and urgent_old(date.fromordinal(row[7]), today)]
    urgent.sort(key=lambda p: p.order)
    found = _occurrences(index, [picks[i] for i in ranked] + urgent, held)
    why = [reasons[i] for i in ranked] + [URGENT_OLD] * len(urgent)
    return [ReviewItem(o, reason) for o, reason in zip(found, why, strict=True)]


# --- building --------------------------------------------------------------------------------

def entry_digests(located: Located) -> list[bytes] | None:
    """Each entry's text digest, by place (None: the text was not read entry by entry)."""
    chunks = located.spots.chunks
    if chunks is None or len(chunks) != len(located.register.entries):
        return None
    return [hashlib.blake2b(c.text.encode("utf-8"), digest_size=16).digest() for c in chunks]


def reached_since(old: DateIndex, register: Register, digests: Sequence[bytes], until: date
                  ) -> set[str] | None:
    """The ids of the entries whose rows in `old` may not hold for `register` (its entries'
    text digests `digests`) up to `until`: those whose text changed or went, every series
    when `until` is past `old`'s horizon, and whatever counts from those. None when that is
    too many for an update to be worth it."""
    before = dict(zip(old.eids(), old.digests(), strict=True))
    fresh = [e.id for e, digest in zip(register.entries, digests, strict=True)
             if before.get(e.id) != digest]
    gone = before.keys() - register.by_id.keys()
    if until > old.until:
        fresh += [e.id for e in register.entries if e.series is not None]
    reached = dependants(register, [*fresh, *gone])
    return None if len(reached) > len(register.entries) // _UPDATE_PART else reached


def updated(old: DateIndex, register: Register, reached: set[str], until: date,
            blobs: bool) -> Contents:
    """The index of `register` up to `until`: `old`'s rows (and pickled entries, with
    `blobs`) for every entry not in `reached`, made afresh for those."""
    places = {e.id: i for i, e in enumerate(register.entries)}
    ids = [e.id for e in register.entries]
    old_ids = old.eids()
    # Each old place's new place, or -1 for an entry whose rows are made again.
    moved = [-1 if eid in reached else places[eid] for eid in old_ids]
    derivations = {text: n for n, text in enumerate(old.derivations())}
    fresh = register_rows(register, until, [places[i] for i in reached if i in places])
    columns = [_merged(old.columns(g), moved, pack(rows, derivations), ids)
               for g, rows in enumerate(fresh)]
    kept = _pickled_from(old, register, reached, old_ids) if blobs else None
    return Contents(register, until, *_compacted(columns, list(derivations)), blobs=kept)


def _merged(old: Mapping[str, memoryview], moved: Sequence[int], new: Columns,
            ids: Sequence[str]) -> Columns:
    """A group's columns: the old rows of the entries kept (renumbered to their new
    places), with the new rows put in order among them."""
    keep = [moved[ref] >= 0 for ref in old["ref"]]
    cols = {name: array(code, itertools.compress(old[name], keep))
            for name, code in _CODES.items()}
    cols["ref"] = array("i", [moved[ref] for ref in cols["ref"]])
    if not new["key"]:
        return cols
    keys, refs, nums = cols["key"], cols["ref"], cols["num"]
    rows = range(len(keys))
    at, lo = [], 0
    for key, ref, num in zip(new["key"], new["ref"], new["num"], strict=True):
        lo = bisect.bisect_left(rows, (key, ids[ref], num), lo,
                                key=lambda i: (keys[i], ids[refs[i]], nums[i]))
        at.append(lo)
    out = {}
    for name, code in _CODES.items():
        merged, old_col, added, prev = array(code), cols[name], new[name], 0
        for value, place in zip(added, at, strict=True):
            merged.extend(old_col[prev:place])
            merged.append(value)
            prev = place
        merged.extend(old_col[prev:])
        out[name] = merged
    return out


def _compacted(columns: list[Columns], derivations: list[str]
               ) -> tuple[list[Columns], list[str]]:
    """The derivations still used, renumbered, once those no row uses are many (edits
    leave some behind)."""
    used: set[int] = set()
    for cols in columns:
        used.update(cols["deriv"])
    if len(derivations) - len(used) <= len(used) + _UNUSED_DERIVATIONS:
        return columns, derivations
    kept = sorted(used)
    renumbered = {old: new for new, old in enumerate(kept)}
    for cols in columns:
        cols["deriv"] = array("i", [renumbered[n] for n in cols["deriv"]])
    return columns, [derivations[n] for n in kept]


def _pickled_from(old: DateIndex, register: Register, reached: set[str],
                  old_ids: Sequence[str]) -> Blobs:
    """Each entry pickled: afresh for those in `reached`, else `old`'s copied as it is, in
    runs of places that follow each other."""
    old_places = {eid: ref for ref, eid in enumerate(old_ids)}
    made = iter(pickles.each(e for e in register.entries if e.id in reached))
    old_ends, old_crcs = old.blob_ends(), old.blob_crcs()
    blobs = Blobs([], array("Q", [0]), array("I"), old)
    pieces, ends = blobs.pieces, blobs.ends
    for e in register.entries:
        if e.id in reached:
            data = next(made)
            pieces.append(data)
            ends.append(ends[-1] + len(data))
            blobs.crcs.append(zlib.crc32(data))
            continue
        ref = old_places[e.id]
        last = pieces[-1] if pieces else None
        if isinstance(last, tuple) and last[1] == ref:
            pieces[-1] = (last[0], ref + 1)
        else:
            pieces.append((ref, ref + 1))
        ends.append(ends[-1] + old_ends[ref + 1] - old_ends[ref])
        blobs.crcs.append(old_crcs[ref])
    return blobs


def build(located: Located, text: str | None, until: date, old: DateIndex | None = None,
          blobs: bool = True) -> Contents:
    """What the index of the register `located` holds up to `until` (`text`: its text's
    digest): from `old` where an update is sound (`reached_since`), else from the register
    alone; with each entry pickled (`blobs`) for a file."""
    register = located.register
    digests = entry_digests(located)
    head = None if located.head is None else \
        hashlib.sha256(located.head.encode("utf-8")).hexdigest()
    reached = None
    if old is not None and digests is not None and head is not None and \
            old.head_digest == head and old.has_digests and (old.has_blobs or not blobs):
        reached = reached_since(old, register, digests, until)
    if old is None or reached is None:
        return contents(register, until, text, head, digests, blobs)
    made = updated(old, register, reached, max(until, old.until), blobs)
    made.text, made.head, made.digests = text, head, digests
    return made


def horizon_for(until: date, today: date) -> date | None:
    """How far an index answering a query up to `until` keeps series: to the end of the year
    of `until`, or of the listings' default horizon (`timeline.horizon`) if later; None when
    that is further past `today` than an index goes (`_FARTHEST_YEARS`)."""
    if until > date(min(today.year + _FARTHEST_YEARS, date.max.year), 12, 31):
        return None
    return date(max(until, horizon(today)).year, 12, 31)


# --- the doors -------------------------------------------------------------------------------

def _open(path: Path) -> DateIndex | None:
    """The index in the file at `path`; None when there is none or it cannot be used."""
    try:
        # Never a named pipe put in its place, whose opening waits for a writer: kept open
        # under a descriptor of its own, which the index closes.
        with open_regular(path) as f:
            fd = os.dup(f.fileno())
    except OSError:
        return None
    try:
        return DateIndex(mmap.mmap(fd, 0, access=mmap.ACCESS_READ), fd)
    except Exception:  # empty, truncated, damaged, other code: no index
        os.close(fd)
        return None


def _store(path: Path, made: Contents) -> DateIndex | None:
    """Write the index to `path` (atomically) and read it back; None when it cannot be
    written (not an error: the command answers from the register)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, encode(made))
    except (OSError, Unusable):
        return None
    found = _open(path)
    # Another command may have written another register's index in between.
    if found is not None and found.text == made.text and found.until == made.until:
        return found
    return None


class Dates:
    """A register's occurrences as `list` and `review` ask for them: from its date index
    when the index is the register's as it is now and reaches far enough, else from the
    register (read through the entry cache and checked, as every command does), writing the
    index again."""

    def __init__(self, path: Path, folder: Path | None, digest: str,
                 index: DateIndex | None, located: Located | None,
                 seen: Version | None = None) -> None:
        """`seen`: the register file's settled version when it was read as `located`."""
        self._path, self._folder, self._digest = path, folder, digest
        self._index, self._located, self._seen = index, located, seen

    @property
    def head(self) -> Register:
        """The register, or what it says besides its entries (vocabularies, documents)."""
        if self._located is not None:
            return self._located.register
        assert self._index is not None
        return self._index.head

    def select(self, q: Query, today: date) -> list[Occurrence]:
        """`timeline.select` of the register."""
        index = self._covering(q.horizon(today), today)
        if index is None:
            return select(self._load().register, q, today)
        try:
            return index_select(index, q, today, self._held())
        except Unusable:  # an entry damaged in the file: build the index again
            self._index = None
            return self.select(q, today)

    def review(self, today: date, within: relativedelta) -> list[ReviewItem]:
        """`timeline.review` of the register."""
        index = self._covering(today + within, today)
        if index is None:
            return timeline_review(self._load().register, today, within)
        try:
            return index_review(index, today, within, self._held())
        except Unusable:
            self._index = None
            return self.review(today, within)

    def _held(self) -> Sequence[Entry] | None:
        return None if self._located is None else self._located.register.entries

    def _covering(self, until: date, today: date) -> DateIndex | None:
        """An index of the register as it is that reaches `until`, written when needed; None
        when the query is answered from the register (no cache folder, or too far)."""
        index = self._index
        if index is not None and index.text == self._digest and index.covers(until):
            return index
        reach = horizon_for(until, today)
        if self._folder is None or reach is None:
            return None
        made = build(self._load(), self._digest, reach, index)
        made.seen = self._seen
        self._index = _store(index_file(self._folder, self._path), made)
        if self._index is None:
            self._folder = None  # not written: this command answers from the register
        return self._index

    def _load(self) -> Located:
        if self._located is None:
            data, self._seen = _read(self._path)
            # The file may have changed since it was first read: the index is of this text.
            self._digest = text_digest(data)
            self._located = _load(self._path, self._folder, _decoded(self._path, data))
        return self._located


def _read(path: Path) -> tuple[bytes, Version | None]:
    """The register's bytes, and its settled version (`files.read_settled`)."""
    try:
        return read_settled(path)
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _unchanged(path: Path, seen: Version | None) -> bool:
    """Whether the file at `path` is at the settled version `seen`, so still holds the text
    it held then."""
    try:
        return seen is not None and version(os.stat(path)) == seen
    except OSError:
        return False


def _decoded(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        from calendar_tool.register.read import decode

        return decode(data, str(path))  # raises: the first bad byte, at its line and column


def _unreadable(path: Path, exc: OSError) -> Exception:
    from calendar_tool.register.read import unreadable

    return unreadable(path, exc)


def _load(path: Path, folder: Path | None, text: str | None) -> Located:
    from calendar_tool.register.cache import load

    return load(path, folder, text)


def _file_digest(path: Path) -> str:
    """`text_digest` of the file at `path`, read a piece at a time."""
    try:
        with open_regular(path) as f:  # never a FIFO or a device: it would hang
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        raise _unreadable(path, exc) from None


def dated(path: Path, folder: Path | None) -> Dates:
    """The register at `path` for `list` and `review`: with its date index in `folder` when
    that is the register's as it is now (nothing else is read), else read and checked
    (through the entry cache) as every command reads it (RegisterInvalid, RegisterNotFound)."""
    index = None
    if folder is not None:
        index = _open(index_file(folder, path))
        # Hashing the register is a tenth of reading it: not needed when the file is at the
        # version the index saw, which no later write can keep.
        if index is not None and index.text is not None and (
                _unchanged(path, index.seen) or index.text == _file_digest(path)):
            return Dates(path, folder, index.text, index, None)
    if folder is None:  # no index to key: the register is read as `load` reads it
        return Dates(path, None, "", None, _load(path, None, None))
    data, seen = _read(path)
    digest = text_digest(data)
    return Dates(path, folder, digest, index, _load(path, folder, _decoded(path, data)), seen)


# --- a register held in memory (`serve`) ------------------------------------------------------

_HELD: dict[int, DateIndex] = {}
_HELD_LOCK = threading.Lock()
# For a register read after an edit: the index of the register before it, and the ids of the
# entries whose rows may differ (`held_follows`).
_BEFORE: dict[int, tuple[DateIndex, frozenset[str]]] = {}


def held_follows(register: Register, before: Register, reached: frozenset[str]) -> None:
    """Say that `register` is `before` edited, differing only in the entries `reached` (read
    afresh, gone, or counting from one of those: `Edit.ids`). If `before` has an index in
    memory, the first query of `register` makes its own from it, afresh only for those
    entries: after a one-entry edit at 100,000 entries, a page's first request takes a
    fraction of a second rather than seconds."""
    old = _HELD.get(id(before))
    if old is None:
        return
    with _HELD_LOCK:
        if id(register) not in _BEFORE:
            weakref.finalize(register, _BEFORE.pop, id(register), None)
        _BEFORE[id(register)] = (old, reached)


def _held_index(register: Register, until: date, today: date) -> DateIndex | None:
    """The in-memory index of a register held by a long-running process, made on first use
    (from the index of the register before an edit, when there is one: `held_follows`) and
    again when a query reaches past it; dropped with the register."""
    found = _HELD.get(id(register))
    if found is not None and found.covers(until):
        return found
    reach = horizon_for(until, today)
    if reach is None:
        return None
    with _HELD_LOCK:
        found = _HELD.get(id(register))
        if found is None or not found.covers(until):
            if found is None:
                weakref.finalize(register, _HELD.pop, id(register), None)
            found = _HELD[id(register)] = DateIndex(b"".join(encode(
                _held_contents(register, reach, _BEFORE.pop(id(register), None)))))
    return found


def _held_contents(register: Register, reach: date,
                   before: tuple[DateIndex, frozenset[str]] | None) -> Contents:
    """What the index of a register held in memory holds up to `reach`: updated from the
    index of the register before an edit when that is sound (it reaches as far, and the edit
    reached few entries), else made from the register alone."""
    if before is not None:
        old, reached = before
        if old.covers(reach) and len(reached) <= len(register.entries) // _UPDATE_PART:
            return updated(old, register, set(reached), old.until, blobs=False)
    return contents(register, reach)


def held_select(register: Register, q: Query, today: date) -> list[Occurrence]:
    """`timeline.select` of a register held in memory, answered from its index."""
    return held_pick(register, q, today).first()


# An occurrence as `Selected` tells it from another: its entry's id and its number.
OccurrenceKey = tuple[str, int | None]


class Selected:
    """What a query takes from a register held in memory, in the order of `timeline.select`:
    counted, and told apart from another selection, without making an occurrence; made into
    occurrences only for the first few a page shows."""

    __slots__ = ("_found", "_held", "_index", "_picks")

    def __init__(self, index: DateIndex | None, picks: Sequence[_Pick],
                 held: Sequence[Entry], found: Sequence[Occurrence] = ()) -> None:
        """The rows `picks` of `index`, or, without an index, the occurrences `found`."""
        self._index, self._picks, self._held, self._found = index, picks, held, found

    def __len__(self) -> int:
        return len(self._picks) if self._index is not None else len(self._found)

    @property
    def dated(self) -> int:
        """How many fall on some day: the first so many (what has no day sorts last)."""
        if self._index is not None:
            return sum(1 for p in self._picks if p.group != UNDATED)
        return sum(1 for o in self._found if o.when is not None)

    def keys(self) -> set[OccurrenceKey]:
        """Which occurrences these are."""
        return set(self._keyed())

    def without(self, keys: set[OccurrenceKey]) -> Selected:
        """These, less the occurrences `keys` names."""
        kept = [key not in keys for key in self._keyed()]
        if self._index is not None:
            return Selected(self._index, list(itertools.compress(self._picks, kept)),
                            self._held)
        return Selected(None, (), self._held, list(itertools.compress(self._found, kept)))

    def _keyed(self) -> list[OccurrenceKey]:
        """Each one's key, in order."""
        if self._index is not None:
            eid = self._index.eid
            return [(eid(p.row[5]), None if p.row[1] < 0 else p.row[1]) for p in self._picks]
        return [(o.entry.id, o.number) for o in self._found]

    def first(self, n: int | None = None) -> list[Occurrence]:
        """The first `n` as occurrences (all of them when None)."""
        if self._index is not None:
            return _occurrences(self._index, self._picks[:n], self._held)
        return list(self._found[:n])

    def batches(self, size: int) -> Iterator[list[Occurrence]]:
        """All of them as occurrences, `size` at a time, each batch made when asked for."""
        for start in range(0, len(self), size):
            if self._index is not None:
                yield _occurrences(self._index, self._picks[start:start + size], self._held)
            else:
                yield list(self._found[start:start + size])


def held_count(register: Register, q: Query, today: date) -> int:
    """How many dated occurrences up to the listings' horizon the filters of `q` (not its
    period) take from a register held in memory: the events of the feed of that selection.
    Counted over the index's columns without making a row, and kept with the index: a page
    asks the same counts on every view."""
    q = q.filters()
    index = _held_index(register, q.horizon(today), today)
    if index is None:
        return sum(1 for o in select(register, q, today) if o.when is not None)
    until = q.horizon(today).toordinal()
    known = index.counts.get((q, until))
    if known is None:
        known = index.counts[q, until] = _count(index, q, until)
    return known


def _count(index: DateIndex, q: Query, until: int) -> int:
    """`held_count` from the index's columns."""
    takes = _Takes(index, q)
    count = 0
    for group in (DUE, SPAN):
        cols = index.columns(group)
        reaches = cols["reach"].tolist()
        if not (q.areas or q.actors or q.kinds or q.states):
            count += sum(1 for reach in reaches if reach <= until)
            continue
        for reach, ref, bits in zip(reaches, cols["ref"].tolist(), cols["bits"].tolist(),
                                    strict=True):
            if reach <= until and takes(ref, bits):
                count += 1
    return count


def held_used(register: Register, today: date) -> tuple[set[str], set[str], set[Kind]]:
    """The areas, actors and kinds the entries of a register held in memory use, from its
    index (what the page offers to filter by), without a pass over the entries."""
    index = _held_index(register, horizon(today), today)
    if index is None:
        return ({a for e in register.entries for a in e.areas},
                {a for e in register.entries for a in e.actors},
                {e.kind for e in register.entries})
    return index.used()


def held_pick(register: Register, q: Query, today: date) -> Selected:
    """What `held_select` gives, as a `Selected`: counted from the index of a register held in
    memory, made into occurrences only as asked."""
    index = _held_index(register, q.horizon(today), today)
    if index is None:
        return Selected(None, (), register.entries, select(register, q, today))
    return Selected(index, _picks(index, q, today), register.entries)
