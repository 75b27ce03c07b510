"""`calendar-tool serve`: the real server (uvicorn on 127.0.0.1, a free port, in a thread)
over a folder published by `service.publish_feeds`, asked with a real HTTP client: feed
headers, 304s, HEAD, gzip, the traversal guard, filtered feeds read back by independent
parsers, the JSON API against `list --format json`, the health check, the pages, and a
register edited under a running server."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.generate import register_text
from calendar_tool import delivery, feeds, service, store, timeline
from calendar_tool.clock import FixedClock, iso_utc
from calendar_tool.delivery.reminders import BEGINNING
from calendar_tool.model import Format, Kind, Register, State, Subscription
from calendar_tool.register import parse_register
from calendar_tool.web import pages, server
from tests.conftest import CLI
from tests.parsers import ical_events, icaljs, vobject_events
from tests.paths import REGISTER, ROOT, SAMPLE
from tests.processes import command, reading_latch, writer_of
from tests.registers import load_register

TODAY = "2025-06-01"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
PUBLIC = "https://calendar.example.org"
IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}
SECRET = "TOP SECRET, never served"
# The sample's feeds as `publish` writes them (tests/test_publish.py, SAMPLE_FEEDS).
SAMPLE_FEEDS = {"all": 59, "area-victims": 1, "area-trafficking": 1, "area-governance": 57,
                "actor-member-states": 16, "actor-commission": 39,
                "actor-secretary-general": 4}


@dataclasses.dataclass
class Site:
    """A published folder, served: `url` is where the server listens."""

    folder: Path
    register: Path
    url: str
    client: httpx.Client

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The sample register published on 2025-06-01 (SQLite store), served with today fixed to
    that day, plus traps for the traversal guard: a secret file beside the folder, a symlink
    named like a feed pointing at it, a directory named like a feed, a publish's temporary
    file."""
    root = tmp_path_factory.mktemp("site")
    folder = root / "feeds"
    engine = store.open_store(f"sqlite:///{root / 'store.db'}")
    service.publish_feeds(engine, load_register(SAMPLE), folder, FixedClock(NOW),
                          link_base=PUBLIC)
    (root / "secret.txt").write_text(SECRET)
    (folder / "area-secret.ics").symlink_to(root / "secret.txt")
    (folder / "actor-folder.ics").mkdir()
    (folder / ".all.ics.1234.tmp").write_text(SECRET)
    app = server.make_app(register=SAMPLE, feeds=folder, db=engine, clock=FixedClock(NOW),
                          public_url=PUBLIC)
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=10) as client:
        yield Site(folder, SAMPLE, running.url, client)
    engine.dispose()


@pytest.fixture(scope="module")
def stored(site: Site) -> Iterator[Site]:
    """The same folder served with no feed held in memory: each sent from its file and its
    gzip from a temporary file, a piece at a time, as a large register's feeds are."""
    app = server.make_app(register=SAMPLE, feeds=site.folder,
                          db=f"sqlite:///{site.folder.parent / 'store.db'}",
                          clock=FixedClock(NOW), public_url=PUBLIC, held=0)
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=10) as client:
        yield Site(site.folder, SAMPLE, running.url, client)


@pytest.fixture(params=["held", "stored"])
def served(request: pytest.FixtureRequest) -> Site:
    """The published folder served by each way of holding a feed (`server.FeedFolder`)."""
    found: Site = request.getfixturevalue("site" if request.param == "held" else "stored")
    return found


def _etag(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()[:32]}"'


def _blocks(data: bytes) -> dict[str, bytes]:
    """Each VEVENT's bytes by UID, in feed order."""
    out = {}
    for block in data.split(b"BEGIN:VEVENT\r\n")[1:]:
        block = block.split(b"END:VEVENT\r\n")[0]
        uid = block.split(b"\r\nUID:", 1)[1].split(b"\r\n", 1)[0]
        out[uid.decode()] = block
    return out


def _without_date(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != "date"}


# --- published feeds -------------------------------------------------------------------------

def test_feed_is_served_with_type_validators_and_caching(served: Site) -> None:
    """A published feed comes back byte for byte as text/calendar in UTF-8, with a strong
    ETag of its bytes, its file's Last-Modified, Vary and a cache lifetime."""
    data = (served.folder / "area-governance.ics").read_bytes()
    r = served.get("/feeds/area-governance.ics", headers=IDENTITY)
    assert r.status_code == 200
    assert r.content == data
    assert _without_date(r.headers) == {
        "content-type": "text/calendar; charset=utf-8",
        "content-length": str(len(data)),
        "etag": _etag(data),
        "last-modified": formatdate((served.folder / "area-governance.ics").stat().st_mtime,
                                    usegmt=True),
        "vary": "Accept-Encoding",
        "cache-control": "public, max-age=300",
        "x-content-type-options": "nosniff",
    }


def test_every_published_feed_and_the_index_are_served(served: Site) -> None:
    """Every feed index.json names is served with its bytes; index.json itself as JSON."""
    index = served.get("/feeds/index.json", headers=IDENTITY)
    assert index.headers["content-type"] == "application/json"
    assert index.content == (served.folder / "index.json").read_bytes()
    assert {f["name"]: f["events"] for f in index.json()["feeds"]} == SAMPLE_FEEDS
    for feed in index.json()["feeds"]:
        r = served.get(f"/feeds/{feed['path']}", headers=IDENTITY)
        assert (r.status_code, r.content) == (200, (served.folder / feed["path"]).read_bytes())


@pytest.mark.parametrize("tags", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_if_none_match_gives_304(served: Site, tags: str) -> None:
    """If-None-Match with the current ETag (weak comparison, in a list, or `*`) gives 304
    with no body and the validators; another ETag gives the feed."""
    first = served.get("/feeds/all.ics", headers=IDENTITY)
    r = served.get("/feeds/all.ics",
                 headers={**IDENTITY, "If-None-Match": tags.format(etag=first.headers["etag"])})
    assert (r.status_code, r.content) == (304, b"")
    assert r.headers["etag"] == first.headers["etag"]
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.headers["cache-control"] == "public, max-age=300"
    other = served.get("/feeds/all.ics", headers={**IDENTITY, "If-None-Match": '"other"'})
    assert (other.status_code, other.content) == (200, first.content)


@pytest.mark.parametrize("held", [server.HELD_MOST, 0], ids=["held", "stored"])
def test_if_modified_since_gives_304_unless_the_file_is_newer_or_the_date_is_to_come(
        site: Site, held: int) -> None:
    """If-Modified-Since at or after the file's Last-Modified gives 304; before it, 200. A
    date later than the server's now is invalid (RFC 9110 13.1.3) and ignored: 200 and the
    whole file, where a 304 kept a client with a wrong clock on its copy for ever; the
    server's static files alike. The server's clock stands two hours after the feed was
    written."""
    path = site.folder / "all.ics"
    mtime = path.stat().st_mtime
    now = datetime.fromtimestamp(mtime, UTC) + timedelta(hours=2)
    app = server.make_app(register=SAMPLE, feeds=site.folder,
                          db=f"sqlite:///{site.folder.parent / 'store.db'}",
                          clock=FixedClock(now), public_url=PUBLIC, held=held)
    future = "Sat, 01 Jan 2100 00:00:00 GMT"
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=10, headers=IDENTITY) as client:
        for since, status in ((formatdate(mtime, usegmt=True), 304),
                              (formatdate(mtime + 3600, usegmt=True), 304),
                              (formatdate(now.timestamp(), usegmt=True), 304),
                              (formatdate(mtime - 3600, usegmt=True), 200),
                              (formatdate(now.timestamp() + 1, usegmt=True), 200),
                              (future, 200)):
            r = client.get("/feeds/all.ics", headers={"If-Modified-Since": since})
            assert (r.status_code, r.content) == \
                (status, b"" if status == 304 else path.read_bytes()), since
        style = (server.HERE / "static" / "style.css").read_bytes()
        for since, status in ((formatdate(now.timestamp(), usegmt=True), 304), (future, 200)):
            r = client.get("/static/style.css", headers={"If-Modified-Since": since})
            assert (r.status_code, r.content) == (status, b"" if status == 304 else style)


@pytest.mark.parametrize("since", ["Mon, 01 Jan 10000 00:00:00 GMT",
                                   "Sat, 01 Jan 99999 00:00:00 GMT",
                                   "Thu, 32 Dec 2099 00:00:00 GMT",
                                   "Thu, 01 Jan 2099 00:00:00 +9999"])
def test_an_if_modified_since_that_is_no_date_is_ignored(site: Site, since: str) -> None:
    """Starlette reads a year past 9999, a 32nd day or a zone of 99 hours as a date and
    compared it, answering 304 for ever; RFC 9110 13.1.3 says such a value is ignored: 200
    and the whole file, for a feed, a selection and the page's static files alike."""
    headers = {**IDENTITY, "If-Modified-Since": since}
    style = (server.HERE / "static" / "style.css").read_bytes()
    for path, body in (("/feeds/all.ics", (site.folder / "all.ics").read_bytes()),
                       ("/feeds/all.ics?area=trafficking", None),
                       ("/static/style.css", style)):
        r = site.get(path, headers=headers)
        assert r.status_code == 200, path
        assert r.content == (body if body is not None else site.get(path, headers=IDENTITY).content)
        assert r.content


@pytest.mark.parametrize("encoding", [IDENTITY, GZIP], ids=["identity", "gzip"])
def test_head_has_the_headers_of_get_and_no_body(served: Site,
                                                 encoding: dict[str, str]) -> None:
    """HEAD answers with exactly the headers GET sends, Content-Length included, and no
    body, whichever encoding is asked for."""
    get = served.get("/feeds/area-governance.ics", headers=encoding)
    head = served.client.head("/feeds/area-governance.ics", headers=encoding)
    assert head.status_code == 200
    assert head.content == b""
    assert _without_date(head.headers) == _without_date(get.headers)


