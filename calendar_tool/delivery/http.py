"""Sending over HTTP: one POST per attempt, its headers (Standard Webhooks signature), and the
answer turned into an `Attempt`. The only module that imports httpx and standardwebhooks.

Nothing here raises for an HTTP or network failure, and no error text carries the URL's path,
query or the secret. httpcore, the connection layer under httpx, is imported here only to
bound an attempt's whole time (`_Deadline`)."""

from __future__ import annotations

import math
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
import standardwebhooks

import calendar_tool
from calendar_tool.delivery import channels
from calendar_tool.delivery.channels import Answer
from calendar_tool.delivery.masking import mask_url, redact
from calendar_tool.delivery.retry import (
    DEFAULT_TIMEOUT,
    Attempt,
    Outcome,
    classify,
    parse_retry_after,
    unreached,
    where,
)
from calendar_tool.model import Outbound


def headers(message_id: str, body: str, at: datetime, secret: str | None) -> dict[str, str]:
    """The request headers of one attempt; `at` is the time of sending, which the signature
    covers so that a receiver can refuse a replay."""
    at = _aware(at).astimezone(UTC)
    out = {
        "content-type": "application/json",
        "user-agent": f"calendar-tool/{calendar_tool.__version__}",
        "webhook-id": message_id,
    }
    if secret is not None:
        out["webhook-timestamp"] = str(math.floor(at.timestamp()))
        out["webhook-signature"] = standardwebhooks.Webhook(secret).sign(message_id, at, body)
    return out


Client = httpx.Client
"""The HTTP client type the service hands around (so that only this module imports httpx)."""


def make_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    """The client for every attempt. Redirects are refused (see `classify`), and each
    attempt, all of it (connecting, sending, reading the whole answer), is bounded by
    `timeout` (`_Deadline`)."""
    return httpx.Client(follow_redirects=False, timeout=httpx.Timeout(timeout),
                        transport=_DeadlineTransport())


# --- one deadline for the whole attempt ---------------------------------------------------------
#
# httpx's timeouts bound each phase, and a read timeout each read: a receiver that answers
# 200 and then trickles its body a byte every 2 s never trips a 5 s read timeout, and held an
# attempt for two minutes. The network streams below take every connect, read and write
# timeout as the smaller of httpx's and what is left of the attempt (`_Deadline`, set by `send`
# on the thread that sends), and stop the attempt once nothing is left. httpcore's network
# backend is its documented extension point; the transport only hands it to the pool.


class _Deadline(threading.local):
    """When the attempt on this thread must be over (time.monotonic()), if `send` said."""

    at: float | None = None


