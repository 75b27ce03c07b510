"""What the format says about what is missing: an undated urgent commitment (`urgency`), an
event awaiting its date (`pending`) and what counts from it, a status citing its source, a
document's date with the passage giving it, and reviewed passages: validation, `list`,
`show`, JSON, feeds, reminders and pages (tests/fixtures/curation.yaml)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from dateutil.relativedelta import relativedelta

from calendar_tool import store
from calendar_tool.clock import FixedClock
from calendar_tool.delivery.reminders import occurrence_reminders
from calendar_tool.errors import RegisterInvalid
from calendar_tool.model import Format, Register, Subscription
from calendar_tool.register import check_quotes, parse_located, parse_register, read_sources
from calendar_tool.timeline import find, occurrences, urgent_older_than
from calendar_tool.web import server
from tests.conftest import CLI
from tests.parsers import ical_events
from tests.paths import FIXTURES

CURATION = FIXTURES / "curation.yaml"
TEXTS = FIXTURES / "texts"
TEXT = CURATION.read_text()
PENDING = "pending: the deposit of the twentieth instrument of ratification"
# The admin records the awaited date: `date:` in place of `pending:`.
RECORDED = TEXT.replace(PENDING, "date: 2003-01-10")
TODAY = date(2026, 1, 1)


def _reg(text: str = TEXT) -> Register:
    return parse_register(text, "curation.yaml")


def _problems(text: str) -> list[str]:
    with pytest.raises(RegisterInvalid) as info:
        _reg(text)
    return [str(p) for p in info.value.problems]


# --- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (PENDING, f"{PENDING}\n    date: 2003",
         "curation.yaml:48:14: entries[2].pending: give either date or pending, not both: "
         "recording the date replaces pending"),
        ("kind: event\n    pending", "kind: target\n    pending",
         "curation.yaml:48:14: entries[2].pending: pending is for an event or session, not a "
         "target"),
        ("kind: target\n    urgency", "kind: event\n    urgency",
         "curation.yaml:40:14: entries[1].urgency: urgency is for a deadline, target or report, "
         "not an event"),
        ("urgency: as soon as possible", "urgency: as soon as possible\n    date: 2002",
         "curation.yaml:40:14: entries[1].urgency: give either date or urgency, not both"),
        ("    date: 2001-06-15\n", "",
         "curation.yaml:39:14: entries[1].urgency: an urgent commitment counts from the date of "
         "the text that made it, and none of its sources' documents has a date: give that "
         "document a date"),
        ("from: twentieth-ratification", "from: ratify-asap",
         "curation.yaml:56:11: entries[3].date.from: 'ratify-asap' is an undated urgent "
         "commitment, with no date to count from"),
        ("    reason: History, recalled; no commitment.\n", "    reasons: History.\n",
         "curation.yaml:65:5: reviewed[0].reasons: unknown field 'reasons'; did you mean "
         "'reason'? (allowed: doc, para, quote, reason, file)"),
        ("dated_by: {doc: R/1,", "dated_by: {doc: R/2,",
         "curation.yaml:21:21: documents.R/1.dated_by.doc: 'R/2' is not declared under "
         "documents; did you mean 'R/1'?"),
        ("  - doc: R/1\n    para: preamble", "  - doc: R/9\n    para: preamble",
         "curation.yaml:62:10: reviewed[0].doc: 'R/9' is not declared under documents; did "
         "you mean 'R/1'?"),
        ("sources: [{doc: R/1, para: \"6\"", "sources: [{doc: R/7, para: \"6\"",
         "curation.yaml:34:23: entries[0].status.sources[0].doc: 'R/7' is not declared under "
         "documents; did you mean 'R/1'?"),
    ],
)
def test_each_mistake_is_named_at_its_line(old: str, new: str, problem: str) -> None:
    """Each misuse of the new fields is one problem at its line and column."""
    assert old in TEXT
    found = _problems(TEXT.replace(old, new, 1))
    if "reasons" in new:  # the field misspelt is also the field missing
        assert found[0] == ("curation.yaml:62:5: reviewed[0].reason: missing required field "
                            "'reason' in a reviewed passage {doc, para, quote, reason}")
        found = found[1:]
    assert found == [problem]


def test_check_sources_proves_every_new_quote() -> None:
    """The quotes of a status, of a document's date and of a reviewed passage are proven
    against the text like an entry's, each problem at its line."""
    text = (TEXT.replace("Thanks the host country", "Thanks the guests")
            .replace("42nd plenary meeting", "43rd plenary meeting")
            .replace("Recalling its resolution 0/9", "Recalling its resolution 0/8"))
    located = parse_located(text, "curation.yaml")
    assert [str(p) for p in check_quotes(located, read_sources(located.register, TEXTS))] == [
        "curation.yaml:34:46: entries[0].status.sources[0].quote: report-second-session: quote "
        "not found in res-1.txt: 'Thanks the guests'",
        "curation.yaml:21:49: documents.R/1.dated_by.quote: quote not found in res-1.txt: "
        "'43rd plenary meeting 15 June 2001'",
        "curation.yaml:64:12: reviewed[0].quote: quote not found in res-1.txt: 'Recalling its "
        "resolution 0/8 of 3 March 1999'",
    ]


