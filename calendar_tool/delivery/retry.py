"""What an attempt's answer means, and when to try again: Svix's schedule, the one Standard
Webhooks receivers expect, with a receiver's Retry-After taken into account."""

from __future__ import annotations

import random
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

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
    408 (the receiver or a proxy before it gave up waiting for the request) and 425 (Too
    Early) say the same request may succeed later (RFC 9110 15.5.9, RFC 8470): they are
    retried, as 429 is, rather than losing the reminder to a moment's load.
    """
    if 200 <= status <= 299:
        return Outcome.SENT
    if status == 410:
        return Outcome.GONE
    if status in _LATER or 500 <= status <= 599:
        return Outcome.RETRY
    return Outcome.DEAD


_LATER = frozenset((408, 425, 429))


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
    It still counts as an attempt, so a receiver cannot keep a delivery alive forever. But
    from the second retry on, one shorter than the schedule's floor for that retry (its delay
    less the jitter, `retry_floor`) is ignored: `Retry-After: 0` on every answer spent the
    eight attempts in seconds, and a receiver rate-limited for longer lost the reminder. With
    the floor, the attempts still span the schedule's day, so a receiver that recovers within
    it gets the reminder.
    """
    if failed_attempts < 1:
        raise ValueError("failed_attempts counts failures and starts at 1")
    if failed_attempts > len(RETRY_DELAYS):
        return None
    if retry_after is not None and retry_after >= retry_floor(failed_attempts):
        return min(retry_after, MAX_RETRY_AFTER)
    return RETRY_DELAYS[failed_attempts - 1] * rng.uniform(1 - JITTER, 1 + JITTER)


def retry_floor(failed_attempts: int) -> timedelta:
    """The shortest Retry-After taken after `failed_attempts` failures: none for the first
    retry (the schedule's own is 5 s, and a receiver asking for 2 s knows best), then the
    schedule's shortest delay for that retry (its delay less 20%: 4 minutes, 24 minutes, 96
    minutes, 4 hours, then 8 hours)."""
    if failed_attempts <= 1:
        return timedelta(0)
    return RETRY_DELAYS[failed_attempts - 1] * (1 - JITTER)




def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime")
    return at


def where(host: str, port: int | None) -> str:
    """host:port as a person reads an address (an IPv6 host in [], as in a URL)."""
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def unreached(cause: BaseException, at: str, host: str) -> str | None:
    """A server not reached, as a person says it, for webhooks and e-mail alike: where
    (`at`, host and port) and what that end did not do, rather than an exception's name and
    errno; None for any other failure."""
    if isinstance(cause, ConnectionRefusedError):
        return f"nothing listens at {at} (connection refused)"
    if isinstance(cause, socket.gaierror):
        return f"the host name {host!r} is not known ({cause.strerror or cause})"
    return None