_DEADLINE = _Deadline()


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """The timeout for one operation: httpx's, or what is left of the attempt if less."""
    at = _DEADLINE.at
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the attempt took longer than its timeout")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname,
                                             _left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(host, port, _left(timeout, httpcore.ConnectTimeout),
                                               local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(
            path, _left(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport (its request and error mapping), its pool on `_Backend`."""

    def __init__(self) -> None:
        super().__init__()
        limits = httpx.Limits()  # httpx's defaults, as the plain transport has them
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=_Backend())


_MAX_ANSWER = 64 * 1024
_HEAD = 1024  # of an answer's body, for a channel to read (an error's id)


def send(client: httpx.Client, url: str, body: str, headers: Mapping[str, str], now: datetime,
         secret: str | None = None, answer: Answer | None = None) -> Attempt:
    """One POST of `body`; the outcome, never an exception, for anything the network or the
    receiver does. `now` reads a Retry-After given as a date; `secret` is only there to be kept
    out of the error text; `answer` is the channel's own reading of a status and the start of
    the answer's body, where it means more than the status alone (`channels.answer`)."""
    start = time.perf_counter()
    # The whole attempt within the client's timeout (see _Deadline).
    _DEADLINE.at = time.monotonic() + (client.timeout.read or DEFAULT_TIMEOUT)
    status: int | None = None
    try:
        # Streamed: the receiver's answer is its status. A short body is read to its end so
        # that the connection goes back to the pool (closing it unread costs a new connection,
        # a tenth of the rate); a large or endless one is dropped after _MAX_ANSWER bytes.
        with client.stream("POST", url, content=body.encode("utf-8"),
                           headers=dict(headers)) as response:
            status = response.status_code
            reason = response.reason_phrase
            retry_after_header = response.headers.get("retry-after")
            location = response.headers.get("location")
            seen = 0
            head = b""
            for chunk in response.iter_raw():
                if len(head) < _HEAD:
                    head += chunk[: _HEAD - len(head)]
                seen += len(chunk)
                if seen > _MAX_ANSWER:
                    break
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        # A URL that can never work: retrying it would only delay the verdict.
        return Attempt(Outcome.DEAD, None, time.perf_counter() - start,
                       redact(_describe(exc, url, client.timeout), url, secret))
    except httpx.TransportError as exc:
        error = redact(_describe(exc, url, client.timeout), url, secret)
        if status is not None and classify(status) is Outcome.SENT:
            # The status line said the receiver took it; only the rest of its answer did
            # not come. Sending it again would post it twice where nothing drops a repeated
            # webhook id (a Slack channel).
            return Attempt(Outcome.SENT, status, time.perf_counter() - start,
                           f"HTTP {status}, then {error}")
        return Attempt(Outcome.RETRY, None, time.perf_counter() - start, error)
    finally:
        _DEADLINE.at = None
    latency = time.perf_counter() - start
    said = answer(status, head.decode("utf-8", "replace")) if answer is not None else None
    outcome = classify(status) if said is None else said[0]
    if outcome is Outcome.SENT:
        return Attempt(outcome, status, latency)
    error = f"HTTP {status}" + (f" {reason}" if reason else "")
    if said is not None:
        error += f": {said[1]}"
    if 300 <= status <= 399:
        error += ": redirects are not followed"
        if location:
            error += f" (to {mask_url(location)})"
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(retry_after_header, now)
    return Attempt(outcome, status, latency, redact(error, url, secret), retry_after)


def _describe(exc: httpx.TransportError | httpx.InvalidURL, url: str, timeout: httpx.Timeout
              ) -> str:
    """What went wrong, as a person says it: where (host and port, never the path), and what
    that end did or did not do."""
    at = _where(url)
    cause = _root(exc)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "not an http:// or https:// URL"
    if isinstance(exc, httpx.InvalidURL):
        return f"not a URL a webhook can be sent to: {exc}"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"{at} did not accept a connection within {_seconds(timeout.connect)}"
    if isinstance(exc, httpx.ReadTimeout):
        return f"{at} took the request but did not answer in full within {_seconds(timeout.read)}"
    if isinstance(exc, httpx.WriteTimeout):
        return f"{at} did not take the request within {_seconds(timeout.write)}"
    if isinstance(exc, httpx.PoolTimeout):
        return f"no connection to {at} came free within {_seconds(timeout.pool)}"
    said = unreached(cause, at, urlsplit(url).hostname or at)
    if said is not None:
        return said
    if isinstance(cause, ssl.SSLError):
        return f"no secure connection with {at}: {_reason(cause)}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {at}: {_reason(cause)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{at} closed the connection without a complete answer"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return f"the connection to {at} broke: {_reason(cause)}"
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _where(url: str) -> str:
    """host:port of a URL (the scheme's port when it names none), an IPv6 host in []."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return "the receiver"
    return where(parts.hostname or "the receiver", port)


def _root(exc: BaseException) -> BaseException:
    """The first cause of an exception chain (httpx wraps httpcore, which wraps the OSError)."""
    seen = exc
    while (nxt := seen.__cause__ or seen.__context__) is not None:
        seen = nxt
    return seen


def _reason(exc: BaseException) -> str:
    """An OSError's reason without its "[Errno N]" prefix."""
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(getattr(exc, "verify_message", None) or exc.reason).replace("_", " ").lower()
    return str(exc.strerror) if isinstance(exc, OSError) and exc.strerror else str(exc).strip()


def _seconds(value: float | None) -> str:
    return "the time allowed" if value is None else f"{value:g} s"


class HttpSender:
    """POSTs a message's body to its URL, with the Standard Webhooks headers (signed when the
    subscription has a secret), on one pooled client shared by the sending threads."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def send(self, message: Outbound, now: datetime) -> Attempt:
        url = channels.target(message.format, message.url)
        return send(self.client, url, message.body,
                    headers(message.id, message.body, now, message.secret), now, message.secret,
                    channels.answer(message.format))

    def close(self) -> None:
        self.client.close()


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("at must be an aware datetime")
    return at
