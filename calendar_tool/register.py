"""Reading `obligations.yaml`: parse, validate, resolve references, check quotes.

The YAML is composed (not constructed) so that every value keeps its line and column; the
walker below turns nodes into `model` types and gathers every problem it meets, so that one
run of `validate` lists them all. `parse_register(text, filename)` takes text; `load_register`
is the thin wrapper that takes a path.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml
from dateutil.rrule import rrulestr

# libyaml's parser: PyYAML's wheels carry it, and the pure-Python one is ten times slower.
from yaml._yaml import CParser

from calendar_tool.errors import Problem, RegisterInvalid, RegisterNotFound, SourcesMissing
from calendar_tool.model import (
    DatedValue,
    Document,
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
)

T = TypeVar("T")

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

TOP_FIELDS = {"register": True, "areas": True, "actors": True, "documents": True, "entries": True}
REGISTER_FIELDS = {"title": True, "description": False, "reminders": False}
TERM_FIELDS = {"title": True}
DOCUMENT_FIELDS = {"title": True, "url": False, "file": False}
ENTRY_FIELDS = {
    "id": True, "title": True, "kind": True, "date": False, "series": False, "actors": True,
    "areas": True, "sources": True, "description": False, "location": False, "status": False,
    "reminders": False, "note": False,
}
SERIES_FIELDS = {
    "rule": True, "start": True, "first": False, "until": False, "count": False,
    "occurrences": False,
}
KNOWN_FIELDS = {"date": True, "location": False, "note": False, "status": False, "sources": False}
SOURCE_FIELDS = {"doc": True, "para": True, "quote": True, "file": False}
STATUS_FIELDS = {"state": True, "date": False, "note": False}
RELATIVE_FIELDS = {"from": True, "offset": False, "anchor": False}

# The finest recurrence each precision can carry: a year-precision series recurs yearly.
_FREQS = {
    Precision.YEAR: {"YEARLY"},
    Precision.MONTH: {"YEARLY", "MONTHLY"},
    Precision.DAY: {"YEARLY", "MONTHLY", "WEEKLY", "DAILY"},
}


class _Invalid(Exception):
    """Raised inside the walker to abandon one value; the problem is already recorded."""


Position = tuple[int, int]  # line and column, from 1


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

    def at(self, node: yaml.Node) -> Position:
        return (node.start_mark.line + 1 + self.line_offset, node.start_mark.column + 1)

    def fail(self, where: yaml.Node | Position | None, path: str, message: str) -> _Invalid:
        if isinstance(where, yaml.Node):
            where = self.at(where)
        line, col = where or (1, 1)
        self.problems.append(Problem(self.filename, line, col, path, message))
        return _Invalid()

    def mapping(
        self, node: yaml.Node, path: str, fields: dict[str, bool], what: str
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, path, f"must be a mapping ({what}), not {_describe(node)}")
        spots = self.spots
        if spots is not None:
            spots[path] = self.at(node)
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.fail(key_node, path, "keys must be plain words")
                continue
            sub = _join(path, key)
            if key in out:
                self.fail(key_node, sub, "appears twice in the same mapping")
            elif key not in fields:
                hint = difflib.get_close_matches(key, list(fields), n=1)
                tip = f"; did you mean {hint[0]!r}?" if hint else ""
                allowed = ", ".join(fields)
                self.fail(key_node, sub, f"unknown field {key!r}{tip} (allowed: {allowed})")
            else:
                out[key] = value_node
                if spots is not None:
                    spots[sub] = self.at(value_node)
        for name, required in fields.items():
            if required and name not in out:
                self.fail(node, _join(path, name), f"missing required field {name!r} in {what}")
        return out

    def seq(self, node: yaml.Node, path: str, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, path, f"must be a list of {what}, not {_describe(node)}")
        if self.spots is not None:
            for i, item in enumerate(node.value):
                self.spots[f"{path}[{i}]"] = self.at(item)
        return list(node.value)

    def text(self, node: yaml.Node, path: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise self.fail(node, path, f"must be text, not {_describe(node)}")
        value: str = node.value.strip()
        if not value:
            raise self.fail(node, path, "must not be empty")
        return value

    def ident(self, node: yaml.Node, path: str) -> str:
        value = self.text(node, path)
        if not _ID.match(value):
            raise self.fail(
                node, path,
                f"{value!r} is not an id: use lower-case letters, digits and single hyphens",
            )
        return value

    def integer(self, node: yaml.Node, path: str, minimum: int) -> int:
        value = self.text(node, path)
        if not value.isdigit() or int(value) < minimum:
            raise self.fail(node, path, f"{value!r} must be a whole number of at least {minimum}")
        return int(value)

    def choice(self, node: yaml.Node, path: str, enum: type[T]) -> T:
        value = self.text(node, path)
        try:
            return enum(value)  # type: ignore[call-arg]
        except ValueError:
            allowed = ", ".join(str(m.value) for m in enum)  # type: ignore[attr-defined]
            raise self.fail(node, path, f"{value!r} is not one of: {allowed}") from None

    def each(self, items: Iterable[T], fn: Callable[[T], Any]) -> list[Any]:
        """Apply fn to every item, keeping those that did not fail (their problems are kept)."""
        out = []
        for item in items:
            with contextlib.suppress(_Invalid):
                out.append(fn(item))
        return out

    def optional(self, fields: dict[str, yaml.Node], name: str, fn: Callable[[yaml.Node], T]
                 ) -> T | None:
        node = fields.get(name)
        if node is None:
            return None
        try:
            return fn(node)
        except _Invalid:
            return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(node: yaml.Node | None) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node is None or node.tag == "tag:yaml.org,2002:null":
        return "nothing"
    return f"{node.value!r}"


# --- dated values ----------------------------------------------------------------------------

def _parsed(w: _Walk, node: yaml.Node, path: str, parse: Callable[[str], T]) -> T:
    """A text value through a model parser, its ValueError becoming a located problem."""
    value = w.text(node, path)
    try:
        return parse(value)
    except ValueError as exc:
        raise w.fail(node, path, str(exc)) from None


def _dated(w: _Walk, node: yaml.Node, path: str) -> DatedValue:
    return _parsed(w, node, path, DatedValue.parse)


def _offset(w: _Walk, node: yaml.Node, path: str) -> Offset:
    return _parsed(w, node, path, Offset.parse)


def _offsets(w: _Walk, node: yaml.Node, path: str) -> tuple[Offset, ...]:
    items = w.seq(node, path, "durations such as P30D")
    out: list[Offset] = []
    for i, item in enumerate(items):
        try:
            off = _offset(w, item, f"{path}[{i}]")
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
    if {"doc", "para", "quote"} - f.keys():
        raise _Invalid()
    return Source(
        doc=w.text(f["doc"], f"{path}.doc"),
        para=w.text(f["para"], f"{path}.para"),
        quote=w.text(f["quote"], f"{path}.quote"),
        file=w.optional(f, "file", lambda n: w.text(n, f"{path}.file")),
    )


def _sources(w: _Walk, node: yaml.Node, path: str) -> tuple[Source, ...]:
    items = w.seq(node, path, "sources")
    return tuple(w.each(enumerate(items), lambda p: _source(w, p[1], f"{path}[{p[0]}]")))


def _status(w: _Walk, node: yaml.Node, path: str) -> Status:
    if isinstance(node, yaml.ScalarNode):
        return Status(w.choice(node, path, State))
    f = w.mapping(node, path, STATUS_FIELDS, "a status")
    if "state" not in f:
        raise _Invalid()
    state = w.choice(f["state"], f"{path}.state", State)
    when = w.optional(f, "date", lambda n: _dated(w, n, f"{path}.date"))
    if when is not None and (when.precision is not Precision.DAY or when.is_range):
        w.fail(f["date"], f"{path}.date", "the date a status changed is a day, such as 2006-01-15")
        when = None
    note = w.optional(f, "note", lambda n: w.text(n, f"{path}.note"))
    return Status(state, when.start if when else None, note)


def _relative(w: _Walk, node: yaml.Node, path: str) -> Relative:
    f = w.mapping(node, path, RELATIVE_FIELDS, "a relative date {from, offset, anchor}")
    if "from" not in f:
        raise _Invalid()
    ref = w.text(f["from"], f"{path}.from")
    target, sep, number = ref.partition("#")
    if not _ID.match(target) or (sep and not number.isdigit()):
        raise w.fail(f["from"], f"{path}.from",
                     f"{ref!r} must be an entry id, or a series id and occurrence number "
                     "such as commission-sessions#10")
    offset = w.optional(f, "offset", lambda n: _offset(w, n, f"{path}.offset")) or Offset()
    anchor = w.optional(f, "anchor", lambda n: w.text(n, f"{path}.anchor")) or "start"
    if anchor not in ("start", "end"):
        w.fail(f["anchor"], f"{path}.anchor", f"{anchor!r} must be 'start' or 'end'")
    return Relative(target, int(number) if sep else None, offset, anchor == "end")


def _rule(w: _Walk, node: yaml.Node, path: str, start: DatedValue | None) -> str:
    rule = w.text(node, path).upper()
    if rule.startswith("RRULE:"):
        rule = rule[len("RRULE:"):]
    if "DTSTART" in rule:
        raise w.fail(node, path, "give the first date as series.start, not in the rule")
    try:
        rrulestr(rule, dtstart=date(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        raise w.fail(node, path, f"{rule!r} is not an RFC 5545 recurrence rule ({exc})") from None
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
    number = w.integer(key, path, 1)
    sub = f"{path}[{number}]"
    f = w.mapping(node, sub, KNOWN_FIELDS, "a known occurrence")
    if "date" not in f:
        raise _Invalid()
    return KnownOccurrence(
        number=number,
        date=_dated(w, f["date"], f"{sub}.date"),
        location=w.optional(f, "location", lambda n: w.text(n, f"{sub}.location")),
        note=w.optional(f, "note", lambda n: w.text(n, f"{sub}.note")),
        status=w.optional(f, "status", lambda n: _status(w, n, f"{sub}.status")),
        sources=w.optional(f, "sources", lambda n: _sources(w, n, f"{sub}.sources")) or (),
    )


def _series(w: _Walk, node: yaml.Node, path: str) -> Series:
    f = w.mapping(node, path, SERIES_FIELDS, "a series")
    start = w.optional(f, "start", lambda n: _dated(w, n, f"{path}.start"))
    rule = w.optional(f, "rule", lambda n: _rule(w, n, f"{path}.rule", start))
    first = w.optional(f, "first", lambda n: w.integer(n, f"{path}.first", 0))
    first = 1 if first is None else first
    until = w.optional(f, "until", lambda n: _dated(w, n, f"{path}.until"))
    count = w.optional(f, "count", lambda n: w.integer(n, f"{path}.count", 1))
    known: list[KnownOccurrence] = []
    occ_node = f.get("occurrences")
    if occ_node is not None:
        sub = f"{path}.occurrences"
        if not isinstance(occ_node, yaml.MappingNode):
            w.fail(occ_node, sub, "must be a mapping from occurrence number to its date")
        else:
            seen: set[int] = set()
            for key, value in occ_node.value:
                try:
                    k = _known(w, key, value, sub)
                except _Invalid:
                    continue
                if k.number in seen:
                    w.fail(key, f"{sub}[{k.number}]", "this occurrence is given twice")
                elif k.number < first:
                    w.fail(key, f"{sub}[{k.number}]",
                           f"occurrence {k.number} comes before the first one ({first})")
                elif count is not None and k.number >= first + count:
                    w.fail(key, f"{sub}[{k.number}]",
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


def _entry(w: _Walk, node: yaml.Node, path: str) -> Entry:
    f = w.mapping(node, path, ENTRY_FIELDS, "an entry")
    entry_id = w.optional(f, "id", lambda n: w.ident(n, f"{path}.id"))
    title = w.optional(f, "title", lambda n: w.text(n, f"{path}.title"))
    kind = w.optional(f, "kind", lambda n: w.choice(n, f"{path}.kind", Kind))

    def words(name: str) -> tuple[str, ...]:
        node = f.get(name)
        if node is None:
            return ()
        items = w.seq(node, f"{path}.{name}", f"declared {name}")
        if not items:
            w.fail(node, f"{path}.{name}", f"name at least one of the declared {name}")
        return tuple(w.each(enumerate(items), lambda p: w.text(p[1], f"{path}.{name}[{p[0]}]")))

    no_words: tuple[str, ...] = ()
    actors = _try(lambda: words("actors"), no_words)
    areas = _try(lambda: words("areas"), no_words)
    sources = w.optional(f, "sources", lambda n: _sources(w, n, f"{path}.sources")) or ()
    if "sources" in f and not sources and isinstance(f["sources"], yaml.SequenceNode) \
            and not f["sources"].value:
        w.fail(f["sources"], f"{path}.sources", "cite at least one source")

    dated: DatedValue | None = None
    relative: Relative | None = None
    date_node = f.get("date")
    if date_node is not None:
        if isinstance(date_node, yaml.MappingNode):
            relative = _try(lambda: _relative(w, date_node, f"{path}.date"), None)
        else:
            dated = _try(lambda: _dated(w, date_node, f"{path}.date"), None)
    series = w.optional(f, "series", lambda n: _series(w, n, f"{path}.series"))

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

    status = w.optional(f, "status", lambda n: _status(w, n, f"{path}.status")) or Status()
    reminders = w.optional(f, "reminders", lambda n: _offsets(w, n, f"{path}.reminders"))
    text = {
        name: w.optional(f, name, lambda n, name=name: w.text(n, f"{path}.{name}"))  # type: ignore[misc]
        for name in ("description", "location", "note")
    }
    if entry_id is None or title is None or kind is None:
        raise _Invalid()
    return Entry(
        id=entry_id, title=title, kind=kind, actors=actors, areas=areas, sources=sources,
        date=dated, relative=relative, series=series, status=status, reminders=reminders,
        description=text["description"], location=text["location"], note=text["note"],
    )


def _try(fn: Callable[[], T], default: T) -> T:
    try:
        return fn()
    except _Invalid:
        return default


def _terms(w: _Walk, node: yaml.Node | None, path: str) -> dict[str, Term]:
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        w.fail(node, path, f"must be a mapping of key: {{title: ...}}, not {_describe(node)}")
        return {}
    out: dict[str, Term] = {}
    for key_node, value in node.value:
        try:
            key = w.ident(key_node, path)
            sub = f"{path}.{key}"
            if key in out:
                w.fail(key_node, sub, "declared twice")
                continue
            f = w.mapping(value, sub, TERM_FIELDS, "a declaration with a title")
            out[key] = Term(key, w.text(f["title"], f"{sub}.title") if "title" in f else key)
        except _Invalid:
            continue
    return out


def _documents(w: _Walk, node: yaml.Node | None) -> dict[str, Document]:
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        w.fail(node, "documents", f"must be a mapping of symbol: {{title, url, file}}, not "
                                  f"{_describe(node)}")
        return {}
    out: dict[str, Document] = {}
    for key_node, value in node.value:
        try:
            key = w.text(key_node, "documents")
            sub = f"documents.{key}"
            if key in out:
                w.fail(key_node, sub, "declared twice")
                continue
            f = w.mapping(value, sub, DOCUMENT_FIELDS, "a document")
            out[key] = Document(
                key,
                w.text(f["title"], f"{sub}.title") if "title" in f else key,
                w.optional(f, "url", lambda n, sub=sub: w.text(n, f"{sub}.url")),  # type: ignore[misc]
                w.optional(f, "file", lambda n, sub=sub: w.text(n, f"{sub}.file")),  # type: ignore[misc]
            )
        except _Invalid:
            continue
    return out


# --- cross-entry checks ----------------------------------------------------------------------

def _check_references(w: _Walk, reg: Register, paths: dict[str, str], spots: Spots) -> None:
    """Vocabulary, documents, dangling references and cycles. Positions are looked up only
    for a problem: in a large register most entries' are never needed."""
    for entry in reg.entries:
        path = paths[entry.id]
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

    for entry in reg.entries:
        rel = entry.relative
        if rel is None:
            continue
        path = f"{paths[entry.id]}.date.from"

        def fail(message: str, date_path: str = f"{paths[entry.id]}.date",
                 path: str = path) -> None:
            w.fail(spots.at(date_path), path, message)

        target = reg.entry(rel.target)
        if target is None:
            hint = difflib.get_close_matches(rel.target, [e.id for e in reg.entries], n=1)
            tip = f"; did you mean {hint[0]!r}?" if hint else ""
            fail(f"{rel.target!r} is not an entry of the register{tip}")
        elif target.id == entry.id:
            fail("an entry cannot be dated from itself")
        elif rel.number is None and target.series is not None:
            fail(f"{rel.target!r} is a series: name one occurrence, such as "
                 f"{rel.target}#{target.series.first}")
        elif rel.number is not None and target.series is None:
            fail(f"{rel.target!r} is not a series, so it has no occurrence "
                 f"#{rel.number}")
        elif rel.number is not None and target.series is not None:
            s = target.series
            last = s.last_number
            if rel.number < s.first or (last is not None and rel.number > last):
                span = f"{s.first} to {last}" if last is not None else f"from {s.first} on"
                fail(f"{rel.target!r} has no occurrence #{rel.number} "
                     f"(its occurrences are numbered {span})")
        elif target.kind is Kind.STANDING:
            fail(f"{rel.target!r} is a standing obligation with no date to count "
                 "from")

    # Cycles: follow each relative chain; report each cycle once, at its first entry.
    reported: set[str] = set()
    for entry in reg.entries:
        chain: list[str] = []
        current: Entry | None = entry
        while current is not None and current.relative is not None:
            if current.id in chain:
                cycle = chain[chain.index(current.id):]
                if not reported.intersection(cycle):
                    reported.update(cycle)
                    first = min(cycle, key=lambda i: spots.at(paths[i]) or (0, 0))
                    loop = " -> ".join([*cycle, current.id])
                    w.fail(spots.at(f"{paths[first]}.date"), f"{paths[first]}.date.from",
                           f"dates refer to each other in a cycle: {loop}")
                break
            chain.append(current.id)
            current = reg.entry(current.relative.target)


