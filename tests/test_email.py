"""E-mail reminders through the ledger to a real SMTP server on 127.0.0.1 (aiosmtpd), on SQLite
and PostgreSQL: the MIME message and its calendar part (read back by ical.js), the same bytes
and Message-ID on a retry, 4xx retried and 5xx dead, recipients refused named, STARTTLS, TLS
and a login whose password never shows; the SMTP URL of the settings."""

from __future__ import annotations

import base64
import json
import random
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from calendar_tool import delivery, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.delivery import Attempt, Outcome, SmtpServer
from calendar_tool.delivery.smtp import SmtpSender, message_bytes
from calendar_tool.feeds.ical import event_bytes
from calendar_tool.model import Format, Offset, Outbound, Register, Subscription
from calendar_tool.timeline import occurrences
from tests.mailserver import MailServer
from tests.parsers import icaljs
from tests.receiver import closed_port
from tests.registers import HEADER, entry, load_register, register_of

DUE = "2027-06-30"
AT_DUE = datetime(2027, 6, 30, 9, 0, tzinfo=UTC)
LINK = "http://127.0.0.1:8000"
PUBLIC = "https://calendar.example.org"
TO = "mailto:a@example.org,b@example.org"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT_DUE)


@pytest.fixture
def mail() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


def subscribe(engine: store.Engine, register: Register, url: str = TO, name: str = "mail"
              ) -> Subscription:
    return service.add_subscription(engine, register, Subscription(
        name=name, url=url, format=Format.EMAIL, created_at=datetime(2027, 1, 1, tzinfo=UTC),
        offsets=(Offset(),), overdue=False))


def deliver(engine: store.Engine, clock: FixedClock, server: MailServer,
            url: str | None = None) -> list[store.Result]:
    smtp = SmtpServer.parse(url or server.url)
    with delivery.Senders(5, smtp, server.client_tls) as senders:
        return service.deliver(engine, senders, clock, "test-owner", service.Policy(timeout=5),
                               random.Random(7))


def _parts(message: EmailMessage) -> list[str]:
    return [f"{p.get_content_type()}"
            + (f";method={p.get_param('method')}" if p.get_param("method") else "")
            + (f";file={p.get_filename()}" if p.get_filename() else "")
            for p in message.walk()]


def test_an_email_reminder_carries_the_feed_event_and_reads_back(
        engine: store.Engine, clock: FixedClock, mail: MailServer, tmp_path: Path) -> None:
    """Plain text, HTML and a text/calendar PUBLISH part (also attached) whose event is the
    feed's, byte for byte: its UID and its SEQUENCE (1, after an edit), as ical.js reads it."""
    first = register_of(entry("a", DUE))
    service.sync(engine, first, AT_DUE - timedelta(days=40))
    reg = register_of(entry("a", DUE, extra="note: moved"))
    revisions = service.sync(engine, reg, AT_DUE - timedelta(days=30))
    subscribe(engine, reg)
    assert service.enqueue(engine, reg, clock, LINK) == store.Claimed(1, 1, 0)
    [result] = deliver(engine, clock, mail)
    assert (result.state, result.status, result.error) == ("sent", 250, None)
    [got] = mail.mails
    assert got.rcpt_tos == ["a@example.org", "b@example.org"]
    assert got.mail_from == "calendar-tool@localhost"
    m = got.message
    assert (m["From"], m["To"], m["Subject"], m["Date"], m["Auto-Submitted"]) == (
        "calendar-tool@localhost", "a@example.org, b@example.org",
        "Due today: Title of a", "Wed, 30 Jun 2027 09:00:00 +0000", "auto-generated")
    [view] = store.deliveries(engine, clock.now())
    assert m["Message-ID"] == f"<{view.message_id}@calendar-tool>"
    assert _parts(m) == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html",
                         "text/calendar;method=PUBLISH",
                         "text/calendar;method=PUBLISH;file=reminder.ics"]
    assert all(b < 128 for b in got.data)  # 7-bit: every part is quoted-printable or base64
    text = m.get_body(("plain",))
    assert text is not None and "When: by 30 June 2027 (today)" in text.get_content()
    calendars = [p.get_content() for p in m.walk() if p.get_content_type() == "text/calendar"]
    assert calendars[0] == calendars[1]
    o = next(x for x in occurrences(reg, AT_DUE.date()) if x.id == "a")
    feed_event = event_bytes(o, reg, revisions["a"]).decode()
    assert feed_event in calendars[0].replace("\n", "\r\n").replace("\r\r\n", "\r\n")
    path = tmp_path / "reminder.ics"
    path.write_text(calendars[0])
    [(_, read)] = icaljs([path]).items()
    assert read["calendar"]["method"] == "PUBLISH"
    assert [(e["uid"], e["sequence"], e["start"]) for e in read["events"]] == [
        ("a@calendar-tool", 1, "2027-06-30")]


