"""Settings: where the register, the database, the feeds and the SMTP server are. Read from
the environment by the shells only; the logic takes them as arguments."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REGISTER_ENV = "CALENDAR_TOOL_REGISTER"
DB_ENV = "CALENDAR_TOOL_DB"
PUBLIC_URL_ENV = "CALENDAR_TOOL_PUBLIC_URL"
CACHE_ENV = "CALENDAR_TOOL_CACHE"
SMTP_URL_ENV = "CALENDAR_TOOL_SMTP_URL"

DEFAULT_REGISTER = Path("obligations.yaml")
DEFAULT_DB = "sqlite:///calendar-tool.db"
# Where `calendar-tool serve` answers by default; reminders link to its entry pages.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Settings:
    register: Path = DEFAULT_REGISTER
    db: str = DEFAULT_DB
    # What gave `db` (the option or the variable), so that a message about it names it: the
    # command line knows which (click's parameter source), and sets it.
    db_given_by: str = "--db"
    # Where subscribers reach `serve`, when set; the server otherwise links to the address
    # each page was asked at.
    public_url: str | None = None
    # Where entries already read are kept between commands (entry_cache); None: nowhere.
    cache: Path | None = None
    # The SMTP server e-mail reminders go through (smtp:// or smtps://, with its user and
    # password); None: e-mail subscriptions cannot be sent to.
    smtp_url: str | None = field(default=None, repr=False)

    @property
    def link_base(self) -> str:
        """What reminders link to: the public URL, or `serve`'s default address."""
        return self.public_url or DEFAULT_PUBLIC_URL

    @property
    def loopback_links(self) -> bool:
        """Whether what reminders link to (`link_base`) is this machine alone (127.0.0.0/8,
        ::1, localhost, or 0.0.0.0), an address no one who receives them can open."""
        host = urlsplit(self.link_base).hostname or ""
        if host == "localhost" or host.endswith(".localhost"):
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return address.is_loopback or address.is_unspecified

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(register=Path(env.get(REGISTER_ENV) or DEFAULT_REGISTER),
                   db=env.get(DB_ENV) or DEFAULT_DB,
                   public_url=_without_slash(env.get(PUBLIC_URL_ENV)),
                   cache=_cache_folder(env),
                   smtp_url=env.get(SMTP_URL_ENV) or None)


def _without_slash(value: str | None) -> str | None:
    """A URL without its trailing slashes (links are made as URL + "/obligations/ID"); one
    that is nothing but slashes stays as it is, to be refused by `check_public_url`."""
    return (value.rstrip("/") or value) if value else None


def web_address(url: str) -> bool:
    """Whether `url` is an http:// or https:// URL with a host, what a page, a feed or a
    webhook can link or post to: not `javascript:` or a bare word, no space or control
    character (urlsplit drops tabs and line breaks without a word), a port that is a number,
    a host and not only a netloc (`https://@/` has one but no host). The register's
    document links, the public URL and webhook subscriptions are all checked by it."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return False
    try:
        parts = urlsplit(url)  # raises ValueError for a bracketed host that is not one
        parts.port  # noqa: B018  (raises ValueError for a port that is not one)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def check_public_url(url: str) -> str:
    """`url` when it can be CALENDAR_TOOL_PUBLIC_URL: an http:// or https:// URL with a
    host, and a path if need be, that every feed event and reminder links under
    (`URL/obligations/ID`). ValueError saying what is wrong otherwise: a query or fragment
    would end up in the middle of each link, and a user or password would be published."""
    example = "such as https://calendar.example.org"
    if not web_address(url):
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host, {example}")
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        # Not quoted: the password would be on the screen.
        raise ValueError("has a user or password, which every feed and reminder would "
                         f"publish: give the address alone, {example}")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ValueError(f"{url!r} has a query or a fragment, which would sit in the middle "
                         f"of every link (URL/obligations/ID): give the address alone, "
                         f"{example}")
    if not url.isascii() or any(c.isspace() for c in url):
        # A feed's URL property and a chat's link are URIs (RFC 3986): ASCII, no spaces.
        raise ValueError(f"{url!r} holds characters a link cannot carry as they are: write "
                         "them percent-encoded (ü as %C3%BC, a space as %20) and a host name "
                         "as its xn-- form")
    return url


def _cache_folder(env: Mapping[str, str]) -> Path | None:
    """CALENDAR_TOOL_CACHE (`off`: none), else the XDG cache folder's `calendar-tool`."""
    value = env.get(CACHE_ENV)
    if value:
        return None if value == "off" else Path(value)
    base = env.get("XDG_CACHE_HOME") or (f"{env['HOME']}/.cache" if env.get("HOME") else "")
    return Path(base) / "calendar-tool" if base else None