# --- entry points ----------------------------------------------------------------------------

def _cited(entry: Entry, path: str) -> list[tuple[str, Source]]:
    """Every source an entry cites, with its path in the register."""
    cited = [(f"{path}.sources[{i}]", s) for i, s in enumerate(entry.sources)]
    if entry.series:
        for k in entry.series.known:
            cited += [(f"{path}.series.occurrences[{k.number}].sources[{i}]", s)
                      for i, s in enumerate(k.sources)]
    return cited


def quote_count(reg: Register) -> int:
    """How many sources (each with its quote) the register cites."""
    return sum(len(_cited(e, "")) for e in reg.entries)


# --- reading the text --------------------------------------------------------------------------

_NULL = "tag:yaml.org,2002:null"


class _Composer(CParser):
    """libyaml's composer, resolving plain scalars only to null or text.

    The walker reads every value as text and asks of a tag only whether it is null, so the
    full resolver (a regular expression per scalar for ints, floats, booleans, timestamps) was
    work thrown away: a fifth of the time to compose a large register."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            plain = implicit[0]
            return _NULL if plain and value in ("", "~", "null", "Null", "NULL") else \
                "tag:yaml.org,2002:str"
        return "tag:yaml.org,2002:map" if kind is yaml.MappingNode else "tag:yaml.org,2002:seq"

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


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Composing a large register makes millions of objects and no garbage cycles; the
    collector's passes over them were three quarters of the time to read 10,000 entries."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class _Chunk:
    """The text of one item of the `entries` list, from its `-` line to the next item's."""

    line: int  # the line it starts on, from 0
    text: str


