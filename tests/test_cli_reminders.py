"""`subscribe`, `remind` and `deliveries` from the command line, on SQLite and PostgreSQL, and
two `calendar-tool remind` processes racing for the same reminders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calendar_tool import store
from calendar_tool.model import Format, Offset, Subscription
from tests.conftest import CLI
from tests.receiver import Accept, Fail, Receiver, closed_port
from tests.registers import HEADER, entry

SLACK = "https://hooks.slack.com/services/T0001/B0001/sEcReTtOkEn"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def test_add_shows_the_signing_secret_once_and_list_never(cli_db: CLI) -> None:
    added = cli_db("subscribe", "add", "team", "--url", "http://127.0.0.1:9/hook",
                   "--area", "trafficking", "--offset", "P14D", "--offset", "P0D",
                   "--time", "08:30", "--zone", "Europe/Vienna")
    assert added.exit_code == 0, added.stderr
    first, why, second = added.stdout.splitlines()
    assert first == "added 'team' (json); reminders at 08:30 Europe/Vienna"
    assert why == "format json (no chat service recognised in the URL: a signed JSON webhook)"
    secret = second.split(": ", 1)[1]
    assert secret.startswith("whsec_") and len(secret) > 30
    listed = cli_db("subscribe", "list")
    assert secret not in listed.stdout and "whsec" not in listed.stdout
    assert listed.stdout.splitlines()[1].split() == [
        "team", "json", "http://127.0.0.1:9/hook", "area=trafficking", "P14D,P0D,overdue",
        "08:30", "Europe/Vienna", "enabled"]
    as_json = json.loads(cli_db("subscribe", "list", "--format", "json").stdout)
    assert as_json[0]["signed"] is True and secret not in json.dumps(as_json)


def test_a_slack_url_is_a_secret_and_is_masked(cli_db: CLI) -> None:
    assert cli_db("subscribe", "add", "chan", "--url", SLACK).exit_code == 0
    listed = cli_db("subscribe", "list").stdout
    assert "sEcReTtOkEn" not in listed and "T0001" not in listed
    assert "https://hooks.slack.com/services/…" in listed
    assert " slack " in listed


@pytest.mark.parametrize(("args", "message"), [
    (["--url", "not-a-url"], "error: url: not an http:// or https:// URL with a host"),
    (["--url", "http://x.org/h", "--area", "atlantis"],
     "error: area: unknown area 'atlantis'; the register declares: governance, trafficking, "
     "victims"),
    (["--url", "http://x.org/h", "--offset", "-P7D"],
     "error: offset: -P7D is negative; reminders come before the day (the overdue notice "
     "covers the day after)"),
    (["--url", "http://x.org/h", "--offset", "soon"],
     "error: offset: 'soon' is not a duration of years, months, weeks and days such as P6W "
     "or -P2Y"),
    (["--url", "http://x.org/h", "--zone", "Mars/Olympus"],
     "error: zone: 'Mars/Olympus' is not an IANA time zone such as Europe/Vienna"),
    # Files the system's zone folder holds that are no IANA zone: the host's own zone (a
    # fleet of hosts would each read the subscription in theirs), one counting leap seconds.
    (["--url", "http://x.org/h", "--zone", "localtime"],
     "error: zone: 'localtime' is not an IANA time zone such as Europe/Vienna"),
    (["--url", "http://x.org/h", "--zone", "right/UTC"],
     "error: zone: 'right/UTC' is not an IANA time zone such as Europe/Vienna"),
    (["--url", "http://x.org/h", "--zone", "posixrules"],
     "error: zone: 'posixrules' is not an IANA time zone such as Europe/Vienna"),
    (["--url", "http://x.org/h", "--time", "25:00"],
     "error: time: '25:00' is not a time of day such as 09:00"),
    # What fromisoformat also reads is not HH:MM: an offset would be silently dropped for
    # --zone's, and seconds for the minute.
    (["--url", "http://x.org/h", "--time", "09:00+02:00", "--zone", "America/New_York"],
     "error: time: '09:00+02:00' is not a time of day such as 09:00"),
    (["--url", "http://x.org/h", "--time", "09:00Z"],
     "error: time: '09:00Z' is not a time of day such as 09:00"),
    (["--url", "http://x.org/h", "--time", "09:00:30"],
     "error: time: '09:00:30' is not a time of day such as 09:00"),
    (["--url", "http://x.org/h", "--time", "T0900"],
     "error: time: 'T0900' is not a time of day such as 09:00"),
])
def test_bad_input_is_refused_naming_the_field(cli: CLI, args: list[str], message: str) -> None:
    result = cli("subscribe", "add", "team", *args)
    assert (result.exit_code, result.stderr.strip(), result.stdout) == (8, message, "")
    assert cli("subscribe", "list").stdout.strip().startswith("no subscriptions")


def test_a_name_longer_than_64_characters_is_refused(cli: CLI) -> None:
    """A name had no limit: one of 300 characters was stored, and stretched every line that
    names it. 64 characters are taken, 65 are refused saying how long it is."""
    assert cli("subscribe", "add", "t" * 64, "--url", SLACK).exit_code == 0
    result = cli("subscribe", "add", "team-" + "x" * 60, "--url", SLACK)
    assert (result.exit_code, result.stderr, result.stdout) == (
        8, "error: name: 'team-xxxxxxxxxxxxxxx'… is 65 characters long; at most 64\n", "")
    listed = cli("subscribe", "list").stdout.splitlines()
    assert [line.split()[0] for line in listed[1:]] == ["t" * 64]


def test_a_taken_name_and_an_unknown_name(cli: CLI) -> None:
    assert cli("subscribe", "add", "team", "--url", SLACK).exit_code == 0
    again = cli("subscribe", "add", "team", "--url", SLACK)
    assert (again.exit_code, again.stderr.strip()) == (
        7, "error: name: a subscription named 'team' already exists")
    gone = cli("subscribe", "remove", "nobody")
    assert (gone.exit_code, gone.stderr.strip()) == (9, "error: no subscription named 'nobody'")
    assert cli("subscribe", "remove", "team").stdout == "removed 'team'\n"
    assert cli("deliveries", "--subscription", "team").exit_code == 9


def test_test_sends_a_sample_and_prints_status_and_time(cli: CLI, receiver: Receiver) -> None:
    added = cli("subscribe", "add", "team", "--url", receiver.url, "--format", "json")
    assert added.stdout.splitlines()[1] == "format json (--format)"
    secret = added.stdout.splitlines()[2].split(": ", 1)[1]
    receiver.secret = secret
    result = cli("subscribe", "test", "team")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("team: HTTP 200 in ") and result.stdout.endswith(" s\n")
    [request] = receiver.requests
    assert request.verified is True
    assert request.headers["webhook-id"].startswith("msg_test_")
    assert request.json["data"]["reminders"][0]["occurrence"]["id"]
    assert cli("deliveries").stdout.strip() == "the ledger is empty"


def test_test_against_a_failing_or_absent_receiver_exits_11(cli: CLI,
                                                             receiver: Receiver) -> None:
    """Nothing listening is said as such, with the host and port and no path; an HTTP
    error is said with its status."""
    port = closed_port()
    cli("subscribe", "add", "down", "--url", f"http://127.0.0.1:{port}/x/secret")
    cli("subscribe", "add", "failing", "--url", receiver.url + "/secret-path", "--format",
        "slack")
    receiver.script(Fail(500))
    down = cli("subscribe", "test", "down", "--timeout", "2")
    assert (down.exit_code, down.stderr) == (
        11, f"error: could not reach the receiver of 'down': nothing listens at "
            f"127.0.0.1:{port} (connection refused)\n")
    failing = cli("subscribe", "test", "failing")
    assert failing.exit_code == 11
    assert failing.stderr.startswith(
        "error: the receiver of 'failing' answered HTTP 500 Internal Server Error after ")


def _register(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "obligations.yaml"
    path.write_text(HEADER + "".join(entries))
    return path


def test_remind_dry_run_lists_what_would_be_sent_and_to_whom(cli_db: CLI,
                                                            tmp_path: Path) -> None:
    reg = _register(tmp_path, entry("report-a", "2027-06-30"),
                    entry("met-b", "2027-06-30", extra="status: {state: met}"))
    cli_db("subscribe", "add", "team", "--url", "http://127.0.0.1:9/h", "--zone",
           "Europe/Vienna", register=reg)
    result = cli_db("remind", "--dry-run", "--at", "2027-06-01T00:00Z", "--window", "60d",
                    register=reg)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "AT (UTC)              LOCAL" + " " * 27 + "SUBSCRIPTION  TYPE"
        "                 OFFSET   OCCURRENCE  DATE",
        "2027-06-23 07:00:00Z  2027-06-23 09:00 Europe/Vienna  team          "
        "obligation.reminder  P7D      report-a    by 30 June 2027",
        "2027-06-30 07:00:00Z  2027-06-30 09:00 Europe/Vienna  team          "
        "obligation.due       P0D      report-a    by 30 June 2027",
        "2027-07-01 07:00:00Z  2027-07-01 09:00 Europe/Vienna  team          "
        "obligation.overdue   overdue  report-a    by 30 June 2027",
    ]
    bad = cli_db("remind", "--dry-run", "--at", "2027-06-01T00:00", register=reg)
    assert (bad.exit_code, bad.stderr.strip()) == (
        2, "error: --at '2027-06-01T00:00' has no zone: add Z or an offset such as +01:00")
    sending = cli_db("remind", "--at", "2027-06-01T00:00Z", register=reg)
    assert (sending.exit_code, sending.stderr.strip()) == (
        2, "error: --at goes with --dry-run: sending always happens now")


def _due_now_register(tmp_path: Path, count: int) -> tuple[Path, datetime]:
    """Deadlines due today, reminded (P0D) ten minutes ago by the real clock."""
    at = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)
    day = at.date().isoformat()
    return _register(tmp_path, *(entry(f"d{i}", day) for i in range(count))), at


def _subscribe_due_now(db_url: str, receiver: Receiver, at: datetime, count: int) -> None:
    engine = store.open_store(db_url)
    for n in range(count):
        store.add_subscription(engine, Subscription(
            name=f"team-{n}", url=f"{receiver.base}/hook/{n}", format=Format.SLACK,
            created_at=at - timedelta(hours=1), offsets=(Offset(),), overdue=False,
            time_of_day=at.time()))
    engine.dispose()


def test_remind_sends_what_is_due_and_deliveries_shows_it(
        cli_db: CLI, db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    reg, at = _due_now_register(tmp_path, 2)
    _subscribe_due_now(db_url, receiver, at, 1)
    receiver.script(Accept())
    result = cli_db("remind", register=reg)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ("claimed 2 reminders in 1 message, skipped 0 past the catch-up "
                             "window; sent 1, to retry 0, dead 0\n")
    lines = cli_db("deliveries").stdout.splitlines()
    assert lines[0].split() == ["REMIND", "AT", "SUBSCRIPTION", "OCCURRENCE", "OFFSET",
                                "STATUS", "ATTEMPTS", "LAST", "ANSWER", "WEBHOOK", "ID"]
    assert [line.split()[2:7] for line in lines[1:]] == [
        ["team-0", "d0", "P0D", "sent", "1"], ["team-0", "d1", "P0D", "sent", "1"]]
    again = cli_db("remind", register=reg)
    assert again.stdout.startswith("claimed 0 reminders in 0 messages")
    assert len(receiver.requests) == 1
    shown = json.loads(cli_db("deliveries", "--format", "json", "--status", "sent").stdout)
    assert [(d["occurrence"], d["status"], [a["status"] for a in d["attempts"]])
            for d in shown] == [("d0", "sent", [200]), ("d1", "sent", [200])]
    # None of the rows is dead: the ledger is not empty, as it said it was.
    assert cli_db("deliveries", "--status", "dead", "--subscription", "team-0").stdout == \
        "no delivery matches\n"


def test_two_remind_processes_send_each_reminder_once(db_url: str, tmp_path: Path,
                                                      receiver: Receiver) -> None:
    """Two real processes, started together, on the same database and receiver."""
    reg, at = _due_now_register(tmp_path, 3)
    _subscribe_due_now(db_url, receiver, at, 12)
    env = dict(os.environ, CALENDAR_TOOL_DB=db_url, CALENDAR_TOOL_REGISTER=str(reg))
    procs = [subprocess.Popen([sys.executable, "-m", "calendar_tool.cli", "remind"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    keys = Counter((r.path, line) for r in receiver.accepted()
                   for line in r.json["text"].splitlines())
    assert len(receiver.accepted()) == 12
    assert set(keys.values()) == {1}
    sent = sum(int(out.split("sent ")[1].split(",")[0]) for out, _ in outs)
    assert sent == 12


def test_subscribe_test_to_teams_delivers_a_card_the_sdk_accepts(
        cli: CLI, receiver: Receiver, tmp_path: Path) -> None:
    """The issue's first check, and the sample's days counted from today: a deadline a week
    away, with only a 30-day offset (its next reminder is the overdue notice), reads "Due in 7
    days" in a card marked as a test, which the Adaptive Cards SDK and schema accept."""
    from tests.cards import schema_problems, sdk_problems

    soon = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    reg = _register(tmp_path, entry("soon", soon))
    added = cli("subscribe", "add", "t", "--url", f"{receiver.base}/x", "--format", "teams",
                "--offset", "P30D", register=reg)
    assert added.exit_code == 0, added.stderr
    assert added.stdout.splitlines()[1] == "format teams (--format)"
    result = cli("subscribe", "test", "t", register=reg)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("t: HTTP 200 in ")
    [request] = receiver.requests
    assert request.path == "/x"
    assert sdk_problems([request.json]) == [[]]
    assert schema_problems(request.json) == []
    body = request.json["attachments"][0]["content"]["body"]
    assert [b["text"] for b in body[:2]] == ["Test message from calendar-tool",
                                             "Due in 7 days: Title of soon"]


