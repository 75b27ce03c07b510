"""Reminders delivered through the ledger to a real HTTP receiver on 127.0.0.1, on SQLite and
on PostgreSQL: once each, one webhook id across retries, the backoff schedule, Retry-After,
timeouts, 410 Gone, pacing, digests and the catch-up window. The clock is injected: tests move
it to the next attempt instead of sleeping."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from calendar_tool import delivery, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.model import Format, Offset, Register, Subscription
from tests.receiver import Accept, Fail, Gone, RateLimit, Receiver, Stall
from tests.registers import entry, register_of

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DUE = "2027-06-30"
AT_DUE = datetime(2027, 6, 30, 9, 0, tzinfo=UTC)
LINK = "http://127.0.0.1:8000"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT_DUE)


@pytest.fixture
def receiver(clock: FixedClock) -> Iterator[Receiver]:
    """Verifies every signature with the standardwebhooks library, against the test's clock."""
    with Receiver(secret=SECRET, now=clock.now) as r:
        yield r


def subscribe(engine: store.Engine, register: Register, url: str, name: str = "team",
              **kw: object) -> Subscription:
    values: dict[str, object] = {
        "name": name, "url": url, "format": Format.JSON, "secret": SECRET,
        "created_at": datetime(2027, 1, 1, tzinfo=UTC), "offsets": (Offset(),),
        "overdue": False}
    values.update(kw)
    return service.add_subscription(engine, register, Subscription(**values))  # type: ignore[arg-type]


def _queue_one(engine: store.Engine, clock: FixedClock, receiver: Receiver,
               *behaviours: Accept | Fail | Stall | RateLimit | Gone) -> Register:
    """One deadline due now, one subscription, the receiver's answers scripted, queued."""
    reg = register_of(entry("a", DUE))
    subscribe(engine, reg, receiver.url)
    receiver.script(*behaviours)
    assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(1, 1, 0)
    return reg


def deliver(engine: store.Engine, clock: FixedClock, timeout: float = 5.0
            ) -> list[store.Result]:
    with delivery.Senders(timeout) as client:
        return service.deliver(engine, client, clock, "test-owner",
                               service.Policy(timeout=timeout), random.Random(7))


def ledger(engine: store.Engine, clock: FixedClock) -> list[tuple[str, str, str, int]]:
    return [(v.occurrence_id, v.offset, v.status, v.attempts)
            for v in store.deliveries(engine, clock.now())]


