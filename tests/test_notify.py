"""Webhook payloads and sending. Payloads are built from the sample register's real occurrences;
deliveries go to a real HTTP server on 127.0.0.1 (tests/receiver.py) that checks signatures with
the standardwebhooks reference library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
import standardwebhooks

import calendar_tool
from calendar_tool import delivery
from calendar_tool.delivery import Attempt, Outcome
from calendar_tool.delivery.reminders import occurrence_reminders
from calendar_tool.listing import occurrence_json
from calendar_tool.model import Format, Occurrence, Offset, Register, Reminder, Subscription
from calendar_tool.register import parse_register
from calendar_tool.timeline import occurrences
from tests.paths import SAMPLE
from tests.receiver import (
    Accept,
    Fail,
    Gone,
    RateLimit,
    Receiver,
    Redirect,
    Stall,
    closed_port,
    hanging_up_port,
    receiver_fixture,
    unanswered_port,
)

receiver = pytest.fixture(receiver_fixture)

CREATED = datetime(1990, 1, 1, tzinfo=UTC)
LINK = "https://cal.example.org"
# The example of the Standard Webhooks specification, with its published signature.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIME = datetime.fromtimestamp(1614265330, tz=UTC)
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with delivery.make_client(timeout=5) as c:
        yield c


def _sub(fmt: Format = Format.JSON, offsets: tuple[Offset, ...] | None = None) -> Subscription:
    return Subscription("team", "https://hooks.example.org/services/T0/B0/XYZ", fmt, CREATED,
                        offsets=offsets)


def _occurrence(register: Register, oid: str) -> Occurrence:
    found = {o.id: o for o in occurrences(register, date(2006, 12, 31))}
    return found[oid]


def _reminders(register: Register, oid: str, sub: Subscription | None = None) -> list[Reminder]:
    return occurrence_reminders(sub or _sub(), _occurrence(register, oid), register)


# --- classify, retries, Retry-After ------------------------------------------------------------

@pytest.mark.parametrize(("status", "outcome"), [
    (200, Outcome.SENT), (201, Outcome.SENT), (202, Outcome.SENT), (204, Outcome.SENT),
    (299, Outcome.SENT),
    (410, Outcome.GONE),
    (408, Outcome.RETRY), (425, Outcome.RETRY),
    (429, Outcome.RETRY), (500, Outcome.RETRY), (502, Outcome.RETRY), (503, Outcome.RETRY),
    (504, Outcome.RETRY), (599, Outcome.RETRY),
    (100, Outcome.DEAD), (300, Outcome.DEAD), (301, Outcome.DEAD), (302, Outcome.DEAD),
    (304, Outcome.DEAD), (307, Outcome.DEAD), (308, Outcome.DEAD), (400, Outcome.DEAD),
    (401, Outcome.DEAD), (403, Outcome.DEAD), (404, Outcome.DEAD), (405, Outcome.DEAD),
    (409, Outcome.DEAD), (413, Outcome.DEAD), (422, Outcome.DEAD), (600, Outcome.DEAD),
])
def test_classify(status: int, outcome: Outcome) -> None:
    assert delivery.classify(status) is outcome


def test_the_schedule_is_svix_eight_attempts_over_about_27_hours() -> None:
    assert [d.total_seconds() for d in delivery.RETRY_DELAYS] == [
        5, 300, 1800, 7200, 18000, 36000, 36000]
    total = sum(delivery.RETRY_DELAYS, timedelta())
    assert total == timedelta(hours=27, minutes=35, seconds=5)


def test_retry_delay_jitters_within_20_percent_then_gives_up() -> None:
    rng = random.Random(20240601)
    delays = [delivery.retry_delay(n, None, rng) for n in range(1, 8)]
    for delay, nominal in zip(delays, delivery.RETRY_DELAYS, strict=True):
        assert delay is not None
        assert nominal * 0.8 <= delay <= nominal * 1.2
    assert len({d / n for d, n in zip(delays, delivery.RETRY_DELAYS, strict=True)
                if d is not None}) == 7  # jittered, not fixed
    assert delivery.retry_delay(8, None, rng) is None
    assert delivery.retry_delay(9, timedelta(seconds=1), rng) is None
    # The same seed, the same schedule: a test (or a replay) can pin it.
    again = random.Random(20240601)
    assert [delivery.retry_delay(n, None, again) for n in range(1, 8)] == delays
    with pytest.raises(ValueError, match="starts at 1"):
        delivery.retry_delay(0, None, rng)


def test_retry_after_replaces_the_scheduled_delay_up_to_a_day() -> None:
    rng = random.Random(1)
    assert delivery.retry_delay(1, timedelta(seconds=60), rng) == timedelta(seconds=60)
    assert delivery.retry_delay(1, timedelta(days=3), rng) == timedelta(hours=24)
    # Issue 23: after the first retry, a Retry-After shorter than the schedule's floor is
    # ignored (it spent the whole budget in seconds); the fourth retry waits 2 h +- 20 %.
    short = delivery.retry_delay(4, timedelta(seconds=2), rng)
    assert short is not None and timedelta(minutes=96) <= short <= timedelta(minutes=144)
    assert delivery.retry_delay(4, timedelta(minutes=96), rng) == timedelta(minutes=96)


NOW = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("2", timedelta(seconds=2)),
    (" 120 ", timedelta(seconds=120)),
    ("0", timedelta(0)),
    ("-5", timedelta(0)),
    ("Wed, 21 Oct 2015 07:28:30 GMT", timedelta(seconds=30)),
    ("Wed, 21 Oct 2015 09:28:00 +0200", timedelta(0)),  # the same instant, another zone
    ("Wed, 21 Oct 2015 07:00:00 GMT", timedelta(0)),  # already past
    ("9" * 5000, timedelta(days=366)),
    ("soon", None),
    ("1.5", None),
    ("", None),
    (None, None),
])
def test_parse_retry_after(value: str | None, expected: timedelta | None) -> None:
    assert delivery.parse_retry_after(value, NOW) == expected


# --- secrets out of sight ----------------------------------------------------------------------

@pytest.mark.parametrize(("url", "shown"), [
    ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/services/…"),
    ("http://127.0.0.1:8000/hook", "http://127.0.0.1:8000/hook"),
    ("https://u:p@x.org/a?token=1", "https://…@x.org/a?…"),
    ("https://x.org", "https://x.org"),
    ("https://x.org/a/", "https://x.org/a/"),
    ("https://x.org/a#key", "https://x.org/a#…"),
    ("http://[::1]:8080/a/b", "http://[::1]:8080/a/…"),
    ("not a url", "…"),
    ("http://x.org:port/a", "…"),
])
def test_mask_url(url: str, shown: str) -> None:
    assert delivery.mask_url(url) == shown


def test_redact_hides_the_url_its_path_and_the_secret() -> None:
    url = "https://hooks.slack.com/services/T0/B0/XYZ"
    secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="
    text = (f"POST {url} failed; retried /services/T0/B0/XYZ; key {secret}; "
            "bare c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
    assert delivery.redact(text, url, secret) == (
        "POST https://hooks.slack.com/services/… failed; retried /services/…; key whsec_…; "
        "bare whsec_…")
    assert delivery.redact("to https://u:p@x.org/a?token=1 (/a?token=1)",
                         "https://u:p@x.org/a?token=1", None) == "to https://…@x.org/a?… (/a?…)"
    assert delivery.redact("nothing secret", url, None) == "nothing secret"


def test_new_secret_is_a_standard_webhooks_key() -> None:
    first, second = delivery.new_secret(), delivery.new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 24
    standardwebhooks.Webhook(first)  # accepted


# --- JSON payloads ----------------------------------------------------------------------------

def test_json_payload_of_one_reminder(sample: Register) -> None:
    o = _occurrence(sample, "victims-review")
    thirty, overdue = occurrence_reminders(_sub(), o, sample)
    assert (thirty.offset, overdue.offset) == ("P30D", "overdue")
    body = delivery.render(Format.JSON, [thirty], sample, LINK + "/")
    expected = {
        "type": "obligation.reminder",
        "timestamp": "2002-12-01T09:00:00Z",
        "data": {"reminders": [{
            "type": "obligation.reminder",
            "subscription": "team",
            "offset": "P30D",
            "remind_at": "2002-12-01T09:00:00Z",
            "days_left": 30,
            "estimated": False,
            "counted_from": "2002-12-31",
            "detail": None,
            "url": "https://cal.example.org/obligations/victims-review",
            "occurrence": occurrence_json(o, sample),
        }]},
    }
    # Exactly these bytes: compact, in this key order, non-ASCII kept.
    assert body == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    parsed = json.loads(body)
    occ = parsed["data"]["reminders"][0]["occurrence"]
    assert (occ["id"], occ["kind"], occ["when"], occ["date"]["due"]) == (
        "victims-review", "target", "by end of 2002", "2002-12-31")
    assert occ["sources"][0]["url"] == "https://undocs.org/A/RES/55/59"

    late = json.loads(delivery.render(Format.JSON, [overdue], sample, LINK))
    assert late["type"] == "obligation.overdue"
    assert late["timestamp"] == "2003-01-01T09:00:00Z"
    assert late["data"]["reminders"][0]["days_left"] == -1
    assert late["data"]["reminders"][0]["offset"] == "overdue"


def test_json_digest_is_most_urgent_first_and_stamped_with_the_earliest(
        sample: Register) -> None:
    """Fewest days left first, then the earliest day; the timestamp is the earliest
    reminder's instant, wherever it stands."""
    due = [r for r in _reminders(sample, "tenth-session-month") if r.offset == "P0D"]
    report = [r for r in _reminders(sample, "report-tenth-session") if r.offset == "P7D"]
    session = [r for r in _reminders(sample, "commission-sessions#10") if r.offset == "P0D"]
    given = [*due, *session, *report]
    body = delivery.render(Format.JSON, given, sample, LINK)
    parsed = json.loads(body)
    assert parsed["type"] == "obligation.digest"
    assert parsed["timestamp"] == "2001-05-01T09:00:00Z"
    assert [(r["occurrence"]["id"], r["type"], r["remind_at"], r["days_left"])
            for r in parsed["data"]["reminders"]] == [
        ("commission-sessions#10", "obligation.due", "2001-05-08T09:00:00Z", 0),
        ("tenth-session-month", "obligation.due", "2001-05-31T09:00:00Z", 0),
        ("report-tenth-session", "obligation.reminder", "2001-05-01T09:00:00Z", 7),
    ]
    assert parsed["data"]["reminders"][0]["url"] == f"{LINK}/obligations/commission-sessions"
    # Deterministic: the order given does not change a byte.
    assert delivery.render(Format.JSON, list(reversed(given)), sample, LINK) == body


