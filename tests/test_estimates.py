"""Estimated dates that help (issue 18): estimates as precise as the evidence, markers rather
than banners in the feeds, reminders a team can act on when it asks for estimates, notices
when a reminded date is confirmed or moved, the keepers' review, and an overdue list that
holds no guess."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import vobject

from calendar_tool import delivery, service, store, wording
from calendar_tool.clock import FixedClock
from calendar_tool.delivery import BEGINNING
from calendar_tool.model import CHANGED, REVIEW, Format, Notice, Offset, Subscription
from calendar_tool.register import parse_register
from tests.conftest import CLI
from tests.parsers import ical_events
from tests.paths import REGISTER
from tests.receiver import Accept, Receiver
from tests.registers import HEADER, entry

TODAY = "2026-12-02"


def test_an_estimated_subscription_is_reminded_of_the_session_expected_in_2027(
        cli_db: CLI) -> None:
    """On the real register, a subscription with --estimated is owed, over 2027, the
    reminders of the Commission's session expected in May 2027 (counted from 1 May), the
    General Assembly's sessions and the membership terms, all marked as estimates."""
    added = cli_db("subscribe", "add", "est", "--url", "http://127.0.0.1:9/hook",
                   "--estimated", register=REGISTER)
    assert added.exit_code == 0, added.output
    assert added.stdout.splitlines()[0] == \
        "added 'est' (json); reminders, estimated dates too, at 09:00 UTC"
    result = cli_db("remind", "--dry-run", "--at", "2027-01-01T00:00Z", "--window", "1y",
                    register=REGISTER)
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [(r[0], r[6], r[7], r[8], " ".join(r[9:])) for r in rows] == [
        ("2027-01-01", "obligation.due", "P0D", "general-assembly-sessions#82",
         "2027 (estimated)"),
        ("2027-01-31", "obligation.reminder", "P90D", "commission-sessions#36",
         "May 2027 (estimated)"),
        ("2027-04-01", "obligation.reminder", "P30D", "commission-sessions#36",
         "May 2027 (estimated)"),
        ("2027-04-24", "obligation.reminder", "P7D", "commission-sessions#36",
         "May 2027 (estimated)"),
        ("2027-05-01", "obligation.due", "P0D", "commission-sessions#36",
         "May 2027 (estimated)"),
        ("2027-10-02", "obligation.reminder", "P90D", "commission-terms-short-first-term#12",
         "by end of 2027 (estimated)"),
        ("2027-10-03", "obligation.reminder", "P90D", "general-assembly-sessions#83",
         "2028 (estimated)"),
        ("2027-12-01", "obligation.reminder", "P30D", "commission-terms-short-first-term#12",
         "by end of 2027 (estimated)"),
        ("2027-12-02", "obligation.reminder", "P30D", "general-assembly-sessions#83",
         "2028 (estimated)"),
        ("2027-12-24", "obligation.reminder", "P7D", "commission-terms-short-first-term#12",
         "by end of 2027 (estimated)"),
        ("2027-12-25", "obligation.reminder", "P7D", "general-assembly-sessions#83",
         "2028 (estimated)"),
        ("2027-12-31", "obligation.due", "P0D", "commission-terms-short-first-term#12",
         "by end of 2027 (estimated)"),
    ]


def test_without_estimated_nothing_of_the_real_register_reminds(cli_db: CLI) -> None:
    """A subscription that did not ask for estimates is owed nothing after 2005."""
    cli_db("subscribe", "add", "firm", "--url", "http://127.0.0.1:9/hook", register=REGISTER)
    result = cli_db("remind", "--dry-run", "--at", "2027-01-01T00:00Z", "--window", "1y",
                    register=REGISTER)
    assert result.stdout == "nothing would be sent\n"


def test_estimated_and_review_together_are_a_usage_error(cli: CLI) -> None:
    """--estimated on a review subscription makes no sense: one line, exit 2."""
    result = cli("subscribe", "add", "k", "--url", "http://127.0.0.1:9/hook", "--review",
                 "--estimated")
    assert (result.exit_code, result.stderr) == (
        2, "error: --estimated goes with reminders; a --review subscription gets the keepers' "
           "review, which lists estimated dates anyway\n")