def test_validate_counts_every_quote(cli: CLI) -> None:
    """`validate --check-sources` proves the entries' 4 quotes, the status's, the document
    date's and the reviewed passage's."""
    result = cli("validate", "--check-sources", str(TEXTS), register=CURATION)
    assert result.stdout.endswith("curation.yaml: 4 entries, no problems, 7 quotes found in "
                                  "their sources\n")


# --- list, show, JSON ------------------------------------------------------------------------

def test_list_shows_the_undated_after_the_dated(cli: CLI) -> None:
    """Undated entries are listed with their urgency and since-date, their rule, or as not yet
    dated, after the dated ones."""
    result = cli("list", "--today", "2026-01-01", register=CURATION)
    assert result.stdout.splitlines() == [
        "DATE                                                 TITLE                             "
        "         ACTOR   AREA   SOURCE",
        "by end of 2002                                       Report to the second session [met]"
        "         states  crime  R/1 para. 1",
        "90 days after twentieth-ratification, not yet dated  Entry into force of the Convention"
        "         states  crime  R/1 para. 3",
        "as soon as possible, since 15 June 2001 (R/1)        Ratify the Convention as soon as "
        "possible  states  crime  R/1 para. 2",
        "not yet dated                                        Twentieth ratification of the "
        "Convention   states  crime  R/1 para. 3",
        "4 occurrences",
    ]


def test_a_dated_query_leaves_the_undated_out(cli: CLI) -> None:
    """`--due`, `--upcoming` and `--overdue` list only what falls on a day."""
    for args in (["--due", "2000..2030"], ["--upcoming", "99y"], ["--overdue"]):
        out = json.loads(cli("list", *args, "--today", "2026-01-01", "--format", "json",
                             register=CURATION).stdout)
        assert [o["id"] for o in out] == (["report-second-session"] if "--due" in args
                                          else []), args


def test_json_gives_urgency_since_pending_and_status_sources(cli: CLI) -> None:
    """The stable JSON adds `urgency`, `since`, `pending` and the status's `sources`."""
    out = {o["id"]: o for o in json.loads(cli("list", "--format", "json", "--today",
                                              "2026-01-01", register=CURATION).stdout)}
    urgent = out["ratify-asap"]
    assert (urgent["when"], urgent["date"], urgent["urgency"], urgent["since"],
            urgent["pending"]) == (
        "as soon as possible, since 15 June 2001 (R/1)", None, "as soon as possible",
        {"text": "15 June 2001", "value": "2001-06-15", "document": "R/1"}, None)
    counted = out["convention-in-force"]
    assert (counted["when"], counted["date"], counted["derivation"]) == (
        "90 days after twentieth-ratification, not yet dated", None,
        "90 days after the start of twentieth-ratification, not yet dated (pending: the "
        "deposit of the twentieth instrument of ratification)")
    assert out["twentieth-ratification"]["pending"] == ("the deposit of the twentieth "
                                                        "instrument of ratification")
    assert out["report-second-session"]["status"] == {
        "state": "met", "date": "2002-10-01", "note": "The host country was thanked for it.",
        "sources": [{"doc": "R/1", "para": "6", "quote": "Thanks the host country",
                     "url": "https://example.org/R/1"}]}


