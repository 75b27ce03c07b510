"""Reminders owed: what the subscriptions' rules produce in a window (`plan`, `dry_run`), when
the scheduler must wake (`pending_instants`), and claiming what is due in the ledger
(`enqueue`), one message per subscription and hour."""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from calendar_tool import delivery, store
from calendar_tool.clock import Clock
from calendar_tool.delivery import BEGINNING, Agenda, AgendaCache, reach
from calendar_tool.model import Format, Notice, Register, Reminder, Revision, Subscription

DEFAULT_CATCH_UP = timedelta(hours=24)
# How far back the ledger is read for dates reminded of that may since have been confirmed or
# moved: a date more than a year past concerns no reminder any more.
CHANGES_OVER = timedelta(days=400)


def plan(register: Register, subs: Sequence[Subscription], start: datetime, end: datetime,
         agendas: AgendaCache | None = None) -> list[Reminder]:
    """The reminders the subscriptions are owed with start <= instant < end, the keepers'
    weekly reviews included. `agendas` keeps the register's expanded occurrences between
    calls (the scheduler's; see `AgendaCache`)."""
    found = _agenda(register, subs, end, agendas).between(subs, start, end)
    for sub in subs:
        found += delivery.review_reminders(register, sub, start, end)
    found.sort(key=lambda r: (r.instant, r.subscription, r.occurrence.id, r.offset))
    return once(found)


def once(reminders: Sequence[Reminder]) -> list[Reminder]:
    """Each reminder once by its ledger key, in the order given. An offset named twice (a
    subscription's `P7D P1W`, an entry's `reminders: [P7D, P7D]`) gives the agenda the same
    reminder twice; the ledger holds it once, so a message, a preview or a count must too.

    Two offsets that fall on the same instant for the same day are one reminder as well (the
    first given, which the agenda's order makes the same at every run): `P1Y` and `P12M`
    always, `P1M` and `P31D` before 31 March; the message would say the same line twice."""
    seen: set[tuple[str, str, str, str]] = set()
    at: set[tuple[str, str, str, Notice, datetime]] = set()
    out = []
    for r in reminders:
        same = (r.subscription, r.occurrence.id, r.counted_from, r.notice, r.instant)
        if r.key not in seen and same not in at:
            seen.add(r.key)
            at.add(same)
            out.append(r)
    return out


def held(keys: Container[tuple[str, str, str, str]], r: Reminder) -> bool:
    """Whether the ledger holds `r`: by its key, or by a row from before the ledger kept the
    day a reminder counts from (which holds it whatever the day)."""
    return r.key in keys or (*r.key[:3], "") in keys


def _agenda(register: Register, subs: Sequence[Subscription], end: datetime,
            agendas: AgendaCache | None) -> Agenda:
    """An agenda reaching far enough for the subscriptions' windows ending at `end`."""
    if agendas is not None:
        return agendas.reaching(register, subs, end)
    return Agenda.expand(register, (end + reach(register, subs)).date())


def dry_run(engine: store.Engine, register: Register, subs: Sequence[Subscription],
            start: datetime, end: datetime) -> tuple[list[Reminder], int]:
    """What the subscriptions' rules produce in the window, leaving out what the ledger
    already holds (their count is returned too). A subscription's creation time is ignored
    here, so that an admin can preview any period."""
    found = plan(register, [replace(s, created_at=BEGINNING) for s in subs], start, end)
    done = store.ledger_keys(engine, since=start)
    todo = [r for r in found if not held(done, r)]
    return todo, len(found) - len(todo)


def pending_instants(engine: store.Engine, register: Register, start: datetime, end: datetime,
                     agendas: AgendaCache | None = None) -> list[datetime]:
    """The distinct instants in [start, end) at which the enabled subscriptions are owed a
    reminder the ledger does not hold yet: when the scheduler must wake."""
    subs = [i.subscription for i in store.subscriptions(engine, enabled_only=True)]
    if not subs:
        return []
    keys = store.ledger_keys(engine, since=start)
    return sorted({r.instant for r in plan(register, subs, start, end, agendas)
                   if not held(keys, r)})


