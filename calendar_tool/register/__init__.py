"""Reading `obligations.yaml`: text to a validated `Register`, every problem located.

Owns: PyYAML (libyaml's composer: the only importer), the validator, the checks across
entries, quote checks against the source texts, the entry cache between commands, the file
watch of long-running processes, and the speed machinery of reading (re-reading only what an
edit touched, the dates derived from each entry carried from one read to the next, the forked
half of a cold read).
May import: model, timeline (validating a register computes its dates), errors, files.

The doors:
- `load(path, cache)`: a one-shot command's read, with the entry cache of `cache`;
- `RegisterFile(path, cache)`: a long-running process's (`run`, `serve`): read again when the
  file changes, the last good register kept while it has problems, and how each reading
  differs from the one before (`Edit`);
- `parse_register(text)` and `parse_located(text)`: a register from text (tests,
  benchmarks);
- `check_quotes`, `read_sources`, `quote_count`: `validate --check-sources`;
- `coverage_of`: the dated passages of the source texts and what covers each (`coverage`).
"""

from __future__ import annotations

from calendar_tool.register.cache import load
from calendar_tool.register.checks import quote_count
from calendar_tool.register.coverage import (
    TIME_EXPRESSIONS,
    Cover,
    Coverage,
    Covered,
    Passage,
    coverage_of,
)
from calendar_tool.register.located import Edit, Located
from calendar_tool.register.quotes import check_quotes, read_sources
from calendar_tool.register.read import parse_located, parse_register
from calendar_tool.register.watch import RegisterFile, RegisterState

__all__ = [
    "TIME_EXPRESSIONS",
    "Cover",
    "Coverage",
    "Covered",
    "Edit",
    "Located",
    "Passage",
    "RegisterFile",
    "RegisterState",
    "check_quotes",
    "coverage_of",
    "load",
    "parse_located",
    "parse_register",
    "quote_count",
    "read_sources",
]
