"""The walker: YAML nodes to `model` types, every problem gathered with its line, column and
field path, so that one run of `validate` lists them all. It reads one entry, or the parts of
the register outside its entries; what looks across entries is `checks`."""

from __future__ import annotations

import difflib
import functools
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, TypeVar

import yaml
from dateutil.rrule import rrule, rrulestr
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from calendar_tool.config import web_address
from calendar_tool.errors import Problem
from calendar_tool.model import (
    MAX_OCCURRENCES,
    DatedValue,
    Document,
    Entry,
    Kind,
    KnownOccurrence,
    Offset,
    Precision,
    Relative,
    Reviewed,
    Series,
    Source,
    State,
    Status,
    Term,
    reminder_too_long,
)
from calendar_tool.register.compose import NULL, STR

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Printable ASCII that RFC 3986 leaves out of URIs (a space is refused by `web_address`).
_NOT_IN_URIS = frozenset('"<>\\^`{|}')

# RFC 5545's CONTROL (3.1) less the tab, which TEXT allows, and the line breaks, which a feed
# escapes: a YAML escape ("\e", "\x01") can put any of them in a value, and a calendar
# holding one is refused whole by strict parsers.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def refused_in_text(text: str) -> bool:
    """Whether `text` holds a control character that no text of the register may hold."""
    return _CONTROL.search(text) is not None


class _Fields(dict[str, bool]):
    """The fields a mapping allows, in order, each with whether it is required."""

    def __init__(self, fields: dict[str, bool]) -> None:
        super().__init__(fields)
        # Listed apart, as every mapping read looks for them.
        self.required = tuple(name for name, required in fields.items() if required)


TOP_FIELDS = _Fields({"register": True, "areas": True, "actors": True, "documents": True,
                      "entries": True, "reviewed": False})
REGISTER_FIELDS = _Fields({"title": True, "description": False, "reminders": False})
TERM_FIELDS = _Fields({"title": True})
DOCUMENT_FIELDS = _Fields({"title": True, "url": False, "file": False, "date": False,
                           "dated_by": False})
ENTRY_FIELDS = _Fields({
    "id": True, "title": True, "kind": True, "date": False, "series": False, "actors": True,
    "areas": True, "sources": True, "description": False, "location": False, "status": False,
    "reminders": False, "note": False, "urgency": False, "pending": False,
})
SERIES_FIELDS = _Fields({
    "rule": True, "start": True, "first": False, "until": False, "count": False,
    "occurrences": False, "estimate": False,
})
# How a series' estimates are dated: with the month its known occurrences give, or only as
# precisely as its rule and start.
_ESTIMATES = {"evidence": True, "rule": False}
KNOWN_FIELDS = _Fields({"date": True, "location": False, "note": False, "status": False,
                        "sources": False})
SOURCE_FIELDS = _Fields({"doc": True, "para": True, "quote": True, "file": False})
REVIEWED_FIELDS = _Fields({"doc": True, "para": True, "quote": True, "reason": True,
                           "file": False})
STATUS_FIELDS = _Fields({"state": True, "date": False, "note": False, "sources": False})
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


_MOST = 10**15 - 1  # the largest number the register may write: no count or number is near it


def whole(text: str) -> bool:
    """Whether `text` is a whole number in ASCII digits that int() reads at once: str.isdigit
    also takes superscripts, which int() refuses, and int() refuses 4,300 digits and more."""
    return text.isascii() and text.isdigit() and len(text) <= 18


class Invalid(Exception):
    """Raised inside the walker to abandon one value; the problem is already recorded."""


Position = tuple[int, int]  # line and column, from 1

# Where a value stands: `path` and `key` together, ".key" for a field and "[key]" for an item
# (no key: the path is the value's own). The walker passes them apart and joins them only for
# a problem, which most values never have: building every path cost a twentieth of the walk.
Key = str | int | None


def _within(path: str, key: Key) -> str:
    """The path of `key` within `path`."""
    if key is None:
        return path
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


