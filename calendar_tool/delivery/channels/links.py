"""Links from a message back to the register's pages."""

from __future__ import annotations

from urllib.parse import quote

from calendar_tool.model import Reminder


def entry_link(base: str, r: Reminder) -> str:
    """The page of the reminded entry under `base` (the public URL)."""
    return f"{base}/obligations/{quote(r.occurrence.entry.id, safe='')}"
