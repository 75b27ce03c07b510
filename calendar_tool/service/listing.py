"""What the page and the JSON API list: a register's occurrences in a period, answered from
the date index of the register in memory (`register.held_select`: made once per register
read, by range after that)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta

from calendar_tool.model import Occurrence, Register
from calendar_tool.register import held_select
from calendar_tool.timeline import Query


def listed(register: Register, query: Query, today: date) -> list[Occurrence]:
    """`timeline.select`: the occurrences that answer the query, sorted by date."""
    return held_select(register, query, today)


@dataclass(frozen=True)
class Coming:
    """The page's lists: what comes within `soon`, the rest of what comes within `ahead`,
    and what is overdue."""

    soon: list[Occurrence]
    later: list[Occurrence]
    overdue: list[Occurrence]


def coming(register: Register, chosen: Query, today: date, soon: relativedelta,
           ahead: relativedelta) -> Coming:
    """The page's lists for the filters of `chosen`: from today for `soon`, then what else
    `list --upcoming` lists up to `ahead` (events known only to the month or year that
    overlap the window included), and the overdue deadlines."""
    window = dataclasses.replace(chosen, start=today, overlap=True)
    near = listed(register, dataclasses.replace(window, end=today + soon), today)
    ids = {o.id for o in near}
    later = [o for o in listed(register, dataclasses.replace(window, end=today + ahead), today)
             if o.id not in ids]
    overdue = listed(register, dataclasses.replace(chosen, overdue_on=today), today)
    return Coming(near, later, overdue)
