"""Coverage: which passages of the source texts carry a time expression, and which of those
the register cites or has reviewed as not a commitment. Pure: texts in, passages out.

A source file is split into passages, its paragraphs: a passage starts at a paragraph mark
("27.", "(c)", "IV.", a footnote's number), at a line indented with a tab, at an indented
line that starts a sentence after one that ended, and after a blank line, unless the blank
line only breaks a sentence (the narrow columns of a draft break a paragraph across blank
lines: the line before it ends without punctuation and the line after it starts in lower
case). A passage is dated when one of `TIME_EXPRESSIONS` occurs in it, and covered when a
quote of the register occurs in it (or runs through it): cited by an entry, by a status or
by the passage dating a document, or reviewed. Quotes are found as `--check-sources` finds
them (`quotes.source_variants`): line breaks, repeated spaces and words hyphenated across
lines do not matter.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from calendar_tool.errors import SourcesMissing
from calendar_tool.model import Register, Source
from calendar_tool.register.checks import cited
from calendar_tool.register.quotes import TYPOGRAPHY, normalise_quote

_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|"
           "December")
_UNITS = ("first|second|third|fourth|fifth|sixth|seventh|eighth|ninth")
# "fifty-sixth", also as the joined text has it when a line broke it after the hyphen.
_ORDINALS = (rf"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)-?)?(?:{_UNITS})"
             r"|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth"
             r"|eighteenth|nineteenth|twentieth|thirtieth|fortieth|fiftieth|sixtieth"
             r"|seventieth|eightieth|ninetieth|\d+(?:st|nd|rd|th)")
_NUMBER = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|\d+)"

# What makes a passage dated: one table, (name, pattern), matched case-insensitively but for
# month names. README ("Curating: coverage") lists them; a register for other texts may need
# more, and they are added here.
TIME_EXPRESSIONS: tuple[tuple[str, str], ...] = (
    # A year, but not one inside a symbol (E/CN.15/2001/5, resolution 2000/14, A/54/2000).
    ("year", r"(?<![/\d])(?:19|20)\d\d(?![/\d])"),
    ("date", rf"(?-i:\b\d{{1,2}}(?:\s*-\s*\d{{1,2}})?\s+(?:{_MONTHS})\b)"),
    ("month", rf"(?-i:\b(?:{_MONTHS})\s+(?:19|20)\d\d\b)"),
    ("by", r"\bby (?:the )?(?:end of |early |mid-|the year )?(?:19|20)\d\d\b"
           r"|\bby the end of\b|\bbefore the end of\b"),
    ("within", rf"\bwithin (?:a |the next |{_NUMBER} )(?:days?|weeks?|months?|years?)\b"
               r"|\bwithin the (?:biennium|period|time-frame)\b"),
    ("prior to", r"\bprior to\b"),
    ("session", r"\bsessions?\b|\binter-?sessional\b"),
    ("ordinal", rf"\b(?:{_ORDINALS})\s+(?:plenary\s+)?(?:meeting|day|congress|conference|"
                r"United Nations Congress)\b"),
    ("annual", r"\bannual(?:ly)?\b|\byearly\b"),
    ("every N years", rf"\bevery {_NUMBER} years\b|\bquinquennial\b|\bbiennial\b"),
    ("biennium", r"\bbiennium\b"),
    ("periodic", r"\bperiodic(?:al|ally)?\b|\bregularly\b|\bon a regular basis\b"),
    ("urgency", r"\bas (?:soon|quickly|expeditiously|early) as possible\b|\bwithout delay\b"
                r"|\bat an early date\b|\bin the coming years\b|\bas a matter of urgency\b"
                r"|\burgent(?:ly)?\b|\bspeedy\b|\bexpeditious(?:ly)?\b|\bpromptly\b"
                r"|\bimmediate(?:ly)?\b|\btimely\b"),
    ("entry into force", r"\bentry into force\b|\benter(?:s|ed)? into force\b"
                         r"|\btakes? effect\b"),
    ("deadline", r"\bdeadlines?\b|\btime-?frames?\b|\btime-?lines?\b|\btime-bound\b"
                 r"|\btarget (?:date|year)\b|\bmedium-term plan\b"),
)
# Every expression starts a word: saying so up front lets the engine skip the inside of
# words, which halves the time to scan a text.
_TIME = re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{p})" for _, p in TIME_EXPRESSIONS) + ")",
                   re.IGNORECASE)

# A paragraph's mark at the start of a line: "27.", "(c)", "(iv)", "IV." or "B.", a
# footnote's number ("1  Adopted by", "¹See", or alone on its line before the note's text).
# Years ("2005.") are not marks (at most three digits), nor a day starting a line ("17
# December 1999").
_MARK = re.compile(
    r"^[ \t]*\**[ \t]*(?:(?P<para>\d{1,3})\.(?=\s|$)|\((?P<item>[a-z]{1,5}|\d{1,2})\)(?=\s)"
    r"|(?P<sect>[IVXLC]+|[A-Z])\.(?=\s)"
    rf"|(?P<note>\d{{1,3}})[ \t]+(?=[A-Z*\"(])(?!(?:{_MONTHS})\b)"
    r"|(?P<sup>[¹²³⁴⁵⁶⁷⁸⁹⁰]+)|(?P<alone>\d{1,3})[ \t]*$)")
_ENDS_SENTENCE = re.compile(r"[.;:!?][\"')\]*]*\d{0,2}\s*$")
_BREAK_OR_SPACE = re.compile(r"(\w)-[ \t]*\r?\n\s*(\w)|\s+")
# What `_flatten` replaces: a word broken at a line end, or whitespace other than one space
# (a single other whitespace character becomes a space by `_SPACES`, keeping offsets).
_BREAK_OR_SPACES = re.compile(r"(\w)-[ \t]*\r?\n\s*(\w)|\s\s+")
_SPACES = {i: " " for i in range(0x3000 + 1) if chr(i).isspace()}
_SUPERSCRIPTS = str.maketrans("¹²³⁴⁵⁶⁷⁸⁹⁰", "1234567890")


class Cover(StrEnum):
    """What covers a dated passage: a quote citing it, one reviewing it, or nothing."""

    CITED = "cited"
    REVIEWED = "reviewed"
    LEFT = "left"


@dataclass(frozen=True)
class Passage:
    """A paragraph of a source file: where it is (lines from 1), the nearest paragraph mark
    (`context`: "para. 22(c)", "note 3", "near para. 4"), its text on one line, and the time
    expressions found in it."""

    file: str
    line: int
    end_line: int
    context: str
    text: str
    times: tuple[str, ...]


@dataclass(frozen=True)
class Covered:
    """A dated passage and what covers it: the entries (or documents) citing it, or the
    reasons it was reviewed as not a commitment."""

    passage: Passage
    state: Cover
    by: tuple[str, ...]


@dataclass(frozen=True)
class Coverage:
    """Every dated passage of the register's source files, in file and line order."""

    passages: tuple[Covered, ...]

    def count(self, state: Cover) -> int:
        return sum(1 for c in self.passages if c.state is state)

    @property
    def left(self) -> list[Covered]:
        return [c for c in self.passages if c.state is Cover.LEFT]


