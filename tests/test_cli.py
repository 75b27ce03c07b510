"""The command line: exact output, errors on stderr, and the documented exit codes."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.generate import register_text
from calendar_tool import listing
from calendar_tool.register import parse_register
from calendar_tool.timeline import occurrences
from tests.conftest import CLI
from tests.paths import FIXTURES, REGISTER, ROOT, SEEDS


def test_validate_clean(cli: CLI) -> None:
    """A clean register exits 0 with a one-line summary."""
    result = cli("validate", "--check-sources", str(SEEDS))
    assert result.exit_code == 0
    assert result.stdout.endswith("sample.yaml: 10 entries, no problems, 11 quotes found in "
                                  "their sources\n")


def test_validate_reports_every_problem_and_exits_1(cli: CLI) -> None:
    """Problems go to stderr one per line, then a count; exit code 1."""
    result = cli("validate", register=FIXTURES / "broken.yaml")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 16
    assert lines[0].endswith("broken.yaml:3:21: register.reminders[1]: '-P7D': a reminder "
                             "offset counts back from the due day and must not be negative")
    assert lines[-1] == "error: 15 problems in the register"
    assert result.stdout == ""


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("    kind: session\n    series:", "    kidn: session\n    series:",
     "99:5: entries[0].kind: missing required field 'kind' in an entry"),
    ("      rule: FREQ=YEARLY\n      start: 1992", "      rule: FREQ=YEERLY\n      start: 1992",
     "103:13: entries[0].series.rule: 'FREQ=YEERLY' is not an RFC 5545 recurrence rule "
     "(invalid 'FREQ': YEERLY)"),
])
def test_a_typo_in_an_entry_is_said_once_not_at_every_entry_counting_from_it(
        cli: CLI, tmp_path: Path, old: str, new: str, problem: str) -> None:
    """A typo in commission-sessions is said at its line; the six entries dated from its
    occurrences are not also told that it is "not an entry" or "not a series"."""
    register = tmp_path / "obligations.yaml"
    register.write_text(REGISTER.read_text().replace(old, new, 1))
    result = cli("validate", register=register)
    assert result.exit_code == 1
    assert "is not an entry" not in result.stderr and "not a series" not in result.stderr
    assert f"{register}:{problem}" in result.stderr.splitlines()


def test_a_reference_to_an_id_also_read_whole_is_still_judged(cli: CLI, tmp_path: Path
                                                               ) -> None:
    """A stub of commission-sessions copied above it is a problem of its own, and does not
    spare a reference to the whole entry of that id from its check."""
    register = tmp_path / "obligations.yaml"
    register.write_text(REGISTER.read_text().replace(
        "  - id: commission-sessions\n", "  - id: commission-sessions\n" * 2, 1).replace(
        "{from: commission-sessions#9}", "{from: commission-sessions#0}", 1))
    result = cli("validate", register=register)
    assert result.exit_code == 1
    assert f"{register}:1147:11: entries[38].date.from: 'commission-sessions' has no " \
        "occurrence #0 (its occurrences are numbered from 1 on)" in result.stderr.splitlines()


def test_show_words_an_occurrence_status_with_its_day_and_note(cli: CLI, tmp_path: Path
                                                                 ) -> None:
    """A status recorded on a series occurrence shows its day and note, as the entry's own
    status and the feed say them, not the state alone."""
    register = tmp_path / "obligations.yaml"
    register.write_text(REGISTER.read_text().replace(
        "          date: 2005-04-18..2005-04-25\n",
        "          date: 2005-04-18..2005-04-25\n"
        "          status: {state: met, date: 2005-04-25, note: Held as planned.}\n", 1))
    result = cli("show", "congresses#11", register=register)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    at = lines.index("    no. 11: 18–25 April 2005, Bangkok  (as written)")
    assert lines[at + 1] == "      status: met since 2005-04-25: Held as planned."


def test_missing_register_exits_3(cli: CLI) -> None:
    """A register path that does not exist is exit code 3, naming the path."""
    result = cli("list", register=ROOT / "nope.yaml")
    assert result.exit_code == 3
    assert result.stderr == (f"error: no register at '{ROOT / 'nope.yaml'}': give --register "
                             "PATH or set CALENDAR_TOOL_REGISTER\n")


def test_usage_errors_exit_2(cli: CLI) -> None:
    """A bad period or an unknown area is a usage error, exit code 2."""
    bad_period = cli("list", "--due", "soon")
    assert bad_period.exit_code == 2
    assert bad_period.stderr == ("error: --due: 'soon' is not a period: write 2005, 2005-06, "
                                 "2005-06-30 or 2001..2005\n")
    bad_area = cli("list", "--area", "weather")
    assert bad_area.exit_code == 2
    assert bad_area.stderr == ("error: unknown area 'weather'; the register declares: "
                               "governance, trafficking, victims\n")
    unknown_option = cli("list", "--colour")
    assert unknown_option.exit_code == 2


@pytest.mark.parametrize("period", ["2005..", "..2005"])
def test_a_period_with_an_open_end_is_named_whole(cli: CLI, period: str) -> None:
    """`--due 2005..` said "'' is not a period", naming an empty text the user never wrote."""
    result = cli("list", "--due", period)
    assert result.exit_code == 2
    assert result.stderr == (f"error: --due: {period!r} is not a period: write 2005, 2005-06, "
                             "2005-06-30 or 2001..2005\n")


def test_unknown_id_exits_4(cli: CLI) -> None:
    """`show` of an id that is not there is exit code 4."""
    result = cli("show", "no-such-entry")
    assert result.exit_code == 4
    assert result.stderr == ("error: no entry or occurrence 'no-such-entry' in the register; "
                             "`calendar-tool list` shows the ids\n")


@pytest.mark.parametrize(("ref", "why"), [
    ("commission-sessions#", ": an occurrence is named by its number, such as "
                             "commission-sessions#1"),
    ("intersessional-document#", ": 'intersessional-document' is no series, so it has no "
                                 "numbered occurrences"),
    ("commission-sessions#0", ": its occurrences are numbered from 1"),
    # One address an occurrence: no. 10's is #10, not #010 as well.
    ("commission-sessions#010", ": an occurrence is named by its number, such as "
                                "commission-sessions#1"),
    ("commission-sessions#210", ": the series ends before occurrence 210"),
    ("nope#3", ""),
])
def test_an_id_naming_no_occurrence_exits_4_saying_why(cli: CLI, ref: str, why: str) -> None:
    """`show series#` (the number left out) names no occurrence: it printed the whole entry
    with exit 0, as if the '#' were not there. Each id that names none says why, when its
    entry is there (no. 210 of an annual series begun in 1992 would fall after 2200)."""
    result = cli("show", ref)
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr == (f"error: no entry or occurrence {ref!r} in the register{why}; "
                             "`calendar-tool list` shows the ids\n")


def test_missing_sources_folder_exits_5(cli: CLI) -> None:
    """--check-sources on a folder that is not there is exit code 5."""
    result = cli("validate", "--check-sources", str(ROOT / "no-such-folder"))
    assert result.exit_code == 5


def test_list_due_2005_table(cli: CLI) -> None:
    """The table shows the date as the text gives it, title, actor, area and source."""
    result = cli("list", "--due", "2005")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "DATE                  TITLE                                                         ACTOR"
        "          AREA         SOURCE",
        "2005 (estimated)      United Nations Congress on crime prevention (no. 11)          "
        "member-states  governance   A/RES/46/152 annex, 30(a)",
        "May 2005 (estimated)  Commission on Crime Prevention and Criminal Justice, annual…  "
        "commission     governance   A/RES/46/152 annex, 25",
        "by end of 2005        Significant decrease in trafficking in persons [missed]       "
        "member-states  trafficking  A/RES/55/59 para. 14",
        "3 occurrences",
    ]


def test_list_json_is_stable(cli: CLI) -> None:
    """JSON output carries the occurrence id, precision, due day and sources."""
    result = cli("list", "--due", "2001-05", "--format", "json")
    data = json.loads(result.stdout)
    assert [d["id"] for d in data] == ["commission-sessions#10", "report-tenth-session",
                                       "tenth-session-month"]
    report = data[1]
    assert report["date"] == {"text": "8 May 2001", "value": "2001-05-08", "precision": "day",
                              "range": False, "within": False, "start": "2001-05-08",
                              "end": "2001-05-08", "due": "2001-05-08"}
    assert report["when"] == "by 8 May 2001"
    assert report["derivation"] == "at the start of commission-sessions#10 (8–17 May 2001)"
    assert report["sources"][0] == {"doc": "A/RES/55/59", "para": "29",
                                    "quote": "design specific measures",
                                    "url": "https://undocs.org/A/RES/55/59"}


def test_list_json_is_laid_out_as_json_dumps_lays_it_out(cli: CLI) -> None:
    """`list --format json` and `review --format json`, written a piece at a time, are the
    text `json.dumps(..., indent=2, ensure_ascii=False)` makes of what they hold: every
    occurrence of the real register, and none."""
    for args in (["list"], ["list", "--due", "1900"], ["review", "--today", "2026-12-02"]):
        result = cli(*args, "--format", "json", register=REGISTER)
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert result.stdout == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        assert (args, bool(data)) == (args, args[1:2] != ["--due"])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.characters(), max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(_JSON, max_size=7), st.integers(1, 4))
def test_json_pieces_join_to_what_json_dumps_writes(objects: list[Any], per: int) -> None:
    """However many objects each piece takes, the pieces join to `json.dumps` of the list,
    indented by 2, whatever the objects hold: line breaks and other characters in strings,
    empty and nested containers."""
    assert "".join(listing.json_pieces(iter(objects), per)) == \
        json.dumps(objects, indent=2, ensure_ascii=False)


def test_occurrences_json_are_the_objects_of_each_occurrence_alone() -> None:
    """`list --format json` and the API make each occurrence's object sharing its date's with
    the occurrence before it when both are on one date object (a series' estimates share
    their months): the objects are still those of each occurrence alone, over the real
    register and a generated one."""
    for reg in (parse_register(REGISTER.read_text(encoding="utf-8")),
                parse_register(register_text(300, seed=11))):
        found = occurrences(reg, date(2031, 12, 31))
        assert any(a.when is b.when for a, b in pairwise(found))  # shared dates met
        assert list(listing.occurrences_json(found, reg)) == \
            [listing.occurrence_json(o, reg) for o in found]


def test_json_pieces_of_what_orjson_refuses_are_json_dumps() -> None:
    """A batch orjson cannot write (an integer beyond 64 bits, a lone surrogate) is written
    by `json.dumps`, in the same layout, between batches orjson wrote."""
    objects: list[Any] = [{"a": 1}, 2**70, "\ud800", {"b": [True, None]}]
    assert "".join(listing.json_pieces(iter(objects), 1)) == \
        json.dumps(objects, indent=2, ensure_ascii=False)


def test_list_csv_and_upcoming(cli: CLI) -> None:
    """CSV has a header row; --upcoming counts from --today."""
    result = cli("list", "--upcoming", "90d", "--today", "2001-04-01", "--format", "csv")
    assert result.stdout.splitlines() == [
        "id,kind,date,title,actor,area,source,due,status,tentative",
        "commission-sessions#10,session,8–17 May 2001,\"Commission on Crime Prevention and "
        "Criminal Justice, annual session (no. 10)\",commission,governance,"
        "\"A/RES/46/152 annex, 25\",2001-05-17,open,no",
        "report-tenth-session,report,by 8 May 2001,Report to the Commission at its tenth "
        "session,secretary-general,governance,A/RES/55/59 para. 29,2001-05-08,open,no",
        "tenth-session-month,report,by end of May 2001,A report in a month,secretary-general,"
        "governance,A/RES/55/59 para. 29,2001-05-31,open,no",
    ]


def test_list_overdue(cli: CLI) -> None:
    """--overdue lists open deadlines past due, counted from --today."""
    result = cli("list", "--overdue", "--today", "2001-06-01", "--format", "csv")
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == [
        "intersessional-document", "report-tenth-session", "tenth-session-month"]


def test_show_series_occurrence(cli: CLI) -> None:
    """`show ID#N` prints the entry with that occurrence and how it was dated."""
    result = cli("show", "commission-sessions#10")
    assert result.exit_code == 0
    assert "    no. 10: 8–17 May 2001, Vienna  (as written)" in result.stdout.splitlines()


def test_show_a_series_that_begins_past_the_horizon(cli: CLI, tmp_path: Path) -> None:
    """A series whose first occurrence lies beyond the five years `show` looks ahead is still
    an entry: `show` prints it with that first occurrence (it said "no entry")."""
    from tests.registers import HEADER

    register = tmp_path / "r.yaml"
    register.write_text(HEADER + """\
  - id: far
    title: Far series
    kind: session
    series: {rule: FREQ=YEARLY, start: 2040}
    actors: [member-states]
    areas: [trafficking]
    sources: [{doc: D/1, para: '1', quote: a quote}]
