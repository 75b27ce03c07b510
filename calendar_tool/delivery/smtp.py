"""Sending e-mail: a message's parts (`channels/email.py`) put into one MIME message, sent to
its `mailto:` addresses through the SMTP server of the settings (`CALENDAR_TOOL_SMTP_URL`),
and the server's answer turned into an `Attempt`. The only module that imports smtplib.

`smtp://user:password@host:port` says STARTTLS whenever the server offers it (and refuses to
send a password in clear to one that does not); `smtps://` is TLS from the first byte. The
bytes of a message are a function of its body and id alone: the Message-ID is made of the
message's id (`<msg_…@calendar-tool>`), its Date is the reminder's, its MIME boundaries are
made of its id, so that a retry after a crash is the same message, byte for byte, and a
mail client that has it already can tell.

What the server says: 2xx is sent (the ledger records 250); 4xx, a dropped connection or a
timeout is tried again on the same schedule as HTTP; 5xx is dead. A recipient refused is
named with the server's reason: when every recipient is refused, the attempt fails (tried
again if any refusal is 4xx); when only some are, the message went to the others and counts
as sent, with the refused ones in its error. No error text carries the password.
"""

from __future__ import annotations

import base64
import contextlib
import json
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from urllib.parse import parse_qsl, unquote, urlsplit

from calendar_tool.delivery.channels.email import addresses
from calendar_tool.delivery.masking import redact
from calendar_tool.delivery.retry import DEFAULT_TIMEOUT, Attempt, Outcome, unreached, where
from calendar_tool.model import Outbound

MESSAGE_ID_DOMAIN = "calendar-tool"
SENT = 250  # what the ledger records for a message the server took (its answer to DATA)
_PORTS = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    """Where e-mail goes out: `smtp://[user:password@]host[:port][?from=address]` (port 587,
    STARTTLS when offered) or `smtps://…` (port 465, TLS). `sender` is the From address:
    `from=`, else the user when it is an address, else calendar-tool@ the host."""

    url: str = field(repr=False)
    host: str
    port: int
    tls: bool  # implicit TLS (smtps)
    user: str | None = field(repr=False)
    password: str | None = field(repr=False)
    sender: str

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """The server of an smtp:// or smtps:// URL; ValueError saying what is wrong (never
        quoting the password)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValueError("not an smtp:// or smtps:// URL such as "
                             "smtp://user:password@mail.example.org:587") from None
        scheme = parts.scheme.lower()
        if scheme not in _PORTS or not parts.hostname:
            raise ValueError("not an smtp:// or smtps:// URL with a host, such as "
                             "smtp://user:password@mail.example.org:587")
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        options = dict(parse_qsl(parts.query))
        unknown = sorted(set(options) - {"from"})
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r}; the one known is from=")
        sender = options.get("from") or (user if user and "@" in user else None) \
            or f"calendar-tool@{_mail_domain(parts.hostname)}"
        try:
            addresses(f"mailto:{sender}")
        except ValueError:
            raise ValueError(f"the sender {sender!r} is not an e-mail address: give one with "
                             "?from=calendar@example.org") from None
        return cls(url, parts.hostname, port or _PORTS[scheme], scheme == "smtps", user,
                   password, sender)


def _mail_domain(host: str) -> str:
    """A host name as an address's domain; an IP address is not one, so localhost."""
    return host if any(c.isalpha() for c in host) and ":" not in host else "localhost"


def message_bytes(message: Outbound, sender: str) -> bytes:
    """The MIME message of an e-mail's body (`channels/email.py`): multipart/mixed of a
    multipart/alternative (text/plain, text/html, text/calendar; method=PUBLISH) and the
    calendar as a .ics attachment; every text part quoted-printable, so 7-bit transport
    carries it. The same bytes for the same message, on every attempt."""
    parts = json.loads(message.body)
    m = EmailMessage(policy=SMTP)
    m["From"] = sender
    m["To"] = ", ".join(addresses(message.url))
    _subject(m, parts["subject"])
    m["Date"] = parts["date"]
    m["Message-ID"] = f"<{message.id}@{MESSAGE_ID_DOMAIN}>"
    # RFC 3834: an automatic message, to which vacation responders do not answer.
    m["Auto-Submitted"] = "auto-generated"
    m.set_content(parts["text"], cte="quoted-printable")
    m.add_alternative(parts["html"], subtype="html", cte="quoted-printable")
    m.add_alternative(parts["calendar"], subtype="calendar", params={"method": "PUBLISH"},
                      cte="quoted-printable")
    m.add_attachment(parts["calendar"].encode("utf-8"), maintype="text", subtype="calendar",
                     filename="reminder.ics",
                     params={"method": "PUBLISH", "charset": "utf-8"})
    # "=_" never occurs in quoted-printable or base64 text, so these cannot clash with it.
    for n, part in enumerate(p for p in m.walk() if p.is_multipart()):
        part.set_boundary(f"=_{message.id}_{n}")
    return m.as_bytes()


