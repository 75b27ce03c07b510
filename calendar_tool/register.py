"""Reading `obligations.yaml`: parse, validate, resolve references, check quotes.

The YAML is composed (not constructed) so that every value keeps its line and column; the
walker below turns nodes into `model` types and gathers every problem it meets, so that one
run of `validate` lists them all. `parse_register(text, filename)` takes text; `load_register`
is the thin wrapper that takes a path.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import itertools
import pickle
import re
import sys
import unicodedata
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import yaml
from dateutil.rrule import rrulestr

# libyaml's parser: PyYAML's wheels carry it, and the pure-Python one is ten times slower.
from yaml._yaml import CParser
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from calendar_tool import forked, heap
from calendar_tool.errors import Problem, RegisterInvalid, RegisterNotFound, SourcesMissing
from calendar_tool.model import (
    DatedValue,
    Document,
    Edit,
    Entry,
    Kind,
    KnownOccurrence,
    Offset,
    Precision,
    Register,
    Relative,
    Series,
    Source,
    State,
    Status,
    Term,
    keep_derived,
)

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class _Fields(dict[str, bool]):
    """The fields a mapping allows, in order, each with whether it is required."""

    def __init__(self, fields: dict[str, bool]) -> None:
        super().__init__(fields)
        # Listed apart, as every mapping read looks for them.
        self.required = tuple(name for name, required in fields.items() if required)


TOP_FIELDS = _Fields({"register": True, "areas": True, "actors": True, "documents": True,
                      "entries": True})
REGISTER_FIELDS = _Fields({"title": True, "description": False, "reminders": False})
TERM_FIELDS = _Fields({"title": True})
DOCUMENT_FIELDS = _Fields({"title": True, "url": False, "file": False})
ENTRY_FIELDS = _Fields({
    "id": True, "title": True, "kind": True, "date": False, "series": False, "actors": True,
    "areas": True, "sources": True, "description": False, "location": False, "status": False,
    "reminders": False, "note": False,
})
SERIES_FIELDS = _Fields({
    "rule": True, "start": True, "first": False, "until": False, "count": False,
    "occurrences": False,
})
KNOWN_FIELDS = _Fields({"date": True, "location": False, "note": False, "status": False,
                        "sources": False})
SOURCE_FIELDS = _Fields({"doc": True, "para": True, "quote": True, "file": False})
STATUS_FIELDS = _Fields({"state": True, "date": False, "note": False})
RELATIVE_FIELDS = _Fields({"from": True, "offset": False, "anchor": False})

# Enum members by value: calling the enum to look one up costs a microsecond.
_KINDS = {k.value: k for k in Kind}
_STATES = {s.value: s for s in State}

# The finest recurrence each precision can carry: a year-precision series recurs yearly.
_FREQS = {
    Precision.YEAR: {"YEARLY"},
    Precision.MONTH: {"YEARLY", "MONTHLY"},
    Precision.DAY: {"YEARLY", "MONTHLY", "WEEKLY", "DAILY"},
}

# The status of an entry that gives none; one for all, as it is frozen.
_OPEN = Status()


class _Invalid(Exception):
    """Raised inside the walker to abandon one value; the problem is already recorded."""


Position = tuple[int, int]  # line and column, from 1

# Where a value stands: `path` and `key` together, ".key" for a field and "[key]" for an item
# (no key: the path is the value's own). The walker passes them apart and joins them only for
# a problem, which most values never have: building every path cost a twentieth of the walk.
Key = str | int | None


def _sub(path: str, key: Key) -> str:
    """The path of `key` within `path`."""
    if key is None:
        return path
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


@dataclass
class _Walk:
    """State of one validation pass: the file name and every problem found so far."""

    filename: str
    problems: list[Problem] = field(default_factory=list)
    # Where every field stands by its path ("entries[3].sources[0].quote"), for problems found
    # later; None while walking an entry chunk, whose positions are found again on demand.
    spots: dict[str, Position] | None = field(default_factory=dict)
    # The first line of the text being walked within the file (an entry chunk's).
    line_offset: int = 0
    # Dates and offsets read so far, by their text (see `_parsed`).
    dates: dict[str, DatedValue] = field(default_factory=dict)
    offsets: dict[str, Offset] = field(default_factory=dict)

    def at(self, node: yaml.Node) -> Position:
        return (node.start_mark.line + 1 + self.line_offset, node.start_mark.column + 1)

    def fail(self, where: yaml.Node | Position | None, path: str, message: str) -> _Invalid:
        if isinstance(where, yaml.Node):
            where = self.at(where)
        line, col = where or (1, 1)
        self.problems.append(Problem(self.filename, line, col, path, message))
        return _Invalid()

    def mapping(
        self, node: yaml.Node, path: str, fields: _Fields, what: str
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, path, f"must be a mapping ({what}), not {_describe(node)}")
        spots = self.spots
        if spots is not None:
            spots[path] = self.at(node)
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, path, "keys must be plain words")
                continue
            key: str = key_node.value
            # The usual case first, building no path: a known field, given once.
            if key in fields and key not in out:
                out[key] = value_node
                if spots is not None:
                    spots[_sub(path, key)] = self.at(value_node)
            elif key in out:
                self.fail(key_node, _sub(path, key), "appears twice in the same mapping")
            else:
                hint = difflib.get_close_matches(key, list(fields), n=1)
                tip = f"; did you mean {hint[0]!r}?" if hint else ""
                allowed = ", ".join(fields)
                self.fail(key_node, _sub(path, key),
                          f"unknown field {key!r}{tip} (allowed: {allowed})")
        for name in fields.required:
            if name not in out:
                self.fail(node, _sub(path, name), f"missing required field {name!r} in {what}")
        return out

    def seq(self, node: yaml.Node, path: str, what: str) -> list[yaml.Node]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, path, f"must be a list of {what}, not {_describe(node)}")
        items: list[yaml.Node] = node.value
        if self.spots is not None:
            for i, item in enumerate(items):
                self.spots[f"{path}[{i}]"] = self.at(item)
        return items

    def text(self, node: yaml.Node, path: str, key: Key) -> str:
        if not isinstance(node, ScalarNode) or node.tag == _NULL:
            raise self.fail(node, _sub(path, key), f"must be text, not {_describe(node)}")
        value: str = node.value.strip()
        if not value:
            raise self.fail(node, _sub(path, key), "must not be empty")
        return value

    def ident(self, node: yaml.Node, path: str, key: Key) -> str:
        value = self.text(node, path, key)
        if not _ID.match(value):
            raise self.fail(
                node, _sub(path, key),
                f"{value!r} is not an id: use lower-case letters, digits and single hyphens",
            )
        return value

    def integer(self, node: yaml.Node, path: str, key: Key, minimum: int) -> int:
        value = self.text(node, path, key)
        if not value.isdigit() or int(value) < minimum:
            raise self.fail(node, _sub(path, key),
                            f"{value!r} must be a whole number of at least {minimum}")
        return int(value)

    def choice(self, node: yaml.Node, path: str, key: Key, members: dict[str, E]) -> E:
        """One of an enum's `members` (by value), named by its value."""
        value = self.text(node, path, key)
        member = members.get(value)
        if member is None:
            allowed = ", ".join(members)
            raise self.fail(node, _sub(path, key), f"{value!r} is not one of: {allowed}")
        return member

    def optional(self, fields: dict[str, yaml.Node], path: str, name: str,
                 check: Callable[[_Walk, yaml.Node, str, str], T]) -> T | None:
        """`check(self, node, path, name)` for the field `name`, or None when the field is not
        given or not valid (its problem is recorded)."""
        node = fields.get(name)
        if node is None:
            return None
        try:
            return check(self, node, path, name)
        except _Invalid:
            return None


