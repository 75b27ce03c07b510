"""The command line: arguments in, text out, one error handler.

Owns: click (the only importer), each command's options and output, the exit codes (one
handler turns the library's errors into one line and the documented code), and the tables of
subscriptions and the ledger (`views`).
May import: every other unit; the commands that need the database, the feeds, the scheduler or
the server import them when they run, so that read-only commands (`validate`, `list`, `show`)
start fast.

Each command parses its options, calls one function of the service (or the register's door)
and formats the result: `reading` (validate, list, show), `publishing` (publish),
`subscribing` (subscribe, remind, deliveries), `running` (run, serve), `curating`
(coverage); `base` holds the group, its typed context and the one error handler.
"""

from __future__ import annotations

# Each module adds its commands to the group when imported.
from calendar_tool.cli import curating, publishing, reading, running, subscribing
from calendar_tool.cli.base import Context, main

__all__ = ["Context", "curating", "main", "publishing", "reading", "running", "subscribing"]
