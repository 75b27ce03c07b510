"""`calendar-tool serve`: the published feeds over HTTP as calendar clients fetch them, a feed
filtered by query parameters, the JSON of `list`, a health check, and pages people read.

The only module that imports Starlette, uvicorn and Jinja2.

    /feeds/<name>.ics, /feeds/index.json   the files `publish` wrote, nothing else
    /feeds/all.ics?area=…&kind=…           a feed built on request, as `publish` builds one, and
                                           kept (`Selections`)
    /api/obligations?due=…&area=…          what `list --format json` prints for the same filters
    /healthz                               the register's revision, when feeds were published
    /?area=…&actor=…&kind=…                what is due for that selection, a subscribe action
                                           for it, every published feed, a timeline;
                                           /obligations/<id>: one entry in full

Feeds. Each response carries a strong ETag (a digest of the bytes), Last-Modified (the file's),
`Vary: Accept-Encoding`, and answers `If-None-Match` / `If-Modified-Since` with 304 through
Starlette's own `StaticFiles.is_not_modified` and `NotModifiedResponse` (an If-Modified-Since
later than the clock's now, or no valid date, ignored, as RFC 9110 13.1.3 asks: `DatedFiles`);
the file is found through `StaticFiles.lookup_path`, which refuses anything that resolves
outside the folder (`..`, absolute paths, symlinks pointing out). Only the names `publish`
writes are served, so a temporary file of a publish in progress, or anything else put in the
folder, is not.

Compression is done here rather than by `GZipMiddleware`, which would send the gzipped bytes
under the identity representation's strong ETag (RFC 9110 8.8.3: two representations may not
share a strong validator), answer HEAD with the identity headers while GET is compressed, and
recompress every response. Each file is read once per version (keyed by inode, mtime and size
from `fstat` of the open file, so headers and body always come from the same version even when
`publish` replaces the file meanwhile) and compressed once; the gzipped representation has its
own strong ETag (`"<digest>-gzip"`: deterministic bytes, `mtime=0`). A file up to `HELD_MOST`
bytes is held in memory so; a larger one (a register of 100,000 entries publishes 950 MB of
feeds) is sent from the version opened and from its gzip in an unnamed temporary file, a piece at
a time (`Stored`). Pages and JSON, which carry no validator, go through `GZipMiddleware`.

The register is re-read when its file changes; an edit that does not validate leaves the last
good register in service, and `/healthz` answers 503 until the file is fixed.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import logging
import os
import signal
import socket
import stat
import tempfile
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Receive, Scope, Send

from calendar_tool import heap, listing, logs, service, wording
from calendar_tool.clock import Clock, iso_utc, today
from calendar_tool.errors import CalendarToolError, UsageError
from calendar_tool.feeds import (
    FEED_FILE,
    INDEX_NAME,
    Hashes,
    PublishedIndex,
    feed_specs,
    read_index,
)
from calendar_tool.files import Version, version
from calendar_tool.model import CALENDAR, Kind, Register, Term, in_calendar
from calendar_tool.register import RegisterFile, RegisterState
from calendar_tool.timeline import (
    DEFAULT_HORIZON_YEARS,
    Query,
    find,
    matches,
    parse_span,
    unfound,
)
from calendar_tool.timeline import list_query as timeline_query
from calendar_tool.web import pages

__all__ = ["BackgroundServer", "http_url", "listen", "make_app", "run"]

HERE = Path(__file__).resolve().parent
CALENDAR_TYPE = "text/calendar"  # Starlette adds "; charset=utf-8" to text/ types
# Feeds change when someone publishes, at most a few times a day: caches may keep a copy five
# minutes, then ask again with If-None-Match and get a 304 when nothing changed.
FEED_CACHE = "public, max-age=300"
# Pages and the API reflect the register as it is now.
LIVE_CACHE = "no-cache"
# The pages' script, stylesheet and icon change only with the tool. Without a Cache-Control a
# browser guesses how long to keep them from their Last-Modified (a tenth of their age, RFC
# 9111 4.2.2: five weeks for files installed a year ago), so after an upgrade the new pages
# ran with the old script and style for weeks. Their names carry no version, so no long
# lifetime either: five minutes, as the feeds', spares the requests of a person going from
# page to page, then each is a 304 while it is unchanged.
STATIC_CACHE = "public, max-age=300"
# Pages load their one script and stylesheet from /static: nothing inline, nothing remote.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# What the page lists as coming: the next 90 days first, then the rest of what
# `list --upcoming 1y` lists.
SOON = "90d"
UPCOMING = "1y"

# The most each of the page's lists shows, and the most occurrences its timeline draws: past
# them a list shows its first ones and says how many there are, with the address of them all
# as JSON, and the timeline asks for a narrower selection. The real register's page (some 170
# dated occurrences) shows everything; one of 100,000 entries would be 126 MB of HTML.
LISTED = 200
DRAWN = 2000

_FILTERS = ("area", "actor", "kind", "status")
# The page's own filters, kept in its address (`/?area=…&actor=…&kind=…`).
_PAGE_FILTERS = ("area", "actor", "kind")
_LIST_PARAMS = ("due", "from", "until", "upcoming", "overdue", *_FILTERS, "today")


# --- feeds -----------------------------------------------------------------------------------

def gzip_etag(etag: str) -> str:
    """The strong ETag of the gzip of the bytes whose ETag is `etag`."""
    return etag[:-1] + '-gzip"'


@dataclass(frozen=True)
class Representations:
    """A feed's bytes as sent, identity or gzip, each with its own strong ETag: the gzipped
    bytes are deterministic (level 6, no timestamp), so `"<digest>-gzip"` names them alone."""

    body: bytes
    last_modified: str | None = None

    @functools.cached_property
    def etag(self) -> str:
        return f'"{hashlib.sha256(self.body).hexdigest()[:32]}"'

    @property
    def gzip_etag(self) -> str:
        return gzip_etag(self.etag)

    @functools.cached_property
    def gzipped(self) -> bytes:
        return gzip.compress(self.body, compresslevel=6, mtime=0)

    @property
    def bytes(self) -> int:
        """What the two representations take."""
        return len(self.body) + len(self.gzipped)

    def response(self, zipped: bool, headers: Mapping[str, str], media_type: str) -> Response:
        return Response(self.gzipped if zipped else self.body, media_type=media_type,
                        headers=headers)


# A feed file larger than this is not held in memory: a register of 100,000 entries publishes
# an all.ics of 320 MB, and its eleven feeds are 950 MB. The real register's all.ics is 0.3 MB.
HELD_MOST = 4 << 20
_PIECE = 1 << 20  # what is read and sent at a time of a feed kept on disk


class Stored:
    """A feed too large to hold, as `Representations` but kept on disk: the version of the
    file that was read (`fd`, its open file: what is sent is that version, whole, even when
    `publish` replaces the file meanwhile) and its gzip, the same bytes as
    `Representations.gzipped`, in an unnamed temporary file. Digested and compressed a piece at
    a time, once per version; sent a piece at a time.

    Its files are open while anything holds it: the folder's cache until the feed is replaced,
    and each response still sending it; the last to let go closes them. Raw descriptors, not
    file objects: when a cycle that holds it is collected, a file object could be finalised
    (and warn that it was left open) before this object closes it."""

    def __init__(self, fd: int, path: str, size: int, last_modified: str) -> None:
        self.fd, self.path, self.size, self.last_modified = fd, path, size, last_modified
        self.zipped_fd = -1
        self.etag, self.zipped_fd, self.zipped_size = _digest_and_gzip(fd, path, size)

    def __del__(self) -> None:
        for fd in (self.fd, self.zipped_fd):
            if fd >= 0:
                os.close(fd)

    @property
    def gzip_etag(self) -> str:
        return gzip_etag(self.etag)

    @property
    def bytes(self) -> int:
        """What the two representations take (on disk)."""
        return self.size + self.zipped_size

    def response(self, zipped: bool, headers: Mapping[str, str], media_type: str) -> Response:
        fd, size = (self.zipped_fd, self.zipped_size) if zipped else (self.fd, self.size)
        return _Streamed(_pieces(self, fd, size), media_type=media_type,
                         headers={**headers, "content-length": str(size)})


def _digest_and_gzip(fd: int, path: str, size: int) -> tuple[str, int, int]:
    """The ETag of the file open at `fd`, and its gzip in an unnamed temporary file: that
    file's descriptor and size."""
    digest = hashlib.sha256()
    squeeze = zlib.compressobj(6, zlib.DEFLATED, 31)  # what `gzip.compress` does at mtime 0
    out = _unnamed(".gz")
    try:
        with os.fdopen(os.dup(out), "wb") as w:
            at = 0
            while at < size:
                piece = os.pread(fd, min(_PIECE, size - at), at)
                if not piece:
                    raise OSError(f"{path} ended at {at} of {size} bytes")
                digest.update(piece)
                w.write(squeeze.compress(piece))
                at += len(piece)
            w.write(squeeze.flush())
            zipped_size = w.tell()
    except BaseException:
        os.close(out)
        raise
    return f'"{digest.hexdigest()[:32]}"', out, zipped_size


