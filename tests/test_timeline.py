"""Series, relative dates and period queries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.generate import register_text
from calendar_tool import wording
from calendar_tool.model import DatedValue, Kind, Register, Series, State
from calendar_tool.register import parse_located, parse_register
from calendar_tool.timeline import (
    EntryDates,
    Query,
    find,
    occurrences,
    parse_period,
    parse_span,
    resolver_for,
    select,
    series_count,
    series_dates,
    unknown_terms,
)
from tests.paths import SAMPLE

TODAY = date(2026, 11, 22)


def _series(rule: str, start: str, **known: str) -> Series:
    from calendar_tool.model import KnownOccurrence

    return Series(rule, DatedValue.parse(start),
                  known=tuple(KnownOccurrence(int(n[1:]), DatedValue.parse(v))
                              for n, v in known.items()))


def test_known_occurrence_moves_the_estimates_after_it() -> None:
    """A congress postponed a year (2020 to 2021) moves the next estimate to 2026, not 2025;
    the estimates take the month the known congress met in, never its days."""
    s = _series("FREQ=YEARLY;INTERVAL=5", "1955", n14="2021-03-07..2021-03-12")
    got = [(d.number, wording.date_text(d.value), d.known is not None)
           for d in series_dates(s, until=date(2031, 12, 31))][12:]
    assert got == [(13, "March 2015", False), (14, "7–12 March 2021", True),
                   (15, "March 2026", False), (16, "March 2031", False)]


def test_a_series_can_keep_its_estimates_to_the_rule() -> None:
    """`estimate: rule`: the estimates keep the precision of the series' start (the year)."""
    s = replace(_series("FREQ=YEARLY;INTERVAL=5", "1955", n14="2021-03-07..2021-03-12"),
                month_from_evidence=False)
    got = [(d.number, wording.date_text(d.value), d.known is not None)
           for d in series_dates(s, until=date(2031, 12, 31))][12:]
    assert got == [(13, "2015", False), (14, "7–12 March 2021", True), (15, "2026", False),
                   (16, "2031", False)]


@pytest.mark.parametrize(("known", "expected"), [
    # One dated occurrence gives its month to every estimate, before and after it.
    ({"n3": "1996-04"}, ["April 1994", "April 1995", "April 1996", "April 1997"]),
    # Dated occurrences that disagree: the latest before an estimate gives its month (the
    # earliest one, to the estimates before them all).
    ({"n2": "1995-04-10..1995-04-20", "n3": "1996-09"},
     ["April 1994", "10–20 April 1995", "September 1996", "September 1997"]),
    # Only years known: the estimates stay years; no day is ever invented.
    ({"n2": "1995"}, ["1994", "1995", "1996", "1997"]),
    # Three that disagree: each estimate between them takes the month of the one before it.
    ({"n2": "1995-04", "n4": "1997-09-01..1997-09-05", "n6": "1999-06"},
     ["April 1994", "April 1995", "April 1996", "1–5 September 1997", "September 1998",
      "June 1999", "June 2000"]),
])
def test_estimates_are_as_precise_as_the_evidence(known: dict[str, str],
                                                   expected: list[str]) -> None:
    """An estimate takes the month its series' dated occurrences give, and no more."""
    s = _series("FREQ=YEARLY", "1994", **known)
    until = date(1993 + len(expected), 12, 31)
    assert [wording.date_text(d.value) for d in series_dates(s, until=until)] == expected


def test_show_says_how_an_estimate_was_made(sample: Register) -> None:
    """The derivation of an estimate names the rhythm, what it counts from, and the month."""
    found = {o.id: o for o in occurrences(sample, date(2006, 12, 31))}
    assert found["commission-sessions#11"].derivation == \
        "estimated: annual from no. 10 (8–17 May 2001)"
    assert found["commission-sessions#2"].derivation == \
        "estimated: annual from no. 1, the series' start (1992); the month of no. 10 " \
        "(8–17 May 2001)"
    assert found["congresses#11"].derivation == \
        "estimated: every 5 years from no. 1, the series' start (1955)"