@pytest.mark.parametrize(("title", "header"), [
    # The policy's folding wrote "on the =?utf-8?q??=" (an empty encoded-word) before the flag.
    ("Report of the Member States on the 🇦🇹",
     b"Subject: =?utf-8?b?RHVlIHRvZGF5OiBSZXBvcnQgb2YgdGhlIE1lbWJlciBTdGF0ZXMgb24g?=\r\n"
     b" =?utf-8?b?dGhlIPCfh6bwn4e5?=\r\n"),
    # ... and read a title's literal encoded-word as one: the subject said "Budget Hi line".
    ("Budget =?utf-8?b?SGk=?= line",
     b"Subject: =?utf-8?b?RHVlIHRvZGF5OiBCdWRnZXQgPT91dGYtOD9iP1NHaz0/PSBsaW5l?=\r\n"),
])
def test_a_subject_beyond_plain_ascii_is_written_as_valid_encoded_words(
        engine: store.Engine, clock: FixedClock, mail: MailServer, title: str,
        header: bytes) -> None:
    """RFC 2047: encoded-words of whole UTF-8 characters, none empty, each within 75
    characters and each line within 78 (RFC 5322), read back as the title says."""
    reg = register_of(entry("a", DUE).replace("Title of a", json.dumps(title, ensure_ascii=False)))
    subscribe(engine, reg)
    service.enqueue(engine, reg, clock, LINK)
    [result] = deliver(engine, clock, mail)
    assert (result.state, result.status) == ("sent", 250)
    [got] = mail.mails
    assert header in got.data
    assert got.message["Subject"] == f"Due today: {title}"
    words = re.findall(rb"=\?utf-8\?b\?([^?]*)\?=", header)
    assert all(words) and all(len(w) + 12 <= 75 for w in words)
    assert [base64.b64decode(w).decode() for w in words]  # whole characters each
    assert max(len(line) for line in got.data.split(b"\r\n")) <= 78


def _vevent(text: str) -> str:
    """The one VEVENT of an iCalendar text, with CRLF line ends."""
    crlf = text.replace("\r\n", "\n").replace("\n", "\r\n")
    start = crlf.index("BEGIN:VEVENT\r\n")
    end = crlf.index("END:VEVENT\r\n", start) + len("END:VEVENT\r\n")
    return crlf[start:end]