def _describe(node: yaml.Node | None) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node is None or node.tag == "tag:yaml.org,2002:null":
        return "nothing"
    return f"{node.value!r}"


# --- dated values ----------------------------------------------------------------------------

def _parsed(w: _Walk, node: yaml.Node, path: str, key: Key, parse: Callable[[str], T],
            seen: dict[str, T]) -> T:
    """A text value through a model parser, its ValueError becoming a located problem.

    The values are frozen, so the values of one text are one object (`seen`, by text): a
    register repeats its dates thousands of times, and parsing one costs microseconds."""
    value = w.text(node, path, key)
    parsed = seen.get(value)
    if parsed is None:
        try:
            parsed = seen[value] = parse(value)
        except ValueError as exc:
            raise w.fail(node, _sub(path, key), str(exc)) from None
    return parsed


def _dated(w: _Walk, node: yaml.Node, path: str, key: Key) -> DatedValue:
    return _parsed(w, node, path, key, DatedValue.parse, w.dates)


def _offset(w: _Walk, node: yaml.Node, path: str, key: Key) -> Offset:
    return _parsed(w, node, path, key, Offset.parse, w.offsets)


def _offsets(w: _Walk, node: yaml.Node, path: str, key: Key) -> tuple[Offset, ...]:
    path = _sub(path, key)
    out: list[Offset] = []
    for i, item in enumerate(w.seq(node, path, "durations such as P30D")):
        try:
            off = _offset(w, item, path, i)
        except _Invalid:
            continue
        if off.negative:
            w.fail(item, f"{path}[{i}]", f"{item.value!r}: a reminder offset counts back from "
                                          "the due day and must not be negative")
        else:
            out.append(off)
    return tuple(out)


# --- parts of an entry -----------------------------------------------------------------------

def _source(w: _Walk, node: yaml.Node, path: str) -> Source:
    f = w.mapping(node, path, SOURCE_FIELDS, "a source")
    if "doc" not in f or "para" not in f or "quote" not in f:
        raise _Invalid()
    return Source(
        doc=sys.intern(w.text(f["doc"], path, "doc")),  # interned as actors are
        para=w.text(f["para"], path, "para"),
        quote=w.text(f["quote"], path, "quote"),
        file=w.optional(f, path, "file", _Walk.text) if "file" in f else None,  # as in _entry
    )


def _sources(w: _Walk, node: yaml.Node, path: str, key: Key) -> tuple[Source, ...]:
    path = _sub(path, key)
    out: list[Source] = []
    for i, item in enumerate(w.seq(node, path, "sources")):
        try:  # not contextlib.suppress, which costs a microsecond a time
            out.append(_source(w, item, f"{path}[{i}]"))
        except _Invalid:
            continue
    return tuple(out)