@dataclass
class Walk:
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
    # Equal sources, and equal lists of sources, actors and areas, read so far: one object
    # each. A register cites the same paragraphs and names the same few areas thousands of
    # times, and every copy is memory each process holding the entries keeps and objects
    # the entry cache writes and reads (pickle writes a shared object once).
    sources: dict[Source, Source] = field(default_factory=dict)
    lists: dict[tuple[object, ...], tuple[Any, ...]] = field(default_factory=dict)
    # Each source read without a problem, by what its mapping holds (`_source_key`): the
    # same three fields written again are the same source, read without being walked.
    source_keys: dict[tuple[str, ...], Source] = field(default_factory=dict)
    # The ids of the entries dropped for a problem, or whose date or series could not be
    # read: a date counting from one is not judged, as its anchor's own problem is already
    # said, and one typo must not also read as "not an entry" (or "not a series") at every
    # entry counting from it.
    faulty: set[str] = field(default_factory=set)

    def at(self, node: yaml.Node) -> Position:
        return (node.start_mark.line + 1 + self.line_offset, node.start_mark.column + 1)

    def fail(self, where: yaml.Node | Position | None, path: str, message: str) -> Invalid:
        if isinstance(where, yaml.Node):
            where = self.at(where)
        line, col = where or (1, 1)
        self.problems.append(Problem(self.filename, line, col, path, message))
        return Invalid()

    def mapping(
        self, node: yaml.Node, path: str, fields: _Fields, what: str
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, path, f"must be a mapping ({what}), not {_describe(node)}")
        spots = self.spots
        if spots is not None:
            spots[path] = self.at(node)
        out: dict[str, yaml.Node] = {}
        cut: dict[int, str | None] | None = None  # made only when a field is unknown
        merged = False
        for i, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, path, "keys must be plain words")
                continue
            key: str = key_node.value
            # The usual case first, building no path: a known field, given once.
            if key in fields and key not in out:
                out[key] = value_node
                if spots is not None:
                    spots[_within(path, key)] = self.at(value_node)
            elif key in out:
                self.fail(key_node, _within(path, key), "appears twice in the same mapping")
            elif key == "<<":
                # The fields it would merge are then missing too: said once, here, rather
                # than as one unknown field and a missing field for each it held.
                self.fail(key_node, _within(path, key), "a YAML merge key ('<<: *name') is "
                          "not taken in a register: write the fields out in each mapping")
                merged = True
            else:
                cut = _cut_by_commas(node, fields) if cut is None else cut
                if i in cut:
                    meant = cut[i]
                    if meant is not None:  # once for a value cut several times
                        self.fail(key_node, _within(path, key),
                                  f"a comma inside {{...}} ends the value before it, so {key!r} "
                                  f"was read as a field: put that value in quotes, such as "
                                  f"{meant}")
                    continue
                hint = difflib.get_close_matches(key, list(fields), n=1)
                tip = f"; did you mean {hint[0]!r}?" if hint else ""
                allowed = ", ".join(fields)
                self.fail(key_node, _within(path, key),
                          f"unknown field {key!r}{tip} (allowed: {allowed})")
        for name in () if merged else fields.required:
            if name not in out:
                self.fail(node, _within(path, name), f"missing required field {name!r} in {what}")
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
        if not isinstance(node, ScalarNode) or node.tag == NULL:
            raise self.fail(node, _within(path, key), f"must be text, not {_describe(node)}")
        if node.tag != STR:
            # A value opening with `!` is a YAML tag and the word after it: `title: !Urgent
            # report` was read as the title "report", the word dropped without a word said.
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise self.fail(node, _within(path, key),
                            f"{tag} is a YAML tag, which a register does not take: delete "
                            "it, or put the whole value in quotes when it is part of the text")
        value: str = node.value.strip()
        if not value:
            raise self.fail(node, _within(path, key), "must not be empty")
        # `isprintable` first: a C call that passes almost every value without the search.
        if not value.isprintable():
            control = _CONTROL.search(value)
            if control is not None:
                # Recorded, and the text kept, as a title of two lines is (`line`).
                self.fail(node, _within(path, key),
                          f"contains the control character U+{ord(control.group()):04X}, "
                          "which calendars cannot carry (RFC 5545): remove it")
        return value

    def line(self, node: yaml.Node, path: str, key: Key) -> str:
        """Text shown on one line (a title, a paragraph number): lists, feeds' summaries and
        messages' subjects show it on one, and a line break in it broke `list`'s table."""
        value = self.text(node, path, key)
        if len(value.splitlines()) > 1:
            # Recorded, and the text kept: the entry is still there for those dated from it.
            self.fail(node, _within(path, key), "must be one line: lists and feeds show it on "
                                                "one")
        return value

    def link(self, node: yaml.Node, path: str, key: Key) -> str:
        """A document's address: pages and feeds link to it, so an http:// or https:// URL
        with a host (not `javascript:`, not a bare word, nothing a browser would not go to)."""
        value = self.text(node, path, key)
        if not web_address(value):
            raise self.fail(node, _within(path, key),
                            f"{value!r} is not an http:// or https:// URL with a host, such "
                            "as https://undocs.org/A/RES/55/25")
        if not value.isascii() or any(c in _NOT_IN_URIS for c in value):
            # A feed's URL property is a URI (RFC 3986), as CALENDAR_TOOL_PUBLIC_URL must be:
            # the feeds carried 'URL:https://undocs.org/é' and '"><script>' as they were.
            raise self.fail(node, _within(path, key),
                            f"{value!r} holds characters a link cannot carry as they are: "
                            "write them percent-encoded (é as %C3%A9, a quote mark as %22) "
                            "and a host name as its xn-- form")
        return value

    def file_name(self, node: yaml.Node, path: str, key: Key) -> str:
        """A file of the sources folder (a document's text): named within that folder, since
        `validate --check-sources` and `coverage` read it from there. An absolute path or
        one with `..` would have them read a file outside the folder the command was given."""
        value = self.line(node, path, key)
        parts = value.replace("\\", "/").split("/")
        if value.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise self.fail(node, _within(path, key),
                            f"{value!r} must name a file in the sources folder, such as "
                            "000_4853c77995d8575d.txt: not an absolute path, nor one that "
                            "leaves the folder (..)")
        return value

    def ident(self, node: yaml.Node, path: str, key: Key) -> str:
        value = self.text(node, path, key)
        if not _ID.match(value):
            raise self.fail(
                node, _within(path, key),
                f"{value!r} is not an id: use lower-case letters, digits and single hyphens",
            )
        return value

    def integer(self, node: yaml.Node, path: str, key: Key, minimum: int,
                maximum: int | None = None) -> int:
        value = self.text(node, path, key)
        if not whole(value) or int(value) < minimum:
            raise self.fail(node, _within(path, key),
                            f"{value!r} must be a whole number of at least {minimum}")
        if int(value) > (_MOST if maximum is None else maximum):
            raise self.fail(node, _within(path, key),
                            f"{value!r} must be a whole number of at most {maximum:,}")
        return int(value)

    def choice(self, node: yaml.Node, path: str, key: Key, members: dict[str, T]) -> T:
        """One of `members` (an enum's, by value), named by its key."""
        value = self.text(node, path, key)
        member = members.get(value)
        if member is None:
            allowed = ", ".join(members)
            raise self.fail(node, _within(path, key), f"{value!r} is not one of: {allowed}")
        return member

    def optional(self, fields: dict[str, yaml.Node], path: str, name: str,
                 check: Callable[[Walk, yaml.Node, str, str], T]) -> T | None:
        """`check(self, node, path, name)` for the field `name`, or None when the field is not
        given or not valid (its problem is recorded)."""
        node = fields.get(name)
        if node is None:
            return None
        try:
            return check(self, node, path, name)
        except Invalid:
            return None


