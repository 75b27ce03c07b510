"""Reading the register's text: split it, compose and walk each entry (reusing the entries
read before from the same text), check across entries, and return the register with where
each of its fields stands."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
import yaml.reader
from yaml.nodes import ScalarNode

from calendar_tool.errors import Problem, RegisterInvalid, RegisterNotFound, os_reason
from calendar_tool.files import NotAFile, open_regular
from calendar_tool.model import Document, Entry, Offset, Register, Reviewed, Term
from calendar_tool.register import forked, pickles
from calendar_tool.register.checks import check_references, clean_edit
from calendar_tool.register.compose import (
    NULL,
    Chunk,
    Unsplit,
    chunk_node,
    compose,
    outside_entries,
    split_entries,
)
from calendar_tool.register.located import EntryPaths, Located, Spots
from calendar_tool.register.walk import (
    REGISTER_FIELDS,
    TOP_FIELDS,
    Invalid,
    Walk,
    or_default,
    read_documents,
    read_entry,
    read_offsets,
    read_reviewed,
    read_terms,
    refused_in_text,
)
from calendar_tool.timeline import EntryDates, resolve_problems, resolver_for


def parse_register(text: str, filename: str = "obligations.yaml") -> Register:
    """Validate the register's text and return it; raise RegisterInvalid with every problem."""
    return parse_located(text, filename).register


def parse_located(text: str, filename: str = "obligations.yaml", *,
                  known: Mapping[str, Entry] | None = None, before: Located | None = None,
                  dates: EntryDates | None = None, apart: bool = False) -> Located:
    """As `parse_register`, keeping where each field stands in the file.

    An entry whose text is byte for byte one read before is not composed and walked again:
    `known` maps entry texts to the entries read from them (the entry cache's), `before` is
    the last good parse of the same file. An entry is a function of its own text alone, so an
    edit invalidates exactly the entries it touches. What looks across entries (vocabulary,
    references, cycles, dates) is checked again in full, except after `before` with the same
    text outside the entries: then only where the edit can have changed its outcome
    (`checks.clean_edit`), and the parse says which entries that is (`Located.edit`).
    `dates`: what resolving derived from the entries read before (`timeline.EntryDates`).
    With `apart`, a cold read of a large register shares the work with a second process
    (`_read_chunks`): only for a process that runs no threads, since a forked process would
    inherit none of them, and whatever locks they held."""
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        raise RegisterInvalid(unusual_breaks(filename, text))
    parts = split_entries(text, before.spots.chunks if before is not None else None)
    if parts is not None:
        try:
            return _parse(filename, parts[0], parts[1],
                          _Reuse(known or {}, before, dates, apart))
        except Unsplit:
            pass
    return _parse(filename, text, None, _Reuse({}, None, dates))


@dataclass(frozen=True)
class _Reuse:
    """What a parse may take from earlier reads (see `parse_located`)."""

    entries: Mapping[str, Entry]  # `known`; a re-read after `before` takes its entries
    before: Located | None = None
    dates: EntryDates | None = None
    apart: bool = False


def yaml_problem(filename: str, exc: yaml.YAMLError, text: str = "") -> RegisterInvalid:
    if isinstance(exc, yaml.reader.ReaderError):
        # libyaml stops at a character YAML does not allow and says where in its own bytes,
        # which Python's mark gives as 1:1: find each such character and say where it is.
        found = unprintable(filename, text)
        if found:
            return RegisterInvalid(found)
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or exc.context or "not valid YAML"
        hint, at_start = _YAML_HINTS.get((problem, exc.context)) or \
            _YAML_HINTS.get((problem, None)) or ("", False)
        mark = (exc.context_mark if at_start else None) or exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        said = f"YAML syntax: {problem}" + (f": {hint}" if hint else "")
        return RegisterInvalid([Problem(filename, line, col, "", said)])
    return RegisterInvalid([Problem(filename, 1, 1, "", f"YAML syntax: {exc}")])


