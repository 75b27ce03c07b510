"""Occurrences to RFC 5545 bytes: UIDs, all-day dates, precision, status, alarms, the
calendar's own properties, and deterministic output. The bytes are read back with the
project's lint (tests/feedlint.py), not with icalendar, which wrote them."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import vobject
from icalendar.prop import vText

from bench.generate import register_text
from calendar_tool.feeds import ical
from calendar_tool.model import Occurrence, Register, Revision, Source, State, Status, Term
from calendar_tool.register import parse_register
from calendar_tool.timeline import occurrences
from tests.conftest import CLI
from tests.feedlint import Component, lint, parse
from tests.parsers import ical_events, icaljs, vobject_events
from tests.paths import SAMPLE
from tests.registers import HEADER, entry

UNTIL = date(2006, 1, 1)
STAMP = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
INFO = ical.FeedInfo("all", "Sample register", "Every construct of the register format.")
PUBLIC = "https://calendar.example.org"


def _revisions(register: Register, sequence: int = 3) -> dict[str, Revision]:
    return {e.id: Revision("sha256:x", sequence, STAMP) for e in register.entries}


def _with_entries(*entries: str) -> Register:
    """The sample register with more entries (YAML list items) appended."""
    return parse_register(SAMPLE.read_text() + "".join(entries), "sample.yaml")


def _occurrences(register: Register) -> dict[str, Occurrence]:
    return {o.id: o for o in occurrences(register, UNTIL)}


def _events(data: bytes) -> dict[str, Component]:
    problems: list[str] = []
    root = parse(data, problems)
    assert problems == [] and root is not None
    out = {}
    for ev in root.children:
        found = ev.one("UID")
        assert found is not None
        out[found[1]] = ev
    return out


def _value(ev: Component, name: str) -> str:
    found = ev.one(name)
    assert found is not None, name
    return found[1]


def _feed(register: Register, revisions: Mapping[str, Revision] | None = None) -> bytes:
    revs = revisions if revisions is not None else _revisions(register)
    return ical.calendar(INFO, occurrences(register, UNTIL), register, revs)


WITHDRAWN = """
  - id: dropped-target
    title: A target the Commission dropped
    kind: target
    date: 2004
    actors: [commission]
    areas: [governance]
    status: {state: withdrawn, date: 2003-05-01, note: Dropped at the twelfth session.}
    sources:
      - {doc: A/RES/55/59, para: "29", quote: design specific measures}
"""

MET = """
  - id: met-report
    title: A report that was delivered
    kind: report
    date: 2003-03-31
    actors: [secretary-general]
    areas: [governance]
    status: met
    reminders: [P1M, P7D]
    sources:
      - {doc: A/RES/55/59, para: "29", quote: design specific measures}
"""

MONTHLY_REMINDER = """
  - id: month-reminder
    title: Report, with a reminder a month ahead
    kind: report
    date: 2005-03-31
    actors: [secretary-general]
    areas: [governance]
    reminders: [P1M, P0D]
    sources:
      - {doc: A/RES/55/59, para: "29", quote: design specific measures}
"""

COMMAS = """
  - id: commas
    title: Review, report; repeat
    kind: deadline
    date: 2004-06-30
    actors: [secretary-general]
    areas: [governance]
    sources:
      - {doc: A/RES/55/59, para: "29", quote: design specific measures}
