"""Occurrences x subscriptions to reminder instants: offsets, time of day, zones, DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from calendar_tool.delivery.reminders import (
    occurrence_reminders,
    reach,
    reminders_between,
    subscription_problems,
)
from calendar_tool.model import OVERDUE, Format, Kind, Notice, Offset, Subscription
from calendar_tool.timeline import occurrences
from tests.registers import entry, register_of

LONG_AGO = datetime(1990, 1, 1, tzinfo=UTC)


def sub(**kw: object) -> Subscription:
    values: dict[str, object] = {"name": "team", "url": "https://example.org/hook",
                                 "format": Format.JSON, "created_at": LONG_AGO}
    values.update(kw)
    return Subscription(**values)  # type: ignore[arg-type]


def instants(s: Subscription, *entries: str) -> list[tuple[str, str, datetime]]:
    reg = register_of(*entries)
    occs = occurrences(reg, datetime(2031, 1, 1).date())
    return [(r.offset, r.notice.value, r.instant) for o in occs
            for r in occurrence_reminders(s, o, reg)]


def test_offsets_before_the_due_day_at_the_time_of_day_in_utc() -> None:
    got = instants(sub(), entry("a", "2027-06-30"))
    assert got == [
        ("P30D", "obligation.reminder", datetime(2027, 5, 31, 9, 0, tzinfo=UTC)),
        ("P7D", "obligation.reminder", datetime(2027, 6, 23, 9, 0, tzinfo=UTC)),
        ("P0D", "obligation.due", datetime(2027, 6, 30, 9, 0, tzinfo=UTC)),
        ("overdue", "obligation.overdue", datetime(2027, 7, 1, 9, 0, tzinfo=UTC)),
    ]


def test_a_year_deadline_is_reminded_before_its_last_day() -> None:
    got = instants(sub(offsets=(Offset(days=0),), overdue=False), entry("a", "2027"))
    assert got == [("P0D", "obligation.due", datetime(2027, 12, 31, 9, 0, tzinfo=UTC))]


def test_local_time_holds_across_the_spring_change_in_vienna() -> None:
    # Vienna moves to summer time on 28 March 2027: 09:00 is 08:00 UTC before, 07:00 after.
    s = sub(zone="Europe/Vienna", offsets=(Offset(days=7), Offset(days=0)), overdue=False)
    got = instants(s, entry("a", "2027-04-02"))
    assert got == [
        ("P7D", "obligation.reminder", datetime(2027, 3, 26, 8, 0, tzinfo=UTC)),
        ("P0D", "obligation.due", datetime(2027, 4, 2, 7, 0, tzinfo=UTC)),
    ]


def test_a_time_inside_the_spring_gap_moves_forward_by_the_gap() -> None:
    # 02:30 does not exist in Vienna on 28 March 2027; read with the winter offset it is
    # 01:30 UTC, which is 03:30 summer time.
    s = sub(zone="Europe/Vienna", time_of_day=time(2, 30), offsets=(Offset(),), overdue=False)
    assert instants(s, entry("a", "2027-03-28")) == [
        ("P0D", "obligation.due", datetime(2027, 3, 28, 1, 30, tzinfo=UTC))]


def test_a_time_in_the_autumn_fold_is_the_first_of_the_two() -> None:
    # 02:30 happens twice in Vienna on 31 October 2027: first in summer time (00:30 UTC).
    s = sub(zone="Europe/Vienna", time_of_day=time(2, 30), offsets=(Offset(),), overdue=False)
    assert instants(s, entry("a", "2027-10-31")) == [
        ("P0D", "obligation.due", datetime(2027, 10, 31, 0, 30, tzinfo=UTC))]


def test_a_zone_east_of_utc_can_fall_on_the_previous_utc_day() -> None:
    s = sub(zone="Pacific/Auckland", time_of_day=time(8, 0), offsets=(Offset(),),
            overdue=False)
    assert instants(s, entry("a", "2027-06-30")) == [
        ("P0D", "obligation.due", datetime(2027, 6, 29, 20, 0, tzinfo=UTC))]


def test_met_and_withdrawn_entries_and_estimates_get_no_reminders() -> None:
    got = instants(
        sub(),
        entry("met", "2027-06-30", extra="status: {state: met}"),
        entry("gone", "2027-06-30", extra="status: {state: withdrawn}"),
        entry("series", "2027-06-30", kind="session",
              extra="series: {rule: FREQ=YEARLY, start: 2027-06-30}").replace(
            "    date: 2027-06-30\n", "", 1),
    )
    assert got == []


def test_missed_entries_are_reminded_but_get_no_overdue_notice() -> None:
    got = instants(sub(offsets=(Offset(),)), entry("a", "2027-06-30",
                                                   extra="status: {state: missed}"))
    assert [g[0] for g in got] == ["P0D"]


def test_events_are_reminded_before_their_first_day_and_never_overdue() -> None:
    got = instants(sub(offsets=(Offset(days=7),)), entry("e", "2027-05-10..2027-05-17",
                                                         kind="session"))
    assert got == [("P7D", "obligation.reminder", datetime(2027, 5, 3, 9, 0, tzinfo=UTC))]


def test_without_offsets_each_entry_uses_its_own_or_the_registers() -> None:
    got = instants(sub(overdue=False), entry("own", "2027-06-30", extra="reminders: [P1D]"),
                   entry("default", "2027-06-30"))
    assert sorted((g[0]) for g in got) == ["P0D", "P1D", "P30D", "P7D"]


def test_filters_take_any_listed_area_actor_and_kind() -> None:
    reg_entries = (entry("t", "2027-06-30", area="trafficking"),
                   entry("v", "2027-06-30", area="victims", actor="commission"),
                   entry("r", "2027-06-30", kind="report", area="victims"))
    only = sub(offsets=(Offset(),), overdue=False, areas=frozenset({"victims"}),
               kinds=frozenset({Kind.DEADLINE}))
    reg = register_of(*reg_entries)
    occs = occurrences(reg, datetime(2028, 1, 1).date())
    assert [r.occurrence.id for r in reminders_between(
        reg, occs, [only], LONG_AGO, datetime(2030, 1, 1, tzinfo=UTC))] == ["v"]


def test_the_window_is_half_open_and_sorted() -> None:
    reg = register_of(entry("a", "2027-06-30"), entry("b", "2027-06-23"))
    occs = occurrences(reg, datetime(2028, 1, 1).date())
    start = datetime(2027, 6, 23, 9, 0, tzinfo=UTC)
    end = datetime(2027, 6, 30, 9, 0, tzinfo=UTC)
    got = reminders_between(reg, occs, [sub()], start, end)
    assert [(r.occurrence.id, r.offset) for r in got] == [("a", "P7D"), ("b", "P0D"),
                                                          ("b", OVERDUE)]


def test_nothing_is_owed_from_before_the_subscription_existed() -> None:
    reg = register_of(entry("old", "2005"), entry("new", "2027-06-30"))
    occs = occurrences(reg, datetime(2028, 1, 1).date())
    created = datetime(2027, 6, 1, tzinfo=UTC)
    got = reminders_between(reg, occs, [sub(created_at=created)], LONG_AGO,
                            datetime(2028, 1, 1, tzinfo=UTC))
    assert [(r.occurrence.id, r.offset) for r in got] == [
        ("new", "P7D"), ("new", "P0D"), ("new", OVERDUE)]


def test_disabled_subscriptions_are_owed_nothing() -> None:
    reg = register_of(entry("a", "2027-06-30"))
    occs = occurrences(reg, datetime(2028, 1, 1).date())
    assert reminders_between(reg, occs, [sub(enabled=False)], LONG_AGO,
                             datetime(2028, 1, 1, tzinfo=UTC)) == []


def test_days_left_counts_from_the_local_day(real: object) -> None:
    reg = register_of(entry("a", "2027-06-30"))
    o = occurrences(reg, datetime(2028, 1, 1).date())[0]
    got = {r.offset: (r.days_left, r.notice) for r in occurrence_reminders(sub(), o, reg)}
    assert got == {"P30D": (30, Notice.REMINDER), "P7D": (7, Notice.REMINDER),
                   "P0D": (0, Notice.DUE), OVERDUE: (-1, Notice.OVERDUE)}


def test_the_window_search_finds_what_looking_at_everything_finds(sample: object) -> None:
    """The binary search over days must agree with computing every reminder and filtering."""
    from calendar_tool.model import Register

    assert isinstance(sample, Register)
    reg = sample
    subs = [sub(name="utc"), sub(name="east", zone="Pacific/Kiritimati", overdue=False),
            sub(name="west", zone="America/Los_Angeles", offsets=(Offset(months=1),
                                                                  Offset(years=1)))]
    start, end = datetime(1999, 6, 1, tzinfo=UTC), datetime(2003, 6, 1, tzinfo=UTC)
    occs = occurrences(reg, (end + reach(reg, subs)).date())
    fast = reminders_between(reg, occs, subs, start, end)
    slow = sorted((r for s in subs for o in occs for r in occurrence_reminders(s, o, reg)
                   if start <= r.instant < end),
                  key=lambda r: (r.instant, r.subscription, r.occurrence.id, r.offset))
    assert [r.key for r in fast] == [r.key for r in slow]
    assert len(fast) > 20


@pytest.mark.parametrize(("change", "field"), [
    ({"url": "not a url"}, "url"),
    ({"url": "ftp://example.org/x"}, "url"),
    ({"url": "https://example.org:port/x"}, "url"),
    ({"areas": frozenset({"nowhere"})}, "area"),
    ({"actors": frozenset({"nobody"})}, "actor"),
    ({"offsets": (Offset(days=7, negative=True),)}, "offset"),
    ({"zone": "Mars/Olympus"}, "zone"),
    ({"name": "has space"}, "name"),
])
def test_bad_subscription_fields_are_named(change: dict[str, object], field: str) -> None:
    reg = register_of(entry("a", "2027-06-30"))
    problems = subscription_problems(sub(**change), reg)
    assert [p[0] for p in problems] == [field]


def test_a_good_subscription_has_no_problems() -> None:
    reg = register_of(entry("a", "2027-06-30"))
    good = sub(areas=frozenset({"victims"}), actors=frozenset({"commission"}),
               offsets=(Offset(days=3),), zone="Europe/Vienna")
    assert subscription_problems(good, reg) == []


def test_the_secret_never_shows_in_repr() -> None:
    s = sub(secret="whsec_c2VjcmV0", url="https://hooks.slack.com/services/T/B/XYZ")
    assert "whsec" not in repr(s)
    assert "XYZ" not in repr(s)


def test_reach_covers_the_longest_offset() -> None:
    reg = register_of(entry("a", "2027-06-30"))
    assert reach(reg, [sub(offsets=(Offset(years=1),))]) >= timedelta(days=366)
