"""Webhook payloads and sending; the one module that imports httpx and standardwebhooks.

Two formats, both POSTed as `application/json`:

**JSON** (signed per the Standard Webhooks spec when the subscription has a secret). The body is
one message, holding one reminder or, when several fall due for one subscription at once, a
digest of them::

    {
      "type": "obligation.reminder" | "obligation.due" | "obligation.overdue"
              | "obligation.digest",
      "timestamp": "2002-12-01T09:00:00Z",
      "data": {
        "reminders": [
          {
            "type": "obligation.reminder" | "obligation.due" | "obligation.overdue",
            "subscription": "team",
            "offset": "P30D" | "P0D" | "overdue",
            "remind_at": "2002-12-01T09:00:00Z",
            "days_left": 30,
            "url": "<link base>/obligations/<entry id>",
            "occurrence": { ...one object of `calendar-tool list --format json`... }
          }
        ]
      }
    }

`type` is the single reminder's notice, or `obligation.digest` for more than one. `timestamp` is
the instant of the earliest reminder (not the time of sending, so a retry carries the same
bytes); `days_left` counts the days from the subscriber's local day of the reminder to the
occurrence's day, negative once overdue. Reminders are ordered by instant, then occurrence id,
then offset. Like `list --format json`, fields are only ever added.

Headers on every message: `webhook-id` (the same on every retry of one message, so a receiver
drops a duplicate), and with a secret `webhook-timestamp` and `webhook-signature` (`v1,<base64
HMAC-SHA256 of "{id}.{timestamp}.{body}">`), which `standardwebhooks.Webhook(secret).verify`
checks.

**Slack**: an incoming-webhook message (`text` fallback plus Block Kit `blocks`), within Slack's
limits: a header of at most 150 characters, sections of at most 3000, at most 50 blocks (20
reminders shown, then "…and N more").

Sending makes one attempt and reports what happened; whether and when to try again is
`retry_delay`'s answer, and the caller (the ledger) keeps count. Nothing here raises for an HTTP
or network failure, and no error text carries the URL's path, query or the secret: webhook URLs
are credentials (a Slack URL is all it takes to post to the channel).
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import standardwebhooks

import calendar_tool
from calendar_tool.clock import iso_utc
from calendar_tool.listing import occurrence_json
from calendar_tool.model import Register, State
from calendar_tool.reminders import Format, Reminder

DEFAULT_TIMEOUT = 15.0
"""Seconds per attempt: a receiver slower than this is treated as down and tried again later."""

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
"""Svix's schedule, the one Standard Webhooks receivers expect: 8 attempts over about 27 hours,
long enough to ride out a receiver's day-long outage, short enough that a reminder is not
delivered after the day it was about."""

JITTER = 0.2
"""Spread each delay by up to ±20% so that receivers recovering from an outage are not hit by
every retry at the same second."""

MAX_RETRY_AFTER = timedelta(hours=24)
"""A receiver may ask for a pause, but not to hold a reminder past a day."""

_MAX_PARSED_WAIT = timedelta(days=366)  # bounds what a hostile header can make us compute with

DIGEST = "obligation.digest"
MASK = "…"
SECRET_MASK = "whsec_…"

SLACK_MAX_SHOWN = 20  # 1 header + 20 sections + 19 dividers + 1 context = 41 of Slack's 50 blocks
SLACK_HEADER_MAX = 150
SLACK_TEXT_MAX = 3000
_SLACK_HEADING_MAX = 300  # one long title must not push the rest of a section past 3000


class Outcome(StrEnum):
    SENT = "sent"  # the receiver took it (2xx)
    RETRY = "retry"  # worth trying again: a network failure, a timeout, 429 or 5xx
    DEAD = "dead"  # trying again will not help: a redirect or another 4xx
    GONE = "gone"  # 410: the receiver asks us to stop; the subscription should be disabled


@dataclass(frozen=True)
class Attempt:
    """What one POST did. `error` is safe to log and show: it never holds the URL's path or query
    beyond its first segment, nor the secret."""

    outcome: Outcome
    status: int | None
    latency: float
    error: str | None = None
    retry_after: timedelta | None = None


# --- what a response means -------------------------------------------------------------------

def classify(status: int) -> Outcome:
    """The outcome of an HTTP status.

    A redirect is never followed, since it would carry a signed reminder to a host the
    subscriber did not name, and so it is dead like any other 4xx that a retry cannot fix.
    """
    if 200 <= status <= 299:
        return Outcome.SENT
    if status == 410:
        return Outcome.GONE
    if status == 429 or 500 <= status <= 599:
        return Outcome.RETRY
    return Outcome.DEAD


_DELTA_SECONDS = re.compile(r"^-?\d+$")


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (RFC 9110: delta-seconds or an HTTP-date) as a wait from `now`.

    A wait in the past is zero; anything unreadable is None, so that the schedule alone decides.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DELTA_SECONDS.match(text):
        if text.startswith("-"):
            return timedelta(0)
        if len(text) > 9:  # decades: past the cap, and past what int() and timedelta accept
            return _MAX_PARSED_WAIT
        return min(timedelta(seconds=int(text)), _MAX_PARSED_WAIT)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with the zone unknown to the sender
        when = when.replace(tzinfo=UTC)
    wait = when - _aware(now, "now")
    return min(max(wait, timedelta(0)), _MAX_PARSED_WAIT)


def retry_delay(failed_attempts: int, retry_after: timedelta | None, rng: random.Random
                ) -> timedelta | None:
    """How long to wait after `failed_attempts` failures (1 after the first) before trying again;
    None once RETRY_DELAYS is used up and the delivery is dead.

    A receiver's Retry-After replaces the schedule's delay for that attempt (up to a day): a
    rate-limited Slack webhook says when it takes messages again, and it is the one who knows.
    It still counts as an attempt, so a receiver cannot keep a delivery alive forever.
    """
    if failed_attempts < 1:
        raise ValueError("failed_attempts counts failures and starts at 1")
    if failed_attempts > len(RETRY_DELAYS):
        return None
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    return RETRY_DELAYS[failed_attempts - 1] * rng.uniform(1 - JITTER, 1 + JITTER)


# --- keeping secrets out of messages ---------------------------------------------------------

def mask_url(url: str) -> str:
    """The URL as lists and errors show it: enough to tell subscriptions apart (scheme, host,
    port, first path segment), nothing that grants access (user info, further segments, query,
    fragment, each replaced by "…")."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return MASK
    _userinfo, at, host = parts.netloc.rpartition("@")
    out = f"{parts.scheme}://{MASK + '@' if at else ''}{host}"
    path = parts.path
    if path:
        first, slash, rest = path[1:].partition("/")
        out += "/" + first + (slash + MASK if rest else slash)
    if parts.query:
        out += "?" + MASK
    if parts.fragment:
        out += "#" + MASK
    return out