def test_render_refuses_an_empty_or_mixed_message(sample: Register) -> None:
    with pytest.raises(ValueError, match="at least one"):
        delivery.render(Format.JSON, [], sample, LINK)
    other = Subscription("other", "https://x.org/h", Format.JSON, CREATED)
    mixed = _reminders(sample, "victims-review") + _reminders(sample, "biennium", other)
    with pytest.raises(ValueError, match="one subscription"):
        delivery.render(Format.JSON, mixed, sample, LINK)


# --- Slack payloads ---------------------------------------------------------------------------

def test_slack_message_of_one_reminder(sample: Register) -> None:
    thirty = _reminders(sample, "victims-review", _sub(Format.SLACK))[0]
    message = json.loads(delivery.render(Format.SLACK, [thirty], sample, LINK))
    link = "https://cal.example.org/obligations/victims-review"
    assert message == {
        "text": f"Due in 30 days: Review practices relating to victims of crime "
                f"(by end of 2002) {link}",
        "blocks": [
            {"type": "header", "text": {
                "type": "plain_text", "emoji": False,
                "text": "Due in 30 days: Review practices relating to victims of crime"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": (
                f"*<{link}|Review practices relating to victims of crime>*\n"
                "*When:* by end of 2002 (in 30 days)\n"
                "*Who:* Member States\n"
                "*Source:* <https://undocs.org/A/RES/55/59|A/RES/55/59 para. 27>")}},
        ],
    }


