"""Reading `obligations.yaml`: text to a validated `Register`, every problem located.

Owns: PyYAML (libyaml's composer: the only importer), the validator, the checks across
entries, quote checks against the source texts, the entry cache between commands, the date
index of `list`, `review` and the page, the file watch of long-running processes, and the
speed machinery of reading (re-reading only what an edit touched, the dates derived from each
entry carried from one read to the next, the forked half of a cold read).
May import: model, timeline (validating a register computes its dates), errors, files.

The doors:
- `load(path, cache)`: a one-shot command's read, with the entry cache of `cache`;
- `dated(path, cache)`: what `list` and `review` read (`Dates`): the register's date index
  when it is the register's as it is now, else the register read as `load` reads it;
  `held_select`: a query of a register held in memory (`serve`), from its index in memory;
  `held_pick`: the same as a `Selected`, counted before any occurrence is made (the page);
  `held_count`: how many events the feed of a selection holds, counted from that index;
  `held_used`: the areas, actors and kinds the entries use, from that index;
- `RegisterFile(path, cache)`: a long-running process's (`run`, `serve`): read again when the
  file changes, the last good register kept while it has problems, and how each reading
  differs from the one before (`Edit`); its first read reuses the entries the cache kept;
- `stamp()`: a digest of the code that turns an entry's text into the entry, for what is kept
  by entry text elsewhere (the feeds' content hashes);
- `parse_register(text)` and `parse_located(text)`: a register from text (tests,
  benchmarks);
- `check_quotes`, `read_sources`, `quote_count`: `validate --check-sources`;
- `coverage_of`: the dated passages of the source texts and what covers each (`coverage`).

The door is lazy: a name is looked up in its module when first asked for, so that `list` and
`review` answering from the date index load neither PyYAML nor the reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from calendar_tool import doors

if TYPE_CHECKING:
    from calendar_tool.register.cache import load as load
    from calendar_tool.register.cache import stamp as stamp
    from calendar_tool.register.checks import quote_count as quote_count
    from calendar_tool.register.coverage import TIME_EXPRESSIONS as TIME_EXPRESSIONS
    from calendar_tool.register.coverage import Cover as Cover
    from calendar_tool.register.coverage import Coverage as Coverage
    from calendar_tool.register.coverage import Covered as Covered
    from calendar_tool.register.coverage import Passage as Passage
    from calendar_tool.register.coverage import coverage_of as coverage_of
    from calendar_tool.register.index import Dates as Dates
    from calendar_tool.register.index import OccurrenceKey as OccurrenceKey
    from calendar_tool.register.index import Selected as Selected
    from calendar_tool.register.index import dated as dated
    from calendar_tool.register.index import held_count as held_count
    from calendar_tool.register.index import held_pick as held_pick
    from calendar_tool.register.index import held_select as held_select
    from calendar_tool.register.index import held_used as held_used
    from calendar_tool.register.located import Edit as Edit
    from calendar_tool.register.located import Located as Located
    from calendar_tool.register.quotes import check_quotes as check_quotes
    from calendar_tool.register.quotes import read_sources as read_sources
    from calendar_tool.register.read import parse_located as parse_located
    from calendar_tool.register.read import parse_register as parse_register
    from calendar_tool.register.watch import RegisterFile as RegisterFile
    from calendar_tool.register.watch import RegisterState as RegisterState

# The module each name of the door lives in.
_HOMES: dict[str, str] = {
    **dict.fromkeys(["load", "stamp"], "calendar_tool.register.cache"),
    "quote_count": "calendar_tool.register.checks",
    **dict.fromkeys(["TIME_EXPRESSIONS", "Cover", "Coverage", "Covered", "Passage",
                     "coverage_of"], "calendar_tool.register.coverage"),
    **dict.fromkeys(["Dates", "OccurrenceKey", "Selected", "dated", "held_count", "held_pick",
                     "held_select", "held_used"], "calendar_tool.register.index"),
    **dict.fromkeys(["Edit", "Located"], "calendar_tool.register.located"),
    **dict.fromkeys(["check_quotes", "read_sources"], "calendar_tool.register.quotes"),
    **dict.fromkeys(["parse_located", "parse_register"], "calendar_tool.register.read"),
    **dict.fromkeys(["RegisterFile", "RegisterState"], "calendar_tool.register.watch"),
}


__getattr__ = doors.lazy(__name__, _HOMES, globals())


__all__ = [
    "TIME_EXPRESSIONS",
    "Cover",
    "Coverage",
    "Covered",
    "Dates",
    "Edit",
    "Located",
    "OccurrenceKey",
    "Passage",
    "RegisterFile",
    "RegisterState",
    "Selected",
    "check_quotes",
    "coverage_of",
    "dated",
    "held_count",
    "held_pick",
    "held_select",
    "held_used",
    "load",
    "parse_located",
    "parse_register",
    "quote_count",
    "read_sources",
    "stamp",
]
