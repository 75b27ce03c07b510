"""Each row of the README's exit-code table, on the real command line: the exact exit code and
the one line it prints on stderr. The table is read from the README: a row without a test here
fails `test_every_row_of_the_table_has_a_test`, so the two stay together.

A test is named `test_exit_<code>_<what>`. Failures that only an unprivileged user meets (a
file it may not read) run in a process without root's permission override
(`_without_override`), so that they are real on a machine where the suite runs as root."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.generate import register_text
from calendar_tool import store
from calendar_tool.cli import main
from calendar_tool.model import Format, Subscription
from tests.conftest import CLI
from tests.paths import FIXTURES, REGISTER, ROOT, SAMPLE
from tests.receiver import closed_port

README = (ROOT / "README.md").read_text(encoding="utf-8")
OTHER = "give --register PATH or set CALENDAR_TOOL_REGISTER"


def _table_codes() -> set[int]:
    """The codes of the README's "Exit codes" table."""
    section = README.split("### Exit codes\n", 1)[1].split("\n#", 1)[0]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", section, re.M)}


def test_every_row_of_the_table_has_a_test() -> None:
    """Each code of the README's table has a test here named for it, and each such test a
    row."""
    tested = {int(m.group(1)) for name in globals()
              if (m := re.fullmatch(r"test_exit_(\d+)_\w+", name))}
    assert tested == _table_codes()


def _without_override(invocations: list[list[str]], env: dict[str, str] | None = None,
                      timeout: float = 120) -> list[tuple[int, str]]:
    """Run each `calendar-tool ARGS` in one process that file permissions bind: as root, one
    whose capability bounding set lacks DAC override and read search (setpriv), so that a file
    of mode 000 cannot be read. Each invocation's exit code and stderr; the process is given
    `timeout` seconds in all."""
    code = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from calendar_tool.cli import main\n"
        "out = []\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    result = CliRunner().invoke(main, args)\n"
        "    out.append([result.exit_code, result.stderr])\n"
        "print(json.dumps(out))\n"
    )
    command = [sys.executable, "-c", code, json.dumps(invocations)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to take root's permission override away"
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    return [(code_, err) for code_, err in json.loads(done.stdout.splitlines()[-1])]


def _unreadable(path: Path) -> Path:
    """`path` with no permission for anyone (root aside, see `_without_override`)."""
    path.chmod(0)
    return path


# --- 0 ---------------------------------------------------------------------------------------

def test_exit_0_success(cli: CLI) -> None:
    """A clean register validates: exit 0, its count on stdout, nothing on stderr."""
    result = cli("validate")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0, f"{SAMPLE}: 10 entries, no problems\n", "")


# --- 1 ---------------------------------------------------------------------------------------

def test_exit_1_the_register_has_problems(cli: CLI) -> None:
    """Every problem on a line of its own, as FILE:LINE:COL: FIELD: MESSAGE, then the count."""
    broken = FIXTURES / "broken.yaml"
    result = cli("validate", register=broken)
    lines = result.stderr.splitlines()
    assert result.exit_code == 1
    assert lines[-1] == "error: 15 problems in the register"
    assert len(lines) == 16
    assert all(re.match(rf"{re.escape(str(broken))}:\d+:\d+: \S+: ", line)
               for line in lines[:-1])
    assert lines[1] == (f"{broken}:14:11: entries[0].date: '2005-02-30' is not a real date "
                        "(day is out of range for month)")


def test_exit_1_a_register_that_is_not_utf8_is_a_problem_at_its_byte(
        cli: CLI, tmp_path: Path) -> None:
    """A byte that is not UTF-8 is a problem of the file, at its line and column, so that an
    editor can go to it: exit 1, as for any other problem."""
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"entries: []\n\xff")
    result = cli("validate", register=latin1)
    assert (result.exit_code, result.stderr) == (
        1, f"{latin1}:2:1: byte 0xff is not UTF-8: save the file as UTF-8\n"
           "error: 1 problem in the register\n")


