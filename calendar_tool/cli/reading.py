"""The read-only commands: `validate`, `list` and `show`. They read the register and nothing
else (no database, no feeds, no network), so they start fast."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import click

from calendar_tool import heap, listing
from calendar_tool.cli.base import Context, Folder, choices, day, main, pass_context
from calendar_tool.clock import SystemClock, today
from calendar_tool.errors import RegisterInvalid, UnknownEntry, UsageError
from calendar_tool.model import Kind, State
from calendar_tool.timeline import find, list_query, parse_span, span_end, unfound


@main.command()
@click.option("--check-sources", "sources", type=Folder(),
              help="Folder of source texts: prove every quote occurs in its cited file.")
@pass_context
def validate(ctx: Context, sources: Path | None) -> None:
    """Check the register and report every problem as FILE:LINE:COL: FIELD: MESSAGE.

    Exit 0 when clean, 1 when there are problems.

    \b
    Example:
      calendar-tool validate --check-sources ../shared/seeds
    """
    from calendar_tool.register import check_quotes, quote_count, read_sources

    located = ctx.located()
    reg = located.register
    if sources is not None:
        problems = check_quotes(located, read_sources(reg, sources))
        if problems:
            raise RegisterInvalid(problems)
    quotes = quote_count(reg)
    checked = f", {quotes} quotes found in their sources" if sources is not None else ""
    click.echo(f"{located.filename}: {len(reg.entries)} entries, no problems{checked}")


@main.command(name="list")
@click.option("--due", metavar="PERIOD", help="What falls due in 2005, 2005-06, 2005-06-30, "
              "or 2001..2005.")
@click.option("--from", "from_", metavar="PERIOD", help="From the start of this period.")
@click.option("--until", metavar="PERIOD", help="Until the end of this period.")
@click.option("--upcoming", metavar="SPAN", help="From today for 90d, 12w, 6m or 1y.")
@click.option("--overdue", is_flag=True, help="Open deadlines whose due day has passed.")
@click.option("--area", multiple=True, help="Only these areas (repeatable).")
@click.option("--actor", multiple=True, help="Only these actors (repeatable).")
@click.option("--kind", multiple=True, type=choices(Kind), help="Only these kinds.")
@click.option("--status", multiple=True, type=choices(State), help="Only these states.")
@click.option("--today", "today_", metavar="DATE", help="Take this day as today (default: "
              "the real today).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="json is stable for scripts.")
@pass_context
def list_(ctx: Context, due: str | None, from_: str | None, until: str | None,
          upcoming: str | None, overdue: bool, area: Sequence[str], actor: Sequence[str],
          kind: Sequence[str], status: Sequence[str], today_: str | None, fmt: str) -> None:
    """List occurrences by date, with the date as the text gives it and its source.

    A deadline matches on its due day (the last day of its period: "by 2005" is due on
    2005-12-31). An event known to the day matches when its days overlap the period; one known
    only to the month or year ("May 2001") when that whole month or year lies in the period.

    \b
    Examples:
      calendar-tool list --due 2005
      calendar-tool list --area trafficking --format json
      calendar-tool list --upcoming 90d --today 2001-06-01
    """
    now = day(today_, "--today") or today(SystemClock())
    dates = ctx.dates()
    query = list_query(dates.head, now, due=due, from_=from_, until=until, upcoming=upcoming,
                       overdue=overdue, areas=area, actors=actor, kinds=kind, states=status)
    with heap.kept():
        found = dates.select(query, now)
    reg = dates.head
    # JSON a piece at a time: every occurrence of a large register is hundreds of megabytes.
    _echo(fmt, table=lambda: listing.table(found),
          json=lambda: listing.json_pieces(listing.occurrences_json(found, reg)),
          csv=lambda: listing.to_csv(found))


@main.command()
@click.argument("entry_id", metavar="ID")
@click.option("--today", "today_", metavar="DATE", help="Take this day as today.")
@pass_context
def show(ctx: Context, entry_id: str, today_: str | None) -> None:
    """Show one entry in full: resolved dates and how they were derived, occurrences, sources.

    ID is an entry id, or `series-id#N` for one occurrence of a series.

    \b
    Example:
      calendar-tool show commission-sessions#10
    """
    now = day(today_, "--today") or today(SystemClock())
    reg = ctx.register()
    found = find(reg, entry_id, now)
    if not found:
        raise UnknownEntry(f"{unfound(reg, entry_id)}; `calendar-tool list` shows the ids")
    click.echo(listing.show(reg, found))


@main.command()
@click.option("--within", default="180d", show_default=True, metavar="SPAN",
              help="How far around today to look for estimated dates, and how long past its "
              "due day an open deadline is long past (90d, 12w, 6m, 1y).")
@click.option("--today", "today_", metavar="DATE", help="Take this day as today.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="json is stable for scripts.")
@pass_context
def review(ctx: Context, within: str, today_: str | None, fmt: str) -> None:
    """What the register should confirm or record, nearest first.

    Estimated dates within --within of today (a session the rules expect: confirm it, or
    record it once it has met), entries dated from an estimate, and open deadlines, targets,
    reports and periods more than --within past their due day with no status recorded.

    \b
    Examples:
      calendar-tool review
      calendar-tool review --today 2026-12-02 --within 1y --format json
    """
    now = day(today_, "--today") or today(SystemClock())
    try:
        span = parse_span(within)
        span_end(now, within)  # what it looks ahead to lies in the calendar, as --upcoming's
    except ValueError as exc:
        raise UsageError(f"--within: {exc}") from None
    dates = ctx.dates()
    with heap.kept():
        items = dates.review(now, span)
    reg = dates.head
    _echo(fmt, table=lambda: listing.review_table(items),
          json=lambda: listing.review_json(items, reg), csv=lambda: listing.review_csv(items))


def _echo(fmt: str, **render: Callable[[], str | Iterator[str]]) -> None:
    """Print the answer in the format asked for, whole or a piece at a time; only that one is
    laid out."""
    text = render[fmt]()
    if isinstance(text, str):
        click.echo(text.rstrip("\n") if fmt == "csv" else text)
        return
    for piece in text:
        click.echo(piece, nl=False)
    click.echo()
