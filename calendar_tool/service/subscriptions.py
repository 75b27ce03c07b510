"""Subscriptions: adding (checked, a JSON one given its signing secret; the format a URL's
service takes), listing, removing, a test message, and the ledger of what was sent to them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from calendar_tool import delivery, store, wording
from calendar_tool.clock import Clock
from calendar_tool.delivery import BEGINNING, subscription_problems
from calendar_tool.errors import DeliveryFailed, SubscriptionInvalid, UnknownSubscription
from calendar_tool.model import (
    OVERDUE,
    DatedValue,
    Entry,
    Format,
    Kind,
    Notice,
    Occurrence,
    Outbound,
    Register,
    Reminder,
    Subscription,
)
from calendar_tool.service.reminders import plan


def check_subscription(sub: Subscription, register: Register) -> None:
    problems = subscription_problems(sub, register)
    if problems:
        raise SubscriptionInvalid(problems)


def add_subscription(engine: store.Engine, register: Register, sub: Subscription
                     ) -> Subscription:
    """Check and store a subscription; a JSON one gets a new signing secret (returned once)."""
    check_subscription(sub, register)
    if sub.format is Format.JSON and sub.secret is None:
        sub = replace(sub, secret=delivery.new_secret())
    store.add_subscription(engine, sub)
    return sub


def subscriptions(engine: store.Engine, enabled_only: bool = False
                  ) -> list[store.SubscriptionInfo]:
    """Every subscription, by name."""
    return store.subscriptions(engine, enabled_only)


def has_subscription(engine: store.Engine, name: str) -> bool:
    try:
        store.subscription(engine, name)
    except UnknownSubscription:
        return False
    return True


def subscription(engine: store.Engine, name: str) -> store.SubscriptionInfo:
    """The subscription of that name; UnknownSubscription when there is none."""
    return store.subscription(engine, name)


def remove_subscription(engine: store.Engine, name: str) -> None:
    """Remove a subscription with its delivery history."""
    store.remove_subscription(engine, name)


def ledger(engine: store.Engine, now: datetime, statuses: Sequence[str] = (),
           name: str | None = None, limit: int | None = None) -> list[store.DeliveryView]:
    """The ledger, newest reminder first; an unknown subscription name is an error, not an
    empty ledger."""
    if name is not None:
        store.subscription(engine, name)
    return store.deliveries(engine, now, statuses, name, limit)


def attempts(engine: store.Engine) -> list[store.AttemptView]:
    """Every attempt to send, oldest first."""
    return store.attempts(engine)


def guess_format(url: str) -> tuple[Format, str]:
    """The format a subscription URL's service takes, and why, in words (`subscribe add`
    without --format): "a Power Automate workflow URL"."""
    return delivery.guess(url)


@dataclass(frozen=True)
class SampleResult:
    status: int | None
    latency: float
    error: str | None
    protocol: str  # what `status` is a code of: "HTTP", or "SMTP" for e-mail


def send_sample(sub: Subscription, register: Register, senders: delivery.Senders, clock: Clock,
                link_base: str, engine: store.Engine | None = None,
                feed_links: str | None = None) -> SampleResult:
    """Send one test message, marked as such, and report the answer. It is about the
    subscription's next reminded occurrence (or any upcoming one, or one invented for the
    test and titled so), counted from today: what it says matches the occurrence's day.
    Not recorded in the ledger: it is not a reminder anyone is owed. `engine`: where the
    entries' revisions are, and `feed_links` what the feeds' events link back to, for an
    e-mail's calendar part (as `enqueue`)."""
    now = clock.now()
    sample = sample_reminder(register, sub, now)
    revisions = None
    if engine is not None and sub.format is Format.EMAIL:
        # The feeds' revisions (and the feeds' writer) only for an e-mail's calendar part:
        # `subscribe list` and `remove` load this module too.
        from calendar_tool.service.feeds import entry_revisions

        revisions = entry_revisions(engine, register, {sample.occurrence.entry.id}, now,
                                    link_base=feed_links)
    body = delivery.render(sub.format, [sample], register, link_base, test=True,
                           revisions=revisions, feed_links=feed_links)
    message_id = f"msg_test_{uuid.uuid4().hex}"
    attempt = senders.send(Outbound(message_id, sub.name, sub.url, sub.format, sub.secret, body,
                                    0), now)
    protocol = "SMTP" if sub.format is Format.EMAIL else "HTTP"
    result = SampleResult(attempt.status, attempt.latency, attempt.error, protocol)
    if attempt.outcome is not delivery.Outcome.SENT:
        if attempt.status is None:  # nothing answered: the error says where and what failed
            raise DeliveryFailed(f"could not reach the receiver of {sub.name!r}: "
                                 f"{attempt.error}")
        what = attempt.error or f"{protocol} {attempt.status}"
        raise DeliveryFailed(f"the receiver of {sub.name!r} answered {what} "
                             f"after {attempt.latency:.2f} s")
    return result


def sample_reminder(register: Register, sub: Subscription, now: datetime) -> Reminder:
    """The reminder a test message carries: about the occurrence of the subscription's next
    reminder (else of anyone's), with the days left counted from today in the subscription's
    zone to the occurrence's day, whatever offset that next reminder has; for a `review`
    subscription, the first item of its next review, worded as the review words it; else
    about an occurrence invented for the test, a week away, whose title says so."""
    anyone = replace(sub, created_at=BEGINNING, areas=frozenset(),
                     actors=frozenset(), kinds=frozenset(), enabled=True)
    today = now.astimezone(sub.tz).date()
    for who in (replace(sub, created_at=now, enabled=True), anyone):
        found = plan(register, [who], now, now + timedelta(days=400))
        if found and found[0].notice is Notice.REVIEW:
            # The keepers' review: an item to confirm or record (long past, undated, an
            # estimate), which as a reminder would read "Due today" or "9497 days overdue".
            o = found[0].occurrence
            return replace(found[0], instant=now, days_left=((o.key_date or today) - today).days)
        if found:
            return _as_of(found[0].occurrence, sub.name, today, now)
    return _as_of(_invented(today + timedelta(days=7)), sub.name, today, now)


def _as_of(o: Occurrence, name: str, today: date, now: datetime) -> Reminder:
    """A reminder about `o` sent `now`, on the local day `today`."""
    left = ((o.key_date or today) - today).days
    if left < 0:
        return Reminder(name, o, OVERDUE, Notice.OVERDUE, now, left)
    return Reminder(name, o, f"P{left}D", Notice.DUE if left == 0 else Notice.REMINDER, now,
                    left)


def _invented(day: date) -> Occurrence:
    entry = Entry(id="calendar-tool-test", title=wording.INVENTED, kind=Kind.DEADLINE,
                  actors=(), areas=(), sources=(), date=DatedValue.day(day))
    return Occurrence(entry, None, entry.date, False, wording.AS_WRITTEN)