def test_no_tentative_event_in_all_ics_is_longer_than_a_day(cli: CLI, tmp_path: Path) -> None:
    """The real register's feed of everything has no banner: every estimated event, and
    every event known only to the month or year, is one day long (read by the `ical`
    package, which did not write it)."""
    assert cli("publish", "--out", str(tmp_path), "--today", TODAY,
               register=REGISTER).exit_code == 0
    events = ical_events((tmp_path / "all.ics").read_bytes())
    tentative = [e for e in events if e["status"] == "TENTATIVE"]
    assert len(tentative) == 110
    assert [e["uid"] for e in tentative
            if date.fromisoformat(e["end"]) - date.fromisoformat(e["start"]) > timedelta(1)] \
        == []
    by_uid = {e["uid"]: e for e in events}
    session = by_uid["commission-sessions#36@calendar-tool"]
    assert (session["start"], session["end"]) == ("2027-05-01", "2027-05-02")
    assert session["summary"] == ("Commission on Crime Prevention and Criminal Justice, annual "
                                  "session (no. 36) – expected in May 2027, dates to be "
                                  "confirmed")


def test_an_estimated_meeting_of_days_is_a_marker_not_a_banner(cli: CLI,
                                                                 tmp_path: Path) -> None:
    """A series whose start gives three days: the text gives the days of none of its
    estimates, so each is the month of the day the rule gives (a yearly rule names no day),
    one all-day marker on its first day, titled as expected (read by the `ical` package); the
    start and the meeting a text gives keep their days."""
    register = tmp_path / "r.yaml"
    register.write_text(HEADER + """\
  - id: meeting
    title: Expert meeting
    kind: event
    series: {rule: FREQ=YEARLY, start: 2000-03-10..2000-03-12,
             occurrences: {3: {date: 2002-05-20..2002-05-29}}}
    actors: [member-states]
    areas: [trafficking]
    sources: [{doc: D/1, para: '1', quote: a quote}]
""")
    out = tmp_path / "feeds"
    assert cli("publish", "--out", str(out), "--today", "2002-06-01",
               register=register).exit_code == 0
    events = ical_events((out / "all.ics").read_bytes())
    assert [(e["uid"], e["start"], e["end"], e["status"], e["summary"]) for e in events
            if e["uid"].startswith("meeting#")][:4] == [
        ("meeting#1@calendar-tool", "2000-03-10", "2000-03-11", "TENTATIVE",
         "Expert meeting (no. 1) – expected on 10–12 March 2000, dates to be confirmed"),
        ("meeting#2@calendar-tool", "2001-03-01", "2001-03-02", "TENTATIVE",
         "Expert meeting (no. 2) – expected in March 2001, dates to be confirmed"),
        ("meeting#3@calendar-tool", "2002-05-20", "2002-05-30", "CONFIRMED",
         "Expert meeting (no. 3)"),
        ("meeting#4@calendar-tool", "2003-05-01", "2003-05-02", "TENTATIVE",
         "Expert meeting (no. 4) – expected in May 2003, dates to be confirmed"),
    ]


def test_no_event_of_a_superseded_entry_carries_an_alarm(cli: CLI, tmp_path: Path) -> None:
    """A superseded commitment, like a met or withdrawn one, has no VALARM in the feeds."""
    assert cli("publish", "--out", str(tmp_path), "--today", TODAY,
               register=REGISTER).exit_code == 0
    superseded = json.loads(cli("list", "--status", "superseded", "--format", "json",
                                "--today", TODAY, register=REGISTER).stdout)
    superseded = [o for o in superseded if o["date"] is not None]  # a standing one: no event
    assert len(superseded) == 7
    blocks = (tmp_path / "all.ics").read_bytes().decode().split("BEGIN:VEVENT")[1:]
    by_uid = {b.split("UID:", 1)[1].split("\r\n", 1)[0]: b for b in blocks}
    assert [o["id"] for o in superseded if "BEGIN:VALARM" in by_uid[f"{o['id']}@calendar-tool"]] \
        == []
    # And each says it was superseded, in its title and its description.
    assert all("[superseded]" in by_uid[f"{o['id']}@calendar-tool"].replace("\r\n ", "")
               and "Status: superseded" in by_uid[f"{o['id']}@calendar-tool"].replace("\r\n ", "")
               for o in superseded)