def redact(text: str, url: str, secret: str | None) -> str:
    """`text` with the URL (whole, or the path and query an error may quote alone) shown as
    mask_url shows it, and the secret as "whsec_…"."""
    masked = mask_url(url)
    swaps: list[tuple[str, str]] = [(url, masked)]
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is not None:
        masked_parts = urlsplit(masked) if masked != MASK else None
        shown_path = masked_parts.path if masked_parts else MASK
        shown_query = f"{shown_path}?{MASK}" if parts.query else shown_path
        swaps += [
            (url.partition("#")[0], masked.partition("#")[0]),
            (f"{parts.path}?{parts.query}" if parts.query else parts.path, shown_query),
            (parts.path, shown_path),
        ]
        if parts.query:
            swaps.append((parts.query, MASK))
        if "@" in parts.netloc:
            swaps.append((parts.netloc.rpartition("@")[0], MASK))
    if secret:
        swaps.append((secret, SECRET_MASK))
        bare = secret.removeprefix("whsec_")
        if bare:
            swaps.append((bare, SECRET_MASK))
    # Longest first, so that a part is never replaced inside a whole that is replaced after it.
    for old, new in sorted(swaps, key=lambda s: -len(s[0])):
        if len(old) > 1 and old != new:
            text = text.replace(old, new)
    return text