"""


def test_uid_is_the_occurrence_id_at_calendar_tool() -> None:
    """A UID is the occurrence id with @calendar-tool: entry ids and series occurrences alike."""
    assert ical.uid("victims-review") == "victims-review@calendar-tool"
    assert ical.uid("congresses#10") == "congresses#10@calendar-tool"


@pytest.mark.parametrize(("ref", "start", "end", "summary"), [
    ("victims-review", "20021231", "20030101",
     "Review practices relating to victims of crime – by end of 2002"),
    ("tenth-session-month", "20010531", "20010601", "A report in a month – by end of May 2001"),
    ("biennium", "20031231", "20040101", "The biennium 2002-2003"),
    ("tenth-congress", "20000410", "20000418", "Tenth Congress\\, Vienna"),
    ("intersessional-document", "20000228", "20000229",
     "Document for the inter-sessional meeting"),
    ("report-tenth-session", "20010508", "20010509",
     "Report to the Commission at its tenth session"),
    ("commission-sessions#10", "20010508", "20010518",
     "Commission on Crime Prevention and Criminal Justice\\, annual session (no. 10)"),
    # Estimated sessions known only to the month or year: one day, the first of the period,
    # never a banner over it; the month the tenth session met in.
    ("commission-sessions#11", "20020501", "20020502",
     "Commission on Crime Prevention and Criminal Justice\\, annual session (no. 11) – "
     "expected in May 2002\\, dates to be confirmed"),
    ("congresses#10", "20000101", "20000102",
     "United Nations Congress on crime prevention (no. 10) – expected in 2000\\, dates to be "
     "confirmed"),
    ("trafficking-decrease", "20051231", "20060101",
     "Significant decrease in trafficking in persons – by end of 2005 [missed]"),
])
def test_dates_are_all_day_with_exclusive_end_and_precision_in_summary(
        sample: Register, ref: str, start: str, end: str, summary: str) -> None:
    """A deadline sits on its due day, an event spans its days (DTEND the day after), and the
    summary keeps the precision the text gives when the day alone would say more."""
    ev = _events(_feed(sample))[ical.uid(ref)]
    assert ev.one("DTSTART") == ({"VALUE": "DATE"}, start)
    assert ev.one("DTEND") == ({"VALUE": "DATE"}, end)
    assert _value(ev, "SUMMARY") == summary
    assert _value(ev, "X-MICROSOFT-CDO-ALLDAYEVENT") == "TRUE"
    assert _value(ev, "TRANSP") == "TRANSPARENT"


def test_no_title_repeats_its_date_on_the_real_register(real: Register) -> None:
    """Over every event of the real register, no summary names a year twice where the title
    already gives the date ("… by 2005 – by end of 2005"), and a title that gives it is the
    whole summary (but for "(estimated)", "dates not given" where the calendar shows a marker
    on a day no text gives, and the state); a year inside a document symbol
    (E/CN.15/2001/4) does not count as naming it."""
    year = re.compile(r"(?<![\w/.])(\d{4})(?![\w/])")
    said = {}
    for o in occurrences(real, date(2031, 12, 31)):
        if o.when is None:
            continue
        summary = ical.summary(o)
        years = year.findall(summary)
        assert len(years) == len(set(years)), summary
        said[o.id] = summary
    assert [said[i] for i in ("vienna-victims-2002", "vienna-firearms-2005",
                              "cicp-support-biennium-2002-2003", "plans-of-action-period",
                              "poa-trafficking-global-forum")] == [
        "Review practices relating to victims of crime by 2002",
        "Significant decrease in illicit firearms manufacturing and trafficking by 2005",
        "Adequate support to the Centre in the biennium 2002-2003",
        "Period of the plans of action for the implementation of the Vienna Declaration, "
        "2001-2005",
        "Global forum on trafficking in persons in 2002 – dates not given [superseded]",
    ]
    # The title names the document, not the date: the month it is due stays.
    assert said["poa-cyber-report-tenth-session"] == (
        "Report on computer-related crime to the Commission at its tenth session "
        "(E/CN.15/2001/4) – by end of May 2001 [met]")


def test_with_a_public_url_each_event_leads_to_its_page(sample: Register) -> None:
    """With a public URL, every event's URL is its entry's page (a series occurrence's own,
    `#` escaped) and its description ends with that address; without one, URL is the first
    source's document and the description ends with the register id."""
    occs = [o for o in occurrences(sample, UNTIL) if o.when is not None]
    linked = _events(ical.calendar(INFO, occs, sample, _revisions(sample), PUBLIC))
    plain = _events(_feed(sample))
    assert len(linked) == len(plain) == len(occs)
    for o in occs:
        page = f"{PUBLIC}/obligations/{o.id.replace('#', '%23')}"
        ev = linked[ical.uid(o.id)]
        assert _value(ev, "URL") == page
        # As written in the feed: TEXT escapes a line break as \n.
        assert _value(ev, "DESCRIPTION").endswith(
            f"\\n\\nRegister id: {o.id}\\nEntry page: {page}")
        assert _value(plain[ical.uid(o.id)], "DESCRIPTION").endswith(f"Register id: {o.id}")
    assert _value(linked[ical.uid("commission-sessions#10")], "URL") == \
        f"{PUBLIC}/obligations/commission-sessions%2310"
    assert _value(plain[ical.uid("victims-review")], "URL") == \
        "https://undocs.org/A/RES/55/59"