def test_series_end_by_until_and_count() -> None:
    """`until` and `count` both end a series."""
    until = Series("FREQ=YEARLY", DatedValue.parse("1992"), until=DatedValue.parse("1995"))
    count = Series("FREQ=YEARLY", DatedValue.parse("1992"), first=5, count=2)
    assert [wording.date_text(d.value) for d in series_dates(until, until=date(2100, 1, 1))] == \
        ["1992", "1993", "1994", "1995"]
    assert [(d.number, wording.date_text(d.value))
            for d in series_dates(count, until=date(2100, 1, 1))] == \
        [(5, "1992"), (6, "1993")]


def test_day_range_series_keeps_its_length_and_month_ends() -> None:
    """A three-day meeting on the first days of January recurs monthly with the same length:
    the rule names the day (BYMONTHDAY=1), so the estimates keep it."""
    s = Series("FREQ=MONTHLY;BYMONTHDAY=1", DatedValue.parse("2001-01-01..2001-01-03"))
    assert [wording.date_text(d.value) for d in series_dates(s, until=date(2001, 3, 31))] == \
        ["1–3 January 2001", "1–3 February 2001", "1–3 March 2001"]


@pytest.mark.parametrize(("rule", "by_rule", "expected"), [
    # A rhythm that names no day: the start's days again are no text's, only their month.
    ("FREQ=MONTHLY", False, ["10–12 January 2001", "February 2001", "March 2001"]),
    ("FREQ=YEARLY;INTERVAL=1", False, ["10–12 January 2001", "January 2002", "January 2003"]),
    # `estimate: rule` keeps the rule's precision, the start's.
    ("FREQ=MONTHLY", True, ["10–12 January 2001", "10–12 February 2001", "10–12 March 2001"]),
    # Days the rule names: a weekly meeting, one on the second Tuesday.
    ("FREQ=WEEKLY;INTERVAL=4", False,
     ["10–12 January 2001", "7–9 February 2001", "7–9 March 2001"]),
    ("FREQ=MONTHLY;BYDAY=2WE", False,
     ["10–12 January 2001", "14–16 February 2001", "14–16 March 2001"]),
])
def test_estimates_of_days_are_months_unless_the_rule_names_days(
        rule: str, by_rule: bool, expected: list[str]) -> None:
    """DESIGN: an estimate is as precise as its evidence, "the month the dated occurrences
    agree on, else the year". A start of days gives the first occurrence's days; the rule
    repeating them gives a day only where it names one."""
    s = Series(rule, DatedValue.parse("2001-01-10..2001-01-12"), month_from_evidence=not by_rule)
    got = [wording.date_text(d.value) for d in series_dates(s, until=date(2003, 3, 31))][:3]
    assert got == expected


@pytest.mark.parametrize(("known", "expected"), [
    # A year a text gives: the estimates after it are years, not the start's days placed on
    # 1 January (they read "1–3 January 2003" before).
    ("2002", ["2002", "2003", "2004"]),
    # A month: months after it, not the start's days placed on the 1st.
    ("2002-05", ["May 2002", "May 2003", "May 2004"]),
    # Days: the month of the day the rule gives from it, not days no text gives.
    ("2002-05-20..2002-05-29", ["20–29 May 2002", "May 2003", "May 2004"]),
])
def test_estimates_after_a_known_occurrence_are_no_more_precise_than_it(
        known: str, expected: list[str]) -> None:
    """A series whose start gives days (a three-day meeting) and whose third occurrence a
    text gives: the estimates count from it and are no more precise than it, nor than a
    month (DESIGN: "the month the dated occurrences agree on, else the year")."""
    s = _series("FREQ=YEARLY", "2000-03-10..2000-03-12", n3=known)
    got = [(d.number, wording.date_text(d.value), d.known is not None)
           for d in series_dates(s, until=date(2004, 12, 31))]
    assert got == [(1, "10–12 March 2000", False), (2, "March 2001", False),
                   (3, expected[0], True), (4, expected[1], False), (5, expected[2], False)]


