"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 that records what it gets,
checks Standard Webhooks signatures with the reference library, and fails, stalls, rate-limits
or redirects on command. Deliveries go over real sockets, so timeouts, refused connections and
unread redirects are the real thing rather than a mock's idea of them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import standardwebhooks

TOLERANCE = timedelta(minutes=5)  # the library's own window for webhook-timestamp


@dataclass(frozen=True)
class Accept:
    """A 2xx answer; `body` as a service sends it (Teams: 202 and nothing), else JSON."""

    status: int = 200
    body: bytes | None = None


@dataclass(frozen=True)
class Fail:
    """An error answer; `body` as a service sends it (Discord's `{"message": "Unknown
    Webhook", "code": 10015}`, Mattermost's error id), else JSON."""

    status: int = 500
    body: bytes | None = None


@dataclass(frozen=True)
class Stall:
    """Hold the request `seconds`, then answer 200 if the client is still there. Closing the
    receiver ends the wait at once, so a test never waits for a stall it has finished with."""

    seconds: float


@dataclass(frozen=True)
class Trickle:
    """Answer 200, then send the body one byte every `every` seconds, `size` bytes in all;
    with `head`, the status line and headers too, a byte at a time. Closing the receiver (or
    the client leaving) ends it at once."""

    every: float = 2.0
    size: int = 60
    head: bool = False


@dataclass(frozen=True)
class RateLimit:
    retry_after: str = "2"


@dataclass(frozen=True)
class Gone:
    pass


@dataclass(frozen=True)
class Redirect:
    location: str


Behaviour = Accept | Fail | Stall | Trickle | RateLimit | Gone | Redirect


@dataclass(frozen=True)
class Received:
    """One request. `status_sent` is 0 until an answer goes out, and stays 0 when the client
    left before it could get one (a stall it gave up on). `verified` is None without a secret."""

    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    at: float
    status_sent: int
    verified: bool | None


