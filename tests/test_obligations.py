"""The curated register: the key commitments with their exact dates and sources."""

from __future__ import annotations

from datetime import date

import pytest

from calendar_tool import wording
from calendar_tool.model import Occurrence, Register
from calendar_tool.timeline import Query, find, parse_period, select

TODAY = date(2026, 11, 22)


def _one(reg: Register, ref: str) -> Occurrence:
    [o] = find(reg, ref, TODAY)
    return o


def _cites(o: Occurrence) -> set[tuple[str, str]]:
    return {(s.doc, s.para) for s in o.sources}


@pytest.mark.parametrize(
    ("ref", "when", "due", "cites"),
    [
        ("vienna-victims-2002", "by end of 2002", date(2002, 12, 31), {("A/RES/55/59", "27")}),
        ("vienna-trafficking-smuggling-2005", "by end of 2005", date(2005, 12, 31),
         {("A/RES/55/59", "14")}),
        ("vienna-firearms-2005", "by end of 2005", date(2005, 12, 31), {("A/RES/55/59", "15")}),
        ("commission-sessions#10", "May 2001", date(2001, 5, 31),
         {("CCPCJ-2001-revised-plans", "2")}),
        ("intersessional-meeting-2001", "3–5 September 2001", date(2001, 9, 5),
         {("CCPCJ-2001-revised-plans", "3")}),
        ("revised-plans-document", "by 23 July 2001", date(2001, 7, 23),
         {("CCPCJ-2001-revised-plans", "3")}),
        ("commission-10-resumed", "6–7 September 2001", date(2001, 9, 7),
         {("CCPCJ-2001-revised-plans", "3")}),
        ("res-55-64-report-ga-56", "by end of 2001", date(2001, 12, 31), {("A/RES/55/64", "18")}),
        ("congresses#10", "10–17 April 2000", date(2000, 4, 17), {("A/RES/55/59", "preamble")}),
        ("congresses#11", "18–25 April 2005", date(2005, 4, 25),
         {("A/RES/60/177", "preamble")}),
        ("plans-of-action-period", "2001–2005", date(2005, 12, 31), set()),
    ],
)
def test_key_entries(real: Register, ref: str, when: str, due: date,
                     cites: set[tuple[str, str]]) -> None:
    """Each key commitment has its exact date, precision kept, and cites its paragraph."""
    o = _one(real, ref)
    assert o.when is not None
    assert (wording.when(o), o.when.due) == (when, due)
    assert cites <= _cites(o)


def test_series_rhythms_cite_the_statement_of_principles(real: Register) -> None:
    """Congresses every five years (46/152 annex 30(a)); Commission sessions yearly (25)."""
    congresses = real.entry("congresses")
    sessions = real.entry("commission-sessions")
    assert congresses is not None and congresses.series is not None
    assert sessions is not None and sessions.series is not None
    assert congresses.series.rule == "FREQ=YEARLY;INTERVAL=5"
    assert sessions.series.rule == "FREQ=YEARLY"
    assert ("A/RES/46/152", "30(a)") in {(s.doc, s.para) for s in congresses.sources}
    assert ("A/RES/46/152", "25") in {(s.doc, s.para) for s in sessions.sources}


def test_inferred_dates_derive_through_series(real: Register) -> None:
    """The document six weeks before the meeting and the GA report are derived, not typed."""
    doc = _one(real, "revised-plans-document")
    assert doc.derivation == ("6 weeks before the start of intersessional-meeting-2001 "
                              "(3–5 September 2001)")
    report = _one(real, "res-55-64-report-ga-56")
    assert report.tentative is True
    assert report.derivation.startswith("at the start of general-assembly-sessions#56 (2001, "
                                        "tentative)")


def test_due_2005_answers_the_focal_point(real: Register) -> None:
    """Everything due in 2005: the targets, the Bangkok congress, the Commission session."""
    start, end = parse_period("2005")
    ids = {o.id for o in select(real, Query(start=start, end=end), TODAY)}
    assert {"vienna-trafficking-smuggling-2005", "vienna-firearms-2005", "congresses#11",
            "commission-sessions#14", "plans-of-action-period"} <= ids


def test_trafficking_area(real: Register) -> None:
    """`--area trafficking` lists the trafficking commitments, each with its source."""
    found = select(real, Query(areas=frozenset({"trafficking"})), TODAY)
    assert [o.id for o in found] == [
        "ga-resolution-55-25-adopted", "palermo-convention-signature",
        "poa-trafficking-global-forum", "poa-toc-ratification", "ga-resolution-59-156-adopted",
        "vienna-trafficking-smuggling-2005",
        # On no calendar day, after the dated ones: undated urgent commitments, the pending
        # fortieth ratification and the entry into force counted from it.
        "poa-toc-implementation-as-expeditiously-as-possible",
        "poa-toc-sign-ratify-as-soon-as-possible", "res-59-156-sg-report-organs",
        "trafficking-protocol-entry-into-force", "trafficking-protocol-fortieth-ratification"]
    assert all(o.sources for o in found)


def test_every_entry_has_title_kind_actor_area_and_source(real: Register) -> None:
    """No entry lacks the fields a focal point needs."""
    for e in real.entries:
        assert e.title and e.actors and e.areas and e.sources, e.id