def test_overdue_holds_no_estimate(cli: CLI) -> None:
    """`list --overdue` on 2 December 2026 lists the open, firm deadlines long past, and none
    of the estimated membership-term expiries."""
    result = cli("list", "--overdue", "--today", TODAY, "--format", "json", register=REGISTER)
    rows = json.loads(result.stdout)
    assert [r for r in rows if r["tentative"]] == []
    assert [r["id"] for r in rows] == [
        "naples-medium-term-plan-resources", "poa-comments-tenth-session",
        "vienna-corruption-instruments-review", "poa-governments-resubmit-proposals",
        "poa-intersessional-outcome-report", "vienna-victims-2002",
        "cicp-support-biennium-2002-2003",
        "plans-of-action-period", "poa-prison-time-bound-targets",
        "poa-restorative-expert-meeting", "vienna-firearms-2005",
        "vienna-trafficking-smuggling-2005"]


def test_review_lists_the_2027_session_to_confirm_and_the_open_2005_targets(cli: CLI) -> None:
    """`review` on 2 December 2026: the sessions estimated within 180 days, nearest first
    (the session estimated in 2026, a year today lies in, before the one estimated in
    2027), then every open deadline long past with no status recorded, then the urgent
    undated commitments of the texts, oldest first: all far over a year old."""
    result = cli("review", "--today", TODAY, "--format", "json", register=REGISTER)
    assert result.exit_code == 0, result.output
    assert [(r["id"], r["reason"]) for r in json.loads(result.stdout)] == [
        ("general-assembly-sessions#81", "estimated"),
        ("general-assembly-sessions#82", "estimated"),
        ("commission-sessions#36", "estimated"),
        ("plans-of-action-period", "long-past"),
        ("poa-prison-time-bound-targets", "long-past"),
        ("poa-restorative-expert-meeting", "long-past"),
        ("vienna-firearms-2005", "long-past"),
        ("vienna-trafficking-smuggling-2005", "long-past"),
        ("cicp-support-biennium-2002-2003", "long-past"),
        ("vienna-victims-2002", "long-past"),
        ("poa-intersessional-outcome-report", "long-past"),
        ("poa-governments-resubmit-proposals", "long-past"),
        ("poa-comments-tenth-session", "long-past"),
        ("vienna-corruption-instruments-review", "long-past"),
        ("naples-medium-term-plan-resources", "long-past"),
        ("division-upgrade-asap", "urgent-old"),
        ("naples-1988-convention-without-delay", "urgent-old"),
        ("naples-expeditious-implementation", "urgent-old"),
        ("programme-resources-urgency", "urgent-old"),
        ("vienna-terrorism-speedy-measures", "urgent-old"),
        ("explosives-expert-group-study-report", "urgent-old"),
        ("poa-toc-implementation-as-expeditiously-as-possible", "urgent-old"),
        ("poa-toc-sign-ratify-as-soon-as-possible", "urgent-old"),
        ("bangkok-terrorism-convention-asap", "urgent-old"),
        ("bangkok-uncac-ratification", "urgent-old"),
    ]


def test_review_refuses_a_span_it_cannot_read(cli: CLI) -> None:
    result = cli("review", "--within", "soon")
    assert (result.exit_code, result.stderr) == (
        2, "error: --within: 'soon' is not a span: write 90d, 12w, 6m or 1y\n")
    past = cli("review", "--today", "2200-06-01", "--within", "1y")
    assert (past.exit_code, past.stderr) == (
        2, "error: --within: '1y' from 2200-06-01 ends on 2201-06-01, past the end of the "
           "calendar this tool handles (1900-01-01 to 2200-12-31)\n")


