"""The validator: every problem, located, in one run; quotes proven against their sources."""

from __future__ import annotations

import os
from collections.abc import Callable
from itertools import islice

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calendar_tool import wording
from calendar_tool.errors import RegisterInvalid
from calendar_tool.model import DatedValue, Register
from calendar_tool.register import (
    Located,
    check_quotes,
    forked,
    parse_located,
    parse_register,
    read_sources,
)
from calendar_tool.register.quotes import normalise_quote, source_variants
from calendar_tool.timeline import series_dates
from tests.paths import FIXTURES, REGISTER, SAMPLE, SEEDS
from tests.registers import HEADER, entry

BROKEN = FIXTURES / "broken.yaml"


def _problems(text: str, name: str = "r.yaml") -> list[str]:
    with pytest.raises(RegisterInvalid) as info:
        parse_register(text, name)
    return [str(p) for p in info.value.problems]


def test_every_mistake_is_reported_with_its_line() -> None:
    """A register with a dozen different mistakes reports each at its line and column."""
    assert _problems(BROKEN.read_text(), "broken.yaml") == [
        "broken.yaml:3:21: register.reminders[1]: '-P7D': a reminder offset counts back from "
        "the due day and must not be negative",
        "broken.yaml:14:11: entries[0].date: '2005-02-30' is not a real date (day is out of "
        "range for month)",
        "broken.yaml:18:5: entries[1].actors: missing required field 'actors' in an entry",
        "broken.yaml:22:5: entries[1].actor: unknown field 'actor'; did you mean 'actors'? "
        "(allowed: id, title, kind, date, series, actors, areas, sources, description, "
        "location, status, reminders, note, urgency, pending)",
        "broken.yaml:30:12: entries[2].areas: must be a list of declared areas, not 'victims'",
        "broken.yaml:35:20: entries[3].series.rule: 'FREQ=SOMETIMES' is not an RFC 5545 "
        "recurrence rule (invalid 'FREQ': SOMETIMES)",
        "broken.yaml:39:9: entries[4].id: duplicate id 'impossible-date' (first used on line 11)",
        "broken.yaml:49:11: entries[5].date.from: 'no-such-entry' is not an entry of the "
        "register",
        "broken.yaml:56:11: entries[6].date.from: dates refer to each other in a cycle: "
        "cycle-a -> cycle-b -> cycle-a",
        "broken.yaml:71:14: entries[8].actors[0]: 'states' is not declared under actors; did "
        "you mean 'member-states'?",
        "broken.yaml:72:13: entries[8].areas[0]: 'victim' is not declared under areas; did you "
        "mean 'victims'?",
        "broken.yaml:77:11: entries[9].date: '2000-04-17..2000-04-10': the range ends "
        "(2000-04-10) before it starts (2000-04-17)",
        "broken.yaml:84:11: entries[10].date.from: 'sessions' has no occurrence #0 (its "
        "occurrences are numbered from 1 on)",
        "broken.yaml:94:13: entries[11].status: 'finished' is not one of: open, met, missed, "
        "superseded, withdrawn",
        "broken.yaml:95:21: entries[11].sources[0].doc: 'A/RES/55/9' is not declared under "
        "documents; did you mean 'A/RES/55/59'?",
    ]


def test_yaml_syntax_error_is_located() -> None:
    """Broken YAML is one problem at the place the parser stopped."""
    assert _problems("register: {title: x\nareas: [\n") == [
        "r.yaml:2:6: YAML syntax: did not find expected ',' or '}'"
    ]


@pytest.mark.parametrize(("text", "problem"), [
    ("register:\n  title: Review: practices\n",
     "r.yaml:2:16: YAML syntax: mapping values are not allowed in this context: a ': ' inside "
     "a value starts a field: put the value in quotes, or indent this line as the field above "
     "it"),
    ("register:\n  title: x\n\tdescription: y\n",
     "r.yaml:3:1: YAML syntax: found a tab character that violates indentation: indent with "
     "spaces, not tabs"),
    # libyaml stops on the line after `title:x`; the missing space is on that line.
    ("register:\n  description: y\n  title:x\nareas: {}\n",
     "r.yaml:3:3: YAML syntax: could not find expected ':': a field is written 'name: value', "
     "with a space after the colon"),
    # libyaml stops at the end of the file; the quote left open is where it began.
    ("register:\n  title: \"x\n  description: y\n",
     "r.yaml:2:10: YAML syntax: found unexpected end of stream: the quote opened here is not "
     "closed"),
])
def test_yaml_syntax_says_what_to_write(text: str, problem: str) -> None:
    """The mistakes keepers make most in YAML gave libyaml's words alone ("mapping values are
    not allowed in this context"), and for a quote left open or a colon without its space,
    the place where libyaml gave up (the end of the file, the next line) rather than the
    mistake's: each now says what to write, at the mistake."""
    assert _problems(text) == [problem]


def test_wrong_shapes() -> None:
    """A list where a mapping belongs, and an empty file, are refused plainly."""
    assert _problems("- a\n- b\n") == ["r.yaml:1:1: must be a mapping (the register), not a list"]
    assert _problems("") == ["r.yaml:1:1: the register is empty"]


_MINI = """\
register: {title: T}
areas: {a: {title: A}}
actors: {b: {title: B}}
documents: {D: {title: D}}
entries:
  - id: x
    title: X
    kind: KIND
    FIELD
    actors: [b]
    areas: [a]
    sources: [{doc: D, para: "1", quote: q}]
"""