def test_gzip_when_asked_with_its_own_etag(served: Site) -> None:
    """Asked for gzip, the feed comes compressed (it decompresses to the file), with
    Content-Encoding, Vary, and an ETag of its own that validates only the gzipped bytes."""
    data = (served.folder / "all.ics").read_bytes()
    with served.client.stream("GET", "/feeds/all.ics", headers=GZIP) as r:
        raw = b"".join(r.iter_raw())
    assert gzip.decompress(raw) == data
    # The same bytes whether the feed is held or stored: one ETag, one representation.
    assert raw == gzip.compress(data, compresslevel=6, mtime=0)
    assert len(raw) < len(data) // 5
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["content-length"] == str(len(raw))
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.headers["etag"] == _etag(data)[:-1] + '-gzip"'
    assert r.headers["etag"] != _etag(data)
    again = served.get("/feeds/all.ics", headers={**GZIP, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["etag"] == r.headers["etag"]
    # The identity bytes' validator does not stand for the gzipped bytes, nor the reverse.
    cross = served.get("/feeds/all.ics", headers={**GZIP, "If-None-Match": _etag(data)})
    assert cross.status_code == 200
    plain = served.get("/feeds/all.ics", headers={**IDENTITY, "If-None-Match": r.headers["etag"]})
    assert (plain.status_code, plain.content) == (200, data)


def test_a_stored_feed_replaced_while_sent_is_sent_whole_as_it_began(tmp_path: Path) -> None:
    """A feed too large to hold, replaced by a publish while a client is still reading it:
    the client gets the version it began with, whole, under that version's ETag, and the
    next request the new one."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    old = b"".join(b"LINE %08d\r\n" % i for i in range(1_500_000))  # 21 MB
    new = old.replace(b"LINE", b"NEXT")
    (folder / "all.ics").write_bytes(old)
    app = server.make_app(register=SAMPLE, feeds=folder, db=f"sqlite:///{tmp_path / 'db'}",
                          clock=FixedClock(NOW), held=1 << 20)
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=30) as client:
        with client.stream("GET", "/feeds/all.ics", headers=IDENTITY) as r:
            pieces = r.iter_raw()
            first = next(pieces)
            (folder / "all.ics.new").write_bytes(new)
            os.replace(folder / "all.ics.new", folder / "all.ics")
            body = first + b"".join(pieces)
        assert (len(body), body == old, r.headers["etag"]) == (len(old), True, _etag(old))
        again = client.get("/feeds/all.ics", headers=IDENTITY)
        assert (again.content == new, again.headers["etag"]) == (True, _etag(new))


@pytest.mark.parametrize(("header", "gzipped"), [
    ("gzip", True), ("GZIP", True), ("x-gzip", True), ("br, gzip;q=0.5", True), ("*", True),
    ("gzip;q=0", False), ("gzip;q=0, *", False), ("*;q=0", False), ("identity", False),
    ("", False), ("deflate, br", False),
])
def test_accept_encoding_is_read_with_q_values(header: str, gzipped: bool) -> None:
    """gzip is used when Accept-Encoding names it (or `*`) with a q-value above 0."""
    assert server.accepts_gzip(header) is gzipped


@pytest.mark.parametrize("path", ["/", "/obligations/commission-sessions",
                                  "/api/obligations?due=2001..2005"])
@pytest.mark.parametrize(("header", "gzipped"), [
    ("gzip", True), ("GZIP", True), ("*", True), ("gzip;q=0", False), ("gzip;q=0, *", False),
    ("identity", False),
])
def test_pages_and_json_are_gzipped_only_when_gzip_is_accepted(site: Site, path: str,
                                                               header: str,
                                                               gzipped: bool) -> None:
    """Pages and JSON come gzipped as the feeds do, by the q-values: `gzip;q=0` refuses gzip,
    and gets the identity bytes (they used to come gzipped, "gzip" being in the header)."""
    plain = site.get(path, headers=IDENTITY)
    with site.client.stream("GET", path, headers={"Accept-Encoding": header}) as r:
        raw = b"".join(r.iter_raw())
    assert r.status_code == 200
    assert r.headers.get("content-encoding") == ("gzip" if gzipped else None)
    assert (gzip.decompress(raw) if gzipped else raw) == plain.content
    assert r.headers["vary"] == "Accept-Encoding"


@pytest.mark.parametrize("path", [
    "/feeds/../pyproject.toml", "/feeds/%2e%2e/pyproject.toml", "/feeds/..%2fpyproject.toml",
    "/feeds/%2e%2e%2fsecret.txt", "/feeds/..%5csecret.txt", "/feeds/..", "/feeds/%2e%2e",
    "/feeds/", "/feeds", "/feeds/.", "/feeds//etc/passwd", "/feeds/%2fetc%2fpasswd",
    "/feeds/area-secret.ics", "/feeds/actor-folder.ics", "/feeds/.all.ics.1234.tmp",
    "/feeds/all.ics%00", "/feeds/ALL.ICS", "/feeds/nope.ics", "/feeds/index.json/../all.ics",
    "/feeds/area-victims.ics%2f..%2f..%2fsecret.txt", "/static/../server.py",
    "/static/%2e%2e/server.py", "/static/", "/feeds/../../../../etc/passwd",
])
def test_nothing_outside_the_feeds_is_served(served: Site, path: str) -> None:
    """Traversal in every spelling, a symlink named like a feed that points outside, a
    directory, a publish's temporary file and unknown names are all 404, sent as raw request
    lines (no client normalises them), and no answer holds a byte of what they aim at."""
    conn = http.client.HTTPConnection("127.0.0.1", int(served.url.rsplit(":", 1)[1]), timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 404
    assert SECRET.encode() not in body
    assert b"[project]" not in body and b"root:" not in body and b"import" not in body


def test_a_named_pipe_in_a_feeds_place_is_a_404_not_waited_on(tmp_path: Path) -> None:
    """A named pipe named like a feed is answered as a missing feed is, at once."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    os.mkfifo(folder / "area-pipe.ics")
    app = server.make_app(register=SAMPLE, feeds=folder, db=f"sqlite:///{tmp_path / 'db'}",
                          clock=FixedClock(NOW))
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=10) as client:
        r = client.get("/feeds/area-pipe.ics")
    assert (r.status_code, r.text) == (404, "no feed 'area-pipe.ics'; /feeds/index.json lists "
                                            "the feeds\n")


def test_a_named_pipe_in_index_jsons_place_is_no_index_not_waited_on(tmp_path: Path) -> None:
    """The page read index.json with a plain open: a named pipe there held the request for
    ever. It is now a folder with no index yet, at once: the page a missing index gives."""
    pages = []
    for name in ("empty", "piped"):
        folder = tmp_path / name
        folder.mkdir()
        if name == "piped":
            os.mkfifo(folder / "index.json")
        app = server.make_app(register=SAMPLE, feeds=folder,
                              db=f"sqlite:///{tmp_path / name}.db", clock=FixedClock(NOW))
        with server.BackgroundServer(app) as running, \
                httpx.Client(base_url=running.url, timeout=10) as client:
            r = client.get("/")
        pages.append((r.status_code, r.text.replace(str(folder), "FOLDER")))
    assert pages[0] == pages[1]
    assert pages[0][0] == 200


class _Swapping(server.FeedFolder):
    """A feeds folder that puts a named pipe in a file's place right after looking at it: the
    window between the look and the open, which a publish or a person can hit by chance."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        full, found = super().lookup_path(path)
        Path(full).unlink()
        os.mkfifo(full)
        return full, found


def test_a_named_pipe_put_in_a_feeds_place_after_its_look_is_refused_not_waited_on(
        tmp_path: Path) -> None:
    """The feed was opened waiting for a writer: a named pipe swapped in for it between the
    check that it is a regular file and the open held a request thread for ever. It is now
    opened without waiting and refused once open, as a feed that is not there (None: 404)."""
    (tmp_path / "all.ics").write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    folder = _Swapping(tmp_path, FixedClock(NOW))
    answers: list[object] = []
    asking = threading.Thread(target=lambda: answers.append(folder.representations("all.ics")),
                              daemon=True)
    asking.start()
    asking.join(10)
    if asking.is_alive():  # let the thread go: a writer ends its wait
        os.close(os.open(tmp_path / "all.ics", os.O_WRONLY | os.O_NONBLOCK))
    assert answers == [None]


# --- a feed of one's own selection -----------------------------------------------------------

def _listed(cli: CLI, *args: str) -> list[dict[str, Any]]:
    result = cli("list", "--format", "json", "--today", TODAY, *args)
    assert result.exit_code == 0, result.stderr
    listed: list[dict[str, Any]] = json.loads(result.stdout)
    return listed


@pytest.mark.parametrize(("query", "args"), [
    ("area=governance&kind=report", ["--area", "governance", "--kind", "report"]),
    ("actor=member-states&status=open", ["--actor", "member-states", "--status", "open"]),
    ("kind=session&kind=event", ["--kind", "session", "--kind", "event"]),
    ("area=victims&area=trafficking", ["--area", "victims", "--area", "trafficking"]),
])
def test_filtered_feed_holds_the_matching_events_of_all_ics(site: Site, cli: CLI, query: str,
                                                            args: list[str]) -> None:
    """`/feeds/all.ics?…` holds exactly the dated occurrences `list` gives for the same
    filters, each event byte for byte the one in the published all.ics (same SEQUENCE from the
    store), as vobject and ical read it; its ETag is a digest of its bytes."""
    r = site.get(f"/feeds/all.ics?{query}", headers=IDENTITY)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert r.headers["etag"] == _etag(r.content)
    want = [f"{o['id']}@calendar-tool" for o in _listed(cli, *args) if o["date"] is not None]
    assert want
    published = _blocks((site.folder / "all.ics").read_bytes())
    mine = _blocks(r.content)
    assert list(mine) == want
    assert mine == {uid: published[uid] for uid in want}
    all_ics = (site.folder / "all.ics").read_bytes()
    for read in (vobject_events, ical_events):
        everything = {e["uid"]: e for e in read(all_ics)}
        assert read(r.content) == [everything[uid] for uid in want], read.__name__
    again = site.get(f"/feeds/all.ics?{query}",
                     headers={**IDENTITY, "If-None-Match": r.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")


@pytest.mark.parametrize(("query", "name"), [
    ("area=governance&kind=report", "Programme governance; reports – Sample register"),
    ("kind=report&area=governance", "Programme governance; reports – Sample register"),
    ("area=trafficking", "Trafficking in persons – Sample register"),
    ("area=trafficking&area=victims",
     "Victims of crime, Trafficking in persons – Sample register"),
    ("actor=member-states&status=open&status=missed",
     "Member States; status open, missed – Sample register"),
    # Kinds alone, or a status alone: the name still starts with a capital.
    ("kind=session&kind=report", "Reports, sessions – Sample register"),
    ("status=met", "Status met – Sample register"),
])
def test_filtered_feed_is_named_by_titles(site: Site, query: str, name: str) -> None:
    """The selected feed's calendar name says what was selected with the titles the
    register gives (as an area's published feed is named), in the register's order, never
    its keys; ical.js reads it so."""
    data = site.get(f"/feeds/all.ics?{query}", headers=IDENTITY).content
    escaped = name.replace(";", "\\;").replace(",", "\\,")
    assert f"\r\nX-WR-CALNAME:{escaped}\r\n".encode() in data
    assert f"\r\nNAME:{escaped}\r\n".encode() in data


def test_a_single_area_selection_is_named_as_its_published_feed(site: Site,
                                                                tmp_path: Path) -> None:
    """`/feeds/all.ics?area=victims` has the calendar name and events of the published
    area-victims.ics, as ical.js reads both."""
    path = tmp_path / "selected.ics"
    path.write_bytes(site.get("/feeds/all.ics?area=victims", headers=IDENTITY).content)
    published = site.folder / "area-victims.ics"
    read = icaljs([path, published])
    assert read[str(path)]["calendar"]["name"] == read[str(published)]["calendar"]["name"] == \
        "Victims of crime – Sample register"
    assert read[str(path)]["events"] == read[str(published)]["events"]


def test_a_selection_expands_series_as_far_as_the_published_feeds(tmp_path: Path) -> None:
    """Feeds published with a horizon of ten years (`publish --horizon 10`) hold the
    Commission's sessions up to 2035, and index.json says how far they reach. A selection
    built on request stopped at the default five years whatever the published feeds reached:
    /feeds/all.ics?actor=commission held 39 events where actor-commission.ics holds 44. It
    now follows the index: the published feed's events, as ical.js reads both, and the page
    counts the same for it, and the entry's page lists as many."""
    engine = store.open_store(f"sqlite:///{tmp_path / 'store.db'}")
    folder = tmp_path / "feeds"
    service.publish_feeds(engine, load_register(SAMPLE), folder, FixedClock(NOW),
                          horizon_years=10)
    assert json.loads((folder / "index.json").read_text())["horizon_years"] == 10
    app = server.make_app(register=SAMPLE, feeds=folder, db=engine, clock=FixedClock(NOW))
    selected = tmp_path / "selected.ics"
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=10, headers=IDENTITY) as client:
        selected.write_bytes(client.get("/feeds/all.ics?actor=commission").content)
        box = _section(client.get("/?actor=commission").text, "subscribe")
        page = client.get("/obligations/commission-sessions").text
    engine.dispose()
    published = folder / "actor-commission.ics"
    read = icaljs([selected, published])
    assert [e["uid"] for e in read[str(published)]["events"]][-5:] == \
        [f"commission-sessions#{n}@calendar-tool" for n in range(40, 45)]  # 2031 to 2035
    assert len(read[str(selected)]["events"]) == 44
    assert read[str(selected)]["events"] == read[str(published)]["events"]
    assert '<span class="count">44 events</span>' in box
    # The entry's page lists as many as its feed holds (it stopped at no. 39, in 2030).
    assert re.findall(r'id="occurrence-commission-sessions#(\d+)"', page)[-3:] == \
        ["42", "43", "44"]


def test_filtered_feed_carries_last_modified_and_answers_if_modified_since(
        tmp_path: Path) -> None:
    """A selected feed says when its bytes last changed: the newest change among its
    entries' revisions, or the register file's change when that is later. If-Modified-Since
    at or after it gives 304 (what Apple Calendar sends), before it the feed; an edit of the
    register moves it on."""
    register = tmp_path / "register.yaml"
    register.write_bytes(SAMPLE.read_bytes())
    edited_at = NOW - timedelta(days=30)
    os.utime(register, (edited_at.timestamp(), edited_at.timestamp()))
    engine = store.open_store(f"sqlite:///{tmp_path / 'db'}")
    service.publish_feeds(engine, load_register(register), tmp_path / "feeds", FixedClock(NOW))
    app = server.make_app(register=register, feeds=tmp_path / "feeds", db=engine,
                          clock=FixedClock(NOW + timedelta(hours=5)))
    path = "/feeds/all.ics?area=victims"
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, headers=IDENTITY) as client:
        first = client.get(path)
        assert first.status_code == 200
        assert first.headers["last-modified"] == "Sun, 01 Jun 2025 00:00:00 GMT"  # NOW
        # The server's now is 05:00: a date after it is ignored (RFC 9110 13.1.3).
        for since, status in (("Sun, 01 Jun 2025 00:00:00 GMT", 304),
                              ("Sun, 01 Jun 2025 05:00:00 GMT", 304),
                              ("Sun, 01 Jun 2025 05:00:01 GMT", 200),
                              ("Sat, 01 Jan 2100 00:00:00 GMT", 200),
                              ("Sat, 31 May 2025 23:59:59 GMT", 200)):
            r = client.get(path, headers={"If-Modified-Since": since})
            assert (r.status_code, len(r.content)) == \
                (status, 0 if status == 304 else len(first.content)), since
            assert r.headers["etag"] == first.headers["etag"]
        # An edit outside the selection, after the publish: the selection may have lost
        # an entry, so its date moves on, though these bytes stay.
        register.write_text(register.read_text().replace(
            "title: Programme governance", "title: Governance of the programme"))
        edited_at = NOW + timedelta(hours=2)
        os.utime(register, (edited_at.timestamp(), edited_at.timestamp()))
        changed = "Sun, 01 Jun 2025 02:00:00 GMT"
        after = client.get(path, headers={"If-Modified-Since": first.headers["last-modified"]})
        assert (after.status_code, after.headers["last-modified"]) == (200, changed)
        assert after.content == first.content  # the victims' events did not change
    engine.dispose()