# --- 2 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "error"), [
    (["list", "--bogus"], "Error: No such option '--bogus'."),
    (["list", "--format", "xml"],
     "Error: Invalid value for '--format': 'xml' is not one of 'table', 'json', 'csv'."),
    (["show"], "Error: Missing argument 'ID'."),
])
def test_exit_2_usage_clicks_own(args: list[str], error: str) -> None:
    """Click's own usage errors keep code 2, with its usage text and its `Error:` line."""
    result = CliRunner().invoke(main, args, prog_name="calendar-tool")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Usage: calendar-tool {args[0]} [OPTIONS]")
    assert result.stderr.splitlines()[-1] == error


@pytest.mark.parametrize(("args", "error"), [
    (["list", "--due", "soon"],
     "error: --due: 'soon' is not a period: write 2005, 2005-06, 2005-06-30 or 2001..2005"),
    (["list", "--area", "atlantis"],
     "error: unknown area 'atlantis'; the register declares: governance, trafficking, victims"),
    # The period is named one way at a time: no option of it is silently dropped.
    (["list", "--due", "2005", "--from", "2001"],
     "error: --due already names the period; drop --from/--until"),
    (["list", "--upcoming", "1y", "--due", "2005"],
     "error: --upcoming already names the period; drop --due"),
    (["list", "--upcoming", "1y", "--from", "2005", "--until", "2006"],
     "error: --upcoming already names the period; drop --from/--until"),
    (["list", "--upcoming", "1y", "--overdue"],
     "error: --overdue is before today and --upcoming from today on, so nothing is both; "
     "drop one"),
    (["list", "--due", "2006..2005"],
     "error: --due: '2006..2005': the period ends before it starts"),
    (["list", "--from", "2006", "--until", "2005"],
     "error: --from '2006' --until '2005': the period ends before it starts"),
])
def test_exit_2_usage_the_tools_own(cli: CLI, args: list[str], error: str) -> None:
    """A value click parses but the tool cannot use: code 2 and one line."""
    result = cli(*args)
    assert (result.exit_code, result.stderr) == (2, error + "\n")


@pytest.mark.parametrize(("args", "name"), [
    (["publish", "--out", ""], "--out"),
    (["run", "--out", "", "--watch", "0"], "--out"),
    (["serve", "--port", "0", "--feeds", ""], "--feeds"),
    (["validate", "--check-sources", ""], "--check-sources"),
    (["coverage", ""], "SOURCES_DIR"),
])
def test_exit_2_usage_an_empty_folder_option(cli: CLI, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch, args: list[str],
                                             name: str) -> None:
    """An empty folder (`--out "$FEEDS"` with the variable unset) was the current folder:
    `publish` wrote 26 feeds there and `serve` served it. One line naming the option, exit 2,
    before anything is read or written (`run` and `serve` are given a register that is not
    there, so that one that went on would stop at once)."""
    monkeypatch.chdir(tmp_path)
    result = cli(*args, register=tmp_path / "missing.yaml")
    assert (result.exit_code, result.stderr) == (
        2, f"error: {name} is empty: give a folder (an empty path is the current folder, "
           "which is rarely meant)\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("value", "line"), [
    ("notaurl", "'notaurl' is not an http:// or https:// URL with a host, such as "
                "https://calendar.example.org"),
    ("javascript:alert(1)", "'javascript:alert(1)' is not an http:// or https:// URL with a "
                            "host, such as https://calendar.example.org"),
    ("https://calendar.example.org/?a=1#top",
     "'https://calendar.example.org/?a=1#top' has a query or a fragment, which would sit in "
     "the middle of every link (URL/obligations/ID): give the address alone, such as "
     "https://calendar.example.org"),
    ("https://keeper:secret@calendar.example.org",
     "has a user or password, which every feed and reminder would publish: give the address "
     "alone, such as https://calendar.example.org"),
    # A feed's URL and a chat's link are URIs: ASCII, percent-encoded.
    ("https://example.org/kalender-ü",
     "'https://example.org/kalender-ü' holds characters a link cannot carry as they are: "
     "write them percent-encoded (ü as %C3%BC, a space as %20) and a host name as its xn-- "
     "form"),
])
def test_exit_2_usage_a_public_url_that_is_not_one(
        cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, line: str
) -> None:
    """CALENDAR_TOOL_PUBLIC_URL was put as it was into every feed's URL (`notaurl/obligations/
    …`): each command that links to it refuses it at start, exit 2 and one line naming the
    variable; a command that does not link to it runs. `run` and `serve` run in a process of
    their own, so that one that started would not hold up the suite."""
    db = ["--register", str(SAMPLE), "--db", f"sqlite:///{tmp_path / 'cli.db'}"]
    linking = [["publish", "--out", str(tmp_path / "feeds")],
               ["run", "--out", str(tmp_path / "feeds"), "--watch", "0"],
               ["serve", "--port", "0", "--feeds", str(tmp_path)],
               ["subscribe", "test", "team"], ["remind"]]
    env = {"CALENDAR_TOOL_PUBLIC_URL": value}
    found = _without_override([[*db, *args] for args in linking], env=env)
    assert found == [(2, f"error: CALENDAR_TOOL_PUBLIC_URL: {line}\n")] * len(linking)
    assert not (tmp_path / "feeds").exists()
    monkeypatch.setenv("CALENDAR_TOOL_PUBLIC_URL", value)
    assert (cli("validate").exit_code, cli("list", "--due", "2005").exit_code) == (0, 0)


