"""Reading `obligations.yaml`: text to a validated `Register`, every problem located.

Owns: YAML (PyYAML/libyaml: the only importer), the validator, the checks across entries,
quote checks against the source texts, the entry cache between commands, the file watch of
long-running processes, and the speed machinery of reading (re-reading only what an edit
touched, the forked half of a cold read).
May import: model, timeline (validating a register computes its dates), errors, files, heap.

The doors:
- `load(path, cache)`: a one-shot command's read (the entry cache kept between commands);
- `RegisterFile(path, cache)`: a long-running process's (`run`, `serve`): read again when the
  file changes, the last good register kept while it has problems;
- `parse(text)`: a register from text (tests, benchmarks);
- `check_quotes`, `read_sources`, `quote_count`: `validate --check-sources`.
"""

from __future__ import annotations

from calendar_tool.register.cache import kept, load_cached
from calendar_tool.register.checks import quote_count
from calendar_tool.register.located import Located
from calendar_tool.register.quotes import check_quotes, read_sources
from calendar_tool.register.read import (
    load_located,
    load_register,
    parse_located,
    parse_register,
    unreadable,
)
from calendar_tool.register.watch import RegisterFile, RegisterState

__all__ = [
    "Located",
    "RegisterFile",
    "RegisterState",
    "check_quotes",
    "kept",
    "load_cached",
    "load_located",
    "load_register",
    "parse_located",
    "parse_register",
    "quote_count",
    "read_sources",
    "unreadable",
]