def test_a_selection_changes_when_the_horizon_reaches_an_occurrence(
        engine: store.Engine, tmp_path: Path) -> None:
    """A selection holding a series grows when the horizon (five years past today) reaches
    the next occurrence: its Last-Modified is then that day, so a client asking with the date
    of its last copy gets the new event, not a 304."""
    register = load_register(SAMPLE)
    service.publish_feeds(engine, register, tmp_path, FixedClock(NOW))
    info = feeds.feed_specs(register)[0].info
    sessions = timeline.Query(kinds=frozenset({Kind.SESSION}))
    at = NOW - timedelta(days=400)

    def selected(day: datetime) -> service.Selection:
        return service.selection(engine, register, at, info, sessions, day.date(), io.BytesIO())

    now, year_on = selected(NOW), selected(NOW + timedelta(days=366))
    assert now.modified == NOW  # the revisions' time: published then
    # The session of 2031, expected in May (the month the tenth met), came within the
    # horizon on 1 May 2026.
    assert year_on.events == now.events + 1
    assert year_on.modified == datetime(2026, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize("name", ["sample", "real", "generated"])
def test_a_selection_from_the_date_index_is_the_feed_of_every_occurrence_it_takes(
        tmp_path: Path, name: str) -> None:
    """`service.selection` picks its occurrences from the date index and computes the
    revisions of its entries alone: its bytes, event count and Last-Modified are those of
    the feed made from every occurrence of the register that `timeline.matches` takes, with
    every entry's revision, for filters of each kind, on days decades apart, after an edit
    since the last publish."""
    text = {"sample": SAMPLE, "real": REGISTER}[name].read_text() if name != "generated" \
        else register_text(300, seed=5)
    engine = store.open_store(f"sqlite:///{tmp_path / 'db'}")
    service.publish_feeds(engine, parse_register(text, "r.yaml"), tmp_path / "feeds",
                          FixedClock(NOW))
    entries = text.index("\nentries:")
    first = re.compile(r"^    title: (.*)$", re.M).search(text, entries)
    assert first is not None
    reg = parse_register(text[:first.start()] + f"    title: {first[1]} (edited)"
                         + text[first.end():], "r.yaml")
    info = feeds.feed_specs(reg)[0].info
    at = NOW + timedelta(days=3)
    areas = sorted({a for e in reg.entries for a in e.areas})
    actors = sorted({a for e in reg.entries for a in e.actors})
    queries = [timeline.Query(), timeline.Query(areas=frozenset(areas[:1])),
               timeline.Query(areas=frozenset(areas[-2:]), kinds=frozenset({Kind.REPORT})),
               timeline.Query(kinds=frozenset({Kind.SESSION, Kind.EVENT})),
               timeline.Query(actors=frozenset(actors[:1]), states=frozenset({State.OPEN}))]
    revs = feeds.next_revisions(store.load_revisions(engine), reg, at)
    for day in (date(2001, 6, 1), date(2026, 12, 2), date(2061, 3, 1)):
        every = feeds.feed_occurrences(reg, timeline.horizon(day))
        for q in queries:
            expected, made = io.BytesIO(), io.BytesIO()
            told = feeds.selected_feed(
                reg, revs, info, [o for o in every if timeline.matches(o, q)], at, expected)
            assert (service.selection(engine, reg, at, info, q, day, made),
                    made.getvalue()) == (told, expected.getvalue()), (day, q)
    engine.dispose()


def test_filter_matching_nothing_is_an_empty_calendar(site: Site) -> None:
    """Known values that select nothing today give a calendar without events (a subscriber's
    selection fills in when the register gets such an entry), not an error."""
    r = site.get("/feeds/all.ics?area=victims&kind=session", headers=IDENTITY)
    assert r.status_code == 200
    assert vobject_events(r.content) == []
    assert r.content.startswith(b"BEGIN:VCALENDAR\r\n")
    assert r.content.endswith(b"END:VCALENDAR\r\n")


@pytest.mark.parametrize(("path", "message"), [
    ("/feeds/all.ics?area=nope",
     "unknown area 'nope'; the register declares: governance, trafficking, victims"),
    ("/feeds/all.ics?actor=nobody&area=victims",
     "unknown actor 'nobody'; the register declares: commission, member-states, "
     "secretary-general"),
    ("/feeds/all.ics?kind=meeting",
     "unknown kind 'meeting'; one of: deadline, target, report, period, event, session, "
     "standing"),
    ("/feeds/all.ics?status=done",
     "unknown status 'done'; one of: open, met, missed, superseded, withdrawn"),
    ("/feeds/all.ics?due=2005",
     "unknown parameter 'due' for a feed; use area, actor, kind, status"),
    ("/feeds/area-victims.ics?kind=target",
     "filters apply to /feeds/all.ics only, as "
     "/feeds/all.ics?area=KEY&actor=KEY&kind=KIND&status=STATE"),
])
def test_unknown_filter_values_are_a_400_with_a_message(site: Site, path: str,
                                                        message: str) -> None:
    """A filter the register does not know is refused with a message naming the parameter
    and the value, never answered with an empty calendar."""
    r = site.get(path)
    assert (r.status_code, r.headers["content-type"], r.text) == \
        (400, "text/plain; charset=utf-8", message + "\n")


def test_filtered_feed_reads_revisions_from_either_store(engine: store.Engine,
                                                         tmp_path: Path) -> None:
    """On SQLite and on PostgreSQL, the selected feed takes each entry's SEQUENCE from the
    store the feeds were published with: its events are those of all.ics, byte for byte."""
    service.publish_feeds(engine, load_register(SAMPLE), tmp_path, FixedClock(NOW))
    app = server.make_app(register=SAMPLE, feeds=tmp_path, db=engine, clock=FixedClock(NOW))
    with server.BackgroundServer(app) as running:
        data = httpx.get(f"{running.url}/feeds/all.ics?actor=secretary-general",
                         headers=IDENTITY).content
    published = _blocks((tmp_path / "actor-secretary-general.ics").read_bytes())
    assert _blocks(data) == published
    assert len(published) == SAMPLE_FEEDS["actor-secretary-general"]


# --- the JSON API ----------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "args"), [
    ("", []),
    ("due=2005", ["--due", "2005"]),
    ("due=2001..2005&area=victims&area=trafficking",
     ["--due", "2001..2005", "--area", "victims", "--area", "trafficking"]),
    ("from=2001&until=2002-06", ["--from", "2001", "--until", "2002-06"]),
    ("upcoming=1y", ["--upcoming", "1y"]),
    ("overdue=1", ["--overdue"]),
    ("overdue&today=2003-01-01", ["--overdue", "--today", "2003-01-01"]),
    ("area=governance&kind=report&kind=deadline",
     ["--area", "governance", "--kind", "report", "--kind", "deadline"]),
    ("actor=member-states&status=missed", ["--actor", "member-states", "--status", "missed"]),
])
def test_api_answers_what_list_prints(site: Site, cli: CLI, query: str,
                                      args: list[str]) -> None:
    """/api/obligations with the filters of `list` gives exactly the text `list --format
    json` prints for the same filters on the same day."""
    result = cli("list", "--format", "json", "--today", TODAY, *args)
    assert result.exit_code == 0, result.stderr
    r = site.get(f"/api/obligations?{query}")
    assert (r.status_code, r.headers["content-type"]) == (200, "application/json")
    assert r.text + "\n" == result.stdout
    assert r.json()  # none of these selections is empty
    head = site.client.head(f"/api/obligations?{query}")
    assert (head.status_code, head.content, _without_date(head.headers)) == \
        (200, b"", _without_date(r.headers))