@pytest.mark.parametrize(
    ("kind", "field", "message"),
    [
        ("event", "date: 2000-04-17..2000-04-10",
         "r.yaml:9:11: entries[0].date: '2000-04-17..2000-04-10': the range ends (2000-04-10) "
         "before it starts (2000-04-17)"),
        ("session", "series: {rule: FREQ=MONTHLY, start: 1992}",
         "r.yaml:9:20: entries[0].series.rule: FREQ=MONTHLY is finer than the year precision "
         "of series.start; use FREQ=YEARLY"),
        ("session", "series: {rule: FREQ=YEARLY;COUNT=3, start: 1992}",
         "r.yaml:9:20: entries[0].series.rule: write the end as series.until or series.count, "
         "not in the rule"),
        ("standing", "date: 2005",
         "r.yaml:9:11: entries[0].date: a standing obligation has no date; use another kind "
         "or remove it"),
        ("target", "note: none",
         "r.yaml:6:5: entries[0].date: a target needs a date or a series (or urgency: the "
         "text's words when it gives only a word of urgency; or kind: standing if it has "
         "none)"),
        ("target", "date: {from: x}",
         "r.yaml:9:11: entries[0].date.from: an entry cannot be dated from itself"),
        ("target", "date: {from: y, offset: six weeks}",
         "r.yaml:9:29: entries[0].date.offset: 'six weeks' is not a duration of years, months, "
         "weeks and days such as P6W or -P2Y"),
        ("standing", "reminders: [P30D, soon]",
         "r.yaml:9:23: entries[0].reminders[1]: 'soon' is not a duration of years, months, "
         "weeks and days such as P6W or -P2Y"),
        ("deadline", "date: 2005\n    date: 2006",
         "r.yaml:10:5: entries[0].date: appears twice in the same mapping"),
    ],
)
def test_single_mistakes(kind: str, field: str, message: str) -> None:
    """Each kind of mistake has its own message at the right place."""
    text = _MINI.replace("KIND", kind).replace("FIELD", field)
    assert message in _problems(text)


@pytest.mark.parametrize("url", ["notaurl", "javascript:alert(1)", "https://", "ftp://x.org/a",
                                 "https://undocs.org/A RES", "https://@/", "https://:80/",
                                 "https://[x/", "https://undocs.org:99999/", "https://x.org:a/"])
def test_a_document_url_is_an_http_address(url: str) -> None:
    """Pages and feeds link to a document's `url`: anything a browser should not follow (a
    bare word, `javascript:`, no host, another scheme, a space) is a problem at its line."""
    text = HEADER.replace('D/1: {title: A document, url: "https://example.org/d1"}',
                          f'D/1: {{title: A document, url: "{url}"}}') + entry("a", "2005")
    assert _problems(text) == [
        f"r.yaml:11:33: documents.D/1.url: {url!r} is not an http:// or https:// URL with a "
        "host, such as https://undocs.org/A/RES/55/25"]


@pytest.mark.parametrize("url", ["https://undocs.org/é", 'https://undocs.org/"><x>',
                                 "https://undocs.org/a|b", "https://undocs.org/{x}",
                                 "https://bücher.example/d1"])
def test_a_document_url_is_a_uri(url: str) -> None:
    """A feed's URL property is a URI (RFC 3986): a document `url` with a character one
    cannot carry as it is (not ASCII, a quote mark, <, >, |, {, }) was published as it was,
    'URL:https://undocs.org/é'. It is a problem at its line, as CALENDAR_TOOL_PUBLIC_URL's
    is at start."""
    text = HEADER.replace('D/1: {title: A document, url: "https://example.org/d1"}',
                          f"D/1: {{title: A document, url: '{url}'}}") + entry("a", "2005")
    assert _problems(text) == [
        f"r.yaml:11:33: documents.D/1.url: {url!r} holds characters a link cannot carry as "
        "they are: write them percent-encoded (é as %C3%A9, a quote mark as %22) and a host "
        "name as its xn-- form"]


@pytest.mark.parametrize("rule", ["FREQ=YEARLY;BYMONTHDAY=0", "FREQ=YEARLY;BYMONTHDAY=15,-0",
                                  "FREQ=YEARLY;BYYEARDAY=0", "FREQ=YEARLY;BYWEEKNO=+0"])
def test_a_rule_numbering_a_day_0_is_a_problem(rule: str) -> None:
    """RFC 5545 numbers month days, year days and weeks from 1 (-1 from the end). dateutil
    read BYMONTHDAY=0 as no BYMONTHDAY: a yearly series from 1992 gave every day of 1992 as
    an occurrence, each estimated 'May 1992', and validate accepted it."""
    text = HEADER + entry("s", "").replace("    date: \n", "").replace(
        "    kind: deadline", f'    kind: session\n    series: {{rule: "{rule}", start: 1992}}')
    part = rule.split(";")[1].split("=")[0]
    assert _problems(text) == [
        f"r.yaml:16:20: entries[0].series.rule: {part}=0 is no day or week: RFC 5545 counts "
        "from 1 (or from -1 at the end)"]


def _series(rule: str, start: str) -> str:
    return HEADER + entry("s", "").replace("    date: \n", "").replace(
        "    kind: deadline", f'    kind: session\n    series: {{rule: "{rule}", start: {start}}}')


@pytest.mark.parametrize(("rule", "start", "why"), [
    ("FREQ=YEARLY;BYDAY=MO", "2026", "BYDAY picks days within each year, finer than the year "
     "precision of series.start; give series.start to the day (such as 2026-05-04)"),
    ("FREQ=YEARLY;BYMONTH=3,9", "2026", "BYMONTH picks months within each year, finer than the "
     "year precision of series.start; give series.start to the month (such as 2026-05)"),
    ("FREQ=YEARLY;BYEASTER=0", "2026", "BYEASTER picks days within each year, finer than the "
     "year precision of series.start; give series.start to the day (such as 2026-05-04)"),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15", "2026-05", "BYMONTHDAY picks days within each month, "
     "finer than the month precision of series.start; give series.start to the day (such as "
     "2026-05-04)"),
    ("FREQ=YEARLY;BYMONTH=6;BYWEEKNO=20", "2026-05", "BYWEEKNO picks weeks within each year, "
     "finer than the month precision of series.start; give series.start to the day (such as "
     "2026-05-04)"),
])
def test_a_rule_picking_dates_finer_than_the_start_is_a_problem(rule: str, start: str,
                                                                 why: str) -> None:
    """A rule's parts that pick months or days within its period make occurrences the start's
    precision cannot tell apart: `FREQ=YEARLY;BYDAY=MO` from 2026 gave 52 occurrences a year,
    each "2026", and a feed 52 markers on each 1 January, and validate accepted it."""
    assert _problems(_series(rule, start)) == [f"r.yaml:16:20: entries[0].series.rule: {why}"]


