"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1, in a thread of its own) that
records every message and answers each recipient and each message as a test scripts it: a
refusal, a delay asked for (4xx), a dropped connection. Plain, with STARTTLS, or TLS from the
first byte, with certificates from a test authority (trustme); it can require a login.
"""

from __future__ import annotations

import ssl
import threading
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.receiver import closed_port


@dataclass(frozen=True)
class Mail:
    """One message the server took: its envelope, its bytes, and whether it came over TLS
    and after a login."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed: EmailMessage = message_from_bytes(self.data, policy=policy.default)
        return parsed


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        refusal = self.server.refuse.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = self.server._next_answer()
        if answer == "drop":
            server.transport.close()
            return "421 closing"
        login = session.auth_data if isinstance(session.auth_data, str) else None
        with self.server._lock:
            self.server._tried.append(Mail(envelope.mail_from, list(envelope.rcpt_tos),
                                           bytes(envelope.content), session.ssl is not None
                                           or self.server.implicit_tls, login))
            if answer.startswith("250"):
                self.server._mails.append(self.server._tried[-1])
        return answer


class MailServer:
    """`with MailServer() as s: ... s.url ... s.mails`. `tls`: "starttls" (offered, and
    required before a login), "implicit" (smtps), or None; `login`: the (user, password) it
    requires, only ever over STARTTLS (aiosmtpd's own rule)."""

    def __init__(self, tls: str | None = None, login: tuple[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._tried: list[Mail] = []
        self._script: deque[str] = deque()
        self.refuse: dict[str, str] = {}
        self.implicit_tls = tls == "implicit"
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(server_tls)
        self.client_tls = ssl.create_default_context()
        self.ca.configure_trust(self.client_tls)
        self.port = closed_port()
        kwargs: dict[str, Any] = {}
        if tls == "starttls":
            kwargs.update(tls_context=server_tls, require_starttls=True)
        if login is not None:
            user, password = login

            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                             data: Any) -> AuthResult:
                ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                    user.encode(), password.encode())
                return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

            kwargs.update(authenticator=authenticate, auth_required=True)
        self.controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port,
            ssl_context=server_tls if self.implicit_tls else None,
            server_hostname="127.0.0.1", **kwargs)
        self.controller.start()
        scheme = "smtps" if self.implicit_tls else "smtp"
        auth = f"{login[0]}:{login[1]}@" if login else ""
        self.url = f"{scheme}://{auth}127.0.0.1:{self.port}"

    def script(self, *answers: str) -> None:
        """What the next messages get after their data: an SMTP reply ("451 4.7.1 Try
        later"), or "drop" to close the connection; then "250" again."""
        with self._lock:
            self._script.extend(answers)

    def _next_answer(self) -> str:
        with self._lock:
            return self._script.popleft() if self._script else "250 Message accepted"

    @property
    def mails(self) -> list[Mail]:
        """The messages taken (answered 250)."""
        with self._lock:
            return list(self._mails)

    @property
    def tried(self) -> list[Mail]:
        """Every message whose data arrived, taken or not."""
        with self._lock:
            return list(self._tried)

    def close(self) -> None:
        self.controller.stop()

    def __enter__(self) -> MailServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