def _unnamed(suffix: str) -> int:
    """An unnamed temporary file in the system's temporary folder: its space is freed when
    it is closed."""
    fd, name = tempfile.mkstemp(prefix="calendar-tool-feed-", suffix=suffix)
    os.unlink(name)
    return fd


def held_or_stored(written: IO[bytes], last_modified: str, held_most: int
                   ) -> Representations | Stored:
    """The representations of the bytes `written` holds (a `SpooledTemporaryFile` that
    rolls over past `held_most`): read into memory when they are at most `held_most`, else
    `Stored` from the file they went to. Digested and compressed now."""
    size = written.tell()
    if size > held_most:
        written.flush()  # read back by descriptor, under its buffer
        return Stored(os.dup(written.fileno()), "a selected feed", size, last_modified)
    written.seek(0)
    reps = Representations(written.read(), last_modified)
    reps.etag, reps.gzipped  # noqa: B018
    return reps


class Selections:
    """The feeds of subscribers' selections built last, each by what its bytes depend on (the
    key `_App.selected` makes): a calendar asks for its selection again every few hours, and at
    100,000 entries one takes seconds to build. The most recently asked are kept, at most
    `MOST` of them and `MOST_BYTES` with their gzip (most on disk: one of most of a large
    register is hundreds of megabytes), but always the last."""

    MOST = 16
    MOST_BYTES = 1 << 30

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, Representations | Stored] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> Representations | Stored | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: Hashable, reps: Representations | Stored) -> Representations | Stored:
        with self._lock:
            old = self._kept.pop(key, None)
            self._bytes += reps.bytes - (old.bytes if old is not None else 0)
            self._kept[key] = reps
            while len(self._kept) > 1 and (len(self._kept) > self.MOST
                                           or self._bytes > self.MOST_BYTES):
                self._bytes -= self._kept.popitem(last=False)[1].bytes
        return reps