def source_files(register: Register) -> list[str]:
    """The files the register's documents and sources name, sorted."""
    names = {d.file for d in register.documents.values() if d.file}
    names.update(s.file for _, s in _quotes(register) if s.file)
    return sorted(names)


def _named_by(register: Register, name: str) -> str:
    """A missing file with what names it, so that a keeper knows where to look: "res-1.txt
    (document R/1's file)", or a source's own `file` (`validate --check-sources` says where)."""
    docs = [symbol for symbol, d in register.documents.items() if d.file == name]
    if docs:
        return f"{name} (the file of document {', '.join(docs)})"
    return f"{name} (a source's file: validate --check-sources says which)"


def coverage_of(register: Register, texts: dict[str, str]) -> Coverage:
    """The dated passages of every source file of the register (`texts`: file name to
    text), each cited, reviewed or left. SourcesMissing names a file that is not in
    `texts`."""
    files = source_files(register)
    missing = [name for name in files if name not in texts]
    if missing:
        raise SourcesMissing("not in the sources folder: " + ", ".join(
            _named_by(register, name) for name in missing))
    by_file: dict[str, list[tuple[str, Cover, str]]] = {name: [] for name in files}
    for who, src in _quotes(register):
        doc = register.documents.get(src.doc)
        name = src.file or (doc.file if doc else None)
        if name in by_file:
            by_file[name].append((normalise_quote(src.quote), *who))
    out: list[Covered] = []
    for name in files:
        out += _file_coverage(name, texts[name], by_file[name])
    return Coverage(tuple(out))


