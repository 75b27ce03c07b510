"""Sending over HTTP: one POST per attempt, its headers (Standard Webhooks signature), and the
answer turned into an `Attempt`. The only module that imports httpx and standardwebhooks.

Nothing here raises for an HTTP or network failure, and no error text carries the URL's path,
query or the secret."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime

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
    """The client for every attempt. Redirects are refused (see `classify`), and each phase
    (connect, write, each read) is bounded by `timeout`."""
    return httpx.Client(follow_redirects=False, timeout=httpx.Timeout(timeout))


_MAX_ANSWER = 64 * 1024
_HEAD = 1024  # of an answer's body, for a channel to read (an error's id)


def send(client: httpx.Client, url: str, body: str, headers: Mapping[str, str], now: datetime,
         secret: str | None = None, answer: Answer | None = None) -> Attempt:
    """One POST of `body`; the outcome, never an exception, for anything the network or the
    receiver does. `now` reads a Retry-After given as a date; `secret` is only there to be kept
    out of the error text; `answer` is the channel's own reading of a status and the start of
    the answer's body, where it means more than the status alone (`channels.answer`)."""
    start = time.perf_counter()
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
                       redact(_describe(exc), url, secret))
    except httpx.TransportError as exc:
        return Attempt(Outcome.RETRY, None, time.perf_counter() - start,
                       redact(_describe(exc), url, secret))
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


def _describe(exc: Exception) -> str:
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__



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
