"""The register's text as YAML nodes: libyaml's composer (positions kept, nothing
constructed), and the split of the text into its head and one chunk per entry, so that an
entry is composed on its own and a re-read composes only the entries whose text changed."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

# libyaml's parser: PyYAML's wheels carry it, and the pure-Python one is ten times slower.
from yaml._yaml import CParser
from yaml.nodes import MappingNode, ScalarNode

NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_NULL_WORDS = frozenset(("", "~", "null", "Null", "NULL"))


class _Composer(CParser):
    """libyaml's composer, resolving plain scalars only to null or text.

    The walker reads every value as text and asks of a tag only whether it is null, so the
    full resolver (a regular expression per scalar for ints, floats, booleans, timestamps) was
    work thrown away: a fifth of the time to compose a large register."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # Called for every node, so module constants rather than lookups through `yaml`.
        if kind is ScalarNode:
            return NULL if implicit[0] and value in _NULL_WORDS else _STR
        return _MAP if kind is MappingNode else _SEQ

    def descend_resolver(self, *args: Any) -> None:
        pass

    def ascend_resolver(self, *args: Any) -> None:
        pass


def compose(text: str) -> yaml.Node | None:
    parser = _Composer(text)
    try:
        return parser.get_single_node()
    finally:
        parser.dispose()


# Not frozen: a frozen dataclass is made at twice the cost, and a read makes one per entry.
@dataclass(slots=True)
class Chunk:
    """The text of one item of the `entries` list, from its `-` line to the next item's."""

    line: int  # the line it starts on, from 0
    text: str


# Each pattern that searches the whole text starts with a newline rather than ^: the regex
# engine can then jump from newline to newline, where with ^ it tries every character (a
# quarter of a second a pattern on 100,000 entries).
_ENTRIES_KEY = r"entries:[ \t]*(?:#[^\n]*)?\r?$"
_ENTRIES_KEY_FIRST = re.compile(_ENTRIES_KEY, re.M)  # on the first line, by match()
_ENTRIES_KEY_LATER = re.compile(r"\n" + _ENTRIES_KEY, re.M)
_CONTENT = re.compile(r"^( *)([^ \r\n#])", re.M)


def split_entries(text: str, before: Sequence[Chunk] | None = None
                  ) -> tuple[str, list[Chunk]] | None:
    """The register without its entries (their lines left blank, so lines keep their numbers)
    and each entry's text, when `entries:` is a block list at the top level; else None.
    `before`: the chunks of the text read before this one, which the chunks at the start
    and at the end of the list are, unless edited (`_List.after`).

    Each entry is then composed on its own, so that a reload composes only the entries whose
    text changed. A split that is wrong cannot go unnoticed: the head must compose to a
    mapping whose `entries` is empty, and each chunk to a list of exactly one item, or the
    whole text is composed at once as before."""
    keys = [m for m in (_ENTRIES_KEY_FIRST.match(text), *_ENTRIES_KEY_LATER.finditer(text))
            if m is not None]
    if len(keys) != 1:
        return None
    body = keys[0].end() + 1
    first = _CONTENT.search(text, body)
    if first is None or first.group(2) != "-" or text[first.end():first.end() + 1] not in \
            (" ", "\n", "\r"):
        return None
    indent = len(first.group(1))
    # The list ends at the first line that starts left of its dashes (comments aside); the
    # first line of the list is not one, so the newline before it can lead the pattern.
    end_at = re.compile(rf"\n {{0,{indent - 1}}}[^ \r\n#]" if indent else r"\n[^ \r\n#-]")
    found = end_at.search(text, first.start())
    end = found.start() + 1 if found else len(text)
    item = re.compile(rf"\n {{{indent}}}-(?=[ \r\n])")
    line = text.count("\n", 0, first.start())
    span = _List(text, end, item)
    chunks = span.after(first.start(), line, before) if before else \
        span.chunks(first.start(), end, line)
    # The number of newlines before `end`: the blank lines that stand for the entries are
    # those after `body`, without counting through the entries again.
    line = chunks[-1].line + chunks[-1].text.count("\n")
    head = text[:body] + "\n" * (line - text.count("\n", 0, body)) + text[end:]
    return head, chunks


@dataclass(frozen=True)
class _List:
    """The `entries` list of a text, up to `end`, its items starting where `item` matches
    (at the newline before them)."""

    text: str
    end: int
    item: re.Pattern[str]

    def chunks(self, start: int, stop: int, line: int) -> list[Chunk]:
        """The chunks of the items from `start` (where one starts) up to `stop` (where one
        starts, or the list ends), the first on line `line`."""
        starts = [start]
        for m in self.item.finditer(self.text, start, self.end):
            if m.start() + 1 >= stop:
                break
            starts.append(m.start() + 1)
        chunks = []
        for a, b in itertools.pairwise([*starts, stop]):
            piece = self.text[a:b]
            chunks.append(Chunk(line, piece))
            line += piece.count("\n")
        return chunks

    def after(self, start: int, line: int, before: Sequence[Chunk]) -> list[Chunk]:
        """`chunks(start, end, line)`, knowing the chunks of the text before an edit: those
        at the start and at the end of the list that are still there, text for text, are
        found by comparing them (their lines moved by what the edit added or took away),
        and only the items between them are split. After a one-entry edit of a large
        register, finding every item again was a quarter of the re-read."""
        n, pos, i = len(before), start, 0
        while i < n and self._at(before[i].text, pos, pos + len(before[i].text)):
            pos, i = pos + len(before[i].text), i + 1
        stop, j = self.end, n
        while j > i and (a := stop - len(before[j - 1].text)) >= pos and \
                self._at(before[j - 1].text, a, stop) and \
                (a == pos or self.item.match(self.text, a - 1, self.end) is not None):
            stop, j = a, j - 1
        head = _moved(before[:i], line - before[0].line) if n else []
        at = head[-1].line + head[-1].text.count("\n") if head else line
        middle = self.chunks(pos, stop, at) if pos < stop else []
        at = middle[-1].line + middle[-1].text.count("\n") if middle else at
        return head + middle + (_moved(before[j:], at - before[j].line) if j < n else [])

    def _at(self, piece: str, a: int, b: int) -> bool:
        """Whether `piece`, an item's whole text before, is the text at `a` up to `b`, and
        the next item (or the list's end) starts at `b`. No item can then start within it
        that did not before: each needs the newline before it, and a match that looks past
        `b` finds the next item's."""
        return b <= self.end and self.text.startswith(piece, a) and \
            (b == self.end or self.item.match(self.text, b - 1, self.end) is not None)


def _moved(chunks: Sequence[Chunk], lines: int) -> list[Chunk]:
    """`chunks`, `lines` lines further down (the same objects when they did not move)."""
    if not lines:
        return list(chunks)
    return [Chunk(c.line + lines, c.text) for c in chunks]


class Unsplit(Exception):
    """The text did not split as `split_entries` expects; it is composed whole instead."""


def chunk_node(chunk: Chunk) -> yaml.Node:
    try:
        node = compose(chunk.text)
    except yaml.YAMLError:
        raise Unsplit() from None
    if not isinstance(node, yaml.SequenceNode) or len(node.value) != 1:
        raise Unsplit()
    return node.value[0]  # type: ignore[no-any-return]