_ENTRIES_KEY = re.compile(r"^entries:[ \t]*(?:#[^\n]*)?\r?$", re.M)
_CONTENT = re.compile(r"^( *)([^ \r\n#])", re.M)


def _split(text: str) -> tuple[str, list[_Chunk]] | None:
    """The register without its entries (their lines left blank, so lines keep their numbers)
    and each entry's text, when `entries:` is a block list at the top level; else None.

    Each entry is then composed on its own, so that a reload composes only the entries whose
    text changed. A split that is wrong cannot go unnoticed: the head must compose to a
    mapping whose `entries` is empty, and each chunk to a list of exactly one item, or the
    whole text is composed at once as before."""
    keys = list(_ENTRIES_KEY.finditer(text))
    if len(keys) != 1:
        return None
    body = keys[0].end() + 1
    first = _CONTENT.search(text, body)
    if first is None or first.group(2) != "-" or text[first.end():first.end() + 1] not in \
            (" ", "\n", "\r"):
        return None
    indent = len(first.group(1))
    # The list ends at the first line that starts left of its dashes (comments aside).
    end_at = re.compile(rf"^ {{0,{indent - 1}}}[^ \r\n#]" if indent else r"^[^ \r\n#-]", re.M)
    found = end_at.search(text, first.start())
    end = found.start() if found else len(text)
    item = "\n" + " " * indent + "-"
    starts = [first.start()]
    at = text.find(item, first.start(), end)
    while at >= 0:
        if text[at + len(item):at + len(item) + 1] in (" ", "\n", "\r"):
            starts.append(at + 1)
        at = text.find(item, at + 1, end)
    line = text.count("\n", 0, first.start())
    chunks = []
    for a, b in zip(starts, [*starts[1:], end], strict=True):
        chunks.append(_Chunk(line, text[a:b]))
        line += text.count("\n", a, b)
    head = text[:body] + "\n" * text.count("\n", body, end) + text[end:]
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
                  reuse: Mapping[str, Entry] | None = None) -> Located:
    """As `parse_register`, keeping where each field stands in the file.

    `reuse` maps entry texts to the entries read from them before (`Located.reusable()` of an
    earlier parse): an entry whose text is byte for byte one of those is not composed and
    walked again. An entry is a function of its own text alone, so an edit invalidates exactly
    the entries it touches; everything that looks across entries (vocabulary, references,
    cycles, dates) is checked again on every parse."""
    with gc_paused():
        parts = _split(text)
        if parts is not None:
            try:
                return _parse(filename, parts[0], parts[1], reuse or {})
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


