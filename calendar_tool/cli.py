"""The command line: arguments in, text out, one error handler.

Each command parses its options, calls one function of the library and formats the result.
Read-only commands (`validate`, `list`, `show`) import nothing beyond the register and the
timeline, so they start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click

from calendar_tool import listing
from calendar_tool.clock import SystemClock, today
from calendar_tool.config import DEFAULT_REGISTER, REGISTER_ENV
from calendar_tool.errors import CalendarToolError, RegisterInvalid, UnknownEntry, UsageError
from calendar_tool.model import Kind, State
from calendar_tool.register import (
    check_quotes,
    load_located,
    load_register,
    quote_count,
    read_sources,
)
from calendar_tool.timeline import (
    Query,
    find,
    parse_period,
    parse_span,
    select,
    vocabulary_problems,
)


def _fail(exc: CalendarToolError, debug: bool) -> NoReturn:
    if isinstance(exc, RegisterInvalid):
        for problem in exc.problems:
            click.echo(str(problem), err=True)
    click.echo(f"error: {exc}", err=True)
    if debug:
        raise exc
    sys.exit(exc.exit_code)


class _Group(click.Group):
    """Turns the library's errors into one line each and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CalendarToolError as exc:
            _fail(exc, bool(ctx.obj and ctx.obj.get("debug")))


@click.group(cls=_Group)
@click.option("--register", "register_path", type=click.Path(path_type=Path),
              envvar=REGISTER_ENV, default=DEFAULT_REGISTER, show_default=True,
              help=f"The register file (or set {REGISTER_ENV}).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="calendar-tool")
@click.pass_context
def main(ctx: click.Context, register_path: Path, debug: bool) -> None:
    """A register of time-bound commitments, published as calendar feeds and reminders.

    \b
    Examples:
      calendar-tool validate --check-sources ../shared/seeds
      calendar-tool list --due 2005
      calendar-tool show victims-review-2002
    """
    ctx.obj = {"register": register_path, "debug": debug}


def _register_path(ctx: click.Context) -> Path:
    return Path(ctx.obj["register"])


@main.command()
@click.option("--check-sources", "sources", type=click.Path(path_type=Path),
              help="Folder of source texts: prove every quote occurs in its cited file.")
@click.pass_context
def validate(ctx: click.Context, sources: Path | None) -> None:
    """Check the register and report every problem as FILE:LINE:COL: FIELD: MESSAGE.

    Exit 0 when clean, 1 when there are problems.

    \b
    Example:
      calendar-tool validate --check-sources ../shared/seeds
    """
    located = load_located(_register_path(ctx))
    reg = located.register
    if sources is not None:
        problems = check_quotes(located, read_sources(reg, sources))
        if problems:
            raise RegisterInvalid(problems)
    quotes = quote_count(reg)
    checked = f", {quotes} quotes found in their sources" if sources is not None else ""
    click.echo(f"{located.filename}: {len(reg.entries)} entries, no problems{checked}")


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name} {value!r} is not a date such as 2005-06-30") from None


def _period_bound(value: str | None, name: str, end: bool) -> date | None:
    if value is None:
        return None
    try:
        first, last = parse_period(value)
    except ValueError as exc:
        raise UsageError(f"{name}: {exc}") from None
    return last if end else first


def _choices(enum: type[Kind] | type[State]) -> click.Choice[str]:
    return click.Choice([m.value for m in enum])


@main.command(name="list")
@click.option("--due", metavar="PERIOD", help="What falls due in 2005, 2005-06, 2005-06-30, "
              "or 2001..2005.")