def test_show_an_urgent_commitment(cli: CLI) -> None:
    """`show` gives the urgency with its since-date, once."""
    assert cli("show", "ratify-asap", register=CURATION).stdout == (
        "ratify-asap: Ratify the Convention as soon as possible\n"
        "  kind:     target\n"
        "  actors:   states (Member States)\n"
        "  areas:    crime (Crime)\n"
        "  status:   open\n"
        "  urgency:  as soon as possible, since 15 June 2001 (R/1)\n"
        "  reminders: P30D, P0D (register default)\n"
        "  resolved:\n"
        "    as soon as possible, since 15 June 2001 (R/1)\n"
        "  sources:\n"
        "    R/1 para. 2 <https://example.org/R/1>\n"
        "      \"ratify the Convention as soon as possible\"\n")


def test_show_a_date_awaiting_its_trigger_then_recorded(cli: CLI, tmp_path: Path) -> None:
    """An entry dated from a pending event shows its rule; once the admin records the
    event's date, it shows the date counted from it."""
    assert cli("show", "convention-in-force", register=CURATION).stdout.splitlines()[7:9] == [
        "  resolved:",
        "    90 days after twentieth-ratification, not yet dated  (90 days after the start of "
        "twentieth-ratification, not yet dated (pending: the deposit of the twentieth "
        "instrument of ratification))"]
    recorded = tmp_path / "recorded.yaml"
    recorded.write_text(RECORDED)
    assert cli("show", "convention-in-force", register=recorded).stdout.splitlines()[7:9] == [
        "  resolved:",
        "    10 April 2003  (90 days after the start of twentieth-ratification (10 January "
        "2003))"]


def test_show_a_status_with_its_source(cli: CLI) -> None:
    """`show` lists where a status is recorded, with the quote."""
    lines = cli("show", "report-second-session", register=CURATION).stdout.splitlines()
    assert lines[4:6] == ["  status:   met since 2002-10-01: The host country was thanked for it.",
                          "  recorded: R/1 para. 6"]
    assert lines[-3:] == ["  status recorded by:", "    R/1 para. 6 <https://example.org/R/1>",
                          "      \"Thanks the host country\""]


# --- feeds and reminders ---------------------------------------------------------------------

def test_feeds_hold_no_undated_event_until_the_date_is_recorded(cli: CLI,
                                                                tmp_path: Path) -> None:
    """The undated are in no feed; once the trigger's date is recorded, it and the entry
    counted from it are published on their days (read back by the `ical` package). A status
    says where it is recorded."""
    before, after = tmp_path / "before", tmp_path / "after"
    assert cli("publish", "--out", str(before), "--today", "2026-01-01",
               register=CURATION).exit_code == 0
    assert [(e["uid"], e["start"]) for e in ical_events((before / "all.ics").read_bytes())] == [
        ("report-second-session@calendar-tool", "2002-12-31")]
    unfolded = (before / "all.ics").read_bytes().decode().replace("\r\n ", "")
    assert ("Status: met since 2002-10-01: The host country was thanked for it.\\nRecorded by: "
            "R/1 para. 6\\n") in unfolded
    recorded = tmp_path / "recorded.yaml"
    recorded.write_text(RECORDED)
    assert cli("publish", "--out", str(after), "--today", "2026-01-01",
               register=recorded).exit_code == 0
    assert sorted((e["uid"], e["start"], e["end"]) for e in ical_events(
        (after / "all.ics").read_bytes())) == [
        ("convention-in-force@calendar-tool", "2003-04-10", "2003-04-11"),
        ("report-second-session@calendar-tool", "2002-12-31", "2003-01-01"),
        ("twentieth-ratification@calendar-tool", "2003-01-10", "2003-01-11"),
    ]


def _reminders(reg: Register) -> list[tuple[str, str, datetime]]:
    sub = Subscription(name="team", url="https://example.org/hook", format=Format.JSON,
                       created_at=datetime(1990, 1, 1, tzinfo=UTC))
    return [(r.occurrence.id, r.offset, r.instant) for o in occurrences(reg, TODAY)
            for r in occurrence_reminders(sub, o, reg)]