def test_subscribe_add_says_which_format_and_why(cli: CLI) -> None:
    """Teams, Discord and Mattermost URLs are recognised; a retired Teams connector is
    refused naming the url."""
    teams = ("https://x.environment.api.powerplatform.com:443/powerautomate/automations/direct/"
             "workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke"
             "?api-version=1&sig=SiGnAtUrE")
    for name, url, line in [
        ("t", teams, "format teams (a Power Automate workflow URL)"),
        ("d", "https://discord.com/api/webhooks/123456789012345678/ToKeN",
         "format discord (a Discord webhook URL)"),
        ("m", "https://chat.example.org/hooks/xg7q1ybrkf8zjm5wgtf3hbo6ah",
         "format mattermost (a Mattermost incoming webhook URL (…/hooks/ and a 26-character "
         "id))"),
    ]:
        added = cli("subscribe", "add", name, "--url", url)
        assert (added.exit_code, added.stdout.splitlines()[1]) == (0, line), added.stderr
    listed = cli("subscribe", "list").stdout
    assert "SiGnAtUrE" not in listed and "ToKeN" not in listed
    retired = cli("subscribe", "add", "old", "--url",
                  "https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d")
    assert retired.exit_code == 8
    assert retired.stderr.startswith("error: url: a retired Office 365 connector")