# RFC 2047 (section 2): an encoded-word is at most 75 characters, of whole characters; 42
# bytes of UTF-8 are 56 of base64, a word of 68, and "Subject: " and one fit RFC 5322's 78.
_WORD_BYTES = 42


def _subject(m: EmailMessage, subject: str) -> None:
    """The Subject: plain ASCII as it is (the policy folds it), anything else as encoded-words
    written here. The policy's own folding wrote an empty encoded-word (`=?utf-8?q??=`, which
    RFC 2047 does not allow) before an emoji or accent at a fold, and decoded a title's
    literal `=?…?=` into other words."""
    if subject.isascii() and "=?" not in subject:
        m["Subject"] = subject
        return
    words, chunk = [], ""
    for c in subject:
        if len((chunk + c).encode()) > _WORD_BYTES:
            words.append(chunk)
            chunk = ""
        chunk += c
    words.append(chunk)
    # Stored as written: the policy refolds only a line over 78 characters, and none is.
    m.set_raw("Subject", "\r\n ".join(
        f"=?utf-8?b?{base64.b64encode(w.encode()).decode('ascii')}?=" for w in words))


class _NoStartTls(Exception):
    """The server offers no STARTTLS, and a password must not travel in clear."""


class _Expired(Exception):
    """The attempt's time ran out (`_Deadline`) before the server had answered in full."""


