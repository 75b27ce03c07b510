"""Publishing: the files written, stability across republishing, revisions after an edit, a
register with problems publishing nothing, every feed read back by three independent
parsers (ical.js, vobject, ical) agreeing with `list --format json`, and the events kept
between runs changing no byte while sparing all but the edited entry's."""

from __future__ import annotations

import itertools
import json
import logging
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import register_text
from bench.scale import one_title_edited
from calendar_tool import delivery, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.errors import PublishFailed
from calendar_tool.feeds import ical, publishing
from calendar_tool.feeds.kept import EventFile
from calendar_tool.feeds.publishing import EventCache, PublishReport
from calendar_tool.feeds.revisions import next_revisions
from calendar_tool.files import Span, write_chunks_if_changed
from calendar_tool.logs import JsonLines
from calendar_tool.model import Register, Revision, Series
from calendar_tool.register import RegisterFile, parse_register
from calendar_tool.scheduler import Options, Runner, Scheduler
from calendar_tool.timeline import DEFAULT_HORIZON_YEARS, horizon, occurrences, series_count
from tests.conftest import CLI
from tests.feedlint import lint
from tests.parsers import ical_events, icaljs, vobject_events
from tests.paths import FIXTURES, REGISTER, SAMPLE

TODAY = "2025-06-01"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
LATER = datetime(2025, 7, 1, 9, 15, tzinfo=UTC)
DUE_KINDS = {"deadline", "target", "report", "period"}


def _sample(old: str = "", new: str = "") -> Register:
    """The sample register, with one piece of text replaced."""
    text = SAMPLE.read_text()
    if old:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return parse_register(text, "sample.yaml")


def _snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.iterdir())}


def _by_uid(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["uid"]: e for e in events}


def _blocks(data: bytes) -> dict[str, bytes]:
    """Each VEVENT's bytes by its UID line."""
    out = {}
    for block in data.split(b"BEGIN:VEVENT\r\n")[1:]:
        uid = block.split(b"\r\nUID:", 1)[1].split(b"\r\n", 1)[0]
        out[uid.decode()] = block
    return out


Publish = Callable[..., PublishReport]


@pytest.fixture
def publish(engine: store.Engine) -> Publish:
    """Publish as the command does: revisions from the store (SQLite, then PostgreSQL)."""

    def run(register: Register, out: Path, clock: FixedClock,
            horizon_years: int = DEFAULT_HORIZON_YEARS) -> PublishReport:
        return service.publish_feeds(engine, register, out, clock, horizon_years)

    return run


# --- what is written -------------------------------------------------------------------------

SAMPLE_FEEDS = [
    ("all", "Sample register", 59),
    ("area-victims", "Victims of crime – Sample register", 1),
    ("area-trafficking", "Trafficking in persons – Sample register", 1),
    ("area-governance", "Programme governance – Sample register", 57),
    ("actor-member-states", "Member States – Sample register", 16),
    ("actor-commission", "Commission on Crime Prevention and Criminal Justice – Sample register",
     39),
    ("actor-secretary-general", "Secretary-General – Sample register", 4),
]


def test_publish_writes_every_feed_and_the_index(sample: Register, tmp_path: Path,
                                                 publish: Publish) -> None:
    """all.ics, one feed per area and per actor, index.json with name, title, path and count
    and the horizon's years, and the revision store."""
    report = publish(sample, tmp_path, FixedClock(NOW))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{name}.ics" for name, _, _ in SAMPLE_FEEDS] + ["index.json"])
    assert json.loads((tmp_path / "index.json").read_text()) == {"feeds": [
        {"name": name, "title": title, "path": f"{name}.ics", "events": count}
        for name, title, count in SAMPLE_FEEDS
    ], "horizon_years": 5}
    assert [(f.name, f.events, f.written) for f in report.feeds] == \
        [(name, count, True) for name, _, count in SAMPLE_FEEDS]
    assert report.horizon == date(2030, 6, 1)
    assert (report.index_written, report.removed, report.skipped) == (True, (), ())


def test_series_run_to_the_horizon(sample: Register, tmp_path: Path, publish: Publish) -> None:
    """Open-ended series stop five years past today by default, or at the horizon given,
    which index.json records (`serve` expands a selection's series as far)."""
    publish(sample, tmp_path / "five", FixedClock(NOW))
    publish(sample, tmp_path / "one", FixedClock(NOW), horizon_years=1)
    read = [publishing.read_index(tmp_path / name / "index.json")
            for name in ("five", "one", "none")]
    assert [None if r is None else r.horizon_years for r in read] == [5, 1, None]
    five = _blocks((tmp_path / "five" / "actor-commission.ics").read_bytes())
    one = _blocks((tmp_path / "one" / "actor-commission.ics").read_bytes())
    assert max(five, key=lambda u: int(u.split("#")[1].split("@")[0])) == \
        "commission-sessions#39@calendar-tool"   # 2030
    assert max(one, key=lambda u: int(u.split("#")[1].split("@")[0])) == \
        "commission-sessions#35@calendar-tool"   # 2026


def test_republishing_leaves_every_file_untouched(sample: Register, tmp_path: Path,
                                                  publish: Publish) -> None:
    """A second run hours later rewrites nothing: same bytes, same inode, same mtime."""
    publish(sample, tmp_path, FixedClock(NOW))
    before = _snapshot(tmp_path)
    report = publish(sample, tmp_path, FixedClock(NOW + timedelta(hours=20)))
    assert _snapshot(tmp_path) == before
    assert (report.written, report.unchanged) == (0, len(SAMPLE_FEEDS))
    assert report.index_written is False


def test_editing_one_entry_changes_only_its_sequence(sample: Register, tmp_path: Path,
                                                     publish: Publish) -> None:
    """After one entry's title changes, only its event gets SEQUENCE 1 and a new LAST-MODIFIED;
    every UID stays and every other event keeps its bytes."""
    publish(sample, tmp_path, FixedClock(NOW))
    old_bytes = (tmp_path / "all.ics").read_bytes()
    old = _by_uid(icaljs([tmp_path / "all.ics"])[str(tmp_path / "all.ics")]["events"])

    edited = _sample("title: Review practices relating to victims of crime",
                     "title: Review the practices relating to victims of crime")
    report = publish(edited, tmp_path, FixedClock(LATER))
    new_bytes = (tmp_path / "all.ics").read_bytes()
    new = _by_uid(icaljs([tmp_path / "all.ics"])[str(tmp_path / "all.ics")]["events"])

    assert set(new) == set(old)
    assert {u: e["sequence"] for u, e in new.items() if e["sequence"] != old[u]["sequence"]} == \
        {"victims-review@calendar-tool": 1}
    assert new["victims-review@calendar-tool"]["last_modified"] == "2025-07-01T09:15:00Z"
    assert new["victims-review@calendar-tool"]["dtstamp"] == "2025-07-01T09:15:00Z"
    old_blocks, new_blocks = _blocks(old_bytes), _blocks(new_bytes)
    assert [u for u in new_blocks if new_blocks[u] != old_blocks[u]] == \
        ["victims-review@calendar-tool"]
    assert sorted(f.name for f in report.feeds if f.written) == \
        ["actor-member-states", "all", "area-victims"]


def test_withdrawing_an_entry_cancels_it(sample: Register, tmp_path: Path,
                                         publish: Publish) -> None:
    """A withdrawn entry stays under its UID with STATUS:CANCELLED and a higher SEQUENCE, so
    subscribers' copies are cancelled rather than left behind."""
    publish(sample, tmp_path, FixedClock(NOW))
    withdrawn = _sample("    reminders: [P30D]\n", "    reminders: [P30D]\n    status: withdrawn\n")
    publish(withdrawn, tmp_path, FixedClock(LATER))
    events = _by_uid(vobject_events((tmp_path / "all.ics").read_bytes()))
    assert events["victims-review@calendar-tool"]["status"] == "CANCELLED"
    assert events["victims-review@calendar-tool"]["sequence"] == 1
    assert events["victims-review@calendar-tool"]["summary"] == \
        "Review practices relating to victims of crime – by end of 2002 [withdrawn]"


def test_feed_that_would_be_empty_is_not_written(real: Register, tmp_path: Path,
                                                 publish: Publish) -> None:
    """Areas and actors with no dated entry get no feed (RFC 5545 needs a component) and are
    not in the index."""
    report = publish(real, tmp_path, FixedClock(NOW))
    # crime-prevention's entries are a pending conference and a contribution dated from it.
    assert report.skipped == ("area-crime-prevention", "actor-institutes",
                              "actor-regional-meetings")
    index = json.loads((tmp_path / "index.json").read_text())
    assert "area-crime-prevention" not in {f["name"] for f in index["feeds"]}
    assert not (tmp_path / "area-crime-prevention.ics").exists()