# --- 3 ---------------------------------------------------------------------------------------

# Every command that reads the register, each as it reads it: `load` for the one-shot
# commands, `RegisterFile` for `run` and `serve`.
def _reading_commands(tmp: Path) -> list[list[str]]:
    return [
        ["validate"], ["list"], ["show", "congresses"],
        ["publish", "--out", str(tmp / "feeds")],
        ["subscribe", "add", "other", "--url", "http://127.0.0.1:9/hook"],
        ["subscribe", "test", "team"],
        ["remind", "--dry-run"], ["remind"],
        ["run", "--out", str(tmp / "feeds"), "--watch", "0"],
        ["serve", "--port", "0", "--feeds", str(tmp)],
    ]


def _with_team(tmp: Path) -> str:
    """The URL of a SQLite database in `tmp` with the subscription `subscribe test team`
    sends to."""
    db = f"sqlite:///{tmp / 'cli.db'}"
    engine = store.open_store(db)
    store.add_subscription(engine, Subscription(
        name="team", url=f"http://127.0.0.1:{closed_port()}/hook", format=Format.JSON,
        created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    engine.dispose()
    return db


def test_exit_3_the_register_cannot_be_read(tmp_path: Path) -> None:
    """A register that is not there, a folder or unreadable: exit 3 and one line
    saying which, on every command that reads it, given by --register or the environment."""
    db = _with_team(tmp_path)
    (tmp_path / "folder.yaml").mkdir()
    denied = tmp_path / "denied.yaml"
    denied.write_text(SAMPLE.read_text())
    _unreadable(denied)
    lines = {
        "missing.yaml": "no register at '{}': " + OTHER,
        "folder.yaml": "the register '{}' is a folder, not a file: " + OTHER,
        "denied.yaml": "cannot read the register '{}': permission denied",
    }
    invocations = [["--register", str(tmp_path / name), "--db", db, *args]
                   for name in lines for args in _reading_commands(tmp_path)]
    expected = [(3, f"error: {lines[name].format(tmp_path / name)}\n")
                for name in lines for _ in _reading_commands(tmp_path)]
    assert _without_override(invocations) == expected
    from_env = _without_override([["--db", db, "list"]],
                                 env={"CALENDAR_TOOL_REGISTER": str(denied)})
    assert from_env == [(3, f"error: cannot read the register '{denied}': permission denied\n")]


def test_exit_3_the_register_is_not_a_regular_file(tmp_path: Path) -> None:
    """A FIFO named as the register held every command for ever (reading it waits for a
    writer), and /dev/zero took `validate` to 3 GB: anything but a regular file (a link
    followed) is exit 3 and one line, before it is read, on every command that reads it;
    `list` too when its date index was built from a file since replaced by a FIFO. In a
    process of its own with a timeout, so that a command that waits fails the test instead
    of holding up the suite."""
    db = _with_team(tmp_path)
    register = tmp_path / "obligations.yaml"
    register.write_bytes(SAMPLE.read_bytes())
    [(code, _)] = _without_override([["--register", str(register), "--db", db, "list"]],
                                    timeout=60)
    assert code == 0  # its date index is in the cache folder now
    register.unlink()
    os.mkfifo(register)
    link = tmp_path / "link.yaml"
    link.symlink_to(register)
    kinds = {register: "a named pipe (FIFO)", link: "a named pipe (FIFO)",
             Path("/dev/null"): "a character device"}
    invocations = [["--register", str(path), "--db", db, *args]
                   for path in kinds for args in _reading_commands(tmp_path)]
    expected = [(3, f"error: the register '{path}' is {kind}, not a regular file: {OTHER}\n")
                for path, kind in kinds.items() for _ in _reading_commands(tmp_path)]
    assert _without_override(invocations, timeout=60) == expected


# --- 4 ---------------------------------------------------------------------------------------

def test_exit_4_show_names_no_entry(cli: CLI) -> None:
    """`show` of an id the register does not have: exit 4, one line naming it."""
    result = cli("show", "nope")
    assert (result.exit_code, result.stderr) == (
        4, "error: no entry or occurrence 'nope' in the register; `calendar-tool list` shows "
           "the ids\n")


# --- 5 ---------------------------------------------------------------------------------------

def test_exit_5_the_sources_folder_is_not_there(cli: CLI, tmp_path: Path) -> None:
    """--check-sources naming nothing, a file, a folder holding none of the texts cited
    (another folder given by mistake), or a folder or text it may not read: exit 5 and one
    line (never click's usage error, nor a problem for each quote)."""
    (tmp_path / "a-file").write_text("")
    for name in ("nowhere", "a-file"):
        result = cli("validate", "--check-sources", str(tmp_path / name))
        assert (result.exit_code, result.stderr) == (
            5, f"error: no sources folder at '{tmp_path / name}'\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not a text the register cites")
    found = [(r.exit_code, r.stderr) for r in (
        cli("validate", "--check-sources", str(tmp_path / "other"), register=register)
        for register in (FIXTURES / "curation.yaml", SAMPLE, REGISTER))]
    assert found == [
        (5, "error: the text the register cites is not in the sources folder (res-1.txt)\n"),
        (5, "error: none of the 2 texts the register cites is in the sources folder "
            "(000_4853c77995d8575d.txt, 001_cdad1b6ede30b35f.txt)\n"),
        (5, "error: none of the 5 texts the register cites is in the sources folder "
            "(000_4853c77995d8575d.txt, 001_cdad1b6ede30b35f.txt, …)\n")]
    texts = tmp_path / "texts"
    texts.mkdir()
    _unreadable(texts)
    text = tmp_path / "seeds" / "000_4853c77995d8575d.txt"
    text.parent.mkdir()
    text.write_text("we establish 2002 as a target date")
    _unreadable(text)
    found = _without_override([["--register", str(SAMPLE), "validate", "--check-sources",
                                str(folder)] for folder in (texts, text.parent)])
    assert found == [
        (5, f"error: cannot read the source text '{texts / text.name}': permission denied\n"),
        (5, f"error: cannot read the source text '{text}': permission denied\n")]


# --- 6 ---------------------------------------------------------------------------------------

def test_exit_6_publish_cannot_write_its_folder(cli: CLI, tmp_path: Path) -> None:
    """A file where the folder should be, for `publish` and `run`, or a folder it may not
    write: exit 6 and one line."""
    in_the_way = tmp_path / "feeds"
    in_the_way.write_text("")
    line = f"error: cannot publish into '{in_the_way}': '{in_the_way}' is not a folder\n"
    for command in ("publish", "run"):
        result = cli(command, "--out", str(in_the_way))
        assert (result.exit_code, result.stderr) == (6, line)
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o555)
    [(code, err)] = _without_override([["--register", str(SAMPLE), "--db",
                                        f"sqlite:///{tmp_path / 'cli.db'}", "publish", "--out",
                                        str(closed)]])
    assert (code, err) == (
        6, f"error: cannot publish into '{closed}': permission denied (writing all.ics)\n")


# --- 7 ---------------------------------------------------------------------------------------

def test_exit_7_the_database_cannot_be_used(cli: CLI, tmp_path: Path) -> None:
    """A URL that is not one, a file that cannot be created, a server that does not answer,
    a name already taken: exit 7 and one line each."""
    runner = CliRunner()

    def with_db(url: str) -> tuple[int, str]:
        result = runner.invoke(main, ["--db", url, "subscribe", "list"])
        return result.exit_code, result.stderr

    assert with_db("nonsense") == (
        7, "error: --db: 'nonsense' is not a database URL such as sqlite:///calendar-tool.db or "
           "postgresql://user@host/db\n")
    from_env = runner.invoke(main, ["subscribe", "list"], env={"CALENDAR_TOOL_DB": "nonsense"})
    assert (from_env.exit_code, from_env.stderr) == (
        7, "error: CALENDAR_TOOL_DB: 'nonsense' is not a database URL such as "
           "sqlite:///calendar-tool.db or postgresql://user@host/db\n")
    missing = tmp_path / "no-such-folder" / "x.db"
    assert with_db(f"sqlite:///{missing}") == (
        7, f"error: --db: cannot open the database sqlite:///{missing}: no such file or "
           "directory\n")
    from_env = runner.invoke(main, ["subscribe", "list"],
                             env={"CALENDAR_TOOL_DB": f"sqlite:///{missing}"})
    assert (from_env.exit_code, from_env.stderr) == (
        7, f"error: CALENDAR_TOOL_DB: cannot open the database sqlite:///{missing}: no such "
           "file or directory\n")
    code, err = with_db(f"postgresql://postgres@127.0.0.1:{closed_port()}/x")
    assert (code, err.count("\n")) == (7, 1)
    assert err.startswith("error: --db: cannot open the database postgresql+psycopg://postgres@")
    assert "Connection refused" in err
    assert cli("subscribe", "add", "team", "--url", "http://127.0.0.1:9/hook").exit_code == 0
    taken = cli("subscribe", "add", "team", "--url", "http://127.0.0.1:9/hook")
    assert (taken.exit_code, taken.stderr) == (
        7, "error: name: a subscription named 'team' already exists\n")


def test_exit_7_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    """A SQLite URL naming a file that is not a database (the register, say) was a
    traceback and exit 1: exit 7 and one line, and the file is left as it was."""
    text = tmp_path / "obligations.yaml"
    text.write_bytes(SAMPLE.read_bytes())
    result = CliRunner().invoke(main, ["--register", str(SAMPLE), "--db", f"sqlite:///{text}",
                                       "subscribe", "list"])
    assert (result.exit_code, result.stderr) == (
        7, f"error: --db: cannot open the database sqlite:///{text}: file is not a database\n")
    assert text.read_bytes() == SAMPLE.read_bytes()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:",
                                 "sqlite:///file::memory:?uri=true",
                                 "sqlite:///file:x?mode=memory&uri=true"])