def _quotes(register: Register) -> Iterator[tuple[tuple[Cover, str], Source]]:
    """Every quote of the register with what it covers a passage as: cited by an entry
    (its id) or by a document's date (its key), or reviewed (the reason)."""
    for entry in register.entries:
        for _, src in cited(entry, ""):
            yield (Cover.CITED, entry.id), src
    for key, doc in register.documents.items():
        if doc.dated_by is not None:
            yield (Cover.CITED, f"date of {key}"), doc.dated_by
    for r in register.reviewed:
        yield (Cover.REVIEWED, r.reason), r.source


def _file_coverage(name: str, text: str, quotes: list[tuple[str, Cover, str]]
                   ) -> list[Covered]:
    """The dated passages of one file, each with what covers it."""
    t = unicodedata.normalize("NFC", text).translate(TYPOGRAPHY)
    lines = t.split("\n")
    starts = [0, *(m.end() for m in re.finditer(r"\n", t))]  # each line's offset in t
    spans = _spans(lines)
    firsts = [first for first, _ in spans]

    def passages(at: int, end: int, flat: tuple[str, list[int], list[int]]) -> range:
        """The passages a match from `at` to `end` (exclusive) of a flattened text meets."""
        first = _line_of(_origin(at, *flat[1:]), starts) - 1
        last = _line_of(_origin(end - 1, *flat[1:]), starts) - 1
        return range(max(bisect_right(firsts, first) - 1, 0), bisect_right(firsts, last))

    joined, kept = _flatten(t, True), _flatten(t, False)
    times: dict[int, dict[str, None]] = {}
    for m in _TIME.finditer(joined[0]):
        for i in passages(m.start(), m.end(), joined):
            times.setdefault(i, {})[m.group(0)] = None
    hits: dict[int, dict[Cover, list[str]]] = {}
    for quote, state, who in quotes:
        for flat in (joined, kept):
            at = flat[0].find(quote) if quote else -1
            while at >= 0:
                for i in passages(at, at + len(quote), flat):
                    if i in times:
                        hits.setdefault(i, {}).setdefault(state, []).append(who)
                at = flat[0].find(quote, at + 1)
    out = []
    contexts = _contexts(lines, spans)
    for i in sorted(times):
        found = hits.get(i, {})
        state = next((s for s in (Cover.CITED, Cover.REVIEWED) if s in found), Cover.LEFT)
        first, last = spans[i]
        passage = Passage(name, first + 1, last + 1, contexts[i],
                          _one_line("\n".join(lines[first:last + 1])), tuple(times[i]))
        out.append(Covered(passage, state, tuple(dict.fromkeys(found.get(state, ())))))
    return out