def test_standing_obligations_are_not_events(sample: Register) -> None:
    """An undated standing obligation is left out of the feed; span() refuses it."""
    uids = set(_events(_feed(sample)))
    assert ical.uid("review-practices") not in uids
    standing = _occurrences(sample)["review-practices"]
    with pytest.raises(ValueError, match="standing obligation"):
        ical.span(standing)


@pytest.mark.parametrize(("ref", "status"), [
    ("victims-review", "CONFIRMED"),
    ("commission-sessions#10", "CONFIRMED"),
    ("commission-sessions#11", "TENTATIVE"),
    ("congresses#5", "TENTATIVE"),
    ("dropped-target", "CANCELLED"),
])
def test_status_confirmed_tentative_or_cancelled(ref: str, status: str) -> None:
    """Known dates are CONFIRMED, estimated ones TENTATIVE, withdrawn entries CANCELLED."""
    register = _with_entries(WITHDRAWN)
    assert _value(_events(_feed(register))[ical.uid(ref)], "STATUS") == status


def test_withdrawn_entry_is_cancelled_not_dropped() -> None:
    """A withdrawn entry stays in the feed, cancelled, with its status note in the text."""
    register = _with_entries(WITHDRAWN)
    ev = _events(_feed(register))["dropped-target@calendar-tool"]
    assert _value(ev, "SUMMARY") == "A target the Commission dropped – by end of 2004 [withdrawn]"
    assert "Status: withdrawn since 2003-05-01: Dropped at the twelfth session." in \
        _value(ev, "DESCRIPTION").replace("\\n", "\n")
    assert ev.children == []


@pytest.mark.parametrize(("ref", "triggers"), [
    ("victims-review", ["-P30D"]),                                # the entry's own offsets
    ("tenth-session-month", ["-P90D", "-P30D", "-P7D", "P0D"]),   # the register's default
    ("trafficking-decrease", ["-P90D", "-P30D", "-P7D", "P0D"]),  # missed still reminds
    ("commission-sessions#10", ["-P90D", "-P30D", "-P7D", "P0D"]),
    ("commission-sessions#11", []),                               # estimated: no alarm
    ("met-report", []),                                           # met: no alarm
    ("dropped-target", []),                                       # withdrawn: no alarm
    ("month-reminder", ["-P31D", "P0D"]),                 # P1M before 31 March: 28 Feb
])
def test_alarms_at_the_reminder_offsets(ref: str, triggers: list[str]) -> None:
    """One DISPLAY alarm per reminder offset, relative to the start, only for entries that
    still remind and whose date is not estimated; a month counts as a calendar month."""
    register = _with_entries(WITHDRAWN, MET, MONTHLY_REMINDER)
    ev = _events(_feed(register))[ical.uid(ref)]
    assert [_value(a, "TRIGGER") for a in ev.children] == triggers
    assert all(_value(a, "ACTION") == "DISPLAY" for a in ev.children)


def test_alarm_description_says_when_and_what(sample: Register) -> None:
    """The alarm text says how far off the day is and repeats the summary."""
    ev = _events(_feed(sample))["victims-review@calendar-tool"]
    assert _value(ev.children[0], "DESCRIPTION") == \
        "In 30 days: Review practices relating to victims of crime – by end of 2002"