def test_exit_7_a_database_in_memory_is_refused(url: str) -> None:
    """A SQLite database in memory said "added" and lost it when the command ended: exit 7
    and one line naming the option or the variable that gave it, before anything is read or
    written."""
    line = ("error: {}: '" + url + "' is a SQLite database in memory, lost when the command "
            "ends: give a file, such as sqlite:///calendar-tool.db\n")
    runner = CliRunner()
    add = ["--register", str(SAMPLE), "subscribe", "add", "mem", "--url",
           "http://127.0.0.1:9/x"]
    by_option = runner.invoke(main, ["--db", url, *add],
                              env={"CALENDAR_TOOL_DB": "sqlite:///elsewhere.db"})
    by_variable = runner.invoke(main, add, env={"CALENDAR_TOOL_DB": url})
    assert [(r.exit_code, r.stdout, r.stderr) for r in (by_option, by_variable)] == [
        (7, "", line.format("--db")), (7, "", line.format("CALENDAR_TOOL_DB"))]


def test_exit_7_a_sqlite_url_the_driver_would_not_take_as_written(tmp_path: Path) -> None:
    """`?mode=memory` without `uri=true` is ignored by SQLite's driver: a file database was
    opened, and SQLAlchemy's warning, two lines quoting a source file, went to stderr. The
    URL is now refused, exit 7 in one line saying why, and no file is made."""
    url = f"sqlite:///{tmp_path / 'never.db'}?mode=memory"
    result = CliRunner().invoke(main, ["--register", str(SAMPLE), "--db", url, "deliveries"])
    assert (result.exit_code, result.stdout, result.stderr) == (
        7, "", f"error: --db: '{url}' is not taken as written: Query "
        "string argument(s) 'mode' are not accepted by the pysqlite driver and are being "
        "ignored; SQLite URI arguments require that 'uri=true' also be present in the URL.\n")
    assert list(tmp_path.iterdir()) == []