@pytest.mark.parametrize(("rule", "start", "dates"), [
    ("FREQ=YEARLY;BYMONTH=3,9", "2026-05", ["May 2026", "September 2026", "March 2027"]),
    ("FREQ=YEARLY;BYMONTH=3,9;BYSETPOS=-1", "2026-09", ["September 2026", "September 2027",
                                                        "September 2028"]),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15", "2026-05-01", ["1 May 2026", "15 May 2026", "1 June 2026"]),
    ("FREQ=YEARLY;INTERVAL=5", "2026", ["2026", "2031", "2036"]),
])
def test_a_rule_picking_no_finer_than_the_start_is_taken(rule: str, start: str,
                                                         dates: list[str]) -> None:
    """Months picked from a start given to the month, days from one given to the day."""
    series = parse_register(_series(rule, start), "r.yaml").entries[0].series
    assert series is not None
    got = [wording.date_text(sd.value) for sd in islice(series_dates(series), 3)]
    assert got == dates


def test_a_merge_key_is_said_to_be_not_taken_once() -> None:
    """`<<: *defaults` in an entry was "unknown field '<<'" and then a missing field for each
    field it would have merged: one problem now says what it is and what to do."""
    text = HEADER.replace("entries:\n", "x-defaults: &d {areas: [trafficking]}\nentries:\n")
    text += entry("a", "2005").replace("    areas: [trafficking]\n", "    <<: *d\n")
    assert _problems(text) == [
        "r.yaml:12:1: x-defaults: unknown field 'x-defaults' (allowed: register, areas, actors, "
        "documents, entries, reviewed)",
        "r.yaml:19:5: entries[0].<<: a YAML merge key ('<<: *name') is not taken in a "
        "register: write the fields out in each mapping"]


def test_a_comma_in_an_unquoted_flow_value_says_to_quote_it() -> None:
    """`{doc: D/1, para: '1', quote: at its twentieth session, in 2011}`: the comma ends the
    quote inside {...}, and YAML reads `in 2011` as a key with no value. That was reported
    as an unknown field 'in 2011' with the allowed fields, which does not tell a keeper the
    quote was cut: the problem says to put the value in quotes."""
    text = HEADER + entry("a", "2005").replace(
        "quote: a quote}", "quote: at its twentieth session, in 2011}")
    assert _problems(text) == [
        "r.yaml:19:70: entries[0].sources[0].in 2011: a comma inside {...} ends the value "
        "before it, so 'in 2011' was read as a field: put that value in quotes, such as "
        "quote: \"at its twentieth session, in 2011\""]
    unknown = HEADER + entry("a", "2005").replace("quote: a quote}", "quote: a quote, pg: 3}")
    assert _problems(unknown) == [
        "r.yaml:19:53: entries[0].sources[0].pg: unknown field 'pg' (allowed: doc, para, "
        "quote, file)"]


def test_a_title_is_one_line() -> None:
    """A title or paragraph with a line break (a YAML literal block, a quoted \\n) broke
    `list`'s table row: it is a problem at its line, for an entry's title, a declared area's
    and a source's paragraph alike, and the only one: the entry stays, for another dated from
    it."""
    text = (HEADER.replace("trafficking: {title: Trafficking in persons}",
                           'trafficking: {title: "Trafficking\\nin persons"}')
            + entry("a", "2005").replace("    title: Title of a", "    title: |\n      Two\n"
                                                                  "      lines")
            + entry("b", "{from: a, offset: P1D}")).replace(
                "[{doc: D/1, para: '1', quote: a quote}]",
                "[{doc: D/1, para: \"1\\n2\", quote: a quote}]", 1)
    assert _problems(text) == [
        "r.yaml:5:24: areas.trafficking.title: must be one line: lists and feeds show it on "
        "one",
        "r.yaml:14:12: entries[0].title: must be one line: lists and feeds show it on one",
        "r.yaml:21:32: entries[0].sources[0].para: must be one line: lists and feeds show it "
        "on one"]


def test_a_control_character_is_a_problem_at_its_line() -> None:
    """A control character written as a YAML escape ("\\e", "\\x01", "\\f") went into the
    feeds as it was, where RFC 5545 allows none in a TEXT value (3.3.11; 3.1: CONTROL), and
    the `ical` parser refused the whole calendar. It is a problem at its line, in a
    description, a quote or a title alike; a tab and line breaks, which a feed carries
    (escaped), are not."""
    text = (HEADER.replace("trafficking: {title: Trafficking in persons}",
                           'trafficking: {title: "Trafficking\\x01in persons"}')
            + entry("a", "2005", extra='description: "Esc\\e and form feed\\f"')
            + entry("b", "2005", extra='description: "A\\ttab and\\nlines\\r\\nend"')
            ).replace("quote: a quote}]", 'quote: "a\\x7fquote"}]', 1)
    assert _problems(text) == [
        "r.yaml:5:24: areas.trafficking.title: contains the control character U+0001, which "
        "calendars cannot carry (RFC 5545): remove it",
        "r.yaml:19:44: entries[0].sources[0].quote: contains the control character U+007F, "
        "which calendars cannot carry (RFC 5545): remove it",
        "r.yaml:20:18: entries[0].description: contains the control character U+001B, which "
        "calendars cannot carry (RFC 5545): remove it"]


def _series_register(first: int, occurrences: str) -> str:
    return HEADER + f"""\
  - id: s
    title: A session
    kind: session
    series:
      rule: FREQ=YEARLY
      start: 2000-03-10..2000-03-12
      first: {first}
      occurrences:
{occurrences}
    actors: [member-states]
    areas: [trafficking]
    sources: [{{doc: D/1, para: '1', quote: a quote}}]
"""


def test_known_occurrences_follow_their_numbers() -> None:
    """A known occurrence dated wholly before the series' start, or before one numbered
    lower, is a problem at its number (it listed no. 3 in 1999 before no. 1 in 2000); dates
    that agree at the precision the texts give (no. 3 in 2002, no. 4 in May 2002) are not."""
    assert _problems(_series_register(1, "        3: {date: 1999-05}")) == [
        "r.yaml:21:9: entries[0].series.occurrences[3]: occurrence 3 (1999-05) is dated before "
        "the series' start, occurrence 1 (2000-03-10..2000-03-12)"]
    assert _problems(_series_register(1, "        2: {date: 2002-05}\n        3: {date: 2002}\n"
                                         "        4: {date: 2002-03}")) == [
        "r.yaml:23:9: entries[0].series.occurrences[4]: occurrence 4 (2002-03) is dated before "
        "occurrence 2 (2002-05)"]
    fine = parse_register(_series_register(1, "        3: {date: 2002}\n"
                                              "        4: {date: 2002-05}"), "r.yaml")
    series = fine.entries[0].series
    assert series is not None and [k.number for k in series.known] == [3, 4]