class _ClockedWebhook(standardwebhooks.Webhook):
    """The reference verifier with its timestamp window read against the test's clock, which
    may be years from the wall clock. Only the timestamp check is replaced; the signature
    comparison stays the library's."""

    def __init__(self, secret: str, now: Callable[[], datetime]) -> None:
        super().__init__(secret)
        self._now = now

    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:
        try:
            timestamp = datetime.fromtimestamp(float(timestamp_header), tz=UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise standardwebhooks.WebhookVerificationError("Invalid Signature Headers") from exc
        now = self._now()
        if timestamp < now - TOLERANCE:
            raise standardwebhooks.WebhookVerificationError("Message timestamp too old")
        if timestamp > now + TOLERANCE:
            raise standardwebhooks.WebhookVerificationError("Message timestamp too new")
        return timestamp


class Receiver:
    """`with Receiver() as r: ... r.url ... r.requests`. Thread-safe: the server answers each
    request on its own thread."""

    def __init__(self, secret: str | None = None, now: Callable[[], datetime] | None = None,
                 port: int = 0) -> None:
        self.secret = secret
        self.now = now
        self._lock = threading.Condition()
        self._requests: list[Received] = []
        self._script: deque[Behaviour] = deque()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        # Joined on close (stalls are released first), so no handler outlives its test.
        self._server.daemon_threads = False
        self.port: int = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._closed = False

    # --- scripting and reading ---------------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        """Queue what the next requests get, one behaviour each; then 200 again."""
        with self._lock:
            self._script.extend(behaviours)

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status_sent <= 299]

    def ids(self) -> list[str]:
        return [r.headers.get("webhook-id", "") for r in self.accepted()]

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Received]:
        """Block until `n` requests have arrived (answered or not); fail after `timeout`."""
        try:
            return self.wait_until(lambda requests: len(requests) >= n, timeout)
        except TimeoutError:
            raise TimeoutError(f"{len(self.requests)} of {n} requests arrived within "
                               f"{timeout} s") from None

    def wait_until(self, done: Callable[[list[Received]], bool], timeout: float = 10.0
                   ) -> list[Received]:
        """Block until `done(requests)` holds, checked at each arrival and each answer; fail
        after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not done(list(self._requests)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"not done after {timeout} s with "
                                       f"{len(self._requests)} requests")
                self._lock.wait(left)
            return list(self._requests)

    # --- life cycle --------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- used by the handler -----------------------------------------------------------------

    def _verify(self, body: bytes, headers: dict[str, str]) -> bool | None:
        if self.secret is None:
            return None
        hook = (standardwebhooks.Webhook(self.secret) if self.now is None
                else _ClockedWebhook(self.secret, self.now))
        try:
            hook.verify(body, headers, json_parse=False)
        except (standardwebhooks.WebhookVerificationError, ValueError):
            return False
        return True

    def _arrive(self, record: Received, verified: bool | None) -> tuple[int, Behaviour | None]:
        """Record the request and choose its behaviour (a bad signature gets 400 and leaves the
        script alone, so that the scripted failures still meet the requests they were meant
        for)."""
        with self._lock:
            index = len(self._requests)
            self._requests.append(record)
            self._lock.notify_all()
            if verified is False:
                return index, None
            return index, self._script.popleft() if self._script else Accept()

    def _answered(self, index: int, status: int) -> None:
        with self._lock:
            self._requests[index] = replace(self._requests[index], status_sent=status)
            self._lock.notify_all()


def receiver_fixture() -> Iterator[Receiver]:
    """The body of a `receiver` fixture: `receiver = pytest.fixture(receiver_fixture)`."""
    with Receiver() as r:
        yield r


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


class _Handler(BaseHTTPRequestHandler):
    """Answers each request as its `receiver` says (`Receiver._arrive`), and records it."""

    receiver: Receiver  # set per server by `_handler_for`

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:  # a followed redirect would arrive as a GET; record it too
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tests read `requests`, not stderr

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        verified = self.receiver._verify(body, headers)
        record = Received(self.path, headers, body, parsed, time.monotonic(), 0, verified)
        index, behaviour = self.receiver._arrive(record, verified)
        extra: dict[str, str] = {}
        answer: bytes | None = None
        match behaviour:
            case None:
                status = 400
            case Accept(status=s, body=b) | Fail(status=s, body=b):
                status, answer = s, b
            case Stall(seconds=seconds):
                self.receiver._closing.wait(seconds)
                if not self._client_connected():
                    return
                status = 200
            case Trickle():
                self._trickle(index, behaviour)
                return
            case RateLimit(retry_after=value):
                status, extra = 429, {"Retry-After": value}
            case Gone():
                status = 410
            case Redirect(location=location):
                status, extra = 301, {"Location": location}
        # Marked before the bytes leave, so that a client holding the answer never sees an
        # unanswered record; undone if the client is gone.
        self.receiver._answered(index, status)
        try:
            self._respond(status, extra, answer)
        except OSError:
            self.receiver._answered(index, 0)

    def _respond(self, status: int, extra: dict[str, str], body: bytes | None) -> None:
        payload = body if body is not None else \
            b'{"ok":true}' if 200 <= status <= 299 else b'{"ok":false}'
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _trickle(self, index: int, how: Trickle) -> None:
        """200 with a body sent a byte at a time (`Trickle`); status_sent goes back to 0
        when the client leaves before the last byte."""
        head = (f"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {how.size}\r\n\r\n").encode()
        body = b"x" * how.size
        slow = head + body if how.head else body
        self.receiver._answered(index, 200)
        try:
            if not how.head:
                self.wfile.write(head)
                self.wfile.flush()
            for i in range(len(slow)):
                if self.receiver._closing.wait(how.every):
                    return
                self.wfile.write(slow[i:i + 1])
                self.wfile.flush()
        except OSError:
            self.receiver._answered(index, 0)
        self.close_connection = True

    def _client_connected(self) -> bool:
        """Whether the client still waits: a readable socket with nothing to read is one
        that the client has closed."""
        sock = self.connection
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return True
        with contextlib.suppress(OSError):
            return bool(sock.recv(1, socket.MSG_PEEK))
        return False


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"receiver": receiver})


def _describe(r: Received) -> str:
    """One line for a webhook: its id, type and what it reminds of."""
    doc = r.json if isinstance(r.json, dict) else {}
    if "data" in doc:  # JSON: obligation.* with data.reminders[]
        items = [f"{x['occurrence']['id']} ({x['type']}, {x['offset']})"
                 for x in doc["data"].get("reminders", [])]
        what = f"{doc.get('type')}: {'; '.join(items)}"
    elif "attachments" in doc:  # Teams: the card's first lines
        body = doc["attachments"][0]["content"]["body"]
        what = " | ".join(b["text"] for b in body[:2] if b.get("type") == "TextBlock")
    elif "content" in doc:  # Discord
        what = str(doc["content"])
    else:  # Slack, Mattermost: the text (Slack's fallback)
        what = str(doc.get("text", "")).splitlines()[0] if doc.get("text") else "(no text)"
    signed = {None: "unsigned or not checked", True: "signature ok", False: "BAD SIGNATURE"}
    return (f"{time.strftime('%H:%M:%S')} {r.path} {r.headers.get('webhook-id', '-')} "
            f"[{signed[r.verified]}] {what}\n")


def main(argv: list[str] | None = None) -> None:
    """`make receiver`: accept webhooks on 127.0.0.1 and print one line for each, until
    Ctrl-C. With --secret (the one `subscribe add` printed) it checks each signature."""
    parser = argparse.ArgumentParser(prog="python -m tests.receiver", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--secret", help="whsec_... to verify Standard Webhooks signatures")
    args = parser.parse_args(argv)
    with Receiver(secret=args.secret, port=args.port) as receiver:
        sys.stdout.write(f"receiving webhooks at {receiver.base}/ (Ctrl-C to stop)\n")
        sys.stdout.flush()
        shown = 0
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                try:
                    arrived = receiver.wait_for(shown + 1, timeout=3600)
                except TimeoutError:
                    continue
                for r in arrived[shown:]:
                    sys.stdout.write(_describe(r))
                sys.stdout.flush()
                shown = len(arrived)


if __name__ == "__main__":
    main()


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A port on 127.0.0.1 that listens but never accepts, its backlog already full: Linux
    drops a further connection's SYN, so connecting waits until the client's timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port: int = server.getsockname()[1]
        waiting = []
        try:
            for _ in range(3):  # more than a backlog of 0 holds
                client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                client.setblocking(False)
                client.connect_ex(("127.0.0.1", port))
                waiting.append(client)
            yield port
        finally:
            for client in waiting:
                client.close()


def _read_request(conn: socket.socket) -> None:
    """Read one whole request, head and body: closing before the client has written all of
    it would make its failure a broken write, not a closed connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


@contextlib.contextmanager
def hanging_up_port() -> Iterator[int]:
    """A port on 127.0.0.1 whose server reads each request and closes the connection
    without a word: an HTTP client finds the connection closed before an answer."""
    server = socket.create_server(("127.0.0.1", 0))
    port: int = server.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return  # the server socket was closed: the test is over
            with conn:
                _read_request(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.close()
        thread.join(5)