def test_feed_no_longer_published_is_removed(sample: Register, tmp_path: Path,
                                             publish: Publish) -> None:
    """A feed an earlier run wrote and this one does not is deleted, not served stale."""
    publish(sample, tmp_path, FixedClock(NOW))
    moved = _sample("    areas: [trafficking]\n", "    areas: [victims]\n")
    report = publish(moved, tmp_path, FixedClock(LATER))
    assert report.removed == ("area-trafficking.ics",)
    assert not (tmp_path / "area-trafficking.ics").exists()
    assert "area-trafficking" not in (tmp_path / "index.json").read_text()


# --- the command -----------------------------------------------------------------------------

def test_publish_command_prints_each_feed_and_a_summary(cli: CLI, tmp_path: Path) -> None:
    """One line per feed, written or unchanged, then the horizon and a count; exit 0."""
    first = cli("publish", "--out", str(tmp_path), "--today", TODAY)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.splitlines() == [
        *(f"written   {tmp_path / name}.ics ({n} event{'s' if n != 1 else ''})"
          for name, _, n in SAMPLE_FEEDS),
        "7 feeds up to 2030-06-01: 7 written, 0 unchanged; index.json written",
    ]
    second = cli("publish", "--out", str(tmp_path), "--today", TODAY)
    assert second.stdout.splitlines()[0] == f"unchanged {tmp_path / 'all.ics'} (59 events)"
    assert second.stdout.splitlines()[-1] == \
        "7 feeds up to 2030-06-01: 0 written, 7 unchanged; index.json unchanged"


def test_invalid_register_publishes_nothing(cli: CLI, tmp_path: Path) -> None:
    """A register with problems exits 1, prints them as validate does, and leaves the existing
    feeds exactly as they were."""
    assert cli("publish", "--out", str(tmp_path), "--today", TODAY).exit_code == 0
    before = _snapshot(tmp_path)
    broken = FIXTURES / "broken.yaml"
    result = cli("publish", "--out", str(tmp_path), "--today", TODAY, register=broken)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == cli("validate", register=broken).stderr
    assert _snapshot(tmp_path) == before


def _expected(cli: CLI, register: Path, name: str) -> list[dict[str, Any]]:
    """The events a feed must hold, from `list --format json` with the same filter."""
    args = ["list", "--format", "json", "--today", TODAY]
    if name != "all":
        facet, key = name.split("-", 1)
        args += [f"--{facet}", key]
    result = cli(*args, register=register)
    assert result.exit_code == 0, result.stderr
    out = []
    for o in json.loads(result.stdout):
        if o["date"] is None:
            continue  # a standing obligation: listed, but no calendar day
        d = o["date"]
        first, last = (d["due"], d["due"]) if o["kind"] in DUE_KINDS else (d["start"], d["end"])
        if o["kind"] not in DUE_KINDS and (d["precision"] != "day" or d["within"]):
            last = first  # days no text gives: a marker on the period's first day, no banner
        status = "CANCELLED" if o["status"]["state"] == "withdrawn" else \
            "TENTATIVE" if o["tentative"] else "CONFIRMED"
        out.append({"uid": f"{o['id']}@calendar-tool", "start": first,
                    "end": (date.fromisoformat(last) + timedelta(days=1)).isoformat(),
                    "status": status, "title": o["title"]})
    return out


@pytest.mark.parametrize("register", [SAMPLE, REGISTER], ids=["sample", "obligations"])
def test_every_feed_reads_the_same_in_three_parsers_and_list(
        cli: CLI, tmp_path: Path, register: Path) -> None:
    """ical.js, vobject (validating) and ical read every published feed without error and find
    exactly the events, dates, UIDs and statuses that `list --format json` gives for the same
    filter; the project's lint finds nothing."""
    assert cli("publish", "--out", str(tmp_path), "--today", TODAY,
               register=register).exit_code == 0
    index = json.loads((tmp_path / "index.json").read_text())["feeds"]
    paths = [tmp_path / f["path"] for f in index]
    by_icaljs = icaljs(paths)
    for feed, path in zip(index, paths, strict=True):
        data = path.read_bytes()
        assert lint(data) == [], feed["name"]
        want = _expected(cli, register, feed["name"])
        assert len(want) == feed["events"] > 0
        keys = ("uid", "start", "end", "status")
        expected = [{k: w[k] for k in keys} for w in want]
        js = by_icaljs[str(path)]
        for reader, events in (("ical.js", js["events"]), ("vobject", vobject_events(data)),
                               ("ical", ical_events(data))):
            assert [{k: e[k] for k in keys} for e in events] == expected, (reader, feed["name"])
            assert all(w["title"] in e["summary"] for w, e in zip(want, events, strict=True))
        assert all(e["start_is_date"] and e["end_is_date"] and e["allday_outlook"] == "TRUE"
                   for e in js["events"])
        assert js["calendar"]["name"] == feed["title"]
        assert js["calendar"]["method"] == "PUBLISH"
        assert (js["calendar"]["refresh_interval"], js["calendar"]["refresh_interval_type"],
                js["calendar"]["published_ttl"]) == ("PT12H", "duration", "PT12H")


PUBLIC = "https://calendar.example.org"