def test_occurrences_are_numbered_from_first() -> None:
    """With `first: 0` the occurrence numbered 0 can be recorded (it was refused as "at least
    1"); below `first`, a number is a problem naming it."""
    zero = parse_register(_series_register(0, "        0: {date: 2000-03-11..2000-03-13}"),
                          "r.yaml")
    series = zero.entries[0].series
    assert series is not None
    assert [(k.number, k.date.iso()) for k in series.known] == [(0, "2000-03-11..2000-03-13")]
    assert _problems(_series_register(1, "        0: {date: 2000-03-11..2000-03-13}")) == [
        "r.yaml:21:9: entries[0].series.occurrences[0]: occurrence 0 comes before the first "
        "one (1)"]


def test_a_known_occurrence_past_until_is_a_problem_at_its_number() -> None:
    """`until` ends a series at the first estimate after it: a known occurrence numbered past
    that one was accepted and then shown by no command (no. 9 of a yearly series until 2004,
    which ends at no. 5). It is a problem at its number, as one past `count` is; one the
    series still reaches (no. 5 postponed to 2005) stays accepted."""
    text = _series_register(1, "        5: {date: 2005}\n        9: {date: 2008}").replace(
        "      first: 1\n", "      first: 1\n      until: 2004\n")
    assert _problems(text) == [
        "r.yaml:23:12: entries[0].series.occurrences[9]: occurrence 9 is past the last one "
        "that until=2004 allows (no. 5): move until, or remove the occurrence"]
    fine = parse_register(text.replace("        9: {date: 2008}\n", ""), "r.yaml")
    series = fine.entries[0].series
    assert series is not None and [k.number for k in series.known] == [5]


def test_sample_uses_every_construct_and_is_clean() -> None:
    """The sample register validates and its quotes are found in the seeds."""
    located = parse_located(SAMPLE.read_text(), "sample.yaml")
    assert check_quotes(located, read_sources(located.register, SEEDS)) == []


def test_real_register_quotes_are_all_in_their_sources() -> None:
    """Every quote of obligations.yaml occurs in its cited file."""
    located = parse_located(REGISTER.read_text(), "obligations.yaml")
    assert check_quotes(located, read_sources(located.register, SEEDS)) == []


@pytest.mark.parametrize(
    ("quote", "found"),
    [
        ("the inter-sessional meeting of the Commission", True),
        ("a comprehensive strategy", True),
        ("a   comprehensive\nstrategy", True),
        ("a compre-hensive strategy", True),  # as printed: the hyphen may be the author's
        ("a comprehen sive strategy", False),
        ("“quoted” words", True),
        ("words that are not there", False),
    ],
)
def test_quote_matching_tolerates_line_breaks_and_hyphenation(quote: str, found: bool) -> None:
    """Quotes match across line breaks, runs of spaces and words hyphenated at a line end."""
    source = ("We call for a compre-\nhensive strategy, and for the inter-\nsessional meeting "
              "of the\n  Commission, with \"quoted\" words.")
    variants = source_variants(source)
    assert any(normalise_quote(quote) in v for v in variants) is found


def test_missing_quote_names_the_entry() -> None:
    """A quote not in its source is reported with the entry id and the quote."""
    text = SAMPLE.read_text().replace("quote: 2005 as the target year for achieving a "
                                      "significant decrease",
                                      "quote: 2006 as the target year")
    located = parse_located(text, "s.yaml")
    problems = check_quotes(located, read_sources(located.register, SEEDS))
    assert [str(p) for p in problems] == [
        "s.yaml:54:16: entries[1].sources[0].quote: trafficking-decrease: quote not found in "
        "000_4853c77995d8575d.txt: '2006 as the target year'"
    ]


# --- malformed input never raises anything but RegisterInvalid --------------------------------

