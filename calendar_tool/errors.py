"""The exception tree, one class per kind of failure, each with its exit code.

    CalendarToolError              (exit 10; never raised itself)
    ├── RegisterInvalid            (exit 1)  the register has problems; all are listed
    ├── UsageError                 (exit 2)  a command-line value the tool cannot use
    ├── RegisterNotFound           (exit 3)  the register file cannot be read
    ├── UnknownEntry               (exit 4)  `show ID` names no entry or occurrence
    ├── SourcesMissing             (exit 5)  --check-sources: no folder, or none of the texts
    ├── PublishFailed              (exit 6)  the feeds folder cannot be written
    ├── StoreFailed                (exit 7)  the database cannot be opened, migrated or written
    ├── SubscriptionInvalid        (exit 8)  a subscription field the tool cannot use
    ├── UnknownSubscription        (exit 9)  a subscription name that is not in the database
    ├── DeliveryFailed             (exit 11) `subscribe test` got no 2xx answer from the receiver
    ├── FeedsMissing               (exit 12) `serve` has no feeds folder to serve
    └── CoverageShort              (exit 13) `coverage --fail-under`: too few passages covered

Click keeps exit codes 1 (its own aborts are never raised here) and 2 (its usage errors: an
unknown option or command, a missing argument, a value outside its choices or range); paths
are only converted by click, so that a file that cannot be used is one of these errors. The
CLI catches `CalendarToolError` once and prints `error: <message>` on stderr; tracebacks are
only shown with `--debug`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located so an editor can jump to it."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class CalendarToolError(Exception):
    """Base of every error the tool reports to a user."""

    exit_code = 10


class RegisterInvalid(CalendarToolError):
    """The register has one or more problems; `problems` holds every one of them."""

    exit_code = 1

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the register")


class UsageError(CalendarToolError):
    """A command-line value that parses but cannot be used (a bad period, a bad duration)."""

    exit_code = 2


class RegisterNotFound(CalendarToolError):
    """The register file does not exist or cannot be read."""

    exit_code = 3


class UnknownEntry(CalendarToolError):
    """An id given on the command line names no entry or occurrence."""

    exit_code = 4


class SourcesMissing(CalendarToolError):
    """The folder of source texts, or a file a document names, is not there."""

    exit_code = 5


class PublishFailed(CalendarToolError):
    """The feeds folder cannot be written."""

    exit_code = 6


class StoreFailed(CalendarToolError):
    """The database cannot be opened, migrated or written, or refuses a write (a name taken)."""

    exit_code = 7


class SubscriptionInvalid(CalendarToolError):
    """A subscription field that cannot be used; `problems` holds (field, message) pairs."""

    exit_code = 8

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.problems))


class UnknownSubscription(CalendarToolError):
    """A subscription name that is not in the database."""

    exit_code = 9


class DeliveryFailed(CalendarToolError):
    """A test delivery got no 2xx answer."""

    exit_code = 11


class FeedsMissing(CalendarToolError):
    """The folder `serve` is to serve is not there, not a folder, or cannot be read."""

    exit_code = 12


class CoverageShort(CalendarToolError):
    """`coverage --fail-under`: fewer dated passages cited or reviewed than asked for."""

    exit_code = 13


def os_reason(exc: OSError) -> str:
    """Why a file could not be used, as the one-line messages say it: the system's words in
    lower case ("permission denied", "no space left on device"), without the errno and file
    that `str(exc)` adds; `str(exc)` when the system gave no words."""
    return exc.strerror.lower() if exc.strerror else str(exc)
