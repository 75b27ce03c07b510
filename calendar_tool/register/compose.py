"""The register's text as YAML nodes: libyaml's composer (positions kept, nothing
constructed), and the split of the text into its head and one chunk per entry, so that an
entry is composed on its own and a re-read composes only the entries whose text changed."""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

# libyaml's parser: PyYAML's wheels carry it, and the pure-Python one is ten times slower.
from yaml._yaml import CParser
from yaml.nodes import MappingNode, ScalarNode

NULL = "tag:yaml.org,2002:null"
STR = "tag:yaml.org,2002:str"
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
            return NULL if implicit[0] and value in _NULL_WORDS else STR
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
    key = _entries_key(text)
    if key is None:
        return None
    body = key.end() + 1
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


def outside_entries(head: str) -> str:
    """The head `split_entries` gives without the blank lines that stand for the entries:
    the same after an edit that changes how many lines the entries take (a status added to
    one), as long as nothing outside them changed."""
    key = _entries_key(head)
    if key is None:
        return head
    body = key.end() + 1
    return head[:body] + head[body:].lstrip("\n")


def _entries_key(text: str) -> re.Match[str] | None:
    """The top-level `entries:` line of `text`, when there is exactly one."""
    keys = [m for m in (_ENTRIES_KEY_FIRST.match(text), *_ENTRIES_KEY_LATER.finditer(text))
            if m is not None]
    return keys[0] if len(keys) == 1 else None


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
        kept (their lines moved by what the edit added or took away), and only the items
        between them are split. After a one-entry edit of a large register, finding every
        item again was a quarter of the re-read, and comparing chunk by chunk a tenth.

        The chunks kept are found from how far the list's text before and now agree from
        each end, compared a block at a time: a chunk within that stretch is there text for
        text, and the item after it starts where it did (each chunk but the last ends where
        an item started), so only the last chunk kept at each end is checked as a chunk."""
        n, texts = len(before), [c.text for c in before]
        if not n:
            return self.chunks(start, self.end, line)
        old = "".join(texts)
        ends = list(itertools.accumulate(map(len, texts)))
        i = bisect.bisect_right(ends, _agree(old, 0, self.text, start, self.end - start))
        while i and not self._at(texts[i - 1], start + ends[i - 1] - len(texts[i - 1]),
                                 start + ends[i - 1]):
            i -= 1
        base = ends[i - 1] if i else 0
        pos = start + base
        # From the end: the chunks from i on, against the text from `pos` to the list's end.
        # Chunk k starts (`ends[k - 1]`) at the same distance from the end in both.
        back = len(old) - _agree_back(old, len(old), self.text, self.end,
                                      min(len(old) - base, self.end - pos))
        j = max(i, bisect.bisect_left(ends, back) + 1 if back > 0 else 0)
        shift = self.end - len(old)  # where the text before would start, aligned at the end
        while j < n and not self._starts_kept(texts[j], pos,
                                              shift + (ends[j - 1] if j else 0)):
            j += 1
        stop = shift + (ends[j - 1] if j else 0) if j < n else self.end
        head = _moved(before[:i], line - before[0].line)
        at = head[-1].line + head[-1].text.count("\n") if head else line
        middle = self.chunks(pos, stop, at) if pos < stop else []
        at = middle[-1].line + middle[-1].text.count("\n") if middle else at
        return head + middle + (_moved(before[j:], at - before[j].line) if j < n else [])

    def _starts_kept(self, piece: str, pos: int, a: int) -> bool:
        """Whether `piece`, kept from the end of the list, is there at `a` (not before `pos`,
        where the kept start ends) with an item or the kept start just before it."""
        return a >= pos and self._at(piece, a, a + len(piece)) and \
            (a == pos or self.item.match(self.text, a - 1, self.end) is not None)

    def _at(self, piece: str, a: int, b: int) -> bool:
        """Whether `piece`, an item's whole text before, is the text at `a` up to `b`, and
        the next item (or the list's end) starts at `b`. No item can then start within it
        that did not before: each needs the newline before it, and a match that looks past
        `b` finds the next item's."""
        return b <= self.end and self.text.startswith(piece, a) and \
            (b == self.end or self.item.match(self.text, b - 1, self.end) is not None)


# Texts are compared this many characters at a time (each a copy, so not the whole text).
_BLOCK = 1 << 16


def _agree(a: str, i: int, b: str, j: int, most: int) -> int:
    """How many characters `a` from `i` and `b` from `j` have in common from there, up to
    `most`."""
    return _agreeing(lambda lo, hi: a[i + lo:i + hi] == b[j + lo:j + hi],
                     min(most, len(a) - i, len(b) - j))


def _agree_back(a: str, i: int, b: str, j: int, most: int) -> int:
    """How many characters `a` before `i` and `b` before `j` have in common, counted back
    from there, up to `most`."""
    return _agreeing(lambda lo, hi: a[i - hi:i - lo] == b[j - hi:j - lo], min(most, i, j))


def _agreeing(same: Callable[[int, int], bool], most: int) -> int:
    """How far two texts agree, up to `most` characters, given `same(lo, hi)`: whether they
    agree from `lo` to `hi` characters in. A block at a time, then by bisection within the
    first block that differs."""
    lo = 0
    while lo < most:
        hi = min(lo + _BLOCK, most)
        if not same(lo, hi):
            break
        lo = hi
    else:
        return most
    while hi - lo > 1:  # they agree up to lo and differ before hi
        mid = (lo + hi) // 2
        if same(lo, mid):
            lo = mid
        else:
            hi = mid
    return lo


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

