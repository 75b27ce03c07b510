"""`make test`'s set-up: scripts/services, the session's one-line stop, and a `make clean` that
keeps the user's data. The paths that install or start a service need a machine without it and
root; these tests take the paths that can be run honestly on any machine: nothing to do, and
cannot do it (another port, a missing path, or CALENDAR_TOOL_NO_INSTALL=1)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.paths import ROOT

SCRIPT = ROOT / "scripts" / "services"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CALENDAR_TOOL_NO_INSTALL", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env.update(changes)
    return env


@pytest.fixture
def spy(tmp_path: Path) -> tuple[Path, str]:
    """A folder of stand-ins for apt-get, pg_ctlcluster and su that only record being called,
    put first on PATH; and that PATH."""
    bin_dir, record = tmp_path / "bin", tmp_path / "called"
    bin_dir.mkdir()
    for name in ("apt-get", "pg_ctlcluster", "su"):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{record}"\nexit 1\n')
        tool.chmod(0o755)
    return record, f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def _services(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_nothing_missing_prints_nothing_and_installs_nothing(
        postgres: str, chromium: Path, spy: tuple[Path, str]) -> None:
    """With PostgreSQL answering and Chromium there, the script is silent and calls no apt-get."""
    record, path = spy
    done = _services(_env(CALENDAR_TOOL_TEST_POSTGRES=postgres,
                          CALENDAR_TOOL_TEST_CHROMIUM=str(chromium), PATH=path))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not record.exists()


@pytest.mark.parametrize("where", ["another port", "a missing database on 5432"])
def test_postgres_not_answering_and_not_ours_to_start_stops_with_one_line(
        where: str, chromium: Path, spy: tuple[Path, str]) -> None:
    """A URL where nothing answers, with installing and starting ruled out, exits 1 with one
    line naming the URL and what to do, before anything else is tried."""
    record, path = spy
    url = (f"postgresql://postgres@127.0.0.1:{_free_port()}/test" if where == "another port"
           else f"postgresql://postgres@127.0.0.1:5432/missing_{uuid.uuid4().hex[:8]}")
    done = _services(_env(CALENDAR_TOOL_TEST_POSTGRES=url, CALENDAR_TOOL_NO_INSTALL="1",
                          CALENDAR_TOOL_TEST_CHROMIUM=str(chromium), PATH=path))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"PostgreSQL does not answer at {url}: install and start it (README, \"PostgreSQL for "
        "the tests\") or set CALENDAR_TOOL_TEST_POSTGRES\n")
    assert not record.exists()


def test_the_line_never_shows_a_password(spy: tuple[Path, str], chromium: Path) -> None:
    """A password in the URL is masked in the line, which ends up in CI logs."""
    port = _free_port()
    done = _services(_env(CALENDAR_TOOL_TEST_POSTGRES=f"postgresql://ci:s3cret@127.0.0.1:{port}/t",
                          CALENDAR_TOOL_TEST_CHROMIUM=str(chromium), PATH=spy[1]))
    assert done.returncode == 1
    assert "s3cret" not in done.stderr
    assert f"at postgresql://ci:***@127.0.0.1:{port}/t:" in done.stderr


def test_chromium_missing_elsewhere_stops_with_one_line(
        postgres: str, tmp_path: Path, spy: tuple[Path, str]) -> None:
    """A Chromium path that is not Debian's is not installed to: exit 1 with one line."""
    record, path = spy
    missing = tmp_path / "chromium"
    done = _services(_env(CALENDAR_TOOL_TEST_POSTGRES=postgres,
                          CALENDAR_TOOL_TEST_CHROMIUM=str(missing), PATH=path))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"Chromium is missing at {missing}: install Debian's chromium package "
        "(apt-get install chromium) or set CALENDAR_TOOL_TEST_CHROMIUM\n")
    assert not record.exists()


@pytest.mark.parametrize("selected", ["tests/test_store.py", "tests/test_browser.py"])
def test_a_session_without_its_service_stops_once_before_any_test(
        selected: str, tmp_path: Path) -> None:
    """A test session whose database does not answer (or, for the browser tests, whose
    Chromium is missing) runs no test and prints the script's line once, not a traceback per
    test."""
    url = f"postgresql://postgres@127.0.0.1:{_free_port()}/test"
    missing = tmp_path / "chromium"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", selected],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env=_env(CALENDAR_TOOL_TEST_POSTGRES=url, CALENDAR_TOOL_TEST_CHROMIUM=str(missing)))
    output = done.stdout + done.stderr
    line = (f"PostgreSQL does not answer at {url}" if selected.endswith("store.py")
            else f"Chromium is missing at {missing}")
    assert done.returncode == 1, output
    assert output.count(line) == 1, output
    assert "no tests ran" in output
    assert "Traceback" not in output and "Error" not in output.replace(line, ""), output
    assert len(output.splitlines()) <= 4, output


def test_make_clean_keeps_the_database_and_the_feeds(tmp_path: Path) -> None:
    """`make clean`, run in a copy of the checkout's layout, removes what can be rebuilt and
    leaves the database (with its WAL files) and the feeds."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    kept = ["calendar-tool.db", "calendar-tool.db-wal", "calendar-tool.db-shm",
            "feeds/all.ics", "obligations.yaml", "calendar_tool/cli.py"]
    removed = [".venv/bin/python", "node_modules/ical.js/x.js", ".pytest_cache/x",
               ".mypy_cache/x", ".ruff_cache/x", "calendar_tool.egg-info/PKG-INFO",
               "calendar_tool/__pycache__/cli.pyc", "tests/__pycache__/x.pyc",
               "bench/__pycache__/run.pyc", "test-artifacts/home-desktop.png",
               ".hypothesis/examples/x"]
    for name in kept + removed:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    done = subprocess.run(["make", "clean"], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert [n for n in kept if not (tmp_path / n).exists()] == []
    assert [n for n in removed if (tmp_path / n).exists()] == []
    assert not (tmp_path / "calendar_tool" / "__pycache__").exists()


def test_make_help_says_what_clean_removes() -> None:
    """`make help` names each thing `make clean` removes, and says it keeps the database."""
    done = subprocess.run(["make", "help"], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=60, check=True)
    clean = next(line for line in done.stdout.splitlines() if line.startswith("clean\t"))
    for name in (".venv", "node_modules", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                 "*.egg-info", "__pycache__", "test-artifacts", ".hypothesis"):
        assert name in clean
    assert "not the database, not feeds/" in clean
