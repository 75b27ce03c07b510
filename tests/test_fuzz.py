"""Issue 23's properties, over generated inputs (hypothesis; the three run in about half a
minute together):

- accepted means runnable: a generated register is either refused by the validator, every
  problem located at a line and column, or published, planned (`remind --dry-run`) and run
  (`Runner.start` and one `remind` on SQLite, the clock fixed) without an error;
- no option of the command line, however extreme, ends in a traceback;
- no query parameter of the server, however extreme, ends in a 5xx.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calendar_tool import delivery, store
from calendar_tool.cli import main
from calendar_tool.clock import FixedClock
from calendar_tool.errors import RegisterInvalid
from calendar_tool.model import LAST_DAY, Format, Subscription
from calendar_tool.register import parse_register
from calendar_tool.scheduler import Options, Runner
from calendar_tool.web import server
from tests.paths import SAMPLE, SEEDS
from tests.receiver import Receiver
from tests.registers import HEADER

# --- accepted means runnable ------------------------------------------------------------------

def often(good: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    """One of `good` about 29 times in 30, else one of `bad`: a register takes a dozen of
    these, and about half the registers should pass."""
    return st.sampled_from(good * max(1, 29 * len(bad) // len(good)) + bad)


OFFSETS = ["P0D", "P1D", "P7D", "P30D", "P90D", "P6W", "P1M", "P1Y", "P2Y", "P10Y", "P120M",
           "P3720D"]
TOO_LONG = ["P121M", "P3721D", "P300Y", "P99999Y"]
RULES = ["FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=5", "FREQ=MONTHLY", "FREQ=WEEKLY", "FREQ=DAILY",
         "FREQ=DAILY;INTERVAL=3", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=MONTHLY;BYDAY=1MO",
         "FREQ=YEARLY;BYMONTH=5;BYDAY=2MO"]
BAD_RULES = ["FREQ=YEARLY;INTERVAL=0", "FREQ=YEARLY;INTERVAL=-1", "FREQ=MONTHLY;INTERVAL=0",
             "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=DAILY;BYHOUR=9,10"]
KINDS = ["deadline", "target", "report", "period", "event", "session"]


@st.composite
def dates(draw: st.DrawFn) -> str:
    """A date of the register's notation, often at the calendar's edges, now and then past
    them or impossible."""
    pick = draw(st.integers(0, 19))
    year = draw(st.sampled_from([1, 1899, 2201, 9999]) if pick == 0
                else st.sampled_from([1900, 2026, 2200]) if pick < 5
                else st.integers(1900, 2200))
    form = draw(st.sampled_from(["year", "month", "day", "day", "range"]))
    if form == "year":
        return f"{year:04d}"
    month = draw(st.integers(1, 12))
    if form == "month":
        return f"{year:04d}-{month:02d}"
    day = draw(st.integers(1, 28) | st.integers(29, 31))  # 30 February is a problem too
    first = f"{year:04d}-{month:02d}-{day:02d}"
    if form == "day":
        return first
    return f"{first}..{year + draw(st.integers(1, 2) | st.just(0)):04d}-{month:02d}-{day:02d}"


def offsets_yaml(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


@st.composite
def entries(draw: st.DrawFn) -> str:
    """The `entries:` of a register: dated entries, relative ones, series, standing."""
    out: list[str] = []
    ids: list[str] = []
    series_ids: list[str] = []
    for n in range(draw(st.integers(1, 4))):
        entry_id = f"e{n}"
        shape = draw(st.sampled_from(["dated", "relative", "series", "standing"]))
        kind = draw(st.sampled_from(KINDS))
        lines = [f"  - id: {entry_id}", f"    title: Entry {n}"]
        if shape == "standing":
            lines.append("    kind: standing")
        elif shape == "relative" and ids:
            target = draw(st.sampled_from(ids + [f"{s}#{k}" for s in series_ids
                                                 for k in (1, 2, 3, 20000, 20001)]))
            offset = draw(often([*OFFSETS, *(f"-{o}" for o in OFFSETS)], TOO_LONG))
            anchor = draw(st.sampled_from(["start", "end"]))
            lines += [f"    kind: {kind}",
                      f"    date: {{from: {target}, offset: {offset}, anchor: {anchor}}}"]
        elif shape == "series":
            start = draw(dates())
            parts = [f'rule: "{draw(often(RULES, BAD_RULES))}"', f"start: {start}"]
            count = draw(st.sampled_from([None, None, None, 1, 3, 20000, 20001]))
            if count is not None:
                parts.append(f"count: {count}")
            if draw(st.integers(0, 3)) == 0:
                parts.append(f"until: {draw(dates())}")
            if draw(st.integers(0, 3)) == 0:
                parts.append(f"occurrences: {{2: {{date: {draw(dates())}}}}}")
            lines += [f"    kind: {draw(st.sampled_from(['session', 'event']))}",
                      f"    series: {{{', '.join(parts)}}}"]
            series_ids.append(entry_id)
        else:
            lines += [f"    kind: {kind}", f"    date: {draw(dates())}"]
        if shape != "standing" and draw(st.booleans()):
            lines.append("    reminders: " + offsets_yaml(draw(reminders())))
        if draw(st.booleans()):
            lines.append(f"    status: {draw(st.sampled_from(['open', 'met', 'withdrawn']))}")
        lines += ["    actors: [member-states]", "    areas: [trafficking]",
                  "    sources: [{doc: D/1, para: '1', quote: a quote}]"]
        out.append("\n".join(lines) + "\n")
        ids.append(entry_id)
    return "".join(out)


def reminders() -> st.SearchStrategy[list[str]]:
    return st.lists(often(OFFSETS, [*TOO_LONG, "-P1D"]), min_size=1, max_size=3)


@st.composite
def registers(draw: st.DrawFn) -> str:
    return HEADER.replace("[P30D, P7D, P0D]", offsets_yaml(draw(reminders()))) \
        + draw(entries())


@dataclass
class Bench:
    """What every example of the property shares: a folder, a database and a receiver."""

    folder: Path
    engine: store.Engine
    receiver: Receiver
    count: itertools.count[int]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    folder = tmp_path_factory.mktemp("accepted")
    engine = store.open_store(f"sqlite:///{folder / 'run.db'}")
    with Receiver() as receiver:
        yield Bench(folder, engine, receiver, itertools.count())
    engine.dispose()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=registers(),
       now=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31, 23),
                        timezones=st.just(UTC)))
def test_what_validate_accepts_publishes_reminds_and_runs(bench: Bench, text: str,
                                                          now: datetime) -> None:
    """Either the validator refuses the register, each problem on one line with its line and
    column, or `publish`, `remind --dry-run` and one cycle of `run` all succeed on it."""
    try:
        parse_register(text, "fuzz.yaml")
    except RegisterInvalid as exc:
        assert exc.problems
        assert all(p.line >= 1 and p.column >= 1 and "\n" not in p.message
                   for p in exc.problems)
        return
    n = next(bench.count)
    path = bench.folder / f"r{n}.yaml"
    path.write_text(text)
    db = f"sqlite:///{bench.folder / 'cli.db'}"
    cli = CliRunner()
    published = cli.invoke(main, ["--register", str(path), "--db", db, "publish", "--out",
                                  str(bench.folder / f"feeds-{n}"), "--today",
                                  now.date().isoformat()])
    assert published.exit_code == 0, published.stderr
    window = f"{min(30, (LAST_DAY - now.date()).days)}d"
    planned = cli.invoke(main, ["--register", str(path), "--db", db, "remind", "--dry-run",
                                "--at", now.isoformat(), "--window", window])
    assert planned.exit_code == 0, planned.stderr

    clock = FixedClock(now)

    def sleep(seconds: float) -> None:
        clock.advance_to(clock.now() + timedelta(seconds=seconds))

    store.add_subscription(bench.engine, Subscription(
        name=f"s{n}", url=bench.receiver.url, format=Format.JSON,
        created_at=now - timedelta(days=2)))
    with delivery.Senders(5) as senders:
        runner = Runner(bench.engine, senders, clock, path,
                        Options(bench.folder / f"run-{n}", "http://127.0.0.1:8000"),
                        sleep=sleep)
        runner.start()
        assert {r.state for r in runner.remind()} <= {"sent"}
    store.remove_subscription(bench.engine, f"s{n}")


# --- the command line's options ---------------------------------------------------------------

NASTY = ["", " ", "0", "-1", "1e308", "nan", "inf", "-inf", "99999999999999999999", "9" * 40,
         "²", "١٢", "2005", "2005-06", "2005-06-30", "2005..2001", "2200-12-31", "2201-01-01",
         "1899-12-31", "1900-01-01", "9999-12-31", "0001-01-01", "1y", "99999999y", "0d",
         "P90D", "12w", "6m", "-5d", "301y", "302y", "2026-12-01T09:00Z", "2026-12-01T09:00",
         "2200-12-31T23:00-05:00", "0001-01-01T00:00+01:00", "9999-12-31T23:59+00:00",
         "congresses#10", "congresses#99999999999999999999", "congresses#²", "x\x00y",
         "a" * 300, "P99999Y", "P10Y", "-P1D", "25:00", "09:00", "Europe/Vienna",
         "../../etc/passwd", "http://127.0.0.1:9/h", "ftp://x", "sent", "dead"]
VALUES = st.sampled_from(NASTY) | st.text(max_size=12)

COMMANDS: list[list[str]] = [
    ["list", "--due", "{0}"], ["list", "--from", "{0}", "--until", "{1}"],
    ["list", "--upcoming", "{0}", "--today", "{1}"], ["list", "--overdue", "--today", "{0}"],
    ["show", "{0}", "--today", "{1}"],
    ["publish", "--out", "{out}", "--today", "{0}", "--horizon", "{1}"],
    ["publish", "--out", "{out}", "--horizon", "{0}"],
    ["remind", "--dry-run", "--at", "{0}", "--window", "{1}"],
    ["remind", "--dry-run", "--window", "{0}"],
    ["remind", "--catch-up", "{0}", "--timeout", "{1}"],
    ["deliveries", "--limit", "{0}", "--status", "{1}"],
    ["subscribe", "add", "fuzz", "--url", "{0}", "--offset", "{1}"],
    ["subscribe", "add", "fuzz", "--url", "http://127.0.0.1:9/h", "--time", "{0}", "--zone",
     "{1}"],
    ["subscribe", "test", "{0}", "--timeout", "{1}"],
    ["coverage", str(SEEDS), "--fail-under", "{0}"],
]


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(COMMANDS), first=VALUES, second=VALUES)
def test_no_option_value_gives_a_traceback(tmp_path: Path, command: list[str], first: str,
                                           second: str) -> None:
    """Whatever an option is given, the command answers, or says what is wrong on stderr
    and exits with a documented code: never a traceback."""
    args = [a.format(first, second, out=tmp_path / "feeds") for a in command]
    result = CliRunner().invoke(main, ["--register", str(SAMPLE), "--db",
                                       f"sqlite:///{tmp_path / 'db'}", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args, result.exception)
    assert result.exit_code in (0, 2, 4, 6, 7, 8, 9, 11, 13), (args, result.stderr)
    if result.exit_code:
        last = result.stderr.splitlines()[-1]
        assert last.startswith(("error: ", "Error: ")), (args, result.stderr)
        if last.startswith("error: "):  # ours: one line
            assert len(result.stderr.splitlines()) == 1, (args, result.stderr)


# --- the server's parameters ------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("site")
    engine = store.open_store(f"sqlite:///{folder / 'db'}")
    app = server.make_app(register=SAMPLE, feeds=folder, db=engine,
                          clock=FixedClock(datetime(2025, 6, 1, tzinfo=UTC)))
    with server.BackgroundServer(app) as running:
        yield running.url
    engine.dispose()


PARAMS = st.sampled_from(["due", "from", "until", "upcoming", "overdue", "area", "actor",
                          "kind", "status", "today", "bogus"])


@settings(max_examples=300, deadline=None)
@given(where=st.sampled_from(["/api/obligations", "/feeds/all.ics", "/obligations/"]),
       params=st.lists(st.tuples(PARAMS, VALUES), max_size=4), ref=VALUES)
def test_no_query_parameter_gives_a_5xx(site: str, where: str,
                                        params: list[tuple[str, str]], ref: str) -> None:
    """Whatever the query holds, the server answers it or refuses it with a 4xx."""
    if where == "/obligations/":
        url = f"{site}/obligations/{quote(ref, safe='')}"
    else:
        url = f"{site}{where}?{urlencode(params)}"
    answer = httpx.get(url, timeout=10)
    assert answer.status_code < 500, (url, answer.text)
