"""Shared fixtures: the real register, the sample, a CLI runner, and databases.

Every test that takes `db_url` or `engine` runs twice: on a SQLite file and on the real
PostgreSQL named by CALENDAR_TOOL_TEST_POSTGRES (`make test` and `.ci/run` set it), each test
in a schema of its own. Without that variable, or without a server answering there, the session
stops before any test runs, with one line (and so does one that selects the browser tests when
Chromium is missing): never a skip, since a suite that silently drops PostgreSQL would pass
while proving nothing about it, nor a failure per test, whose tracebacks would bury the cause.
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from calendar_tool import store
from calendar_tool.cli import main
from calendar_tool.model import Register
from tests import services
from tests.paths import REGISTER, SAMPLE
from tests.registers import load_register


@pytest.fixture(scope="session")
def sample() -> Register:
    return load_register(SAMPLE)


@pytest.fixture(scope="session")
def real() -> Register:
    return load_register(REGISTER)


CLI = Callable[..., Result]


@pytest.fixture(autouse=True, scope="session")
def _entry_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Commands run by the tests (in-process or not) keep their entry cache in a folder of
    the session's own, never in the user's ~/.cache."""
    os.environ["CALENDAR_TOOL_CACHE"] = str(tmp_path_factory.mktemp("entry-cache"))


@pytest.fixture(autouse=True)
def _collector_as_usual() -> Iterator[None]:
    """Commands and runners freeze the heap of their process (heap.kept), which in-process
    is the test session's: thaw it after each test, so the session collects its garbage as
    usual."""
    yield
    gc.unfreeze()


def _cli(db: str) -> CLI:
    def run(*args: str, register: Path = SAMPLE) -> Result:
        return CliRunner().invoke(main, ["--register", str(register), "--db", db, *args])

    return run


@pytest.fixture
def cli(tmp_path_factory: pytest.TempPathFactory) -> CLI:
    """Run `calendar-tool ARGS` in-process, with a database of the test's own (SQLite, in a
    folder of its own so that it never shows up among a test's files); stdout and stderr stay
    apart."""
    return _cli(f"sqlite:///{tmp_path_factory.mktemp('db') / 'cli.db'}")


@pytest.fixture
def cli_db(db_url: str) -> CLI:
    """As `cli`, once on SQLite and once on PostgreSQL: for the commands that use the store."""
    return _cli(db_url)


@pytest.fixture(scope="session")
def postgres() -> str:
    """The URL of the test PostgreSQL (checked before the session's first test)."""
    return os.environ[services.POSTGRES_ENV]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Where the browser tests find Chromium (checked before the session's first test)."""
    return services.chromium_path()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Before any test runs, check once the services the selected tests use (those taking
    `postgres` or `chromium`, directly or through another fixture), and stop the session with
    one line per missing service rather than fail each test with its traceback."""
    if session.config.option.collectonly:
        return
    used = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    problems = []
    if "postgres" in used:
        url = os.environ.get(services.POSTGRES_ENV)
        problems.append(
            services.postgres_problem(url) if url else
            f"{services.POSTGRES_ENV} is not set: run the suite with `make test`, which points "
            "it at the PostgreSQL on 127.0.0.1:5432 (README, \"PostgreSQL for the tests\")")
    if "chromium" in used:
        problems.append(services.chromium_problem(services.chromium_path()))
    if lines := [line for line in problems if line]:
        pytest.exit("\n".join(lines), returncode=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           postgres: str) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a new schema on the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'calendar-tool.db'}"
        return
    base = postgres
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(store.normalise_url(base))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[store.Engine]:
    e = store.open_store(db_url)
    yield e
    e.dispose()