def test_a_receiver_failing_three_times_gets_the_reminder_once_under_one_id(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    reg = _queue_one(engine, clock, receiver, Fail(500), Fail(502), Fail(503), Accept())
    deliver(engine, clock)
    for _ in range(3):
        [view] = store.deliveries(engine, clock.now())
        assert view.status == "retrying" and view.next_attempt_at is not None
        # Not a moment before the scheduled retry ...
        clock.advance_to(view.next_attempt_at - timedelta(seconds=1))
        assert deliver(engine, clock) == []
        # ... and then at it.
        clock.advance_to(view.next_attempt_at)
        deliver(engine, clock)

    assert [r.status_sent for r in receiver.requests] == [500, 502, 503, 200]
    assert len(set(receiver.ids()) | {r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert all(r.verified for r in receiver.requests)
    assert ledger(engine, clock) == [("a", "P0D", "sent", 4)]
    tries = store.attempts(engine)
    assert [(a.number, a.status) for a in tries] == [(1, 500), (2, 502), (3, 503), (4, 200)]
    gaps = [(b.at - a.at).total_seconds() for a, b in pairwise(tries)]
    # Svix's schedule, +-20% jitter: 5 s, 5 min, 30 min.
    assert 4 <= gaps[0] <= 6 and 240 <= gaps[1] <= 360 and 1440 <= gaps[2] <= 2160
    # Nothing more is sent however long we wait.
    clock.advance_to(clock.now() + timedelta(days=3))
    assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(0, 0, 0)
    assert deliver(engine, clock) == []
    assert len(receiver.requests) == 4


def test_a_stalled_receiver_costs_one_timeout_per_attempt(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    _queue_one(engine, clock, receiver, Stall(30))
    started = time.monotonic()
    [result] = deliver(engine, clock, timeout=0.3)
    assert time.monotonic() - started < 3
    assert result.state == "pending" and result.status is None
    assert result.error == \
        f"127.0.0.1:{receiver.port} took the request but did not answer in full within 0.3 s"
    assert 0.3 <= result.latency < 3
    assert ledger(engine, clock) == [("a", "P0D", "retrying", 1)]


def test_a_429_with_retry_after_2_is_retried_no_sooner(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    _queue_one(engine, clock, receiver, RateLimit("2"))
    deliver(engine, clock)
    clock.advance_to(AT_DUE + timedelta(seconds=1.9))
    assert deliver(engine, clock) == []
    assert len(receiver.requests) == 1
    clock.advance_to(AT_DUE + timedelta(seconds=2))
    [result] = deliver(engine, clock)
    assert result.state == "sent"
    assert [r.status_sent for r in receiver.requests] == [429, 200]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


def test_410_gone_disables_the_subscription_and_its_pending_messages(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    reg = register_of(entry("a", DUE), entry("b", "2027-06-29"))
    subscribe(engine, reg, receiver.url)
    receiver.script(Gone())
    # Two reminders in different hours (yesterday's, within the catch-up window): two messages.
    assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(2, 2, 0)
    deliver(engine, clock)
    [info] = store.subscriptions(engine)
    assert info.subscription.enabled is False
    assert info.disabled_reason is not None and "410 Gone" in info.disabled_reason
    assert sorted(ledger(engine, clock)) == [("a", "P0D", "dead", 0), ("b", "P0D", "dead", 1)]
    clock.advance_to(AT_DUE + timedelta(days=1))
    assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(0, 0, 0)
    assert deliver(engine, clock) == []
    assert len(receiver.requests) == 1


def test_other_4xx_is_dead_at_once(engine: store.Engine, clock: FixedClock,
                                   receiver: Receiver) -> None:
    _queue_one(engine, clock, receiver, Fail(404))
    deliver(engine, clock)
    clock.advance_to(AT_DUE + timedelta(days=2))
    assert deliver(engine, clock) == []
    [view] = store.deliveries(engine, clock.now(), statuses=["dead"])
    assert (view.status, view.attempts, view.last_status) == ("dead", 1, 404)


def test_after_the_last_attempt_the_delivery_is_dead_and_visible(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    _queue_one(engine, clock, receiver, *[Fail(503)] * 8)
    deliver(engine, clock)
    while (views := store.deliveries(engine, clock.now(), statuses=["retrying"])):
        assert views[0].next_attempt_at is not None
        clock.advance_to(views[0].next_attempt_at)
        deliver(engine, clock)
    [view] = store.deliveries(engine, clock.now())
    assert (view.status, view.attempts, view.last_status) == ("dead", 8, 503)
    # About a day of trying: 5 s + 5 min + 30 min + 2 h + 5 h + 10 h + 10 h, +-20%.
    span = clock.now() - AT_DUE
    assert timedelta(hours=22) <= span <= timedelta(hours=34)
    assert len(receiver.requests) == 8
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


def test_reminders_in_the_same_hour_go_as_one_digest(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    reg = register_of(entry("a", DUE), entry("b", DUE), entry("c", DUE, kind="target"))
    subscribe(engine, reg, receiver.url)
    assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(1, 3, 0)
    deliver(engine, clock)
    [request] = receiver.requests
    assert request.json["type"] == "obligation.digest"
    assert [r["occurrence"]["id"] for r in request.json["data"]["reminders"]] == ["a", "b", "c"]
    assert ledger(engine, clock) == [(k, "P0D", "sent", 1) for k in ("a", "b", "c")]


def test_offsets_that_fall_on_the_same_instant_remind_once(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    """P1Y and P12M are the same day, and so are P1M and P31D before 31 March (28 February):
    each pair is one reminder, the first offset in order. Before, the message held the same
    line twice ("Due in 365 days" for P12M and for P1Y) and the ledger two rows."""
    reg = register_of(entry("a", "2027-03-31"))
    subscribe(engine, reg, receiver.url, created_at=datetime(2026, 1, 1, tzinfo=UTC),
              offsets=(Offset(years=1), Offset(months=12), Offset(days=31), Offset(months=1)))
    receiver.script(Accept(), Accept())
    for at in (datetime(2026, 3, 31, 9, tzinfo=UTC), datetime(2027, 2, 28, 9, tzinfo=UTC)):
        clock.advance_to(at)
        assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(1, 1, 0)
        deliver(engine, clock)
        assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(0, 0, 0)
    assert [(r.json["type"], [(x["offset"], x["remind_at"], x["days_left"])
                              for x in r.json["data"]["reminders"]])
            for r in receiver.accepted()] == [
        ("obligation.reminder", [("P12M", "2026-03-31T09:00:00Z", 365)]),
        ("obligation.reminder", [("P1M", "2027-02-28T09:00:00Z", 31)])]
    assert sorted(ledger(engine, clock)) == [("a", "P12M", "sent", 1), ("a", "P1M", "sent", 1)]


def test_slack_digest_and_pacing_per_subscription(engine: store.Engine,
                                                  clock: FixedClock) -> None:
    """Two messages for one Slack webhook (two hours) go at least a second apart: the pacing
    waits with the injected sleep, which moves the clock."""
    reg = register_of(entry("a", DUE), entry("b", DUE), entry("c", "2027-06-29"))
    with Receiver() as slack:
        subscribe(engine, reg, slack.url, format=Format.SLACK, secret=None)
        assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(2, 3, 0)
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            clock.advance_to(clock.now() + timedelta(seconds=seconds))

        with delivery.Senders(5) as client:
            results = service.deliver_ready(engine, client, clock, "owner", sleep)
        assert [r.state for r in results] == ["sent", "sent"]
        assert slept == [1.0]
        first, second = slack.requests
        assert "webhook-signature" not in first.headers
        assert first.json["blocks"][0]["text"]["text"].startswith("Due today")
        assert len([b for b in second.json["blocks"] if b["type"] == "section"]) == 2
        tries = store.attempts(engine)
        assert tries[1].at - tries[0].at == timedelta(seconds=1)


def test_past_the_catch_up_window_reminders_are_skipped_not_sent(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    reg = register_of(entry("a", DUE))
    subscribe(engine, reg, receiver.url,
              offsets=(Offset(days=30), Offset(days=7), Offset(days=1), Offset()))
    # First look at 09:00 on the due day: the P30D and P7D reminders are older than 24 hours.
    assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(2, 2, 2)
    deliver(engine, clock)
    clock.advance_to(clock.now() + timedelta(seconds=1))
    deliver(engine, clock)
    assert sorted(ledger(engine, clock)) == [
        ("a", "P0D", "sent", 1), ("a", "P1D", "sent", 1), ("a", "P30D", "skipped", 0),
        ("a", "P7D", "skipped", 0)]
    assert len(receiver.requests) == 2


def test_a_new_subscription_on_the_real_register_sends_nothing_old(
        engine: store.Engine, real: Register, receiver: Receiver) -> None:
    now = FixedClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    subscribe(engine, real, receiver.url, created_at=now.now(), offsets=None, overdue=True)
    assert service.enqueue(engine, real, now, LINK) == store.Claimed(0, 0, 0)
    assert store.deliveries(engine, now.now()) == []


def test_a_reminder_an_edit_places_in_the_recent_past_is_still_sent(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    subscribe(engine, register_of(entry("a", "2027-07-30")), receiver.url)
    assert service.enqueue(engine, register_of(entry("a", "2027-07-30")), clock, LINK) == \
        store.Claimed(0, 0, 0)
    # An admin adds a deadline that fell due this morning; an hour later it is sent.
    later = FixedClock(AT_DUE + timedelta(hours=1))
    edited = register_of(entry("a", "2027-07-30"), entry("b", DUE))
    assert service.enqueue(engine, edited, later, LINK) == store.Claimed(1, 1, 0)


def _race_register() -> Register:
    return register_of(*(entry(f"e{i}", DUE) for i in range(5)),
                       *(entry(f"f{i}", "2027-06-29") for i in range(5)))


def test_two_claimants_racing_send_each_reminder_once(db_url: str, clock: FixedClock,
                                                      receiver: Receiver) -> None:
    """Two schedulers (each with its own engine, so its own connections and transactions)
    claim and deliver the same reminders at the same moment."""
    reg = _race_register()
    setup = store.open_store(db_url)
    for n in range(8):
        subscribe(setup, reg, f"{receiver.base}/hook/{n}", name=f"team-{n}")
    setup.dispose()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def claimant(owner: str) -> None:
        engine = store.open_store(db_url)
        try:
            barrier.wait()
            service.enqueue(engine, reg, clock, LINK)
            with delivery.Senders(5) as client:
                service.deliver_ready(engine, client, clock, owner, lambda s: None,
                                      service.Policy(pace=timedelta(0)))
        except BaseException as exc:  # reported below, with the thread's name
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=claimant, args=(f"owner-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    keys = Counter((r.path, item["occurrence"]["id"])
                   for r in receiver.accepted() for item in r.json["data"]["reminders"])
    assert len(keys) == 8 * 10
    assert set(keys.values()) == {1}
    assert len(receiver.ids()) == len(set(receiver.ids()))
    assert all(r.verified for r in receiver.requests)


def test_json_body_is_stored_once_and_sent_byte_for_byte_on_retry(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    _queue_one(engine, clock, receiver, Fail(500))
    deliver(engine, clock)
    [view] = store.deliveries(engine, clock.now())
    assert view.next_attempt_at is not None
    clock.advance_to(view.next_attempt_at)
    deliver(engine, clock)
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    doc = json.loads(first.body)
    assert (doc["type"], doc["timestamp"]) == ("obligation.due", "2027-06-30T09:00:00Z")
    [item] = doc["data"]["reminders"]
    assert (item["subscription"], item["offset"], item["days_left"], item["url"]) == (
        "team", "P0D", 0, "http://127.0.0.1:8000/obligations/a")


def test_secrets_stay_out_of_the_ledger_and_its_views(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    """A receiver that redirects, and one that cannot be reached, both at URLs whose path is
    a credential: neither the ledger nor `deliveries` shows it, nor the signing secret."""
    from calendar_tool.cli import views
    from tests.receiver import Redirect, closed_port

    reg = register_of(entry("a", DUE))
    subscribe(engine, reg, f"{receiver.base}/hooks/T0/B0/tOpSeCrEt", name="redirected")
    subscribe(engine, reg, f"http://127.0.0.1:{closed_port()}/hooks/T1/B1/tOpSeCrEt",
              name="absent")
    receiver.script(Redirect(f"{receiver.base}/elsewhere/tOpSeCrEt?key=1"))
    service.enqueue(engine, reg, clock, LINK)
    deliver(engine, clock)
    views_text = views.deliveries_table(store.deliveries(engine, clock.now())) + \
        views.deliveries_json(store.deliveries(engine, clock.now()), store.attempts(engine))
    errors = [a.error or "" for a in store.attempts(engine)]
    assert len(errors) == 2 and all(errors)
    for text in [views_text, *errors]:
        assert "tOpSeCrEt" not in text and SECRET not in text and SECRET[6:] not in text


def test_a_stop_hands_back_what_no_thread_has_started(
        engine: store.Engine, clock: FixedClock, receiver: Receiver) -> None:
    """How `run` stops on SIGTERM: the message being sent is finished and recorded, and those
    queued behind it are handed back, so that another sender takes them at once rather than
    when their leases run out."""
    reg = register_of(entry("a", DUE))
    for n in range(5):
        subscribe(engine, reg, f"{receiver.base}/hook/{n}", name=f"team-{n}")
    assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(5, 5, 0)
    receiver.script(Stall(0.5))  # the first request is held while the stop is asked
    one_thread = service.Policy(workers=1, pace=timedelta(0))
    with delivery.Senders(5) as client:
        stopped = service.deliver_ready(engine, client, clock, "stopping", lambda s: None,
                                        one_thread, stopping=lambda: bool(receiver.requests))
        assert [r.state for r in stopped] == ["sent"]
        assert sorted(v.status for v in store.deliveries(engine, clock.now())) == [
            "pending", "pending", "pending", "pending", "sent"]
        # Same instant, another sender: nothing is leased any more.
        rest = service.deliver_ready(engine, client, clock, "other", lambda s: None,
                                     one_thread)
    assert [r.state for r in rest] == ["sent"] * 4
    assert sorted(r.path for r in receiver.requests) == [f"/hook/{n}" for n in range(5)]


# --- every channel, the same promises ----------------------------------------------------------

CHAT = [Format.SLACK, Format.TEAMS, Format.DISCORD, Format.MATTERMOST]


@pytest.mark.parametrize("fmt", CHAT)
def test_every_chat_channel_is_sent_once_retried_after_retry_after_and_listed(
        engine: store.Engine, clock: FixedClock, fmt: Format) -> None:
    """Through the ledger to the real receiver: a 429 with Retry-After, then accepted (Teams
    answers 202 and nothing); once, under one webhook id, each attempt in `deliveries`, the
    URL's secret nowhere."""
    from calendar_tool.cli import views

    reg = register_of(entry("a", DUE), entry("b", DUE))
    with Receiver() as chat:
        subscribe(engine, reg, f"{chat.base}/hooks/sEcReT", format=fmt, secret=None)
        chat.script(RateLimit("2"), Accept(202, b"") if fmt is Format.TEAMS else Accept())
        assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(1, 2, 0)
        deliver(engine, clock)
        clock.advance_to(AT_DUE + timedelta(seconds=2))
        [result] = deliver(engine, clock)
        assert clock.now() == AT_DUE + timedelta(seconds=2)
        assert (result.state, result.status) == ("sent", 202 if fmt is Format.TEAMS else 200)
        first, second = chat.requests
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert (first.path == "/hooks/sEcReT?wait=true") is (fmt is Format.DISCORD)
    assert ledger(engine, clock) == [("a", "P0D", "sent", 2), ("b", "P0D", "sent", 2)]
    shown = json.loads(views.deliveries_json(store.deliveries(engine, clock.now()),
                                             store.attempts(engine)))
    assert [a["status"] for a in shown[0]["attempts"]] == [
        429, 202 if fmt is Format.TEAMS else 200]
    assert "sEcReT" not in json.dumps(shown)
    clock.advance_to(AT_DUE + timedelta(days=2))
    assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(0, 0, 0)


@pytest.mark.parametrize(("fmt", "answer", "status", "reason"), [
    (Format.DISCORD, Fail(404, b'{"message": "Unknown Webhook", "code": 10015}'), 404,
     "HTTP 404 Not Found: Discord says the webhook no longer exists (Unknown Webhook)"),
    (Format.SLACK, Fail(404, b"no_service"), 404,
     "HTTP 404 Not Found: Slack says the webhook was removed or disabled (no_service)"),
    (Format.TEAMS, Gone(), 410, "HTTP 410 Gone"),
    (Format.MATTERMOST, Gone(), 410, "HTTP 410 Gone"),
])
def test_each_channels_gone_disables_the_subscription(
        engine: store.Engine, clock: FixedClock, fmt: Format, answer: Fail | Gone,
        status: int, reason: str) -> None:
    """A deleted webhook, said each channel's way: the subscription is disabled with the
    reason, its other messages are dead, and nothing more is sent."""
    reg = register_of(entry("a", DUE), entry("b", "2027-06-29"))
    with Receiver() as chat:
        subscribe(engine, reg, chat.url, format=fmt, secret=None)
        chat.script(answer)
        assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(2, 2, 0)
        deliver(engine, clock)
        [info] = store.subscriptions(engine)
        assert info.subscription.enabled is False
        assert info.disabled_reason == f"the receiver answered {reason} at {AT_DUE.isoformat()}"
        assert sorted(ledger(engine, clock)) == [("a", "P0D", "dead", 0), ("b", "P0D", "dead", 1)]
        assert store.attempts(engine)[0].status == status
        clock.advance_to(AT_DUE + timedelta(days=1))
        assert deliver(engine, clock) == []
        assert len(chat.requests) == 1


@pytest.mark.parametrize(("fmt", "answer", "error"), [
    (Format.MATTERMOST, Fail(400, b'{"id": "web.incoming_webhook.invalid.app_error", '
                                  b'"message": "Invalid webhook", "status_code": 400}'),
     "HTTP 400 Bad Request: Mattermost does not know this hook: it was deleted, or the URL is "
     "wrong (web.incoming_webhook.invalid.app_error)"),
    (Format.MATTERMOST, Fail(501, b'{"id": "web.incoming_webhook.disabled.app_error"}'),
     "HTTP 501 Not Implemented: incoming webhooks are turned off on this Mattermost server"),
    (Format.TEAMS, Fail(401, b""), "HTTP 401 Unauthorized: the workflow refuses anonymous "
     "calls: set its trigger's \"Who can trigger the flow\" to Anyone"),
    (Format.DISCORD, Fail(401, b'{"message": "Invalid Webhook Token", "code": 50027}'),
     "HTTP 401 Unauthorized: Discord refused the webhook's token"),
])
def test_each_channels_settled_refusal_is_dead_and_says_why(
        engine: store.Engine, clock: FixedClock, fmt: Format, answer: Fail, error: str) -> None:
    _queue = register_of(entry("a", DUE))
    with Receiver() as chat:
        subscribe(engine, _queue, chat.url, format=fmt, secret=None)
        chat.script(answer)
        service.enqueue(engine, _queue, clock, LINK)
        [result] = deliver(engine, clock)
    assert (result.state, result.error) == ("dead", error)
    [info] = store.subscriptions(engine)
    assert info.subscription.enabled is True