_SAMPLE_LINES = SAMPLE.read_text().splitlines()


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    lines = list(_SAMPLE_LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "replace", "truncate", "indent"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "replace":
            junk = draw(st.sampled_from(
                ["", "- ", ": :", "{", "[1, 2", "date: 2005-02-30", "rule: FREQ=", "id: x",
                 "  - {from: nowhere#9}", "series: {rule: FREQ=DAILY, start: 2000}", "~",
                 "kind: 5", "&a [*a]", "!!python/object:os.system x", "0x1F", "2005..2001"]))
            lines[i] = lines[i][: len(lines[i]) - len(lines[i].lstrip())] + junk
        elif op == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        else:
            lines[i] = " " + lines[i]
    return "\n".join(lines)


def _outcome(parse: Callable[[], Register]) -> Register | list[str]:
    try:
        return parse()
    except RegisterInvalid as exc:
        return [str(p) for p in exc.problems]


def _read(parse: Callable[[], Located]) -> Located | list[str]:
    try:
        return parse()
    except RegisterInvalid as exc:
        return [str(p) for p in exc.problems]


def _whole(text: str, name: str) -> Register:
    """The register read with its text composed at once rather than entry by entry."""
    from calendar_tool.register.read import _parse, _Reuse

    return _parse(name, text, None, _Reuse({})).register


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_registers_give_clean_errors(text: str) -> None:
    """Any mutation of a valid register parses or raises RegisterInvalid, never a traceback;
    and reading its entries one by one gives exactly what composing it whole gives: the same
    register, or the same problems at the same lines and columns."""
    got = _outcome(lambda: parse_register(text, "m.yaml"))
    if isinstance(got, list):
        assert got
        assert all(p.startswith("m.yaml:") for p in got)
    assert got == _outcome(lambda: _whole(text, "m.yaml"))


@pytest.mark.parametrize("text", [
    # Entries at the left margin, comments between them, a key after the list, CRLF ends.
    HEADER.replace("entries:\n", "") + "entries:\n" + entry("a", "2005").replace("\n  ", "\n")
    .replace("  - ", "- ", 1) + "# a comment\n" + entry("b", "2005", area="victim")
    .replace("\n  ", "\n").replace("  - ", "- ", 1) + "actors:\n  x: {title: X}\n",
    (HEADER + entry("a", "2005") + "\n  # note\n" + entry("b", "{from: c}")).replace(
        "\n", "\r\n"),
    # Not split: a flow list; an alias to an anchor in another entry.
    HEADER.replace("entries:\n", "entries: [{id: a}]\n"),
    HEADER + entry("a", "2005", extra="note: &n shared") + entry("b", "2006", extra="note: *n"),
    # A YAML error inside the second entry, and a document marker inside the list.
    HEADER + entry("a", "2005") + entry("b", "2005", extra="note: [unclosed"),
    HEADER + entry("a", "2005") + "---\n" + entry("b", "2006"),
])
def test_entries_read_one_by_one_as_when_composed_whole(text: str) -> None:
    assert _outcome(lambda: parse_register(text, "r.yaml")) == \
        _outcome(lambda: _whole(text, "r.yaml"))


def test_real_and_generated_registers_read_the_same_either_way() -> None:
    from bench.generate import register_text

    for text in (REGISTER.read_text(), register_text(300, seed=3)):
        assert parse_register(text, "r.yaml") == _whole(text, "r.yaml")


@pytest.mark.parametrize("text", [
    "generated",
    # Problems in both halves, a duplicate id across them, a dangling reference.
    HEADER + entry("a", "2005", area="nowhere") + entry("c", "2006") + entry("a", "2007")
    + entry("b", "2005-13") + entry("d", "{from: zz}") + entry("e", "2008", actor="nobody"),
    # A YAML error in the second half: the whole text is composed to say where.
    HEADER + entry("a", "2005") + entry("b", "2006") + entry("c", "2007", extra="note: [x")
    + entry("d", "2008"),
    # An alias in the second half to an anchor in the first: not split, read whole.
    HEADER + entry("a", "2005", extra="note: &n shared") + entry("b", "2006")
    + entry("c", "2007", extra="note: *n") + entry("d", "2008"),
])
def test_a_read_shared_with_a_second_process_gives_the_same(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold read of a large register has a forked process read half the entries: the
    register, or every problem with its line, is the same as read in one process."""
    from bench.generate import register_text
    from calendar_tool.register import read as register

    if text == "generated":
        text = register_text(400, seed=5)
    alone = _outcome(lambda: parse_register(text, "r.yaml"))
    monkeypatch.setattr(register, "_APART_FROM", 0)
    monkeypatch.setattr(forked, "available", lambda: True)  # on a machine of one core too
    assert _outcome(lambda: parse_located(text, "r.yaml", apart=True).register) == alone


def test_a_second_process_that_fails_costs_only_its_time(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """If the forked process cannot send its half back, the read does that half itself."""
    from bench.generate import register_text
    from calendar_tool.register import pickles
    from calendar_tool.register import read as register

    text = register_text(200, seed=6)

    def fail(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(register, "_APART_FROM", 0)
    monkeypatch.setattr(forked, "available", lambda: True)  # on a machine of one core too
    monkeypatch.setattr(pickles, "dumps", fail)  # in the forked process: it exits 1
    assert parse_located(text, "r.yaml", apart=True).register == parse_register(text, "r.yaml")


def test_a_reread_reuses_the_entries_whose_text_did_not_change() -> None:
    """An edit reads again only what it touched; moving an entry keeps it; an edit that
    breaks an entry is reported at its line, whatever was reused around it."""
    a, b, c = entry("a", "2005"), entry("b", "2006"), entry("c", "{from: a, offset: P1M}")
    first = parse_located(HEADER + a + b + c, "r.yaml")
    edited = parse_located(HEADER + c + a + b.replace("2006", "2007"), "r.yaml",
                           known=first.reusable())
    old = {e.id: e for e in first.register.entries}
    new = {e.id: e for e in edited.register.entries}
    assert new["a"] is old["a"] and new["c"] is old["c"]
    assert new["b"] is not old["b"] and new["b"].date == DatedValue.year(2007)
    assert [e.id for e in edited.register.entries] == ["c", "a", "b"]
    with pytest.raises(RegisterInvalid) as info:
        parse_located(HEADER + c + a + b.replace("2006", "2006-13"), "r.yaml",
                      known=edited.reusable())
    line = (HEADER + c + a).count("\n") + 4
    assert [str(p) for p in info.value.problems] == [
        f"r.yaml:{line}:11: entries[2].date: '2006-13' is not a real date (bad month number "
        "13; must be 1-12)"]


_BEFORE = parse_located(SAMPLE.read_text(), "m.yaml")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_a_reread_after_an_edit_finds_what_a_full_read_finds(text: str) -> None:
    """Re-reading after an edit checks across entries only where the edit reached: it must
    give what a read from nothing gives, the same register or the same problems. Every entry
    outside the edit is the very object read before."""
    read = _read(lambda: parse_located(text, "m.yaml", before=_BEFORE))
    got = read.register if isinstance(read, Located) else read
    assert got == _outcome(lambda: parse_register(text, "m.yaml"))
    edit = read.edit if isinstance(read, Located) else None
    if isinstance(got, Register) and edit is not None:
        assert edit.follows(_BEFORE.register)
        old = _BEFORE.register.by_id
        assert all(e is old[e.id] for e in got.entries if e.id not in edit.ids)


_EDITED = HEADER + "".join([
    entry("a", "2005"),
    entry("s", "", kind="session", extra="series: {rule: FREQ=YEARLY, start: 2000, count: 5}"
          ).replace("    date: \n", ""),
    entry("b", "{from: a, offset: P1M}"),
    entry("c", "{from: b, offset: P1Y}"),
    entry("d", "{from: s#3, offset: -P6W}"),
])


@pytest.mark.parametrize(("old", "new", "problem"), [
    # Each edit touches one entry, and the problem shows in another that did not change.
    ("  - id: a\n", "  - id: a2\n", "entries[2].date.from: 'a' is not an entry of the register"),
    (entry("a", "2005"), "", "entries[1].date.from: 'a' is not an entry of the register"),
    ("{from: a, offset: P1M}", "{from: c, offset: P1M}", "dates refer to each other in a cycle"),
    ("count: 5", "count: 2", "entries[4].date.from: 's' has no occurrence #3"),
    ("series: {rule: FREQ=YEARLY, start: 2000, count: 5}", "date: 2000",
     "entries[4].date.from: 's' is not a series"),
    ("kind: deadline\n    date: 2005", "kind: standing\n    date: 2005", "standing"),
    # The calendar's last month: a month later is past its end (issue 23: 9999 is refused).
    ("    date: 2005\n", "    date: 2200-12-15\n",
     "entries[3].date: P1M from a falls outside the calendar"),
    ("{from: a, offset: P1M}", "{from: a, offset: P2M}", None),
])
def test_an_edit_is_checked_against_the_entries_that_depend_on_it(
        old: str, new: str, problem: str | None) -> None:
    first = parse_located(_EDITED, "r.yaml")
    text = _EDITED.replace(old, new, 1)
    assert text != _EDITED
    read = _read(lambda: parse_located(text, "r.yaml", before=first))
    got = read.register if isinstance(read, Located) else read
    assert got == _outcome(lambda: parse_register(text, "r.yaml"))
    if problem is None:
        assert isinstance(read, Located)
        edit = read.edit
        assert edit is not None and edit.ids == {"b", "c"}  # c counts from b
        assert isinstance(got, Register)
        assert [e is first.register.by_id[e.id] for e in got.entries] == \
            [True, True, False, True, True]
    else:
        assert isinstance(got, list) and any(problem in p for p in got), got


_LINKS = [
    ("  - id: a\n", "  - id: a2\n"), ("  - id: b\n", "  - id: x\n"),
    ("  - id: s\n", "  - id: c\n"), ("count: 5", "count: 3"), ("count: 5", "count: 1"),
    ("{from: a,", "{from: c,"), ("{from: a,", "{from: d,"), ("{from: b,", "{from: c,"),
    ("{from: b,", "{from: s#2,"), ("{from: b,", "{from: s,"), ("{from: s#3,", "{from: s#9,"),
    ("{from: s#3,", "{from: a,"), ("{from: s#3,", "{from: d,"), ("date: 2005\n", "date: 9999-12\n"),
    ("date: 2005\n", "date: 0001\n"), ("offset: -P6W", "offset: -P2005Y"),
    ("offset: P1Y}", "offset: P8000Y}"), ("kind: deadline\n    date: 2005", "kind: standing"),
    ("series: {rule: FREQ=YEARLY, start: 2000, count: 5}", "date: 2000"),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_LINKS), min_size=1, max_size=3))
def test_edits_of_links_between_entries_find_what_a_full_read_finds(
        edits: list[tuple[str, str]]) -> None:
    """Ids, anchors, series lengths and dates edited in a register where entries count from
    each other: the re-read gives exactly the register or problems of a read from nothing."""
    first = parse_located(_EDITED, "r.yaml")
    text = _EDITED
    for old, new in edits:
        text = text.replace(old, new, 1)
    got = _outcome(lambda: parse_located(text, "r.yaml", before=first).register)
    assert got == _outcome(lambda: parse_register(text, "r.yaml"))


def _reached(register: Register, ids: set[str]) -> set[str]:
    """`ids` and every entry counting from one of them, however indirectly: the slow way."""
    reached, grew = set(ids), True
    while grew:
        grew = False
        for e in register.entries:
            if e.relative is not None and e.relative.target in reached and e.id not in reached:
                reached.add(e.id)
                grew = True
    return reached


def _chain(dates: dict[int, str]) -> str:
    """Six entries, each dated on its own or from an entry before it (so never in a cycle)."""
    return HEADER + "".join(entry(f"e{i}", dates.get(i, f"20{10 + i}")) for i in range(6))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=2, max_size=8))
def test_edit_after_edit_finds_what_a_full_read_finds(steps: list[tuple[int, int]]) -> None:
    """Edits one after another, each read after the last as `run` reads them, so that what
    one read knows of which entries count from which carries over to the next: each entry
    in turn dated on its own or from another entry before it. Each read gives exactly the
    register of a read from nothing, and says the edit reached exactly the entries read
    afresh or gone and those counting from them."""
    dates: dict[int, str] = {}
    last = parse_located(_chain(dates), "r.yaml")
    for i, anchor in steps:
        dates[i] = f"{{from: e{anchor}, offset: P1M}}" if anchor < i else f"20{20 + anchor}"
        text = _chain(dates)
        read = parse_located(text, "r.yaml", before=last)
        assert read.register == parse_register(text, "r.yaml")
        assert read.edit is not None
        was = last.register.by_id
        touched = {e.id for e in read.register.entries if was.get(e.id) is not e}
        assert read.edit.ids == _reached(read.register, touched)
        last = read


@pytest.mark.parametrize(("old", "new", "reached"), [
    # A status recorded: the entry takes one more line.
    ("{from: a, offset: P1M}\n", "{from: a, offset: P1M}\n    status: {state: met, date: "
     "2005-06-01}\n", {"b", "c"}),
    # An entry gone: the entries take fewer lines; what counted from it did not.
    (entry("d", "{from: s#3, offset: -P6W}"), "", {"d"}),
])
def test_an_edit_that_changes_how_many_lines_the_entries_take_reads_only_them(
        old: str, new: str, reached: set[str]) -> None:
    """The blank lines standing for the entries in the text read apart from them are not
    what decides that nothing outside them changed: recording a status (a keeper's most
    common edit) is read again as an edit of that entry, as `run` reloads it, and gives the
    register a read from nothing gives."""
    first = parse_located(_EDITED, "r.yaml")
    text = _EDITED.replace(old, new, 1)
    assert text.count("\n") != _EDITED.count("\n")
    read = parse_located(text, "r.yaml", before=first)
    assert read.register == parse_register(text, "r.yaml")
    assert read.edit is not None and read.edit.ids == reached


def test_an_edit_outside_the_entries_checks_them_all() -> None:
    first = parse_located(_EDITED, "r.yaml")
    text = _EDITED.replace("  trafficking: {title: Trafficking in persons}\n", "")
    got = _outcome(lambda: parse_located(text, "r.yaml", before=first).register)
    assert isinstance(got, list) and len(got) == 5
    assert got == _outcome(lambda: parse_register(text, "r.yaml"))
    renamed = parse_located(_EDITED.replace("Test register", "Renamed"), "r.yaml",
                            before=first)
    assert renamed.edit is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_gives_clean_errors(text: str) -> None:
    """Arbitrary text is either a register or a list of problems."""
    try:
        parse_register(text, "t.yaml")
    except RegisterInvalid as exc:
        assert exc.problems


# --- splitting the entries, and what is read once per text ------------------------------------

_TWO = HEADER + entry("a", "2005") + entry("b", "2006", area="victim")


@pytest.mark.parametrize("text", [
    # Blank lines and comments between entries, at their indent and at the margin.
    HEADER + entry("a", "2005") + "\n  # between\n\n# at the margin\n" + entry("b", "2005-13")
    + "  # after the last\n",
    _TWO.replace("\n", "\r\n"),
    # An item whose first line holds only a comment, and one whose dash stands alone.
    _TWO.replace("  - id: a", "  - # the first\n    id: a").replace("  - id: b", "  -\n    id: b"),
    # `entries:` on the first line, with a comment, and the other keys after the list.
    "entries:  # the list first\n" + _TWO.split("entries:\n", 1)[1] + HEADER.split("entries:")[0],
    # A list indented by four, ended by a key at the margin.
    HEADER + (entry("a", "2005") + entry("b", "2006", area="victim")).replace("\n", "\n  ")
    .replace("  - id:", "    - id:", 1).rstrip(" ") + "actors:\n  x: {title: X}\n",
])
def test_split_keeps_every_line_where_it_was(text: str) -> None:
    """Each chunk is the text of its lines, starting on its own line; the head keeps the line
    count with the entries' lines blank; and what is read matches reading the text whole."""
    from calendar_tool.register.compose import split_entries

    parts = split_entries(text)
    assert parts is not None
    head, chunks = parts
    lines = text.splitlines(keepends=True)
    assert len(head.splitlines()) == len(lines)
    assert [c.text.lstrip(" ")[:1] for c in chunks] == ["-", "-"]
    for c in chunks:
        assert "".join(lines[c.line:c.line + c.text.count("\n")]) == c.text
        assert head.splitlines()[c.line] == ""
    assert _outcome(lambda: parse_register(text, "r.yaml")) == \
        _outcome(lambda: _whole(text, "r.yaml"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated(), _mutated(), st.booleans())
def test_a_split_knowing_the_text_before_is_the_split_from_nothing(
        old: str, new: str, crlf: bool) -> None:
    """Split knowing the chunks of another text (the one read before an edit), a text
    splits exactly as it does from nothing: the same head, the same chunks on the same
    lines, or no split at all."""
    from calendar_tool.register.compose import split_entries

    if crlf:
        old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
    before = split_entries(old) or split_entries(SAMPLE.read_text())
    assert before is not None
    assert split_entries(new, before[1]) == split_entries(new)


_NEWLINES = [n for n, ch in enumerate(SAMPLE.read_text()) if ch == "\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_NEWLINES), st.integers(-2, 2), st.integers(0, 3),
                          st.text(alphabet="\n -:ix#", max_size=4)), min_size=1, max_size=3))
def test_a_split_after_characters_edited_is_the_split_from_nothing(
        edits: list[tuple[int, int, int, str]]) -> None:
    """The same when the edit is of characters around line ends rather than of lines: lines
    joined, split, indented, items started or ended anywhere."""
    from calendar_tool.register.compose import split_entries

    old = SAMPLE.read_text()
    new = old
    for line_end, near, cut, put in edits:
        at = min(max(line_end + near, 0), len(new))
        new = new[:at] + put + new[at + cut:]
    before = split_entries(old)
    assert before is not None
    assert split_entries(new, before[1]) == split_entries(new)


def test_problems_after_comments_and_crlf_are_on_their_lines() -> None:
    """Lines in a chunk count from the chunk's first line, whatever came before it."""
    text = HEADER + entry("a", "2005") + "\n  # between\n\n" + entry("b", "2005-13")
    line = (HEADER + entry("a", "2005") + "\n  # between\n\n").count("\n") + 4
    expected = [f"r.yaml:{line}:11: entries[1].date: '2005-13' is not a real date (bad month "
                "number 13; must be 1-12)"]
    assert _problems(text) == expected
    assert _problems(text.replace("\n", "\r\n")) == expected


def test_a_second_entries_key_is_not_split() -> None:
    """Two `entries:` keys at the margin: the text is read whole, which reports the second."""
    from calendar_tool.register.compose import split_entries

    text = _TWO + "entries:\n" + entry("c", "2007")
    assert split_entries(text) is None
    line = _TWO.count("\n") + 1
    assert f"r.yaml:{line}:1: entries: appears twice in the same mapping" in _problems(text)


def test_a_value_repeated_across_entries_is_checked_in_each() -> None:
    """Dates, offsets and rules are read once per text, their problems reported each time."""
    series = "series: {rule: FREQ=SOMETIMES, start: 1992}"
    text = (HEADER + entry("a", "2005-02-30") + entry("b", "2005-02-30")
            + entry("c", "{from: a, offset: soon}") + entry("d", "{from: a, offset: soon}")
            + entry("e", "2005", kind="session").replace("date: 2005", series)
            + entry("f", "2005", kind="session").replace("date: 2005", series))
    assert [p.split(": ", 1)[0] for p in _problems(text)] == [
        f"r.yaml:{line}:{col}" for line, col in
        ((16, 11), (23, 11), (30, 29), (37, 29), (44, 20), (51, 20))]
    good = HEADER + entry("a", "2005-02") + entry("b", "2005-02")
    a, b = parse_register(good, "r.yaml").entries
    assert a.date == b.date == DatedValue.month(2005, 2)


def test_a_misspelt_kind_lists_the_kinds() -> None:
    text = HEADER + entry("a", "2005", kind="deadlne")
    assert _problems(text) == [
        "r.yaml:15:11: entries[0].kind: 'deadlne' is not one of: deadline, target, report, "
        "period, event, session, standing"]


_OCCURRENCE = ("series:\n  rule: FREQ=YEARLY\n  start: 2000\n  occurrences:\n"
               "    2: {date: 2001, sources: [{doc: DOC, para: '1', quote: q}]}")


def test_sources_of_occurrences_are_counted_and_checked() -> None:
    """A known occurrence's sources are quotes too, and their documents must be declared."""
    from calendar_tool.register import quote_count

    ok = HEADER + entry("s", "x", kind="session").replace("    date: x\n", "") \
        .replace("  - id: s", "  - id: s\n    " + _OCCURRENCE.replace("DOC", "D/1")
                 .replace("\n", "\n    "))
    assert quote_count(parse_register(ok, "r.yaml")) == 2
    assert _problems(ok.replace("doc: D/1, para: '1', quote: q}]}", "doc: D/2, para: '1', "
                                "quote: q}]}")) == [
        "r.yaml:18:41: entries[0].series.occurrences[2].sources[0].doc: 'D/2' is not declared "
        "under documents; did you mean 'D/1'?"]


def _cycles_naively(targets: dict[str, str], order: list[str]) -> list[tuple[str, str]]:
    """(first entry, loop) of each cycle, following the chain from every entry afresh."""
    reported: set[str] = set()
    found = []
    for start in order:
        chain: list[str] = []
        current = start
        while current in targets:
            if current in chain:
                cycle = chain[chain.index(current):]
                if not reported.intersection(cycle):
                    reported.update(cycle)
                    found.append((min(cycle, key=order.index), " -> ".join([*cycle, current])))
                break
            chain.append(current)
            current = targets[current]
    return found


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 12)), min_size=1, max_size=12))
def test_cycles_are_reported_once_each_at_their_first_entry(froms: list[int | None]) -> None:
    """Entry i counts from entry froms[i] (None: it has a date; past the end: a missing
    entry): each cycle is one problem, at its first entry, worded from where the first chain
    in the register's order enters it."""
    ids = [f"e{i}" for i in range(len(froms))]
    targets = {ids[i]: f"e{j}" for i, j in enumerate(froms) if j is not None}
    text = HEADER + "".join(entry(i, f"{{from: {targets[i]}}}" if i in targets else "2005")
                            for i in ids)
    header = HEADER.count("\n")
    expected = [f"r.yaml:{header + 7 * ids.index(first) + 4}:11: entries[{ids.index(first)}]"
                f".date.from: dates refer to each other in a cycle: {loop}"
                for first, loop in sorted(_cycles_naively(targets, ids),
                                          key=lambda c: ids.index(c[0]))]  # problems come sorted
    got = _outcome(lambda: parse_register(text, "r.yaml"))
    problems = got if isinstance(got, list) else []
    assert [p for p in problems if "in a cycle" in p] == expected