def _kind(w: _Walk, node: yaml.Node, path: str, key: Key) -> Kind:
    return w.choice(node, path, key, _KINDS)


def _status(w: _Walk, node: yaml.Node, path: str, key: Key) -> Status:
    if isinstance(node, ScalarNode):
        return Status(w.choice(node, path, key, _STATES))
    path = _sub(path, key)
    f = w.mapping(node, path, STATUS_FIELDS, "a status")
    if "state" not in f:
        raise _Invalid()
    state = w.choice(f["state"], path, "state", _STATES)
    when = w.optional(f, path, "date", _dated)
    if when is not None and (when.precision is not Precision.DAY or when.is_range):
        w.fail(f["date"], f"{path}.date", "the date a status changed is a day, such as 2006-01-15")
        when = None
    note = w.optional(f, path, "note", _Walk.text)
    return Status(state, when.start if when else None, note)


def _relative(w: _Walk, node: yaml.Node, path: str, key: Key) -> Relative:
    path = _sub(path, key)
    f = w.mapping(node, path, RELATIVE_FIELDS, "a relative date {from, offset, anchor}")
    if "from" not in f:
        raise _Invalid()
    ref = w.text(f["from"], path, "from")
    target, sep, number = ref.partition("#")
    if not _ID.match(target) or (sep and not number.isdigit()):
        raise w.fail(f["from"], f"{path}.from",
                     f"{ref!r} must be an entry id, or a series id and occurrence number "
                     "such as commission-sessions#10")
    offset = w.optional(f, path, "offset", _offset) or Offset()
    anchor = w.optional(f, path, "anchor", _Walk.text) or "start"
    if anchor not in ("start", "end"):
        w.fail(f["anchor"], f"{path}.anchor", f"{anchor!r} must be 'start' or 'end'")
    return Relative(target, int(number) if sep else None, offset, anchor == "end")