def test_under_a_public_url_emailed_events_are_the_published_ones(
        cli_db: CLI, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CALENDAR_TOOL_PUBLIC_URL set: the event in the calendar part of `subscribe test` and of
    `remind` is all.ics's, byte for byte (its URL line, and the SEQUENCE 0 the feed gives it,
    not the 1 of an entry hashed without the URL)."""
    from tests.mailserver import MailServer

    _, at = _due_now_register(tmp_path, 1)
    soon = (at.date() + timedelta(days=7)).isoformat()
    reg = _register(tmp_path, entry("d0", at.date().isoformat()), entry("soon", soon))
    monkeypatch.setenv("CALENDAR_TOOL_PUBLIC_URL", "https://calendar.example.org/")
    published = cli_db("publish", "--out", str(tmp_path / "feeds"), register=reg)
    assert published.exit_code == 0, published.stderr
    events = _vevents((tmp_path / "feeds" / "all.ics").read_text())
    assert list(events) == ["d0", "soon"]
    for uid, event in events.items():
        assert f"\r\nURL:https://calendar.example.org/obligations/{uid}\r\n" in event
        assert "\r\nSEQUENCE:0\r\n" in event
    engine = store.open_store(db_url)
    store.add_subscription(engine, Subscription(
        name="m", url="mailto:a@example.org", format=Format.EMAIL,
        created_at=at - timedelta(hours=1), offsets=(Offset(),),
        overdue=False, time_of_day=at.time()))
    engine.dispose()
    with MailServer() as mail:
        monkeypatch.setenv("CALENDAR_TOOL_SMTP_URL", f"smtp://127.0.0.1:{mail.port}")
        reminded = cli_db("remind", register=reg)
        assert reminded.exit_code == 0, reminded.stderr
        assert reminded.stdout.startswith("claimed 1 reminder in 1 message")
        assert cli_db("subscribe", "test", "m", register=reg).exit_code == 0
        reminder, sample = mail.mails
    for got, uid in ((reminder, "d0"), (sample, "soon")):
        [part] = [p.get_content() for p in got.message.walk()
                  if p.get_content_type() == "text/calendar" and not p.get_filename()]
        assert _vevents(part) == {uid: events[uid]}


def _vevents(text: str) -> dict[str, str]:
    """The VEVENTs of an iCalendar text by the UID's part before "@", with CRLF line ends."""
    crlf = text.replace("\r\n", "\n").replace("\n", "\r\n")
    found = {}
    for piece in crlf.split("BEGIN:VEVENT\r\n")[1:]:
        event = "BEGIN:VEVENT\r\n" + piece[:piece.index("END:VEVENT\r\n")] + "END:VEVENT\r\n"
        uid = event.split("\r\nUID:", 1)[1].split("@", 1)[0]
        found[uid] = event
    return found