class _Streamed(StreamingResponse):
    """A response sent a piece at a time; to HEAD, its headers alone (its pieces are not
    made)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "HEAD":
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await super().__call__(scope, receive, send)


async def _pieces(owner: Stored, fd: int, size: int) -> AsyncIterator[bytes]:
    """The `size` bytes of the file `owner` holds open at `fd`, a piece at a time."""
    at = 0
    while at < size:
        piece = await run_in_threadpool(os.pread, fd, min(_PIECE, size - at), at)
        if not piece:  # the version digested is held open: only a truncation in place
            raise OSError(f"{owner.path} ended at {at} of {size} bytes")
        at += len(piece)
        yield piece


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding value allows gzip: named (or `*`) with a q-value above 0."""
    found: dict[str, float] = {}
    for part in header.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        found[coding.lower()] = q
    for coding in ("gzip", "x-gzip"):
        if coding in found:
            return found[coding] > 0
    return found.get("*", 0.0) > 0


class PageGZip(GZipMiddleware):
    """Starlette's `GZipMiddleware` for pages and JSON, deciding by `accepts_gzip`: its own
    test is whether "gzip" occurs anywhere in Accept-Encoding, so `gzip;q=0`, which refuses
    gzip (RFC 9110 12.5.3), got gzip all the same."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            asked = Headers(scope=scope).get("accept-encoding", "")
            said = b"gzip" if accepts_gzip(asked) else b"identity"
            kept = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]
            scope = {**scope, "headers": [*kept, (b"accept-encoding", said)]}
        await super().__call__(scope, receive, send)


def _to_ignore(since: str | None, now: datetime) -> bool:
    """Whether an If-Modified-Since value is to be ignored (RFC 9110 13.1.3): a date later
    than `now`, the server's time, or no valid date at all. Starlette's `parsedate` reads
    'Mon, 01 Jan 10000', a 32nd of January or a zone of +9999 as a date and compares it,
    which answered 304 for ever; only what becomes a datetime is a date here."""
    if since is None:
        return False
    try:
        asked = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return True
    return (asked if asked.tzinfo else asked.replace(tzinfo=UTC)) > now


class DatedFiles(StaticFiles):
    """StaticFiles whose conditional requests ignore an If-Modified-Since later than the
    server's time (`clock`), or not a valid date: RFC 9110 13.1.3 calls such a date invalid,
    and a client that sent one (a wrong clock, a date made up) would otherwise get 304s for
    ever, never the file."""

    def __init__(self, directory: Path, clock: Clock, check_dir: bool = True) -> None:
        super().__init__(directory=directory, check_dir=check_dir)
        self.clock = clock

    def is_not_modified(self, response_headers: Headers, request_headers: Headers) -> bool:
        if _to_ignore(request_headers.get("if-modified-since"), self.clock.now()):
            request_headers = Headers(raw=[(name, value) for name, value in request_headers.raw
                                           if name != b"if-modified-since"])
        return super().is_not_modified(response_headers, request_headers)


class Assets(DatedFiles):
    """The pages' own files (/static), each with `STATIC_CACHE`, the 304 included."""

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result,
                      scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = STATIC_CACHE
        return response


