"""Where each field of a parsed register stands in its file, found again on demand for the
odd problem found after the walk."""

from __future__ import annotations

import contextlib
import re
import weakref
from collections.abc import Sequence
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


@dataclass(frozen=True)
class Located:
    """A parsed register with the position of every field, for problems found later."""

    register: Register
    filename: str
    paths: dict[str, str]  # entry id -> "entries[i]"
    spots: Spots
    # The text composed apart from the entries (None: the file was composed whole), for the
    # next read to know whether vocabulary and documents are still the same (`clean_edit`).
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

    def reusable(self) -> dict[str, Entry]:
        """Each entry by the exact text it was read from, for `parse_located(reuse=...)`."""
        chunks = self.spots.chunks
        if chunks is None or len(chunks) != len(self.register.entries):
            return {}
        return {c.text: e for c, e in zip(chunks, self.register.entries, strict=True)}