def test_slack_says_today_overdue_and_starts(sample: Register) -> None:
    sub = _sub(Format.SLACK)
    late = [r for r in _reminders(sample, "victims-review", sub) if r.offset == "overdue"]
    today = [r for r in _reminders(sample, "tenth-congress", sub) if r.offset == "P0D"]
    week = [r for r in _reminders(sample, "tenth-congress", sub) if r.offset == "P7D"]

    def header(rs: list[Reminder]) -> str:
        text: str = json.loads(delivery.render(Format.SLACK, rs, sample, LINK))[
            "blocks"][0]["text"]["text"]
        return text

    assert header(late) == "1 day overdue: Review practices relating to victims of crime"
    assert header(today) == "Starts today: Tenth Congress, Vienna"
    assert header(week) == "Starts in 7 days: Tenth Congress, Vienna"
    section = json.loads(delivery.render(Format.SLACK, today, sample, LINK))["blocks"][1]
    assert "*When:* 10–17 April 2000 (today)" in section["text"]["text"]
    assert "*Where:* Vienna" in section["text"]["text"]


def test_slack_digest_of_60_stays_within_slacks_limits(sample: Register) -> None:
    offsets = tuple(Offset(days=n) for n in range(1, 61))
    sixty = _reminders(sample, "biennium", _sub(Format.SLACK, offsets))
    sixty = [r for r in sixty if r.offset != "overdue"]
    assert len(sixty) == 60
    message = json.loads(delivery.render(Format.SLACK, sixty, sample, LINK))
    blocks = message["blocks"]
    assert len(blocks) <= 50
    assert blocks[0] == {"type": "header", "text": {
        "type": "plain_text", "text": "60 reminders for team", "emoji": False}}
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) == 20
    assert [b["type"] for b in blocks[1:4]] == ["section", "divider", "section"]
    assert blocks[-1] == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": "…and 40 more, the soonest in 21 days"}]}
    # The most urgent first: 1 day before the due day, then 2...
    assert "(in 1 day)" in sections[0]["text"]["text"]
    assert "(in 20 days)" in sections[19]["text"]["text"]
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    text = message["text"]
    assert len(text) <= 3000
    lines = text.split("\n")
    shown, last = lines[:-1], lines[-1]
    assert shown[0] == ("Due in 1 day: The biennium 2002-2003 (2002–2003) "
                        "https://cal.example.org/obligations/biennium")
    assert last == f"…and {60 - len(shown)} more, the soonest in {len(shown) + 1} days"
    assert 10 < len(shown) < 60