@pytest.mark.parametrize(("cores", "forks"), [({0}, False), ({0, 1}, True), ({3, 5, 7}, True)])
def test_a_read_forks_only_where_another_core_can_run_the_copy(
        monkeypatch: pytest.MonkeyPatch, cores: set[int], forks: bool) -> None:
    """On one core (`taskset -c 0`, a container given one) a forked copy would only run by
    turns with the reader and add the pickling of what it read: a cold read stays in one
    process there."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cores)
    assert forked.available() is forks


@pytest.mark.parametrize("when", ["2004", "2004-05", "2004-05-01..2004-05-03"])
def test_a_status_date_is_a_day_or_left_out(when: str) -> None:
    """A status's date is the day it took effect; a year or month is refused rather than
    read as its first day, and the message says the date may be left out (a keeper would
    otherwise invent a day the text does not give)."""
    text = HEADER + entry("a", "2005", extra=f"status: {{state: met, date: {when}}}")
    assert _problems(text) == [
        "r.yaml:20:32: entries[0].status.date: the date a status changed is a day, such as "
        "2006-01-15; leave it out when the text gives none"]
    assert parse_register(HEADER + entry("a", "2005", extra="status: {state: met}"),
                          "r.yaml").entries[0].status.date is None


def test_an_empty_date_says_what_a_date_is() -> None:
    """`date:` left empty: the problem says what a date is written as, not only "must be
    text, not nothing"."""
    assert _problems(HEADER + entry("a", "")) == [
        "r.yaml:16:10: entries[0].date: must be a date such as 2005, 2005-06, 2005-06-30 or "
        "2001..2005, not nothing"]