def test_under_a_public_url_the_emailed_event_is_the_published_one(
        engine: store.Engine, clock: FixedClock, mail: MailServer, tmp_path: Path) -> None:
    """With a public URL the feeds' events carry a URL line, which is part of their content:
    the e-mail that `run` sends still carries the event of all.ics, byte for byte, at the
    SEQUENCE the feed gives it (0), with the URL of the entry's page. (The e-mail once hashed
    the entry without the URL and said SEQUENCE 1, newer than the feed's own event.)"""
    from calendar_tool.scheduler import Options, Runner

    path = tmp_path / "obligations.yaml"
    path.write_text(HEADER + entry("a", DUE))
    subscribe(engine, load_register(path))
    options = Options(tmp_path / "feeds", LINK, feed_links=PUBLIC)
    with delivery.Senders(5, SmtpServer.parse(mail.url), mail.client_tls) as senders:
        runner = Runner(engine, senders, clock, path, options)
        runner.start()
        [sent] = runner.remind()
    assert (sent.state, sent.status) == ("sent", 250)
    [got] = mail.mails
    [part] = [p.get_content() for p in got.message.walk()
              if p.get_content_type() == "text/calendar" and not p.get_filename()]
    published = (tmp_path / "feeds" / "all.ics").read_bytes().decode()
    assert _vevent(part) == _vevent(published)
    mailed = tmp_path / "mailed.ics"
    mailed.write_text(part)
    [(_, read)] = icaljs([mailed]).items()
    assert [(e["uid"], e["sequence"], e["url"]) for e in read["events"]] == [
        ("a@calendar-tool", 0, f"{PUBLIC}/obligations/a")]


def test_a_4xx_is_retried_as_the_same_message_and_deliveries_shows_each_attempt(
        engine: store.Engine, clock: FixedClock, mail: MailServer) -> None:
    """451, a dropped connection, then 250: three attempts, one Message-ID, the same bytes
    each time, the SMTP codes in the ledger."""
    from calendar_tool.cli import views

    reg = register_of(entry("a", DUE))
    subscribe(engine, reg)
    service.enqueue(engine, reg, clock, LINK)
    mail.script("451 4.7.1 Greylisted, try later", "drop")
    deliver(engine, clock, mail)
    for _ in range(2):
        [view] = store.deliveries(engine, clock.now())
        assert view.status == "retrying" and view.next_attempt_at is not None
        clock.advance_to(view.next_attempt_at)
        deliver(engine, clock, mail)
    assert [(a.number, a.status) for a in store.attempts(engine)] == [
        (1, 451), (2, None), (3, 250)]
    errors = [a.error for a in store.attempts(engine)]
    assert errors[0] == "SMTPDataError: SMTP 451 4.7.1 Greylisted, try later"
    assert errors[1] is not None and errors[1].startswith("SMTPServerDisconnected")
    first, third = mail.tried  # (the dropped one never got its answer)
    assert first.data == third.data
    assert len(mail.mails) == 1
    shown = views.deliveries_json(store.deliveries(engine, clock.now()), store.attempts(engine))
    assert '"status": 451' in shown and '"status": 250' in shown


def test_a_5xx_is_dead_at_once(engine: store.Engine, clock: FixedClock,
                               mail: MailServer) -> None:
    reg = register_of(entry("a", DUE))
    subscribe(engine, reg)
    service.enqueue(engine, reg, clock, LINK)
    mail.script("554 5.7.1 Rejected as spam")
    [result] = deliver(engine, clock, mail)
    assert (result.state, result.status, result.error) == (
        "dead", 554, "SMTPDataError: SMTP 554 5.7.1 Rejected as spam")
    clock.advance_to(AT_DUE + timedelta(days=2))
    assert deliver(engine, clock, mail) == []


def test_recipients_refused_are_named(engine: store.Engine, clock: FixedClock,
                                      mail: MailServer) -> None:
    """One refused of two: sent to the other, the refusal in the ledger. Every one refused,
    one of them for now (4xx): retried."""
    reg = register_of(entry("a", DUE))
    subscribe(engine, reg)
    subscribe(engine, reg, "mailto:gone@example.org,busy@example.org", name="all-refused")
    mail.refuse["b@example.org"] = "550 5.1.1 No such user"
    mail.refuse["gone@example.org"] = "550 5.1.1 No such user"
    mail.refuse["busy@example.org"] = "452 4.2.2 Mailbox full"
    service.enqueue(engine, reg, clock, LINK)
    results = {r.subscription: r for r in deliver(engine, clock, mail)}
    some, every = results["mail"], results["all-refused"]
    assert (some.state, some.status, some.error) == (
        "sent", 250, "sent, but the server refused b@example.org (550 5.1.1 No such user)")
    assert (every.state, every.status, every.error) == (
        "pending", 550, "the server refused every recipient: gone@example.org (550 5.1.1 No "
        "such user); busy@example.org (452 4.2.2 Mailbox full)")
    assert [m.rcpt_tos for m in mail.mails] == [["a@example.org"]]


