"""Publishing: the files written, stability across republishing, revisions after an edit, a
register with problems publishing nothing, and every feed read back by three independent
parsers (ical.js, vobject, ical) agreeing with `list --format json`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.generate import register_text
from calendar_tool import service, store
from calendar_tool.clock import FixedClock
from calendar_tool.model import Register
from calendar_tool.publish import PublishReport
from calendar_tool.register import parse_register
from calendar_tool.timeline import DEFAULT_HORIZON_YEARS, occurrences
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
    """all.ics, one feed per area and per actor, index.json with name, title, path and count,
    and the revision store."""
    report = publish(sample, tmp_path, FixedClock(NOW))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{name}.ics" for name, _, _ in SAMPLE_FEEDS] + ["index.json"])
    assert json.loads((tmp_path / "index.json").read_text()) == {"feeds": [
        {"name": name, "title": title, "path": f"{name}.ics", "events": count}
        for name, title, count in SAMPLE_FEEDS
    ]}
    assert [(f.name, f.events, f.written) for f in report.feeds] == \
        [(name, count, True) for name, _, count in SAMPLE_FEEDS]
    assert report.horizon == date(2030, 6, 1)
    assert (report.index_written, report.removed, report.skipped) == (True, (), ())


def test_series_run_to_the_horizon(sample: Register, tmp_path: Path, publish: Publish) -> None:
    """Open-ended series stop five years past today by default, or at the horizon given."""
    publish(sample, tmp_path / "five", FixedClock(NOW))
    publish(sample, tmp_path / "one", FixedClock(NOW), horizon_years=1)
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
    assert report.skipped == ("area-money-laundering", "area-terrorism", "area-crime-prevention",
                              "actor-institutes", "actor-regional-meetings")
    index = json.loads((tmp_path / "index.json").read_text())
    assert "area-terrorism" not in {f["name"] for f in index["feeds"]}
    assert not (tmp_path / "area-terrorism.ics").exists()


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
