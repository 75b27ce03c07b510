"""The agenda that reminders are computed from: built once, asked for many subscriptions and
windows, giving exactly what computing every reminder of every occurrence gives; and the cache
that keeps it between the scheduler's calls until the register or the end date changes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bench.generate import register_text
from calendar_tool import delivery, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.delivery import reminders
from calendar_tool.delivery.reminders import (
    Agenda,
    AgendaCache,
    occurrence_reminders,
    reach,
    reminders_between,
)
from calendar_tool.model import (
    OVERDUE,
    Format,
    Occurrence,
    Offset,
    Register,
    Reminder,
    Subscription,
)
from calendar_tool.register import parse_register
from calendar_tool.scheduler import Options, Runner
from calendar_tool.timeline import occurrences
from tests.registers import HEADER, entry, register_of

LONG_AGO = datetime(1990, 1, 1, tzinfo=UTC)


def sub(name: str, **kw: object) -> Subscription:
    values: dict[str, object] = {"name": name, "url": "https://example.org/hook",
                                 "format": Format.JSON, "created_at": LONG_AGO}
    values.update(kw)
    return Subscription(**values)  # type: ignore[arg-type]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


SERIES = entry("series", "", kind="session", extra="""\
series:
  rule: FREQ=YEARLY
  start: 2025-03-03
  occurrences:
    3: {date: 2027-03-08..2027-03-10}
""").replace("    date: \n", "")

ENTRIES = (
    entry("end", "2027-03-31"),
    entry("month", "2027-03-30", extra="reminders: [P1M]"),
    entry("leap", "2028-02-29", extra="reminders: [P1Y]"),
    entry("rel", "{from: end, offset: -P2W}", area="victims"),
    SERIES,
    entry("met", "2027-03-20", extra="status: {state: met}"),
)

SUBS = [
    sub("utc"),
    # 08:00 in Vienna is 07:00 UTC until summer time starts on 28 March.
    sub("vienna", zone="Europe/Vienna", time_of_day=time(8, 0), offsets=(Offset(months=1),),
        overdue=False),
    # 08:00 in Auckland (summer time, +13) is 19:00 UTC the day before.
    sub("auckland", zone="Pacific/Auckland", time_of_day=time(8, 0),
        areas=frozenset({"victims"})),
    sub("late", created_at=utc(2027, 3, 20)),
    sub("off", enabled=False),
]


def rows(found: Iterable[Reminder]) -> list[tuple[datetime, str, str, str, int]]:
    return [(r.instant, r.subscription, r.occurrence.id, r.offset, r.days_left) for r in found]


def test_an_agenda_gives_each_reminder_owed_in_the_window_sorted() -> None:
    """Own offsets of a month and of a year (a leap day), a relative date, a known occurrence
    of a series (its estimates get nothing), zones on either side of UTC, a subscription created
    in the window, a disabled one, a met entry, and the window's end left out."""
    reg = register_of(*ENTRIES)
    agenda = Agenda.expand(reg, date(2029, 1, 1))
    got = agenda.between(SUBS, utc(2027, 2, 14), utc(2027, 4, 1, 9))
    assert rows(got) == [
        (utc(2027, 2, 14, 19), "auckland", "rel", "P30D", 30),
        (utc(2027, 2, 15, 9), "utc", "rel", "P30D", 30),
        (utc(2027, 2, 17, 7), "vienna", "rel", "P1M", 28),
        (utc(2027, 2, 28, 7), "vienna", "end", "P1M", 31),
        (utc(2027, 2, 28, 7), "vienna", "month", "P1M", 30),
        (utc(2027, 2, 28, 9), "utc", "leap", "P1Y", 366),
        (utc(2027, 2, 28, 9), "utc", "month", "P1M", 30),
        (utc(2027, 3, 1, 9), "utc", "end", "P30D", 30),
        (utc(2027, 3, 1, 9), "utc", "series#3", "P7D", 7),
        (utc(2027, 3, 8, 9), "utc", "series#3", "P0D", 0),
        (utc(2027, 3, 9, 19), "auckland", "rel", "P7D", 7),
        (utc(2027, 3, 10, 9), "utc", "rel", "P7D", 7),
        (utc(2027, 3, 16, 19), "auckland", "rel", "P0D", 0),
        (utc(2027, 3, 17, 9), "utc", "rel", "P0D", 0),
        (utc(2027, 3, 17, 19), "auckland", "rel", OVERDUE, -1),
        (utc(2027, 3, 18, 9), "utc", "rel", OVERDUE, -1),
        (utc(2027, 3, 24, 9), "late", "end", "P7D", 7),
        (utc(2027, 3, 24, 9), "utc", "end", "P7D", 7),
        (utc(2027, 3, 31, 9), "late", "end", "P0D", 0),
        (utc(2027, 3, 31, 9), "late", "month", OVERDUE, -1),
        (utc(2027, 3, 31, 9), "utc", "end", "P0D", 0),
        (utc(2027, 3, 31, 9), "utc", "month", OVERDUE, -1),
    ]
    assert got == reminders_between(reg, occurrences(reg, date(2029, 1, 1)), SUBS,
                                    utc(2027, 2, 14), utc(2027, 4, 1, 9))