def test_subscribe_test_by_email_delivers_a_calendar_that_parses(
        cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's second check: CALENDAR_TOOL_SMTP_URL names a real SMTP server on
    127.0.0.1; the test mail's calendar part is read by ical.js."""
    from tests.mailserver import MailServer
    from tests.parsers import icaljs

    soon = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    reg = _register(tmp_path, entry("soon", soon))
    with MailServer() as mail:
        monkeypatch.setenv("CALENDAR_TOOL_SMTP_URL", f"smtp://127.0.0.1:{mail.port}")
        added = cli("subscribe", "add", "m", "--url", "mailto:a@example.org", register=reg)
        assert added.stdout.splitlines()[1] == "format email (mailto: addresses)"
        result = cli("subscribe", "test", "m", register=reg)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("m: SMTP 250 in ")
        [got] = mail.mails
    message = got.message
    assert message["Subject"] == "Test message from calendar-tool: Due in 7 days: Title of soon"
    assert message["Message-ID"].startswith("<msg_test_")
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"
              and not p.get_filename()]
    path = tmp_path / "test.ics"
    path.write_text(part.get_content())
    [(_, read)] = icaljs([path]).items()
    assert [(e["uid"], e["start"]) for e in read["events"]] == [("soon@calendar-tool", soon)]
    monkeypatch.setenv("CALENDAR_TOOL_SMTP_URL", "http://mail.example.org")
    bad = cli("subscribe", "test", "m", register=reg)
    assert (bad.exit_code, bad.stderr) == (2, "error: CALENDAR_TOOL_SMTP_URL: not an smtp:// "
                                              "or smtps:// URL with a host, such as "
                                              "smtp://user:password@mail.example.org:587\n")


