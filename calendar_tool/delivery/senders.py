"""Senders behind one small interface: a message taken from the ledger goes out through the
transport its address names (`http:`/`https:` by `http`, `mailto:` by `smtp`), and comes back
as an `Attempt`, never an exception. The service sends through `Senders` and knows no
transport; a new transport is one module beside `http` and a line in `Senders.sender`."""

from __future__ import annotations

import ssl
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from calendar_tool.delivery.retry import DEFAULT_TIMEOUT, Attempt, Outcome
from calendar_tool.delivery.smtp import SmtpSender, SmtpServer
from calendar_tool.model import Outbound

if TYPE_CHECKING:
    from calendar_tool.delivery.http import HttpSender


class Sender(Protocol):
    """One attempt to deliver a message at `now` (the time signatures and Retry-After dates
    are read against)."""

    def send(self, message: Outbound, now: datetime) -> Attempt: ...


class Senders:
    """Every transport of one process, each bounded by `timeout` seconds an attempt: a
    context manager that closes their connections at the end. `smtp` is the server e-mail
    goes through (None: e-mail cannot be sent, and says so); `tls` verifies it (default: the
    system's certificate authorities)."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, smtp: SmtpServer | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        # httpx is loaded by the commands that send, not by every one that opens the service.
        from calendar_tool.delivery import http

        self.timeout = timeout
        self.http: HttpSender = http.HttpSender(http.make_client(timeout))
        self.smtp = SmtpSender(smtp, timeout, tls)

    def sender(self, message: Outbound) -> Sender | None:
        """The transport of the message's address; None for an address no transport takes."""
        scheme = message.url.partition(":")[0].lower()
        if scheme in ("http", "https"):
            return self.http
        return self.smtp if scheme == "mailto" else None

    def send(self, message: Outbound, now: datetime) -> Attempt:
        sender = self.sender(message)
        if sender is None:
            return Attempt(Outcome.DEAD, None, 0.0,
                           f"no way to send to a {message.url.partition(':')[0]!r} address")
        return sender.send(message, now)

    def close(self) -> None:
        self.http.close()
        self.smtp.close()

    def __enter__(self) -> Senders:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