def test_description_says_what_who_and_where_the_text_says_so(sample: Register) -> None:
    """The description gives the date as written, who owes it, the area, the source with its
    quote and a link to the document, and the register id; URL links the document too."""
    o = _occurrences(sample)["victims-review"]
    assert ical.description(o, sample) == (
        "Due by end of 2002.\n"
        "Who: Member States\n"
        "Area: Victims of crime\n"
        "\n"
        "Source:\n"
        "A/RES/55/59 para. 27: “we establish 2002 as a target date for States to review their "
        "relevant practices”\n"
        "  Vienna Declaration on Crime and Justice <https://undocs.org/A/RES/55/59>\n"
        "\n"
        "Register id: victims-review"
    )
    ev = _events(_feed(sample))["victims-review@calendar-tool"]
    assert _value(ev, "URL") == "https://undocs.org/A/RES/55/59"
    assert _value(ev, "CATEGORIES") == "victims,target"


def test_an_area_or_actor_named_twice_is_named_once() -> None:
    """`areas: [victims, trafficking, victims]` wrote CATEGORIES:victims,trafficking,victims,
    target and the description's "Who:" named an actor twice; as an offset named twice is
    one, a name given twice is given once, in the order first given."""
    register = parse_register(HEADER + entry(
        "t", "2005", kind="target", area="victims, trafficking, victims",
        actor="commission, commission"), "test.yaml")
    assert (register.entries[0].areas, register.entries[0].actors) == (
        ("victims", "trafficking"), ("commission",))
    ev = _events(_feed(register))["t@calendar-tool"]
    assert _value(ev, "CATEGORIES") == "victims,trafficking,target"
    assert _value(ev, "DESCRIPTION").split("\\n")[1:3] == [
        "Who: Commission", "Area: Victims of crime\\; Trafficking in persons"]


def test_description_explains_a_derived_date(sample: Register) -> None:
    """A relative date says how it was derived, and a curator's note is shown."""
    text = ical.description(_occurrences(sample)["report-tenth-session"], sample)
    assert text.splitlines()[:5] == [
        "Due by 8 May 2001.",
        "Who: Secretary-General",
        "Area: Programme governance",
        "Date: at the start of commission-sessions#10 (8–17 May 2001).",
        "Note: The session's dates come from the series.",
    ]


def test_revision_gives_sequence_last_modified_and_dtstamp(sample: Register) -> None:
    """SEQUENCE is the revision's; DTSTAMP and LAST-MODIFIED are its change instant, in UTC."""
    revs = _revisions(sample)
    revs["biennium"] = Revision("sha256:y", 7, datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC))
    events = _events(_feed(sample, revs))
    assert _value(events["biennium@calendar-tool"], "SEQUENCE") == "7"
    assert _value(events["biennium@calendar-tool"], "DTSTAMP") == "20250203T040506Z"
    assert _value(events["biennium@calendar-tool"], "LAST-MODIFIED") == "20250203T040506Z"
    assert _value(events["victims-review@calendar-tool"], "SEQUENCE") == "3"
    assert _value(events["victims-review@calendar-tool"], "DTSTAMP") == "20240102T030405Z"


def test_calendar_properties_are_exact(sample: Register) -> None:
    """The calendar opens with VERSION, PRODID, CALSCALE, METHOD:PUBLISH, its name and
    description (RFC 7986 and X-WR-), REFRESH-INTERVAL with VALUE=DURATION and an
    X-PUBLISHED-TTL duration (not icalendar's "12:00:00")."""
    head = _feed(sample).split(b"BEGIN:VEVENT")[0].decode()
    assert head == (
        "BEGIN:VCALENDAR\r\n"
        "VERSION:2.0\r\n"
        "PRODID:-//calendar-tool//calendar-tool//EN\r\n"
        "CALSCALE:GREGORIAN\r\n"
        "METHOD:PUBLISH\r\n"
        "DESCRIPTION:Every construct of the register format.\r\n"
        "X-WR-CALDESC:Every construct of the register format.\r\n"
        "NAME:Sample register\r\n"
        "X-WR-CALNAME:Sample register\r\n"
        "REFRESH-INTERVAL;VALUE=DURATION:PT12H\r\n"
        "X-PUBLISHED-TTL:PT12H\r\n"
    )