def test_with_a_public_url_every_event_leads_back_to_its_page(
        cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With CALENDAR_TOOL_PUBLIC_URL set, `publish` gives every event of every feed, as
    ical.js and vobject read it, its entry's page as URL and as the last line of its
    description; the first publish with it moves every SEQUENCE once (the link is new text
    for every subscriber), the next one writes nothing."""
    folder = tmp_path / "feeds"
    args = ("publish", "--out", str(folder), "--today", TODAY)
    assert cli(*args).exit_code == 0
    before = {e["uid"]: e["sequence"] for e in vobject_events((folder / "all.ics").read_bytes())}
    assert set(before.values()) == {0}
    monkeypatch.setenv("CALENDAR_TOOL_PUBLIC_URL", PUBLIC + "/")
    assert cli(*args).exit_code == 0
    paths = sorted(folder.glob("*.ics"))
    by_icaljs = icaljs(paths)
    for path in paths:
        events = by_icaljs[str(path)]["events"]
        assert events, path.name
        for e in events:
            page = f"{PUBLIC}/obligations/{e['uid'].split('@')[0].replace('#', '%23')}"
            assert e["url"] == page, path.name
            assert e["description"].endswith(f"\n\nRegister id: {e['uid'].split('@')[0]}"
                                             f"\nEntry page: {page}"), path.name
            assert e["sequence"] == 1
    data = (folder / "all.ics").read_bytes()
    assert {e["uid"]: e["sequence"] for e in vobject_events(data)} == \
        {uid: 1 for uid in before}
    again = cli(*args)
    assert "0 written, 7 unchanged" in again.stdout
    assert (folder / "all.ics").read_bytes() == data


def test_run_publishes_with_the_public_url(tmp_path: Path, engine: store.Engine) -> None:
    """`run` publishes as `publish` does: with a public URL (`Options.feed_links`) its feeds'
    events are those `publish_feeds` writes with it, byte for byte."""
    with delivery.Senders(5) as client:
        runner = Runner(engine, client, FixedClock(NOW), SAMPLE,
                        Options(tmp_path / "run", "http://127.0.0.1:8000", feed_links=PUBLIC,
                                watch=None))
        runner.start()
    service.publish_feeds(engine, _sample(), tmp_path / "publish", FixedClock(NOW),
                          link_base=PUBLIC)
    data = (tmp_path / "run" / "all.ics").read_bytes()
    assert data == (tmp_path / "publish" / "all.ics").read_bytes()
    assert f"URL:{PUBLIC}/obligations/victims-review\r\n".encode() in data


def test_generated_register_publishes_clean_feeds(tmp_path: Path, publish: Publish) -> None:
    """A generated 400-entry register (series, relative dates, several sources) publishes feeds
    that lint clean and that ical.js reads with one event per dated occurrence."""
    register = parse_register(register_text(400), "generated.yaml")
    report = publish(register, tmp_path, FixedClock(NOW))
    dated = [o for o in occurrences(register, report.horizon) if o.when is not None]
    for feed in report.feeds:
        assert lint((tmp_path / feed.path).read_bytes()) == [], feed.name
    js = icaljs([tmp_path / "all.ics"])[str(tmp_path / "all.ics")]["events"]
    assert [e["uid"] for e in js] == [f"{o.id}@calendar-tool" for o in dated]


# --- the events kept between runs (EventCache) -----------------------------------------------

def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _generated_and_edited() -> tuple[str, str, str]:
    """A generated register's text, the same with one series entry's title changed, and the
    id of that entry."""
    text = register_text(300)
    series = next(e for e in parse_register(text, "generated.yaml").entries
                  if e.series is not None)
    line = f"title: {series.title}\n"
    assert text.count(line) == 1
    return text, text.replace(line, f"title: {series.title} (edited)\n"), series.id


def _dated(register: Register, entry_id: str, until: date) -> int:
    """How many events an entry has in the feeds up to `until`."""
    return len([o for o in occurrences(register, until)
                if o.entry.id == entry_id and o.when is not None])


def test_an_edit_serialises_again_only_the_edited_entrys_events(
        tmp_path: Path, publish: Publish, engine: store.Engine) -> None:
    """With an EventCache, as `run` publishes: a first run serialises every event, a second
    with nothing changed none, and one after an edit only the edited entry's; the feeds it
    rewrites are those the entry is in, and every file is byte for byte what publishing
    without the cache writes."""
    text, edited_text, entry_id = _generated_and_edited()
    register = parse_register(text, "generated.yaml")
    edited = parse_register(edited_text, "generated.yaml")
    out, cache = tmp_path / "feeds", EventCache()
    first = service.publish_feeds(engine, register, out, FixedClock(NOW), cache=cache)
    assert first.serialised == first.feeds[0].events > 1000
    again = service.publish_feeds(engine, register, out, FixedClock(NOW + timedelta(hours=1)),
                                  cache=cache)
    assert (again.serialised, again.written) == (0, 0)

    after = service.publish_feeds(engine, edited, out, FixedClock(LATER), cache=cache)
    entry = edited.entry(entry_id)
    assert entry is not None
    assert after.serialised == _dated(edited, entry_id, after.horizon) > 1
    assert sorted(f.name for f in after.feeds if f.written) == sorted(
        ["all", *(f"area-{a}" for a in entry.areas), *(f"actor-{a}" for a in entry.actors)])
    # The same revisions (the store already has them), no cache: the same bytes.
    plain = publish(edited, tmp_path / "plain", FixedClock(LATER))
    assert plain.serialised == plain.feeds[0].events
    assert _files(out) == _files(tmp_path / "plain")


def test_a_new_revision_or_a_new_occurrence_is_serialised_again(sample: Register,
                                                                tmp_path: Path) -> None:
    """An event is reused only with the revision it was written with, and only if the last
    run published it: moving one entry's revision on serialises its events again, with its
    new SEQUENCE; the occurrences a shorter horizon left out are serialised again when the
    horizon grows back. Each run writes what a run without the cache writes."""
    clock, cache = FixedClock(NOW), EventCache()
    revs = next_revisions({}, sample, NOW)
    publishing.publish(sample, revs, tmp_path / "warm", clock, cache=cache)

    moved = dict(revs)
    old = revs["commission-sessions"]
    moved["commission-sessions"] = Revision("sha256:moved", old.sequence + 1, LATER)
    report = publishing.publish(sample, moved, tmp_path / "warm", clock, cache=cache)
    assert report.serialised == _dated(sample, "commission-sessions", report.horizon) > 10
    publishing.publish(sample, moved, tmp_path / "cold", clock)
    assert _files(tmp_path / "warm") == _files(tmp_path / "cold")
    block = _blocks((tmp_path / "warm" / "all.ics").read_bytes())
    assert b"\r\nSEQUENCE:1\r\n" in block["commission-sessions#10@calendar-tool"]
    assert b"\r\nLAST-MODIFIED:20250701T091500Z\r\n" in \
        block["commission-sessions#10@calendar-tool"]

    short = publishing.publish(sample, moved, tmp_path / "short", clock, horizon_years=1,
                               cache=cache)
    assert short.serialised == 0
    back = publishing.publish(sample, moved, tmp_path / "warm", clock, cache=cache)
    assert back.serialised == back.feeds[0].events - short.feeds[0].events > 0
    assert _files(tmp_path / "warm") == _files(tmp_path / "cold")


ADDED = """\
  - id: added
    title: An entry added
    kind: deadline
    date: 2026-03-31
    actors: [commission]
    areas: [victims]
    sources:
      - {doc: A/RES/55/59, para: "1", quote: we establish 2005 as the target year}
"""


def test_moves_removals_additions_and_new_reminders_under_a_cache_change_no_byte(
        tmp_path: Path) -> None:
    """One EventCache through a run of edits, one after the other: an entry moved seven
    years (its event moves in the feeds' order), one removed, one added, the register's
    default reminders changed (a new revision of nearly every entry), then the horizon moved
    a year. After each, the files are byte for byte those a publish without the cache writes
    with the same revisions, and only what changed was serialised."""
    text = register_text(300)
    targets = re.findall(r"  - id: (e\d+)\n    title: .*\n    kind: target\n    date: (\d{4})\n",
                         text)
    # Entries no other entry is dated from, so that removing one leaves a valid register.
    free = [(i, y) for i, y in targets if not re.search(rf"from: {i}[,}}#]", text)]
    (moved, year), (removed, _) = free[0], free[1]

    def move(t: str) -> str:
        return re.sub(rf"(  - id: {moved}\n(?:    .*\n){{2}})    date: {year}\n",
                      rf"\g<1>    date: {int(year) - 7}\n", t)

    def remove(t: str) -> str:
        start = t.index(f"  - id: {removed}\n")
        return t[:start] + t[t.index("  - id: ", start + 1):]

    def add(t: str) -> str:
        return t + ADDED

    def remind(t: str) -> str:
        return t.replace("  reminders: [P90D, P30D, P7D, P0D]", "  reminders: [P60D, P0D]")

    cache = EventCache()
    register = parse_register(text, "generated.yaml")
    revs = next_revisions({}, register, NOW)
    publishing.publish(register, revs, tmp_path / "warm", FixedClock(NOW), cache=cache)
    for n, (edit, serialised) in enumerate([(move, 1), (remove, 0), (add, 1), (remind, None)]):
        changed = edit(text)
        assert changed != text, edit.__name__
        text = changed
        register = parse_register(text, "generated.yaml")
        clock = FixedClock(NOW + timedelta(hours=n + 1))
        revs = next_revisions(revs, register, clock.now())
        warm = publishing.publish(register, revs, tmp_path / "warm", clock, cache=cache)
        publishing.publish(register, revs, tmp_path / edit.__name__, clock)
        assert _files(tmp_path / "warm") == _files(tmp_path / edit.__name__), edit.__name__
        if serialised is None:
            assert warm.serialised > warm.feeds[0].events / 2
        else:
            assert warm.serialised == serialised, edit.__name__
    later = FixedClock(NOW + timedelta(days=400))
    warm = publishing.publish(register, revs, tmp_path / "warm", later, cache=cache)
    publishing.publish(register, revs, tmp_path / "later", later)
    assert _files(tmp_path / "warm") == _files(tmp_path / "later")
    assert 0 < warm.serialised < warm.feeds[0].events / 10


def test_the_runner_keeps_its_events_between_runs(engine: store.Engine, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """`run` publishes through its EventCache: after an edit of one entry under it, the
    reload serialises only that entry's events (its `feeds.checked` line says how many)."""
    text, edited_text, entry_id = _generated_and_edited()
    path = tmp_path / "generated.yaml"
    path.write_text(text)
    caplog.set_level(logging.DEBUG, logger="calendar_tool")
    with delivery.Senders(5) as client:
        runner = Runner(engine, client, FixedClock(NOW), path,
                        Options(tmp_path / "feeds", "http://127.0.0.1:8000", watch=None))
        runner.start()
        caplog.clear()
        path.write_text(edited_text)
        assert runner.reload() is True
    lines = [json.loads(JsonLines().format(r)) for r in caplog.records]
    [checked] = [line for line in lines if line["event"] == "feeds.checked"]
    edited = parse_register(edited_text, "generated.yaml")
    assert checked["serialised"] == _dated(edited, entry_id, horizon(NOW.date())) > 1
    assert checked["written"] == 3


# --- the feeds kept between runs (EventCache) ------------------------------------------------

# Later the same day: the same horizon, so that feeds are spared only for what did not change.
SOON = NOW + timedelta(hours=9, minutes=15)
TITLE_EDIT = ("title: Review practices relating to victims of crime",
              "title: Review the practices relating to victims of crime")
# victims-review is in these feeds.
VICTIMS_REVIEW_FEEDS = {"all", "area-victims", "actor-member-states"}


@pytest.fixture
def assembled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the feeds publishing assembles, in order (their files written or not)."""
    names: list[str] = []
    chunks = ical.calendar_chunks

    def spy(info: ical.FeedInfo, events: Iterable[bytes]) -> Iterator[bytes]:
        names.append(info.name)
        return chunks(info, events)

    monkeypatch.setattr(ical, "calendar_chunks", spy)
    return names


def _changed(before: dict[str, tuple[int, int, bytes]], folder: Path) -> set[str]:
    """The files of `folder` whose inode, mtime or bytes differ from `before` (a `_snapshot`)."""
    after = _snapshot(folder)
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def _cold(register: Register, revs: dict[str, Revision], folder: Path, clock: FixedClock
          ) -> dict[str, bytes]:
    """The files publishing writes into an empty folder without a cache."""
    publishing.publish(register, revs, folder, clock)
    return _files(folder)


def test_an_edit_assembles_and_rewrites_only_the_edited_entrys_feeds(
        sample: Register, tmp_path: Path, assembled: list[str]) -> None:
    """With an EventCache, a title edit of one entry assembles and rewrites the feeds it is
    in, no other: those keep their bytes, inode and mtime, and are reported unchanged with
    the last run's count; every file is what publishing without the cache writes."""
    out, cache = tmp_path / "warm", EventCache()
    revs = next_revisions({}, sample, NOW)
    publishing.publish(sample, revs, out, FixedClock(NOW), cache=cache)
    before = _snapshot(out)
    assembled.clear()

    edited = _sample(*TITLE_EDIT)
    revs = next_revisions(revs, edited, SOON)
    report = publishing.publish(edited, revs, out, FixedClock(SOON), cache=cache)
    assert {f.name for f in report.feeds if f.written} == VICTIMS_REVIEW_FEEDS
    assert sorted(assembled) == sorted(VICTIMS_REVIEW_FEEDS)
    assert _changed(before, out) == {f"{name}.ics" for name in VICTIMS_REVIEW_FEEDS}
    assert [(f.name, f.events) for f in report.feeds] == \
        [(name, count) for name, _, count in SAMPLE_FEEDS]
    assert report.index_written is False
    assert _files(out) == _cold(edited, revs, tmp_path / "cold", FixedClock(SOON))


def _event_sizes(data: bytes, entry_id: str) -> tuple[int, int]:
    """The bytes of a feed's events, and of those of `entry_id` among them."""
    events = re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", data, re.S)
    mine = f"\r\nUID:{entry_id}".encode()
    return sum(map(len, events)), sum(len(ev) for ev in events if mine in ev)


@pytest.mark.parametrize("restart", [False, True])
def test_an_edit_copies_the_other_events_from_the_files_the_last_run_wrote(
        sample: Register, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        restart: bool) -> None:
    """With an EventCache, each feed an edit reaches is written as its header, the edited
    entry's events and stretches of the file it replaces (or, for all.ics, of the all.ics
    the last run wrote) that the kernel copies (`files.Span`): the process reads none of the
    other events. So too for the first edit of a new process that took up the run kept on
    disk (`restart`): the run kept says where each feed's events are, and all.ics's are
    copied from the copy kept with it. Every file is what publishing without the cache
    writes."""
    out, cache = tmp_path / "warm", EventCache()
    revs = next_revisions({}, sample, NOW)
    publishing.publish(sample, revs, out, FixedClock(NOW), cache=cache)
    if restart:
        kept = tmp_path / "cache"
        EventFile(kept, kept / "sample.yaml").keep(cache)
        cache = EventCache()
        assert EventFile(kept, kept / "sample.yaml").seed(cache) > 0
    copied: dict[str, list[int]] = {}  # by feed file: the size of each stretch copied
    write = write_chunks_if_changed

    def spy(path: Path, chunks: Iterable[bytes | Span]) -> bool:
        def seen() -> Iterator[bytes | Span]:
            for chunk in chunks:
                if isinstance(chunk, Span):
                    copied.setdefault(path.name, []).append(chunk.size)
                yield chunk
        return write(path, seen())

    monkeypatch.setattr(publishing, "write_chunks_if_changed", spy)
    edited = _sample(*TITLE_EDIT)
    revs = next_revisions(revs, edited, SOON)
    publishing.publish(edited, revs, out, FixedClock(SOON), cache=cache)
    for name in VICTIMS_REVIEW_FEEDS:
        every, mine = _event_sizes((out / f"{name}.ics").read_bytes(), "victims-review")
        assert (sum(copied.get(f"{name}.ics", [])), mine > 0) == (every - mine, True), name
    # victims-review has one event, in the middle of all.ics: one stretch each side of it.
    assert (len(copied["all.ics"]), len(copied["actor-member-states.ics"])) == (2, 2)
    assert "area-victims.ics" not in copied  # its one event is victims-review's
    assert _files(out) == _cold(edited, revs, tmp_path / "cold", FixedClock(SOON))


def test_an_entry_moved_to_another_area_rewrites_both_areas_feeds(
        sample: Register, tmp_path: Path, assembled: list[str]) -> None:
    """An entry moved from one area to another: the feed of the area it left and of the one
    it joined are rewritten, with their new counts, as are all.ics and its actor's feed;
    the others are not assembled."""
    out, cache = tmp_path / "warm", EventCache()
    revs = next_revisions({}, sample, NOW)
    publishing.publish(sample, revs, out, FixedClock(NOW), cache=cache)
    before = _snapshot(out)
    assembled.clear()

    moved = _sample("    date: 2002..2003\n    actors: [secretary-general]\n"
                    "    areas: [governance]\n",
                    "    date: 2002..2003\n    actors: [secretary-general]\n"
                    "    areas: [victims]\n")
    revs = next_revisions(revs, moved, SOON)
    report = publishing.publish(moved, revs, out, FixedClock(SOON), cache=cache)
    rewritten = {"all", "area-governance", "area-victims", "actor-secretary-general"}
    assert {f.name for f in report.feeds if f.written} == rewritten
    assert sorted(assembled) == sorted(rewritten)
    assert _changed(before, out) == {f"{name}.ics" for name in rewritten} | {"index.json"}
    counts = {f.name: f.events for f in report.feeds}
    assert (counts["area-governance"], counts["area-victims"]) == (56, 2)
    assert _files(out) == _cold(moved, revs, tmp_path / "cold", FixedClock(SOON))


def _rewrite(path: Path) -> None:
    path.write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")


def _replace(path: Path) -> None:
    """The same size, another file (another inode), other bytes."""
    data = path.read_bytes()
    other_bytes = data.replace(b"CONFIRMED", b"TENTATIVE") if b"CONFIRMED" in data else \
        data.replace(b"TENTATIVE", b"CONFIRMED")
    assert len(other_bytes) == len(data) and other_bytes != data
    other = path.with_name("other")
    other.write_bytes(other_bytes)
    other.replace(path)


def test_a_new_day_assembles_only_the_feeds_of_what_it_brings_into_the_horizon(
        sample: Register, tmp_path: Path, assembled: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The horizon moves on a day each day. A day that brings no occurrence into it leaves
    every feed as it was: none assembled, none written, nothing serialised. The day that
    brings in the next Commission session serialises that one event and assembles only the
    feeds it is in, and counts the dates of that series alone: the others' next occurrence
    is known to lie further. Each day's files are those a publish without the cache
    writes."""
    out, cache = tmp_path / "warm", EventCache()
    revs = next_revisions({}, sample, NOW)
    counted: list[Series] = []

    def count(series: Series, until: date) -> tuple[int, date]:
        counted.append(series)
        return series_count(series, until)

    monkeypatch.setattr(publishing, "series_count", count)
    publishing.publish(sample, revs, out, FixedClock(datetime(2026, 4, 29, tzinfo=UTC)),
                       cache=cache)
    before = _snapshot(out)
    assembled.clear()
    quiet = FixedClock(datetime(2026, 4, 30, tzinfo=UTC))
    report = publishing.publish(sample, revs, out, quiet, cache=cache)
    assert (report.horizon, report.serialised, report.written) == (date(2031, 4, 30), 0, 0)
    assert assembled == []
    assert _changed(before, out) == set()
    assert _files(out) == _cold(sample, revs, tmp_path / "cold-quiet", quiet)
    # Counted, as the first run did not know where each series goes next; now it does.
    assert len(counted) == sum(e.series is not None for e in sample.entries) > 1
    counted.clear()

    session = FixedClock(datetime(2026, 5, 1, tzinfo=UTC))
    assembled.clear()  # of the publish without the cache
    report = publishing.publish(sample, revs, out, session, cache=cache)
    assert (report.horizon, report.serialised) == (date(2031, 5, 1), 1)
    assert counted == [sample.by_id["commission-sessions"].series]  # only what it reached
    assert b"UID:commission-sessions#40@calendar-tool" in (out / "all.ics").read_bytes()
    assert set(assembled) == {"all", "area-governance", "actor-commission"}
    assert _changed(before, out) == {"all.ics", "area-governance.ics",
                                     "actor-commission.ics", "index.json"}  # its counts
    assert _files(out) == _cold(sample, revs, tmp_path / "cold-session", session)


def _feeds_of(files: dict[str, bytes]) -> dict[str, bytes]:
    """The feeds among a folder's files (`_files`), without index.json."""
    return {name: data for name, data in files.items() if name.endswith(".ics")}


def test_a_run_that_revises_most_entries_writes_its_events_as_a_first_run_does(
        tmp_path: Path) -> None:
    """When most entries were revised since the last run (a new store, a new public URL, a
    declared title every entry shows), every event is serialised again: straight into the
    feeds' files, as a first run's are, with none of their bytes held; the feeds are what a
    run without the cache writes, and the next edit takes its events from them again."""
    text, edited_text, entry_id = _generated_and_edited()
    register = parse_register(text, "generated.yaml")
    cache = EventCache()
    revs = next_revisions({}, register, NOW)
    publishing.publish(register, revs, tmp_path / "warm", FixedClock(NOW), cache=cache)
    renewed = next_revisions({}, register, SOON)  # what a new store gives every entry
    into = tmp_path / "into"
    into.mkdir()
    events = cache.events(register, renewed, horizon(SOON.date(), DEFAULT_HORIZON_YEARS),
                          into=into)
    assert events.source is None and events.feeds is not None
    assert events.serialised == len(events.events) > 1000
    assert [e for e in events.events if e.data is not None] == []
    cold = _cold(register, renewed, tmp_path / "cold", FixedClock(SOON))
    assert _files(into) == _feeds_of(cold)
    again = publishing.publish(register, renewed, tmp_path / "warm", FixedClock(SOON),
                               cache=cache)
    assert again.serialised == again.feeds[0].events
    assert cache.held() == 0
    assert _files(tmp_path / "warm") == cold
    edited = parse_register(edited_text, "generated.yaml")
    revs = next_revisions(renewed, edited, SOON)
    after = publishing.publish(edited, revs, tmp_path / "warm", FixedClock(SOON), cache=cache)
    assert after.serialised == _dated(edited, entry_id, after.horizon)
    assert _files(tmp_path / "warm") == _cold(edited, revs, tmp_path / "cold-edited",
                                              FixedClock(SOON))


def test_a_later_day_that_revises_most_entries_writes_its_events_so_too(
        tmp_path: Path) -> None:
    """A run on a later day than the last (its horizon moved, so every entry is looked at)
    that revises most entries, as a new store does the day after a `run`, serialises their
    events straight into the feeds' files too, none of their bytes held, and writes what a
    run without the cache writes."""
    text, _, _ = _generated_and_edited()
    register = parse_register(text, "generated.yaml")
    cache = EventCache()
    publishing.publish(register, next_revisions({}, register, NOW), tmp_path / "warm",
                       FixedClock(NOW), cache=cache)
    renewed = next_revisions({}, register, LATER)
    until = horizon(LATER.date(), DEFAULT_HORIZON_YEARS)
    assert until != horizon(NOW.date(), DEFAULT_HORIZON_YEARS)
    into = tmp_path / "into"
    into.mkdir()
    events = cache.events(register, renewed, until, into=into)
    assert events.source is None and events.feeds is not None
    assert events.serialised == len(events.events) > 1000
    assert [e for e in events.events if e.data is not None] == []
    cold = _cold(register, renewed, tmp_path / "cold", FixedClock(LATER))
    assert _files(into) == _feeds_of(cold)  # and no draft left beside them
    again = publishing.publish(register, renewed, tmp_path / "warm", FixedClock(LATER),
                               cache=cache)
    assert again.serialised == again.feeds[0].events
    assert _files(tmp_path / "warm") == cold


@pytest.mark.parametrize("change", [_rewrite, _replace, Path.unlink],
                         ids=["rewritten", "replaced", "removed"])
def test_a_feed_changed_on_disk_is_written_again(
        sample: Register, tmp_path: Path, assembled: list[str],
        change: Callable[[Path], None]) -> None:
    """A feed file that someone else rewrote, replaced or removed since the last run is no
    longer the file the EventCache saw written (its size, mtime or inode differ): the next
    run assembles it and writes its bytes back, though nothing in the register changed, and
    leaves the other files alone."""
    out, cache = tmp_path / "warm", EventCache()
    revs = next_revisions({}, sample, NOW)
    publishing.publish(sample, revs, out, FixedClock(NOW), cache=cache)
    path = out / "area-governance.ics"
    good = path.read_bytes()
    change(path)
    before = _snapshot(out)
    assembled.clear()

    report = publishing.publish(sample, revs, out, FixedClock(NOW + timedelta(hours=1)),
                                cache=cache)
    assert {f.name for f in report.feeds if f.written} == {"area-governance"}
    assert assembled == ["area-governance"]
    assert path.read_bytes() == good
    assert _changed(before, out) == {"area-governance.ics"}
    # Written back, the file is the run's again: the next run leaves it alone.
    assembled.clear()
    publishing.publish(sample, revs, out, FixedClock(NOW + timedelta(hours=2)), cache=cache)
    assert assembled == []


def test_a_new_register_title_rewrites_every_feed(sample: Register, tmp_path: Path) -> None:
    """The register's title is in every feed's header but in no entry's revision: no event
    changes, yet every feed's spec does, so every feed is written again."""
    out, cache = tmp_path / "warm", EventCache()
    revs = next_revisions({}, sample, NOW)
    publishing.publish(sample, revs, out, FixedClock(NOW), cache=cache)
    renamed = _sample("  title: Sample register\n", "  title: Renamed register\n")
    revs = next_revisions(revs, renamed, SOON)
    report = publishing.publish(renamed, revs, out, FixedClock(SOON), cache=cache)
    assert report.serialised == 0
    assert [f.name for f in report.feeds if f.written] == [name for name, _, _ in SAMPLE_FEEDS]
    assert _files(out) == _cold(renamed, revs, tmp_path / "cold", FixedClock(SOON))


def test_a_feed_that_empties_and_fills_again_under_a_cache(
        sample: Register, tmp_path: Path, assembled: list[str]) -> None:
    """The only entry of an area moves out: its feed is skipped and removed. While nothing
    comes back it stays skipped without being assembled; when the entry moves back, the
    feed is written again. Each run writes what a run without the cache writes."""
    out, cache = tmp_path / "warm", EventCache()
    revs = next_revisions({}, sample, NOW)
    publishing.publish(sample, revs, out, FixedClock(NOW), cache=cache)
    move = ("    areas: [trafficking]\n", "    areas: [victims]\n")
    runs: list[tuple[str, Register, set[str], tuple[str, ...], tuple[str, ...]]] = [
        ("moved", _sample(*move), {"all", "area-victims", "actor-member-states"},
         ("area-trafficking",), ("area-trafficking.ics",)),
        ("moved-and-edited", parse_register(
            SAMPLE.read_text().replace(*move).replace(*TITLE_EDIT), "sample.yaml"),
         {"all", "area-victims", "actor-member-states"}, ("area-trafficking",), ()),
        ("back", sample, {"all", "area-victims", "area-trafficking", "actor-member-states"},
         (), ()),
    ]
    for n, (name, register, written, skipped, removed) in enumerate(runs):
        clock = FixedClock(SOON + timedelta(hours=n))
        revs = next_revisions(revs, register, clock.now())
        assembled.clear()
        report = publishing.publish(register, revs, out, clock, cache=cache)
        assert {f.name for f in report.feeds if f.written} == written, name
        assert sorted(assembled) == sorted(written), name
        assert (report.skipped, report.removed) == (skipped, removed), name
        assert _files(out) == _cold(register, revs, tmp_path / name, clock), name


def test_a_run_that_fails_is_not_kept(sample: Register, tmp_path: Path) -> None:
    """A run after an edit that fails half way (a feed's path is a folder) keeps nothing:
    the next run, once the folder is gone, assembles again every feed the edit touched,
    those the failed run never reached included, and writes those that differ."""
    out, cache = tmp_path / "warm", EventCache()
    revs = next_revisions({}, sample, NOW)
    publishing.publish(sample, revs, out, FixedClock(NOW), cache=cache)
    edited = _sample(*TITLE_EDIT)
    revs = next_revisions(revs, edited, SOON)
    # Feeds are written in order: all.ics, then area-victims.ics, which fails; the actors'
    # feeds come after it.
    (out / "area-victims.ics").unlink()
    (out / "area-victims.ics").mkdir()
    with pytest.raises(PublishFailed):
        publishing.publish(edited, revs, out, FixedClock(SOON), cache=cache)
    (out / "area-victims.ics").rmdir()

    report = publishing.publish(edited, revs, out, FixedClock(SOON), cache=cache)
    assert {f.name for f in report.feeds if f.written} == {"area-victims", "actor-member-states"}
    assert _files(out) == _cold(edited, revs, tmp_path / "cold", FixedClock(SOON))


# --- the events kept in the file, not in memory (EventCache) ---------------------------------

def test_the_cache_holds_no_event_bytes_between_runs(tmp_path: Path) -> None:
    """After each run, the events kept for the next lie in the all.ics it wrote, not in
    memory; the run after an edit copies the others from there, byte for byte."""
    text, edited_text, entry_id = _generated_and_edited()
    register = parse_register(text, "generated.yaml")
    cache = EventCache()
    revs = next_revisions({}, register, NOW)
    first = publishing.publish(register, revs, tmp_path / "warm", FixedClock(NOW), cache=cache)
    assert first.serialised == first.feeds[0].events > 1000
    assert cache.held() == 0
    edited = parse_register(edited_text, "generated.yaml")
    revs = next_revisions(revs, edited, SOON)
    after = publishing.publish(edited, revs, tmp_path / "warm", FixedClock(SOON), cache=cache)
    # The edited series' events alone are serialised again; the others come from all.ics.
    assert after.serialised == _dated(edited, entry_id, after.horizon)
    assert cache.held() == 0
    assert _files(tmp_path / "warm") == _cold(edited, revs, tmp_path / "cold", FixedClock(SOON))


def test_a_first_run_writes_its_events_straight_into_the_feeds(tmp_path: Path) -> None:
    """With no last run, the events are serialised in date order straight into the files of
    the feeds they are in, none of their bytes held nor read back; the files are what a run
    without the cache writes, and nothing else is left in the folder."""
    register = parse_register(register_text(200), "generated.yaml")
    revs = next_revisions({}, register, NOW)
    until = horizon(NOW.date(), DEFAULT_HORIZON_YEARS)
    into = tmp_path / "into"
    into.mkdir()
    events = EventCache().events(register, revs, until, into=into)
    assert events.source is None and events.feeds is not None
    blocks = events.events
    assert len(blocks) > 500
    assert all(b.data is None for b in blocks)
    # One after the other, in the order of all.ics.
    assert [b.at for b in blocks] == list(itertools.accumulate([b.size for b in blocks],
                                                               initial=0))[:-1]
    assert events.serialised == len(blocks) == sum(len(k.events) for k in events.entries.values())
    # In the order of all.ics: by day, entry id and number, as the occurrences sort.
    assert [(b.day, b.eid, b.number) for b in blocks] == sorted(
        (o.key_date, o.entry.id, o.number or 0) for o in occurrences(register, until)
        if o.when is not None)
    assert all(ev.eid == k for k, own in events.entries.items() for ev in own.events)
    cold = _cold(register, revs, tmp_path / "cold", FixedClock(NOW))
    assert _files(into) == _feeds_of(cold)
    # Each feed's events, in its file's order, from where its first lies.
    for name, (feed, written) in events.feeds.items():
        assert written and feed.start is not None and feed.events is not None
        data = cold[f"{name}.ics"]
        assert len(data) == feed.start + sum(ev.size for ev in feed.events) + \
            len(b"END:VCALENDAR\r\n")
        assert data[feed.start:].startswith(b"BEGIN:VEVENT")


def test_a_first_run_that_fails_leaves_the_feeds_it_wrote_and_no_draft(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first run that fails half way leaves nothing behind but the feeds it replaced
    before it failed: neither a draft of a feed nor, while it serialised, any feed at all;
    the feeds there before are left as they were."""
    register = parse_register(register_text(200), "generated.yaml")
    revs = next_revisions({}, register, NOW)
    out = tmp_path / "feeds"
    out.mkdir()
    second = out / f"{publishing.feed_specs(register)[1].info.name}.ics"
    second.mkdir()  # replaced after all.ics, and it cannot be
    with pytest.raises(PublishFailed):
        publishing.publish(register, revs, out, FixedClock(NOW), cache=EventCache())
    assert sorted(p.name for p in out.iterdir()) == sorted(["all.ics", second.name])
    second.rmdir()
    before = _files(out)
    written = 0
    serialise = ical.EventWriter.event_bytes

    def failing(writer: ical.EventWriter, *args: Any) -> bytes:
        nonlocal written
        written += 1
        if written > 300:
            raise OSError(28, "No space left on device")
        return serialise(writer, *args)

    monkeypatch.setattr(ical.EventWriter, "event_bytes", failing)
    with pytest.raises(PublishFailed, match=re.escape(
            f"cannot publish into '{out}': no space left on device")):
        publishing.publish(register, revs, out, FixedClock(SOON), cache=EventCache())
    assert _files(out) == before
    monkeypatch.undo()
    publishing.publish(register, revs, out, FixedClock(NOW), cache=EventCache())
    assert _files(out) == _cold(register, revs, tmp_path / "cold", FixedClock(NOW))


@pytest.mark.parametrize("change", [_rewrite, _replace, Path.unlink],
                         ids=["rewritten", "replaced", "removed"])
def test_an_all_ics_changed_on_disk_serialises_every_event_again(
        sample: Register, tmp_path: Path, change: Callable[[Path], None]) -> None:
    """The events are kept where they lie in all.ics: once that file is not the one the last
    run left, none of them is read from it, and the next run serialises every event, as
    without a cache, and writes what a run without the cache writes."""
    out, cache = tmp_path / "warm", EventCache()
    revs = next_revisions({}, sample, NOW)
    publishing.publish(sample, revs, out, FixedClock(NOW), cache=cache)
    change(out / "all.ics")
    edited = _sample(*TITLE_EDIT)
    revs = next_revisions(revs, edited, SOON)
    report = publishing.publish(edited, revs, out, FixedClock(SOON), cache=cache)
    assert report.serialised == report.feeds[0].events == 59
    assert _files(out) == _cold(edited, revs, tmp_path / "cold", FixedClock(SOON))


# --- the last run kept between processes (EventFile) -----------------------------------------

def _process(kept: Path) -> EventCache:
    """The cache a new process publishing the register starts with: the run kept on disk
    under `kept` (the cache folder), taken up."""
    cache = EventCache()
    EventFile(kept, kept / "generated.yaml").seed(cache)
    return cache


def _keep(kept: Path, cache: EventCache) -> None:
    EventFile(kept, kept / "generated.yaml").keep(cache)


def test_a_new_process_takes_up_the_last_run_kept_on_disk(tmp_path: Path) -> None:
    """What a run keeps on disk, a new process takes up: publishing the same register into
    the same folder serialises and writes nothing; into an empty folder, every feed comes
    byte for byte from the kept copy; after an edit, only the edited entry's events are
    serialised, and the files are those a publish without any cache writes."""
    text, edited_text, entry_id = _generated_and_edited()
    register = parse_register(text, "generated.yaml")
    revs = next_revisions({}, register, NOW)
    out, kept, cache = tmp_path / "feeds", tmp_path / "cache", EventCache()
    first = publishing.publish(register, revs, out, FixedClock(NOW), cache=cache)
    _keep(kept, cache)
    assert {p.name for p in kept.iterdir()} == {f"events-{_key(kept)}.ics",
                                                 f"events-{_key(kept)}.pickle"}

    cache = EventCache()
    assert EventFile(kept, kept / "generated.yaml").seed(cache) == first.feeds[0].events
    again = publishing.publish(register, revs, out, FixedClock(NOW), cache=cache)
    assert (again.serialised, again.written) == (0, 0)
    assert [f.events for f in again.feeds] == [f.events for f in first.feeds]

    empty = publishing.publish(register, revs, tmp_path / "empty", FixedClock(NOW),
                               cache=_process(kept))
    assert (empty.serialised, empty.written) == (0, len(first.feeds))
    assert _files(tmp_path / "empty") == _files(out)

    edited = parse_register(edited_text, "generated.yaml")
    revs = next_revisions(revs, edited, SOON)
    after = publishing.publish(edited, revs, out, FixedClock(SOON), cache=_process(kept))
    assert after.serialised == _dated(edited, entry_id, after.horizon) > 1
    assert _files(out) == _cold(edited, revs, tmp_path / "cold", FixedClock(SOON))


def test_the_run_kept_on_disk_comes_back_column_for_column(tmp_path: Path) -> None:
    """What the file keeps is the run as `EventCache.kept` gives it: every column of its
    events, each array of the same type (they are written straight from the arrays), each
    feed's places among the events, and its entries with their revisions and, for a series
    a run the day after counted, where its next occurrence past the horizon starts."""
    register = parse_register(register_text(200), "generated.yaml")
    revs = next_revisions({}, register, NOW)
    kept, cache = tmp_path / "cache", EventCache()
    for day in (NOW, NOW + timedelta(days=1)):
        publishing.publish(register, revs, tmp_path / "feeds", FixedClock(day), cache=cache)
    _keep(kept, cache)
    run = cache.kept()
    assert run is not None
    with EventFile(kept, kept / "generated.yaml").path.open("rb") as f:
        pickle.load(f)  # the head
        stored = pickle.load(f)
    assert len(run.eids) > 500
    for name in ("days", "eids", "numbers", "places", "sizes"):
        assert getattr(stored, name) == getattr(run, name), name
    assert [a.typecode for a in (stored.numbers, stored.places, stored.sizes)] == ["q", "Q", "Q"]
    places = {name: feed[4] for name, feed in run.feeds.items()}
    assert sum(1 for p in places.values() if p is not None) == len(places) - 1  # all.ics's not
    assert {name: feed[4] for name, feed in stored.feeds.items()} == places
    assert stored.entries == run.entries
    until = horizon((NOW + timedelta(days=1)).date())
    assert stored.nexts == run.nexts == {e.id: series_count(e.series, until)[1]
                                         for e in register.entries if e.series is not None}
    assert stored.entries.ids == list(revs)
    assert [r for _, r, *_ in stored.entries.rows({})] == list(revs.values())


def test_a_new_process_holds_its_own_revisions_and_one_date_per_day(tmp_path: Path) -> None:
    """Taking up the run kept on disk with the revisions the process publishes with (as
    `service.publish_feeds` does), the run refers to those very objects rather than holding
    a second copy of each, and to the very strings of their ids; and its events share one
    date object per day: memory a process keeps while it runs. An entry whose revision moved
    since keeps the one its events were written with, so its events, and only those, are
    serialised again."""
    text, edited_text, entry_id = _generated_and_edited()
    register = parse_register(text, "generated.yaml")
    revs = next_revisions({}, register, NOW)
    out, kept, cache = tmp_path / "feeds", tmp_path / "cache", EventCache()
    publishing.publish(register, revs, out, FixedClock(NOW), cache=cache)
    _keep(kept, cache)
    edited = parse_register(edited_text, "generated.yaml")
    now = next_revisions(revs, edited, SOON)
    cache = EventCache()
    EventFile(kept, kept / "generated.yaml").seed(cache, now)
    run = cache.kept()
    assert run is not None and run.entries.ids == list(now)
    # The process's revisions, whose hashes are its own strings, except the one moved since.
    held = dict(zip(run.entries.ids, run.entries.hashes, strict=True))
    assert [k for k in held if held[k] is not now[k].hash] == [entry_id]
    assert [r for k, r, *_ in run.entries.rows({}) if k == entry_id] == [revs[entry_id]]
    assert revs[entry_id] != now[entry_id]
    ids = {k: k for k in now}
    assert all(k is ids[k] for k in run.entries.ids)
    assert len(run.eids) > len(ids)
    assert all(eid is ids[eid] for eid in run.eids)
    with EventFile(kept, kept / "generated.yaml").path.open("rb") as f:
        pickle.load(f)  # the head
        stored = pickle.load(f)
    days = set(stored.days)
    assert len({id(day) for day in stored.days}) == len(days) < len(stored.days)
    after = publishing.publish(edited, now, out, FixedClock(SOON), cache=cache)
    assert after.serialised == _dated(edited, entry_id, after.horizon) > 1
    assert _files(out) == _cold(edited, now, tmp_path / "cold", FixedClock(SOON))


def test_run_starts_on_the_events_publish_kept(engine: store.Engine, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """`run` starting after `publish` takes up the run it kept: into the same folder, it
    serialises and writes nothing; into another, it writes the same bytes, serialising
    nothing (its `feeds.checked` line says how many)."""
    text, _, _ = _generated_and_edited()
    path, folder = tmp_path / "generated.yaml", tmp_path / "cache"
    path.write_text(text)
    register = parse_register(text, str(path))
    service.publish_feeds(engine, register, tmp_path / "published", FixedClock(NOW),
                          stored_events=service.kept_events(folder, path))
    caplog.set_level(logging.DEBUG, logger="calendar_tool")
    for out, written in (("published", 0), ("other", 11)):
        caplog.clear()
        with delivery.Senders(5) as client:
            runner = Runner(engine, client, FixedClock(SOON), RegisterFile(path, folder),
                            Options(tmp_path / out, "http://127.0.0.1:8000", watch=None))
            runner.start()
        lines = [json.loads(JsonLines().format(r)) for r in caplog.records]
        [checked] = [line for line in lines if line["event"] == "feeds.checked"]
        assert (checked["serialised"], checked["written"]) == (0, written)
    assert _files(tmp_path / "other") == _files(tmp_path / "published")


def test_run_keeps_its_last_run_at_its_end_for_the_next_start(
        engine: store.Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        assembled: list[str]) -> None:
    """A one-event edit under `run` is too little to keep its run on disk again; its end
    (`Scheduler.stop`, through `Runner.keep`) keeps it, so that the next start takes up the
    feeds as the edit left them: it assembles, serialises and writes nothing. An end with
    nothing published since the run kept writes nothing."""
    text = _generated_and_edited()[0]
    path, folder, out = tmp_path / "generated.yaml", tmp_path / "cache", tmp_path / "feeds"
    path.write_text(text)
    file = EventFile(folder, path)
    caplog.set_level(logging.DEBUG, logger="calendar_tool")
    with delivery.Senders(5) as client:
        def runner() -> Runner:
            return Runner(engine, client, FixedClock(SOON), RegisterFile(path, folder),
                          Options(out, "http://127.0.0.1:8000", watch=None))

        first = runner()
        first.start()
        kept_at = file.path.stat().st_mtime_ns
        first.keep()
        assert file.path.stat().st_mtime_ns == kept_at
        scheduler = Scheduler(runner())
        scheduler.start(paused=True)
        path.write_text(one_title_edited(text))
        assert scheduler.runner.reload()
        assert file.path.stat().st_mtime_ns == kept_at
        scheduler.stop()
        assert file.path.stat().st_mtime_ns != kept_at
        assembled.clear()
        caplog.clear()
        runner().start()
    lines = [json.loads(JsonLines().format(r)) for r in caplog.records]
    [checked] = [line for line in lines if line["event"] == "feeds.checked"]
    assert (checked["serialised"], checked["written"], assembled) == (0, 0, [])
    edited = parse_register(path.read_text(), str(path))
    assert _files(out) == _cold(edited, store.load_revisions(engine), tmp_path / "cold",
                                FixedClock(SOON))


def test_publish_keeps_its_run_in_the_cache_folder(cli: CLI, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`calendar-tool publish` keeps a copy of its all.ics in the cache folder, and the
    next publish, into an empty folder, writes the same files from it."""
    monkeypatch.setenv("CALENDAR_TOOL_CACHE", str(tmp_path / "cache"))
    register = tmp_path / "obligations.yaml"
    register.write_text(SAMPLE.read_text())
    for out in ("first", "second"):
        result = cli("publish", "--out", str(tmp_path / out), "--today", TODAY,
                     register=register)
        assert result.exit_code == 0, result.stderr
    [copy] = (tmp_path / "cache").glob("events-*.ics")
    assert copy.read_bytes() == (tmp_path / "first" / "all.ics").read_bytes()
    assert _files(tmp_path / "second") == _files(tmp_path / "first")


def test_the_run_is_kept_again_after_many_changes_or_a_new_day(engine: store.Engine,
                                                               tmp_path: Path) -> None:
    """`publish_feeds` keeps its run on disk when none is kept, when it serialised more than
    1 in 100 of its events, or on a new day; one edited entry in a register of 300 is not
    worth copying all.ics again."""
    text, _, _ = _generated_and_edited()
    edited_text = one_title_edited(text)  # one target's title: its one event
    path, out = tmp_path / "generated.yaml", tmp_path / "feeds"
    file = service.kept_events(tmp_path / "cache", path)
    assert file is not None

    def publish(text: str, clock: FixedClock) -> tuple[int, int]:
        fresh = service.kept_events(tmp_path / "cache", path)  # a new process each time
        report = service.publish_feeds(engine, parse_register(text, str(path)), out, clock,
                                       stored_events=fresh)
        return report.serialised, file.path.stat().st_mtime_ns

    first, kept_at = publish(text, FixedClock(NOW))
    assert first > 1000
    assert publish(edited_text, FixedClock(SOON)) == (1, kept_at)
    _, again_at = publish(edited_text, FixedClock(NOW + timedelta(days=1)))
    assert again_at != kept_at


def _key(kept: Path) -> str:
    return EventFile(kept, kept / "generated.yaml").path.stem.removeprefix("events-")


@pytest.mark.parametrize("damage", ["copy rewritten", "copy removed", "copy replaced",
                                    "run truncated", "run of other code"])
def test_a_damaged_kept_run_is_not_taken_up(tmp_path: Path, damage: str) -> None:
    """A kept copy that is not the file the run was kept with, or a kept run that cannot be
    read or was written by other code, is not trusted: the new process serialises every
    event, and writes what a publish without any cache writes."""
    register = _sample(*TITLE_EDIT)
    revs = next_revisions({}, register, NOW)
    out, kept, cache = tmp_path / "feeds", tmp_path / "cache", EventCache()
    publishing.publish(register, revs, out, FixedClock(NOW), cache=cache)
    _keep(kept, cache)
    file = EventFile(kept, kept / "generated.yaml")
    if damage == "copy rewritten":
        data = file.copy.read_bytes()
        file.copy.write_bytes(data.replace(b"CONFIRMED", b"TENTATIVE", 1))
    elif damage == "copy removed":
        file.copy.unlink()
    elif damage == "copy replaced":
        _replace(file.copy)
    elif damage == "run truncated":
        file.path.write_bytes(file.path.read_bytes()[:200])
    else:
        with file.path.open("rb") as f:
            pickle.load(f)  # the head, with the stamp: another one goes in its place
            rest = f.read()
        file.path.write_bytes(pickle.dumps({"stamp": "other code"}) + rest)
    for name in (out / "all.ics", out / "area-victims.ics"):
        name.write_bytes(name.read_bytes().replace(b"CONFIRMED", b"TENTATIVE"))
    fresh = EventCache()
    taken = file.seed(fresh)
    report = publishing.publish(register, revs, out, FixedClock(NOW), cache=fresh)
    assert report.serialised == report.feeds[0].events == 59
    assert taken == (59 if damage.startswith("copy") else 0)
    assert _files(out) == _cold(register, revs, tmp_path / "cold", FixedClock(NOW))


def _retitle(text: str, n: int) -> str:
    line = f"title: Generated commitment number {n} on"
    return text.replace(line, f"title: Generated commitment number {n}, edited, on")


def _redate(text: str, n: int) -> str:
    """The `n`th year date (of those there are) three years earlier."""
    years = list(re.finditer(r"^    date: (\d{4})$", text, re.M))
    m = years[n % len(years)]
    return text[:m.start(1)] + str(int(m.group(1)) - 3) + text[m.end(1):]


def _add(text: str, n: int) -> str:
    """An entry more, dated by `n`, with an id no entry of `text` has."""
    ids = text.count("  - id: added-")
    return text + ADDED.replace("id: added", f"id: added-{ids}").replace(
        "2026-03-31", f"20{10 + n % 20}-0{1 + n % 9}-1{n % 10}")


def _drop(text: str, n: int) -> str:
    """Without the last entry added, if any."""
    at = text.rfind("  - id: added-")
    return text if at < 0 else text[:at]


def _area(text: str, n: int) -> str:
    old, new = "{title: Trafficking}", "{title: Trafficking in persons}"
    return text.replace(old, new) if old in text else text.replace(new, old)


def _remind(text: str, n: int) -> str:
    old, new = "reminders: [P90D, P30D, P7D, P0D]", "reminders: [P60D, P0D]"
    return text.replace(old, new) if old in text else text.replace(new, old)


EDITS = [_retitle, _redate, _add, _drop, _area, _remind]
TAMPER: list[Callable[[Path], None] | None] = [None, _rewrite, _replace, Path.unlink]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 79),
                                st.integers(0, 400), st.sampled_from(TAMPER),
                                st.sampled_from(["all", "area-trafficking", "kept copy"]),
                                st.booleans(), st.booleans()),
                      min_size=1, max_size=6))
