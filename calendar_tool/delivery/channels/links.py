"""Links from a message back to the register's pages."""

from __future__ import annotations

from urllib.parse import quote

from calendar_tool.model import Reminder


def entry_link(base: str, r: Reminder) -> str:
    """The page of the reminded entry under `base` (the public URL): the JSON webhook's
    `url`, which a receiver may keep as the entry's address."""
    return f"{base}/obligations/{quote(r.occurrence.entry.id, safe='')}"


def occurrence_link(base: str, r: Reminder) -> str:
    """Where a person reading a message goes: the page of the occurrence it names
    (`/obligations/<entry>%23N` for one of a series, the entry's page otherwise)."""
    return f"{base}/obligations/{quote(r.occurrence.id, safe='')}"