@pytest.mark.parametrize(("query", "message"), [
    ("due=20x", "due: '20x' is not a period: write 2005, 2005-06, 2005-06-30 or 2001..2005"),
    ("due=2005&from=2001", "due already names the period; drop from/until"),
    ("upcoming=1y&due=2005", "upcoming already names the period; drop due"),
    ("upcoming=1y&from=2005&until=2006", "upcoming already names the period; drop from/until"),
    ("upcoming=1y&overdue=1", "overdue is before today and upcoming from today on, so "
                              "nothing is both; drop one"),
    ("from=2006&until=2005", "from '2006' until '2005': the period ends before it starts"),
    ("due=2005&due=2006", "due is given 2 times; give it once"),
    ("upcoming=soon", "upcoming: 'soon' is not a span: write 90d, 12w, 6m or 1y"),
    ("overdue=maybe", "overdue 'maybe': write overdue=1 or leave it out"),
    ("today=tomorrow", "today 'tomorrow' is not a date such as 2005-06-30"),
    ("area=nope", "unknown area 'nope'; the register declares: governance, trafficking, victims"),
    ("kind=meeting", "unknown kind 'meeting'; one of: deadline, target, report, period, event, "
                     "session, standing"),
    ("areas=victims", "unknown parameter 'areas' for /api/obligations; use due, from, until, "
                      "upcoming, overdue, area, actor, kind, status, today"),
])
def test_api_refuses_bad_values_with_a_json_400(site: Site, query: str, message: str) -> None:
    """A value `list` would refuse is a 400 whose JSON names the parameter and the value."""
    r = site.get(f"/api/obligations?{query}")
    assert (r.status_code, r.headers["content-type"], r.json()) == \
        (400, "application/json", {"error": message})


def test_a_refused_value_of_any_length_is_answered_in_a_short_line(site: Site) -> None:
    """The message quotes the value it refuses: of a 60,000-character parameter, the answer
    (JSON, a feed's text, the page) carries its first 500 characters, the cut marked."""
    value = "x" * 60_000
    said = f"unknown area '{value}"[:499] + "…"
    api = site.get(f"/api/obligations?area={value}")
    assert (api.status_code, api.json()) == (400, {"error": said})
    feed = site.get(f"/feeds/all.ics?area={value}")
    assert (feed.status_code, feed.text) == (400, said + "\n")
    page = site.get(f"/?area={value}")
    assert page.status_code == 400 and len(page.content) < 20_000
    assert said.replace("'", "&#39;") in page.text


# --- health ----------------------------------------------------------------------------------

def test_healthz_reports_the_revision_and_the_last_publish(site: Site) -> None:
    """/healthz: ok, the register's revision (a digest of its bytes), how many entries, and
    when the feeds were last published (index.json's mtime) and how many there are."""
    r = site.get("/healthz")
    revision = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()[:12]
    published = iso_utc(datetime.fromtimestamp((site.folder / "index.json").stat().st_mtime,
                                               UTC))
    assert (r.status_code, r.json()) == (200, {
        "ok": True, "revision": revision, "serving": revision, "entries": 10, "error": None,
        "problems": [], "published": published, "feeds": 7})


def test_healthz_is_503_when_the_feeds_folder_is_gone(tmp_path: Path) -> None:
    """A feeds folder removed under the server leaves it nothing to serve: /healthz says so
    (503, the folder named) rather than ok, and ok again once the folder is back."""
    folder = tmp_path / "feeds"
    engine = store.open_store(f"sqlite:///{tmp_path / 'store.db'}")
    service.publish_feeds(engine, load_register(SAMPLE), folder, FixedClock(NOW))
    app = server.make_app(register=SAMPLE, feeds=folder, db=engine, clock=FixedClock(NOW))
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=10) as client:
        assert client.get("/healthz").status_code == 200
        folder.rename(tmp_path / "elsewhere")
        gone = client.get("/healthz")
        (tmp_path / "elsewhere").rename(folder)
        back = client.get("/healthz")
    engine.dispose()
    assert (gone.status_code, gone.json()["ok"], gone.json()["error"]) == (
        503, False, f"the feeds folder {str(folder)!r} is gone")
    assert (back.status_code, back.json()["ok"]) == (200, True)


# --- pages -----------------------------------------------------------------------------------

def _section(html: str, name: str) -> str:
    found = re.search(rf'<section id="{name}"[^>]*>(.*?)</section>', html, re.S)
    assert found is not None, name
    return found.group(1)


def _ids(html: str) -> list[str]:
    return re.findall(r'data-id="([^"]+)"', html)


@pytest.mark.parametrize(("query", "args"), [
    ("", []),
    ("?area=governance", ["--area", "governance"]),
    ("?area=governance&actor=secretary-general&kind=report",
     ["--area", "governance", "--actor", "secretary-general", "--kind", "report"]),
    ("?kind=session", ["--kind", "session"]),
])
def test_home_page_shows_what_is_due_for_the_selection(site: Site, cli: CLI, query: str,
                                                       args: list[str]) -> None:
    """/ (and /?area=…&actor=…&kind=…) lists, rendered by the server, the next 90 days as
    `list --upcoming 90d` has them, then the rest of `list --upcoming 1y`, then what is open
    and overdue as `list --overdue` has it, for the same filters, each with the date as
    `list` shows it, who owes it, its area and a link to its page; all of it before the
    feed list."""
    r = site.get(f"/{query}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    soon = [o["id"] for o in _listed(cli, "--upcoming", "90d", *args)]
    year = _listed(cli, "--upcoming", "1y", *args)
    overdue = _listed(cli, "--overdue", *args)
    assert _ids(_section(r.text, "soon")) == soon
    assert _ids(_section(r.text, "later")) == [o["id"] for o in year if o["id"] not in soon]
    html = _section(r.text, "overdue")
    assert _ids(html) == [o["id"] for o in overdue]
    assert re.findall(r'<span class="when">([^<]+)</span>', html) == \
        [o["when"] + (" (estimated)" if o["tentative"] else "") for o in overdue]
    assert re.findall(r'<a class="title" href="([^"]+)"', html) == \
        ["/obligations/" + o["id"].replace("#", "%23") for o in overdue]
    assert r.text.index('id="soon"') < r.text.index('id="overdue"') < r.text.index('id="feeds"')


def test_home_page_on_the_sample_day(site: Site) -> None:
    """On 2025-06-01 the sample has nothing in the next 90 days (the Commission's 34th session
    was expected in May 2025, the month the tenth met), its 35th (May 2026, estimated) later
    in the next 12 months, and five open deadlines overdue; the victims' one reads with its
    date, who owes it and its area."""
    html = site.get("/").text
    assert "<h1 id=\"title\">Sample register</h1>" in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert _ids(_section(html, "soon")) == []
    assert "Nothing falls due or takes place in the next 90 days." in _section(html, "soon")
    assert _ids(_section(html, "later")) == ["commission-sessions#35"]
    assert re.findall(r'<span class="when">([^<]+)</span>', _section(html, "later")) == \
        ["May 2026 (estimated)"]
    assert "Nothing falls due or takes place in the next 90 days." in \
        _section(site.get("/?area=victims").text, "soon")
    assert len(_ids(_section(html, "overdue"))) == 5
    victims = _section(site.get("/?area=victims").text, "overdue")
    item = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", victims)).strip()
    assert item == ("Open and overdue 1 Open deadlines whose due day has passed. by end of "
                    "2002 Review practices relating to victims of crime Who: Member States "
                    "Area: Victims of crime target")


def test_home_page_subscribes_to_the_selection(site: Site) -> None:
    """Next to the filters, the page offers the feed of its own selection: a webcal:// link
    to /feeds/all.ics with the same filters, a Google Calendar link taking that address, the
    https address to copy, and the number of events, which is the feed's."""
    html = site.get("/?area=governance&kind=report").text
    box = _section(html, "subscribe")
    feed = "calendar.example.org/feeds/all.ics?area=governance&amp;kind=report"
    assert f'href="webcal://{feed}"' in box
    assert ('href="https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2Fcalendar.'
            'example.org%2Ffeeds%2Fall.ics%3Farea%3Dgovernance%26kind%3Dreport"') in box
    assert f'value="https://{feed}"' in box
    events = vobject_events(site.get("/feeds/all.ics?area=governance&kind=report",
                                     headers=IDENTITY).content)
    assert f'<span class="count">{len(events)} events</span>' in box
    assert "<h2 id=\"subscribe-heading\">Subscribe to Programme governance; reports</h2>" in box
    everything = _section(site.get("/").text, "subscribe")
    assert 'href="webcal://calendar.example.org/feeds/all.ics"' in everything
    assert f'<span class="count">{SAMPLE_FEEDS["all"]} events</span>' in everything


def test_home_page_offers_no_feed_of_standing_obligations_alone(site: Site, cli: CLI) -> None:
    """Standing obligations have no date (the register refuses one), so the feed of
    /?kind=standing can never hold an event: the page offered it all the same, "0 events".
    It now says why there is nothing to subscribe to. With another kind beside it the feed
    is offered, holding that kind's events."""
    assert [o["date"] for o in _listed(cli, "--kind", "standing")] == [None]
    assert vobject_events(site.get("/feeds/all.ics?kind=standing", headers=IDENTITY).content) \
        == []
    box = _section(site.get("/?kind=standing").text, "subscribe")
    assert "webcal://" not in box and "/feeds/all.ics" not in box
    assert '<p class="hint">Nothing to subscribe to: standing obligations fall on no day, so ' \
        "no calendar can hold them. The JSON at the foot of the page lists them.</p>" in box
    both = _section(site.get("/?kind=standing&kind=deadline").text, "subscribe")
    feed = "/feeds/all.ics?kind=standing&kind=deadline"
    assert f'href="webcal://calendar.example.org{feed.replace("&", "&amp;")}"' in both
    assert [e["uid"] for e in vobject_events(site.get(feed, headers=IDENTITY).content)] == \
        [f"{o['id']}@calendar-tool" for o in _listed(cli, "--kind", "deadline")]
    assert '<span class="count">1 event</span>' in both


@pytest.mark.parametrize(("query", "href", "args"), [
    ("", "/api/obligations", []),
    ("?area=governance&kind=report", "/api/obligations?area=governance&amp;kind=report",
     ["--area", "governance", "--kind", "report"]),
    ("?area=victims&area=trafficking&actor=member-states",
     "/api/obligations?area=victims&amp;area=trafficking&amp;actor=member-states",
     ["--area", "victims", "--area", "trafficking", "--actor", "member-states"]),
])
def test_home_page_footer_links_the_json_of_its_selection(site: Site, cli: CLI, query: str,
                                                          href: str, args: list[str]) -> None:
    """The footer's JSON link of a filtered page carries the page's filters: it linked the
    whole register whatever the page showed. It answers what `list --format json` prints for
    the same filters."""
    footer = re.search(r"<footer>(.*?)</footer>", site.get(f"/{query}").text, re.S)
    assert footer is not None
    assert re.findall(r'<a href="([^"]+)">JSON</a>', footer.group(1)) == [href]
    answer = site.get(href.replace("&amp;", "&"))
    assert (answer.status_code, answer.json()) == (200, _listed(cli, *args))


def test_home_page_offers_no_feed_that_was_not_published(tmp_path: Path) -> None:
    """A register with no dated event publishes no all.ics (a calendar needs an event), and
    before a publish there is none either: the page then says why there is nothing to
    subscribe to rather than offer a link that answers 404. A selection's feed is offered
    still: it is made on request."""
    register = tmp_path / "r.yaml"
    register.write_text("register: {title: Empty}\nareas: {}\nactors: {}\ndocuments: {}\n"
                        "entries: []\n")
    folder = tmp_path / "feeds"
    folder.mkdir()
    engine = store.open_store(f"sqlite:///{tmp_path / 'store.db'}")
    app = server.make_app(register=register, feeds=folder, db=engine, clock=FixedClock(NOW),
                          public_url=PUBLIC)
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=10) as client:
        before = _section(client.get("/").text, "subscribe")
        missing = client.get("/feeds/index.json")
        assert (missing.status_code, missing.text) == (
            404, "no feeds published yet: nothing has written index.json into the feeds "
                 "folder\n")
        service.publish_feeds(engine, load_register(register), folder, FixedClock(NOW))
        after = _section(client.get("/").text, "subscribe")
        assert client.get("/feeds/all.ics").status_code == 404
        chosen = _section(client.get("/?kind=session").text, "subscribe")
    engine.dispose()
    for box in (before, after):
        assert "webcal://" not in box and "/feeds/all.ics" not in box
    assert '<p class="hint">Nothing to subscribe to yet: the feeds have not been ' \
        'published.</p>' in before
    assert '<p class="hint">Nothing to subscribe to yet: the register has no dated event, so ' \
        'no feed of everything was published.</p>' in after
    assert 'href="webcal://calendar.example.org/feeds/all.ics?kind=session"' in chosen