def test_a_source_cited_again_is_the_same_source_and_each_mistake_is_reported() -> None:
    """A source written again (the same three fields, in any order) is read as the source
    read before it, one object; one with a mistake is reported wherever it is written, not
    only the first time."""
    same = "    sources: [{doc: D/1, para: '1', quote: a quote}]"
    cited = {"e1": same, "e2": same,
             "e3": "    sources: [{quote: a quote, doc: D/1, para: '1'}]",
             "e4": '    sources: [{doc: D/1, para: "1\\n2", quote: a quote}]',
             "e5": '    sources: [{doc: D/1, para: "1\\n2", quote: a quote}]'}
    text = HEADER + "".join(entry(k, "2005").replace(same, v) for k, v in cited.items())
    assert _problems(text) == [
        f"r.yaml:{line}:32: entries[{i}].sources[0].para: must be one line: lists and feeds "
        "show it on one" for i, line in ((3, 40), (4, 47))]
    reg = parse_register(text.replace('"1\\n2"', "'1'"), "r.yaml")
    assert len({id(e.sources[0]) for e in reg.entries}) == 1


def test_a_source_file_is_named_within_the_sources_folder() -> None:
    """A document's or a source's `file` is read from the folder given to `validate
    --check-sources` and `coverage`: an absolute path or one leaving it with `..` was taken,
    and they read the file it named wherever it was."""
    text = HEADER.replace(
        '  D/1: {title: A document, url: "https://example.org/d1"}',
        '  D/1: {title: A document, url: "https://example.org/d1", file: /etc/passwd}',
    ) + entry("e1", "2005").replace(
        "quote: a quote}]", "quote: a quote, file: ../../etc/passwd}]")
    said = "must name a file in the sources folder, such as 000_4853c77995d8575d.txt: not " \
           "an absolute path, nor one that leaves the folder (..)"
    assert _problems(text) == [
        f"r.yaml:11:65: documents.D/1.file: '/etc/passwd' {said}",
        f"r.yaml:19:59: entries[0].sources[0].file: '../../etc/passwd' {said}"]
    fine = text.replace("../../etc/passwd", "texts/d1.txt").replace("/etc/passwd", "d1.txt")
    assert [s.file for s in parse_register(fine, "r.yaml").entries[0].sources] == \
        ["texts/d1.txt"]