def test_show_says_how_the_real_registers_estimate_was_made(cli: CLI) -> None:
    """The Commission's 36th session: May 2027, from the tenth, in May 2001."""
    result = cli("show", "commission-sessions#36", "--today", TODAY, register=REGISTER)
    assert "    no. 36: May 2027 [tentative]  (estimated: annual from no. 10 (May 2001))" \
        in result.stdout.splitlines()


def test_an_estimate_counted_from_a_date_confirmed_ahead_says_no_tense(
        tmp_path: Path, cli: CLI) -> None:
    """A keeper confirms the 36th session ahead (17-21 May 2027, read in 2026): the 37th is
    estimated from it, and says so without "which met", which the session has not yet done;
    the same words in `show` and in the feed's description."""
    text = REGISTER.read_text(encoding="utf-8").replace(
        "      occurrences:\n        10:\n",
        "      occurrences:\n        36: {date: 2027-05-17..2027-05-21}\n        10:\n", 1)
    register = tmp_path / "obligations.yaml"
    register.write_text(text, encoding="utf-8")
    result = cli("show", "commission-sessions#37", "--today", TODAY, register=register)
    assert "    no. 37: May 2028 [tentative]  (estimated: annual from no. 36 (17–21 May 2027))" \
        in result.stdout.splitlines()
    published = cli("publish", "--out", str(tmp_path / "feeds"), "--today", TODAY,
                    register=register)
    assert published.exit_code == 0
    feed = (tmp_path / "feeds" / "all.ics").read_text(encoding="utf-8")
    [described] = [ev.description.value for ev in vobject.readOne(feed).vevent_list
                   if ev.uid.value == "commission-sessions#37@calendar-tool"]
    assert "Date: estimated: annual from no. 36 (17–21 May 2027).\n" in described


# --- a date confirmed or moved after reminders went out ---------------------------------------

SERIES = """\
  - id: sessions
    title: Annual session
    kind: session
    series:
      rule: FREQ=YEARLY
      start: 2025
      occurrences:
        1: {date: 2025-05}
KNOWN    actors: [commission]
    areas: [trafficking]
    sources: [{doc: D/1, para: '1', quote: a quote}]
"""


def _series(known: str = "") -> str:
    return HEADER + SERIES.replace("KNOWN", known)


def _claimed(engine: store.Engine, text: str, at: datetime) -> list[tuple[str, str, str]]:
    """Enqueue what is due at `at` for the register `text`; the (occurrence, offset, day)
    of every reminder the ledger holds then."""
    reg = parse_register(text, "r.yaml")
    service.enqueue(engine, reg, FixedClock(at), "https://cal.example.org")
    return sorted((v.occurrence_id, v.offset, v.notice)
                  for v in store.deliveries(engine, at))


def test_a_confirmed_date_is_told_once_and_reminded_from_its_day(engine: store.Engine) -> None:
    """Session no. 2 is expected in May 2026 and reminded 30 days before 1 May; the register
    then confirms it for 18-22 May: the subscriber hears once that the date is confirmed, and
    the next reminders count from 18 May; nothing is sent twice for a day and an offset."""
    store.add_subscription(engine, Subscription(
        "team", "https://hooks.example.org/x", Format.JSON, datetime(2026, 1, 1, tzinfo=UTC),
        offsets=(Offset(days=30), Offset(days=7)), overdue=False, estimated=True))
    first = datetime(2026, 4, 1, 9, tzinfo=UTC)
    assert _claimed(engine, _series(), first) == [
        ("sessions#2", "P30D", "obligation.reminder")]
    confirmed = _series("        2: {date: 2026-05-18..2026-05-22}\n")
    later = datetime(2026, 4, 5, 9, tzinfo=UTC)
    assert _claimed(engine, confirmed, later) == [
        ("sessions#2", "P30D", "obligation.reminder"),
        ("sessions#2", CHANGED, "obligation.confirmed")]
    # Told once: asking again a minute later finds nothing new.
    assert _claimed(engine, confirmed, later + timedelta(minutes=1)) == [
        ("sessions#2", "P30D", "obligation.reminder"),
        ("sessions#2", CHANGED, "obligation.confirmed")]
    # Thirty days and a week before the confirmed day: counted from 18 May, not from 1 May.
    _claimed(engine, confirmed, datetime(2026, 4, 18, 9, tzinfo=UTC))
    week = datetime(2026, 5, 11, 9, tzinfo=UTC)
    assert _claimed(engine, confirmed, week) == [
        ("sessions#2", "P30D", "obligation.reminder"),
        ("sessions#2", "P30D", "obligation.reminder"),
        ("sessions#2", "P7D", "obligation.reminder"),
        ("sessions#2", CHANGED, "obligation.confirmed")]
    assert {k for k in store.ledger_keys(engine) if k[2] != CHANGED} == {
        ("team", "sessions#2", "P30D", "2026-05-01"), ("team", "sessions#2", "P30D", "2026-05-18"),
        ("team", "sessions#2", "P7D", "2026-05-18")}


