"""Subscriptions: adding (checked, a JSON one given its signing secret), listing, removing,
a test message, and the ledger of what was sent to them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from calendar_tool import delivery, store
from calendar_tool.clock import Clock
from calendar_tool.delivery import BEGINNING, subscription_problems
from calendar_tool.errors import DeliveryFailed, SubscriptionInvalid, UnknownSubscription
from calendar_tool.model import Format, Outbound, Register, Reminder, Subscription
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


@dataclass(frozen=True)
class SampleResult:
    status: int | None
    latency: float
    error: str | None


def send_sample(sub: Subscription, register: Register, senders: delivery.Senders, clock: Clock,
                link_base: str) -> SampleResult:
    """Send one sample reminder (the subscription's next one, or any dated occurrence) and
    report the answer. Not recorded in the ledger: it is not a reminder anyone is owed."""
    now = clock.now()
    sample = _sample(register, sub, now)
    body = delivery.render(sub.format, [sample], register, link_base)
    message_id = f"msg_test_{uuid.uuid4().hex}"
    attempt = senders.send(Outbound(message_id, sub.name, sub.url, sub.format, sub.secret, body,
                                    0), now)
    result = SampleResult(attempt.status, attempt.latency, attempt.error)
    if attempt.outcome is not delivery.Outcome.SENT:
        if attempt.status is None:  # nothing answered: the error says where and what failed
            raise DeliveryFailed(f"could not reach the receiver of {sub.name!r}: "
                                 f"{attempt.error}")
        raise DeliveryFailed(f"the receiver of {sub.name!r} answered "
                             f"{attempt.error or f'HTTP {attempt.status}'} "
                             f"after {attempt.latency:.2f} s")
    return result


def _sample(register: Register, sub: Subscription, now: datetime) -> Reminder:
    anyone = replace(sub, created_at=BEGINNING, areas=frozenset(),
                     actors=frozenset(), kinds=frozenset(), enabled=True)
    for who in (replace(sub, created_at=now, enabled=True), anyone):
        found = plan(register, [who], now, now + timedelta(days=400))
        if found:
            return found[0]
    found = plan(register, [anyone], BEGINNING, now)
    if not found:
        raise DeliveryFailed("the register has no dated occurrence to build a sample from")
    return found[-1]
