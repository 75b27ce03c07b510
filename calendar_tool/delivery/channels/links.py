"""Links from a message back to the register's pages, made as the feeds make theirs
(`wording.page_link`)."""

from __future__ import annotations

from calendar_tool import wording
from calendar_tool.model import Reminder


def entry_link(base: str, r: Reminder) -> str:
    """The page of the reminded entry under `base` (the public URL): the JSON webhook's
    `url`, which a receiver may keep as the entry's address."""
    return wording.page_link(base, r.occurrence.entry.id)


def occurrence_link(base: str, r: Reminder) -> str:
    """Where a person reading a message goes: the page of the occurrence it names
    (`/obligations/<entry>%23N` for one of a series, the entry's page otherwise), the page
    a feed event of it links to."""
    return wording.page_link(base, r.occurrence.id)