def test_a_moved_firm_date_is_told_as_changed() -> None:
    """A firm date reminded of and then moved gets one "changed" notice, worded as such."""
    reg = parse_register(HEADER + entry("d", "2027-06-30"), "r.yaml")
    sub = Subscription("team", "https://x.example/h", Format.SLACK, BEGINNING)
    now = datetime(2027, 6, 1, 9, tzinfo=UTC)
    [notice] = delivery.change_notices(reg, sub, {"d": [("2027-05-31", False)]}, now)
    assert (notice.notice, notice.offset, notice.counted_from, notice.detail,
            notice.days_left) == (Notice.CHANGED, CHANGED, "2027-06-30", "2027-05-31", 29)
    assert wording.lead(notice) == "Date changed"
    assert wording.change_detail(notice) == \
        "Reminders so far counted from 31 May 2027; now from 30 June 2027."
    assert delivery.change_notices(reg, sub, {"d": [("2027-06-30", False)]}, now) == []


SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _send_due(engine: store.Engine, clock: FixedClock, day: str, at: datetime) -> None:
    """Claim and send what deadline `d`, due on `day`, owes at `at`."""
    clock.advance_to(at)
    service.enqueue(engine, parse_register(HEADER + entry("d", day), "r.yaml"), clock,
                    "https://cal.example.org")
    with delivery.Senders(5.0) as client:
        service.deliver(engine, client, clock, "test-owner", service.Policy(timeout=5.0))


def test_a_date_moved_and_moved_back_is_told_each_time_from_the_last_day_told(
        engine: store.Engine) -> None:
    """Reminded for 30 June, the deadline is moved to 20 June (a slip of the keeper's), back
    to 30 June, then to 5 July: each move is told once, and each notice says the day the
    subscriber was told last. Before, the move back was never told (30 June had been reminded
    of once), and the last notice said "so far counted from 30 June" instead of 20 June."""
    clock = FixedClock(datetime(2027, 5, 31, 9, tzinfo=UTC))
    with Receiver(secret=SECRET, now=clock.now) as receiver:
        receiver.script(*[Accept()] * 6)
        store.add_subscription(engine, Subscription(
            "team", receiver.url, Format.JSON, datetime(2027, 5, 1, tzinfo=UTC), secret=SECRET,
            offsets=(Offset(days=30), Offset(days=7)), overdue=False))
        for day, at in [("2027-06-30", datetime(2027, 5, 31, 9, tzinfo=UTC)),
                        ("2027-06-20", datetime(2027, 6, 1, 9, tzinfo=UTC)),
                        ("2027-06-20", datetime(2027, 6, 1, 10, tzinfo=UTC)),
                        ("2027-06-30", datetime(2027, 6, 2, 9, tzinfo=UTC)),
                        ("2027-06-30", datetime(2027, 6, 2, 10, tzinfo=UTC)),
                        ("2027-07-05", datetime(2027, 6, 3, 9, tzinfo=UTC))]:
            _send_due(engine, clock, day, at)
        got = [r.json["data"]["reminders"] for r in receiver.accepted()]
    assert [(r["type"], r["offset"], r["remind_at"], r["days_left"], r["detail"])
            for [r] in got] == [
        ("obligation.reminder", "P30D", "2027-05-31T09:00:00Z", 30, None),
        ("obligation.changed", "changed", "2027-06-01T09:00:00Z", 19, "2027-06-30"),
        ("obligation.changed", "changed", "2027-06-02T09:00:00Z", 28, "2027-06-20"),
        ("obligation.changed", "changed", "2027-06-03T09:00:00Z", 32, "2027-06-30")]
    reg = parse_register(HEADER + entry("d", "2027-06-30"), "r.yaml")
    sub = Subscription("team", "https://x.example/h", Format.SLACK, BEGINNING)
    [back] = delivery.change_notices(
        reg, sub, {"d": [("2027-06-30", False), ("2027-06-20", False)]},
        datetime(2027, 6, 2, 9, tzinfo=UTC))
    assert wording.change_detail(back) == \
        "Reminders so far counted from 20 June 2027; now from 30 June 2027."