@pytest.mark.parametrize(("known", "expected"), [
    ("2002", ["2002", "2003", "2004"]),
    ("2002-05", ["May 2002", "May 2003", "May 2004"]),
    # The start's length from the day the known occurrence began, as the rule gives.
    ("2002-05-20..2002-05-29", ["20–29 May 2002", "20–22 May 2003", "20–22 May 2004"]),
])
def test_estimates_by_rule_keep_the_days_of_the_start(known: str, expected: list[str]) -> None:
    """With `estimate: rule`, estimates keep the start's days where the rule gives days,
    and are no more precise than a known occurrence after which they count."""
    s = replace(_series("FREQ=YEARLY", "2000-03-10..2000-03-12", n3=known),
                month_from_evidence=False)
    got = [(d.number, wording.date_text(d.value), d.known is not None)
           for d in series_dates(s, until=date(2004, 12, 31))]
    assert got == [(1, "10–12 March 2000", False), (2, "10–12 March 2001", False),
                   (3, expected[0], True), (4, expected[1], False), (5, expected[2], False)]


def test_unknown_filter_values_of_a_register_that_declares_none(sample: Register) -> None:
    """`list`'s, the API's and a subscription's filters name what the register declares, or
    say it declares none (rather than "declares: " and nothing)."""
    assert unknown_terms(sample, ["nope"], []) == [
        ("area", "unknown area 'nope'; the register declares: governance, trafficking, victims")]
    bare = replace(sample, areas={}, actors={})
    assert unknown_terms(bare, ["nope"], ["who"]) == [
        ("area", "unknown area 'nope'; the register declares no areas"),
        ("actor", "unknown actor 'who'; the register declares no actors")]


def test_sample_relative_dates_resolve_through_anchors(sample: Register) -> None:
    """Six weeks before the congress, and at the Commission's tenth session."""
    by_id = {o.id: o for o in occurrences(sample, date(2006, 1, 1))}
    doc = by_id["intersessional-document"]
    assert (wording.when(doc), doc.tentative) == ("by 28 February 2000", False)
    assert doc.derivation == "6 weeks before the start of tenth-congress (10–17 April 2000)"
    report = by_id["report-tenth-session"]
    assert wording.when(report) == "by 8 May 2001"
    assert report.derivation == "at the start of commission-sessions#10 (8–17 May 2001)"


def test_relative_to_an_estimated_occurrence_is_tentative() -> None:
    """A report to a session that is only estimated is itself tentative."""
    reg = parse_register(_REG.format(date="{from: s#3, offset: -P1M}"))
    o = next(o for o in occurrences(reg, date(2000, 1, 1)) if o.id == "r")
    assert (wording.when(o), o.tentative) == ("by end of November 1994", True)


_REG = """
register: {{title: T}}
areas: {{a: {{title: A}}}}
actors: {{b: {{title: B}}}}
documents: {{D: {{title: D}}}}
entries:
  - {{id: s, title: S, kind: session, series: {{rule: FREQ=YEARLY, start: 1992-12}},
     actors: [b], areas: [a], sources: [{{doc: D, para: "1", quote: q}}]}}
  - {{id: r, title: R, kind: report, date: {date}, actors: [b], areas: [a],
     sources: [{{doc: D, para: "1", quote: q}}]}}
"""


def test_due_2005_lists_targets_sessions_and_congress(real: Register) -> None:
    """`--due 2005` lists the 2005 congress and Commission session with the 2005 targets."""
    start, end = parse_period("2005")
    ids = [o.id for o in select(real, Query(start=start, end=end), TODAY)]
    assert "congresses#11" in ids
    assert "commission-sessions#14" in ids
    assert "vienna-trafficking-smuggling-2005" in ids
    assert "vienna-firearms-2005" in ids
    assert "vienna-victims-2002" not in ids


def test_events_match_on_overlap_deadlines_on_due_day(sample: Register) -> None:
    """A day inside a congress finds it; a day inside a year target's year does not."""
    mid = Query(start=date(2000, 4, 12), end=date(2000, 4, 12))
    assert [o.id for o in select(sample, mid, TODAY)] == ["tenth-congress"]
    june = Query(start=date(2005, 6, 1), end=date(2005, 6, 30))
    assert [o.id for o in select(sample, june, TODAY)] == []


