"""The `calendar-tool` group: global options, the typed context every command receives, the
one error handler, and the parsing of values the commands share (dates, instants, choices)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import click
from click.core import ParameterSource

from calendar_tool import heap
from calendar_tool.clock import Clock, FixedClock, SystemClock
from calendar_tool.config import (
    DB_ENV,
    DEFAULT_DB,
    DEFAULT_REGISTER,
    PUBLIC_URL_ENV,
    REGISTER_ENV,
    Settings,
    check_public_url,
)
from calendar_tool.errors import CalendarToolError, RegisterInvalid, UsageError
from calendar_tool.model import CALENDAR, Kind, Register, State, in_calendar

if TYPE_CHECKING:  # the register and the store: imported by the commands that read them
    from calendar_tool.register import Dates, Located
    from calendar_tool.service import Engine


@dataclass
class Context:
    """What every command is given: the settings, whether to show tracebacks, and the
    register and the database, each opened when a command first asks for it."""

    settings: Settings
    debug: bool = False
    _engine: Engine | None = field(default=None, repr=False)

    def located(self) -> Located:
        """The register, reusing the entries the cache kept from an earlier command."""
        from calendar_tool.register import load

        # Millions of objects that outlive the read, and no garbage cycles: see heap.py.
        with heap.kept():
            return load(self.settings.register, self.settings.cache)

    def register(self) -> Register:
        return self.located().register

    def dates(self) -> Dates:
        """The register's occurrences for `list` and `review`: from its date index when
        that is the register's as it is now, else from the register, read as `located`."""
        from calendar_tool.register import dated

        with heap.kept():
            return dated(self.settings.register, self.settings.cache)

    def public_url(self) -> str | None:
        """Where subscribers reach `serve` (CALENDAR_TOOL_PUBLIC_URL), None when unset;
        UsageError naming the variable when it cannot be one. Checked by the commands that
        link to it, when they start, as the SMTP server is by those that send: the others
        run whatever it holds."""
        url = self.settings.public_url
        if url is not None:
            try:
                check_public_url(url)
            except ValueError as exc:
                raise UsageError(f"{PUBLIC_URL_ENV}: {exc}") from None
        return url

    def link_base(self) -> str:
        """What reminders link to: the public URL (checked), or `serve`'s default address."""
        return self.public_url() or self.settings.link_base

    def engine(self) -> Engine:
        """The database, opened (and migrated) once, closed when the command ends."""
        if self._engine is None:
            from calendar_tool import service

            self._engine = service.open_store(self.settings.db, self.settings.db_given_by)
            click.get_current_context().call_on_close(self._engine.dispose)
        return self._engine


pass_context = click.make_pass_decorator(Context)


def _fail(exc: CalendarToolError, debug: bool) -> NoReturn:
    if isinstance(exc, RegisterInvalid):
        for problem in exc.problems:
            click.echo(str(problem), err=True)
    click.echo(f"error: {exc}", err=True)
    if debug:
        raise exc
    sys.exit(exc.exit_code)


# 128 + SIGPIPE: the status a shell gives a command its closed output ended.
SIGPIPE_EXIT = 141


# 128 + SIGTERM: the status a shell gives a command SIGTERM ended.
SIGTERM_EXIT = 143


def _terminated(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM in a command with no handling of its own (`run`, `serve` and `remind` stop
    cleanly instead: stopping.Signals): ended as by an exception, so that the temporary
    file of a feed or cache being written is removed (the signal's default action ran no
    clean-up, and left it in the folder), with the status the signal gives."""
    raise SystemExit(SIGTERM_EXIT)


class _Group(click.Group):
    """Turns the library's errors into one line each and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
        try:
            return super().invoke(ctx)
        except CalendarToolError as exc:
            _fail(exc, isinstance(ctx.obj, Context) and ctx.obj.debug)
        except BrokenPipeError:
            # Whoever read the output left (`| head`): nothing is wrong, and there is nobody
            # to tell. Exit as a tool the signal ended does (click would exit 1, which here
            # says the register has problems); what is still buffered goes nowhere.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(SIGPIPE_EXIT)
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)


@click.group(cls=_Group)
# Paths are only converted here: a file that is missing or cannot be read is the tool's own
# error, one line with its exit code (3), not click's usage error (2).
@click.option("--register", "register_path", type=click.Path(path_type=Path, readable=False),
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
    given_by = DB_ENV if ctx.get_parameter_source("db_url") is ParameterSource.ENVIRONMENT \
        else "--db"
    ctx.obj = Context(replace(Settings.from_env(), register=register_path, db=db_url,
                              db_given_by=given_by), debug)


# --- values the commands share ---------------------------------------------------------------

def day(value: str | None, name: str) -> date | None:
    """A date given on the command line (`name` is the option, for the message)."""
    if value is None:
        return None
    try:
        given = date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name} {value!r} is not a date such as 2005-06-30") from None
    if not in_calendar(given, given):
        raise UsageError(f"{name} {value!r} is outside {CALENDAR}")
    return given


def day_clock(value: str | None, name: str) -> Clock:
    """The system clock, or one standing at 00:00 UTC of the day given."""
    given = day(value, name)
    return SystemClock() if given is None else \
        FixedClock(datetime(given.year, given.month, given.day, tzinfo=UTC))


def instant(value: str | None, name: str) -> datetime | None:
    """An aware instant: 2026-12-01T09:00+01:00, ...Z, or a date (00:00 UTC)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time(),
                                      tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name} {value!r} is not a date or a date and time such as "
                         "2026-12-01T09:00Z") from None
    if parsed.tzinfo is None:
        raise UsageError(f"{name} {value!r} has no zone: add Z or an offset such as +01:00")
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:  # a zone's offset moved it past year 1 or 9999
        utc = None
    if utc is None or not in_calendar(utc.date(), utc.date()):
        raise UsageError(f"{name} {value!r} is outside {CALENDAR}")
    return utc


class Folder(click.Path):
    """A folder named on the command line. An empty value (`--out "$FEEDS"` with the
    variable unset) is refused, one line naming the option: Path("") is the current
    folder, so `publish` wrote its feeds there and `serve` served it without a word."""

    def __init__(self) -> None:
        super().__init__(path_type=Path, readable=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        if value == "":
            name = param.opts[0] if isinstance(param, click.Option) else \
                param.human_readable_name if param is not None else "the folder"
            raise UsageError(f"{name} is empty: give a folder (an empty path is the current "
                             "folder, which is rarely meant)")
        return super().convert(value, param, ctx)


def choices(enum: type[Kind] | type[State]) -> click.Choice[str]:
    return click.Choice([m.value for m in enum])


MAX_TIMEOUT = 300.0
"""The longest --timeout (seconds): a receiver five minutes from answering is down."""

MAX_CATCH_UP = 24 * 366.0
"""The longest --catch-up (hours): a year."""


class Bounded(click.FloatRange):
    """A number from `min` to `max`; unlike FloatRange, `nan` (which no comparison refuses)
    is refused too."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number.", param, ctx)
        return number