# --- 8 ---------------------------------------------------------------------------------------

def test_exit_8_a_subscription_field_cannot_be_used(cli: CLI) -> None:
    """A subscription field the tool cannot use: exit 8, one line naming the field."""
    result = cli("subscribe", "add", "team", "--url", "not-a-url")
    assert (result.exit_code, result.stderr) == (
        8, "error: url: not an http:// or https:// URL with a host\n")


@pytest.mark.parametrize("url", ["http://[::1/hook", "https://[example.org]/hook"])
def test_exit_8_a_url_whose_host_does_not_parse(cli: CLI, url: str) -> None:
    """A bracketed host that is not an IPv6 address made guessing the URL's service (Slack's
    check) raise: a traceback and exit 1. It is refused as any URL without a host is."""
    result = cli("subscribe", "add", "team", "--url", url)
    assert (result.exit_code, result.stderr) == (
        8, "error: url: not an http:// or https:// URL with a host\n")


# --- 9 ---------------------------------------------------------------------------------------

def test_exit_9_no_subscription_by_that_name(cli: CLI) -> None:
    """Removing a subscription that is not there: exit 9, one line naming it."""
    result = cli("subscribe", "remove", "nobody")
    assert (result.exit_code, result.stderr) == (9, "error: no subscription named 'nobody'\n")


