"""Where each field of a parsed register stands in its file, found again on demand for the
odd problem found after the walk."""

from __future__ import annotations

import contextlib
import itertools
import operator
import re
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from calendar_tool.errors import Problem
from calendar_tool.model import Entry, Register
from calendar_tool.register.compose import Chunk, chunk_node
from calendar_tool.register.walk import Invalid, Position, Walk, read_entry

_ENTRY_PATH = re.compile(r"^entries\[(\d+)\]")


class Spots:
    """Where each field of a parsed register stands, by path ("entries[3].date.from").

    The fields outside `entries` are kept from the first walk. An entry's are found again when
    asked for, by composing its text alone: keeping every node of a large register took more
    memory than the register itself, and positions are wanted only for the odd problem."""

    def __init__(self, filename: str, head: dict[str, Position],
                 chunks: Sequence[Chunk] | None) -> None:
        self.filename = filename
        self.head = head
        self.chunks = chunks
        self._entries: dict[int, dict[str, Position]] = {}

    def at(self, path: str) -> Position | None:
        found = self.head.get(path)
        if found is not None or self.chunks is None:
            return found
        m = _ENTRY_PATH.match(path)
        if m is None or int(m.group(1)) >= len(self.chunks):
            return None
        i = int(m.group(1))
        if i not in self._entries:
            chunk = self.chunks[i]
            w = Walk(self.filename, line_offset=chunk.line)
            node = chunk_node(chunk)
            with contextlib.suppress(Invalid):
                read_entry(w, node, f"entries[{i}]")
            assert w.spots is not None
            self._entries[i] = w.spots
        return self._entries[i].get(path)


class EntryPaths(Mapping[str, str]):
    """Each entry's path ("entries[i]") by its id, when every entry read is in the register
    at its place (`entries`). Made when first asked, since only the few a problem names ever
    are: most reads ask for none, and formatting them all was a tenth of a second a read at
    100,000 entries, the dict of their places 40 ms and 6 MB kept."""

    __slots__ = ("_at", "_entries")

    def __init__(self, entries: Sequence[Entry]) -> None:
        self._entries = entries
        self._at: dict[str, int] | None = None

    def _places(self) -> dict[str, int]:
        if self._at is None:  # two threads may both make it: the same dict either way
            self._at = {e.id: i for i, e in enumerate(self._entries)}
        return self._at

    def __getitem__(self, entry_id: str) -> str:
        return f"entries[{self._places()[entry_id]}]"

    def __iter__(self) -> Iterator[str]:
        return iter(self._places())

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class Edit:
    """How a register read again after an edit differs from the register read before it:
    only in the entries of `ids` (read afresh, gone, or counting from one of those, however
    indirectly, so that their dates may have moved); its vocabulary, documents and default
    reminders are the same. What was computed entry by entry for `before` holds for every
    other entry. `before` is weak, so that a register does not keep the one before it alive,
    nor that one its own."""

    before: weakref.ref[Register]
    ids: frozenset[str]

    def follows(self, register: Register | None) -> bool:
        """Whether this is an edit of `register`."""
        return register is not None and self.before() is register


_TEXT = operator.attrgetter("text")  # a chunk's text, without a Python call per chunk


def _leading(chunks: Sequence[Chunk], mine: Sequence[Chunk]) -> int:
    """How many of `chunks`, from the first, have the text of `mine` at the same place (the
    very object). The chunks a split kept are `mine`'s own objects unless their lines moved:
    those are compared first, as references in C, which reads no chunk (reading each was
    most of the time at 100,000 entries); then the texts, until one differs."""
    same = list(map(operator.is_, chunks, mine))
    try:
        n = same.index(False)
    except ValueError:
        return len(same)
    for a, b in zip(itertools.islice(chunks, n, None), itertools.islice(mine, n, None),
                    strict=False):
        if a.text is not b.text:
            break
        n += 1
    return n


@dataclass(frozen=True)
class Located:
    """A parsed register with the position of every field, for problems found later."""

    register: Register
    filename: str
    paths: Mapping[str, str]  # entry id -> "entries[i]"
    spots: Spots
    # The text composed apart from the entries, without the blank lines standing for them
    # (`outside_entries`; None: the file was composed whole), for the next read to know
    # whether vocabulary and documents are still the same (`clean_edit`).
    head: str | None = None
    # How it differs from the parse it was read after, when that is known (`clean_edit`).
    edit: Edit | None = None

    def problem(self, path: str, message: str) -> Problem:
        where = self.spots.at(path)
        while where is None and "." in path:
            path = path.rsplit(".", 1)[0]
            where = self.spots.at(path)
        line, col = where or (1, 1)
        return Problem(self.filename, line, col, path, message)

    def reusable(self, first: int = 0, end: int | None = None) -> dict[str, Entry]:
        """Each entry (those from place `first` to `end`) by the exact text it was read from,
        for `parse_located(known=...)`; none when its chunks are not one per entry."""
        chunks = self.spots.chunks
        entries = self.register.entries
        if chunks is None or len(chunks) != len(entries):
            return {}
        return dict(zip(map(_TEXT, chunks[first:end]), entries[first:end], strict=True))

    def same_ends(self, chunks: Sequence[Chunk]) -> tuple[int, int]:
        """How many of `chunks`, from the start and from the end, are this parse's own
        chunks' texts (the very objects) at the same places from that end: what a re-read's
        split kept (`split_entries`), whose entries are this parse's. (0, 0) when its chunks
        are not one per entry."""
        mine = self.spots.chunks
        if mine is None or len(mine) != len(self.register.entries):
            return 0, 0
        first = _leading(chunks, mine)
        last = _leading(chunks[::-1], mine[::-1])
        return first, min(last, min(len(mine), len(chunks)) - first)