def test_an_estimate_confirmed_on_the_day_it_counted_from_is_told_once(
        engine: store.Engine) -> None:
    """Session no. 2, expected in May 2026, is reminded 30 days before 1 May to the team that
    asked for estimates; the register then confirms it for 1-3 May. That team hears once that
    the date is confirmed (before: nothing, since the day stayed the same); the team without
    --estimated was never told of the estimate and gets no notice, only reminders from 1 May."""
    for name, estimated in (("estimates", True), ("firm", False)):
        store.add_subscription(engine, Subscription(
            name, "https://hooks.example.org/x", Format.JSON, datetime(2026, 1, 1, tzinfo=UTC),
            offsets=(Offset(days=30), Offset(days=7)), overdue=False, estimated=estimated))
    _claimed(engine, _series(), datetime(2026, 4, 1, 9, tzinfo=UTC))
    confirmed = _series("        2: {date: 2026-05-01..2026-05-03}\n")
    for at in (datetime(2026, 4, 5, 9, tzinfo=UTC), datetime(2026, 4, 5, 10, tzinfo=UTC),
               datetime(2026, 4, 24, 9, tzinfo=UTC)):
        _claimed(engine, confirmed, at)
    assert sorted((v.subscription, v.offset, v.notice, v.remind_at.isoformat(), v.status)
                  for v in store.deliveries(engine, datetime(2026, 4, 24, 9, tzinfo=UTC))) == [
        ("estimates", "P30D", "obligation.reminder", "2026-04-01T09:00:00+00:00", "pending"),
        ("estimates", "P7D", "obligation.reminder", "2026-04-24T09:00:00+00:00", "pending"),
        ("estimates", CHANGED, "obligation.confirmed", "2026-04-05T09:00:00+00:00", "pending"),
        ("firm", "P30D", "obligation.reminder", "2026-04-01T09:00:00+00:00", "skipped"),
        ("firm", "P7D", "obligation.reminder", "2026-04-24T09:00:00+00:00", "pending")]
    sub = Subscription("estimates", "https://x.example/h", Format.SLACK, BEGINNING,
                       estimated=True)
    [notice] = delivery.change_notices(parse_register(confirmed, "r.yaml"), sub,
                                       {"sessions#2": [("2026-05-01", True)]},
                                       datetime(2026, 4, 5, 9, tzinfo=UTC))
    assert (wording.lead(notice), wording.change_detail(notice)) == (
        "Date confirmed", "Reminders keep counting from 1 May 2026.")