# What to write instead, for the YAML mistakes keepers make most, by libyaml's problem and
# context (None: any context); libyaml's words alone do not say it. True: the mistake stands
# where libyaml began the token it gave up on (its context mark: the quote left open, the
# key without its space), not where it gave up (the end of the file, the next line).
_YAML_HINTS: dict[tuple[str, str | None], tuple[str, bool]] = {
    ("mapping values are not allowed in this context", None):
        ("a ': ' inside a value starts a field: put the value in quotes, or indent this line "
         "as the field above it", False),
    ("found a tab character that violates indentation", None):
        ("indent with spaces, not tabs", False),
    ("could not find expected ':'", "while scanning a simple key"):
        ("a field is written 'name: value', with a space after the colon", True),
    ("found unexpected end of stream", "while scanning a quoted scalar"):
        ("the quote opened here is not closed", True),
}


# What YAML does not allow in a file (YAML 1.1, 5.1): control characters but tab, line feed,
# carriage return and NEL; DEL; C1 controls; surrogates; U+FFFE and U+FFFF.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MOST_SHOWN = 20


def unprintable(filename: str, text: str) -> list[Problem]:
    """A problem at the line and column of each character YAML does not allow (the first
    _MOST_SHOWN of them)."""
    def said(c: str) -> str:
        # An escape of a character no text may hold (`refused_in_text`) would only be refused
        # again, at its field: the one way out is to delete it.
        way = "delete it" if refused_in_text(c) else \
            "delete it, or write it as an escape in double quotes"
        return f"control character U+{ord(c):04X} is not allowed in YAML: {way}"
    return _each(_UNPRINTABLE, filename, text, said)


# The line breaks YAML takes besides line feed and carriage return (YAML 1.1, 5.4).
_UNUSUAL_BREAKS = re.compile("[\x85\u2028\u2029]")
_BREAK_NAMES = {"\x85": "next line", "\u2028": "line separator", "\u2029": "paragraph separator"}


def unusual_breaks(filename: str, text: str) -> list[Problem]:
    """A problem at the line and column of each NEL, LS or PS written as it is (the first
    _MOST_SHOWN of them). YAML counts each as a line break, editors do not: every problem
    after one was reported a line below where an editor shows it, and one inside a key or
    a comment broke the line in two."""
    return _each(_UNUSUAL_BREAKS, filename, text, lambda c: (
        f"{_BREAK_NAMES[c]} U+{ord(c):04X} is a line break to YAML but not to an editor: "
        "delete it, or write it as an escape in double quotes"))


def _each(pattern: re.Pattern[str], filename: str, text: str,
          said: Callable[[str], str]) -> list[Problem]:
    """A problem at the line and column (as an editor counts them: after line feeds) of each
    character `pattern` finds in `text`, the first _MOST_SHOWN of them, `said` of it."""
    problems = []
    for m in itertools.islice(pattern.finditer(text), _MOST_SHOWN):
        at = m.start()
        line = text.count("\n", 0, at) + 1
        column = at - text.rfind("\n", 0, at)
        problems.append(Problem(filename, line, column, "", said(m.group())))
    return problems