@click.option("--from", "from_", metavar="PERIOD", help="From the start of this period.")
@click.option("--until", metavar="PERIOD", help="Until the end of this period.")
@click.option("--upcoming", metavar="SPAN", help="From today for 90d, 12w, 6m or 1y.")
@click.option("--overdue", is_flag=True, help="Open deadlines whose due day has passed.")
@click.option("--area", multiple=True, help="Only these areas (repeatable).")
@click.option("--actor", multiple=True, help="Only these actors (repeatable).")
@click.option("--kind", multiple=True, type=_choices(Kind), help="Only these kinds.")
@click.option("--status", multiple=True, type=_choices(State), help="Only these states.")
@click.option("--today", "today_", metavar="DATE", help="Take this day as today (default: "
              "the real today).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="json is stable for scripts.")
@click.pass_context
def list_(ctx: click.Context, due: str | None, from_: str | None, until: str | None,
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
    now = _date(today_, "--today") or today(SystemClock())
    start = _period_bound(due, "--due", False) or _period_bound(from_, "--from", False)
    end = _period_bound(due, "--due", True) or _period_bound(until, "--until", True)
    if due and (from_ or until):
        raise UsageError("--due already names the period; drop --from/--until")
    if upcoming:
        try:
            span = parse_span(upcoming)
        except ValueError as exc:
            raise UsageError(f"--upcoming: {exc}") from None
        start, end = now, now + span
    reg = load_register(_register_path(ctx))
    unknown = vocabulary_problems(reg, area, actor)
    if unknown:
        raise UsageError("; ".join(unknown))
    query = Query(start=start, end=end, areas=frozenset(area), actors=frozenset(actor),
                  kinds=frozenset(Kind(k) for k in kind),
                  states=frozenset(State(s) for s in status),
                  overdue_on=now if overdue else None, overlap=bool(upcoming))
    found = select(reg, query, now)
    render: dict[str, Callable[[], str]] = {
        "table": lambda: listing.table(found),
        "json": lambda: listing.to_json(found, reg),
        "csv": lambda: listing.to_csv(found).rstrip("\n"),
    }
    click.echo(render[fmt]())


@main.command()
@click.argument("entry_id", metavar="ID")
@click.option("--today", "today_", metavar="DATE", help="Take this day as today.")
@click.pass_context
def show(ctx: click.Context, entry_id: str, today_: str | None) -> None:
    """Show one entry in full: resolved dates and how they were derived, occurrences, sources.

    ID is an entry id, or `series-id#N` for one occurrence of a series.

    \b
    Example:
      calendar-tool show commission-sessions#10
    """
    now = _date(today_, "--today") or today(SystemClock())
    reg = load_register(_register_path(ctx))
    found = find(reg, entry_id, now)
    if not found:
        raise UnknownEntry(f"no entry or occurrence {entry_id!r} in the register; "
                           "`calendar-tool list` shows the ids")
    click.echo(listing.show(reg, found))


@main.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("feeds"), show_default=True, help="The folder to publish into.")
@click.option("--horizon", "horizon_years", type=click.IntRange(min=1), metavar="YEARS",
              help="Expand series this many years past today (default: 5, as list does).")
@click.option("--today", "today_", metavar="DATE", help="Take this day (00:00 UTC) as now, for "
              "the horizon and the change times of revised entries.")
@click.pass_context
def publish(ctx: click.Context, out_dir: Path, horizon_years: int | None,
            today_: str | None) -> None:
    """Write the iCalendar feeds: all.ics, one per area and per actor, and index.json.

    A feed is replaced atomically and only when its bytes change. A register with problems
    publishes nothing: the problems are printed as validate prints them.

    \b
    Example:
      calendar-tool publish --out feeds/
    """
    # Imported here so that the read-only commands never load icalendar.
    from datetime import UTC, datetime

    from calendar_tool.clock import FixedClock
    from calendar_tool.publish import publish as publish_feeds
    from calendar_tool.timeline import DEFAULT_HORIZON_YEARS

    day = _date(today_, "--today")
    clock = FixedClock(datetime(day.year, day.month, day.day, tzinfo=UTC)) if day \
        else SystemClock()
    reg = load_register(_register_path(ctx))
    report = publish_feeds(reg, out_dir, clock, horizon_years or DEFAULT_HORIZON_YEARS)
    for feed in report.feeds:
        state = "written  " if feed.written else "unchanged"
        plural = "s" if feed.events != 1 else ""
        click.echo(f"{state} {out_dir / feed.path} ({feed.events} event{plural})")
    for path in report.removed:
        click.echo(f"removed   {out_dir / path}")
    skipped = f"; no events, so no feed: {', '.join(report.skipped)}" if report.skipped else ""
    index = "written" if report.index_written else "unchanged"
    click.echo(f"{len(report.feeds)} feeds up to {report.horizon.isoformat()}: "
               f"{report.written} written, {report.unchanged} unchanged; "
               f"index.json {index}{skipped}")


if __name__ == "__main__":  # pragma: no cover
    main()