""")
    result = cli("show", "far", "--today", "2026-12-04", register=register)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[7:9] == [
        "  occurrences:",
        "    no. 1: 2040 [tentative]  (estimated: annual from no. 1, the series' start (2040))"]


def test_a_long_title_cut_in_the_table_keeps_its_state(cli: CLI, tmp_path: Path) -> None:
    """`list`'s table cuts a title at 60 characters; the state after it ("[missed]") was cut
    away with it, so `list --status missed` showed no row as missed. The title is cut before
    the state; CSV keeps it whole."""
    from tests.registers import HEADER, entry

    register = tmp_path / "r.yaml"
    register.write_text(HEADER + entry("long", "2005", extra="status: missed").replace(
        "Title of long", "A very long title of a commitment that the texts set for 2005"))
    table = cli("list", "--status", "missed", register=register)
    assert table.exit_code == 0, table.stderr
    title = "A very long title of a commitment that the texts s… [missed]"
    assert len(title) == 60
    assert f"by end of 2005  {title}  member-states" in table.stdout.splitlines()[1]
    csv = cli("list", "--status", "missed", "--format", "csv", register=register)
    assert "A very long title of a commitment that the texts set for 2005 [missed]" in csv.stdout


def test_a_deadline_over_days_is_due_on_the_last(cli: CLI, tmp_path: Path) -> None:
    """A deadline the text gives as a span of days is due on its last day, and reads so: "by
    15 March 2005 (1–15 March 2005)", not "by end of 1–15 March 2005"."""
    from tests.registers import HEADER, entry

    register = tmp_path / "r.yaml"
    register.write_text(HEADER + entry("window", "2005-03-01..2005-03-15"))
    result = cli("list", "--due", "2005-03-15", "--format", "csv", register=register)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].split(",")[:4] == [
        "window", "deadline", "by 15 March 2005 (1–15 March 2005)", "Title of window"]