def test_a_cached_run_writes_what_an_uncached_publish_writes(
        steps: list[tuple[Callable[[str, int], str], int, int, Callable[[Path], None] | None,
                          str, bool, bool]]) -> None:
    """Whatever the edits (an entry's title or date, entries added and removed, a declared
    title, the default reminders), the days that pass (a new horizon), what happens to
    the files on disk between runs (the feeds and the run kept in the cache folder), and
    whether each run is made by the same process or by a new one that takes up the run kept
    on disk, every run writes, byte for byte, the files a publish without any cache writes
    with the same revisions."""
    text = register_text(80)
    register = parse_register(text, "generated.yaml")
    cache, clock = EventCache(), FixedClock(NOW)
    revs = next_revisions({}, register, NOW)
    with tempfile.TemporaryDirectory() as tmp:
        warm, kept = Path(tmp) / "warm", Path(tmp) / "cache"
        publishing.publish(register, revs, warm, clock, cache=cache)
        _keep(kept, cache)
        for n, (edit, which, days, tamper, feed, restart, keep) in enumerate(steps):
            text = edit(text, which)
            register = parse_register(text, "generated.yaml")
            clock = FixedClock(clock.now() + timedelta(days=days, hours=1))
            revs = next_revisions(revs, register, clock.now())
            target = EventFile(kept, kept / "generated.yaml").copy if feed == "kept copy" \
                else warm / f"{feed}.ics"
            # (The kept copy stays as a tampering left it while no run is kept again.)
            if tamper is not None and target.exists() and b"VEVENT" in target.read_bytes():
                tamper(target)
            if restart:
                cache = _process(kept)
            publishing.publish(register, revs, warm, clock, cache=cache)
            if keep:
                _keep(kept, cache)
            assert cache.held() == 0
            assert _files(warm) == _cold(register, revs, Path(tmp) / f"cold-{n}", clock)