def test_calendar_text_is_escaped() -> None:
    """Commas, semicolons and line breaks are escaped in the calendar's name and description
    (icalendar writes NAME and X-WR-* raw unless told they are text) and in summaries."""
    register = _with_entries(COMMAS)
    info = ical.FeedInfo("all", "Crime, justice; law", "Line one.\nLine two, three.")
    data = ical.calendar(info, occurrences(register, UNTIL), register, _revisions(register))
    text = data.decode()
    assert "\r\nX-WR-CALNAME:Crime\\, justice\\; law\r\n" in text
    assert "\r\nNAME:Crime\\, justice\\; law\r\n" in text
    assert "\r\nX-WR-CALDESC:Line one.\\nLine two\\, three.\r\n" in text
    assert "\r\nSUMMARY:Review\\, report\\; repeat\r\n" in text
    assert lint(data) == []


def test_output_is_deterministic_and_invents_nothing(sample: Register) -> None:
    """The same input gives the same bytes: no random UID, no current DTSTAMP."""
    first, second = _feed(sample), _feed(sample)
    assert first == second
    events = _events(first)
    assert all(uid.endswith("@calendar-tool") for uid in events)
    assert {_value(ev, "DTSTAMP") for ev in events.values()} == {"20240102T030405Z"}
    assert b"UID:" not in first.split(b"BEGIN:VEVENT")[0]


def test_assembled_feed_equals_icalendars_own_serialisation(sample: Register) -> None:
    """Feeds assembled from per-event blocks are byte for byte what icalendar's
    Calendar.to_ical() writes for the same components."""
    revs = _revisions(sample)
    occs = occurrences(sample, UNTIL)
    assert ical.calendar(INFO, occs, sample, revs) == \
        ical.library_calendar(INFO, occs, sample, revs)


def test_feed_in_chunks_is_the_header_the_events_whole_and_the_end() -> None:
    """`calendar_chunks` gives the header, the events in pieces of some hundred kilobytes
    (none cut in two), then END:VCALENDAR; `calendar_bytes` is them joined: the calendar of
    no event with the events before its last line."""
    register = parse_register(register_text(600), "generated.yaml")
    revs = _revisions(register)
    writer = ical.EventWriter(register)
    blocks = [writer.event_bytes(o, revs[o.entry.id])
              for o in occurrences(register, date(2031, 1, 1)) if o.when is not None]
    assert sum(map(len, blocks)) > 3 * ical._PIECE
    chunks = list(ical.calendar_chunks(INFO, iter(blocks)))
    empty = ical.calendar_bytes(INFO, [])
    end = b"END:VCALENDAR\r\n"
    assert chunks[0] + chunks[-1] == empty
    assert chunks[-1] == end
    batches = chunks[1:-1]
    assert b"".join(batches) == b"".join(blocks)
    # Each piece is whole events, and as large as a piece goes (the last: what is left).
    starts = {0}
    for block in blocks:
        starts.add(max(starts) + len(block))
    at = 0
    for batch in batches:
        assert at in starts
        at += len(batch)
    longest = max(map(len, blocks))
    assert all(ical._PIECE <= len(b) < ical._PIECE + longest for b in batches[:-1])
    assert 0 < len(batches[-1]) < ical._PIECE + longest
    data = ical.calendar_bytes(INFO, blocks)
    assert data == b"".join(chunks) == empty[:-len(end)] + b"".join(blocks) + end
    assert lint(data) == []