def test_reminders_start_when_the_date_is_recorded() -> None:
    """Nothing undated is reminded; the recorded trigger and the date counted from it are,
    at the register's offsets (the met report is not)."""
    assert _reminders(_reg()) == []
    assert _reminders(_reg(RECORDED)) == [
        ("twentieth-ratification", "P30D", datetime(2002, 12, 11, 9, 0, tzinfo=UTC)),
        ("twentieth-ratification", "P0D", datetime(2003, 1, 10, 9, 0, tzinfo=UTC)),
        ("convention-in-force", "P30D", datetime(2003, 3, 11, 9, 0, tzinfo=UTC)),
        ("convention-in-force", "P0D", datetime(2003, 4, 10, 9, 0, tzinfo=UTC)),
    ]


# --- review ----------------------------------------------------------------------------------

def test_urgent_commitments_older_than_a_year_are_for_review() -> None:
    """An open urgent commitment is old a year after the last day of its since-date; a met
    one never is."""
    reg = _reg()
    assert [o.id for o in urgent_older_than(reg, date(2002, 6, 15))] == []
    assert [o.id for o in urgent_older_than(reg, date(2002, 6, 16))] == ["ratify-asap"]
    assert [o.id for o in urgent_older_than(reg, date(2002, 6, 16),
                                            relativedelta(years=2))] == []
    met = _reg(TEXT.replace("urgency: as soon as possible",
                            "urgency: as soon as possible\n    status: met"))
    assert urgent_older_than(met, date(2030, 1, 1)) == []
    [o] = find(reg, "ratify-asap", TODAY)
    assert (o.when, o.since) == (None, (reg.documents["R/1"].date, "R/1"))



def test_review_lists_an_urgent_commitment_a_year_old(cli: CLI) -> None:
    """`review` lists the open urgent commitment once it is a year old, with its reason."""
    def review(today: str) -> list[tuple[str, str, str]]:
        out = cli("review", "--today", today, "--within", "30d", "--format", "json",
                  register=CURATION)
        assert out.exit_code == 0, out.output
        return [(r["id"], r["reason"], r["why"]) for r in json.loads(out.stdout)]
    assert review("2002-06-15") == []
    assert review("2002-06-16") == [
        ("ratify-asap", "urgent-old",
         "urgent, undated and over a year old: record whether it was done")]

# --- pages -----------------------------------------------------------------------------------

def test_entry_page_shows_urgency_and_the_rule_awaiting_its_date(tmp_path: Path) -> None:
    """/obligations/<id> shows an urgent commitment's urgency and since-date, and a date
    counted from a pending event as its rule, from a real server."""
    engine = store.open_store(f"sqlite:///{tmp_path / 'store.db'}")
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    app = server.make_app(register=CURATION, feeds=tmp_path / "feeds", db=engine, clock=clock,
                          public_url="https://calendar.example.org")
    try:
        with server.BackgroundServer(app) as running:
            urgent = httpx.get(f"{running.url}/obligations/ratify-asap", timeout=10)
            counted = httpx.get(f"{running.url}/obligations/convention-in-force", timeout=10)
    finally:
        engine.dispose()
    assert urgent.status_code == counted.status_code == 200
    assert ("<dt>urgency</dt><dd>as soon as possible, since 15 June 2001 (R/1)</dd>"
            in urgent.text)
    assert '<span class="when">as soon as possible, since 15 June 2001 (R/1)</span>' in urgent.text
    assert '<span class="derivation">' not in urgent.text
    assert ('<span class="when">90 days after twentieth-ratification, not yet dated</span>'
            in counted.text)


def test_a_chain_from_a_pending_event_waits_for_it_at_every_step() -> None:
    """An entry dated from one dated from a pending event is undated too, with its own rule
    and what the chain awaits; recording the event dates both."""
    chained = TEXT.replace("reviewed:", """  - id: first-report-after-force
    title: First report after the entry into force
    kind: report
    date: {from: convention-in-force, offset: P1Y}
    actors: [states]
    areas: [crime]
    sources: [{doc: R/1, para: "5", quote: within a year of the entry into force}]

reviewed:""")
    [waiting] = find(_reg(chained), "first-report-after-force", TODAY)
    assert (waiting.when, waiting.derivation) == (
        None, "1 year after the start of convention-in-force, not yet dated (90 days after the "
              "start of twentieth-ratification, not yet dated (pending: the deposit of the "
              "twentieth instrument of ratification))")
    [dated] = find(_reg(chained.replace(PENDING, "date: 2003-01-10")),
                   "first-report-after-force", TODAY)
    assert dated.when is not None and dated.when.iso() == "2004-04-10"