def test_starttls_and_a_login_whose_password_never_shows(
        engine: store.Engine, clock: FixedClock) -> None:
    """The session turns to TLS before the login; a wrong password is dead (535), and its
    error, the ledger and the masked URL never show the password."""
    reg = register_of(entry("a", DUE))
    subscribe(engine, reg)
    subscribe(engine, reg, "mailto:c@example.org", name="second")
    with MailServer(tls="starttls", login=("cal", "s3cr3t-pw")) as mail:
        service.enqueue(engine, reg, clock, LINK)
        wrong = mail.url.replace("s3cr3t-pw", "wr0ng-pw")
        deliver(engine, clock, mail)  # the first message of each subscription
        [got] = mail.mails[:1]
        assert got.tls is True and got.login == "cal"
        attempt = SmtpSender(SmtpServer.parse(wrong), 5, mail.client_tls).send(
            Outbound("msg_x", "mail", TO, Format.EMAIL, None, _body(), 0), AT_DUE)
    assert (attempt.outcome, attempt.status) == (Outcome.DEAD, 535)
    assert attempt.error is not None and attempt.error.startswith(
        "SMTPAuthenticationError: SMTP 535")
    assert "wr0ng-pw" not in attempt.error
    assert delivery.mask_url(mail.url) == f"smtp://…@127.0.0.1:{mail.port}"
    assert all("s3cr3t" not in (a.error or "") for a in store.attempts(engine))


def test_implicit_tls_and_an_untrusted_certificate(engine: store.Engine,
                                                   clock: FixedClock) -> None:
    """smtps:// is TLS from the first byte; a certificate no authority vouches for is dead."""
    reg = register_of(entry("a", DUE))
    subscribe(engine, reg)
    with MailServer(tls="implicit") as mail:
        service.enqueue(engine, reg, clock, LINK)
        [result] = deliver(engine, clock, mail)
        assert result.state == "sent" and mail.mails[0].tls is True
        untrusted = SmtpSender(SmtpServer.parse(mail.url), 5).send(
            Outbound("msg_y", "mail", TO, Format.EMAIL, None, _body(), 0), AT_DUE)
    assert (untrusted.outcome, untrusted.status) == (Outcome.DEAD, None)
    assert untrusted.error is not None and "CERTIFICATE_VERIFY_FAILED" in untrusted.error


def _body() -> str:
    reg = register_of(entry("a", DUE))
    [r] = [x for x in service.plan(reg, [Subscription("mail", TO, Format.EMAIL, AT_DUE -
                                                      timedelta(days=1), offsets=(Offset(),))],
                                   AT_DUE - timedelta(hours=1), AT_DUE + timedelta(hours=1))]
    return delivery.render(Format.EMAIL, [r], reg, LINK)


def _send(url: str | None) -> Attempt:
    server = SmtpServer.parse(url) if url else None
    return SmtpSender(server, 2).send(Outbound("msg_z", "mail", TO, Format.EMAIL, None,
                                              _body(), 0), AT_DUE)


def test_a_password_is_not_sent_to_a_server_without_starttls(mail: MailServer) -> None:
    """A plain server that offers no STARTTLS gets no login: dead, said in words."""
    attempt = _send(f"smtp://cal:s3cr3t-pw@127.0.0.1:{mail.port}")
    assert (attempt.outcome, attempt.status, attempt.error) == (
        Outcome.DEAD, None, "the server offers no STARTTLS, and the password is not sent in "
        "clear: use smtps:// or a server with STARTTLS")
    assert mail.tried == []


