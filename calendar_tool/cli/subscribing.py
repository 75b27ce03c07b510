"""The reminder commands: `subscribe add|list|remove|test`, `remind` and `deliveries`. They
open the database (and for sending, the senders) through the service when they run."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time, timedelta

import click

from calendar_tool.cli.base import (
    MAX_CATCH_UP,
    MAX_TIMEOUT,
    Bounded,
    Context,
    choices,
    instant,
    main,
    pass_context,
)
from calendar_tool.clock import SystemClock
from calendar_tool.errors import SubscriptionInvalid, UsageError
from calendar_tool.model import Format, Kind, Offset, Subscription
from calendar_tool.timeline import parse_span, span_end
from calendar_tool.wording import counted


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


_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])", re.ASCII)


def _offsets_and_time(offsets: Sequence[str], time_: str) -> tuple[tuple[Offset, ...], time]:
    """The --offset and --time values; SubscriptionInvalid naming each that is not one."""
    problems = []
    parsed = []
    for text in offsets:
        try:
            parsed.append(Offset.parse(text))
        except ValueError as exc:
            problems.append(("offset", str(exc)))
    # HH:MM only: fromisoformat also reads seconds, "T0900" and a UTC offset, and an offset
    # would be dropped without a word, the zone being --zone's (09:00+02:00 in New York).
    hhmm = _HHMM.fullmatch(time_)
    if hhmm is None:
        problems.append(("time", f"{time_!r} is not a time of day such as 09:00"))
        at = time(9)
    else:
        at = time(int(hhmm[1]), int(hhmm[2]))
    if problems:
        raise SubscriptionInvalid(problems)
    # P1W is P7D, and an offset named twice is one: keep each once, in the order given.
    return tuple(dict.fromkeys(parsed)), at


@subscribe.command(name="add")
@click.argument("name")
@click.option("--url", required=True, help="The webhook URL reminders are POSTed to, or "
              "mailto:a@example.org,b@example.org for e-mail.")
@click.option("--format", "fmt", type=click.Choice([f.value for f in Format]),
              help="json (signed per Standard Webhooks), slack, teams (a Teams Workflows "
              "webhook), discord, mattermost or email; default: the one the URL's service "
              "takes (mailto: is email), json for a URL no service is recognised in.")
@click.option("--area", multiple=True, help="Only entries in these areas (repeatable).")
@click.option("--actor", multiple=True, help="Only entries owed by these actors (repeatable).")
@click.option("--kind", multiple=True, type=choices(Kind), help="Only these kinds (repeatable).")
@click.option("--offset", "offsets", multiple=True, metavar="DURATION",
              help="Remind this long before the day, e.g. P30D (repeatable; default: each "
              "entry's own, P90D P30D P7D P0D unless the register says otherwise).")
@click.option("--overdue/--no-overdue", default=True, show_default=True,
              help="Also send a notice on the day after an open deadline's due day.")
@click.option("--time", "time_", default="09:00", show_default=True, metavar="HH:MM",
              help="Time of day reminders are sent, in --zone.")
@click.option("--zone", default="UTC", show_default=True, help="IANA time zone, e.g. "
              "Europe/Vienna.")
@click.option("--estimated", is_flag=True, help="Also remind of estimated dates (a session "
              "the rules expect in May 2027), worded as expected, not due.")
@click.option("--review", is_flag=True, help="The keepers' weekly review digest (what the "
              "register should confirm or record) instead of reminders.")
@click.option("--if-missing", is_flag=True, help="Do nothing if a subscription of this name "
              "exists (for scripts that set one up on every start).")
@pass_context
def subscribe_add(ctx: Context, name: str, url: str, fmt: str | None,
                  area: Sequence[str], actor: Sequence[str], kind: Sequence[str],
                  offsets: Sequence[str], overdue: bool, time_: str, zone: str,
                  estimated: bool, review: bool, if_missing: bool) -> None:
    """Add a subscription. A json one gets a signing secret, shown this once only.

    \b
    Example:
      calendar-tool subscribe add team --url http://127.0.0.1:9000/hook --area trafficking
    """
    from calendar_tool import service

    if estimated and review:
        raise UsageError("--estimated goes with reminders; a --review subscription gets the "
                         "keepers' review, which lists estimated dates anyway")
    if if_missing and service.has_subscription(ctx.engine(), name):
        click.echo(f"{name!r} exists; left as it is")
        return
    parsed, at = _offsets_and_time(offsets, time_)
    chosen, why = (Format(fmt), "--format") if fmt else service.guess_format(url)
    sub = Subscription(
        name=name, url=url, format=chosen,
        created_at=SystemClock().now(), areas=frozenset(area), actors=frozenset(actor),
        kinds=frozenset(Kind(k) for k in kind), offsets=parsed or None, overdue=overdue,
        time_of_day=at, zone=zone, estimated=estimated, review=review)
    sub = service.add_subscription(ctx.engine(), ctx.register(), sub)
    what = "the weekly review, Mondays" if review else \
        "reminders" + (", estimated dates too," if estimated else "")
    click.echo(f"added {name!r} ({sub.format.value}); {what} at {at:%H:%M} {zone}")
    click.echo(f"format {sub.format.value} ({why})")
    if sub.secret:
        click.echo(f"signing secret (shown once, keep it with the receiver): {sub.secret}")


@subscribe.command(name="list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@pass_context
def subscribe_list(ctx: Context, fmt: str) -> None:
    """List subscriptions; URLs that can carry secrets are masked, secrets never shown.

    \b
    Example:
      calendar-tool subscribe list
    """
    from calendar_tool import service
    from calendar_tool.cli import views

    infos = service.subscriptions(ctx.engine())
    click.echo(views.subscriptions_json(infos) if fmt == "json"
               else views.subscriptions_table(infos))


@subscribe.command(name="remove")
@click.argument("name")
@pass_context
def subscribe_remove(ctx: Context, name: str) -> None:
    """Remove a subscription and its delivery history.

    \b
    Example:
      calendar-tool subscribe remove team
    """
    from calendar_tool import service

    service.remove_subscription(ctx.engine(), name)
    click.echo(f"removed {name!r}")


@subscribe.command(name="test")
@click.argument("name")
@click.option("--timeout", type=Bounded(0.1, MAX_TIMEOUT), default=15.0, show_default=True,
              help="Seconds to wait for the receiver.")
@pass_context
def subscribe_test(ctx: Context, name: str, timeout: float) -> None:
    """Send a test message now, marked as one, and print the receiver's answer and the time
    taken.

    \b
    Example:
      calendar-tool subscribe test team
    """
    from calendar_tool import service

    link_base, public_url = ctx.link_base(), ctx.public_url()
    sub = service.subscription(ctx.engine(), name).subscription
    reg = ctx.register()
    with service.open_senders(timeout, ctx.settings.smtp_url) as senders:
        result = service.send_sample(sub, reg, senders, SystemClock(), link_base,
                                     ctx.engine(), public_url)
    click.echo(f"{name}: {result.protocol} {result.status} in {result.latency:.3f} s")
    if result.error:  # sent, with something to say: an e-mail recipient refused
        click.echo(f"{name}: {result.error}")


@main.command()
@click.option("--dry-run", is_flag=True, help="Only list what would be sent, and to whom.")
@click.option("--at", "at", metavar="DATETIME", help="With --dry-run: look from this "
              "instant, e.g. 2026-12-01T09:00Z (a date means 00:00 UTC).")
@click.option("--window", default="30d", show_default=True, metavar="SPAN",
              help="With --dry-run: how far ahead to look (90d, 12w, 6m, 1y).")
@click.option("--catch-up", "catch_up", default="24", show_default=True, metavar="HOURS",
              type=Bounded(0, MAX_CATCH_UP), help="Send reminders missed by up to this many "
              "hours; older ones are recorded as skipped.")
@click.option("--timeout", type=Bounded(0.1, MAX_TIMEOUT), default=15.0, show_default=True,
              help="Seconds per delivery attempt, all of it: connecting, sending and reading "
              "the answer.")
@pass_context
def remind(ctx: Context, dry_run: bool, at: str | None, window: str, catch_up: float,
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
    if at is not None and not dry_run:
        # Receivers check a signature's timestamp against their own clock.
        raise UsageError("--at goes with --dry-run: sending always happens now")
    if dry_run:
        _dry_run(ctx, instant(at, "--at"), window)
        return
    import time

    from calendar_tool import service
    from calendar_tool.stopping import Signals

    link_base, public_url = ctx.link_base(), ctx.public_url()
    # Ctrl-C or SIGTERM while a receiver answers: the attempt finishes and is recorded, as
    # in `run`, rather than the receiver getting a reminder the ledger does not know of.
    with Signals("remind.stopping") as signals:
        reg, engine = ctx.register(), ctx.engine()
        with service.open_senders(timeout, ctx.settings.smtp_url) as senders:
            claimed, results = service.remind_now(
                engine, reg, senders, SystemClock(), link_base, timedelta(hours=catch_up),
                service.Policy(timeout=timeout), time.sleep, public_url,
                signals.received.is_set)
    counts = {state: sum(r.state == state for r in results) for state in ("sent", "pending",
                                                                          "dead")}
    stopped = "; stopped by a signal, the rest left pending for the next pass" \
        if signals.received.is_set() else ""
    click.echo(f"claimed {counted(claimed.reminders, 'reminder')} in "
               f"{counted(claimed.messages, 'message')}, "
               f"skipped {claimed.skipped} past the catch-up window; sent {counts['sent']}, "
               f"to retry {counts['pending']}, dead {counts['dead']}{stopped}")


def _dry_run(ctx: Context, at: datetime | None, window: str) -> None:
    """`remind --dry-run`: what the subscriptions would be sent from `at` (now when None)."""
    from calendar_tool import service
    from calendar_tool.cli import views

    start = at or SystemClock().now()
    try:
        span_end(start.date(), window)  # within the calendar
        span = parse_span(window)
    except ValueError as exc:
        raise UsageError(f"--window: {exc}") from None
    reg, engine = ctx.register(), ctx.engine()
    subs = [i.subscription for i in service.subscriptions(engine, enabled_only=True)]
    todo, done = service.dry_run(engine, reg, subs, start, start + span)
    click.echo(views.plan_table(todo, {s.name: s.zone for s in subs}))
    if done:
        click.echo(f"({done} more already in the ledger)")


@main.command()
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["pending", "retrying", "sending", "sent", "dead", "skipped"]),
              help="Only these states (repeatable).")
@click.option("--subscription", metavar="NAME", help="Only this subscription.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="json includes every attempt.")
@pass_context
def deliveries(ctx: Context, statuses: Sequence[str], subscription: str | None,
               limit: int, fmt: str) -> None:
    """Show the delivery ledger, newest reminder first: one line per reminder.

    \b
    Examples:
      calendar-tool deliveries --status dead
      calendar-tool deliveries --subscription team --format json
    """
    from calendar_tool import service
    from calendar_tool.cli import views

    engine = ctx.engine()
    found = service.ledger(engine, SystemClock().now(), statuses, subscription, limit)
    if fmt == "json":
        click.echo(views.deliveries_json(found, service.attempts(engine)))
    else:
        click.echo(views.deliveries_table(found, bool(statuses) or subscription is not None))