# --- 11 --------------------------------------------------------------------------------------

def test_exit_11_subscribe_test_got_no_2xx(cli: CLI) -> None:
    """`subscribe test` when nothing listens at the URL: exit 11, one line saying so."""
    port = closed_port()
    assert cli("subscribe", "add", "down", "--url",
               f"http://127.0.0.1:{port}/hook/secret").exit_code == 0
    result = cli("subscribe", "test", "down", "--timeout", "2")
    assert (result.exit_code, result.stderr) == (
        11, f"error: could not reach the receiver of 'down': nothing listens at "
            f"127.0.0.1:{port} (connection refused)\n")


# --- 12 --------------------------------------------------------------------------------------

def test_exit_12_serve_has_no_feeds_folder(cli: CLI, tmp_path: Path) -> None:
    """`serve --feeds` naming nothing, a file or a folder it may not read: exit 12 and one
    line, before it listens."""
    hint = "publish into it first (calendar-tool publish --out {0}) or give --feeds DIR"
    missing, a_file = tmp_path / "nowhere", tmp_path / "a-file"
    a_file.write_text("")
    result = cli("serve", "--port", "0", "--feeds", str(missing))
    assert (result.exit_code, result.stderr) == (
        12, f"error: no feeds folder at '{missing}': {hint.format(missing)}\n")
    result = cli("serve", "--port", "0", "--feeds", str(a_file))
    assert (result.exit_code, result.stderr) == (
        12, f"error: the feeds folder '{a_file}' is a file, not a folder: "
            f"{hint.format(a_file)}\n")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0)
    found = _without_override([["--register", str(SAMPLE), "--db",
                                f"sqlite:///{tmp_path / 'cli.db'}", "serve", "--port", "0",
                                "--feeds", str(closed)]])
    assert found == [(12, f"error: cannot read the feeds folder '{closed}': permission "
                          "denied\n")]