def test_sample_feed_passes_the_lint(sample: Register) -> None:
    """Every line folded at 75 octets, CRLF, unique UIDs, ends after starts, required fields."""
    data = _feed(sample)
    assert lint(data) == []
    # 11 congresses (1955-2005), 14 Commission sessions (1992-2005: the 15th is expected in
    # May 2006, the month of the tenth, after the feed's horizon), 7 dated entries.
    assert len(_events(data)) == 32


# --- the writer against icalendar's own serialisation ---------------------------------------

def _library_blocks(register: Register, revs: Mapping[str, Revision],
                    occs: Sequence[Occurrence], link_base: str | None = None) -> list[bytes]:
    return [bytes(ical.event(o, register, revs[o.entry.id], link_base).to_ical())
            for o in occs]


def _writer_blocks(register: Register, revs: Mapping[str, Revision],
                   occs: Sequence[Occurrence], link_base: str | None = None) -> list[bytes]:
    writer = ical.EventWriter(register, link_base)
    return [writer.event_bytes(o, revs[o.entry.id]) for o in occs]


@pytest.mark.parametrize("link_base", [None, PUBLIC], ids=["no-public-url", "public-url"])
@pytest.mark.parametrize("which", ["sample", "obligations", "generated-7", "generated-8"])
def test_writer_writes_what_icalendar_writes(which: str, link_base: str | None,
                                             sample: Register, real: Register) -> None:
    """EventWriter's block for each occurrence is byte for byte icalendar's `to_ical()` of the
    component `event` builds, on the sample, the real register (known occurrences with their
    own sources) and generated ones (series, relative dates, several sources), with
    revisions of every entry differing, one of them stamped in another zone; with and
    without a public URL for the entries' pages."""
    if which.startswith("generated-"):
        register = parse_register(register_text(300, int(which.split("-")[1])), "gen.yaml")
    else:
        register = sample if which == "sample" else real
    revs = {e.id: Revision("sha256:x", i, STAMP + timedelta(days=i, seconds=i))
            for i, e in enumerate(register.entries)}
    first = register.entries[0].id
    revs[first] = Revision("sha256:x", 1, datetime(2024, 5, 6, 7, 8, 9,
                                                   tzinfo=timezone(timedelta(hours=2))))
    occs = [o for o in occurrences(register, date(2031, 1, 1)) if o.when is not None]
    assert _writer_blocks(register, revs, occs, link_base) == \
        _library_blocks(register, revs, occs, link_base)


# A written \N, every character TEXT escapes, every kind of line break, characters of two to
# four octets and the backslash and caret that a fold must not separate from what follows.
TRICKY = [
    "a\\Nb and c\\nd",
    "back\\slash; semi, comma\\",
    "crlf\r\nlf\ncr\rend\r",
    "caret^ then \\\\ and ^^",
    "“quoted” – dash, é, 漢字, 🎉",
]


@pytest.mark.parametrize("text", TRICKY)
def test_writer_escapes_and_folds_as_icalendar(sample: Register, text: str) -> None:
    """Each tricky text, in every field an event carries text in, shifted one character at a
    time across the 75-octet fold: the writer's bytes are icalendar's."""
    revs = _revisions(sample)
    occs = _occurrences(sample)
    # One with an alarm (its text repeats the summary), one of a series with a location.
    for o in (occs["victims-review"], occs["commission-sessions#10"]):
        for pad in range(76):
            t = "x" * pad + text
            entry = dataclasses.replace(o.entry, title=t, description=t + t, note=t)
            quote = dataclasses.replace(o.entry.sources[0], quote=t)
            variant = dataclasses.replace(
                o, entry=dataclasses.replace(entry, sources=(quote,)), location=t,
                extra_sources=(Source("A/RES/55/59", "1", t[::-1]),))
            assert ical.event_bytes(variant, sample, revs[o.entry.id]) == \
                bytes(ical.event(variant, sample, revs[o.entry.id]).to_ical()), (pad, text)