def test_home_page_lists_the_published_feeds_by_short_names(site: Site) -> None:
    """The published feeds are listed compactly, grouped, each by its area's or actor's
    title alone, with its webcal:// link, its count and its address."""
    feeds = _section(site.get("/").text, "feeds")
    rows = re.findall(r'<tr class="feed" data-feed="([^"]+)">\s*<td><a class="webcal" '
                      r'href="([^"]+)"[^>]*>([^<]+)</a></td>\s*<td class="count">([^<]+)</td>'
                      r'\s*<td class="address"><a class="https" href="([^"]+)"', feeds)
    assert rows == [(name, f"webcal://calendar.example.org/feeds/{name}.ics", label,
                     f"{SAMPLE_FEEDS[name]} event{'s' if SAMPLE_FEEDS[name] != 1 else ''}",
                     f"https://calendar.example.org/feeds/{name}.ics")
                    for name, label in (
                        ("all", "Everything"), ("area-victims", "Victims of crime"),
                        ("area-trafficking", "Trafficking in persons"),
                        ("area-governance", "Programme governance"),
                        ("actor-member-states", "Member States"),
                        ("actor-commission", "Commission on Crime Prevention and Criminal "
                                             "Justice"),
                        ("actor-secretary-general", "Secretary-General"))]
    assert re.findall(r'<th scope="colgroup" colspan="3">([^<]+)</th>', feeds) == \
        ["The whole register", "By area", "By actor"]
    assert "– Sample register</a>" not in feeds


def test_home_page_filters_keep_a_clean_address(site: Site) -> None:
    """The filter form sends every field; the empty ones (any) are dropped from the address
    with a 303, so that a filtered view is bookmarked and shared as /?area=…; a page with
    none left is /."""
    r = site.get("/?area=victims&actor=&kind=")
    assert (r.status_code, r.headers["location"]) == (303, "/?area=victims")
    r = site.get("/?area=&actor=&kind=")
    assert (r.status_code, r.headers["location"]) == (303, "/")


@pytest.mark.parametrize(("query", "message"), [
    ("?area=nope", "unknown area &#39;nope&#39;; the register declares: governance, "
                   "trafficking, victims"),
    ("?kind=meeting", "unknown kind &#39;meeting&#39;; one of: deadline, target, report, "
                      "period, event, session, standing"),
    ("?status=open", "unknown parameter &#39;status&#39; for the page; use area, actor, kind"),
])
def test_home_page_refuses_a_bad_filter_with_a_400_page(site: Site, query: str,
                                                        message: str) -> None:
    """A filter the register does not know is a 400 page naming the parameter and value."""
    r = site.get(f"/{query}")
    assert (r.status_code, r.headers["content-type"]) == (400, "text/html; charset=utf-8")
    assert f'<p class="message">{message}</p>' in r.text
    assert "<h1>Bad request</h1>" in r.text


def test_home_page_timeline_draws_each_area_feed(site: Site) -> None:
    """The timeline is an SVG with one lane per area that has dated occurrences, holding one
    mark per event of that area's feed, each linking to its occurrence."""
    html = site.get("/").text
    found = re.search(r'<svg class="tl-plot" .*?</svg>', html, re.S)
    assert found is not None
    svg = ET.fromstring(found.group(0))
    ns = {"s": "http://www.w3.org/2000/svg"}
    lanes = svg.findall("s:g[@class='tl-lane']", ns)
    assert [lane.get("data-area") for lane in lanes] == ["victims", "trafficking", "governance"]
    labels = re.search(r'<svg class="tl-labels" .*?</svg>', html, re.S)
    assert labels is not None
    assert re.findall(r'<text class="tl-label"[^>]*>([^<]+)<', labels.group(0)) == \
        ["Victims of crime", "Trafficking in persons", "Programme governance"]
    for lane in lanes:
        feed = _blocks((site.folder / f"area-{lane.get('data-area')}.ics").read_bytes())
        hrefs = [a.get("href", "") for a in lane.findall("s:a", ns)]
        assert len(hrefs) == SAMPLE_FEEDS[f"area-{lane.get('data-area')}"]
        assert sorted(hrefs) == sorted(
            "/obligations/" + uid.split("@")[0].replace("#", "%23") for uid in feed)


def _lanes(html: str) -> list[tuple[str | None, list[str]]]:
    """The timeline's lanes: each one's area and the classes of its marks."""
    found = re.search(r'<svg class="tl-plot" .*?</svg>', html, re.S)
    assert found is not None
    ns = {"s": "http://www.w3.org/2000/svg"}
    return [(lane.get("data-area"), [a.get("class", "") for a in lane.findall("s:a", ns)])
            for lane in ET.fromstring(found.group(0)).findall("s:g[@class='tl-lane']", ns)]


def test_a_long_list_shows_its_first_and_says_how_many(site: Site, cli: CLI,
                                                        tmp_path: Path) -> None:
    """Past the most a list shows (2 here; 200 in `serve`), the page shows its first by date,
    counts them all and links all of them as JSON; past the most the timeline draws (5 here),
    it draws the selection alone when that fits, without dimming, else says why it draws
    nothing. A register of 100,000 entries made a page of 126 MB."""
    app = server.make_app(register=SAMPLE, feeds=site.folder, clock=FixedClock(NOW),
                          db=f"sqlite:///{tmp_path / 'store.db'}", public_url=PUBLIC,
                          listed=2, drawn=5)
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=10) as client:
        html = client.get("/").text
        overdue = [o["id"] for o in _listed(cli, "--overdue")]
        assert len(overdue) == 5
        section = _section(html, "overdue")
        assert _ids(section) == overdue[:2]
        assert '<span class="count">5</span>' in section
        assert '<p class="more">The first 2 of 5, by date. <a href="/api/obligations?' \
               'overdue=1">All 5 as JSON</a></p>' in section
        assert [o["id"] for o in client.get("/api/obligations?overdue=1").json()] == overdue
        assert "<svg" not in _section(html, "timeline")
        assert "The register has 59 dated occurrences up to the feeds&#39; horizon; the " \
               "timeline draws at most 5. Choose an area, an actor or a kind to draw " \
               "fewer." in _section(html, "timeline")
        victims = client.get("/?area=victims").text
        assert _lanes(victims) == [("victims", ["tl-mark"])]
        assert "dimmed" not in _section(victims, "timeline")
        assert _ids(_section(victims, "overdue")) == ["victims-review"]
        assert 'class="more"' not in victims
        assert "This selection has 57 dated occurrences" in \
            _section(client.get("/?area=governance").text, "timeline")
    # Under the most, the whole register is drawn, what is outside the selection dimmed.
    dimmed = _lanes(site.get("/?area=victims").text)
    assert [(area, len(marks)) for area, marks in dimmed] == \
        [("victims", 1), ("trafficking", 1), ("governance", 57)]
    assert [m for _, marks in dimmed for m in marks if "dim" not in m] == ["tl-mark"]