def _parse(filename: str, text: str, chunks: list[_Chunk] | None,
           reuse: Mapping[str, Entry]) -> Located:
    """Walk the register; `text` is the whole file, or with `chunks` the file without its
    entries. Raises _Unsplit for any doubt about the split (a YAML error included: the whole
    text then says where it is)."""
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
    title = w.optional(head, "title", lambda n: w.text(n, "register.title")) or filename
    description = w.optional(head, "description", lambda n: w.text(n, "register.description"))
    reminders = w.optional(head, "reminders", lambda n: _offsets(w, n, "register.reminders"))
    areas = _terms(w, top.get("areas"), "areas")
    actors = _terms(w, top.get("actors"), "actors")
    documents = _documents(w, top.get("documents"))

    assert w.spots is not None
    spots = Spots(filename, w.spots, chunks)
    if chunks is None:
        no_nodes: list[yaml.Node] = []
        items: Iterable[tuple[yaml.Node | _Chunk, int]] = (
            (node, 0) for node in (_try(lambda: w.seq(top["entries"], "entries", "entries"),
                                        no_nodes) if "entries" in top else []))
    else:
        listed = top.get("entries")
        if not isinstance(listed, yaml.ScalarNode) or listed.tag != _NULL or listed.value:
            raise _Unsplit()
        items = ((c, c.line) for c in chunks)

    entries: list[Entry] = []
    paths: dict[str, str] = {}
    kept = w.spots
    for i, (item, line) in enumerate(items):
        path = f"entries[{i}]"
        entry = reuse.get(item.text) if isinstance(item, _Chunk) else None
        if entry is None:
            if isinstance(item, _Chunk):
                # An entry's positions are not kept (see Spots); its problems have theirs.
                node, w.spots, w.line_offset = _chunk_node(item), None, line
            else:
                node = item
            try:
                entry = _entry(w, node, path)
            except _Invalid:
                continue
            finally:
                w.spots, w.line_offset = kept, 0
        if entry.id in paths:
            first = spots.at(f"{paths[entry.id]}.id")
            w.fail(spots.at(f"{path}.id"), f"{path}.id",
                   f"duplicate id {entry.id!r} (first used on line {first[0] if first else 1})")
            continue
        paths[entry.id] = path
        entries.append(entry)

    reg = Register(title, description, reminders if reminders is not None else (),
                   areas, actors, documents, tuple(entries))
    _check_references(w, reg, paths, spots)
    if not w.problems:
        # Dates that only resolution can check: an offset moving a date before year 1, say.
        from calendar_tool.timeline import resolve_problems

        for entry_id, message in resolve_problems(reg):
            path = paths[entry_id]
            w.fail(spots.at(f"{path}.date") or spots.at(f"{path}.series"), f"{path}.date",
                   message)
    if w.problems:
        raise RegisterInvalid(w.problems)
    return Located(reg, filename, paths, spots)


def load_register(path: Path) -> Register:
    """Read and validate the register at `path`."""
    return load_located(path).register


def load_located(path: Path, reuse: Mapping[str, Entry] | None = None) -> Located:
    """Read and validate the register at `path`, keeping positions (`reuse`: as for
    `parse_located`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise unreadable(path, exc) from None
    return parse_located(text, str(path), reuse)


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
        names.update(s.file for s in entry.sources if s.file)
        if entry.series:
            names.update(s.file for k in entry.series.known for s in k.sources if s.file)
    texts: dict[str, str] = {}
    for name in sorted(names):
        path = folder / name
        if path.is_file():
            texts[name] = path.read_text(encoding="utf-8", errors="replace")
    return texts