def test_overdue_is_open_and_past_due(sample: Register) -> None:
    """Overdue lists open deadlines past their due day, not missed or undated ones."""
    found = select(sample, Query(overdue_on=date(2003, 1, 1)), TODAY)
    assert [o.id for o in found] == ["intersessional-document", "report-tenth-session",
                                     "tenth-session-month", "victims-review"]


def test_filters_by_area_kind_status(sample: Register) -> None:
    """Area, kind and status filters combine."""
    q = Query(areas=frozenset({"victims"}), kinds=frozenset({Kind.STANDING}),
              states=frozenset({State.WITHDRAWN}))
    found = select(sample, q, TODAY)
    assert [(o.id, wording.when(o)) for o in found] == [("review-practices", "standing")]


def test_find_one_occurrence(sample: Register) -> None:
    """`find` takes an occurrence id and returns just that occurrence."""
    [o] = find(sample, "commission-sessions#10", TODAY)
    assert (o.id, wording.when(o), o.location) == ("commission-sessions#10", "8–17 May 2001",
                                                  "Vienna")
    assert find(sample, "commission-sessions#0", TODAY) == []
    assert find(sample, "nothing", TODAY) == []


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2005", date(2005, 1, 1), date(2005, 12, 31)),
        ("2005-06", date(2005, 6, 1), date(2005, 6, 30)),
        ("2005-06-30", date(2005, 6, 30), date(2005, 6, 30)),
        ("2001..2005", date(2001, 1, 1), date(2005, 12, 31)),
        ("2001-05..2001-09-05", date(2001, 5, 1), date(2001, 9, 5)),
    ],
)
def test_parse_period(text: str, start: date, end: date) -> None:
    """A period of any precision gives its first and last day."""
    assert parse_period(text) == (start, end)


def test_parse_span() -> None:
    """Spans for --upcoming read as days, weeks, months or years."""
    assert date(2001, 1, 31) + parse_span("1m") == date(2001, 2, 28)
    assert date(2001, 1, 1) + parse_span("90d") == date(2001, 4, 1)
    assert date(2001, 1, 1) + parse_span("P2W") == date(2001, 1, 15)
    with pytest.raises(ValueError):
        parse_span("soon")


def test_upcoming_window_takes_overlapping_estimates(real: Register) -> None:
    """A rolling year from 22 November 2026 lists the sessions whose estimated period overlaps
    it: the General Assembly's of 2026 and 2027 and the Commission's expected in May 2027 (its
    session expected in May 2026 is past)."""
    q = Query(start=TODAY, end=date(2027, 11, 22), overlap=True)
    assert [o.id for o in select(real, q, TODAY)] == [
        "general-assembly-sessions#81", "general-assembly-sessions#82", "commission-sessions#36"]


@pytest.mark.parametrize("rule", [
    "FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=5", "FREQ=MONTHLY", "FREQ=MONTHLY;INTERVAL=7",
    "FREQ=WEEKLY;INTERVAL=2", "FREQ=DAILY;INTERVAL=10",
])
@pytest.mark.parametrize("anchor", [
    date(2000, 2, 29), date(2001, 1, 31), date(1999, 8, 30), date(2004, 12, 31),
    date(1992, 4, 1),
])
def test_plain_rules_give_dateutils_dates(rule: str, anchor: date) -> None:
    """The closed form for FREQ+INTERVAL rules matches dateutil's iterator date for date,
    including the dates RFC 5545 skips (29 February, 31 April)."""
    from itertools import islice

    from calendar_tool.timeline import _PLAIN_RULE, _dates_after

    assert _PLAIN_RULE.match(rule)
    start = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)
    expected = [d.date() for d in islice(rrulestr(rule, dtstart=start), 1, 61)]
    assert list(islice(_dates_after(rule, anchor), 60)) == expected