class FeedFolder(DatedFiles):
    """The feeds folder: Starlette's path guard and conditional-request checks (a future
    If-Modified-Since ignored: `DatedFiles`), with each file's two representations per
    version of the file, held in memory up to `held_most` bytes, else kept on disk
    (`Stored`)."""

    def __init__(self, directory: Path, clock: Clock, held_most: int = HELD_MOST) -> None:
        super().__init__(directory, clock, check_dir=False)
        self.held_most = held_most
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[Version, Representations | Stored]] = {}

    def cached(self, name: str) -> Representations | Stored | None:
        """The representations of `name` if the file is still the version read last, without
        reading it: a few `stat` calls, cheap enough for the event loop. None otherwise."""
        with self._lock:
            hit = self._cache.get(name)
        if hit is None:
            return None
        _, found = self.lookup_path(name)
        if found is None or version(found) != hit[0]:
            return None
        return hit[1]

    def representations(self, name: str) -> Representations | Stored | None:
        """The file `name` of the folder, or None when it is not there (or leads outside)."""
        full, found = self.lookup_path(name)
        if found is None or not stat.S_ISREG(found.st_mode):
            return None
        try:
            # Without waiting: a named pipe put in the file's place since it was looked at
            # would hold this thread until a writer came. It is refused below, once open.
            fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                return None
            os.set_blocking(fd, True)
            key = version(st)
            with self._lock:
                hit = self._cache.get(name)
            if hit is not None and hit[0] == key:
                return hit[1]
            # Digest and compress here, in the worker thread, not on the event loop.
            modified = formatdate(st.st_mtime, usegmt=True)
            reps: Representations | Stored
            if st.st_size > self.held_most:
                # The version read, open for as long as it is served.
                reps = Stored(os.dup(fd), full, st.st_size, modified)
            else:
                reps = Representations(f.read(), modified)
                reps.etag, reps.gzipped  # noqa: B018
        with self._lock:
            self._cache[name] = (key, reps)
        return reps

    def respond(self, request: Request, reps: Representations | Stored, media_type: str,
                cache_control: str = FEED_CACHE) -> Response:
        """200 with the representation the client accepts, or 304 when it holds it already."""
        zipped = accepts_gzip(request.headers.get("accept-encoding", ""))
        headers = {"etag": reps.gzip_etag if zipped else reps.etag, "vary": "Accept-Encoding",
                   "cache-control": cache_control, "x-content-type-options": "nosniff"}
        if reps.last_modified is not None:
            headers["last-modified"] = reps.last_modified
        if zipped:
            headers["content-encoding"] = "gzip"
        response = reps.response(zipped, headers, media_type)
        if self.is_not_modified(response.headers, Headers(scope=request.scope)):
            return NotModifiedResponse(response.headers)
        return response


# --- query parameters, as the options of `list` ----------------------------------------------

