"""Dates follow numbers: an estimate between two known occurrences of a series lies between
them, and expansion up to a day goes on while a known occurrence after the ones it passed
could still start by that day (`list`, `show`, `validate`, the feeds and `series_count`)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import vobject
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import register_text
from calendar_tool import wording
from calendar_tool.model import DatedValue, Kind, KnownOccurrence, Precision, Series
from calendar_tool.register import parse_register
from calendar_tool.timeline import occurrences, series_count, series_dates
from tests.conftest import CLI
from tests.parsers import ical_events, icaljs, vobject_events
from tests.registers import HEADER

# A yearly series whose second and fourth sessions a text dates in one year: the rule alone,
# counted from the second (March 2001), put the third in March 2002, after the fourth.
SESSIONS = """\
  - id: sessions
    title: Annual session
    kind: KIND
    series:
      rule: FREQ=YEARLY
      start: 2000
UNTIL      occurrences:
        2: {date: 2001-03}
        4: {date: 2001-11}
    actors: [commission]
    areas: [trafficking]
    sources: [{doc: D/1, para: '1', quote: a quote}]
"""


def _register(tmp_path: Path, kind: str = "session", until: str = "",
              known: str | None = None) -> Path:
    """The register of SESSIONS (with `until`, or other known occurrences), in a file."""
    text = SESSIONS.replace("KIND", kind).replace("UNTIL", f"      until: {until}\n"
                                                  if until else "")
    if known is not None:
        text = text.replace("        2: {date: 2001-03}\n        4: {date: 2001-11}\n", known)
    path = tmp_path / "r.yaml"
    path.write_text(HEADER + text)
    return path


def _occurrence_lines(stdout: str) -> list[str]:
    """The lines of `show` that give the occurrences."""
    lines = stdout.splitlines()
    start = lines.index("  occurrences:") + 1
    return [line for line in lines[start:] if line.startswith("    no. ")]


def test_show_puts_the_third_session_between_the_second_and_the_fourth(
        cli: CLI, tmp_path: Path) -> None:
    """No. 3 was March 2002, after the known no. 4 (November 2001): it lies between no. 2
    and no. 4, as one unknown day from April to October 2001, and says so."""
    result = cli("show", "sessions", "--today", "2000-06-01", register=_register(tmp_path))
    assert result.exit_code == 0, result.output
    assert _occurrence_lines(result.stdout) == [
        "    no. 1: March 2000 [tentative]  (estimated: annual from no. 1, the series' start "
        "(2000); the month of no. 2 (March 2001))",
        "    no. 2: March 2001  (as written)",
        "    no. 3: between April and October 2001 [tentative]  (estimated: between no. 2 "
        "(March 2001) and no. 4 (November 2001))",
        "    no. 4: November 2001  (as written)",
        "    no. 5: November 2002 [tentative]  (estimated: annual from no. 4 (November 2001))",
        "    no. 6: November 2003 [tentative]  (estimated: annual from no. 4 (November 2001))",
        "    no. 7: November 2004 [tentative]  (estimated: annual from no. 4 (November 2001))",
    ]


def test_due_2001_lists_the_known_fourth_session(cli: CLI, tmp_path: Path) -> None:
    """`list --due 2001` listed only no. 2: expansion stopped at no. 3 (then March 2002),
    never reaching the known no. 4. Now no. 2, 3 and 4 in order, as JSON says them."""
    result = cli("list", "--due", "2001", "--today", "2000-06-01", "--format", "csv",
                 register=_register(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "id,kind,date,title,actor,area,source,due,status,tentative",
        "sessions#2,session,March 2001,Annual session (no. 2),commission,trafficking,"
        "D/1 para. 1,2001-03-31,open,no",
        "sessions#3,session,between April and October 2001 (estimated),Annual session (no. 3),"
        "commission,trafficking,D/1 para. 1,2001-10-31,open,yes",
        "sessions#4,session,November 2001,Annual session (no. 4),commission,trafficking,"
        "D/1 para. 1,2001-11-30,open,no",
    ]


def test_an_estimated_deadline_between_falls_due_between(cli: CLI, tmp_path: Path) -> None:
    """What falls due sorts by its due day: the estimate's is the day before no. 4 starts,
    after no. 2's and before no. 4's; its words say "by a day between"."""
    result = cli("list", "--due", "2001", "--today", "2000-06-01", "--format", "csv",
                 register=_register(tmp_path, kind="deadline"))
    assert result.exit_code == 0, result.output
    assert [line.split(",")[0] + " " + line.split(",")[2] + " " + line.split(",")[7]
            for line in result.stdout.splitlines()[1:]] == [
        "sessions#2 by end of March 2001 2001-03-31",
        "sessions#3 by a day between April and October 2001 (estimated) 2001-10-31",
        "sessions#4 by end of November 2001 2001-11-30",
    ]


def test_until_2001_accepts_a_known_fourth_session(cli: CLI, tmp_path: Path) -> None:
    """With `until: 2001`, validate refused no. 4 ("past the last one that until=2001 allows
    (no. 2)"): no. 3 was an estimate in 2002. It is in 2001 now, so the series reaches no. 4
    and ends there."""
    path = _register(tmp_path, until="2001")
    result = cli("validate", register=path)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: 1 entries, no problems\n"
    shown = cli("show", "sessions", "--today", "2000-06-01", register=path)
    assert [line.split(":")[0] for line in _occurrence_lines(shown.stdout)] == \
        ["    no. 1", "    no. 2", "    no. 3", "    no. 4"]


def test_a_session_known_to_the_year_after_one_in_may_is_in_an_earlier_window(
        cli: CLI, tmp_path: Path) -> None:
    """No. 3 "in 2002" after no. 2 in May 2002 is valid (not wholly before it), and a window
    from 10 January 2002 for 30 days overlaps it; expansion stopped at no. 2, starting past
    the window's end, and `list --upcoming` said "nothing matches"."""
    path = _register(tmp_path, known="        2: {date: 2002-05}\n        3: {date: 2002}\n")
    result = cli("list", "--upcoming", "30d", "--today", "2002-01-10", "--format", "csv",
                 register=path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "sessions#3,session,2002,Annual session (no. 3),commission,trafficking,D/1 para. 1,"
        "2002-12-31,open,no"]


def test_the_feeds_carry_the_third_session_between(cli: CLI, tmp_path: Path) -> None:
    """Read by three parsers that did not write it: no. 3 is a one-day marker on 1 April
    2001, between no. 2 (1 March) and no. 4 (1 November), tentative, titled and described
    as lying between them."""
    out = tmp_path / "feeds"
    assert cli("publish", "--out", str(out), "--today", "2000-06-01",
               register=_register(tmp_path)).exit_code == 0
    data = (out / "all.ics").read_bytes()
    expected = [
        ("sessions#2@calendar-tool", "2001-03-01", "2001-03-02", "CONFIRMED",
         "Annual session (no. 2) – March 2001, dates not given"),
        ("sessions#3@calendar-tool", "2001-04-01", "2001-04-02", "TENTATIVE",
         "Annual session (no. 3) – expected between April and October 2001, dates to be "
         "confirmed"),
        ("sessions#4@calendar-tool", "2001-11-01", "2001-11-02", "CONFIRMED",
         "Annual session (no. 4) – November 2001, dates not given"),
    ]
    for events in (ical_events(data), vobject_events(data)):
        assert [(e["uid"], e["start"], e["end"], e["status"], e["summary"]) for e in events
                if e["uid"][len("sessions#")] in "234"] == expected
    [(_, read)] = icaljs([out / "all.ics"]).items()
    assert [(e["uid"], e["start"], e["summary"]) for e in read["events"]
            if e["uid"][len("sessions#")] in "234"] == [(u, s, t) for u, s, _, _, t in expected]
    [described] = [ev.description.value for ev in vobject.readOne(data.decode()).vevent_list
                   if ev.uid.value == "sessions#3@calendar-tool"]
    assert "Date: estimated: between no. 2 (March 2001) and no. 4 (November 2001).\n" \
        in described


def test_a_generated_register_lists_its_known_third_session(cli: CLI, tmp_path: Path) -> None:
    """The benchmarks' registers have this shape: a series every 5 years from 1990 whose
    third session a text gives as 5–15 May 1993, three years after the start, put the second
    (1995) after it. `list --due 1993` now lists the third, and `show` puts the second
    between the first and the third."""
    path = tmp_path / "generated.yaml"
    path.write_text(register_text(400, seed=3))
    listed = cli("list", "--due", "1993", "--today", "2026-01-01", "--format", "csv",
                 register=path)
    assert listed.exit_code == 0, listed.output
    assert [line for line in listed.stdout.splitlines() if line.startswith("e66#")] == [
        "e66#3,session,5–15 May 1993,Generated commitment number 66 on victims (no. 3),"
        "secretary-general,victims,A/RES/55/59 para. 29; E/CN.15/2001/5 para. 43,1993-05-15,"
        "open,no"]
    shown = cli("show", "e66#2", "--today", "2026-01-01", register=path)
    assert _occurrence_lines(shown.stdout) == [
        "    no. 2: between 1 June 1990 and 4 May 1993 [tentative]  (estimated: between no. 1 "
        "(May 1990, estimated) and no. 3 (5–15 May 1993))"]


# --- series_dates --------------------------------------------------------------------------

def _series(rule: str, start: str, by_rule: bool = False, **known: str) -> Series:
    return Series(rule, DatedValue.parse(start),
                  known=tuple(KnownOccurrence(int(n[1:]), DatedValue.parse(v))
                              for n, v in known.items()),
                  month_from_evidence=not by_rule)


@pytest.mark.parametrize(("series", "expected"), [
    # Days: from the day after the start's days to the day before no. 3's.
    (_series("FREQ=YEARLY", "2000-03-10..2000-03-12", n3="2001-02-20..2001-02-22"),
     [(2, "between 13 March 2000 and 19 February 2001",
       "estimated: between no. 1 (10–12 March 2000, estimated) and no. 3 (20–22 February "
       "2001)")]),
    # Whole years read as years; one year as that year (the rule said 2006).
    (_series("FREQ=YEARLY;INTERVAL=5", "2000", n2="2001", n4="2004"),
     [(3, "between 2002 and 2003", "estimated: between no. 2 (2001) and no. 4 (2004)")]),
    (_series("FREQ=YEARLY;INTERVAL=5", "2000", n2="2001", n4="2003"),
     [(3, "2002", "estimated: between no. 2 (2001) and no. 4 (2003)")]),
    # No day between 2001 and 2002: any day of either. May 2002 then "2002" (which does not
    # lie wholly before it): from May to the end of 2002.
    (_series("FREQ=YEARLY", "2000", n2="2001", n4="2002"),
     [(3, "between 2001 and 2002", "estimated: between no. 2 (2001) and no. 4 (2002)")]),
    (_series("FREQ=YEARLY", "2000", n2="2002-05", n4="2002"),
     [(3, "between May and December 2002",
       "estimated: between no. 2 (May 2002) and no. 4 (2002)")]),
    # The rule's June 2002 lies before no. 5 and stays; June 2003 does not: no. 4 lies after
    # the estimated no. 3.
    (_series("FREQ=YEARLY", "2000", n2="2001", n5="2003-06"),
     [(3, "June 2002", "estimated: annual from no. 2 (2001); the month of no. 5 (June 2003)"),
      (4, "between July 2002 and May 2003",
       "estimated: between no. 3 (June 2002, estimated) and no. 5 (June 2003)")]),
    # Two estimates between the same two known occurrences share the span.
    (_series("FREQ=YEARLY", "2000", n2="2001-03", n5="2001-11"),
     [(3, "between April and October 2001",
       "estimated: between no. 2 (March 2001) and no. 5 (November 2001)"),
      (4, "between April and October 2001",
       "estimated: between no. 2 (March 2001) and no. 5 (November 2001)")]),
    # A monthly rule counted from a year gives the year again, which started before no. 2.
    (_series("FREQ=MONTHLY", "2000", True, n2="2000-02"),
     [(3, "between February and December 2000", "estimated: monthly from no. 2 (February "
       "2000)")]),
    # The start takes the year it gives where the evidence's month (February) would place
    # it after no. 2 "in 2000".
    (_series("FREQ=YEARLY", "2000", n2="2000", n4="2000-02"),
     [(1, "2000", "estimated: annual from no. 1, the series' start (2000)"),
      (3, "between January and February 2000",
       "estimated: between no. 2 (2000) and no. 4 (February 2000)")]),
])
def test_an_estimate_lies_between_the_occurrences_around_it(
        series: Series, expected: list[tuple[int, str, str]]) -> None:
    """Each estimate the rule would place at or past the next known occurrence (or before
    the occurrence before it), with its words and how they say it was found."""
    found = {sd.number: sd for sd in series_dates(series, up_to_number=6)}
    assert [(n, wording.date_text(found[n].value), found[n].derivation(series))
            for n, _, _ in expected] == expected


def test_estimated_deadlines_between_sort_between() -> None:
    """By due day, the estimate falls due after no. 2 and before no. 4."""
    reg = parse_register(HEADER + SESSIONS.replace("KIND", "deadline").replace("UNTIL", ""),
                         "r.yaml")
    [e] = reg.entries
    assert e.kind is Kind.DEADLINE
    found = [(o.id, o.key_date) for o in occurrences(reg, date(2001, 12, 31))]
    assert found == [("sessions#1", date(2000, 3, 31)), ("sessions#2", date(2001, 3, 31)),
                     ("sessions#3", date(2001, 10, 31)), ("sessions#4", date(2001, 11, 30))]


# --- any series ----------------------------------------------------------------------------

def _value(day: date, precision: str, days: int) -> DatedValue:
    """A value of `precision` holding `day` (days: starting on it, `days` more days long)."""
    if precision == "year":
        return DatedValue.year(day.year)
    if precision == "month":
        return DatedValue.month(day.year, day.month)
    end = day + timedelta(days=days)
    return DatedValue(day, end, Precision.DAY, end != day)


_PRECISIONS = st.sampled_from(["year", "month", "day"])


@st.composite
def _any_series(draw: st.DrawFn) -> Series:
    """A series of any rule, start, first number, end and estimates, with up to six known
    occurrences of any precision whose starts do not go back by number (from the start's)."""
    freq = draw(st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "YEARLY;BYMONTH=6",
                                 "MONTHLY;BYDAY=2TU"]))
    interval = draw(st.integers(1, 5))
    start = _value(draw(st.dates(date(1950, 1, 1), date(2000, 12, 31))), draw(_PRECISIONS),
                   draw(st.integers(0, 9)))
    first = draw(st.integers(0, 3))
    numbers = sorted(draw(st.sets(st.integers(first, first + 40), max_size=6)))
    values = sorted((_value(day, draw(_PRECISIONS), draw(st.integers(0, 9)))
                     for day in draw(st.lists(st.dates(start.start, date(2060, 12, 31)),
                                              min_size=len(numbers), max_size=len(numbers)))),
                    key=lambda v: v.start)
    values = [v if v.start >= start.start else start for v in values]
    until = draw(st.one_of(st.none(), st.integers(start.start.year, 2070).map(DatedValue.year)))
    count = draw(st.one_of(st.none(), st.integers(max(numbers, default=first) - first + 1, 60)))
    return Series(f"FREQ={freq}" + (f";INTERVAL={interval}" if interval > 1 else ""), start,
                  first, until, count, tuple(KnownOccurrence(n, v)
                                             for n, v in zip(numbers, values, strict=True)),
                  draw(st.booleans()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series=_any_series(), until=st.dates(date(1950, 1, 1), date(2070, 12, 31)))
def test_dates_follow_numbers_and_the_count_agrees(series: Series, until: date) -> None:
    """For any series whose known occurrences do not go back: no occurrence starts before the
    one before it; an estimate between known ones lies after the one before it and before
    the next known one; up to any day, `series_dates` gives every occurrence starting by it
    (so every known one) and no other; and `series_count` counts as many, and says the
    first day up to which it would give more."""
    top = max((k.number for k in series.known), default=series.first) + 5
    every = list(series_dates(series, up_to_number=top))
    assert [sd.number for sd in every] == list(range(series.first, series.first + len(every)))
    starts = [sd.value.start for sd in every]
    assert starts == sorted(starts)
    for sd in every:
        if sd.before is not None:
            assert sd.value.start <= sd.before.date.start, sd
            assert sd.value.end <= sd.before.date.end, sd
    upto = list(series_dates(series, until))
    assert [sd.number for sd in upto if sd.number <= top] == \
        [sd.number for sd in every if sd.value.start <= until]
    count, more = series_count(series, until)
    assert count == len(upto)
    if more != date.max:
        assert more > until
        assert len(list(series_dates(series, more - timedelta(days=1)))) == count
        assert len(list(series_dates(series, more))) > count