def test_entry_page_shows_the_entry_in_full(site: Site) -> None:
    """/obligations/<id> shows what `show` prints: fields, the resolved date and its
    derivation, and each source: its quote, then its citation linking the document, set
    apart from the document's title."""
    r = site.get("/obligations/victims-review")
    assert r.status_code == 200
    assert "<h1 id=\"title\">Review practices relating to victims of crime</h1>" in r.text
    for text in ("<dt>kind</dt><dd>target</dd>", "<dt>date</dt><dd>2002 (2002)</dd>",
                 "<dt>actors</dt><dd>member-states (Member States)</dd>",
                 "<dt>reminders</dt><dd>P30D (this entry)</dd>",
                 '<span class="when">by end of 2002</span>', "(as written)",
                 '<blockquote cite="https://undocs.org/A/RES/55/59">we establish 2002 as a '
                 "target date for States to review their relevant practices</blockquote>",
                 '<a href="https://undocs.org/A/RES/55/59" rel="noopener">A/RES/55/59 para. 27'
                 '</a><span class="sep"> — </span><span class="doc-title">Vienna Declaration '
                 "on Crime and Justice</span>"):
        assert text in r.text, text


def test_entry_page_subscribes_to_its_areas(site: Site) -> None:
    """An entry's page offers the feed of each of its areas (the selection the home page
    gives for that area), with its count and a link to that view."""
    box = _section(site.get("/obligations/victims-review").text, "subscribe")
    assert 'href="webcal://calendar.example.org/feeds/all.ics?area=victims"' in box
    assert ">Subscribe to Victims of crime</a>" in box
    assert '<span class="count">1 event</span>' in box
    assert '<a href="/?area=victims">Everything due in Victims of crime</a>' in box


def test_entry_page_keeps_every_quote_of_one_paragraph(real: Register) -> None:
    """Two quotes cited from the same paragraph are both shown, each with its citation (the
    one rule for sources: only a reprint of the same quote is shown once)."""
    entry = real.entry("revised-plans-document")
    assert entry is not None
    assert [(s["citation"], s["quote"]) for s in pages.sources(entry.sources, real)] == [
        ("CCPCJ-2001-revised-plans para. 3", "The document should be made available to Member "
         "States six weeks prior to the inter-sessional meeting."),
        ("CCPCJ-2001-revised-plans para. 3", "The secretariat was requested to prepare a new "
         "document, replacing document E/CN.15/2001/5"),
        ("CCPCJ-2001-revised-plans para. 4", "The revised draft plans of action are annexed to "
         "the present note."),
    ]


def test_occurrence_page_of_a_series(site: Site) -> None:
    """/obligations/<series>%23<n> shows that one occurrence, with its own place."""
    r = site.get("/obligations/commission-sessions%2310")
    assert r.status_code == 200
    assert re.findall(r'<span class="number">no\. (\d+)</span>', r.text) == ["10"]
    assert '<span class="when">8–17 May 2001</span>' in r.text
    assert '<span class="location">Vienna</span>' in r.text
    # Titled as that occurrence, in the window's title and the heading.
    title = "Commission on Crime Prevention and Criminal Justice, annual session (no. 10)"
    assert re.findall(r"<title>(.*?) – ", r.text) == [title]
    assert re.findall(r'<h1 id="title">(.*?)</h1>', r.text) == [title]
    whole = site.get("/obligations/commission-sessions")
    assert re.findall(r'<h1 id="title">(.*?)</h1>', whole.text) == [title[:-len(" (no. 10)")]]


@pytest.mark.parametrize("path", ["/", "/obligations/commission-sessions", "/api/obligations",
                                  "/feeds/all.ics", "/healthz"])
def test_a_method_other_than_get_or_head_is_a_405_saying_which_are_allowed(site: Site,
                                                                           path: str) -> None:
    """POST (or any method but GET and HEAD) is a 405 carrying `Allow: GET, HEAD`, which
    RFC 9110 15.5.6 requires: the pages and the JSON used to leave it out."""
    r = site.client.post(path)
    allowed = {m.strip() for m in r.headers.get("allow", "").split(",")}  # Starlette's set
    assert (r.status_code, allowed) == (405, {"GET", "HEAD"})


def test_an_occurrence_reads_with_a_space_between_its_place_and_how_it_is_dated(
        site: Site) -> None:
    """An occurrence's line reads "no. 10 8–17 May 2001 Vienna (as written)", as a browser
    shows it (tags dropped, white space collapsed): it read "Vienna(as written)", the
    template's line break taken away with its `{% endif %}`."""
    r = site.get("/obligations/commission-sessions%2310")
    found = re.search(r'<li class="occurrence[^"]*"[^>]*>(.*?)</li>', r.text, re.S)
    assert found is not None
    shown = " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())
    assert shown == "no. 10 8–17 May 2001 Vienna (as written)"


def test_occurrence_page_words_its_status_with_its_day_and_note() -> None:
    """A status recorded on a series occurrence reads on its page as `show` and the feed
    say it ("met since 2005-04-25: Held as planned."), not as its state alone."""
    text = REGISTER.read_text().replace(
        "          date: 2005-04-18..2005-04-25\n",
        "          date: 2005-04-18..2005-04-25\n"
        "          status: {state: met, date: 2005-04-25, note: Held as planned.}\n", 1)
    register = parse_register(text, "obligations.yaml")
    [o] = timeline.find(register, "congresses#11", date(2026, 12, 4))
    assert pages.occurrence_detail(o, register)["own_status"] == \
        "met since 2005-04-25: Held as planned."


def test_unknown_entry_is_a_404_page(site: Site) -> None:
    """An id the register does not have is a 404 HTML page saying so."""
    r = site.get("/obligations/nope")
    assert (r.status_code, r.headers["content-type"]) == (404, "text/html; charset=utf-8")
    assert "no entry or occurrence &#39;nope&#39; in the register" in r.text


def test_head_of_a_missing_page_has_the_headers_of_its_get(site: Site) -> None:
    """HEAD of a page that is not there answers as GET does (RFC 9110: the same header
    fields), with no body: it answered text/plain, of another length."""
    got, head = site.get("/obligations/nope"), site.client.head("/obligations/nope")
    assert (head.status_code, head.headers["content-type"], head.content) == \
        (404, "text/html; charset=utf-8", b"")
    assert head.headers["content-length"] == str(len(got.content))


@pytest.mark.parametrize("ref", ["commission-sessions%23", "victims-review%23"])
def test_an_id_ending_in_a_bare_hash_is_a_404_page(site: Site, ref: str) -> None:
    """`entry#` names no occurrence (`model.parse_occurrence_id` refuses it): it showed the
    whole entry under the address `entry#`, for a series and a single entry alike."""
    r = site.get(f"/obligations/{ref}")
    assert (r.status_code, r.headers["content-type"]) == (404, "text/html; charset=utf-8")
    ref = ref.replace("%23", "#")
    assert f"no entry or occurrence &#39;{ref}&#39; in the register: " in r.text


def test_reminder_links_open_the_entry_page(site: Site, sample: Register) -> None:
    """The link a reminder carries ({public URL}/obligations/<id>) opens that entry's page."""
    sub = Subscription(name="t", url="http://127.0.0.1:9/hook", format=Format.JSON,
                       created_at=BEGINNING)
    found = service.plan(sample, [sub], datetime(2002, 11, 1, tzinfo=UTC),
                         datetime(2002, 12, 2, tzinfo=UTC))
    body = json.loads(delivery.render(Format.JSON, found[:1], sample, site.url))
    url = body["data"]["reminders"][0]["url"]
    assert url == f"{site.url}/obligations/victims-review"
    r = httpx.get(url)
    assert r.status_code == 200
    assert "<h1 id=\"title\">Review practices relating to victims of crime</h1>" in r.text


def test_pages_send_a_content_security_policy(site: Site) -> None:
    """Pages load only their own script and stylesheet (no inline code, nothing remote)."""
    r = site.get("/")
    assert r.headers["content-security-policy"].startswith("default-src 'none'; "
                                                           "script-src 'self'; style-src 'self'")
    assert site.get("/static/app.js").status_code == 200
    assert site.get("/static/style.css").status_code == 200


@pytest.mark.parametrize("name", ["style.css", "app.js", "favicon.svg"])
def test_the_pages_own_files_say_how_long_to_keep_them(site: Site, name: str) -> None:
    """The script, stylesheet and icon carry `public, max-age=300`, on the 304 too: with no
    Cache-Control a browser kept them as long as it guessed from their age, past an upgrade
    that changed the pages with them."""
    r = site.get(f"/static/{name}", headers=IDENTITY)
    assert (r.status_code, r.content) == (200, (server.HERE / "static" / name).read_bytes())
    assert r.headers["cache-control"] == "public, max-age=300"
    again = site.get(f"/static/{name}", headers={**IDENTITY, "If-None-Match": r.headers["etag"]})
    assert (again.status_code, again.headers["cache-control"]) == (304, "public, max-age=300")


def test_pages_escape_the_register(tmp_path: Path) -> None:
    """Markup in the register's text reaches pages and the timeline as text, escaped."""
    text = SAMPLE.read_text().replace(
        "title: Sample register", "title: '<script>alert(1)</script> & co'").replace(
        "title: Review practices relating to victims of crime",
        "title: '<img src=x onerror=alert(2)> \"quoted\"'")
    register = tmp_path / "register.yaml"
    register.write_text(text)
    app = server.make_app(register=register, feeds=tmp_path / "feeds",
                          db=f"sqlite:///{tmp_path / 'db'}", clock=FixedClock(NOW))
    with server.BackgroundServer(app) as running:
        pages = [httpx.get(f"{running.url}{p}").text
                 for p in ("/", "/obligations/victims-review", "/obligations/nope")]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "&lt;img src=x onerror=alert(2)&gt; &#34;quoted&#34;" in pages[0]
    assert "<h1 id=\"title\">&lt;img src=x onerror=alert(2)&gt; &#34;quoted&#34;</h1>" in \
        pages[1]
    assert "No feeds are published yet" in pages[0]


# --- the register changes under a running server --------------------------------------------

