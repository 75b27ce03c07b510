"""`coverage`: the dated passages of the source texts, which quote covers each, and the
command that lists those left (register/coverage.py, cli/curating.py)."""

from __future__ import annotations

import json
import shutil
import unicodedata
from pathlib import Path

import pytest

from calendar_tool.model import Register
from calendar_tool.register import Cover, coverage_of, read_sources
from calendar_tool.register.coverage import _flatten
from calendar_tool.register.quotes import TYPOGRAPHY, source_variants
from tests.conftest import CLI
from tests.paths import FIXTURES, REGISTER, SEEDS
from tests.registers import load_register

CURATION = FIXTURES / "curation.yaml"
TEXTS = FIXTURES / "texts"


@pytest.fixture(scope="module")
def curation() -> Register:
    return load_register(CURATION)


def test_every_dated_passage_with_what_covers_it(curation: Register) -> None:
    """Each passage with a time expression, with its lines, context, expressions and what
    covers it: a reviewed quote, an entry's quote (a word hyphenated across lines included),
    the passage dating the document, or nothing."""
    found = coverage_of(curation, read_sources(curation, TEXTS))
    assert [(c.passage.line, c.passage.end_line, c.passage.context, c.passage.times,
             c.state, c.by) for c in found.passages] == [
        (5, 5, "", ("3 March", "1999"), Cover.REVIEWED, ("History, recalled; no commitment.",)),
        (7, 7, "para. 1", ("session",), Cover.CITED, ("report-second-session",)),
        (9, 9, "para. 2", ("as soon as possible",), Cover.CITED, ("ratify-asap",)),
        (11, 13, "para. 3", ("enters into force", "ninetieth day"), Cover.CITED,
         ("twentieth-ratification", "convention-in-force")),
        (17, 20, "para. 5", ("2003", "within a year", "entry into force"), Cover.LEFT, ()),
        (24, 25, "near para. 6", ("42nd plenary meeting", "15 June", "2001"), Cover.CITED,
         ("date of R/1",)),
    ]
    assert found.passages[3].passage.text == (
        "3. Notes that the Convention enters into force on the ninetieth day after the deposit "
        "of the twentieth instrument of ratification;")


def test_a_blank_line_inside_a_sentence_does_not_end_the_passage(curation: Register) -> None:
    """Narrow columns break a sentence across a blank line: the passage runs on when the line
    before it ends without punctuation and the line after it starts in lower case."""
    [left] = coverage_of(curation, read_sources(curation, TEXTS)).left
    assert left.passage.text == (
        "5. Requests the Secretary-General to keep the matter under review and to report on it "
        "in 2003 and within a year of the entry into force;")


def test_the_command_lists_the_passages_left_and_the_summary(cli: CLI) -> None:
    """`coverage DIR` prints FILE:LINE: CONTEXT: PASSAGE [EXPRESSIONS] for each passage left,
    then the counts, and exits 0."""
    result = cli("coverage", str(TEXTS), register=CURATION)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "res-1.txt:17: para. 5: 5. Requests the Secretary-General to keep the matter under "
        "review and to report on it in 2003 and within a year of the entry into force; [2003, "
        "within a year, entry into force]\n"
        "4 of 6 dated passages cited (66.6%), 1 reviewed as not a commitment; 1 left (83.3% "
        "cited or reviewed)\n")


def test_all_lists_every_dated_passage_with_what_covers_it(cli: CLI) -> None:
    """`--all` marks each dated passage cited (by which entries), reviewed (why) or left."""
    lines = cli("coverage", str(TEXTS), "--all", register=CURATION).stdout.splitlines()
    assert [line.split(": ", 1)[1].split("] ", 1)[0] + "]" for line in lines[:-1]] == [
        "[reviewed: History, recalled; no commitment.]",
        "[cited: report-second-session]",
        "[cited: ratify-asap]",
        "[cited: twentieth-ratification; convention-in-force]",
        "[left]",
        "[cited: date of R/1]",
    ]