def test_an_offset_given_twice_reminds_once(cli_db: CLI, db_url: str, tmp_path: Path,
                                            receiver: Receiver) -> None:
    """P7D and P1W are one offset, and an offset named twice is still one: the ledger holds
    one row per (subscription, occurrence, offset, day), so the message, the dry run and the
    count hold the reminder once, not once per time it was named."""
    reg, at = _due_now_register(tmp_path, 1)
    engine = store.open_store(db_url)
    store.add_subscription(engine, Subscription(
        name="team", url=f"{receiver.base}/hook", format=Format.SLACK,
        created_at=at - timedelta(hours=1), offsets=(Offset(), Offset()), overdue=False,
        time_of_day=at.time()))
    engine.dispose()
    preview = cli_db("remind", "--dry-run", "--at", (at - timedelta(hours=1)).isoformat(),
                     "--window", "1d", register=reg)
    assert [line.split()[6:9] for line in preview.stdout.splitlines()[1:]] == [
        ["obligation.due", "P0D", "d0"]]
    receiver.script(Accept())
    result = cli_db("remind", register=reg)
    assert result.stdout == ("claimed 1 reminder in 1 message, skipped 0 past the catch-up "
                             "window; sent 1, to retry 0, dead 0\n")
    [request] = receiver.requests
    assert [b["type"] for b in request.json["blocks"]] == ["header", "section"]
    added = cli_db("subscribe", "add", "twice", "--url", "http://127.0.0.1:9/h", "--offset",
                   "P7D", "--offset", "P1W", "--offset", "P0D", "--offset", "P0D",
                   register=reg)
    assert added.exit_code == 0, added.stderr
    [row] = [line for line in cli_db("subscribe", "list").stdout.splitlines()
             if line.startswith("twice ")]
    assert row.split()[4] == "P7D,P0D,overdue"