def everything(reg: Register, occs: Iterable[Occurrence], subs: Iterable[Subscription],
               start: datetime, end: datetime) -> list[Reminder]:
    """Every reminder of every occurrence, kept when in the window: the definition."""
    found = [r for s in subs if s.enabled for o in occs
             for r in occurrence_reminders(s, o, reg)
             if max(start, s.created_at) <= r.instant < end]
    return sorted(found, key=lambda r: (r.instant, r.subscription, r.occurrence.id, r.offset))


GENERATED_SUBS = [
    sub("all"),
    # Early east of UTC and late west of it: local days a day after and before UTC's.
    sub("kiritimati", zone="Pacific/Kiritimati", time_of_day=time(0, 15)),
    sub("pago", zone="Pacific/Pago_Pago", time_of_day=time(23, 30), overdue=False),
    sub("newfoundland", zone="America/St_Johns", areas=frozenset({"victims", "firearms"})),
    # 02:30 falls in Vienna's spring gap and autumn fold.
    sub("gap", zone="Europe/Vienna", time_of_day=time(2, 30), actors=frozenset({"cicp"})),
    sub("own", offsets=(Offset(months=1), Offset(years=1), Offset(days=1), Offset()),
        zone="America/Los_Angeles"),
    sub("twice", offsets=(Offset(days=7), Offset(days=7)), overdue=False),
    sub("new", created_at=utc(2026, 3, 29, 1, 30)),
    sub("off", enabled=False),
]


def _daily(first: date, last: date) -> str:
    """An entry a day, so that every window below owes something: deadlines to the day and to
    the month, reports, events and periods, some missed, over the generated areas and actors."""
    areas = ["organized-crime", "corruption", "trafficking", "firearms", "victims", "governance"]
    actors = ["member-states", "commission", "secretary-general", "cicp"]
    out = []
    day, i = first, 0
    while day <= last:
        kind = ["deadline", "event", "report", "deadline", "period"][i % 5]
        when = {"event": f"{day}..{day + timedelta(days=2)}",
                "period": f"{day}..{day + timedelta(days=20)}"}.get(kind, day.isoformat())
        if i % 9 == 0:
            kind, when = "deadline", f"{day:%Y-%m}"
        out += [f"  - id: d{i}", f"    title: Daily {i}", f"    kind: {kind}",
                f"    date: {when}", f"    actors: [{actors[i % 4]}]",
                f"    areas: [{areas[i % 6]}]",
                '    sources: [{doc: A/RES/55/59, para: "1", quote: a quote}]']
        if i % 11 == 0:
            out.append("    status: {state: missed}")
        day, i = day + timedelta(days=1), i + 1
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def generated() -> Register:
    """Series (with known occurrences), relative dates and standing obligations, an entry a
    day from 2026 to March 2028, and entries' own offsets, one of them twice (which gives two
    reminders with one key, as it always has)."""
    text = register_text(400, seed=3) + _daily(date(2026, 1, 1), date(2028, 3, 31))
    text = text.replace("    kind: target\n", "    kind: target\n    reminders: [P1M, P2W]\n", 5)
    text = text.replace("    kind: event\n", "    kind: event\n    reminders: [P7D, P1W]\n", 3)
    return parse_register(text, "generated.yaml")


WINDOWS = [
    (utc(1995, 1, 1), utc(2031, 1, 1)),  # the whole register at once
    (utc(2026, 3, 27), utc(2026, 4, 3)),  # across the spring change in Europe and America
    (utc(2026, 10, 24, 0, 30), utc(2026, 11, 2, 0, 29)),  # the autumn change
    (utc(2026, 12, 30, 9), utc(2027, 1, 2, 9)),  # the year's end, where targets fall due
    (utc(2027, 2, 27, 9), utc(2027, 3, 1, 9)),  # a month's end after a short February
]


@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_an_agenda_gives_what_computing_every_reminder_gives(
        generated: Register, start: datetime, end: datetime) -> None:
    reg = generated
    occs = occurrences(reg, (end + reach(reg, GENERATED_SUBS)).date())
    expected = everything(reg, occs, GENERATED_SUBS, start, end)
    assert Agenda.of(reg, occs).between(GENERATED_SUBS, start, end) == expected
    assert len({r.subscription for r in expected}) == 8