def test_slack_escapes_control_characters_and_clips_the_header() -> None:
    register = parse_register(SAMPLE.read_text() + """
  - id: arms
    title: Arms & ammunition <draft> -> final
    kind: deadline
    date: 2004-06-30
    location: <Vienna & Geneva>
    actors: [member-states]
    areas: [governance]
    sources:
      - {doc: A/RES/55/59, para: "29", quote: design specific measures}
  - id: long
    title: LONG_TITLE
    kind: deadline
    date: 2004-06-30
    actors: [member-states]
    areas: [governance]
    sources:
      - {doc: A/RES/55/59, para: "29", quote: design specific measures}
""".replace("LONG_TITLE", ("Very long title " * 20).strip()), "sample.yaml")
    sub = _sub(Format.SLACK, (Offset(days=7),))
    arms = _reminders(register, "arms", sub)[0]
    message = json.loads(delivery.render(Format.SLACK, [arms], register, LINK))
    section = message["blocks"][1]["text"]["text"]
    assert section.startswith(f"*<{LINK}/obligations/arms|Arms &amp; ammunition "
                              "&lt;draft&gt; -&gt; final>*\n")
    assert "*Where:* &lt;Vienna &amp; Geneva&gt;" in section
    assert "<draft>" not in section and "& " not in section
    # plain_text is shown as it is: Slack does not read markup there.
    assert message["blocks"][0]["text"]["text"] == (
        "Due in 7 days: Arms & ammunition <draft> -> final")
    assert message["text"].startswith("Due in 7 days: Arms &amp; ammunition &lt;draft&gt; ")

    long = _reminders(register, "long", sub)[0]
    header = json.loads(delivery.render(Format.SLACK, [long], register, LINK))["blocks"][0]
    assert len(header["text"]["text"]) == 150
    assert header["text"]["text"].startswith("Due in 7 days: Very long title Very")
    assert header["text"]["text"].endswith("…")


