"""Small registers written for one test: a header and entries dated where the test needs."""

from __future__ import annotations

from pathlib import Path

from calendar_tool.model import Register
from calendar_tool.register import load, parse_register

HEADER = """\
register:
  title: Test register
  reminders: [P30D, P7D, P0D]
areas:
  trafficking: {title: Trafficking in persons}
  victims: {title: Victims of crime}
actors:
  member-states: {title: Member States}
  commission: {title: Commission}
documents:
  D/1: {title: A document, url: "https://example.org/d1"}
entries:
"""


def entry(entry_id: str, date: str, kind: str = "deadline", area: str = "trafficking",
          actor: str = "member-states", extra: str = "") -> str:
    """One entry's YAML; `extra` adds indented fields such as `status: met`."""
    lines = [
        f"  - id: {entry_id}",
        f"    title: Title of {entry_id}",
        f"    kind: {kind}",
        f"    date: {date}",
        f"    actors: [{actor}]",
        f"    areas: [{area}]",
        "    sources: [{doc: D/1, para: '1', quote: a quote}]",
    ]
    lines += [f"    {line}" for line in extra.splitlines() if line.strip()]
    return "\n".join(lines) + "\n"


def register_of(*entries: str) -> Register:
    return parse_register(HEADER + "".join(entries), "test.yaml")


def load_register(path: Path) -> Register:
    """The register in the file at `path`, read as a one-shot command reads it (no cache)."""
    return load(path, None).register