def test_plain_rule_stops_at_the_last_representable_year() -> None:
    from calendar_tool.timeline import _dates_after

    assert list(_dates_after("FREQ=YEARLY;INTERVAL=3", date(9990, 6, 1))) == [
        date(9993, 6, 1), date(9996, 6, 1), date(9999, 6, 1)]


def test_other_rules_still_go_through_dateutil() -> None:
    from itertools import islice

    from calendar_tool.timeline import _dates_after

    got = list(islice(_dates_after("FREQ=YEARLY;BYMONTH=4;BYDAY=2MO", date(2020, 1, 1)), 3))
    assert got == [date(2020, 4, 13), date(2021, 4, 12), date(2022, 4, 11)]


def test_a_reused_entry_resolves_from_its_anchors_new_date() -> None:
    """The resolved date kept for an entry object (`EntryDates`, carried from one read to
    the next) is used only with the anchor date it came from: moving the congress moves the
    document due six weeks before it."""
    text = SAMPLE.read_text()
    dates = EntryDates()
    first = parse_located(text, "sample.yaml", dates=dates)
    doc = first.register.entry("intersessional-document")
    assert doc is not None
    before = resolver_for(first.register).resolve(doc)
    assert before is not None and before.value is not None
    assert before.value.start == date(2000, 2, 28)
    moved = text.replace("date: 2000-04-10..2000-04-17", "date: 2000-04-11..2000-04-18")
    again = parse_located(moved, "sample.yaml", known=first.reusable(), dates=dates).register
    assert again.entry("intersessional-document") is doc
    assert dates.of(doc)[1] is not None  # what the first read resolved is kept
    resolved = resolver_for(again).resolve(doc)
    assert resolved is not None and resolved.value is not None
    assert (resolved.value.start, resolved.value.end) == (date(2000, 2, 29), date(2000, 2, 29))


def test_select_passes_over_entries_outside_the_period_and_finds_the_same(
        sample: Register, real: Register) -> None:
    """What `select` passes over without making an occurrence is what `matches` would have
    refused: the same occurrences, in the same order, as matching every occurrence."""
    from bench.generate import register_text
    from calendar_tool.timeline import Query, matches, occurrences

    generated = parse_register(register_text(600), "generated.yaml")
    queries = [Query(start=date(y, 1, 1), end=date(y, 12, 31)) for y in range(1995, 2036)]
    queries += [Query(start=date(y, m, 1), end=date(y, m, 28)) for y in (2000, 2005, 2027)
                for m in range(1, 13)]
    queries += [Query(start=date(2005, 3, 15)), Query(end=date(2001, 6, 30)),
                Query(start=date(2026, 11, 22), end=date(2027, 11, 22), overlap=True),
                Query(start=date(2000, 4, 12), end=date(2000, 4, 12)),
                Query(overdue_on=date(2003, 1, 1)), Query(), Query(kinds=frozenset({Kind.SESSION}))]
    found = 0
    for reg in (sample, real, generated):
        for q in queries:
            everything = occurrences(reg, q.horizon(TODAY))
            expected = [o.id for o in everything if matches(o, q)]
            assert [o.id for o in select(reg, q, TODAY)] == expected, q
            found += len(expected)
    assert found > 1000  # the queries do find occurrences, in all three registers


# Every series of the sample and of a generated register: known occurrences that move the
# estimates after them, a series' own end, month and year precision.
_ALL_SERIES = [e.series for text in (SAMPLE.read_text(), register_text(300))
               for e in parse_register(text).entries if e.series is not None]


@settings(max_examples=40, deadline=None)
@given(until=st.dates(min_value=date(1950, 1, 1), max_value=date(2080, 12, 31)))
def test_series_count_is_how_many_dates_a_horizon_takes_and_where_the_next_starts(
        until: date) -> None:
    """`series_count`, which tells a later horizon whether it brings a series anything new:
    as many occurrences as `series_dates` gives up to the day, and the start of the first
    it stops at (the series' next past the day; date.max when it ends before one)."""
    for series in _ALL_SERIES:
        upto = list(series_dates(series, until))
        past = next((sd.value.start for sd in series_dates(series) if sd.value.start > until),
                    date.max)
        assert series_count(series, until) == (len(upto), past)