@functools.lru_cache(maxsize=256)
def _rule_error(rule: str) -> str | None:
    """Why dateutil refuses the rule, if it does; kept, as a register repeats a few rules
    thousands of times and reading one costs ten microseconds."""
    try:
        rrulestr(rule, dtstart=date(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _rule(w: _Walk, node: yaml.Node, path: str, key: Key, start: DatedValue | None) -> str:
    path = _sub(path, key)
    rule = w.text(node, path, None).upper()
    if rule.startswith("RRULE:"):
        rule = rule[len("RRULE:"):]
    if "DTSTART" in rule:
        raise w.fail(node, path, "give the first date as series.start, not in the rule")
    error = _rule_error(rule)
    if error is not None:
        raise w.fail(node, path, f"{rule!r} is not an RFC 5545 recurrence rule ({error})")
    parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    freq = parts.get("FREQ", "")
    if start is not None and freq not in _FREQS[start.precision]:
        allowed = " or ".join(sorted(_FREQS[start.precision]))
        raise w.fail(node, path, f"FREQ={freq} is finer than the {start.precision} precision of "
                                 f"series.start; use FREQ={allowed}")
    if "UNTIL" in parts or "COUNT" in parts:
        raise w.fail(node, path, "write the end as series.until or series.count, not in the rule")
    return rule


def _known(w: _Walk, key: yaml.Node, node: yaml.Node, path: str) -> KnownOccurrence:
    number = w.integer(key, path, None, 1)
    sub = f"{path}[{number}]"
    f = w.mapping(node, sub, KNOWN_FIELDS, "a known occurrence")
    if "date" not in f:
        raise _Invalid()
    return KnownOccurrence(
        number=number,
        date=_dated(w, f["date"], sub, "date"),
        location=w.optional(f, sub, "location", _Walk.text),
        note=w.optional(f, sub, "note", _Walk.text),
        status=w.optional(f, sub, "status", _status),
        sources=w.optional(f, sub, "sources", _sources) or (),
    )


def _series(w: _Walk, node: yaml.Node, path: str, key: Key) -> Series:
    path = _sub(path, key)
    f = w.mapping(node, path, SERIES_FIELDS, "a series")
    start = w.optional(f, path, "start", _dated)
    rule = w.optional(f, path, "rule", lambda w, n, p, k: _rule(w, n, p, k, start))
    first = w.optional(f, path, "first", lambda w, n, p, k: w.integer(n, p, k, 0))
    first = 1 if first is None else first
    until = w.optional(f, path, "until", _dated)
    count = w.optional(f, path, "count", lambda w, n, p, k: w.integer(n, p, k, 1))
    known: list[KnownOccurrence] = []
    occ_node = f.get("occurrences")
    if occ_node is not None:
        sub = f"{path}.occurrences"
        if not isinstance(occ_node, MappingNode):
            w.fail(occ_node, sub, "must be a mapping from occurrence number to its date")
        else:
            seen: set[int] = set()
            for key_node, value in occ_node.value:
                try:
                    k = _known(w, key_node, value, sub)
                except _Invalid:
                    continue
                if k.number in seen:
                    w.fail(key_node, f"{sub}[{k.number}]", "this occurrence is given twice")
                elif k.number < first:
                    w.fail(key_node, f"{sub}[{k.number}]",
                           f"occurrence {k.number} comes before the first one ({first})")
                elif count is not None and k.number >= first + count:
                    w.fail(key_node, f"{sub}[{k.number}]",
                           f"occurrence {k.number} is past the last one that count={count} allows")
                else:
                    seen.add(k.number)
                    known.append(k)
    if start is None or rule is None:
        raise _Invalid()
    if until is not None and until.end < start.start:
        w.fail(f["until"], f"{path}.until", f"the series ends ({until.iso()}) before it starts "
                                             f"({start.iso()})")
    known.sort(key=lambda k: k.number)
    for before, after in itertools.pairwise(known):
        if after.date.start < before.date.start:
            w.fail(occ_node, f"{path}.occurrences[{after.number}].date",
                   f"occurrence {after.number} ({after.date.iso()}) is dated before occurrence "
                   f"{before.number} ({before.date.iso()})")
    return Series(rule, start, first, until, count, tuple(known))


def _words(w: _Walk, f: dict[str, yaml.Node], path: str, name: str) -> tuple[str, ...]:
    """The declared actors or areas an entry names; () when they are not a list."""
    node = f.get(name)
    if node is None:
        return ()
    path = f"{path}.{name}"
    try:
        items = w.seq(node, path, f"declared {name}")
    except _Invalid:
        return ()
    if not items:
        w.fail(node, path, f"name at least one of the declared {name}")
    out: list[str] = []
    for i, item in enumerate(items):
        try:  # not contextlib.suppress, which costs a microsecond a time
            # Interned: a register names a few dozen actors and areas thousands of times, and
            # the checks across entries then find each one in the cache rather than in memory.
            out.append(sys.intern(w.text(item, path, i)))
        except _Invalid:
            continue
    return tuple(out)


def _entry(w: _Walk, node: yaml.Node, path: str) -> Entry:
    f = w.mapping(node, path, ENTRY_FIELDS, "an entry")
    entry_id = w.optional(f, path, "id", _Walk.ident)
    title = w.optional(f, path, "title", _Walk.text)
    kind = w.optional(f, path, "kind", _kind)
    actors = _words(w, f, path, "actors")
    areas = _words(w, f, path, "areas")
    sources = w.optional(f, path, "sources", _sources) or ()
    listed = f.get("sources")
    if isinstance(listed, SequenceNode) and not listed.value:
        w.fail(listed, f"{path}.sources", "cite at least one source")

    dated: DatedValue | None = None
    relative: Relative | None = None
    date_node = f.get("date")
    if isinstance(date_node, MappingNode):
        relative = w.optional(f, path, "date", _relative)
    elif date_node is not None:
        dated = w.optional(f, path, "date", _dated)
    # Here and below, a field most entries leave out is looked at only when given: `in` costs
    # a tenth of a call that finds nothing, and those calls were a tenth of reading an entry.
    series = w.optional(f, path, "series", _series) if "series" in f else None

    if kind is Kind.STANDING:
        for name in ("date", "series"):
            if name in f:
                w.fail(f[name], f"{path}.{name}",
                       "a standing obligation has no date; use another kind or remove it")
    elif kind is not None:
        if "date" in f and "series" in f:
            w.fail(f["series"], f"{path}.series", "give either date or series, not both")
        elif "date" not in f and "series" not in f:
            w.fail(node, f"{path}.date",
                   f"a {kind} needs a date or a series (or kind: standing if it has none)")

    status = (w.optional(f, path, "status", _status) if "status" in f else None) or _OPEN
    reminders = w.optional(f, path, "reminders", _offsets) if "reminders" in f else None
    description = w.optional(f, path, "description", _Walk.text) if "description" in f else None
    location = w.optional(f, path, "location", _Walk.text) if "location" in f else None
    note = w.optional(f, path, "note", _Walk.text) if "note" in f else None
    if entry_id is None or title is None or kind is None:
        raise _Invalid()
    return Entry(
        id=entry_id, title=title, kind=kind, actors=actors, areas=areas, sources=sources,
        date=dated, relative=relative, series=series, status=status, reminders=reminders,
        description=description, location=location, note=note,
    )


def _try(fn: Callable[[], T], default: T) -> T:
    try:
        return fn()
    except _Invalid:
        return default


def _terms(w: _Walk, node: yaml.Node | None, path: str) -> dict[str, Term]:
    if node is None:
        return {}
    if not isinstance(node, MappingNode):
        w.fail(node, path, f"must be a mapping of key: {{title: ...}}, not {_describe(node)}")
        return {}
    out: dict[str, Term] = {}
    for key_node, value in node.value:
        try:
            key = w.ident(key_node, path, None)
            sub = f"{path}.{key}"
            if key in out:
                w.fail(key_node, sub, "declared twice")
                continue
            f = w.mapping(value, sub, TERM_FIELDS, "a declaration with a title")
            out[key] = Term(key, w.text(f["title"], sub, "title") if "title" in f else key)
        except _Invalid:
            continue
    return out


def _documents(w: _Walk, node: yaml.Node | None) -> dict[str, Document]:
    if node is None:
        return {}
    if not isinstance(node, MappingNode):
        w.fail(node, "documents", f"must be a mapping of symbol: {{title, url, file}}, not "
                                  f"{_describe(node)}")
        return {}
    out: dict[str, Document] = {}
    for key_node, value in node.value:
        try:
            key = w.text(key_node, "documents", None)
            sub = f"documents.{key}"
            if key in out:
                w.fail(key_node, sub, "declared twice")
                continue
            f = w.mapping(value, sub, DOCUMENT_FIELDS, "a document")
            out[key] = Document(
                key,
                w.text(f["title"], sub, "title") if "title" in f else key,
                w.optional(f, sub, "url", _Walk.text),
                w.optional(f, sub, "file", _Walk.text),
            )
        except _Invalid:
            continue
    return out


# --- cross-entry checks ----------------------------------------------------------------------

def _check_references(w: _Walk, reg: Register, paths: dict[str, str], spots: Spots) -> None:
    """Vocabulary, documents, dangling references and cycles. Paths, hints and positions are
    made only for a problem: in a large register most entries have none."""
    relatives: list[tuple[Entry, Relative]] = []
    for entry in reg.entries:
        if entry.relative is not None:
            relatives.append((entry, entry.relative))
        if not _declared(reg, entry):
            _report_undeclared(w, reg, entry, paths[entry.id], spots)

    for entry, rel in relatives:
        message = _relative_problem(reg, entry, rel)
        if message is not None:
            path = paths[entry.id]
            w.fail(spots.at(f"{path}.date"), f"{path}.date.from", message)

    # Cycles, followed through ids alone. Each entry counts from at most one other, so the
    # walk from an entry can stop at any entry an earlier walk passed (whatever lies beyond
    # is known): every entry is passed once. A cycle is found by the first walk into it, as
    # the register orders walks, and reported at its first entry in the file.
    counts_from = {entry.id: rel.target for entry, rel in relatives}
    passed: set[str] = set()
    for start in counts_from:
        walk: list[str] = []
        on_walk: set[str] = set()
        current = start
        while current in counts_from and current not in passed:
            if current in on_walk:
                cycle = walk[walk.index(current):]
                first = min(cycle, key=lambda i: spots.at(paths[i]) or (0, 0))
                loop = " -> ".join([*cycle, current])
                w.fail(spots.at(f"{paths[first]}.date"), f"{paths[first]}.date.from",
                       f"dates refer to each other in a cycle: {loop}")
                break
            walk.append(current)
            on_walk.add(current)
            current = counts_from[current]
        passed.update(walk)


def _declared(reg: Register, entry: Entry) -> bool:
    """Whether every actor, area and document the entry names is declared."""
    for word in entry.actors:
        if word not in reg.actors:
            return False
    for word in entry.areas:
        if word not in reg.areas:
            return False
    return all(src.doc in reg.documents for src in entry.all_sources())


def _report_undeclared(w: _Walk, reg: Register, entry: Entry, path: str, spots: Spots) -> None:
    """A problem for each actor, area and document the entry names that is not declared."""
    for name, vocab in (("actors", reg.actors), ("areas", reg.areas)):
        for i, word in enumerate(getattr(entry, name)):
            if word not in vocab:
                hint = difflib.get_close_matches(word, list(vocab), n=1)
                tip = f"; did you mean {hint[0]!r}?" if hint else ""
                w.fail(spots.at(f"{path}.{name}[{i}]"), f"{path}.{name}[{i}]",
                       f"{word!r} is not declared under {name}{tip}")
    for src_path, src in _cited(entry, path):
        if src.doc not in reg.documents:
            hint = difflib.get_close_matches(src.doc, list(reg.documents), n=1)
            tip = f"; did you mean {hint[0]!r}?" if hint else ""
            w.fail(spots.at(f"{src_path}.doc"), f"{src_path}.doc",
                   f"{src.doc!r} is not declared under documents{tip}")


def _relative_problem(reg: Register, entry: Entry, rel: Relative) -> str | None:
    """What is wrong with what a relative date counts from, if anything."""
    target = reg.entry(rel.target)
    if target is None:
        hint = difflib.get_close_matches(rel.target, [e.id for e in reg.entries], n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"{rel.target!r} is not an entry of the register{tip}"
    if target.id == entry.id:
        return "an entry cannot be dated from itself"
    if rel.number is None:
        if target.series is not None:
            return (f"{rel.target!r} is a series: name one occurrence, such as "
                    f"{rel.target}#{target.series.first}")
        if target.kind is Kind.STANDING:
            return f"{rel.target!r} is a standing obligation with no date to count from"
        return None
    s = target.series
    if s is None:
        return f"{rel.target!r} is not a series, so it has no occurrence #{rel.number}"
    last = s.last_number
    if rel.number < s.first or (last is not None and rel.number > last):
        span = f"{s.first} to {last}" if last is not None else f"from {s.first} on"
        return (f"{rel.target!r} has no occurrence #{rel.number} "
                f"(its occurrences are numbered {span})")
    return None


# --- entry points ----------------------------------------------------------------------------

def _cited(entry: Entry, path: str) -> list[tuple[str, Source]]:
    """Every source an entry cites (`Entry.all_sources`, in its order), with its path in the
    register."""
    cited = [(f"{path}.sources[{i}]", s) for i, s in enumerate(entry.sources)]
    if entry.series:
        for k in entry.series.known:
            cited += [(f"{path}.series.occurrences[{k.number}].sources[{i}]", s)
                      for i, s in enumerate(k.sources)]
    return cited


def quote_count(reg: Register) -> int:
    """How many sources (each with its quote) the register cites."""
    return sum(len(e.all_sources()) for e in reg.entries)


# --- reading the text --------------------------------------------------------------------------

_NULL = "tag:yaml.org,2002:null"
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
            return _NULL if implicit[0] and value in _NULL_WORDS else _STR
        return _MAP if kind is MappingNode else _SEQ

    def descend_resolver(self, *args: Any) -> None:
        pass

    def ascend_resolver(self, *args: Any) -> None:
        pass


def _compose(text: str) -> yaml.Node | None:
    parser = _Composer(text)
    try:
        return parser.get_single_node()
    finally:
        parser.dispose()


# Not frozen: a frozen dataclass is made at twice the cost, and a read makes one per entry.
@dataclass(slots=True)
class _Chunk:
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


def _split(text: str) -> tuple[str, list[_Chunk]] | None:
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
        chunks.append(_Chunk(line, piece))
        line += piece.count("\n")
    # `line` is now the number of newlines before `end`: the blank lines that stand for the
    # entries are those after `body`, without counting through the entries again.
    head = text[:body] + "\n" * (line - text.count("\n", 0, body)) + text[end:]
    return head, chunks


class _Unsplit(Exception):
    """The text did not split as `_split` expects; it is composed whole instead."""


def _chunk_node(chunk: _Chunk) -> yaml.Node:
    try:
        node = _compose(chunk.text)
    except yaml.YAMLError:
        raise _Unsplit() from None
    if not isinstance(node, yaml.SequenceNode) or len(node.value) != 1:
        raise _Unsplit()
    return node.value[0]  # type: ignore[no-any-return]


_ENTRY_PATH = re.compile(r"^entries\[(\d+)\]")


class Spots:
    """Where each field of a parsed register stands, by path ("entries[3].date.from").

    The fields outside `entries` are kept from the first walk. An entry's are found again when
    asked for, by composing its text alone: keeping every node of a large register took more
    memory than the register itself, and positions are wanted only for the odd problem."""

    def __init__(self, filename: str, head: dict[str, Position],
                 chunks: Sequence[_Chunk] | None) -> None:
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
            w = _Walk(self.filename, line_offset=chunk.line)
            node = _chunk_node(chunk)
            with contextlib.suppress(_Invalid):
                _entry(w, node, f"entries[{i}]")
            assert w.spots is not None
            self._entries[i] = w.spots
        return self._entries[i].get(path)


@dataclass(frozen=True)
class Located:
    """A parsed register with the position of every field, for problems found later."""

    register: Register
    filename: str
    paths: dict[str, str]  # entry id -> "entries[i]"
    spots: Spots
    # The text composed apart from the entries (None: the file was composed whole), for the
    # next read to know whether vocabulary and documents are still the same (`_clean_edit`).
    head: str | None = None

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


def parse_register(text: str, filename: str = "obligations.yaml") -> Register:
    """Validate the register's text and return it; raise RegisterInvalid with every problem."""
    return parse_located(text, filename).register


def parse_located(text: str, filename: str = "obligations.yaml",
                  reuse: Mapping[str, Entry] | Located | None = None, apart: bool = False
                  ) -> Located:
    """As `parse_register`, keeping where each field stands in the file.

    `reuse` maps entry texts to the entries read from them before (such as the entry
    cache's), or is an earlier parse of the same file: an entry whose text is byte for byte
    one of those is not composed and walked again. An entry is a function of its own text
    alone, so an edit invalidates exactly the entries it touches. What looks across entries
    (vocabulary, references, cycles, dates) is checked again in full, except after an earlier
    parse with the same text outside the entries: then only where the edit can have changed
    its outcome (`_clean_edit`). With `apart`, a cold read of a large register shares the
    work with a second process (`_read_chunks`): only for a process that runs no threads,
    since a forked process would inherit none of them, and whatever locks they held."""
    before, known = (reuse, reuse.reusable()) if isinstance(reuse, Located) else (None, reuse)
    # Millions of new objects and no garbage cycles: see heap.py.
    with heap.kept():
        parts = _split(text)
        if parts is not None:
            try:
                return _parse(filename, parts[0], parts[1], known or {}, before, apart)
            except _Unsplit:
                pass
        return _parse(filename, text, None, {})


def _yaml_problem(filename: str, exc: yaml.YAMLError) -> RegisterInvalid:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "not valid YAML"
        return RegisterInvalid([Problem(filename, line, col, "", f"YAML syntax: {problem}")])
    return RegisterInvalid([Problem(filename, 1, 1, "", f"YAML syntax: {exc}")])


def _walk_chunks(w: _Walk, chunks: Sequence[_Chunk], start: int, reuse: Mapping[str, Entry]
                 ) -> list[Entry | None]:
    """The entry of each chunk (None for one with problems, which go to `w`), the first
    being entries[start]: the one from `reuse` for a known text, else composed and walked."""
    out: list[Entry | None] = []
    kept = w.spots
    for i, chunk in enumerate(chunks, start):
        entry = reuse.get(chunk.text) if reuse else None  # a cold read hashes no text
        if entry is None:
            node = _chunk_node(chunk)
            # An entry's positions are not kept (see Spots); its problems have theirs.
            w.spots, w.line_offset = None, chunk.line
            try:
                entry = _entry(w, node, f"entries[{i}]")
            except _Invalid:
                pass
            finally:
                w.spots, w.line_offset = kept, 0
        out.append(entry)
    return out


# Entries to compose from which a read given `apart` has a second process read half of them.
_APART_FROM = 10_000


def _read_chunks(w: _Walk, chunks: Sequence[_Chunk], reuse: Mapping[str, Entry], apart: bool
                 ) -> list[Entry | None]:
    """`_walk_chunks` over all the chunks; with `apart`, and many entries to compose (a
    cold read of a large register), the second half in a forked process (`forked`), which
    sends back its entries and problems pickled: composing and walking are two thirds of a
    cold read. Any failure of the second process (killed, out of memory) only means reading
    its half here after all."""
    half = len(chunks) // 2
    if not apart or not forked.available() or len(chunks) < _APART_FROM or \
            (reuse and sum(1 for c in chunks if c.text not in reuse) < _APART_FROM):
        return _walk_chunks(w, chunks, 0, reuse)

    def second_half() -> bytes:
        own = _Walk(w.filename)
        try:
            found = (_walk_chunks(own, chunks[half:], half, reuse), own.problems)
        except _Unsplit:
            found = None
        return pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL)

    other = forked.Forked(second_half)
    try:
        mine = _walk_chunks(w, chunks[:half], 0, reuse)
    finally:
        data = other.result()
    if data is None:
        return mine + _walk_chunks(w, chunks[half:], half, reuse)
    got = pickle.loads(data)
    if got is None:
        raise _Unsplit()
    rest: list[Entry | None] = got[0]
    w.problems += got[1]
    return mine + rest


def _parse(filename: str, text: str, chunks: list[_Chunk] | None,
           reuse: Mapping[str, Entry], before: Located | None = None, apart: bool = False
           ) -> Located:
    """Walk the register; `text` is the whole file, or with `chunks` the file without its
    entries. Raises _Unsplit for any doubt about the split (a YAML error included: the whole
    text then says where it is). `before`: the parse `reuse` comes from, if any; `apart`:
    see `_read_chunks`."""
    w = _Walk(filename)
    try:
        root = _compose(text)
    except yaml.YAMLError as exc:
        if chunks is not None:
            raise _Unsplit() from None
        raise _yaml_problem(filename, exc) from None
    if root is None:
        raise RegisterInvalid([Problem(filename, 1, 1, "", "the register is empty")])
    try:
        top = w.mapping(root, "", TOP_FIELDS, "the register")
    except _Invalid:
        raise RegisterInvalid(w.problems) from None

    no_fields: dict[str, yaml.Node] = {}
    head = _try(lambda: w.mapping(top["register"], "register", REGISTER_FIELDS, "the register's "
                                  "title, description and reminders"), no_fields) \
        if "register" in top else {}
    title = w.optional(head, "register", "title", _Walk.text) or filename
    description = w.optional(head, "register", "description", _Walk.text)
    reminders = w.optional(head, "register", "reminders", _offsets)
    areas = _terms(w, top.get("areas"), "areas")
    actors = _terms(w, top.get("actors"), "actors")
    documents = _documents(w, top.get("documents"))

    assert w.spots is not None
    spots = Spots(filename, w.spots, chunks)
    read: list[Entry | None]
    if chunks is None:
        no_nodes: list[yaml.Node] = []
        nodes = _try(lambda: w.seq(top["entries"], "entries", "entries"), no_nodes) \
            if "entries" in top else []
        read = [_try(functools.partial(_entry, w, node, f"entries[{i}]"), None)
                for i, node in enumerate(nodes)]
    else:
        listed = top.get("entries")
        if not isinstance(listed, ScalarNode) or listed.tag != _NULL or listed.value:
            raise _Unsplit()
        read = _read_chunks(w, chunks, reuse, apart)
    entries: list[Entry] = []
    paths: dict[str, str] = {}
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

    reg = Register(title, description, reminders if reminders is not None else (),
                   areas, actors, documents, tuple(entries))
    head_text = text if chunks is not None else None
    edit = None
    if not w.problems and before is not None and chunks is not None and \
            head_text == before.head:
        edit = _clean_edit(reg, before.register)
    if edit is not None:
        keep_derived(reg, "_edit", edit)
    else:
        _check_references(w, reg, paths, spots)
        if not w.problems:
            # Dates that only resolution can check: an offset moving a date before year 1.
            from calendar_tool.timeline import resolve_problems

            for entry_id, message in resolve_problems(reg):
                path = paths[entry_id]
                w.fail(spots.at(f"{path}.date") or spots.at(f"{path}.series"), f"{path}.date",
                       message)
    if w.problems:
        raise RegisterInvalid(w.problems)
    return Located(reg, filename, paths, spots, head_text)


def _clean_edit(reg: Register, before: Register) -> Edit | None:
    """How `reg` differs from `before` (`model.Edit`) if the checks across entries
    would find no problem in `reg`, knowing that they found none in `before` and that both
    have the same vocabulary and documents. An entry read again from the same text is the
    same object (`reuse`), so the entries read afresh are those that are not `before`'s.
    None sends the register through the full checks, which then say what is wrong in the
    order they always do.

    What can have changed is only what involves an entry read afresh or gone: a fresh entry's
    own vocabulary, references and dates; an entry that counts from a fresh or a gone id (its
    anchor may be missing or different now), and the ones counting from it in turn; a cycle,
    which must pass through a fresh entry, since only fresh entries bring new links. At
    100,000 entries the full checks were half a second of every reload; this is a tenth of
    one, mostly the passes that find what is gone and what counts from what."""
    from calendar_tool.timeline import resolve_problems

    was, now = {id(e) for e in before.entries}, {id(e) for e in reg.entries}
    fresh = [e for e in reg.entries if id(e) not in was]
    touched = {e.id for e in fresh} | {e.id for e in before.entries if id(e) not in now}
    counts_from = {e.id: e.relative.target for e in reg.entries if e.relative is not None}
    counted_by: dict[str, list[str]] = {}
    for source, target in counts_from.items():
        counted_by.setdefault(target, []).append(source)
    # Everything whose date hangs on a touched id, however far down the chain.
    moved, queue = set(touched), list(touched)
    while queue:
        for source in counted_by.get(queue.pop(), ()):
            if source not in moved:
                moved.add(source)
                queue.append(source)
    by_id = reg.by_id
    affected = [by_id[i] for i in moved if i in by_id]
    for entry in fresh:
        if not _declared(reg, entry):
            return None
        current, walk = entry.id, set()
        while current in counts_from:
            if current in walk:
                return None
            walk.add(current)
            current = counts_from[current]
    for entry in affected:
        if entry.relative is not None and _relative_problem(reg, entry, entry.relative):
            return None
    return None if resolve_problems(reg, affected) else Edit(weakref.ref(before), frozenset(moved))


def load_register(path: Path) -> Register:
    """Read and validate the register at `path`."""
    return load_located(path).register


def load_located(path: Path, reuse: Mapping[str, Entry] | None = None, apart: bool = False
                 ) -> Located:
    """Read and validate the register at `path`, keeping positions (`reuse`, `apart`: as for
    `parse_located`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise unreadable(path, exc) from None
    return parse_located(text, str(path), reuse, apart)


def unreadable(path: Path, exc: OSError | UnicodeDecodeError) -> RegisterNotFound:
    """The error for a register file that cannot be read, saying how to name another."""
    if isinstance(exc, FileNotFoundError):
        return RegisterNotFound(f"no register at {str(path)!r}: give --register PATH or set "
                                "CALENDAR_TOOL_REGISTER")
    return RegisterNotFound(f"cannot read the register {str(path)!r}: {exc}")


# --- quotes against their sources ------------------------------------------------------------

_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                             "\u2013": "-", "\u2014": "-", "\u00a0": " ", "\u00ad": ""})
_SOFT_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\r?\n\s*(\w)")
_SPACE = re.compile(r"\s+")


def normalise_quote(text: str) -> str:
    """Fold typography and whitespace so a quote matches however the text was broken."""
    text = unicodedata.normalize("NFC", text).translate(_TYPOGRAPHY)
    return _SPACE.sub(" ", text).strip()


def source_variants(text: str) -> tuple[str, str]:
    """The text with line-end hyphens joined ("compre-/hensive") and kept ("inter-/sessional")."""
    text = unicodedata.normalize("NFC", text).translate(_TYPOGRAPHY)
    joined = _SPACE.sub(" ", _SOFT_HYPHEN_BREAK.sub(r"\1\2", text))
    kept = _SPACE.sub(" ", _SOFT_HYPHEN_BREAK.sub(r"\1-\2", text))
    return joined, kept


def check_quotes(located: Located, texts: dict[str, str]) -> list[Problem]:
    """Every quote that does not occur in its cited file, as a problem naming the entry.

    `texts` maps file names to their contents; a source's file is its own `file`, else its
    document's.
    """
    reg = located.register
    prepared = {name: source_variants(t) for name, t in texts.items()}
    problems: list[Problem] = []
    for entry in reg.entries:
        for path, src in _cited(entry, located.paths[entry.id]):
            doc = reg.documents.get(src.doc)
            name = src.file or (doc.file if doc else None)
            variants = prepared.get(name) if name else None
            if name is None:
                message = f"document {src.doc!r} names no file to check the quote against"
                problems.append(located.problem(f"{path}.doc", f"{entry.id}: {message}"))
            elif variants is None:
                problems.append(located.problem(
                    f"{path}.file" if src.file else f"{path}.doc",
                    f"{entry.id}: source file {name!r} is not in the sources folder"))
            elif not any(normalise_quote(src.quote) in v for v in variants):
                problems.append(located.problem(
                    f"{path}.quote", f"{entry.id}: quote not found in {name}: {src.quote!r}"))
    return problems


def read_sources(reg: Register, folder: Path) -> dict[str, str]:
    """Read every file the register's sources name from `folder`."""
    if not folder.is_dir():
        raise SourcesMissing(f"no sources folder at {str(folder)!r}")
    names = {d.file for d in reg.documents.values() if d.file}
    for entry in reg.entries:
        names.update(s.file for s in entry.all_sources() if s.file)
    texts: dict[str, str] = {}
    for name in sorted(names):
        path = folder / name
        if path.is_file():
            texts[name] = path.read_text(encoding="utf-8", errors="replace")
    return texts