def new_secret() -> str:
    """A Standard Webhooks signing key: 24 random bytes, the spec's minimum, in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


# --- payloads --------------------------------------------------------------------------------

def render(fmt: Format, reminders: Sequence[Reminder], register: Register, link_base: str) -> str:
    """The body of one message for one subscription: one reminder, or a digest of several.

    Deterministic, so that a retry sends the same bytes (and the same signature input): the time
    inside is the reminders' own, and their order is fixed here rather than by the caller.
    """
    if not reminders:
        raise ValueError("a message needs at least one reminder")
    if len({r.subscription for r in reminders}) != 1:
        raise ValueError("a message holds the reminders of one subscription")
    ordered = sorted(reminders, key=lambda r: (_utc(r.instant), r.occurrence.id, r.offset))
    base = link_base.rstrip("/")
    payload = (_json_payload(ordered, register, base) if fmt is Format.JSON
               else _slack_payload(ordered, register, base))
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def _json_payload(reminders: Sequence[Reminder], register: Register, base: str
                  ) -> dict[str, Any]:
    kind = reminders[0].notice.value if len(reminders) == 1 else DIGEST
    return {
        "type": kind,
        "timestamp": iso_utc(reminders[0].instant),
        "data": {"reminders": [
            {
                "type": r.notice.value,
                "subscription": r.subscription,
                "offset": r.offset,
                "remind_at": iso_utc(r.instant),
                "days_left": r.days_left,
                "url": _link(base, r),
                "occurrence": occurrence_json(r.occurrence, register),
            }
            for r in reminders
        ]},
    }


def _slack_payload(reminders: Sequence[Reminder], register: Register, base: str
                   ) -> dict[str, Any]:
    if len(reminders) == 1:
        r = reminders[0]
        title = f"{_lead(r)}: {r.occurrence.heading()}"
    else:
        title = f"{len(reminders)} reminders for {reminders[0].subscription}"
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": _clip(title, SLACK_HEADER_MAX), "emoji": False}},
    ]
    shown = reminders[:SLACK_MAX_SHOWN]
    for i, r in enumerate(shown):
        if i:
            blocks.append({"type": "divider"})
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": _slack_section(r, register, base)}})
    hidden = len(reminders) - len(shown)
    if hidden:
        blocks.append({"type": "context",
                       "elements": [{"type": "mrkdwn", "text": f"…and {hidden} more"}]})
    return {"text": _slack_fallback(reminders, base), "blocks": blocks}


def _slack_section(r: Reminder, register: Register, base: str) -> str:
    o = r.occurrence
    heading = _esc(_clip(o.heading(), _SLACK_HEADING_MAX))
    lines = [f"*<{_slack_url(_link(base, r))}|{heading}>*",
             f"*When:* {_esc(o.when_text())} ({_esc(_days(r.days_left))})"]
    if o.entry.actors:
        who = ", ".join(register.actors[a].title if a in register.actors else a
                        for a in o.entry.actors)
        lines.append(f"*Who:* {_esc(_clip(who, 500))}")
    if o.location:
        lines.append(f"*Where:* {_esc(_clip(o.location, 200))}")
    state = o.state.state
    if state is not State.OPEN:
        lines.append(f"*Status:* {_esc(state.value)}")
    if o.sources:
        source = o.sources[0]
        cite = _esc(_clip(source.citation(), 200))
        doc = register.documents.get(source.doc)
        lines.append("*Source:* " + (f"<{_slack_url(doc.url)}|{cite}>" if doc and doc.url
                                     else cite))
    return _clip("\n".join(lines), SLACK_TEXT_MAX)


def _slack_fallback(reminders: Sequence[Reminder], base: str) -> str:
    """One line per reminder, for notifications and clients that do not draw blocks; whole lines
    only, so that a cut never leaves half a link."""
    lines: list[str] = []
    used = -1  # the first line has no newline before it
    for i, r in enumerate(reminders):
        o = r.occurrence
        line = _esc(f"{_lead(r)}: {_clip(o.heading(), _SLACK_HEADING_MAX)} "
                    f"({o.when_text()}) {_link(base, r)}")
        rest = len(reminders) - i - 1
        tail = len(f"\n…and {rest} more") if rest else 0
        if used + 1 + len(line) + tail > SLACK_TEXT_MAX:
            # The previous round kept room for exactly this line.
            lines.append(f"…and {len(reminders) - i} more")
            break
        lines.append(line)
        used += 1 + len(line)
    return _clip("\n".join(lines), SLACK_TEXT_MAX)


def _lead(r: Reminder) -> str:
    """"Due in 30 days", "Starts today", "1 day overdue": what is owed reads as due, what
    takes place (an event, a session) as starting."""
    n = r.days_left
    if n < 0:
        return _days(n)
    verb = "Due" if r.occurrence.entry.kind.is_due else "Starts"
    return f"{verb} {_days(n)}"


def _days(n: int) -> str:
    if n == 0:
        return "today"
    if n > 0:
        return f"in {n} day{'s' if n != 1 else ''}"
    return f"{-n} day{'s' if n != -1 else ''} overdue"


def _link(base: str, r: Reminder) -> str:
    return f"{base}/obligations/{quote(r.occurrence.entry.id, safe='')}"


def _esc(text: str) -> str:
    """Slack's three control characters; everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_url(url: str) -> str:
    # "|" would end the link target early; a URL never needs it literally.
    return _esc(url).replace("|", "%7C")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime")
    return at


def _utc(at: datetime) -> datetime:
    return _aware(at, "a reminder's instant").astimezone(UTC)


# --- headers and sending ---------------------------------------------------------------------

def headers(message_id: str, body: str, at: datetime, secret: str | None) -> dict[str, str]:
    """The request headers of one attempt; `at` is the time of sending, which the signature
    covers so that a receiver can refuse a replay."""
    at = _aware(at, "at").astimezone(UTC)
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


def send(client: httpx.Client, url: str, body: str, headers: Mapping[str, str], now: datetime,
         secret: str | None = None) -> Attempt:
    """One POST of `body`; the outcome, never an exception, for anything the network or the
    receiver does. `now` reads a Retry-After given as a date; `secret` is only there to be kept
    out of the error text."""
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
            for chunk in response.iter_raw():
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
    outcome = classify(status)
    if outcome is Outcome.SENT:
        return Attempt(outcome, status, latency)
    error = f"HTTP {status}" + (f" {reason}" if reason else "")
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