def test_json_is_every_passage_and_the_counts(cli: CLI) -> None:
    """`--format json` gives every dated passage with its state and the summary."""
    data = json.loads(cli("coverage", str(TEXTS), "--format", "json",
                          register=CURATION).stdout)
    assert data["passages"][4] == {
        "file": "res-1.txt", "line": 17, "end_line": 20, "context": "para. 5",
        "text": "5. Requests the Secretary-General to keep the matter under review and to "
                "report on it in 2003 and within a year of the entry into force;",
        "times": ["2003", "within a year", "entry into force"], "state": "left", "by": []}
    assert data["summary"] == {
        "dated": 6, "cited": 4, "reviewed": 1, "left": 1,
        "text": "4 of 6 dated passages cited (66.6%), 1 reviewed as not a commitment; 1 left "
                "(83.3% cited or reviewed)"}


def test_missing_folder_or_file_exits_5(cli: CLI, tmp_path: Path) -> None:
    """No sources folder, or a file a document names missing from it, is exit code 5."""
    gone = cli("coverage", str(tmp_path / "nope"), register=CURATION)
    assert (gone.exit_code, gone.stderr) == (
        5, f"error: no sources folder at '{tmp_path / 'nope'}'\n")
    empty = cli("coverage", str(tmp_path), register=CURATION)
    assert (empty.exit_code, empty.stderr) == (
        5, "error: not in the sources folder: res-1.txt (the file of document R/1)\n")
    # A file a source names itself (the same text reprinted elsewhere), missing too.
    reprinted = tmp_path / "r.yaml"
    reprinted.write_text(CURATION.read_text(encoding="utf-8").replace(
        'sources: [{doc: R/1, para: "1", quote: report to it at its second session}]',
        'sources: [{doc: R/1, file: reprint.txt, para: "1", quote: report to it at its '
        'second session}]'), encoding="utf-8")
    shutil.copy(CURATION.parent / "texts" / "res-1.txt", tmp_path / "res-1.txt")
    both = cli("coverage", str(tmp_path), register=reprinted)
    assert (both.exit_code, both.stderr) == (
        5, "error: not in the sources folder: reprint.txt (a source's file: validate "
           "--check-sources says which)\n")


# Named, not globbed: a checkout without the seeds beside it fails here rather than testing
# nothing.
SEED_TEXTS = ["000_4853c77995d8575d.txt", "001_cdad1b6ede30b35f.txt", "002_f0ca53409c86a829.txt",
              "003_63b4a395bd19ed25.txt", "004_ada619865d989696.txt"]


@pytest.mark.parametrize("name", SEED_TEXTS)
def test_quotes_are_found_as_check_sources_finds_them(name: str) -> None:
    """The flattened text coverage searches is, character for character, the one
    `--check-sources` proves quotes against (both ways with hyphens at line ends)."""
    text = (SEEDS / name).read_text(encoding="utf-8")
    flat = unicodedata.normalize("NFC", text).translate(TYPOGRAPHY)
    assert (_flatten(flat, True)[0], _flatten(flat, False)[0]) == source_variants(text)


def test_the_real_register_covers_the_texts(real: Register, cli: CLI) -> None:
    """At least 95% of the dated passages of the five texts are cited or reviewed, and the
    command lists every one left (issue 20's "Done when")."""
    found = coverage_of(real, read_sources(real, SEEDS))
    dated = len(found.passages)
    assert dated > 150
    assert 100 * (dated - len(found.left)) >= 95 * dated
    assert found.count(Cover.CITED) + found.count(Cover.REVIEWED) + len(found.left) == dated
    result = cli("coverage", str(SEEDS), "--fail-under", "95", register=REGISTER)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(found.left) + 1
    assert lines[-1].startswith(f"{found.count(Cover.CITED)} of {dated} dated passages cited")


def test_fail_under_refuses_what_is_not_a_percentage(cli: CLI) -> None:
    """`nan` compares false with everything, so taken as a percentage it would pass any
    coverage: refused like 101, a usage error naming the option."""
    for value, why in (("nan", "'nan' is not a number."),
                       ("101", "101.0 is not in the range 0<=x<=100.")):
        result = cli("coverage", str(SEEDS), "--fail-under", value, register=REGISTER)
        assert result.exit_code == 2
        assert result.stderr.splitlines()[-1] == f"Error: Invalid value for '--fail-under': {why}"