# --- headers and signatures -------------------------------------------------------------------

def test_headers_without_a_secret() -> None:
    assert delivery.headers("msg_1", "{}", SPEC_TIME, None) == {
        "content-type": "application/json",
        "user-agent": f"calendar-tool/{calendar_tool.__version__}",
        "webhook-id": "msg_1",
    }


def test_signature_matches_the_spec_and_an_independent_hmac() -> None:
    h = delivery.headers(SPEC_ID, SPEC_BODY, SPEC_TIME, SPEC_SECRET)
    assert h["webhook-id"] == SPEC_ID
    assert h["webhook-timestamp"] == "1614265330"
    assert h["webhook-signature"] == SPEC_SIGNATURE
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{SPEC_ID}.1614265330.{SPEC_BODY}".encode(), hashlib.sha256).digest()
    assert h["webhook-signature"] == "v1," + base64.b64encode(mac).decode()
    # The same instant in another zone signs the same.
    vienna = SPEC_TIME.astimezone(timezone(timedelta(hours=1)))
    assert delivery.headers(SPEC_ID, SPEC_BODY, vienna, SPEC_SECRET) == h
    with pytest.raises(ValueError, match="aware"):
        delivery.headers(SPEC_ID, SPEC_BODY, datetime(2021, 2, 25), SPEC_SECRET)


def test_signature_verifies_with_the_reference_library(sample: Register) -> None:
    secret = delivery.new_secret()
    body = delivery.render(Format.JSON, _reminders(sample, "victims-review"), sample, LINK)
    h = delivery.headers("victims-review/P30D", body, datetime.now(UTC), secret)
    assert standardwebhooks.Webhook(secret).verify(body, h) == json.loads(body)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(delivery.new_secret()).verify(body, h)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body.replace("30", "31"), h)


# --- sending to a real receiver ---------------------------------------------------------------

BODY = '{"type":"obligation.reminder"}'


def _send(client: httpx.Client, url: str, now: datetime = NOW,
          secret: str | None = None, message_id: str = "m1") -> Attempt:
    return delivery.send(client, url, BODY, delivery.headers(message_id, BODY, now, secret), now,
                       secret)


def test_send_200_is_sent(client: httpx.Client, receiver: Receiver) -> None:
    attempt = _send(client, receiver.url)
    assert (attempt.outcome, attempt.status, attempt.error, attempt.retry_after) == (
        Outcome.SENT, 200, None, None)
    assert 0 < attempt.latency < 2
    [got] = receiver.requests
    assert (got.path, got.body, got.json, got.status_sent, got.verified) == (
        "/hook", BODY.encode(), {"type": "obligation.reminder"}, 200, None)
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == "m1"
    assert receiver.ids() == ["m1"]


@pytest.mark.parametrize(("behaviour", "outcome", "status", "error"), [
    (Accept(204), Outcome.SENT, 204, None),
    (Fail(500), Outcome.RETRY, 500, "HTTP 500 Internal Server Error"),
    (Fail(503), Outcome.RETRY, 503, "HTTP 503 Service Unavailable"),
    (Gone(), Outcome.GONE, 410, "HTTP 410 Gone"),
    (Fail(404), Outcome.DEAD, 404, "HTTP 404 Not Found"),
    (Fail(400), Outcome.DEAD, 400, "HTTP 400 Bad Request"),
])
def test_send_classifies_the_answer(client: httpx.Client, receiver: Receiver,
                                    behaviour: Accept | Fail | Gone, outcome: Outcome,
                                    status: int, error: str | None) -> None:
    receiver.script(behaviour)
    attempt = _send(client, receiver.url)
    assert (attempt.outcome, attempt.status, attempt.error, attempt.retry_after) == (
        outcome, status, error, None)
    assert receiver.requests[0].status_sent == status
    assert receiver.accepted() == ([] if status >= 300 else receiver.requests)


