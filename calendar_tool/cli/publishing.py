"""`calendar-tool publish`: the feeds written into a folder, once."""

from __future__ import annotations

from pathlib import Path

import click

from calendar_tool import heap
from calendar_tool.cli.base import Context, Folder, day_clock, main, pass_context


@main.command()
@click.option("--out", "out_dir", type=Folder(),
              default=Path("feeds"), show_default=True, help="The folder to publish into.")
@click.option("--horizon", "horizon_years", type=click.IntRange(min=1), metavar="YEARS",
              help="Expand series this many years past today (default: 5, as list does).")
@click.option("--today", "today_", metavar="DATE", help="Take this day (00:00 UTC) as now, for "
              "the horizon and the change times of revised entries.")
@pass_context
def publish(ctx: Context, out_dir: Path, horizon_years: int | None,
            today_: str | None) -> None:
    """Write the iCalendar feeds: all.ics, one per area and per actor, and index.json.

    Each entry's SEQUENCE and LAST-MODIFIED come from its snapshot in the database, which
    this command brings up to date first. With CALENDAR_TOOL_PUBLIC_URL set, every event
    links to its entry's page there. A feed is replaced atomically and only when its
    bytes change. A register with problems publishes nothing: the problems are printed as
    validate prints them.

    \b
    Example:
      calendar-tool publish --out feeds/
    """
    # Imported here so that the read-only commands never load icalendar or the database.
    from calendar_tool import service
    from calendar_tool.timeline import DEFAULT_HORIZON_YEARS

    clock = day_clock(today_, "--today")
    public_url = ctx.public_url()
    located = ctx.located()
    engine = ctx.engine()
    stored = service.kept_hashes(ctx.settings.cache, ctx.settings.register, located.reusable())
    events = service.kept_events(ctx.settings.cache, ctx.settings.register)
    reg = located.register
    # Its text, entry by entry, is not held while the feeds are written.
    del located
    # Expanding and serialising a large register makes a million objects that outlive the
    # run or die without cycles: see heap.py.
    with heap.kept():
        report = service.publish_feeds(engine, reg, out_dir, clock,
                                       horizon_years or DEFAULT_HORIZON_YEARS,
                                       link_base=public_url, stored=stored,
                                       stored_events=events)
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