def _flatten(t: str, joined: bool) -> tuple[str, list[int], list[int]]:
    """`t` as `quotes.source_variants` gives it (`joined`: its first variant, line-end
    hyphens joined; else kept), with where each piece of it comes from in `t`: output
    offsets `outs[i]` onwards come from `ins[i]` onwards."""
    pieces: list[str] = []
    outs: list[int] = []
    ins: list[int] = []
    n = pos = 0
    for m in _BREAK_OR_SPACES.finditer(t):
        if m.start() > pos:
            outs.append(n)
            ins.append(pos)
            pieces.append(t[pos:m.start()])
            n += m.start() - pos
        if m.group(1) is not None:
            left = m.group(1) if joined else m.group(1) + "-"
            outs += [n, n + len(left)]
            ins += [m.start(1), m.start(2)]
            pieces += [left, m.group(2)]
            n += len(left) + 1
        else:
            outs.append(n)
            ins.append(m.start())
            pieces.append(" ")
            n += 1
        pos = m.end()
    outs.append(n)
    ins.append(pos)
    pieces.append(t[pos:])
    return "".join(pieces).translate(_SPACES), outs, ins


def _origin(at: int, outs: list[int], ins: list[int]) -> int:
    """Where the character at `at` of a flattened text comes from in the text."""
    i = bisect_right(outs, at) - 1
    return ins[i] + (at - outs[i])


def _line_of(offset: int, starts: list[int]) -> int:
    """The line (from 1) of an offset of the text."""
    return bisect_right(starts, offset)


def _spans(lines: list[str]) -> list[tuple[int, int]]:
    """The passages of a file's lines, as their first and last lines (from 0): see the
    module docstring."""
    spans: list[tuple[int, int]] = []
    prev: str | None = None  # the last line that is not blank
    blank = False
    for i, line in enumerate(lines):
        if not line.strip():
            blank = prev is not None
            continue
        if prev is None or _starts_passage(line, prev, blank):
            if spans and _mark_only(lines, spans[-1]):
                spans[-1] = (spans[-1][0], i)  # "1." alone on its line: its text follows
            else:
                spans.append((i, i))
        else:
            spans[-1] = (spans[-1][0], i)
        prev, blank = line, False
    return spans


def _contexts(lines: list[str], spans: list[tuple[int, int]]) -> list[str]:
    """Each passage's context: its own paragraph mark, or the nearest one before it."""
    out = []
    para = item = ""
    for first, _ in spans:
        context, para, item = _context(_MARK.match(lines[first]), para, item)
        out.append(context)
    return out


def _starts_passage(line: str, prev: str, blank: bool) -> bool:
    """Whether `line` (not blank) starts a passage after `prev` (blank lines between them:
    `blank`)."""
    if _MARK.match(line) or line.startswith("\t"):
        return True
    ended = _ENDS_SENTENCE.search(prev.rstrip()) is not None or prev.rstrip().endswith(",")
    if line[:1].isspace() and line.lstrip()[:1].isupper() and ended:
        return True
    return blank and not (not ended and line.lstrip()[:1].islower())


def _mark_only(lines: list[str], span: tuple[int, int]) -> bool:
    """Whether a passage is a paragraph mark alone ("6." on a line of its own)."""
    if span[0] != span[1]:
        return False
    mark = _MARK.match(lines[span[0]])
    return mark is not None and not lines[span[0]][mark.end():].strip()


def _context(mark: re.Match[str] | None, para: str, item: str) -> tuple[str, str, str]:
    """The context shown for a passage starting with `mark`, and the paragraph and item it
    leaves current."""
    if mark is None:
        near = f"{para}({item})" if item else para
        return (f"near para. {near}" if near else "", para, item)
    if mark.group("para"):
        return f"para. {mark.group('para')}", mark.group("para"), ""
    if mark.group("item"):
        label = f"{para}({mark.group('item')})"
        return f"para. {label}", para, mark.group("item")
    if mark.group("sect"):
        return f"heading {mark.group('sect')}.", "", ""
    note = mark.group("note") or mark.group("alone") or \
        (mark.group("sup") or "").translate(_SUPERSCRIPTS)
    return f"note {note}", para, item


def _one_line(text: str) -> str:
    """A passage's lines as one line, hyphenated words joined, spaces folded."""
    return _BREAK_OR_SPACE.sub(lambda m: m.group(1) + m.group(2) if m.group(1) else " ",
                               unicodedata.normalize("NFC", text).translate(TYPOGRAPHY)
                               ).strip()