def test_a_firm_date_made_an_estimate_again_is_told_to_a_team_without_estimates(
        engine: store.Engine) -> None:
    """A team that takes no estimates is reminded of session no. 2, confirmed for 18 May; the
    keeper then drops that date (the session is expected in May again), and later confirms
    20 May. The team hears once that the date is an estimate again (before: nothing, and it
    kept expecting 18 May), gets no reminder of the estimate, and hears once that 20 May is
    confirmed, then its reminder a week before."""
    clock = FixedClock(datetime(2026, 4, 18, 9, tzinfo=UTC))
    confirmed = {"18": _series("        2: {date: 2026-05-18..2026-05-22}\n"),
                 "20": _series("        2: {date: 2026-05-20..2026-05-22}\n")}
    with Receiver(secret=SECRET, now=clock.now) as receiver:
        receiver.script(*[Accept()] * 5)
        store.add_subscription(engine, Subscription(
            "team", receiver.url, Format.JSON, datetime(2026, 1, 1, tzinfo=UTC), secret=SECRET,
            offsets=(Offset(days=30), Offset(days=7)), overdue=False))
        for text, at in [(confirmed["18"], datetime(2026, 4, 18, 9, tzinfo=UTC)),
                         (_series(), datetime(2026, 4, 20, 9, tzinfo=UTC)),
                         (_series(), datetime(2026, 4, 24, 9, tzinfo=UTC)),
                         (confirmed["20"], datetime(2026, 4, 27, 9, tzinfo=UTC)),
                         (confirmed["20"], datetime(2026, 5, 13, 9, tzinfo=UTC))]:
            clock.advance_to(at)
            service.enqueue(engine, parse_register(text, "r.yaml"), clock, "https://c.example")
            with delivery.Senders(5.0) as client:
                service.deliver(engine, client, clock, "test-owner", service.Policy(timeout=5.0))
        got = [r.json["data"]["reminders"] for r in receiver.accepted()]
    assert [(r["type"], r["offset"], r["remind_at"], r["counted_from"], r["estimated"],
             r["detail"]) for [r] in got] == [
        ("obligation.reminder", "P30D", "2026-04-18T09:00:00Z", "2026-05-18", False, None),
        ("obligation.changed", "changed", "2026-04-20T09:00:00Z", "2026-05-01", True,
         "2026-05-18"),
        ("obligation.confirmed", "changed", "2026-04-27T09:00:00Z", "2026-05-20", False,
         "2026-05-01"),
        ("obligation.reminder", "P7D", "2026-05-13T09:00:00Z", "2026-05-20", False, None)]
    sub = Subscription("team", "https://x.example/h", Format.SLACK, BEGINNING)
    [notice] = delivery.change_notices(parse_register(_series(), "r.yaml"), sub,
                                       {"sessions#2": [("2026-05-18", False)]},
                                       datetime(2026, 4, 20, 9, tzinfo=UTC))
    assert (wording.lead(notice), wording.change_detail(notice)) == (
        "Date changed", "Reminders so far counted from 18 May 2026; the date is now an "
        "estimate (expected in May 2026), reminded only to subscriptions that take estimates.")


def test_estimated_reminders_are_worded_as_expected() -> None:
    """A reminder of an estimate reads as expected, never as due."""
    reg = parse_register(_series(), "r.yaml")
    sub = Subscription("team", "https://x.example/h", Format.SLACK, BEGINNING,
                       offsets=(Offset(days=30),), overdue=False, estimated=True)
    [r] = service.plan(reg, [sub], datetime(2026, 3, 1, tzinfo=UTC),
                       datetime(2026, 5, 1, tzinfo=UTC))
    assert (r.occurrence.id, r.counted_from, r.estimated) == ("sessions#2", "2026-05-01", True)
    assert wording.lead(r) == "Expected in May 2026; estimated, dates not yet confirmed"
    body = json.loads(delivery.render(Format.SLACK, [r], reg, "https://cal.example.org"))
    assert body["blocks"][0]["text"]["text"] == \
        "Expected in May 2026; estimated, dates not yet confirmed: Annual session (no. 2)"


def test_the_keepers_get_each_review_item_once_a_week(engine: store.Engine) -> None:
    """A --review subscription is sent, on Mondays at its time, the review's items it has not
    had: the estimate to confirm and the firm deadline long past, once each."""
    store.add_subscription(engine, Subscription(
        "keepers", "https://hooks.example.org/k", Format.JSON,
        datetime(2026, 1, 1, tzinfo=UTC), review=True))
    text = _series() + entry("old", "2024-06-30")[len(""):]
    monday = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
    assert _claimed(engine, text, monday) == [
        ("old", REVIEW, "obligation.review"), ("sessions#2", REVIEW, "obligation.review")]
    next_monday = monday + timedelta(days=7)
    assert len(store.deliveries(engine, next_monday)) == 2
    assert _claimed(engine, text, next_monday) == [
        ("old", REVIEW, "obligation.review"), ("sessions#2", REVIEW, "obligation.review")]