# --- the lint catches what the parsers let through -------------------------------------------

def test_lint_flags_duplicate_uids_and_an_end_before_its_start(sample: Register,
                                                               tmp_path: Path,
                                                               publish: Publish) -> None:
    """The feed lint reports a repeated UID and a DTEND not after DTSTART, which ical.js,
    vobject and ical all accept without a word."""
    publish(sample, tmp_path, FixedClock(NOW))
    data = (tmp_path / "area-victims.ics").read_bytes()
    head, rest = data.split(b"BEGIN:VEVENT\r\n", 1)
    event = b"BEGIN:VEVENT\r\n" + rest.split(b"END:VCALENDAR\r\n")[0]
    backwards = event.replace(b"DTEND;VALUE=DATE:20030101", b"DTEND;VALUE=DATE:20021230")
    bad = head + event + backwards + b"END:VCALENDAR\r\n"
    assert lint(bad) == [
        "VEVENT victims-review@calendar-tool: DTEND 20021230 is not after DTSTART 20021231",
        "UID victims-review@calendar-tool appears 2 times",
    ]
    (tmp_path / "bad.ics").write_bytes(bad)
    assert len(icaljs([tmp_path / "bad.ics"])[str(tmp_path / "bad.ics")]["events"]) == 2
    assert len(vobject_events(bad)) == 2
    assert len(ical_events(bad)) == 2