def hours(start: datetime, end: datetime, step: timedelta) -> Iterator[tuple[datetime, datetime]]:
    while start < end:
        yield start, start + step
        start += step


def test_windows_one_after_the_other_give_what_one_window_gives(generated: Register) -> None:
    """As the scheduler asks: two hours at a time, each subscription on its own."""
    reg = generated
    start, end = utc(2026, 3, 20), utc(2026, 4, 10)
    agenda = AgendaCache().get(reg, (end + reach(reg, GENERATED_SUBS)).date())
    asked = [(s, a, b) for a, b in hours(start, end, timedelta(hours=2)) for s in GENERATED_SUBS]
    pieces = [r for found in agenda.each(asked) for r in found]
    whole = agenda.between(GENERATED_SUBS, start, end)
    assert sorted(pieces, key=lambda r: (r.instant, r.subscription, r.occurrence.id,
                                         r.offset)) == whole
    assert len(whole) > 100


def test_each_answers_each_window_on_its_own() -> None:
    reg = register_of(*ENTRIES)
    agenda = Agenda.expand(reg, date(2029, 1, 1))
    utc_sub, vienna = SUBS[0], SUBS[1]
    asked = [(utc_sub, utc(2027, 3, 1), utc(2027, 3, 9)), (vienna, utc(2027, 2, 1),
                                                           utc(2027, 3, 1)),
             (SUBS[4], LONG_AGO, utc(2030, 1, 1)), (utc_sub, utc(2027, 3, 9), utc(2027, 3, 9))]
    assert [rows(found) for found in agenda.each(asked)] == [
        [(utc(2027, 3, 1, 9), "utc", "end", "P30D", 30),
         (utc(2027, 3, 1, 9), "utc", "series#3", "P7D", 7),
         (utc(2027, 3, 8, 9), "utc", "series#3", "P0D", 0)],
        [(utc(2027, 2, 8, 7), "vienna", "series#3", "P1M", 28),
         (utc(2027, 2, 17, 7), "vienna", "rel", "P1M", 28),
         (utc(2027, 2, 28, 7), "vienna", "end", "P1M", 31),
         (utc(2027, 2, 28, 7), "vienna", "month", "P1M", 30)],
        [],  # disabled
        [],  # an empty window
    ]