def test_send_429_reads_retry_after(client: httpx.Client, receiver: Receiver) -> None:
    receiver.script(RateLimit("2"), RateLimit(format_datetime(NOW + timedelta(seconds=90),
                                                              usegmt=True)), RateLimit("soon"))
    first, second, third = (_send(client, receiver.url) for _ in range(3))
    assert (first.outcome, first.status, first.error) == (
        Outcome.RETRY, 429, "HTTP 429 Too Many Requests")
    assert first.retry_after == timedelta(seconds=2)
    assert second.retry_after == timedelta(seconds=90)  # an HTTP-date, read against `now`
    assert third.retry_after is None
    assert delivery.retry_delay(1, first.retry_after, random.Random(3)) == timedelta(seconds=2)


def test_send_never_follows_a_redirect(client: httpx.Client, receiver: Receiver) -> None:
    receiver.script(Redirect(f"{receiver.base}/elsewhere/secret?k=1"))
    attempt = _send(client, receiver.url)
    assert (attempt.outcome, attempt.status) == (Outcome.DEAD, 301)
    assert attempt.error == (f"HTTP 301 Moved Permanently: redirects are not followed "
                             f"(to {receiver.base}/elsewhere/…?…)")
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_send_times_out_as_a_retry(receiver: Receiver) -> None:
    """A receiver that takes the request and does not answer in time is a retry, said as
    what it did: where it is and how long it was given."""
    receiver.script(Stall(5))
    with delivery.make_client(timeout=0.3) as quick:
        attempt = _send(quick, receiver.url)
    assert (attempt.outcome, attempt.status, attempt.retry_after) == (Outcome.RETRY, None, None)
    assert attempt.error == \
        f"127.0.0.1:{receiver.port} took the request but did not answer in full within 0.3 s"
    assert 0.3 <= attempt.latency < 2
    receiver.close()  # releases the stall, which finds the client gone and answers nothing
    assert [r.status_sent for r in receiver.requests] == [0]
    assert receiver.accepted() == []


def test_send_to_a_closed_port_says_nothing_listens_there(client: httpx.Client) -> None:
    """Connection refused reads "nothing listens at host:port", with no path or query."""
    port = closed_port()
    attempt = _send(client, f"http://127.0.0.1:{port}/hook/s3cr3t-path?token=t0k3n")
    assert (attempt.outcome, attempt.status) == (Outcome.RETRY, None)
    assert attempt.error == f"nothing listens at 127.0.0.1:{port} (connection refused)"


def test_send_to_an_unknown_host_names_the_host(client: httpx.Client) -> None:
    """A host name that does not resolve (.invalid never does, RFC 2606) is named, with the
    resolver's reason, and the URL's path stays out."""
    attempt = _send(client, "http://no-such-host.invalid/hook/s3cr3t-path")
    assert (attempt.outcome, attempt.status) == (Outcome.RETRY, None)
    assert attempt.error is not None
    assert attempt.error.startswith("the host name 'no-such-host.invalid' is not known (")
    assert "s3cr3t" not in attempt.error


def test_send_to_a_host_that_never_accepts_times_out_connecting() -> None:
    """A connection that is never accepted is a retry: "did not accept a connection"."""
    with unanswered_port() as port, delivery.make_client(timeout=0.3) as quick:
        attempt = _send(quick, f"http://127.0.0.1:{port}/hook")
    assert (attempt.outcome, attempt.status) == (Outcome.RETRY, None)
    assert attempt.error == f"127.0.0.1:{port} did not accept a connection within 0.3 s"


def test_send_to_a_receiver_that_hangs_up_says_so(client: httpx.Client) -> None:
    """A receiver that closes the connection without answering is a retry, said so."""
    with hanging_up_port() as port:
        attempt = _send(client, f"http://127.0.0.1:{port}/hook")
    assert (attempt.outcome, attempt.status) == (Outcome.RETRY, None)
    assert attempt.error == f"127.0.0.1:{port} closed the connection without a complete answer"


