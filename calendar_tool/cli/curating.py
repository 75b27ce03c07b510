"""`coverage`: the curation assistant. It reads the register and its source texts and lists
the dated passages that no quote of the register covers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from calendar_tool import wording
from calendar_tool.cli.base import Bounded, Context, Folder, main, pass_context
from calendar_tool.errors import CoverageShort

if TYPE_CHECKING:  # the register's reader: loaded when the command runs (see cli/__init__)
    from calendar_tool.register import Coverage, Covered

# How much of a passage a line of text shows; `--format json` has it whole.
_SHOWN = 240


@main.command()
@click.argument("sources", metavar="SOURCES_DIR", type=Folder())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json is stable for scripts and has every passage.")
@click.option("--all", "every", is_flag=True,
              help="List every dated passage with what covers it, not only those left.")
@click.option("--fail-under", type=Bounded(0, 100), metavar="PERCENT",
              help="Exit 13 when less than PERCENT of the dated passages are cited or "
                   "reviewed (100: when any is left).")
@pass_context
def coverage(ctx: Context, sources: Path, fmt: str, every: bool,
             fail_under: float | None) -> None:
    """List the passages of the source texts that carry a time expression and that no
    quote of the register covers, as FILE:LINE: CONTEXT: PASSAGE [EXPRESSIONS], then how
    many are cited, reviewed as not a commitment, and left.

    A passage is covered when a quote of an entry, a status, a document's date or a
    reviewed passage occurs in it.

    \b
    Example:
      calendar-tool coverage ../shared/seeds
    """
    from calendar_tool.register import coverage_of, read_sources

    reg = ctx.register()
    found = coverage_of(reg, read_sources(reg, sources))
    if fmt == "json":
        click.echo(json.dumps(_json(found), indent=2, ensure_ascii=False))
    else:
        for c in found.passages if every else found.left:
            click.echo(_line(c, every))
        click.echo(_summary(found))
    dated = len(found.passages)
    covered = dated - len(found.left)
    if fail_under is not None and dated and 100 * covered < fail_under * dated:
        raise CoverageShort(f"{wording.share(covered, dated)} of the dated passages cited or "
                            f"reviewed, under --fail-under {fail_under:g}")


def _line(c: Covered, every: bool) -> str:
    p = c.passage
    text = p.text if len(p.text) <= _SHOWN else p.text[:_SHOWN - 1] + "…"
    context = f"{p.context}: " if p.context else ""
    state = f"[{c.state.value}{': ' + '; '.join(c.by) if c.by else ''}] " if every else ""
    return f"{p.file}:{p.line}: {state}{context}{text} [{', '.join(p.times)}]"


def _summary(found: Coverage) -> str:
    from calendar_tool.register import Cover

    return wording.coverage_summary(found.count(Cover.CITED), found.count(Cover.REVIEWED),
                                    len(found.passages))


def _json(found: Coverage) -> dict[str, Any]:
    """Every dated passage with what covers it, and the counts."""
    from calendar_tool.register import Cover

    return {
        "passages": [{"file": c.passage.file, "line": c.passage.line,
                      "end_line": c.passage.end_line, "context": c.passage.context,
                      "text": c.passage.text, "times": list(c.passage.times),
                      "state": c.state.value, "by": list(c.by)} for c in found.passages],
        "summary": {"dated": len(found.passages), "cited": found.count(Cover.CITED),
                    "reviewed": found.count(Cover.REVIEWED), "left": len(found.left),
                    "text": _summary(found)},
    }
