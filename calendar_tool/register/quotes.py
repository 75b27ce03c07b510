"""Quotes against their sources: every quote must occur in the text its source names,
however the text was broken across lines."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from calendar_tool.errors import Problem, SourcesMissing, os_reason
from calendar_tool.model import Register, Source
from calendar_tool.register.checks import cited, head_sources
from calendar_tool.register.located import Located

TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                             "\u2013": "-", "\u2014": "-", "\u00a0": " ", "\u00ad": ""})
_SOFT_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\r?\n\s*(\w)")
_SPACE = re.compile(r"\s+")


def normalise_quote(text: str) -> str:
    """Fold typography and whitespace so a quote matches however the text was broken."""
    text = unicodedata.normalize("NFC", text).translate(TYPOGRAPHY)
    return _SPACE.sub(" ", text).strip()


def source_variants(text: str) -> tuple[str, str]:
    """The text with line-end hyphens joined ("compre-/hensive") and kept ("inter-/sessional")."""
    text = unicodedata.normalize("NFC", text).translate(TYPOGRAPHY)
    joined = _SPACE.sub(" ", _SOFT_HYPHEN_BREAK.sub(r"\1\2", text))
    kept = _SPACE.sub(" ", _SOFT_HYPHEN_BREAK.sub(r"\1-\2", text))
    return joined, kept


def check_quotes(located: Located, texts: dict[str, str]) -> list[Problem]:
    """Every quote that does not occur in its cited file, as a problem naming the entry.

    `texts` maps file names to their contents; a source's file is its own `file`, else its
    document's. SourcesMissing when it has none of the files the register cites: another
    folder given by mistake is one line, not a problem for each of hundreds of quotes.
    """
    reg = located.register
    if not texts:
        _none_there(reg)
    prepared = {name: source_variants(t) for name, t in texts.items()}
    problems: list[Problem] = []
    for entry in reg.entries:
        for path, src in cited(entry, located.paths[entry.id]):
            problems += _quote_problems(located, prepared, path, src, f"{entry.id}: ")
    for path, src in head_sources(reg):
        problems += _quote_problems(located, prepared, path, src, "")
    return problems


def _none_there(reg: Register) -> None:
    """SourcesMissing when the register cites any file, none of which is there."""
    names = sorted(_cited_files(reg))
    if len(names) == 1:
        raise SourcesMissing(f"the text the register cites is not in the sources folder "
                             f"({names[0]})")
    if names:
        raise SourcesMissing(f"none of the {len(names)} texts the register cites is in the "
                             f"sources folder ({', '.join(names[:2])}"
                             f"{', …' if len(names) > 2 else ''})")


def _quote_problems(located: Located, prepared: dict[str, tuple[str, str]], path: str,
                    src: Source, who: str) -> list[Problem]:
    """What is wrong with one source's quote (`who`: the entry citing it, if any)."""
    doc = located.register.documents.get(src.doc)
    name = src.file or (doc.file if doc else None)
    variants = prepared.get(name) if name else None
    if name is None:
        message = f"document {src.doc!r} names no file to check the quote against"
        return [located.problem(f"{path}.doc", f"{who}{message}")]
    if variants is None:
        return [located.problem(f"{path}.file" if src.file else f"{path}.doc",
                                f"{who}source file {name!r} is not in the sources folder")]
    if not any(normalise_quote(src.quote) in v for v in variants):
        return [located.problem(f"{path}.quote",
                                f"{who}quote not found in {name}: {src.quote!r}")]
    return []


def read_sources(reg: Register, folder: Path) -> dict[str, str]:
    """Read every file the register's sources name from `folder`; SourcesMissing when the
    folder is not there or it, or a file in it, cannot be read (a file that is not there is
    a problem of the entry citing it, found by `check_quotes`)."""
    names = _cited_files(reg)
    texts: dict[str, str] = {}
    try:
        if not folder.is_dir():
            raise SourcesMissing(f"no sources folder at {str(folder)!r}")
        for name in sorted(names):
            path = folder / name
            if path.is_file():
                texts[name] = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        what = "the sources folder" if exc.filename in (None, str(folder)) else "the source text"
        reason = os_reason(exc)
        raise SourcesMissing(f"cannot read {what} {str(exc.filename or folder)!r}: "
                             f"{reason}") from None
    return texts


def _cited_files(reg: Register) -> set[str]:
    """The files the register's documents and sources name."""
    names = {d.file for d in reg.documents.values() if d.file}
    for entry in reg.entries:
        names.update(s.file for s in entry.all_sources() if s.file)
    names.update(s.file for _, s in head_sources(reg) if s.file)
    return names