# Pieces that meet where a value is escaped in parts: every character TEXT escapes or that
# begins an escape, alone, at either end or in pairs.
PIECES = [*TRICKY, "", "N", "Nx", "\\", "\r", "\n", "\\N", "a\r", "b\\", "x\n", "\r\n", ";", ",",
          "plain words", "a\\\n"]


@pytest.mark.parametrize("text", PIECES)
def test_text_escapes_as_icalendar(text: str) -> None:
    """`_text`, with and without a backslash or CR (its two ways), is icalendar's vText,
    alone and joined to each other piece, but for a written backslash-N, which vText reads
    as a line break and `_text` writes as a backslash and an N (see the test below)."""
    for value in (text, *(text + p for p in PIECES)):
        if "\\N" in value:
            assert ical._text(value) == \
                vText(value.replace("\\N", "\0")).to_ical().decode().replace("\0", "\\\\N")
        else:
            assert ical._text(value) == vText(value).to_ical().decode(), value


def test_a_written_backslash_n_is_read_back_as_written(cli: CLI, tmp_path: Path) -> None:
    """A title, a location and a feed's name holding a backslash before an N ("C:\\Notes")
    are read back as written by three parsers that did not write them (vobject, ical,
    Mozilla's ical.js), not as a line break (icalendar's vText writes \\N unescaped)."""
    title = "Notes in C:\\Notes, C:\\new; and a \\ alone"
    register = tmp_path / "r.yaml"
    register.write_text(HEADER.replace("title: Test register", "title: Test \\Nregister")
                        + entry("a", "2005", extra=f"location: '{title}'").replace(
                            "title: Title of a", f"title: '{title}'"), encoding="utf-8")
    out = tmp_path / "feeds"
    assert cli("publish", "--out", str(out), "--today", "2004-01-01",
               register=register).exit_code == 0
    data = (out / "all.ics").read_bytes()
    summary = f"{title} – by end of 2005"
    assert [e["summary"] for e in vobject_events(data)] == [summary]
    assert [e["summary"] for e in ical_events(data)] == [summary]
    [(_, read)] = icaljs([out / "all.ics"]).items()
    assert [e["summary"] for e in read["events"]] == [summary]
    assert read["calendar"]["name"] == "Test \\Nregister"
    assert vobject.readOne(data.decode("utf-8")).vevent.location.value == title


def test_text_escaped_in_parts_is_escaped_whole() -> None:
    """Two parts escaped apart are the whole escaped when the first ends with LF or the second
    starts with none of N, LF and backslash (what the writer relies on), and not always
    otherwise."""
    for a in PIECES:
        for b in PIECES:
            if a.endswith("\n") or not b.startswith(("N", "\n", "\\")):
                assert ical._text(a) + ical._text(b) == ical._text(a + b), (a, b)
    assert ical._text("\r") + ical._text("\n") != ical._text("\r\n")
    # A backslash before an N is escaped as any other backslash (icalendar's vText joined
    # them into a line break, which made this pair differ too).
    assert ical._text("\\") + ical._text("N") == ical._text("\\N") == "\\\\N"


@pytest.mark.parametrize("text", TRICKY)
def test_writer_escapes_each_part_of_the_description_as_icalendar(sample: Register,
                                                                   text: str) -> None:
    """The writer escapes the description in parts, some once for an entry or for all the
    entries of the same actors and areas: each tricky text as the status note, the derivation
    and the actors' and areas' titles, shifted across the fold, gives icalendar's bytes."""
    revs = _revisions(sample)
    occs = _occurrences(sample)
    for o in (occs["victims-review"], occs["commission-sessions#10"]):
        for pad in range(76):
            t = "x" * pad + text
            register = dataclasses.replace(
                sample, actors={k: Term(k, t) for k in sample.actors},
                areas={k: Term(k, t[::-1]) for k in sample.areas})
            variant = dataclasses.replace(o, status=Status(State.MISSED, note=t), derivation=t)
            assert ical.event_bytes(variant, register, revs[o.entry.id]) == \
                bytes(ical.event(variant, register, revs[o.entry.id]).to_ical()), (pad, text)