def _bare(key: yaml.Node, value: yaml.Node) -> bool:
    """A plain key with no value: what YAML makes of the words after a comma in {...}."""
    return isinstance(key, ScalarNode) and not key.style and \
        isinstance(value, ScalarNode) and value.tag == NULL and not value.value


def _cut_by_commas(node: MappingNode, fields: _Fields) -> dict[int, str | None]:
    """The unknown fields of a {...} mapping that are the rest of a plain value cut at its
    commas (`{quote: in 2011, on the report}`: `on the report` with no value), by their place
    in the mapping: the first of a run with the value the keeper meant, written quoted; the
    others None. Said as such, since "unknown field 'on the report'" hides that the quote
    was cut."""
    found: dict[int, str | None] = {}
    pairs = node.value
    i = 1
    while node.flow_style and i < len(pairs):
        before_key, before = pairs[i - 1]
        j = i
        while j < len(pairs) and _bare(*pairs[j]) and pairs[j][0].value not in fields:
            j += 1
        if j > i and isinstance(before_key, ScalarNode) and isinstance(before, ScalarNode) \
                and not before.style and before.tag != NULL:
            meant = ", ".join([before.value, *(k.value for k, _ in pairs[i:j])])
            found[i] = f'{before_key.value}: "{meant}"'
            found.update(dict.fromkeys(range(i + 1, j)))
        i = max(j, i + 1)
    return found