# --- 13 --------------------------------------------------------------------------------------

def test_exit_13_coverage_under_fail_under(cli: CLI) -> None:
    """`coverage --fail-under` exits 13 when fewer passages are cited or reviewed than asked
    (the curation fixture covers 83.3%), 0 otherwise."""
    texts, curation = FIXTURES / "texts", FIXTURES / "curation.yaml"
    under = cli("coverage", str(texts), "--fail-under", "90", register=curation)
    assert (under.exit_code, under.stderr) == (
        13, "error: 83.3% of the dated passages cited or reviewed, under --fail-under 90\n")
    assert cli("coverage", str(texts), "--fail-under", "83", register=curation).exit_code == 0


# --- 141 -------------------------------------------------------------------------------------

def test_exit_141_the_reader_of_the_output_left(tmp_path: Path) -> None:
    """`calendar-tool list --format json | head -1`, as a real process whose output pipe is
    closed after its first line: nothing on stderr and 141 (it was 1, which says the register
    has problems)."""
    from bench.generate import register_text

    register = tmp_path / "r.yaml"
    register.write_text(register_text(2_000, 5))
    env = {**os.environ, "CALENDAR_TOOL_CACHE": "off"}
    with subprocess.Popen([sys.executable, "-m", "calendar_tool.cli", "--register",
                           str(register), "list", "--format", "json"], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == b"[\n"
        proc.stdout.close()
        errors = proc.stderr.read()
        assert (proc.wait(timeout=120), errors) == (141, b"")


# --- 143 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("cache", ["off", "cache"], ids=["without-cache", "first-run-drafts"])
def test_exit_143_sigterm_during_publish_leaves_no_temporary_file(tmp_path: Path,
                                                                  cache: str) -> None:
    """SIGTERM ended `publish` by the signal's default action, which runs no clean-up: the
    temporary file of the feed being written (`.all.ics.….tmp`, as large as the feed) stayed
    in the feeds folder, one more at every interrupted run. It now ends the command as an
    exception would, each temporary file removed, with the same exit status (143), and every
    feed whole, old or new. With a cache folder, a first publish writes a draft of every
    feed at once (`files.drafts`): none is left either."""
    register = tmp_path / "generated.yaml"
    register.write_text(register_text(20_000))
    feeds = tmp_path / "feeds"
    env = dict(os.environ, CALENDAR_TOOL_DB=f"sqlite:///{tmp_path / 'calendar-tool.db'}",
               CALENDAR_TOOL_REGISTER=str(register),
               CALENDAR_TOOL_CACHE=cache if cache == "off" else str(tmp_path / cache))
    proc = subprocess.Popen([sys.executable, "-m", "calendar_tool.cli", "publish", "--out",
                             str(feeds)], env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not list(feeds.glob(".*.tmp")) and proc.poll() is None:
            assert time.monotonic() < deadline, "publish wrote no feed within 60 s"
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, err) == (128 + signal.SIGTERM, "")
    assert [p.name for p in feeds.iterdir() if p.name.startswith(".")] == []
    for feed in feeds.glob("*.ics"):
        assert feed.read_bytes().endswith(b"END:VCALENDAR\r\n")
