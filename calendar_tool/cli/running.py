"""The long-running commands: `run` (the scheduler, and the server with --serve) and
`serve` (the server alone). They read the register through one `RegisterFile` each, which
reads it again when the file changes."""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from calendar_tool import heap
from calendar_tool.cli.base import (
    MAX_CATCH_UP,
    MAX_TIMEOUT,
    Bounded,
    Context,
    Folder,
    main,
    pass_context,
)
from calendar_tool.clock import SystemClock
from calendar_tool.errors import FeedsMissing, PublishFailed, UsageError, os_reason

if TYPE_CHECKING:
    from calendar_tool import scheduler
    from calendar_tool.register import RegisterFile
    from calendar_tool.stopping import Signals


@main.command()
@click.option("--out", "out_dir", type=Folder(),
              default=Path("feeds"), show_default=True, help="The folder to publish into.")
@click.option("--catch-up", "catch_up", default="24", show_default=True, metavar="HOURS",
              type=Bounded(0, MAX_CATCH_UP), help="Send reminders missed by up to this many "
              "hours (while nothing was running); older ones are recorded as skipped.")
@click.option("--timeout", type=Bounded(0.1, MAX_TIMEOUT), default=15.0, show_default=True,
              help="Seconds per delivery attempt, all of it: connecting, sending and reading "
              "the answer.")
@click.option("--horizon", "horizon_years", type=click.IntRange(min=1), metavar="YEARS",
              help="Expand series this many years past today in the feeds (default: 5).")
@click.option("--watch", "watch", type=Bounded(0, 3600), default=1.0, show_default=True,
              metavar="SECONDS", help="How often to look for a change of the register file "
              "(0: never).")
@click.option("--serve", "serve_at", metavar="HOST:PORT", help="Also serve the feeds and the "
              "page, as `calendar-tool serve` does, e.g. 127.0.0.1:8000.")
@click.option("--verbose", "-v", is_flag=True, help="Also log planning, unchanged feeds and "
              "APScheduler's own job messages.")
@pass_context
def run(ctx: Context, out_dir: Path, catch_up: float, timeout: float,
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
    from calendar_tool import logs, scheduler, service
    from calendar_tool.stopping import Signals
    from calendar_tool.timeline import DEFAULT_HORIZON_YEARS

    listen = _listen_at(serve_at)  # refused before anything is made
    logs.configure(verbose)
    options = scheduler.Options(
        out_dir=out_dir, public_url=ctx.link_base(), feed_links=ctx.public_url(),
        catch_up=timedelta(hours=catch_up),
        policy=service.Policy(timeout=timeout),
        horizon_years=horizon_years or DEFAULT_HORIZON_YEARS,
        watch=timedelta(seconds=watch) if watch else None)
    with Signals("scheduler.stopping") as signals:  # before the register is read
        _start(ctx, options, listen, timeout, signals)


def _listen_at(serve_at: str | None) -> tuple[str, int] | None:
    """The host and port of `run --serve HOST:PORT` (None: not serving)."""
    if serve_at is None:
        return None
    host, _, port = serve_at.rpartition(":")
    if not host or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise UsageError(f"--serve {serve_at!r} is not HOST:PORT such as 127.0.0.1:8000")
    return host.strip("[]"), int(port)


def _start(ctx: Context, options: scheduler.Options, listen: tuple[str, int] | None,
           timeout: float, signals: Signals) -> None:
    """`run` once its options are read: the register read, the store opened, the server
    started (`listen`: where), then the scheduler until a signal (`signals`)."""
    from calendar_tool import scheduler, service
    from calendar_tool.register import RegisterFile

    settings, out_dir = ctx.settings, options.out_dir
    # One reader of the register file for the scheduler and the server, so that an edit is
    # read and validated once; its first read takes the entries `validate` or `publish` kept.
    # Each read with the collector off, what it made frozen after: see heap.py.
    source = RegisterFile(settings.register, settings.cache, reading=heap.kept)
    failure = source.current().failure
    if failure is not None:  # refused before anything is written or served
        raise failure
    engine = ctx.engine()
    _warn_of_loopback_links(ctx, engine)
    _out_folder(out_dir)
    serving: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if listen is not None:
        serving = _server(ctx, source, out_dir, engine, *listen)
    with service.open_senders(timeout, settings.smtp_url) as senders, serving:
        runner = scheduler.Runner(engine, senders, SystemClock(), source, options)
        scheduler.run_until_signalled(scheduler.Scheduler(runner), signals)


def _warn_of_loopback_links(ctx: Context, engine: Any) -> None:
    """One warning at start when reminders would link to this machine alone while someone
    receives them: nobody else can open such a link."""
    import logging  # here: every command loads this module, `run` alone logs

    from calendar_tool import logs, service
    from calendar_tool.config import PUBLIC_URL_ENV

    if not ctx.settings.loopback_links:
        return
    count = len(service.subscriptions(engine, enabled_only=True))
    if count:
        logs.event("links.loopback", logging.WARNING, link_base=ctx.link_base(),
                   subscriptions=count, fix=f"set {PUBLIC_URL_ENV} to the address people "
                   "reach `serve` at")


def _server(ctx: Context, source: RegisterFile, out_dir: Path, engine: Any, host: str,
            port: int) -> contextlib.AbstractContextManager[Any]:
    """`run --serve HOST:PORT`: the server, listening in this process on a thread."""
    from calendar_tool import logs, web

    app = web.make_app(register=source, feeds=out_dir, db=engine, clock=SystemClock(),
                       public_url=ctx.public_url())
    serving = web.BackgroundServer(app, host, port)
    # As `serve` logs it: which folder and register the address serves.
    logs.event("server.listening", url=f"{serving.url}/", feeds=str(out_dir),
               register=str(source.path))
    return serving


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="The port to listen on (0: any free port).")
@click.option("--feeds", "feeds_dir", type=Folder(),
              default=Path("feeds"), show_default=True,
              help="The folder `publish` writes, served under /feeds/.")