def enqueue(engine: store.Engine, register: Register, clock: Clock, link_base: str,
            catch_up: timedelta = DEFAULT_CATCH_UP, agendas: AgendaCache | None = None,
            feed_links: str | None = None) -> store.Claimed:
    """Claim every reminder due by now that the ledger does not hold yet.

    Each subscription is looked at from where it was last looked at (its creation, the first
    time), and always over the whole catch-up window, so that a reminder an edit of the register
    placed in the recent past is still sent. Due reminders within the window are queued; older
    ones are recorded as skipped. `agendas` as for `plan`. `link_base`: what the messages
    link to; `feed_links`: what the feeds' events link back to (the public URL when one is
    set), which an e-mail's calendar part needs to give its events the feeds' bytes and
    SEQUENCE."""
    now = clock.now()
    infos = store.subscriptions(engine, enabled_only=True)
    if not infos:
        return store.Claimed(0, 0, 0)
    subs = {i.subscription.name: i.subscription for i in infos}
    # What the ledger already holds is left out here, so that a run every minute does not
    # try to claim the whole catch-up window again; a claim that races another still loses
    # on the unique key.
    keys = store.ledger_keys(engine, since=min(_looked_from(i, now - catch_up) for i in infos))
    reminded = store.reminded(engine, since=now - CHANGES_OVER)
    groups = due_groups(register, infos, keys, now, catch_up, agendas, reminded)

    revisions = _revisions_for_email(engine, register, groups, subs, now, feed_links)

    def render(rs: Sequence[Reminder]) -> str:
        return delivery.render(subs[rs[0].subscription].format, rs, register, link_base,
                               revisions=revisions, feed_links=feed_links)

    return store.claim(engine, groups, render, now, dict.fromkeys(subs, now))


def _revisions_for_email(engine: store.Engine, register: Register,
                         groups: Sequence[tuple[Sequence[Reminder], bool]],
                         subs: Mapping[str, Subscription], now: datetime,
                         feed_links: str | None) -> dict[str, Revision] | None:
    """The revisions an e-mail's calendar part gives its events (its feed's SEQUENCE), read
    only when an e-mail is to be written, and only for the entries it reminds of."""
    ids = {r.occurrence.entry.id for rs, skip in groups if not skip for r in rs
           if subs[r.subscription].format is Format.EMAIL}
    if not ids:
        return None
    # The feeds' revisions (and the feeds' writer) only then: `subscribe list` and the other
    # commands that import this module through `service.subscriptions` need neither.
    from calendar_tool.service.feeds import entry_revisions

    # The feeds' link base enters their content hash: without it, an entry published with
    # a link would be given a SEQUENCE one above its feed's.
    return entry_revisions(engine, register, ids, now, link_base=feed_links)


def _looked_from(info: store.SubscriptionInfo, late: datetime) -> datetime:
    return min(info.checked_until or info.subscription.created_at, late)


def due_groups(register: Register, infos: Sequence[store.SubscriptionInfo],
               keys: Container[tuple[str, str, str, str]], now: datetime,
               catch_up: timedelta = DEFAULT_CATCH_UP, agendas: AgendaCache | None = None,
               reminded: Mapping[tuple[str, str], Sequence[tuple[str, bool]]] | None = None
               ) -> list[tuple[Sequence[Reminder], bool]]:
    """What `enqueue` claims, as `store.claim` takes it: for each subscription in turn, the
    reminders due by `now` since it was last looked at (and over the whole catch-up window),
    its weekly review, and a notice for each date it was reminded of that has since been
    confirmed or moved (`reminded`, as `store.reminded` gives it), leaving out what the ledger
    holds (`keys`); those older than the window in one group, to record as skipped, the others
    in one group per hour, to send. Nothing here reads the store."""
    late = now - catch_up
    end = now + timedelta(microseconds=1)  # due at `now` counts
    subs = [i.subscription for i in infos]
    agenda = _agenda(register, subs, end, agendas)
    by_sub: dict[str, dict[str, Sequence[tuple[str, bool]]]] = {}
    for (name, occurrence_id), days in (reminded or {}).items():
        by_sub.setdefault(name, {})[occurrence_id] = days
    groups: list[tuple[Sequence[Reminder], bool]] = []
    found = agenda.each((i.subscription, _looked_from(i, late), end) for i in infos)
    for info, owed_now in zip(infos, found, strict=True):
        sub = info.subscription
        owed_now += delivery.review_reminders(register, sub, _looked_from(info, late), end)
        owed_now += delivery.change_notices(register, sub, by_sub.get(sub.name, {}), now)
        owed = [r for r in once(owed_now) if not held(keys, r)]
        skipped = [r for r in owed if r.instant < late]
        if skipped:
            groups.append((skipped, True))
        by_hour: dict[datetime, list[Reminder]] = {}
        for r in owed:
            if r.instant >= late:
                by_hour.setdefault(r.instant.replace(minute=0, second=0, microsecond=0),
                                   []).append(r)
        groups.extend((rs, False) for _, rs in sorted(by_hour.items()))
    return groups