@pytest.fixture
def editable(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A copy of the sample, served without a public URL and without published feeds (an
    empty feeds folder, as `serve` needs one to start)."""
    register = tmp_path / "register.yaml"
    register.write_bytes(SAMPLE.read_bytes())
    (tmp_path / "feeds").mkdir()
    app = server.make_app(register=register, feeds=tmp_path / "feeds",
                          db=f"sqlite:///{tmp_path / 'db'}", clock=FixedClock(NOW))
    with server.BackgroundServer(app) as running:
        yield register, running.url


def _write(path: Path, text: str) -> None:
    """Write and move the mtime on by a second, whatever the file system's clock tick."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_an_edit_of_the_register_is_picked_up(editable: tuple[Path, str]) -> None:
    """After the file changes, the API, the pages and /healthz answer from the new text."""
    register, url = editable
    old = httpx.get(f"{url}/api/obligations?area=victims").json()
    assert [o["title"] for o in old] == ["Review practices relating to victims of crime",
                                         "Regularly review crime prevention practices"]
    _write(register, register.read_text().replace(
        "title: Review practices relating to victims of crime",
        "title: Review the practices relating to victims"))
    new = httpx.get(f"{url}/api/obligations?area=victims").json()
    assert [o["title"] for o in new] == ["Review the practices relating to victims",
                                         "Regularly review crime prevention practices"]
    assert "Review the practices relating to victims" in \
        httpx.get(f"{url}/obligations/victims-review").text
    health = httpx.get(f"{url}/healthz").json()
    assert health["revision"] == health["serving"] == \
        hashlib.sha256(register.read_bytes()).hexdigest()[:12]
    assert (health["published"], health["feeds"]) == (None, None)


def test_an_invalid_edit_keeps_the_last_good_register(editable: tuple[Path, str],
                                                      cli: CLI) -> None:
    """A edit with problems leaves the last good register in service for the API and pages;
    /healthz answers 503 with the problems as `validate` prints them, until the file is
    fixed."""
    register, url = editable
    good = register.read_text()
    good_revision = hashlib.sha256(good.encode()).hexdigest()[:12]
    before = httpx.get(f"{url}/api/obligations").text
    broken = good.replace("    kind: target\n    date: 2002\n",
                          "    kind: target\n    date: 2002-13\n")
    _write(register, broken)
    health = httpx.get(f"{url}/healthz")
    validate = cli("validate", register=register)
    assert validate.exit_code == 1
    assert (health.status_code, health.json()) == (503, {
        "ok": False, "revision": hashlib.sha256(broken.encode()).hexdigest()[:12],
        "serving": good_revision, "entries": 10, "error": "1 problem in the register",
        "problems": validate.stderr.splitlines()[:-1], "published": None, "feeds": None})
    assert httpx.get(f"{url}/api/obligations").text == before
    page = httpx.get(f"{url}/")
    assert page.status_code == 200
    assert (f"this page shows\n  the last version that validated (revision {good_revision})"
            in page.text)
    _write(register, good)
    assert httpx.get(f"{url}/healthz").json()["ok"] is True


def test_a_register_never_valid_is_a_503_everywhere(tmp_path: Path) -> None:
    """With no good version of the register to fall back on, pages, the API and /healthz
    answer 503 with the reason (the feeds folder is still served as it is)."""
    register = tmp_path / "register.yaml"
    register.write_text("entries: [\n")
    app = server.make_app(register=register, feeds=tmp_path, db=f"sqlite:///{tmp_path / 'db'}",
                          clock=FixedClock(NOW))
    with server.BackgroundServer(app) as running:
        page = httpx.get(f"{running.url}/")
        api = httpx.get(f"{running.url}/api/obligations")
        feed = httpx.get(f"{running.url}/feeds/all.ics?area=victims")
        health = httpx.get(f"{running.url}/healthz")
    assert (page.status_code, page.headers["content-type"]) == (503, "text/html; charset=utf-8")
    assert "<p class=\"message\">1 problem in the register</p>" in page.text
    assert (api.status_code, api.json()) == (503, {"error": "1 problem in the register"})
    assert (feed.status_code, feed.text) == (503, "1 problem in the register\n")
    assert health.status_code == 503
    assert health.json()["ok"] is False
    assert (health.json()["serving"], health.json()["entries"]) == (None, None)
    assert health.json()["problems"][0].startswith(f"{register}:2:1: YAML syntax: ")


def test_without_a_public_url_links_use_the_address_asked(editable: tuple[Path, str],
                                                          tmp_path: Path) -> None:
    """With no public URL set, subscribe links use the host and port the page was asked at."""
    register, url = editable
    engine = store.open_store(f"sqlite:///{tmp_path / 'db'}")
    service.publish_feeds(engine, load_register(register), tmp_path / "feeds", FixedClock(NOW))
    engine.dispose()
    html = httpx.get(f"{url}/").text
    assert f'href="webcal://{url.split("://")[1]}/feeds/all.ics"' in html
    assert f'value="{url}/feeds/all.ics"' in html


def test_under_a_public_url_with_a_path_every_link_of_the_pages_keeps_it(site: Site) -> None:
    """README: the public URL has "a path when the server sits under one", and a proxy that
    serves it there sends the server the paths without it. The pages linked their style,
    script, entries, lists' JSON, home and form at the root ("/static/style.css",
    "/obligations/…"), all outside the server behind such a proxy: each now starts with the
    public URL's path, as does the address the form's empty fields redirect to."""
    app = server.make_app(register=SAMPLE, feeds=site.folder,
                          db=f"sqlite:///{site.folder.parent / 'store.db'}",
                          clock=FixedClock(NOW), public_url=f"{PUBLIC}/calendar/", listed=2)
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=10) as client:
        pages = {path: client.get(path) for path in (
            "/", "/?area=governance", "/obligations/commission-sessions%2310", "/nope")}
        redirect = client.get("/?area=&kind=deadline")
    assert [r.status_code for r in pages.values()] == [200, 200, 200, 404]
    for path, r in pages.items():
        local = re.findall(r'(?:href|src|action)="(/[^"]*)"', r.text)
        assert local, path
        assert [link for link in local if not link.startswith("/calendar/")] == [], path
    home = pages["/"].text
    assert 'href="/calendar/static/style.css"' in home
    assert 'href="/calendar/obligations/commission-sessions%2310"' in home
    assert 'href="/calendar/api/obligations?overdue=1"' in home
    assert 'action="/calendar/"' in home
    assert (redirect.status_code, redirect.headers["location"]) == (303,
                                                                    "/calendar/?kind=deadline")


@pytest.mark.parametrize(("asked", "there"), [
    ("/feeds/all.ics/", "/feeds/all.ics"),
    ("/feeds/all.ics/?area=victims", "/feeds/all.ics?area=victims"),
    ("/api/obligations/?area=governance&kind=report",
     "/api/obligations?area=governance&kind=report"),
    ("/obligations/commission-sessions%2310/", "/obligations/commission-sessions%2310"),
    ("/healthz//", "/healthz"),
])
def test_a_trailing_slash_redirect_stays_under_the_public_url(site: Site, asked: str,
                                                              there: str) -> None:
    """A path that a route takes once a trailing slash is dropped is redirected there. Behind
    a proxy serving the server at https://calendar.example.org/calendar, Starlette's redirect
    sent /feeds/all.ics/ to https://calendar.example.org/feeds/all.ics, outside the server:
    the Location is now under the public URL, with the query kept, and what the proxy sends
    on for it is the page or feed itself."""
    app = server.make_app(register=SAMPLE, feeds=site.folder,
                          db=f"sqlite:///{site.folder.parent / 'store.db'}",
                          clock=FixedClock(NOW), public_url=f"{PUBLIC}/calendar")
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=10, headers=IDENTITY) as client:
        r = client.get(asked)
        assert (r.status_code, r.headers["location"]) == (307, f"{PUBLIC}/calendar{there}")
        followed = client.get(r.headers["location"].removeprefix(f"{PUBLIC}/calendar"))
        direct = client.get(there)
    assert (followed.status_code, followed.content) == (200, direct.content)


def test_without_a_public_url_a_trailing_slash_redirect_keeps_the_address_asked(
        editable: tuple[Path, str]) -> None:
    """With no public URL, the redirect goes to the host and port the request was sent to."""
    _, url = editable
    r = httpx.get(f"{url}/healthz/?x=1")
    assert (r.status_code, r.headers["location"]) == (307, f"{url}/healthz?x=1")


@pytest.mark.parametrize("asked", ["/static", "/static/", "/feeds", "/feeds/"])
def test_a_folder_is_not_found_without_a_redirect(editable: tuple[Path, str], asked: str) -> None:
    """`/static` was a 307 to `/static/`, which is a 404: a folder lists nothing, so either
    is a 404 at once."""
    _, url = editable
    r = httpx.get(f"{url}{asked}")
    assert (r.status_code, r.headers.get("location")) == (404, None)


def test_an_edit_since_the_last_publish_gets_the_next_sequence(tmp_path: Path) -> None:
    """An entry edited after the last publish is served in a selected feed with the SEQUENCE
    the next publish gives it, dated by the register file's change, and stays stable from
    request to request."""
    register = tmp_path / "register.yaml"
    register.write_bytes(SAMPLE.read_bytes())
    engine = store.open_store(f"sqlite:///{tmp_path / 'db'}")
    service.publish_feeds(engine, load_register(register), tmp_path / "feeds", FixedClock(NOW))
    _write(register, register.read_text().replace(
        "title: Review practices relating to victims of crime",
        "title: Review the practices relating to victims"))
    changed = datetime.fromtimestamp(register.stat().st_mtime_ns // 10**9, UTC)
    app = server.make_app(register=register, feeds=tmp_path / "feeds", db=engine,
                          clock=FixedClock(NOW))
    with server.BackgroundServer(app) as running:
        first = httpx.get(f"{running.url}/feeds/all.ics?area=victims", headers=IDENTITY)
        second = httpx.get(f"{running.url}/feeds/all.ics?area=victims", headers=IDENTITY)
    assert first.content == second.content
    [event] = vobject_events(first.content)
    assert event["sequence"] == 1
    assert f"\r\nLAST-MODIFIED:{changed:%Y%m%dT%H%M%SZ}\r\n".encode() in first.content
    service.publish_feeds(engine, load_register(register), tmp_path / "feeds",
                          FixedClock(NOW + timedelta(days=1)))
    [published] = vobject_events((tmp_path / "feeds" / "area-victims.ics").read_bytes())
    assert published["sequence"] == 1
    engine.dispose()


@pytest.mark.parametrize("held", [server.HELD_MOST, 0], ids=["held", "stored"])
def test_a_selection_is_built_once_until_what_its_bytes_depend_on_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: int) -> None:
    """A calendar asking again for its selection gets the bytes built the first time, with no
    new build, until the store's revisions are written (another process published), the day
    changes or the register is edited; then it gets what a server that kept nothing answers.
    The same whether the selection is held in memory or kept on disk."""
    register = tmp_path / "register.yaml"
    register.write_bytes(SAMPLE.read_bytes())
    engine = store.open_store(f"sqlite:///{tmp_path / 'db'}")
    service.publish_feeds(engine, load_register(register), tmp_path / "feeds", FixedClock(NOW))
    builds: list[int] = []
    build = service.selection

    def counted(*args: Any, **kw: Any) -> Any:
        builds.append(1)
        return build(*args, **kw)

    monkeypatch.setattr(service, "selection", counted)
    clock = FixedClock(NOW)
    asked = "/feeds/all.ics?area=governance"

    def fresh() -> bytes:
        app = server.make_app(register=register, feeds=tmp_path / "feeds", db=engine,
                              clock=FixedClock(clock.now()))
        with server.BackgroundServer(app) as other:
            return httpx.get(f"{other.url}{asked}", headers=IDENTITY).content

    app = server.make_app(register=register, feeds=tmp_path / "feeds", db=engine, clock=clock,
                          held=held)
    with server.BackgroundServer(app) as running:
        def get() -> tuple[bytes, str, int]:
            before = len(builds)
            r = httpx.get(f"{running.url}{asked}", headers=IDENTITY)
            assert r.status_code == 200
            return r.content, r.headers["etag"], len(builds) - before

        first = get()
        assert (first[1:], get()) == ((_etag(first[0]), 1), (first[0], first[1], 0))
        # Another process publishes: one entry's revision moves on.
        old = store.load_revisions(engine)
        moved = dataclasses.replace(old["commission-sessions"],
                                    sequence=old["commission-sessions"].sequence + 1)
        store.save_revisions(engine, old, {**old, "commission-sessions": moved})
        written = get()
        assert (written[2], written[0] == fresh(), written[0] == first[0]) == (1, True, False)
        assert get()[2] == 0
        clock.advance_to(NOW + timedelta(days=1))
        tomorrow = get()
        assert (tomorrow[2], tomorrow[0] == fresh(), get()[2]) == (1, True, 0)
        _write(register, register.read_text().replace(
            "title: Commission on Crime Prevention and Criminal Justice, annual session",
            "title: Commission sessions"))
        edited = get()
        assert (edited[2], edited[0] == fresh(), b"SUMMARY:Commission sessions" in edited[0]) \
            == (1, True, True)
    engine.dispose()