def decode(data: bytes, filename: str) -> str:
    """The register's bytes as text; RegisterInvalid at the line and column of the first
    byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line_start = before.rfind(b"\n") + 1
        line = before.count(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        raise RegisterInvalid([Problem(
            filename, line, column, "",
            f"byte 0x{data[exc.start]:02x} is not UTF-8: save the file as UTF-8")]) from None


def _walk_chunks(w: Walk, chunks: Sequence[Chunk], start: int, reuse: Mapping[str, Entry]
                 ) -> list[Entry | None]:
    """The entry of each chunk (None for one with problems, which go to `w`), the first
    being entries[start]: the one from `reuse` for a known text, else composed and walked."""
    out: list[Entry | None] = []
    kept = w.spots
    for i, chunk in enumerate(chunks, start):
        entry = reuse.get(chunk.text) if reuse else None  # a cold read hashes no text
        if entry is None:
            node = chunk_node(chunk)
            # An entry's positions are not kept (see Spots); its problems have theirs.
            w.spots, w.line_offset = None, chunk.line
            try:
                entry = read_entry(w, node, f"entries[{i}]")
            except Invalid:
                pass
            finally:
                w.spots, w.line_offset = kept, 0
        out.append(entry)
    return out


# Entries to compose from which a read given `apart` has a second process read half of them.
_APART_FROM = 10_000
# The share of the chunks this process reads: the other also pickles what it read (about a
# twelfth of its time), so that an even split left this one waiting for it (0.2 s at 100,000
# entries; validate cold 0.97 times the time, measured side by side).
_OWN_SHARE = 0.52


def _read_chunks(w: Walk, chunks: Sequence[Chunk], reuse: Mapping[str, Entry], apart: bool
                 ) -> list[Entry | None]:
    """`_walk_chunks` over all the chunks; with `apart`, and many entries to compose (a
    cold read of a large register), nearly half in a forked process (`forked`), which
    sends back its entries and problems pickled: composing and walking are two thirds of a
    cold read. Any failure of the second process (killed, out of memory) only means reading
    its half here after all."""
    half = int(len(chunks) * _OWN_SHARE)
    if not apart or not forked.available() or len(chunks) < _APART_FROM or \
            (reuse and sum(1 for c in chunks if c.text not in reuse) < _APART_FROM):
        return _walk_chunks(w, chunks, 0, reuse)

    def second_half() -> bytes:
        own = Walk(w.filename)
        try:
            found = (_walk_chunks(own, chunks[half:], half, reuse), own.problems, own.faulty)
        except Unsplit:
            found = None
        return pickles.dumps(found)

    other = forked.Forked(second_half)
    try:
        mine = _walk_chunks(w, chunks[:half], 0, reuse)
    finally:
        data = other.result()
    if data is None:
        return mine + _walk_chunks(w, chunks[half:], half, reuse)
    got = pickles.loads(data)
    if got is None:
        raise Unsplit()
    rest: list[Entry | None] = got[0]
    w.problems += got[1]
    w.faulty |= got[2]
    return mine + rest


def _reread_chunks(w: Walk, chunks: list[Chunk], before: Located) -> list[Entry | None]:
    """`_walk_chunks` after the parse `before`: the chunks the split kept from it at either
    end take its entries by place; the others are looked up by text among the rest of its
    entries, else composed. Making a dict of every entry's text, then looking each one up
    in it, was a tenth of a re-read at 100,000 entries."""
    first, last = before.same_ends(chunks)
    old = before.register.entries
    middle = _walk_chunks(w, chunks[first:len(chunks) - last], first,
                          before.reusable(first, len(old) - last))
    return [*old[:first], *middle, *old[len(old) - last:]]


def _parse(filename: str, text: str, chunks: list[Chunk] | None, reuse: _Reuse) -> Located:
    """Walk the register; `text` is the whole file, or with `chunks` the file without its
    entries. Raises Unsplit for any doubt about the split (a YAML error included: the whole
    text then says where it is)."""
    w = Walk(filename)
    try:
        root = compose(text)
    except yaml.YAMLError as exc:
        if chunks is not None:
            raise Unsplit() from None
        raise yaml_problem(filename, exc, text) from None
    if root is None:
        raise RegisterInvalid([Problem(filename, 1, 1, "", "the register is empty")])
    try:
        top = w.mapping(root, "", TOP_FIELDS, "the register")
    except Invalid:
        raise RegisterInvalid(w.problems) from None
    head = _head(w, top, filename)
    assert w.spots is not None
    spots = Spots(filename, w.spots, chunks)
    if chunks is None:
        read = _walk_nodes(w, top)
    else:
        listed = top.get("entries")
        if not isinstance(listed, ScalarNode) or listed.tag != NULL or listed.value:
            raise Unsplit()
        read = _reread_chunks(w, chunks, reuse.before) if reuse.before is not None else \
            _read_chunks(w, chunks, reuse.entries, reuse.apart)
    title, description, reminders, areas, actors, documents, reviewed = head
    entries = tuple(e for e in read if e is not None)
    reg = Register(title, description, reminders, areas, actors, documents, entries, reviewed)
    paths: Mapping[str, str] = EntryPaths(reg.entries)
    if len(entries) < len(read) or len(reg.by_id) < len(entries):  # a duplicate id, or worse
        unique, paths = _unique(w, read, spots)
        reg = replace(reg, entries=tuple(unique))
    resolver_for(reg, reuse.dates)
    # What must be the same for an edit to have touched only entries: the head, however
    # many lines the entries take.
    head_text = outside_entries(text) if chunks is not None else None
    edit = None
    if not w.problems and reuse.before is not None and head_text == reuse.before.head:
        edit = clean_edit(reg, reuse.before.register)
    if edit is None:
        _check(w, reg, paths, spots)
    if w.problems:
        raise RegisterInvalid(w.problems)
    return Located(reg, filename, paths, spots, head_text, edit)


_Head = tuple[str, str | None, tuple[Offset, ...], dict[str, Term], dict[str, Term],
              dict[str, Document], tuple[Reviewed, ...]]


def _head(w: Walk, top: dict[str, yaml.Node], filename: str) -> _Head:
    """What the register says besides its entries: title, description, default reminders,
    areas, actors, documents and the passages reviewed as not commitments."""
    no_fields: dict[str, yaml.Node] = {}
    head = or_default(lambda: w.mapping(top["register"], "register", REGISTER_FIELDS,
                                        "the register's title, description and reminders"),
                      no_fields) if "register" in top else {}
    reminders = w.optional(head, "register", "reminders", read_offsets)
    return (w.optional(head, "register", "title", Walk.line) or filename,
            w.optional(head, "register", "description", Walk.text),
            reminders if reminders is not None else (),
            read_terms(w, top.get("areas"), "areas"), read_terms(w, top.get("actors"), "actors"),
            read_documents(w, top.get("documents")), read_reviewed(w, top.get("reviewed")))


def _walk_nodes(w: Walk, top: dict[str, yaml.Node]) -> list[Entry | None]:
    """The entries of a register composed whole."""
    no_nodes: list[yaml.Node] = []
    nodes = or_default(lambda: w.seq(top["entries"], "entries", "entries"), no_nodes) \
        if "entries" in top else []
    return [or_default(functools.partial(read_entry, w, node, f"entries[{i}]"), None)
            for i, node in enumerate(nodes)]


def _unique(w: Walk, read: list[Entry | None], spots: Spots
            ) -> tuple[list[Entry], dict[str, str]]:
    """The entries read, each id once (a second use is a problem), and each id's path: for a
    register with an entry that could not be read or an id used twice (the common case has
    its paths from `EntryPaths`, and its ids checked by `Register.by_id`)."""
    paths: dict[str, str] = {}
    entries = []
    for i, entry in enumerate(read):
        if entry is None:
            continue
        path = f"entries[{i}]"
        if entry.id in paths:
            first = spots.at(f"{paths[entry.id]}.id")
            w.fail(spots.at(f"{path}.id"), f"{path}.id",
                   f"duplicate id {entry.id!r} (first used on line {first[0] if first else 1})")
            continue
        paths[entry.id] = path
        entries.append(entry)
    return entries, paths


def _check(w: Walk, reg: Register, paths: Mapping[str, str], spots: Spots) -> None:
    """The checks across all the entries, then the dates that only resolving can check (an
    offset moving a date before year 1)."""
    check_references(w, reg, paths, spots)
    if w.problems:
        return
    for entry_id, field, message in resolve_problems(reg):
        path = f"{paths[entry_id]}.{field}"
        w.fail(spots.at(path) or spots.at(path.rsplit(".", 1)[0]), path, message)


def read_text(path: Path) -> str:
    """The register file's text; RegisterNotFound when it cannot be read, RegisterInvalid
    (at the line and column of the first bad byte) when it is not UTF-8."""
    try:
        with open_regular(path) as f:
            data = f.read()
    except OSError as exc:
        raise unreadable(path, exc) from None
    return decode(data, str(path))


def unreadable(path: Path, exc: OSError) -> RegisterNotFound:
    """The error for a register file that cannot be read: what is wrong with it, in words,
    and for a path that names nothing usable, how to name another."""
    other = "give --register PATH or set CALENDAR_TOOL_REGISTER"
    if isinstance(exc, FileNotFoundError):
        return RegisterNotFound(f"no register at {str(path)!r}: {other}")
    if isinstance(exc, IsADirectoryError):
        return RegisterNotFound(f"the register {str(path)!r} is a folder, not a file: {other}")
    if isinstance(exc, NotAFile):
        return RegisterNotFound(f"the register {str(path)!r} is {exc.kind}, not a regular "
                                f"file: {other}")
    reason = os_reason(exc)
    return RegisterNotFound(f"cannot read the register {str(path)!r}: {reason}")