def test_send_https_to_a_plain_http_receiver_fails_the_handshake(client: httpx.Client,
                                                                  receiver: Receiver) -> None:
    """https:// to a receiver that speaks plain HTTP names the TLS failure and where."""
    attempt = _send(client, f"https://127.0.0.1:{receiver.port}/hook/s3cr3t")
    assert (attempt.outcome, attempt.status) == (Outcome.RETRY, None)
    assert attempt.error is not None
    assert attempt.error.startswith(f"no secure connection with 127.0.0.1:{receiver.port}: ")
    assert "s3cr3t" not in attempt.error


def test_send_to_an_unusable_url_is_dead(client: httpx.Client) -> None:
    attempt = _send(client, "ftp://files.example.org/s3cr3t-path/x")
    assert (attempt.outcome, attempt.status) == (Outcome.DEAD, None)
    assert attempt.error == "not an http:// or https:// URL"


def test_no_error_shows_the_secret_path(client: httpx.Client,
                                        receiver: Receiver) -> None:
    secret = delivery.new_secret()
    hidden = "/hook/s3cr3t-path/more?token=t0k3n"
    receiver.script(Fail(500), Gone(), Fail(404), RateLimit("1"),
                    Redirect(f"{receiver.base}{hidden}"), Stall(5))
    errors = [_send(client, receiver.base + hidden, secret=secret).error for _ in range(5)]
    with delivery.make_client(timeout=0.2) as quick:
        errors.append(_send(quick, receiver.base + hidden, secret=secret).error)
    errors.append(_send(client, f"http://127.0.0.1:{closed_port()}{hidden}",
                        secret=secret).error)
    assert all(errors)
    for error in errors:
        assert error is not None
        assert "s3cr3t" not in error and "t0k3n" not in error
        assert secret.removeprefix("whsec_") not in error


# --- the receiver's own checks ---------------------------------------------------------------

def test_receiver_verifies_signatures(client: httpx.Client) -> None:
    secret = delivery.new_secret()
    with Receiver(secret=secret) as signed:
        good = _send(client, signed.url, now=datetime.now(UTC), secret=secret)
        forged = _send(client, signed.url, now=datetime.now(UTC), secret=delivery.new_secret())
        unsigned = _send(client, signed.url, now=datetime.now(UTC))
        assert [good.outcome, forged.outcome, unsigned.outcome] == [
            Outcome.SENT, Outcome.DEAD, Outcome.DEAD]
        assert [(r.verified, r.status_sent) for r in signed.requests] == [
            (True, 200), (False, 400), (False, 400)]


def test_receiver_reads_the_timestamp_against_the_injected_clock(
        client: httpx.Client) -> None:
    secret = delivery.new_secret()
    then = datetime(2002, 12, 1, 9, 0, tzinfo=UTC)
    with Receiver(secret=secret, now=lambda: then + timedelta(seconds=30)) as clocked:
        assert _send(client, clocked.url, now=then, secret=secret).outcome is Outcome.SENT
        stale = then - timedelta(minutes=6)
        assert _send(client, clocked.url, now=stale, secret=secret).outcome is Outcome.DEAD
        assert [r.verified for r in clocked.requests] == [True, False]
    # The library alone reads it against the wall clock, where 2002 is far too old.
    with Receiver(secret=secret) as wall:
        assert _send(client, wall.url, now=then, secret=secret).outcome is Outcome.DEAD


def test_closing_the_receiver_releases_a_stall(client: httpx.Client) -> None:
    results: list[Attempt] = []
    with Receiver() as r:
        r.script(Stall(30))
        sender = threading.Thread(target=lambda: results.append(_send(client, r.url)))
        started = time.monotonic()
        sender.start()
        [pending] = r.wait_for(1, timeout=3)
        assert pending.status_sent == 0 and r.accepted() == []
        r.close()
        sender.join(timeout=5)
    assert time.monotonic() - started < 3
    assert [a.outcome for a in results] == [Outcome.SENT]
    assert [x.status_sent for x in r.requests] == [200]
    with pytest.raises(TimeoutError, match="1 of 2 requests"):
        r.wait_for(2, timeout=0.05)