def test_no_room_for_a_stored_feed_is_a_503_with_the_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed too large to hold whose gzip, or a selection whose bytes, cannot be written to
    the temporary folder (full, gone) is a 503 that says so, not a 500; once there is room,
    both are served."""
    folder = tmp_path / "feeds"
    engine = store.open_store(f"sqlite:///{tmp_path / 'db'}")
    service.publish_feeds(engine, load_register(SAMPLE), folder, FixedClock(NOW))
    app = server.make_app(register=SAMPLE, feeds=folder, db=engine, clock=FixedClock(NOW),
                          held=0)
    gone = tmp_path / "gone"
    monkeypatch.setattr(tempfile, "tempdir", str(gone))
    with server.BackgroundServer(app) as running, \
            httpx.Client(base_url=running.url, timeout=10) as client:
        feed = client.get("/feeds/all.ics", headers=IDENTITY)
        chosen = client.get("/feeds/all.ics?area=victims", headers=IDENTITY)
        reason = re.compile(r"cannot prepare the (.*): No such file or directory \((.*)/"
                            r"calendar-tool-feed-\w+(\.gz|\.ics)\)\n")
        said = [(r.status_code, m and m.groups())
                for r in (feed, chosen) for m in [reason.fullmatch(r.text)]]
        assert said == [(503, ("feed all.ics", str(gone), ".gz")),
                        (503, ("feed of this selection", str(gone), ".ics"))]
        gone.mkdir()
        assert client.get("/feeds/all.ics", headers=IDENTITY).content == \
            (folder / "all.ics").read_bytes()
        assert client.get("/feeds/all.ics?area=victims").status_code == 200
    engine.dispose()


def test_selections_keep_the_last_asked_within_their_count_and_bytes() -> None:
    """The selections kept are the most recently asked: at most `MOST` of them and
    `MOST_BYTES` with their gzip, but always the last, however large; one asked again moves
    to the end, and one put again under its key counts once."""
    kept = server.Selections()
    reps = {n: server.Representations(b"BEGIN:VCALENDAR %d " % n * 40) for n in range(20)}
    for n in range(kept.MOST):
        kept.put(n, reps[n])
    assert kept.get(0) is reps[0]  # now the most recently asked
    for n in range(kept.MOST, 18):
        kept.put(n, reps[n])
    assert [n for n in range(20) if kept.get(n) is not None] == [0, *range(3, 18)]
    kept.MOST_BYTES = reps[18].bytes + reps[19].bytes
    kept.put(18, reps[18])
    kept.put(19, reps[19])
    kept.put(19, reps[19])
    assert [n for n in range(20) if kept.get(n) is not None] == [18, 19]
    kept.MOST_BYTES = 1
    kept.put(1, reps[1])
    assert [n for n in range(20) if kept.get(n) is not None] == [1]


# --- running it ------------------------------------------------------------------------------

def test_background_server_binds_a_free_port_and_stops(tmp_path: Path) -> None:
    """Port 0 gets a free port the server answers on; after stop nothing listens there."""
    app = server.make_app(register=SAMPLE, feeds=tmp_path, db=f"sqlite:///{tmp_path / 'db'}",
                          clock=FixedClock(NOW))
    running = server.BackgroundServer(app)
    port = running.start()
    assert port > 0 and running.url == f"http://127.0.0.1:{port}"
    assert httpx.get(f"{running.url}/healthz").json()["ok"] is True
    running.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{running.url}/healthz")


def test_listening_socket_is_tcp_so_asyncio_turns_nagle_off() -> None:
    """The socket `listen` makes says IPPROTO_TCP: asyncio sets TCP_NODELAY only on such
    connections, and without it a response written as headers, then body, waits for the
    client's delayed ACK (about 40 ms a request; bench/serve.py found it)."""
    with server.listen("127.0.0.1", 0) as sock:
        assert (sock.family, sock.type, sock.proto) == \
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)


def test_serve_refuses_an_invalid_register_before_listening(cli: CLI) -> None:
    """`serve` with a register that has problems exits 1 with them, as validate does."""
    broken = ROOT / "tests" / "fixtures" / "broken.yaml"
    result = cli("serve", "--port", "0", register=broken)
    assert result.exit_code == 1
    assert result.stderr == cli("validate", register=broken).stderr


def test_serve_refuses_a_port_in_use(cli: CLI) -> None:
    """`serve` on a port something else holds exits 2 with the address and the reason."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port))
    assert result.exit_code == 2
    assert result.stderr == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def _serve_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
    if "CALENDAR_TOOL_PUBLIC_URL" not in extra:
        env.pop("CALENDAR_TOOL_PUBLIC_URL", None)
    return env


def _serve(tmp_path: Path, register: Path, env: dict[str, str] | None = None,
           latch: Path | None = None) -> subprocess.Popen[str]:
    """`calendar-tool serve --port 0` on `register`, a database and feeds folder in
    `tmp_path`, its stdout and stderr piped (`env`: as `_serve_env` takes it; `latch`: a
    `reading_latch` that holds it in its first read)."""
    return subprocess.Popen(
        [*command(latch), "--register", str(register), "--db",
         f"sqlite:///{tmp_path / 'db'}", "serve", "--port", "0", "--feeds", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_serve_env(**(env or {})),
        cwd=tmp_path)


def _until_listening(proc: subprocess.Popen[str]) -> tuple[list[dict[str, Any]], str]:
    """The JSON lines `serve` logged up to and with `server.listening`, and its address."""
    assert proc.stderr is not None
    lines: list[dict[str, Any]] = []
    while not lines or lines[-1]["event"] != "server.listening":
        raw = proc.stderr.readline()
        assert raw, f"serve ended before listening: {lines}"
        lines.append(json.loads(raw))
    return lines, lines[-1]["url"]


def _stop(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    """Ctrl-C, then the rest of the log, each line a JSON object."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out == ""
    return [json.loads(line) for line in err.splitlines()]


def test_serve_command_serves_until_interrupted(tmp_path: Path) -> None:
    """`calendar-tool serve --port 0` logs one JSON object per line on stderr, as `run` does:
    where it listens, each request answered (`http.request`, with its method, path and
    status) and uvicorn's own messages; on Ctrl-C (SIGINT) it shuts down, logs
    `server.stopped` and exits 0."""
    proc = _serve(tmp_path, SAMPLE)
    try:
        before, url = _until_listening(proc)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url), url
        assert before[-1]["feeds"] == str(tmp_path)
        assert before[-1]["register"] == str(SAMPLE)
        assert httpx.get(f"{url}healthz").json()["entries"] == 10
    finally:
        after = _stop(proc)
    assert [e["event"] for e in before] == ["server.listening"]  # no subscription: no warning
    [request] = [e for e in after if e["event"] == "http.request"]
    assert {k: request[k] for k in ("level", "method", "path", "status")} == \
        {"level": "info", "method": "GET", "path": "/healthz", "status": 200}
    assert request["client"].startswith("127.0.0.1:")
    assert [e["event"] for e in after][-2:] == ["server.log", "server.stopped"]
    assert after[-2]["message"] == f"Finished server process [{proc.pid}]"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_serve_starts_ends_it_before_it_listens(tmp_path: Path,
                                                               sig: signal.Signals) -> None:
    """SIGTERM or SIGINT while `serve` is still reading the register (held there by a named
    pipe it reads before its entry cache, `reading_latch`, as in test_run): it finishes the
    read, does not listen, logs `server.stopped` and exits 0, rather than being ended by the
    signal (exit 143) or by click ("Aborted!", exit 1), as before."""
    register = tmp_path / "obligations.yaml"
    register.write_bytes(SAMPLE.read_bytes())
    latch = reading_latch(tmp_path)
    proc = _serve(tmp_path, register, latch=latch)
    try:
        writer = writer_of(latch)
        proc.send_signal(sig)
        os.close(writer)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out) == (0, ""), err
    assert [(e["event"], e.get("signal"), e.get("started"))
            for e in map(json.loads, err.splitlines())] == \
        [("server.stopping", sig.name, None), ("server.stopped", None, False)]


@pytest.mark.parametrize(("public_url", "warned"), [
    (None, True), ("http://localhost:8000", True), ("http://[::1]:8000", True),
    ("https://calendar.example.org", False),
])
def test_serve_warns_once_when_reminder_links_point_at_this_machine(
        tmp_path: Path, cli: CLI, public_url: str | None, warned: bool) -> None:
    """With a subscription in the database, `serve` logs one warning at start when the
    links reminders carry (CALENDAR_TOOL_PUBLIC_URL, or http://127.0.0.1:8000 without it)
    point at a loopback address, which nobody who gets them can open; none with a public
    address."""
    engine = store.open_store(f"sqlite:///{tmp_path / 'db'}")
    store.add_subscriptions(engine, [Subscription(
        name="team", url="http://127.0.0.1:9/hook", format=Format.JSON, created_at=NOW)])
    engine.dispose()
    extra = {"CALENDAR_TOOL_PUBLIC_URL": public_url} if public_url else {}
    proc = _serve(tmp_path, SAMPLE, extra)
    try:
        before, url = _until_listening(proc)
        assert httpx.get(f"{url}healthz").status_code == 200  # serving: Ctrl-C stops it
    finally:
        after = _stop(proc)
    warnings = [e for e in before + after if e["event"] == "links.loopback"]
    if not warned:
        assert warnings == []
        return
    assert warnings == [{
        "ts": warnings[0]["ts"], "level": "warning", "event": "links.loopback",
        "link_base": public_url or "http://127.0.0.1:8000", "subscriptions": 1,
        "fix": "set CALENDAR_TOOL_PUBLIC_URL to the address people reach `serve` at"}]