def _describe(node: yaml.Node | None) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node is None or node.tag == "tag:yaml.org,2002:null":
        return "nothing"
    return f"{node.value!r}"


# --- dated values ----------------------------------------------------------------------------

def _parsed(w: Walk, node: yaml.Node, path: str, key: Key, parse: Callable[[str], T],
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
            raise w.fail(node, _within(path, key), str(exc)) from None
    return parsed


def _dated(w: Walk, node: yaml.Node, path: str, key: Key) -> DatedValue:
    if node.tag == NULL:  # `date:` left empty: say what a date is, not only "not nothing"
        raise w.fail(node, _within(path, key), "must be a date such as 2005, 2005-06, "
                                               "2005-06-30 or 2001..2005, not nothing")
    return _parsed(w, node, path, key, DatedValue.parse, w.dates)


def _offset(w: Walk, node: yaml.Node, path: str, key: Key) -> Offset:
    return _parsed(w, node, path, key, Offset.parse, w.offsets)


def read_offsets(w: Walk, node: yaml.Node, path: str, key: Key) -> tuple[Offset, ...]:
    path = _within(path, key)
    out: list[Offset] = []
    for i, item in enumerate(w.seq(node, path, "durations such as P30D")):
        try:
            off = _offset(w, item, path, i)
        except Invalid:
            continue
        too_long = reminder_too_long(off)
        if off.negative:
            w.fail(item, f"{path}[{i}]", f"{item.value!r}: a reminder offset counts back from "
                                          "the due day and must not be negative")
        elif too_long is not None:
            w.fail(item, f"{path}[{i}]", too_long)
        else:
            out.append(off)
    return tuple(out)


# --- parts of an entry -----------------------------------------------------------------------

def _source(w: Walk, node: yaml.Node, path: str) -> Source:
    key = _source_key(node) if w.spots is None else None
    if key is not None:
        known = w.source_keys.get(key)
        if known is not None:
            return known
    problems = len(w.problems)
    f = w.mapping(node, path, SOURCE_FIELDS, "a source")
    if "doc" not in f or "para" not in f or "quote" not in f:
        raise Invalid()
    source = Source(
        doc=sys.intern(w.text(f["doc"], path, "doc")),  # interned as actors are
        para=w.line(f["para"], path, "para"),
        quote=w.text(f["quote"], path, "quote"),
        # Looked up only when given, as in read_entry.
        file=w.optional(f, path, "file", Walk.file_name) if "file" in f else None,
    )
    source = w.sources.setdefault(source, source)
    if key is not None and len(w.problems) == problems:
        w.source_keys[key] = source
    return source


def _source_key(node: yaml.Node) -> tuple[str, ...] | None:
    """What a source's mapping holds, when it is three plain text fields (doc, para, quote,
    in any order): its keys, and its values with their tags. Walking such a mapping reads
    nothing else, so the same key is the same source and the same problems, none once one
    was read without any. A register cites the same paragraphs thousands of times: walking
    each of 200,000 sources was an eighth of a cold read. None for any other shape."""
    pairs = node.value if type(node) is MappingNode else None
    if pairs is None or len(pairs) != 3:
        return None
    key: list[str] = []
    for k, v in pairs:
        if type(k) is not ScalarNode or type(v) is not ScalarNode:
            return None
        key += (k.value, v.tag, v.value)
    return tuple(key)


def _sources(w: Walk, node: yaml.Node, path: str, key: Key) -> tuple[Source, ...]:
    path = _within(path, key)
    out: list[Source] = []
    for i, item in enumerate(w.seq(node, path, "sources")):
        try:  # not contextlib.suppress, which costs a microsecond a time
            out.append(_source(w, item, f"{path}[{i}]"))
        except Invalid:
            continue
    # By the sources' identities, which `_source` made one per value: hashed in C.
    return w.lists.setdefault(tuple(map(id, out)), tuple(out))


def _kind(w: Walk, node: yaml.Node, path: str, key: Key) -> Kind:
    return w.choice(node, path, key, _KINDS)


def _status(w: Walk, node: yaml.Node, path: str, key: Key) -> Status:
    if isinstance(node, ScalarNode):
        return Status(w.choice(node, path, key, _STATES))
    path = _within(path, key)
    f = w.mapping(node, path, STATUS_FIELDS, "a status")
    if "state" not in f:
        raise Invalid()
    state = w.choice(f["state"], path, "state", _STATES)
    when = w.optional(f, path, "date", _dated)
    if when is not None and (when.precision is not Precision.DAY or when.is_range):
        w.fail(f["date"], f"{path}.date", "the date a status changed is a day, such as "
                                          "2006-01-15; leave it out when the text gives none")
        when = None
    note = w.optional(f, path, "note", Walk.text)
    sources = w.optional(f, path, "sources", _sources) if "sources" in f else None
    return Status(state, when.start if when else None, note, sources or None)


def _relative(w: Walk, node: yaml.Node, path: str, key: Key) -> Relative:
    path = _within(path, key)
    f = w.mapping(node, path, RELATIVE_FIELDS, "a relative date {from, offset, anchor}")
    if "from" not in f:
        raise Invalid()
    ref = w.text(f["from"], path, "from")
    target, sep, number = ref.partition("#")
    if not _ID.match(target) or (sep and not whole(number)):
        raise w.fail(f["from"], f"{path}.from",
                     f"{ref!r} must be an entry id, or a series id and occurrence number "
                     "such as commission-sessions#10")
    offset = w.optional(f, path, "offset", _offset) or Offset()
    anchor = w.optional(f, path, "anchor", Walk.text) or "start"
    if anchor not in ("start", "end"):
        w.fail(f["anchor"], f"{path}.anchor", f"{anchor!r} must be 'start' or 'end'")
    return Relative(target, int(number) if sep else None, offset, anchor == "end")


@functools.lru_cache(maxsize=256)
def _rule_error(rule: str) -> str | None:
    """Why dateutil refuses the rule, if it does; kept, as a register repeats a few rules
    thousands of times and reading one costs ten microseconds."""
    try:
        parsed = rrulestr(rule, dtstart=date(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        return str(exc)
    if not isinstance(parsed, rrule):  # several lines: RDATE, EXDATE or a second RRULE
        return "give one rule on one line"
    return None


def _rule(w: Walk, node: yaml.Node, path: str, key: Key, start: DatedValue | None) -> str:
    path = _within(path, key)
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
    interval = parts.get("INTERVAL", "1")
    # dateutil takes INTERVAL=0 and then never moves on: expanding the rule spun for ever.
    if not whole(interval) or int(interval) < 1:
        raise w.fail(node, path, f"INTERVAL={interval} must be a whole number of at least 1")
    zero = next((p for p in _NUMBERED if any(
        whole(v.lstrip("+-")) and int(v.lstrip("+-")) == 0 for v in parts.get(p, "").split(",")
    )), None)
    if zero is not None:
        # RFC 5545 numbers them from 1 (-1 from the end); dateutil read BYMONTHDAY=0 as no
        # BYMONTHDAY at all, and a yearly rule then gave every day of the year.
        raise w.fail(node, path, f"{zero}=0 is no day or week: RFC 5545 counts from 1 (or from -1 "
                                 "at the end)")
    far = next((v for v in parts.get("BYEASTER", "").split(",") if whole(v.lstrip("+-"))
                and not _EASTER_MOST_BEFORE <= int(v) <= _EASTER_MOST_AFTER), None)
    if far is not None:
        # dateutil marks the day in a list of Easter's year: past it, the rule failed with an
        # IndexError in every command, and before it, it wrapped round to a wrong day.
        raise w.fail(node, path, f"BYEASTER={far} must lie between {_EASTER_MOST_BEFORE} and "
                                 f"{_EASTER_MOST_AFTER}: a day of the year of its Easter")
    timed = [p for p in _TIMES if p in parts]
    if timed:
        # A series falls on days; each time of day would be one more date on the same day.
        raise w.fail(node, path, f"{timed[0]} gives times of day; a series is dated in days")
    picks = _PICKS[start.precision] if start is not None else {}
    finer = next((p for p in picks if p in parts), None)
    if start is not None and finer is not None:
        # Each pick is one more occurrence that the start's precision cannot tell apart:
        # FREQ=YEARLY;BYDAY=MO from "2026" gave 52 occurrences, each "2026".
        raise w.fail(node, path, f"{finer} picks {picks[finer]} within each {_PERIODS[freq]}, "
                                 f"finer than the {start.precision} precision of series.start; "
                                 f"give series.start {_AS_FINE[finer]}")
    return rule


_TIMES = ("BYHOUR", "BYMINUTE", "BYSECOND")
# Easter falls from 22 March (day 81 of its year) to 25 April (day 115, 116 in a leap year):
# these offsets keep the day they give inside Easter's year, whatever the year.
_EASTER_MOST_BEFORE, _EASTER_MOST_AFTER = -80, 250
_NUMBERED = ("BYMONTHDAY", "BYYEARDAY", "BYWEEKNO")
# The parts of a rule that pick dates within its period, by the start's precision that cannot
# tell those dates apart (BYSETPOS picks among the others' dates; BYEASTER is dateutil's).
_DAY_PICKS = {"BYWEEKNO": "weeks", "BYYEARDAY": "days", "BYMONTHDAY": "days", "BYDAY": "days",
              "BYEASTER": "days"}
_PICKS = {
    Precision.YEAR: {"BYMONTH": "months", **_DAY_PICKS, "BYSETPOS": "dates"},
    Precision.MONTH: _DAY_PICKS,
    Precision.DAY: {},
}
_PERIODS = {"YEARLY": "year", "MONTHLY": "month"}
_AS_FINE = {"BYMONTH": "to the month (such as 2026-05)", "BYSETPOS": "to the day (such as "
            "2026-05-04)", **dict.fromkeys(_DAY_PICKS, "to the day (such as 2026-05-04)")}


def _known(w: Walk, key: yaml.Node, node: yaml.Node, path: str) -> KnownOccurrence:
    # Any whole number: one before the series' `first` (which may be 0) is refused with it.
    number = w.integer(key, path, None, 0)
    sub = f"{path}[{number}]"
    f = w.mapping(node, sub, KNOWN_FIELDS, "a known occurrence")
    if "date" not in f:
        raise Invalid()
    return KnownOccurrence(
        number=number,
        date=_dated(w, f["date"], sub, "date"),
        location=w.optional(f, sub, "location", Walk.text),
        note=w.optional(f, sub, "note", Walk.text),
        status=w.optional(f, sub, "status", _status),
        sources=w.optional(f, sub, "sources", _sources) or (),
    )


def _series(w: Walk, node: yaml.Node, path: str, key: Key) -> Series:
    path = _within(path, key)
    f = w.mapping(node, path, SERIES_FIELDS, "a series")
    start = w.optional(f, path, "start", _dated)
    rule = w.optional(f, path, "rule", lambda w, n, p, k: _rule(w, n, p, k, start))
    first = w.optional(f, path, "first", lambda w, n, p, k: w.integer(n, p, k, 0))
    first = 1 if first is None else first
    until = w.optional(f, path, "until", _dated)
    count = w.optional(f, path, "count",
                       lambda w, n, p, k: w.integer(n, p, k, 1, MAX_OCCURRENCES))
    by_evidence = w.optional(f, path, "estimate", lambda w, n, p, k: w.choice(n, p, k, _ESTIMATES))
    known: list[KnownOccurrence] = []
    seen: dict[int, yaml.Node] = {}  # each known occurrence's number, where it is given
    occ_node = f.get("occurrences")
    if occ_node is not None:
        sub = f"{path}.occurrences"
        if not isinstance(occ_node, MappingNode):
            w.fail(occ_node, sub, "must be a mapping from occurrence number to its date")
        else:
            for key_node, value in occ_node.value:
                try:
                    k = _known(w, key_node, value, sub)
                except Invalid:
                    continue
                if k.number in seen:
                    w.fail(key_node, f"{sub}[{k.number}]", "this occurrence is given twice")
                elif k.number < first:
                    w.fail(key_node, f"{sub}[{k.number}]",
                           f"occurrence {k.number} comes before the first one ({first})")
                elif count is not None and k.number >= first + count:
                    w.fail(key_node, f"{sub}[{k.number}]",
                           f"occurrence {k.number} is past the last one that count={count} allows")
                elif k.number >= first + MAX_OCCURRENCES:
                    w.fail(key_node, f"{sub}[{k.number}]",
                           f"occurrence {k.number} is past the last one a series can have: "
                           f"{first + MAX_OCCURRENCES - 1} ({MAX_OCCURRENCES:,} from {first})")
                else:
                    seen[k.number] = key_node
                    known.append(k)
    if start is None or rule is None:
        raise Invalid()
    if until is not None and until.end < start.start:
        w.fail(f["until"], f"{path}.until", f"the series ends ({until.iso()}) before it starts "
                                             f"({start.iso()})")
    known.sort(key=lambda k: k.number)
    _check_order(w, path, first, start, known, seen)
    return Series(rule, start, first, until, count, tuple(known),
                  True if by_evidence is None else by_evidence)


def _check_order(w: Walk, path: str, first: int, start: DatedValue,
                 known: list[KnownOccurrence], nodes: dict[int, yaml.Node]) -> None:
    """The known occurrences' dates follow their numbers, from the series' start: one that
    lies wholly before an earlier-numbered one (or the start) is a problem at its number.
    Compared at the precision the texts give: no. 3 in 2002 and no. 4 in May 2002 agree."""
    chain = [(first, start, "the series' start, occurrence")]
    chain += [(k.number, k.date, "occurrence") for k in known if k.number != first]
    if known and known[0].number == first:
        chain[0] = (first, known[0].date, "occurrence")
    latest = chain[0]  # of those before, the one that starts last
    for n1, d1, _ in chain[1:]:
        n0, d0, what = latest
        if d1.end < d0.start:
            w.fail(nodes[n1], f"{path}.occurrences[{n1}]",
                   f"occurrence {n1} ({d1.iso()}) is dated before {what} {n0} ({d0.iso()})")
        elif d1.start > d0.start:
            latest = (n1, d1, "occurrence")


def _words(w: Walk, f: dict[str, yaml.Node], path: str, name: str) -> tuple[str, ...]:
    """The declared actors or areas an entry names; () when they are not a list."""
    node = f.get(name)
    if node is None:
        return ()
    path = f"{path}.{name}"
    try:
        items = w.seq(node, path, f"declared {name}")
    except Invalid:
        return ()
    if not items:
        w.fail(node, path, f"name at least one of the declared {name}")
    out: list[str] = []
    for i, item in enumerate(items):
        try:  # not contextlib.suppress, which costs a microsecond a time
            # Interned: a register names a few dozen actors and areas thousands of times, and
            # the checks across entries then find each one in the cache rather than in memory.
            out.append(sys.intern(w.text(item, path, i)))
        except Invalid:
            continue
    # Named twice is named once, as an offset is: `areas: [a, a]` put the event in feed a
    # once but wrote CATEGORIES:a,a and listed "a, a".
    words = tuple(dict.fromkeys(out))
    return w.lists.setdefault(words, words)


# The kinds that may be undated with a word of urgency, and those that may await a date.
_URGENT_KINDS = frozenset({Kind.DEADLINE, Kind.TARGET, Kind.REPORT})
_PENDING_KINDS = frozenset({Kind.EVENT, Kind.SESSION})


def _check_dating(w: Walk, node: yaml.Node, f: dict[str, yaml.Node], path: str,
                  kind: Kind) -> None:
    """How the entry is dated fits its kind: a date or a series, or none for a standing
    obligation, an undated urgent commitment (`urgency`) or an event awaiting its date
    (`pending`)."""
    dated = [name for name in ("date", "series") if name in f]
    if kind is Kind.STANDING:
        for name in (*dated, *(n for n in ("urgency", "pending") if n in f)):
            w.fail(f[name], f"{path}.{name}",
                   "a standing obligation has no date; use another kind or remove it")
        return
    if len(dated) == 2:
        w.fail(f["series"], f"{path}.series", "give either date or series, not both")
    undated = False
    for name, kinds, what in (("urgency", _URGENT_KINDS, "a deadline, target or report"),
                              ("pending", _PENDING_KINDS, "an event or session")):
        if name not in f:
            continue
        undated = True
        if kind not in kinds:
            article = "an" if kind.value[0] in "aeiou" else "a"
            w.fail(f[name], f"{path}.{name}", f"{name} is for {what}, not {article} {kind}")
        elif dated:
            w.fail(f[name], f"{path}.{name}",
                   f"give either {dated[0]} or {name}, not both"
                   + (": recording the date replaces pending" if name == "pending" else ""))
    if not dated and not undated:
        hint = ("urgency: the text's words when it gives only a word of urgency; or "
                if kind in _URGENT_KINDS else
                "pending: what is awaited while no text dates it; or " if kind in _PENDING_KINDS
                else "") + "kind: standing if it has none"
        w.fail(node, f"{path}.date", f"a {kind} needs a date or a series (or {hint})")


def read_entry(w: Walk, node: yaml.Node, path: str) -> Entry:
    problems = len(w.problems)
    f = w.mapping(node, path, ENTRY_FIELDS, "an entry")
    entry_id = w.optional(f, path, "id", Walk.ident)
    title = w.optional(f, path, "title", Walk.line)
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

    if kind is not None:
        _check_dating(w, node, f, path, kind)
    urgency = w.optional(f, path, "urgency", Walk.text) if "urgency" in f else None
    pending = w.optional(f, path, "pending", Walk.text) if "pending" in f else None
    status = (w.optional(f, path, "status", _status) if "status" in f else None) or _OPEN
    reminders = w.optional(f, path, "reminders", read_offsets) if "reminders" in f else None
    description = w.optional(f, path, "description", Walk.text) if "description" in f else None
    location = w.optional(f, path, "location", Walk.text) if "location" in f else None
    note = w.optional(f, path, "note", Walk.text) if "note" in f else None
    dating_lost = ("series" in f and series is None) or \
        (date_node is not None and dated is None and relative is None)
    if entry_id is not None and len(w.problems) > problems and \
            (title is None or kind is None or dating_lost):
        w.faulty.add(entry_id)
    if entry_id is None or title is None or kind is None:
        raise Invalid()
    return Entry(
        id=entry_id, title=title, kind=kind, actors=actors, areas=areas, sources=sources,
        date=dated, relative=relative, series=series, status=status, reminders=reminders,
        description=description, location=location, note=note, urgency=urgency,
        pending=pending,
    )


def or_default(fn: Callable[[], T], default: T) -> T:
    try:
        return fn()
    except Invalid:
        return default


MAX_KEY = 100  # characters of an area's or actor's key
_FEED_PREFIX = {"areas": "area", "actors": "actor"}


def read_terms(w: Walk, node: yaml.Node | None, path: str) -> dict[str, Term]:
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
            if len(key) > MAX_KEY:
                # The key names its feed file, and a file system takes 255 bytes a name:
                # a longer key passed here and then failed every publish and run. Still
                # declared, so that the entries naming it are not problems too.
                w.fail(key_node, sub, f"a key of {len(key)} characters is too long: at most "
                                      f"{MAX_KEY}, as it names the feed file "
                                      f"{_FEED_PREFIX[path]}-KEY.ics")
            if key in out:
                w.fail(key_node, sub, "declared twice")
                continue
            f = w.mapping(value, sub, TERM_FIELDS, "a declaration with a title")
            out[key] = Term(key, w.line(f["title"], sub, "title") if "title" in f else key)
        except Invalid:
            continue
    return out


def read_documents(w: Walk, node: yaml.Node | None) -> dict[str, Document]:
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
                w.line(f["title"], sub, "title") if "title" in f else key,
                w.optional(f, sub, "url", Walk.link),
                w.optional(f, sub, "file", Walk.file_name),
                w.optional(f, sub, "date", _dated),
                w.optional(f, sub, "dated_by", lambda w, n, p, k: _source(w, n, f"{p}.{k}")),
            )
        except Invalid:
            continue
    return out




def read_reviewed(w: Walk, node: yaml.Node | None) -> tuple[Reviewed, ...]:
    """The passages judged not to be commitments, each with its quote and the reason."""
    if node is None:
        return ()
    out: list[Reviewed] = []
    no_items: list[yaml.Node] = []
    items = or_default(lambda: w.seq(node, "reviewed", "reviewed passages"), no_items)
    for i, item in enumerate(items):
        path = f"reviewed[{i}]"
        try:
            f = w.mapping(item, path, REVIEWED_FIELDS, "a reviewed passage {doc, para, quote, "
                                                       "reason}")
            if not all(name in f for name in REVIEWED_FIELDS.required):
                continue
            source = Source(sys.intern(w.text(f["doc"], path, "doc")),
                            w.text(f["para"], path, "para"), w.text(f["quote"], path, "quote"),
                            w.optional(f, path, "file", Walk.file_name))
            out.append(Reviewed(source, w.text(f["reason"], path, "reason")))
        except Invalid:
            continue
    return tuple(out)
