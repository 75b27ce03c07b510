"""The command line: arguments in, text out, one error handler.

Owns: click (the only importer), each command's options and output, the exit codes (one
handler turns the library's errors into one line and the documented code), and the tables of
subscriptions and the ledger (`views`).
May import: every other unit; the commands that need the database, the feeds, the scheduler or
the server import them when they run, so that read-only commands (`validate`, `list`, `show`)
start fast.

Each command parses its options, calls one function of the library and formats the result.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from calendar_tool import heap, listing
from calendar_tool.clock import Clock, FixedClock, SystemClock, today
from calendar_tool.config import DB_ENV, DEFAULT_DB, DEFAULT_REGISTER, REGISTER_ENV, Settings
from calendar_tool.errors import CalendarToolError, RegisterInvalid, UnknownEntry, UsageError
from calendar_tool.model import Kind, State
from calendar_tool.register import Located, check_quotes, load, quote_count, read_sources
from calendar_tool.timeline import find, list_query, parse_span, select


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
@click.option("--db", "db_url", envvar=DB_ENV, default=DEFAULT_DB, show_default=True,
              metavar="URL", help=f"The database: a SQLite file, or postgresql://user@host/db "
              f"(or set {DB_ENV}).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="calendar-tool")
@click.pass_context
def main(ctx: click.Context, register_path: Path, db_url: str, debug: bool) -> None:
    """A register of time-bound commitments, published as calendar feeds and reminders.

    \b
    Examples:
      calendar-tool validate --check-sources ../shared/seeds
      calendar-tool list --due 2005
      calendar-tool show vienna-victims-2002
    """
    # The environment gives what has no option (the public URL); options override the rest.
    settings = replace(Settings.from_env(), register=register_path, db=db_url)
    ctx.obj = {"settings": settings, "debug": debug}


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj["settings"]
    return settings


def _located(ctx: click.Context) -> Located:
    """The register, reusing the entries the cache kept from an earlier command."""
    settings = _settings(ctx)
    # Millions of objects that outlive the read, and no garbage cycles: see heap.py.
    with heap.kept():
        return load(settings.register, settings.cache)


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
    located = _located(ctx)
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
    reg = _located(ctx).register
    query = list_query(reg, now, due=due, from_=from_, until=until, upcoming=upcoming,
                       overdue=overdue, areas=area, actors=actor, kinds=kind, states=status)
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
    reg = _located(ctx).register
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

    Each entry's SEQUENCE and LAST-MODIFIED come from its snapshot in the database, which
    this command brings up to date first. A feed is replaced atomically and only when its
    bytes change. A register with problems publishes nothing: the problems are printed as
    validate prints them.

    \b
    Example:
      calendar-tool publish --out feeds/
    """
    # Imported here so that the read-only commands never load icalendar or the database.
    from calendar_tool import service
    from calendar_tool.timeline import DEFAULT_HORIZON_YEARS

    day = _date(today_, "--today")
    clock = FixedClock(datetime(day.year, day.month, day.day, tzinfo=UTC)) if day \
        else SystemClock()
    reg = _located(ctx).register
    engine = _engine(ctx)
    with heap.kept():
        report = service.publish_feeds(engine, reg, out_dir, clock,
                                       horizon_years or DEFAULT_HORIZON_YEARS)
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


# --- subscriptions and reminders: these load the database and the HTTP client lazily --------