def test_show_relative(cli: CLI) -> None:
    """`show` of a relative date gives the resolved date and its derivation."""
    result = cli("show", "intersessional-document")
    assert "  date:     relative: -P42D from the start of tenth-congress" in result.stdout
    assert ("    by 28 February 2000  (6 weeks before the start of tenth-congress "
            "(10–17 April 2000))") in result.stdout


def _heavy_loaded(commands: list[list[str]], heavy: set[str]) -> list[str]:
    """Which of the `heavy` libraries are loaded once `commands` have run, one after the
    other, in one fresh interpreter."""
    code = (
        "import sys\n"
        "from calendar_tool.cli import main\n"
        f"for args in {commands!r}:\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted(set({sorted(heavy)!r}) & {{m.split('.')[0] for m in sys.modules}}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return list(ast.literal_eval(out.stdout.splitlines()[-1]))


def test_read_only_commands_import_no_database_scheduler_or_http() -> None:
    """`list`, `show` and `validate` start without sqlmodel, APScheduler, httpx, icalendar,
    the server's Starlette, uvicorn and Jinja2, or orjson (only JSON is written with it)."""
    register = ["--register", str(REGISTER)]
    commands = [[*register, "list", "--due", "2005"], [*register, "validate"],
                [*register, "show", "congresses"]]
    assert _heavy_loaded(commands, {"sqlmodel", "sqlalchemy", "apscheduler", "httpx",
                                    "icalendar", "starlette", "uvicorn", "jinja2",
                                    "orjson"}) == []


def test_database_commands_import_no_reader_feeds_or_http(tmp_path: Path) -> None:
    """`subscribe list`, `subscribe remove` and `deliveries` need the store alone: not the
    register's reader (PyYAML), the feeds' writer (icalendar), httpx, APScheduler or the
    server (issue 22's start-up budget; an e-mail's calendar part loads the feeds only when
    an e-mail is made)."""
    db = ["--db", f"sqlite:///{tmp_path / 't.db'}"]
    commands = [[*db, "subscribe", "list"], [*db, "deliveries"],
                [*db, "subscribe", "remove", "x"]]
    assert _heavy_loaded(commands, {"yaml", "icalendar", "httpx", "apscheduler", "starlette",
                                    "uvicorn", "jinja2"}) == []


def test_estimates_from_a_29th_to_a_31st_skip_no_month_or_year(cli: CLI, tmp_path: Path
                                                                 ) -> None:
    """An estimate whose rule names no day takes only the month of the day the rule gives:
    counted from 31 January, a monthly series placed no. 2 in March (the rule skips months
    without a 31st), and an annual one from 29 February 2000 placed no. 2 in 2004, with the
    report dated six weeks before it. A yearly rule picking February from 30 January was
    refused as yielding no date. Now the rule counts from the first of the month."""
    from tests.registers import HEADER, entry

    def series(entry_id: str, rule: str, start: str) -> str:
        return entry(entry_id, "~", kind="session").replace(
            "    date: ~\n", f"    series: {{rule: '{rule}', start: {start}}}\n")

    register = tmp_path / "r.yaml"
    register.write_text(HEADER + series("monthly", "FREQ=MONTHLY", "2001-01-31")
                        + series("annual", "FREQ=YEARLY", "2000-02-29")
                        + series("february", "FREQ=YEARLY;BYMONTH=2", "2000-01-30")
                        + entry("report", "{from: annual#2, offset: -P6W}", kind="report"))
    assert cli("validate", register=register).exit_code == 0
    result = cli("list", "--from", "2001-01", "--until", "2001-04", "--format", "csv",
                 register=register)
    assert result.exit_code == 0, result.stderr
    assert [row.split(",")[:3] for row in result.stdout.splitlines()[1:]] == [
        ["report", "report", "by a day between 21 December 2000 and 17 January 2001 "
                             "(estimated)"],
        ["monthly#1", "session", "31 January 2001 (estimated)"],
        ["annual#2", "session", "February 2001 (estimated)"],
        ["february#3", "session", "February 2001 (estimated)"],
        ["monthly#2", "session", "February 2001 (estimated)"],
        ["monthly#3", "session", "March 2001 (estimated)"],
        ["monthly#4", "session", "April 2001 (estimated)"]]


def test_months_that_make_whole_years_keep_a_year_a_year(cli: CLI, tmp_path: Path) -> None:
    """A year-precision date moved by P12M or -P24M moves by whole years and stays a year,
    as one moved by P1Y does (docs/FORMAT.md, "Relative dates"); it was read as finer than
    the year: "by a day between 1 January 2006 and 31 December 2006"."""
    from tests.registers import HEADER, entry

    register = tmp_path / "r.yaml"
    register.write_text(HEADER + entry("target", "2005")
                        + entry("after", "{from: target, offset: P12M}")
                        + entry("before", "{from: target, offset: -P24M}")
                        + entry("event", "{from: target, offset: P1Y12M}", kind="event"))
    result = cli("list", "--format", "csv", register=register)
    assert result.exit_code == 0, result.stderr
    assert [row.split(",")[:3] for row in result.stdout.splitlines()[1:]] == [
        ["before", "deadline", "by end of 2003"], ["target", "deadline", "by end of 2005"],
        ["after", "deadline", "by end of 2006"], ["event", "event", "2007"]]
    shown = cli("show", "after", register=register)
    assert "    by end of 2006  (12 months after the start of target (2005))" in \
        shown.stdout.splitlines()


def test_days_a_date_may_fall_on_that_come_to_one_read_as_that_day(cli: CLI, tmp_path: Path
                                                                   ) -> None:
    """A date between 29 and 31 January moved by P1M is 29 February whichever day it was
    (months are cut at their ends): one day, read as that day. It read "by a day between 29
    February 2000 and 29 February 2000"."""
    from tests.registers import HEADER, entry

    register = tmp_path / "r.yaml"
    register.write_text(HEADER + entry("meetings", "~", kind="session").replace(
        "    date: ~\n", "    series:\n      rule: FREQ=WEEKLY;INTERVAL=2\n"
                        "      start: 2000-01-01..2000-01-28\n"
                        "      occurrences: {3: {date: 2000-02-01..2000-02-03}}\n")
        + entry("report", "{from: meetings#2, offset: P1M}", kind="report"))
    result = cli("list", "--due", "2000-02", "--kind", "report", "--format", "csv",
                 register=register)
    assert result.exit_code == 0, result.stderr
    assert [row.split(",")[:3] for row in result.stdout.splitlines()[1:]] == [
        ["report", "report", "by 29 February 2000 (estimated)"]]
    shown = cli("show", "report", register=register)
    assert ("    by 29 February 2000 [tentative]  (1 month after the start of meetings#2 "
            "(between 29 January 2000 and 31 January 2000, tentative); meetings#2: "
            "estimated: between no. 1 (1–28 January 2000, estimated) and no. 3 (1–3 February "
            "2000))") in shown.stdout.splitlines()


def test_no_estimate_starts_before_the_known_occurrence_before_it(cli: CLI, tmp_path: Path
                                                                  ) -> None:
    """docs/FORMAT.md's example, in a series validation takes: after a known no. 2 given only
    as 2000, a monthly rule estimates 2000 again and again; after a no. 5 in February 2000,
    "between February and December 2000". (Its example was a monthly rule from a start of
    2000, which validation refuses as finer than the start.)"""
    from tests.registers import HEADER, entry

    register = tmp_path / "r.yaml"
    register.write_text(HEADER + entry("n", "~", kind="session").replace(
        "    date: ~\n", "    series: {rule: FREQ=MONTHLY, start: 2000-01, "
                        "occurrences: {2: {date: 2000}, 5: {date: 2000-02}}}\n"))
    result = cli("show", "n#6", register=register)
    assert result.exit_code == 0, result.stderr
    assert ("    no. 6: between February and December 2000 [tentative]  (estimated: monthly "
            "from no. 5 (February 2000))") in result.stdout.splitlines()
