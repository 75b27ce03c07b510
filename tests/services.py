"""The two services the suite needs, and the one line that says what to do when one is missing.

Used by the test session (tests/conftest.py checks once, before any test runs) and by
`scripts/services` (run by `make test` and so by `.ci/run`), so both say the same words:

    python -m tests.services [postgres] [chromium]    # one line per missing service, exit 1
    python -m tests.services local-database           # the database to create, if ours to make
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

POSTGRES_ENV = "CALENDAR_TOOL_TEST_POSTGRES"
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
CHROMIUM_ENV = "CALENDAR_TOOL_TEST_CHROMIUM"
# Where Debian's `chromium` package puts the browser: the only path `scripts/services` can
# install to.
CHROMIUM_DEFAULT = "/usr/bin/chromium"
CONNECT_TIMEOUT = 3  # seconds: a server that does not answer in 3 s on loopback is not there


def postgres_url() -> str:
    return os.environ.get(POSTGRES_ENV) or POSTGRES_DEFAULT


def chromium_path() -> Path:
    return Path(os.environ.get(CHROMIUM_ENV) or CHROMIUM_DEFAULT)


def masked(url: str) -> str:
    """The URL with its password, if any, replaced by ***: the line goes into CI logs."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def postgres_missing(url: str) -> str:
    return (f"PostgreSQL does not answer at {masked(url)}: install and start it "
            f"(README, \"PostgreSQL for the tests\") or set {POSTGRES_ENV}")


def chromium_missing(path: Path) -> str:
    return (f"Chromium is missing at {path}: install Debian's chromium package "
            f"(apt-get install chromium) or set {CHROMIUM_ENV}")


def postgres_problem(url: str) -> str | None:
    """None when a connection to `url` opens within CONNECT_TIMEOUT, else the line."""
    import psycopg  # only here: the check of Chromium needs no driver

    plain = re.sub(r"^postgres(ql)?\+psycopg://", "postgresql://", url)
    try:
        psycopg.connect(plain, connect_timeout=CONNECT_TIMEOUT).close()
    except psycopg.Error:
        return postgres_missing(url)
    return None


def chromium_problem(path: Path) -> str | None:
    if path.is_file() and os.access(path, os.X_OK):
        return None
    return chromium_missing(path)


def local_database(url: str) -> str | None:
    """The database name when `url` names Debian's cluster on this machine (loopback, port
    5432): the one server `scripts/services` may start, install and create a database in."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.port not in (None, 5432):
        return None
    return unquote(parts.path.lstrip("/")) or None


def main(args: list[str]) -> int:
    if args == ["local-database"]:
        name = local_database(postgres_url())
        if name:
            sys.stdout.write(name + "\n")
        return 0 if name else 1
    checks = {"postgres": lambda: postgres_problem(postgres_url()),
              "chromium": lambda: chromium_problem(chromium_path())}
    problems = [line for name in (args or list(checks)) if (line := checks[name]())]
    sys.stderr.writelines(line + "\n" for line in problems)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