@pass_context
def serve(ctx: Context, host: str, port: int, feeds_dir: Path) -> None:
    """Serve the feeds over HTTP, with a subscribe page, a JSON API and a health check.

    /feeds/NAME.ics are the published files (ETag, 304, gzip); /feeds/all.ics?area=KEY
    &kind=KIND is a feed of your own selection; /api/obligations takes the filters of
    `list`; / shows what is due (filtered by ?area=KEY&actor=KEY&kind=KIND) with a
    subscribe link for that selection, and every published feed. The register is re-read
    when it changes. Subscribe links use CALENDAR_TOOL_PUBLIC_URL when it is set, else the
    address the page was asked at. Logs one JSON object per line on stderr. Ctrl-C stops it.

    \b
    Example:
      calendar-tool serve --port 8000 --feeds feeds/
    """
    from calendar_tool import logs, web
    from calendar_tool.register import RegisterFile
    from calendar_tool.stopping import Signals

    logs.configure()
    settings, public_url = ctx.settings, ctx.public_url()
    # Until uvicorn takes them, a signal is kept, and serve then ends before listening.
    with Signals("server.stopping") as signals:
        # Its first read takes the entries `validate` or `publish` kept: a large register
        # starts sooner.
        # Each read with the collector off, what it made frozen after: see heap.py. A page
        # then makes its objects without passes over the register's millions.
        source = RegisterFile(settings.register, settings.cache, reading=heap.kept)
        failure = source.current().failure
        if failure is not None:  # a register with problems is refused before listening
            raise failure
        _served_folder(feeds_dir)
        engine = ctx.engine()
        _warn_of_loopback_links(ctx, engine)
        app = web.make_app(register=source, feeds=feeds_dir, db=engine,
                           clock=SystemClock(), public_url=public_url)
    if signals.received.is_set():
        logs.event("server.stopped", started=False)
        return
    sock = web.listen(host, port)
    logs.event("server.listening", url=f"{web.http_url(sock)}/", feeds=str(feeds_dir),
               register=str(settings.register))
    web.run(app, sock)
    logs.event("server.stopped")


def _served_folder(folder: Path) -> None:
    """The folder `serve` serves, refused before listening unless it is a folder it can
    read: a missing one is most often a mistyped --feeds, or nothing published yet."""
    hint = f"publish into it first (calendar-tool publish --out {folder}) or give --feeds DIR"
    try:
        with os.scandir(folder):
            return
    except FileNotFoundError:
        raise FeedsMissing(f"no feeds folder at {str(folder)!r}: {hint}") from None
    except NotADirectoryError:
        raise FeedsMissing(f"the feeds folder {str(folder)!r} is a file, not a folder: "
                           f"{hint}") from None
    except OSError as exc:
        reason = os_reason(exc)
        raise FeedsMissing(f"cannot read the feeds folder {str(folder)!r}: {reason}") from None


def _out_folder(folder: Path) -> None:
    """`run`'s folder, created (and logged: `feeds.created`) when it is not there, before
    anything serves it: `run --serve` answers before its first publish has written there."""
    from calendar_tool import logs

    try:
        if folder.is_dir():
            return
        folder.mkdir(parents=True)
    except FileExistsError:
        raise PublishFailed(f"cannot publish into {str(folder)!r}: {str(folder)!r} is not a "
                            "folder") from None
    except OSError as exc:
        reason = os_reason(exc)
        raise PublishFailed(f"cannot publish into {str(folder)!r}: {reason}") from None
    logs.event("feeds.created", path=str(folder))