def _one(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise UsageError(f"{name} is given {len(values)} times; give it once")
    return values[0] if values else None


def _check_names(params: QueryParams, allowed: Sequence[str], what: str) -> None:
    for name in params:
        if name not in allowed:
            raise UsageError(f"unknown parameter {name!r} for {what}; use "
                             + ", ".join(allowed))


def _filters(params: QueryParams, register: Register, now: date) -> Query:
    """The area, actor, kind and status filters (each repeatable, any value matching)."""
    return timeline_query(register, now, areas=params.getlist("area"),
                          actors=params.getlist("actor"), kinds=params.getlist("kind"),
                          states=params.getlist("status"), prefix="")


def api_query(params: QueryParams, register: Register, now: date) -> tuple[Query, date]:
    """The Query and the day taken as today for parameters named as the options of `list`:
    due, from, until, upcoming, overdue, area, actor, kind, status, today."""
    _check_names(params, _LIST_PARAMS, "/api/obligations")
    day = _one(params, "today")
    if day is not None:
        try:
            now = date.fromisoformat(day)
        except ValueError:
            raise UsageError(f"today {day!r} is not a date such as 2005-06-30") from None
        if not in_calendar(now, now):
            raise UsageError(f"today {day!r} is outside {CALENDAR}")
    overdue = _one(params, "overdue")
    flags = {"": True, "1": True, "true": True, "yes": True, "0": False, "false": False,
             "no": False}
    if overdue is not None and overdue.lower() not in flags:
        raise UsageError(f"overdue {overdue!r}: write overdue=1 or leave it out")
    query = timeline_query(
        register, now, due=_one(params, "due"), from_=_one(params, "from"),
        until=_one(params, "until"), upcoming=_one(params, "upcoming"),
        overdue=overdue is not None and flags[overdue.lower()],
        areas=params.getlist("area"), actors=params.getlist("actor"),
        kinds=params.getlist("kind"), states=params.getlist("status"), prefix="")
    return query, now


# --- the application -------------------------------------------------------------------------

class _App:
    """The endpoints, over one register file, one feeds folder and one store."""

    def __init__(self, register: Path | RegisterFile, feeds: Path, db: str | service.Engine,
                 public_url: str | None, clock: Clock, most: tuple[int, int, int]) -> None:
        # Each read with the collector off, what it made frozen after (heap.py): a page then
        # makes its objects without passes over the register's.
        self.register = register if isinstance(register, RegisterFile) \
            else RegisterFile(register, reading=heap.kept)
        self.listed_most, self.drawn_most, held_most = most
        self.folder = FeedFolder(feeds, clock, held_most)
        self.feeds = feeds
        self._db = db
        self._engine: service.Engine | None = None if isinstance(db, str) else db
        # The content hashes of the filtered feeds' entries, kept from one request to the next.
        self._hashes = Hashes()
        self._selections = Selections()
        self._engine_lock = threading.Lock()
        self.public_url = public_url.rstrip("/") if public_url else None
        # The path the public URL puts the server under ("" at the root): a proxy serving it
        # at https://example.org/calendar sends the paths without it, so the pages' own links
        # ("/static/style.css", "/obligations/…") need it before them to reach the server.
        self.root = urlsplit(self.public_url).path if self.public_url else ""
        self.clock = clock
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                 autoescape=True, undefined=jinja2.StrictUndefined,
                                 trim_blocks=True, lstrip_blocks=True)
        self.templates = Jinja2Templates(env=env)

    # helpers

    def engine(self) -> service.Engine:
        with self._engine_lock:
            if self._engine is None:
                assert isinstance(self._db, str)
                self._engine = service.open_store(self._db)
            return self._engine

    def base_url(self, request: Request) -> str:
        return self.public_url or str(request.base_url).rstrip("/")

    def page(self, request: Request, name: str, context: dict[str, Any],
             status: int = 200) -> Response:
        state = self.register.current()
        # `selected`: the query of the selection a page shows, which its footer's link to the
        # JSON carries ("" on a page of no selection).
        context = {"state": state, "register": state.register, "root": self.root,
                   "selected": "", **context}
        response = self.templates.TemplateResponse(request, name, context,
                                                   status_code=status)
        response.headers["content-security-policy"] = CSP
        response.headers["cache-control"] = LIVE_CACHE
        response.headers["x-content-type-options"] = "nosniff"
        return response

    def good(self) -> tuple[RegisterState, Register]:
        """The register served (the last good one), or 503 when there has never been one."""
        state = self.register.current()
        if state.register is None:
            raise HTTPException(503, state.error or "the register cannot be read")
        return state, state.register

    def index(self) -> PublishedIndex | None:
        """What the last publish left in index.json (None: nothing usable), read once for a
        request: its feeds, when it was written, and how far they expand series (`publish
        --horizon`), which a selection's feed follows."""
        return read_index(self.feeds / INDEX_NAME)

    # endpoints

    async def feed(self, request: Request) -> Response:
        name = request.path_params["name"]
        if request.query_params:
            if name != "all.ics":
                return _text(400, "filters apply to /feeds/all.ics only, as "
                             "/feeds/all.ics?area=KEY&actor=KEY&kind=KIND&status=STATE")
            return await run_in_threadpool(self.selected, request)
        if name == INDEX_NAME:
            media = "application/json"
        elif _matches_feed(name):
            media = CALENDAR_TYPE
        else:
            raise HTTPException(404, f"no feed {name!r}")

        # A file unchanged since it was last read is answered from memory on the event loop;
        # reading and compressing a new version happen in a worker thread.
        try:
            reps = self.folder.cached(name) or \
                await run_in_threadpool(self.folder.representations, name)
        except OSError as exc:  # the file unreadable, or no room for its gzip: not the client's
            return _text(503, f"cannot prepare the feed {name}: {_reason(exc)}")
        if reps is None:
            if name == INDEX_NAME:
                raise HTTPException(404, "no feeds published yet: nothing has written "
                                         "index.json into the feeds folder")
            raise HTTPException(404, f"no feed {name!r}; /feeds/index.json lists the feeds")
        return self.folder.respond(request, reps, media)

    def selected(self, request: Request) -> Response:
        state, register = self.good()
        day = today(self.clock)
        try:
            _check_names(request.query_params, _FILTERS, "a feed")
            # Its series as far as the published feeds': its events are those of all.ics.
            query = dataclasses.replace(_filters(request.query_params, register, day),
                                        horizon_years=_horizon(self.index()))
        except UsageError as exc:
            return _text(400, str(exc))
        try:
            # What its bytes depend on: the register served and when its file changed (the
            # revisions' date), the store's revisions, the filters with the published feeds'
            # horizon, and today (from which that horizon counts).
            key = (state.served, state.changed_at,
                   service.revisions_written(self.engine()), query, day)
            reps = self._selections.get(key)
            if reps is None:
                reps = self._selections.put(key, self._selection(state, register, query, day))
        except CalendarToolError as exc:
            return _text(503, str(exc))
        except OSError as exc:  # no room for its bytes in the temporary folder
            return _text(503, f"cannot prepare the feed of this selection: {_reason(exc)}")
        return self.folder.respond(request, reps, CALENDAR_TYPE)

    def _selection(self, state: RegisterState, register: Register, query: Query, day: date
                   ) -> Representations | Stored:
        """The feed of the selection `query` on `day`, built as `publish` builds one."""
        assert state.changed_at is not None
        base = feed_specs(register)[0].info
        title, description = wording.feed_selection(register, query.areas, query.actors,
                                                    query.kinds, query.states)
        info = dataclasses.replace(base, title=title, description=description)
        # Dated by the register file's change time, so that the bytes (and the ETag) stay the
        # same from one request to the next. Written to a file past `held_most`: one of most
        # of a large register is hundreds of megabytes.
        most = self.folder.held_most  # (+ 1: a spooled file with a size of 0 never rolls over)
        with tempfile.SpooledTemporaryFile(most + 1, prefix="calendar-tool-feed-",
                                           suffix=".ics") as out:
            found = service.selection(self.engine(), register, state.changed_at, info, query,
                                      day, out, self._hashes, self.public_url)
            reps = held_or_stored(out,
                                  formatdate(found.modified.timestamp(), usegmt=True), most)
        heap.trim()  # the occurrences of a large selection, freed: see heap.trim
        return reps

    def api_obligations(self, request: Request) -> Response:
        try:
            state, register = self.good()
        except HTTPException as exc:
            return _json_error(exc.status_code, exc.detail)
        try:
            query, now = api_query(request.query_params, register, today(self.clock))
        except UsageError as exc:
            return _json_error(400, str(exc))
        # Sent as it is made, a batch of occurrences at a time: every occurrence of a large
        # register is hundreds of megabytes of JSON (`listing.json_pieces`). (To HEAD too, so
        # that its headers are GET's, which `GZipMiddleware` sets from the first piece.)
        found = service.listed_lazily(register, query, now)
        pieces = listing.json_pieces(listing.occurrences_json(found, register))
        return StreamingResponse(_trimmed(map(str.encode, pieces)), media_type="application/json",
                                 headers={"cache-control": LIVE_CACHE, "x-content-type-options":
                                          "nosniff", "x-register-revision": state.served or ""})

    def healthz(self, request: Request) -> Response:
        state = self.register.current()
        index = self.index()
        published = None if index is None else iso_utc(index.written)
        # A feeds folder removed under the server leaves nothing to serve: not healthy.
        gone = None if self.feeds.is_dir() else f"the feeds folder {str(self.feeds)!r} is gone"
        ok = state.ok and gone is None
        body = {
            "ok": ok,
            "revision": state.revision,
            "serving": state.served,
            "entries": len(state.register.entries) if state.register else None,
            "error": state.error or gone,
            "problems": list(state.problems),
            "published": published,
            "feeds": None if index is None else len(index.feeds),
        }
        return JSONResponse(body, status_code=200 if ok else 503,
                            headers={"cache-control": "no-store"})

    def home(self, request: Request) -> Response:
        _, register = self.good()
        params = request.query_params
        given = [(k, v) for k, v in params.multi_items() if v]
        if len(given) < len(params.multi_items()):
            # The form sends every filter; an empty one means any: drop it from the address.
            return RedirectResponse(f"{self.root}/" + (f"?{urlencode(given)}" if given else ""),
                                    303)
        day = today(self.clock)
        try:
            _check_names(params, _PAGE_FILTERS, "the page")
            chosen = _filters(params, register, day)
        except UsageError as exc:
            raise HTTPException(400, str(exc)) from None
        said = wording.selection(register, chosen.areas, chosen.actors, chosen.kinds)
        index = self.index()
        feeds = [] if index is None else index.feeds
        published = None if index is None else iso_utc(index.written)
        areas, actors, kinds = service.used(register, day)
        # A feed of everything once published; of a selection always, since it is built on
        # request, unless nothing it takes can ever be an event.
        never = _never_dated(chosen)
        offered = not never and (bool(given) or any(f.get("name") == "all" for f in feeds))
        return self.page(request, "index.html", {
            "today": day, "published": published, "selection": said,
            "selected": urlencode(given),
            "chosen": {name: params.getlist(name) for name in _PAGE_FILTERS},
            "subscribe": self.subscribe_action(request, register, given, chosen, said,
                                               _horizon(index)) if offered else None,
            "unsubscribable": wording.never_in_a_feed() if never
            else wording.no_feed_yet(published is not None),
            "feeds": pages.feed_list(self.base_url(request), feeds, _feed_labels(register)),
            **self.lists(register, chosen, day, given),
            "areas": _used(register.areas, areas),
            "actors": _used(register.actors, actors),
            "kinds": [(k.value, wording.KIND_PLURALS[k]) for k in Kind if k in kinds],
            **self.drawing(register, chosen if given else None, day),
        })

    def lists(self, register: Register, chosen: Query, day: date,
              given: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """The page's three lists, each with the address of all of it as JSON."""
        lists = service.coming(register, chosen, day, parse_span(SOON), parse_span(UPCOMING),
                               self.listed_most)

        def api(first: tuple[str, str]) -> str:
            return "/api/obligations?" + urlencode([first, *given])

        return {"soon": pages.listed(lists.soon.items, lists.soon.total, register,
                                     api(("upcoming", SOON))),
                "later": pages.listed(lists.later.items, lists.later.total, register,
                                      api(("upcoming", UPCOMING))),
                "overdue": pages.listed(lists.overdue.items, lists.overdue.total, register,
                                        api(("overdue", "1")))}

    def drawing(self, register: Register, chosen: Query | None, day: date) -> dict[str, Any]:
        """The timeline of the page, or why there is none: more than it draws."""
        found = service.drawn(register, chosen, day, self.drawn_most)
        if not found.occurrences and found.total:
            return {"timeline": None, "dimmed": False, "undrawn": wording.too_many_to_draw(
                found.total, self.drawn_most, chosen is not None)}
        keep = (lambda o: matches(o, chosen)) if chosen is not None and found.whole else None
        return {"timeline": pages.timeline(register, day, found.occurrences, keep),
                "dimmed": keep is not None, "undrawn": None}

    def subscribe_action(self, request: Request, register: Register,
                         params: Sequence[tuple[str, str]], query: Query, label: str,
                         horizon_years: int) -> dict[str, Any]:
        """The subscribe action for a selection: its feed's addresses and event count (to
        `horizon_years`, the published feeds' horizon, as the feed is built)."""
        events = service.selection_count(
            register, dataclasses.replace(query, horizon_years=horizon_years),
            today(self.clock))
        return pages.subscribe(self.base_url(request), params, events, label)

    def obligation(self, request: Request) -> Response:
        _, register = self.good()
        ref = request.path_params["ref"]
        # As far as the published feeds reach (read once, for its areas' counts too): the
        # page listed five years of a series whose feeds held ten.
        years = _horizon(self.index())
        found = find(register, ref, today(self.clock), years)
        if not found:
            raise HTTPException(404, unfound(register, ref))
        entry = found[0].entry
        items = [pages.occurrence_detail(o, register) for o in found]
        sources = pages.sources(entry.sources, register)
        areas = [self.subscribe_action(request, register, [("area", key)],
                                       Query(areas=frozenset({key})),
                                       wording.term(register.areas, key), years)
                 for key in entry.areas]
        # One occurrence's page is titled as that occurrence ("… session (no. 10)").
        heading = wording.heading(found[0]) if "#" in ref else entry.title
        return self.page(request, "obligation.html", {
            "ref": ref, "entry": entry, "heading": heading,
            "facts": listing.entry_facts(register, entry),
            "occurrences": items, "sources": sources, "is_series": entry.series is not None,
            "subscribe_areas": areas,
        })

    async def error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        if path.startswith("/api/"):
            answer = _json_error(exc.status_code, exc.detail)
        elif path.startswith(("/feeds/", "/static/", "/healthz")):
            return _text(exc.status_code, exc.detail, exc.headers)
        else:
            # To HEAD as well: its headers are GET's (RFC 9110, 9.3.2), and the server sends
            # no body to HEAD.
            answer = self.page(request, "error.html", {"status": exc.status_code,
                                                       "message": _said(exc.detail)},
                               status=exc.status_code)
        # A 405's Allow, which RFC 9110 15.5.6 requires: the JSON and the page keep it too.
        answer.headers.update(exc.headers or {})
        return answer


def _horizon(index: PublishedIndex | None) -> int:
    """How far the published feeds expand series; the default before any publish."""
    return DEFAULT_HORIZON_YEARS if index is None else index.horizon_years


def _never_dated(query: Query) -> bool:
    """Whether nothing the filters of `query` take can ever fall on a day, so that its feed
    can never hold an event: standing obligations alone, which the register refuses a date
    (`register.walk`)."""
    return bool(query.kinds) and query.kinds <= {Kind.STANDING}


def _feed_labels(register: Register) -> dict[str, tuple[str, str]]:
    """Each feed the register publishes, by name: its group and short name."""
    return {spec.info.name: (spec.facet, wording.feed_label(register, spec.facet, spec.key))
            for spec in feed_specs(register)}


def _used(vocab: Mapping[str, Term], used: set[str]) -> list[tuple[str, str]]:
    """The declared terms some entry uses, as (key, title), in declaration order."""
    return [(k, t.title) for k, t in vocab.items() if k in used]


def _matches_feed(name: str) -> bool:
    """Whether `name` is one `publish` writes: nothing else is served."""
    return FEED_FILE.match(name) is not None


def _trimmed(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """`pieces`, then, when they were more than `HELD_MOST` bytes, what making them freed
    handed back to the system (`heap.trim`): a large answer otherwise leaves the process
    tens of megabytes larger."""
    sent = 0
    for piece in pieces:
        sent += len(piece)
        yield piece
    if sent > HELD_MOST:
        heap.trim()


def _reason(exc: OSError) -> str:
    """An OSError in one line: its reason and the file, when it names one."""
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


# The most of an error message an answer carries: a message quotes the value it refuses,
# and a request may send a parameter of hundreds of kilobytes.
SAID_MOST = 500


def _said(message: str) -> str:
    """`message`, cut to `SAID_MOST` characters (the cut marked with an ellipsis)."""
    return message if len(message) <= SAID_MOST else message[:SAID_MOST - 1] + "…"


def _text(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return PlainTextResponse(_said(message) + "\n", status_code=status,
                             headers={"x-content-type-options": "nosniff", **(headers or {})})


def _json_error(status: int, message: str) -> Response:
    return JSONResponse({"error": _said(message)}, status_code=status,
                        headers={"x-content-type-options": "nosniff"})


def make_app(*, register: Path | RegisterFile, feeds: Path, db: str | service.Engine, clock: Clock,
             public_url: str | None = None, listed: int = LISTED, drawn: int = DRAWN,
             held: int = HELD_MOST) -> Starlette:
    """The HTTP application.

    `register` is the register file (re-read when it changes; give the `RegisterFile` the
    scheduler reads to share it), `feeds` the folder `publish`
    writes, `db` a store URL or engine (only read: the revisions of filtered feeds), `clock`
    gives today, and `public_url` the address subscribers reach the server at (the subscribe
    links; the request's own address when None). `listed` and `drawn`: the most occurrences
    each of the page's lists shows and its timeline draws; `held`: the largest feed file held
    in memory (`FeedFolder`)."""
    app = _App(register, feeds, db, public_url, clock, (listed, drawn, held))
    zipped = [Middleware(PageGZip, minimum_size=1000, compresslevel=6)]
    routes = [
        Route("/", app.home, middleware=zipped),
        Route("/obligations/{ref}", app.obligation, middleware=zipped),
        Route("/api/obligations", app.api_obligations, middleware=zipped),
        Route("/healthz", app.healthz),
        Route("/feeds/{name}", app.feed),
        Mount("/static", Assets(HERE / "static", clock), name="static"),
    ]
    web = Starlette(routes=routes, exception_handlers={HTTPException: app.error})
    web.router.redirect_slashes = False  # done by `_Slashes`, under the public URL
    web.router.default = _Slashes(web.router, app.base_url)
    return web


# What a path may hold unescaped (RFC 3986 3.3, pchar and "/"): a Location made of a decoded
# path escapes the rest, "%", "?" and "#" among them.
_PATH_SAFE = "/:@!$&'()*+,;="


class _Slashes:
    """What the router does with a path no route takes: a 307 to the same path with a
    trailing slash dropped or added when a route takes that one, else the 404 page.

    Starlette's own redirect (`redirect_slashes`) made its Location from the request alone,
    which behind a proxy serving the server under the public URL's path lacks that path:
    `/feeds/all.ics/` asked at https://example.org/calendar went to
    https://example.org/feeds/all.ics, out of the server. The Location here starts as the
    subscribe links do (`_App.base_url`: the public URL, else the address asked), and keeps
    the query."""

    def __init__(self, router: Router, base_url: Callable[[Request], str]) -> None:
        self.router, self.base_url = router, base_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if scope["type"] == "http" and path != "/":
            other = {**scope, "path": path.rstrip("/") if path.endswith("/") else path + "/"}
            if any(route.matches(other)[0] is not Match.NONE and not _folder(route, other)
                   for route in self.router.routes):
                query = scope.get("query_string", b"").decode("latin-1")
                location = (self.base_url(Request(scope)) + quote(other["path"], safe=_PATH_SAFE)
                            + (f"?{query}" if query else ""))
                await RedirectResponse(location, 307)(scope, receive, send)
                return
        await self.router.not_found(scope, receive, send)


def _folder(route: BaseRoute, scope: Scope) -> bool:
    """Whether `scope` asks for a mounted folder itself (`/static/`), which lists nothing: a
    redirect there from `/static` only led to the 404 page."""
    return isinstance(route, Mount) and scope["path"] == route.path + "/"


# --- running it ------------------------------------------------------------------------------

def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port); UsageError when taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"--host {host!r}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    # Made with IPPROTO_TCP rather than by socket.create_server (protocol 0): asyncio turns
    # Nagle's algorithm off (TCP_NODELAY) only on connections whose socket says TCP, and with
    # it on, a response written as headers then body waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise UsageError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def http_url(sock: socket.socket) -> str:
    """The address a listening socket answers at: http://host:port, an IPv6 host in []."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _UvicornEvents(logging.Filter):
    """uvicorn's own records as the process's events (`logs`): a request answered as
    `http.request` with its client, method, path and status; anything else as `server.log`
    with uvicorn's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, _, status = args
            logs.tag(record, "http.request", client=client, method=method, path=path,
                     status=status)
        else:
            logs.tag(record, "server.log", message=record.getMessage())
        return True


_UVICORN_EVENTS = _UvicornEvents()


def _config(app: Starlette, quiet: bool) -> uvicorn.Config:
    # uvicorn leaves the process's logging configuration alone (`logs.configure` makes it
    # JSON lines); its records go through the filter above.
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if _UVICORN_EVENTS not in logger.filters:
            logger.addFilter(_UVICORN_EVENTS)
    if not quiet:  # a quiet server before it in this process turned the access log off
        logging.getLogger("uvicorn.access").propagate = True
    return uvicorn.Config(
        app, http="h11", ws="none", lifespan="off", loop="asyncio", server_header=False,
        log_config=None, log_level="warning" if quiet else "info", access_log=not quiet,
        timeout_graceful_shutdown=5)


def run(app: Starlette, sock: socket.socket) -> None:
    """Serve on `sock` until Ctrl-C (SIGINT) or SIGTERM, logging each request (as JSON lines
    once `logs.configure` has run); then return once the requests in flight are answered."""
    # uvicorn shuts down on the first SIGINT or SIGTERM, then raises that signal again for
    # the handlers it had replaced. The shutdown is what the signal asked for: the SIGTERM
    # handler below and the `except` make the process end normally (exit 0) after it.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        uvicorn.Server(_config(app, quiet=False)).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


class BackgroundServer:
    """uvicorn serving an app from a thread of this process, for tests, benchmarks and
    `calendar-tool run`:

        with BackgroundServer(app) as server:     # 127.0.0.1, any free port
            httpx.get(f"{server.url}/healthz")
    """

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = listen(host, port)
        self.port: int = self._sock.getsockname()[1]
        self.url = http_url(self._sock)
        self._server = uvicorn.Server(_config(app, quiet=True))
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None


    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # SystemExit from a failed start included
            self._failure = exc

    def start(self, timeout: float = 10.0) -> int:
        """Start serving and return the port once the server accepts requests."""
        self._thread = threading.Thread(target=self._run, name=f"uvicorn:{self.port}",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server on {self.url} did not start: {self._failure!r}")
            time.sleep(0.005)
        return self.port

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, finish what is in flight, and wait for the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