def _instant(value: str | None, name: str) -> datetime | None:
    """An aware instant: 2026-12-01T09:00+01:00, ...Z, or a date (00:00 UTC)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name} {value!r} is not a date or a date and time such as "
                         "2026-12-01T09:00Z") from None
    if parsed.tzinfo is None:
        raise UsageError(f"{name} {value!r} has no zone: add Z or an offset such as +01:00")
    return parsed.astimezone(UTC)


def _clock(at: str | None) -> Clock:
    instant = _instant(at, "--at")
    return SystemClock() if instant is None else FixedClock(instant)


def _engine(ctx: click.Context) -> Any:
    from calendar_tool import store

    engine = store.open_store(_settings(ctx).db)
    ctx.call_on_close(engine.dispose)
    return engine


@main.group()
def subscribe() -> None:
    """Manage reminder subscriptions: webhooks that get reminders before each deadline.

    \b
    Examples:
      calendar-tool subscribe add team --url http://127.0.0.1:9000/hook --area trafficking
      calendar-tool subscribe list
      calendar-tool subscribe test team
      calendar-tool subscribe remove team
    """


def _guess_format(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None  # the subscription check names the bad URL
    return "slack" if host == "hooks.slack.com" else "json"


@subscribe.command(name="add")
@click.argument("name")
@click.option("--url", required=True, help="The webhook URL reminders are POSTed to.")
@click.option("--format", "fmt", type=click.Choice(["slack", "json"]),
              help="slack (an incoming webhook) or json (signed per Standard Webhooks); "
              "default: slack for hooks.slack.com URLs, json otherwise.")
@click.option("--area", multiple=True, help="Only entries in these areas (repeatable).")
@click.option("--actor", multiple=True, help="Only entries owed by these actors (repeatable).")
@click.option("--kind", multiple=True, type=_choices(Kind), help="Only these kinds (repeatable).")
@click.option("--offset", "offsets", multiple=True, metavar="DURATION",
              help="Remind this long before the day, e.g. P30D (repeatable; default: each "
              "entry's own, P90D P30D P7D P0D unless the register says otherwise).")
@click.option("--overdue/--no-overdue", default=True, show_default=True,
              help="Also send a notice on the day after an open deadline's due day.")
@click.option("--time", "time_", default="09:00", show_default=True, metavar="HH:MM",
              help="Time of day reminders are sent, in --zone.")
@click.option("--zone", default="UTC", show_default=True, help="IANA time zone, e.g. "
              "Europe/Vienna.")
@click.option("--if-missing", is_flag=True, help="Do nothing if a subscription of this name "
              "exists (for scripts that set one up on every start).")
@click.pass_context
def subscribe_add(ctx: click.Context, name: str, url: str, fmt: str | None,
                  area: Sequence[str], actor: Sequence[str], kind: Sequence[str],
                  offsets: Sequence[str], overdue: bool, time_: str, zone: str,
                  if_missing: bool) -> None:
    """Add a subscription. A json one gets a signing secret, shown this once only.

    \b
    Example:
      calendar-tool subscribe add team --url http://127.0.0.1:9000/hook --area trafficking
    """
    from datetime import time

    from calendar_tool import service, store
    from calendar_tool.errors import SubscriptionInvalid, UnknownSubscription
    from calendar_tool.model import Format, Offset, Subscription

    if if_missing:
        try:
            store.subscription(_engine(ctx), name)
        except UnknownSubscription:
            pass
        else:
            click.echo(f"{name!r} exists; left as it is")
            return

    problems = []
    parsed_offsets = []
    for text in offsets:
        try:
            parsed_offsets.append(Offset.parse(text))
        except ValueError as exc:
            problems.append(("offset", str(exc)))
    try:
        at = time.fromisoformat(time_)
    except ValueError:
        problems.append(("time", f"{time_!r} is not a time of day such as 09:00"))
        at = time(9)
    if problems:
        raise SubscriptionInvalid(problems)
    sub = Subscription(
        name=name, url=url, format=Format(fmt or _guess_format(url)),
        created_at=SystemClock().now(), areas=frozenset(area), actors=frozenset(actor),
        kinds=frozenset(Kind(k) for k in kind),
        offsets=tuple(parsed_offsets) if parsed_offsets else None, overdue=overdue,
        time_of_day=at, zone=zone)
    reg = _located(ctx).register
    sub = service.add_subscription(_engine(ctx), reg, sub)
    click.echo(f"added {name!r} ({sub.format.value}); reminders at {at:%H:%M} {zone}")
    if sub.secret:
        click.echo(f"signing secret (shown once, keep it with the receiver): {sub.secret}")


@subscribe.command(name="list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_context
def subscribe_list(ctx: click.Context, fmt: str) -> None:
    """List subscriptions; URLs that can carry secrets are masked, secrets never shown.

    \b
    Example:
      calendar-tool subscribe list
    """
    from calendar_tool import store
    from calendar_tool.cli import views

    infos = store.subscriptions(_engine(ctx))
    click.echo(views.subscriptions_json(infos) if fmt == "json"
               else views.subscriptions_table(infos))


@subscribe.command(name="remove")
@click.argument("name")
@click.pass_context
def subscribe_remove(ctx: click.Context, name: str) -> None:
    """Remove a subscription and its delivery history.

    \b
    Example:
      calendar-tool subscribe remove team
    """
    from calendar_tool import store

    store.remove_subscription(_engine(ctx), name)
    click.echo(f"removed {name!r}")


@subscribe.command(name="test")
@click.argument("name")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=15.0, show_default=True,
              help="Seconds to wait for the receiver.")
@click.pass_context
def subscribe_test(ctx: click.Context, name: str, timeout: float) -> None:
    """Send a sample reminder now and print the receiver's answer and the time taken.

    \b
    Example:
      calendar-tool subscribe test team
    """
    from calendar_tool import delivery, service, store

    settings = _settings(ctx)
    sub = store.subscription(_engine(ctx), name).subscription
    reg = _located(ctx).register
    with delivery.make_client(timeout) as client:
        result = service.send_sample(sub, reg, client, SystemClock(), settings.link_base)
    click.echo(f"{name}: HTTP {result.status} in {result.latency:.3f} s")


@main.command()
@click.option("--dry-run", is_flag=True, help="Only list what would be sent, and to whom.")
@click.option("--at", "at", metavar="DATETIME", help="With --dry-run: look from this "
              "instant, e.g. 2026-12-01T09:00Z (a date means 00:00 UTC).")
@click.option("--window", default="30d", show_default=True, metavar="SPAN",
              help="With --dry-run: how far ahead to look (90d, 12w, 6m, 1y).")
@click.option("--catch-up", "catch_up", default="24", show_default=True, metavar="HOURS",
              type=click.FloatRange(min=0), help="Send reminders missed by up to this many "
              "hours; older ones are recorded as skipped.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=15.0, show_default=True,
              help="Seconds per delivery attempt.")
@click.pass_context
def remind(ctx: click.Context, dry_run: bool, at: str | None, window: str, catch_up: float,
           timeout: float) -> None:
    """Send the reminders due now, once each; with --dry-run, list what is coming.

    Without --dry-run this is one pass of what `calendar-tool run` does continuously: claim
    the reminders due by now in the ledger, send them, and record every attempt. Failed
    deliveries are retried by later passes on the backoff schedule.

    \b
    Examples:
      calendar-tool remind --dry-run --window 90d
      calendar-tool remind
    """
    import time
    from datetime import timedelta

    from calendar_tool import delivery, service, store
    from calendar_tool.cli import views

    if at is not None and not dry_run:
        # Receivers check a signature's timestamp against their own clock.
        raise UsageError("--at goes with --dry-run: sending always happens now")
    settings = _settings(ctx)
    clock = _clock(at)
    reg = _located(ctx).register
    engine = _engine(ctx)
    if dry_run:
        try:
            span = parse_span(window)
        except ValueError as exc:
            raise UsageError(f"--window: {exc}") from None
        start = clock.now()
        subs = [i.subscription for i in store.subscriptions(engine, enabled_only=True)]
        todo, done = service.dry_run(engine, reg, subs, start, start + span)
        click.echo(views.plan_table(todo, {s.name: s.zone for s in subs}))
        if done:
            click.echo(f"({done} more already in the ledger)")
        return
    claimed = service.enqueue(engine, reg, clock, settings.link_base,
                              timedelta(hours=catch_up))
    with delivery.make_client(timeout) as client:
        results = service.deliver_ready(engine, client, clock, service.owner_id(), time.sleep,
                                        service.Policy(timeout=timeout))
    counts = {state: sum(r.state == state for r in results) for state in ("sent", "pending",
                                                                          "dead")}
    click.echo(f"claimed {claimed.reminders} reminders in {claimed.messages} messages, "
               f"skipped {claimed.skipped} past the catch-up window; sent {counts['sent']}, "
               f"to retry {counts['pending']}, dead {counts['dead']}")


@main.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("feeds"), show_default=True, help="The folder to publish into.")
@click.option("--catch-up", "catch_up", default="24", show_default=True, metavar="HOURS",
              type=click.FloatRange(min=0), help="Send reminders missed by up to this many "
              "hours (while nothing was running); older ones are recorded as skipped.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=15.0, show_default=True,
              help="Seconds per delivery attempt.")
@click.option("--horizon", "horizon_years", type=click.IntRange(min=1), metavar="YEARS",
              help="Expand series this many years past today in the feeds (default: 5).")
@click.option("--watch", "watch", type=click.FloatRange(min=0), default=1.0, show_default=True,
              metavar="SECONDS", help="How often to look for a change of the register file "
              "(0: never).")
@click.option("--serve", "serve_at", metavar="HOST:PORT", help="Also serve the feeds and the "
              "page, as `calendar-tool serve` does, e.g. 127.0.0.1:8000.")
@click.option("--verbose", "-v", is_flag=True, help="Also log planning, unchanged feeds and "
              "APScheduler's own job messages.")
@click.pass_context
def run(ctx: click.Context, out_dir: Path, catch_up: float, timeout: float,
        horizon_years: int | None, watch: float, serve_at: str | None, verbose: bool) -> None:
    """Keep the feeds current and send every reminder at its instant, until stopped.

    On start: validate the register, sync it to the database, publish the feeds, send what
    fell due while nothing was running (within --catch-up), and plan the rest. An edit of the
    register is picked up while running; an edit with problems is logged and the last good
    register kept. SIGINT or SIGTERM stop it cleanly. Logs one JSON object per line on
    stderr. Several `run` processes may share one PostgreSQL: each reminder is sent once.

    \b
    Examples:
      calendar-tool run --out feeds --serve 127.0.0.1:8000
      calendar-tool --db postgresql://calendar@db/calendar run --out /srv/feeds
    """
    import contextlib
    from datetime import timedelta

    from calendar_tool import delivery, logs, scheduler, service
    from calendar_tool.register import RegisterFile
    from calendar_tool.timeline import DEFAULT_HORIZON_YEARS

    logs.configure(verbose)
    settings = _settings(ctx)
    options = scheduler.Options(
        out_dir=out_dir, public_url=settings.link_base, catch_up=timedelta(hours=catch_up),
        policy=service.Policy(timeout=timeout),
        horizon_years=horizon_years or DEFAULT_HORIZON_YEARS,
        watch=timedelta(seconds=watch) if watch else None)
    engine = _engine(ctx)
    # One reader of the register file for the scheduler and the server: an edit is read and
    # validated once.
    # Entries the cache kept from `validate` or `publish`: a large register starts sooner.
    source = RegisterFile(settings.register, settings.cache)
    serving: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if serve_at is not None:
        from calendar_tool import web

        host, _, port = serve_at.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--serve {serve_at!r} is not HOST:PORT such as 127.0.0.1:8000")
        app = web.make_app(register=source, feeds=out_dir, db=engine,
                              clock=SystemClock(), public_url=settings.public_url)
        serving = web.BackgroundServer(app, host.strip("[]"), int(port))
        logs.event("server.listening", url=f"{serving.url}/")
    with delivery.make_client(timeout) as client, serving:
        runner = scheduler.Runner(engine, client, SystemClock(), source, options)
        scheduler.run_until_signalled(scheduler.Scheduler(runner))


@main.command()
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["pending", "retrying", "sending", "sent", "dead", "skipped"]),
              help="Only these states (repeatable).")
@click.option("--subscription", metavar="NAME", help="Only this subscription.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="json includes every attempt.")
@click.pass_context
def deliveries(ctx: click.Context, statuses: Sequence[str], subscription: str | None,
               limit: int, fmt: str) -> None:
    """Show the delivery ledger, newest reminder first: one line per reminder.

    \b
    Examples:
      calendar-tool deliveries --status dead
      calendar-tool deliveries --subscription team --format json
    """
    from calendar_tool import store
    from calendar_tool.cli import views

    engine = _engine(ctx)
    if subscription is not None:
        store.subscription(engine, subscription)  # an unknown name is an error, not "empty"
    found = store.deliveries(engine, SystemClock().now(), statuses, subscription, limit)
    if fmt == "json":
        click.echo(views.deliveries_json(found, store.attempts(engine)))
    else:
        click.echo(views.deliveries_table(found))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="The port to listen on (0: any free port).")
@click.option("--feeds", "feeds_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("feeds"), show_default=True,
              help="The folder `publish` writes, served under /feeds/.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, feeds_dir: Path) -> None:
    """Serve the feeds over HTTP, with a subscribe page, a JSON API and a health check.

    /feeds/NAME.ics are the published files (ETag, 304, gzip); /feeds/all.ics?area=KEY
    &kind=KIND is a feed of your own selection; /api/obligations takes the filters of
    `list`; / lists the feeds with subscribe links, the coming year and what is overdue.
    The register is re-read when it changes. Subscribe links use CALENDAR_TOOL_PUBLIC_URL
    when it is set, else the address the page was asked at. Ctrl-C stops it.

    \b
    Example:
      calendar-tool serve --port 8000 --feeds feeds/
    """
    from calendar_tool import web
    from calendar_tool.register import RegisterFile

    settings = _settings(ctx)
    # Entries the cache kept from `validate` or `publish`: a large register starts sooner.
    source = RegisterFile(settings.register, settings.cache)
    failure = source.current().failure
    if failure is not None:  # a register with problems is refused before listening
        raise failure
    app = web.make_app(register=source, feeds=feeds_dir, db=settings.db,
                          clock=SystemClock(), public_url=settings.public_url)
    sock = web.listen(host, port)
    click.echo(f"serving {feeds_dir}/ and {settings.register} on {web.http_url(sock)}/ "
               "(Ctrl-C stops)")
    web.run(app, sock)


if __name__ == "__main__":  # pragma: no cover
    main()
