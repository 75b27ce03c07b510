"""The register's text as YAML nodes: libyaml's composer (positions kept, nothing
constructed), and the split of the text into its head and one chunk per entry, so that an
entry is composed on its own and a re-read composes only the entries whose text changed."""

from __future__ import annotations

import itertools
import re
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


def split_entries(text: str) -> tuple[str, list[Chunk]] | None:
    """The register without its entries (their lines left blank, so lines keep their numbers)
    and each entry's text, when `entries:` is a block list at the top level; else None.

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
    starts = [first.start(), *(m.start() + 1 for m in item.finditer(text, first.start(), end))]
    line = text.count("\n", 0, first.start())
    chunks = []
    for a, b in itertools.pairwise([*starts, end]):
        piece = text[a:b]
        chunks.append(Chunk(line, piece))
        line += piece.count("\n")
    # `line` is now the number of newlines before `end`: the blank lines that stand for the
    # entries are those after `body`, without counting through the entries again.
    head = text[:body] + "\n" * (line - text.count("\n", 0, body)) + text[end:]
    return head, chunks


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

