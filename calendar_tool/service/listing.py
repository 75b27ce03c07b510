"""What the page and the JSON API list: a register's occurrences in a period, answered from
the date index of the register in memory (`register.held_pick`: made once per register
read, by range after that). The page's lists and timeline count what they would show before
making any of it, and make only the first `most`: a register of 100,000 entries has tens of
thousands of occurrences in a year, more than a page can show or a person read."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta

from calendar_tool.model import Kind, Occurrence, Register
from calendar_tool.register import Selected, held_count, held_pick, held_select, held_used
from calendar_tool.timeline import Query


def listed(register: Register, query: Query, today: date) -> list[Occurrence]:
    """`timeline.select`: the occurrences that answer the query, sorted by date."""
    return held_select(register, query, today)


def listed_lazily(register: Register, query: Query, today: date, size: int = 500
                  ) -> Iterator[Occurrence]:
    """`listed`, each occurrence made a batch of `size` at a time as it is asked for: every
    occurrence of a large register is hundreds of thousands."""
    for batch in held_pick(register, query, today).batches(size):
        yield from batch


@dataclass(frozen=True)
class Shown:
    """A list as the page shows it: its first `len(items)` occurrences, of `total`."""

    items: list[Occurrence]
    total: int


def _shown(found: Selected, most: int) -> Shown:
    return Shown(found.first(most), len(found))


@dataclass(frozen=True)
class Coming:
    """The page's lists: what comes within `soon`, the rest of what comes within `ahead`,
    and what is overdue."""

    soon: Shown
    later: Shown
    overdue: Shown


def coming(register: Register, chosen: Query, today: date, soon: relativedelta,
           ahead: relativedelta, most: int) -> Coming:
    """The page's lists for the filters of `chosen`: from today for `soon`, then what else
    `list --upcoming` lists up to `ahead` (events known only to the month or year that
    overlap the window included), and the overdue deadlines; the first `most` of each."""
    window = dataclasses.replace(chosen, start=today, overlap=True)
    near = held_pick(register, dataclasses.replace(window, end=today + soon), today)
    later = held_pick(register, dataclasses.replace(window, end=today + ahead), today)
    overdue = held_pick(register, dataclasses.replace(chosen, overdue_on=today), today)
    return Coming(_shown(near, most), _shown(later.without(near.keys()), most),
                  _shown(overdue, most))


@dataclass(frozen=True)
class Drawn:
    """What the timeline draws: `occurrences` (none when they are more than it draws), whether
    they are the whole register with the selection among them (`whole`: the rest dimmed), and
    how many dated occurrences it draws or would draw (`total`)."""

    occurrences: list[Occurrence]
    whole: bool
    total: int


def drawn(register: Register, chosen: Query | None, today: date, most: int) -> Drawn:
    """The dated occurrences up to the feeds' horizon for the timeline: the whole register's
    when they are at most `most`, else the selection's (`chosen`) when those are, else none."""
    everything = held_count(register, Query(), today)
    if everything <= most:
        return Drawn(selected(register, Query(), today), chosen is not None, everything)
    if chosen is None:
        return Drawn([], False, everything)
    mine = held_count(register, chosen, today)
    return Drawn(selected(register, chosen, today) if mine <= most else [], False, mine)


def selected(register: Register, chosen: Query, today: date) -> list[Occurrence]:
    """The dated occurrences up to the feeds' horizon that the filters of `chosen` take, in
    feed order: the events of the feed of that selection (`feeds.selected_feed`)."""
    found = held_pick(register, chosen.filters(), today)
    return found.first(found.dated)


def selection_count(register: Register, chosen: Query, today: date) -> int:
    """How many dated occurrences up to the feeds' horizon the filters of `chosen` select:
    the events of its feed (`selected`)."""
    return held_count(register, chosen, today)


def used(register: Register, today: date) -> tuple[set[str], set[str], set[Kind]]:
    """The areas, actors and kinds some entry uses: what the page offers to filter by."""
    return held_used(register, today)