def test_an_agenda_refuses_naive_datetimes() -> None:
    agenda = Agenda.expand(register_of(*ENTRIES), date(2029, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        agenda.between([], datetime(2027, 1, 1), utc(2027, 2, 1))
    with pytest.raises(ValueError, match="aware"):
        list(agenda.each([(SUBS[0], utc(2027, 1, 1), datetime(2027, 2, 1))]))


# --- what enqueue claims ---------------------------------------------------------------------

def test_due_groups_puts_skipped_reminders_apart_and_the_others_in_one_group_an_hour() -> None:
    """At 07:00 on 1 July after a day and a half down: 29 June's reminders are past the
    catch-up window (skipped), 30 June's are sent, one message per hour; what the ledger holds
    is left out, and a subscription looked at since is looked at over the window only."""
    reg = register_of(entry("old", "2027-06-29"), entry("late", "2027-06-30"),
                      entry("later", "2027-06-30", area="victims"))
    now = utc(2027, 7, 1, 7)
    team = sub("team", offsets=(Offset(),), overdue=False, created_at=utc(2027, 1, 1))
    vienna = sub("vienna", offsets=(Offset(),), overdue=True, zone="Europe/Vienna",
                 created_at=utc(2027, 1, 1))
    infos = [store.SubscriptionInfo(team, None, utc(2027, 6, 29, 8)),
             store.SubscriptionInfo(vienna, None, now - timedelta(minutes=1))]
    held = {("team", "later", "P0D", "2027-06-30")}
    groups = service.due_groups(reg, infos, held, now)
    assert [(skip, rows(g)) for g, skip in groups] == [
        (True, [(utc(2027, 6, 29, 9), "team", "old", "P0D", 0)]),
        (False, [(utc(2027, 6, 30, 9), "team", "late", "P0D", 0)]),
        # 09:00 in Vienna is 07:00 UTC: 30 June's at 07:00 is exactly a day ago, still sent.
        (False, [(utc(2027, 6, 30, 7), "vienna", "late", "P0D", 0),
                 (utc(2027, 6, 30, 7), "vienna", "later", "P0D", 0),
                 (utc(2027, 6, 30, 7), "vienna", "old", OVERDUE, -1)]),
        (False, [(utc(2027, 7, 1, 7), "vienna", "late", OVERDUE, -1),
                 (utc(2027, 7, 1, 7), "vienna", "later", OVERDUE, -1)]),
    ]


# --- the cache -------------------------------------------------------------------------------

def counting(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Register, date]]:
    """Each expansion of a register's occurrences, as (register, until)."""
    made: list[tuple[Register, date]] = []
    real = Agenda.expand.__func__  # type: ignore[attr-defined]

    def expand(cls: type[Agenda], register: Register, until: date) -> Agenda:
        made.append((register, until))
        return real(cls, register, until)  # type: ignore[no-any-return]

    monkeypatch.setattr(reminders.Agenda, "expand", classmethod(expand))
    return made


def test_the_cache_is_rebuilt_for_another_register_or_a_later_end(
        monkeypatch: pytest.MonkeyPatch) -> None:
    made = counting(monkeypatch)
    reg = register_of(*ENTRIES)
    cache = AgendaCache(margin=timedelta(days=10))
    first = cache.get(reg, date(2027, 1, 1))
    assert first.until == date(2027, 1, 11)
    assert cache.get(reg, date(2027, 1, 11)) is first  # within what it reaches
    assert cache.get(reg, date(2026, 1, 1)) is first  # an earlier end
    later = cache.get(reg, date(2027, 1, 12))
    assert later.until == date(2027, 1, 22)
    same_text = register_of(*ENTRIES)  # equal, but another object: a reload
    again = cache.get(same_text, date(2027, 1, 1))
    assert again.register is same_text
    # Asked for windows ending on 1 July 2027: the longest offset is a year (366 days, and 2
    # for zones).
    yearly = [sub("yearly", offsets=(Offset(years=1),))]
    far = cache.reaching(same_text, yearly, utc(2027, 7, 1, 12))
    assert far.until == date(2028, 7, 3) + timedelta(days=10)
    assert cache.reaching(same_text, SUBS, utc(2027, 7, 1, 12)) is far
    assert made == [(reg, date(2027, 1, 11)), (reg, date(2027, 1, 22)),
                    (same_text, date(2027, 1, 11)), (same_text, date(2028, 7, 13))]


def test_a_later_end_brings_in_the_series_occurrences_it_reaches() -> None:
    """The known third session (8 March 2027) is not in an agenda expanded to 2026, and is in
    the one the cache builds when asked past it."""
    reg = register_of(*ENTRIES)
    cache = AgendaCache(margin=timedelta(0))
    assert "series#3" not in {o.id for o in cache.get(reg, date(2026, 12, 31)).occurrences}
    assert "series#3" in {o.id for o in cache.get(reg, date(2027, 3, 8)).occurrences}


def test_plan_with_the_cache_gives_what_plan_without_it_gives() -> None:
    reg = register_of(*ENTRIES)
    cache = AgendaCache()
    start, end = utc(2027, 2, 14), utc(2027, 4, 1, 9)
    first = service.plan(reg, SUBS, start, end, cache)
    assert first == service.plan(reg, SUBS, start, end)
    assert service.plan(reg, SUBS, start, end, cache) == first
    assert len(first) == 22


def test_the_runner_expands_the_register_once_until_it_changes(
        engine: store.Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The look-ahead and the claim share the runner's agenda; an edit of the register (a new
    Register object) is expanded again, and the edit shows."""
    made = counting(monkeypatch)
    path = tmp_path / "r.yaml"
    path.write_text(HEADER + entry("a", "2027-06-30"))
    # Port 9 (discard) refuses the connection: the message stays pending for a retry.
    store.add_subscription(engine, sub("team", url="http://127.0.0.1:9/hook",
                                       created_at=utc(2027, 1, 1), offsets=(Offset(),),
                                       overdue=False))
    clock = FixedClock(utc(2027, 6, 30, 8, 30))

    def sleep(seconds: float) -> None:  # pacing moves the clock
        clock.advance_to(clock.now() + timedelta(seconds=seconds))

    with delivery.Senders(5) as client:
        runner = Runner(engine, client, clock, path, Options(tmp_path / "feeds", "http://x"),
                        sleep=sleep)
        runner.start()
        assert runner.pending() == [utc(2027, 6, 30, 9)]
        clock.advance_to(utc(2027, 6, 30, 9))
        assert [r.state for r in runner.remind()] == ["pending"]  # nothing listens there
        assert runner.pending() == []
        assert len(made) == 1

        path.write_text(HEADER + entry("a", "2027-06-30") + entry("b", "2027-06-30"))
        assert runner.reload() is True
        assert runner.pending() == [utc(2027, 6, 30, 9)]  # b's; a's is in the ledger
        runner.remind()
        owed = {d.occurrence_id for d in store.deliveries(engine, clock.now())}
        assert owed == {"a", "b"}
        assert [reg is runner.register for reg, _ in made] == [False, True]
