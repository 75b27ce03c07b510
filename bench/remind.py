"""The reminder computation of `run`, for a large register and many subscriptions: what the
scheduler computes at each sweep (`pending_instants` over the look-ahead, `enqueue` over the
catch-up window), with generated subscriptions. Called by the scale benchmark; no `run()` of
its own, so `make bench` does not pick it up."""

from __future__ import annotations

import random
import statistics
import time as clock
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TypeVar

from calendar_tool import service, store
from calendar_tool.clock import FixedClock
from calendar_tool.delivery.reminders import AgendaCache
from calendar_tool.model import Format, Kind, Offset, Register, Reminder, Subscription

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
"""An instant at which the generated register (dates from 1995 to 2036) owes reminders."""

# The subscriptions' own offsets, when they set them (None: each entry's own or the register's).
_OFFSETS: list[tuple[Offset, ...] | None] = [
    None, None, None, None, None, None,
    (Offset(),), (Offset(days=7), Offset(days=1), Offset()), (Offset(months=1), Offset()),
    (Offset(years=1),),
]
_ZONES = ["UTC", "UTC", "Europe/Vienna", "Europe/Vienna", "America/New_York",
          "America/Los_Angeles", "Asia/Tokyo", "Pacific/Auckland", "Asia/Kolkata"]
_TIMES = [time(9, 0), time(9, 0), time(9, 0), time(8, 0), time(7, 30), time(17, 0)]


def subscriptions(n: int, register: Register, seed: int = 7) -> list[Subscription]:
    """`n` subscriptions (names `s0`...), the same for the same seed and register's vocabulary:
    about 40 % take everything, 30 % filter by area, 20 % by actor, 10 % by area and kind; most
    use the entries' offsets, some their own (one of a year); zones east and west of UTC and
    several times of day; three in four want overdue notices; most were created long ago, a few
    an hour before 2026-06-01 09:00 UTC, and one in fifty is disabled."""
    rnd = random.Random(seed)
    areas, actors = sorted(register.areas), sorted(register.actors)
    out = []
    for i in range(n):
        roll = rnd.random()
        area: frozenset[str] = frozenset()
        actor: frozenset[str] = frozenset()
        kinds: frozenset[Kind] = frozenset()
        if 0.4 <= roll < 0.7:
            area = frozenset(rnd.sample(areas, rnd.choice([1, 1, 2])))
        elif 0.7 <= roll < 0.9:
            actor = frozenset({rnd.choice(actors)})
        elif roll >= 0.9:
            area = frozenset({rnd.choice(areas)})
            kinds = frozenset({Kind.DEADLINE, Kind.REPORT})
        created = datetime(2026, 6, 1, 8, 0, tzinfo=UTC) if rnd.random() < 0.05 \
            else datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=rnd.randint(0, 1500))
        out.append(Subscription(
            name=f"s{i}", url=f"https://hooks.example.org/{i}",
            format=rnd.choice([Format.JSON, Format.SLACK]), created_at=created,
            areas=area, actors=actor, kinds=kinds, offsets=rnd.choice(_OFFSETS),
            overdue=rnd.random() < 0.75, time_of_day=rnd.choice(_TIMES),
            zone=rnd.choice(_ZONES), enabled=rnd.random() >= 0.02))
    return out


T = TypeVar("T")


def _median(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    times, result = [], None
    for _ in range(runs):
        start = clock.perf_counter()
        result = work()
        times.append(clock.perf_counter() - start)
    assert result is not None
    return statistics.median(times), result


def reminder_seconds(register: Register, subscriptions: Sequence[Subscription],
                     now: datetime = NOW, runs: int = 3,
                     lookahead: timedelta = timedelta(hours=2),
                     catch_up: timedelta = service.DEFAULT_CATCH_UP,
                     db_url: str | None = None) -> dict[str, float]:
    """Seconds (medians of `runs`) of the scheduler's reminder computation at `now`, and what
    it found. Without the store unless `db_url` is given:

    - `expand`: building the register's agenda (series expanded, what can be reminded sorted
      by day): what `Runner` pays at the first sweep after a (re)load, and about once a year.
    - `plan`: `pending_instants`' computation over [now, now + lookahead), the agenda kept
      (`service.plan` with the runner's `AgendaCache`); `plan_reminders`, `plan_instants`.
    - `enqueue`: `enqueue`'s computation at `now`, each subscription last looked at a minute
      before (a sweep every minute) and the ledger empty, so that all of the catch-up window
      is owed (`service.due_groups`, the agenda kept); `enqueue_reminders`, `enqueue_groups`.

    With `db_url` (an empty database: it is written to), also the real calls on it, once each:
    `store_pending` (`pending_instants`), `store_enqueue` (`enqueue` claiming all of the
    window: its inserts included) and `store_enqueue_again` (a minute later, all of it held:
    what every sweep after pays), with the same `AgendaCache` as the figures above.
    """
    live = [s for s in subscriptions if s.enabled]
    cache = AgendaCache()
    expand, _ = _median(1, lambda: cache.reaching(register, live, now + lookahead))

    def planned() -> list[Reminder]:
        return service.plan(register, live, now, now + lookahead, cache)

    last = now - timedelta(minutes=1)
    infos = [store.SubscriptionInfo(s, None, last) for s in live]

    def due() -> list[tuple[Sequence[Reminder], bool]]:
        return service.due_groups(register, infos, set(), now, catch_up, cache)

    plan, found = _median(runs, planned)
    enqueue, groups = _median(runs, due)
    out = {"expand": expand, "plan": plan, "plan_reminders": float(len(found)),
           "plan_instants": float(len({r.instant for r in found})), "enqueue": enqueue,
           "enqueue_reminders": float(sum(len(g) for g, _ in groups)),
           "enqueue_groups": float(len(groups))}
    if db_url is not None:
        out.update(_with_store(register, subscriptions, now, lookahead, catch_up, db_url,
                               cache))
    return out


def _with_store(register: Register, subscriptions: Sequence[Subscription], now: datetime,
                lookahead: timedelta, catch_up: timedelta, db_url: str, cache: AgendaCache
                ) -> dict[str, float]:
    engine = store.open_store(db_url)
    try:
        store.add_subscriptions(engine, subscriptions)
        last = now - timedelta(minutes=1)
        # Looked at a minute ago, as by the sweep before: only the catch-up window is owed.
        store.claim(engine, [], lambda rs: "", last, dict.fromkeys(
            (s.name for s in subscriptions), last))
        pending, _ = _median(1, lambda: service.pending_instants(
            engine, register, now, now + lookahead, cache))
        first, claimed = _median(1, lambda: service.enqueue(
            engine, register, FixedClock(now), "http://127.0.0.1:8000", catch_up, cache))
        again, _ = _median(1, lambda: service.enqueue(
            engine, register, FixedClock(now + timedelta(minutes=1)), "http://127.0.0.1:8000",
            catch_up, cache))
    finally:
        engine.dispose()
    return {"store_pending": pending, "store_enqueue": first,
            "store_enqueue_claimed": float(claimed.reminders + claimed.skipped),
            "store_enqueue_again": again}