def test_no_server_or_no_answer_is_retried() -> None:
    """No SMTP URL in the settings, or nothing listening: tried again later, saying why."""
    none = _send(None)
    assert (none.outcome, none.status, none.error) == (
        Outcome.RETRY, None, "no SMTP server to send e-mail through: set "
        "CALENDAR_TOOL_SMTP_URL (smtp://user:password@host:587)")
    port = closed_port()
    refused = _send(f"smtp://127.0.0.1:{port}")
    assert (refused.outcome, refused.status, refused.error) == (
        Outcome.RETRY, None, f"nothing listens at 127.0.0.1:{port} (connection refused)")


def test_a_server_not_reached_is_said_with_its_host_and_port() -> None:
    """As for a webhook (README, `subscribe test`): what failed and where, in words, not
    "ConnectionRefusedError: [Errno 111] Connection refused" nor "TimeoutError: timed out",
    which named no server; and the password never."""
    unknown = _send("smtp://cal:pw-s3cr3t@mail.example.invalid:587")
    assert (unknown.outcome, unknown.status) == (Outcome.RETRY, None)
    assert unknown.error is not None
    assert unknown.error.startswith("the host name 'mail.example.invalid' is not known (")
    with socket.socket() as silent:  # takes the connection, never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        server = SmtpServer.parse(f"smtp://127.0.0.1:{port}")
        mute = SmtpSender(server, 0.2).send(Outbound("msg_z", "mail", TO, Format.EMAIL, None,
                                                     _body(), 0), AT_DUE)
    assert (mute.outcome, mute.status, mute.error) == (
        Outcome.RETRY, None, f"127.0.0.1:{port} did not answer within 0.2 s")


def test_the_same_message_makes_the_same_bytes() -> None:
    """Boundaries and the Message-ID come from the message's id: no randomness."""
    message = Outbound("msg_abc", "mail", TO, Format.EMAIL, None, _body(), 0)
    first = message_bytes(message, "cal@example.org")
    assert first == message_bytes(message, "cal@example.org")
    assert b"Message-ID: <msg_abc@calendar-tool>" in first
    assert b'boundary="=_msg_abc_0"' in first and b'boundary="=_msg_abc_1"' in first


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.org", ("mail.example.org", 587, False, None, None,
                                 "calendar-tool@mail.example.org")),
    ("smtps://u%40x.org:p%3Aw@mail.example.org",
     ("mail.example.org", 465, True, "u@x.org", "p:w", "u@x.org")),
    ("smtp://u:p@10.0.0.5:2525?from=cal@example.org",
     ("10.0.0.5", 2525, False, "u", "p", "cal@example.org")),
])
def test_smtp_urls(url: str, expected: tuple[object, ...]) -> None:
    s = SmtpServer.parse(url)
    assert (s.host, s.port, s.tls, s.user, s.password, s.sender) == expected
    assert "password=" not in repr(s) and "url=" not in repr(s)  # never in a log


@pytest.mark.parametrize(("url", "message"), [
    ("http://mail.example.org", "not an smtp:// or smtps:// URL with a host, such as "
                                "smtp://user:password@mail.example.org:587"),
    ("smtp://u:s3cr3t@mail.example.org:port", "not an smtp:// or smtps:// URL such as "
                                              "smtp://user:password@mail.example.org:587"),
    ("smtp://mail.example.org?sender=x", "unknown parameter 'sender'; the one known is from="),
    ("smtp://mail.example.org?from=nobody", "the sender 'nobody' is not an e-mail address: "
                                            "give one with ?from=calendar@example.org"),
])
def test_bad_smtp_urls_are_refused_naming_the_variable(url: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        SmtpServer.parse(url)
    assert str(caught.value) == message
    from calendar_tool.errors import UsageError

    with pytest.raises(UsageError) as usage:
        service.open_senders(1, url)
    assert str(usage.value) == f"CALENDAR_TOOL_SMTP_URL: {message}"
    assert "s3cr3t" not in str(usage.value)