class _Deadline:
    """An SMTP session's whole time. smtplib bounds each read and write by the timeout, not the
    session: a server sending its replies a byte at a time held an attempt for as long as it
    kept sending, past the message's lease (when another sender takes it and mails it
    again). Once `seconds` have passed, a thread of its own shuts the session's socket down,
    which ends the read or write under way, and keeps doing so until the session is over
    (a socket made meanwhile, by a connection or STARTTLS, is shut down too)."""

    def __init__(self, session: smtplib.SMTP, seconds: float) -> None:
        self.passed = False
        self._session = session
        self._seconds = seconds
        self._over = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="smtp-deadline", daemon=True)

    def __enter__(self) -> _Deadline:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._over.set()
        self._thread.join()

    def _watch(self) -> None:
        if self._over.wait(self._seconds):
            return
        self.passed = True
        while True:
            sock = getattr(self._session, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            if self._over.wait(0.05):
                return


class SmtpSender:
    """Sends e-mail through `server` (None: none configured), one SMTP session an attempt,
    the whole session bounded by `timeout` seconds; `tls` verifies the server (default: the system's
    certificate authorities)."""

    def __init__(self, server: SmtpServer | None, timeout: float = DEFAULT_TIMEOUT,
                 tls: ssl.SSLContext | None = None) -> None:
        self.server = server
        self.timeout = timeout
        self.tls = tls or ssl.create_default_context()

    def send(self, message: Outbound, now: datetime) -> Attempt:
        server = self.server
        if server is None:
            # Retried: setting the variable and restarting mends it within the schedule.
            return Attempt(Outcome.RETRY, None, 0.0, "no SMTP server to send e-mail through: "
                           "set CALENDAR_TOOL_SMTP_URL (smtp://user:password@host:587)")
        try:
            recipients = addresses(message.url)
            data = message_bytes(message, server.sender)
        except (ValueError, KeyError, TypeError) as exc:
            return Attempt(Outcome.DEAD, None, 0.0, f"not an e-mail to send: {exc}")
        start = time.perf_counter()
        try:
            refused = self._deliver(server, recipients, data)
        except Exception as exc:  # each kind is read in `_failed`; anything else is raised
            return self._failed(exc, time.perf_counter() - start)
        latency = time.perf_counter() - start
        if refused:
            return Attempt(Outcome.SENT, SENT, latency, self._safe(
                f"sent, but the server refused {_refusals(refused)}"))
        return Attempt(Outcome.SENT, SENT, latency)

    def _deliver(self, server: SmtpServer, recipients: list[str], data: bytes
                 ) -> dict[str, tuple[int, bytes]]:
        """One session, all of it within the timeout (`_Deadline`): connect, secure, log in,
        send; the recipients refused (when some were taken)."""
        local = socket.gethostname()  # not getfqdn(): no name lookup before every message
        # Made without a host, so that the deadline is watching before the greeting is read.
        session = (smtplib.SMTP_SSL(local_hostname=local, timeout=self.timeout,
                                    context=self.tls) if server.tls
                   else smtplib.SMTP(local_hostname=local, timeout=self.timeout))
        with _Deadline(session, self.timeout) as deadline, session as smtp:
            try:
                return self._session(smtp, server, recipients, data)
            except Exception:
                if deadline.passed:
                    raise _Expired from None
                raise

    def _session(self, smtp: smtplib.SMTP, server: SmtpServer, recipients: list[str],
                 data: bytes) -> dict[str, tuple[int, bytes]]:
        """Greeted, secured, logged in, sent: the recipients refused."""
        # What smtplib.SMTP(host) sets before it connects: TLS checks the certificate for it.
        smtp._host = server.host  # type: ignore[attr-defined]
        code, greeting = smtp.connect(server.host, server.port)
        if code != 220:  # what smtplib.SMTP(host) checks when it connects itself
            raise smtplib.SMTPConnectError(code, greeting)
        smtp.ehlo()
        if not server.tls:
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self.tls)
                smtp.ehlo()
            elif server.user is not None:
                raise _NoStartTls
        if server.user is not None:
            smtp.login(server.user, server.password or "")
        return smtp.sendmail(server.sender, recipients, data)

    def _failed(self, exc: Exception, latency: float) -> Attempt:
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            outcome = Outcome.RETRY if any(400 <= c < 500 for c in codes) else Outcome.DEAD
            return Attempt(outcome, codes[0] if codes else None, latency,
                           self._safe(f"the server refused every recipient: "
                                      f"{_refusals(exc.recipients)}"))
        if isinstance(exc, smtplib.SMTPResponseException):
            code = exc.smtp_code
            outcome = Outcome.RETRY if 400 <= code < 500 or code < 0 else Outcome.DEAD
            text = _said(exc.smtp_error)
            return Attempt(outcome, code if code > 0 else None, latency,
                           self._safe(f"{type(exc).__name__}: SMTP {code} {text}".strip()))
        if isinstance(exc, _Expired) and self.server is not None:
            return Attempt(Outcome.RETRY, None, latency,
                           f"{where(self.server.host, self.server.port)} did not answer "
                           f"within {self.timeout:g} s")
        if isinstance(exc, _NoStartTls):
            return Attempt(Outcome.DEAD, None, latency, "the server offers no STARTTLS, and the "
                           "password is not sent in clear: use smtps:// or a server with "
                           "STARTTLS")
        if isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLCertVerificationError):
            return Attempt(Outcome.DEAD, None, latency, self._safe(_describe(exc)))
        if isinstance(exc, smtplib.SMTPException | OSError):  # dropped, refused, timed out
            said = _unreached(exc, self.server, self.timeout) or _describe(exc)
            return Attempt(Outcome.RETRY, None, latency, self._safe(said))
        raise exc

    def _safe(self, text: str) -> str:
        server = self.server
        if server is None:
            return text
        return redact(text, server.url, None, (server.password or "",))

    def close(self) -> None:
        """Nothing is kept open between attempts."""


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{address} ({code} {_said(text)})".replace(" )", ")")
                     for address, (code, text) in refused.items())


def _said(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(text.split())


def _unreached(exc: Exception, server: SmtpServer | None, timeout: float) -> str | None:
    """A server not reached, said as a webhook's is (`retry.unreached`), and one that did not
    answer in time: the exception's name and errno named no server. None for any other
    failure."""
    if server is None:
        return None
    at = where(server.host, server.port)
    # smtplib reports a read that timed out as SMTPServerDisconnected, raised while handling it.
    if isinstance(exc, smtplib.SMTPServerDisconnected) and \
            isinstance(exc.__context__, TimeoutError):
        exc = exc.__context__
    said = unreached(exc, at, server.host)
    if said is not None:
        return said
    if isinstance(exc, TimeoutError):
        return f"{at} did not answer within {timeout:g} s"
    return None


def _describe(exc: Exception) -> str:
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
