"""Keeping secrets out of what is shown and logged: webhook URLs are credentials (a Slack URL
is all it takes to post to the channel, a Teams workflow's `sig=` or a Discord webhook's token
too), and so are signing secrets and the SMTP server's user and password."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

MASK = "…"
SECRET_MASK = "whsec_…"


def mask_url(url: str) -> str:
    """The URL as lists and errors show it: enough to tell subscriptions apart (scheme, host,
    port, first path segment), nothing that grants access (user info, further segments, query,
    fragment, each replaced by "…"). A `mailto:` URL shows its addresses, which grant nothing
    and are what tells one e-mail subscription from another."""
    if url[:7].lower() == "mailto:":
        return url.partition("?")[0] + ("?" + MASK if "?" in url else "")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return MASK
    _userinfo, at, host = parts.netloc.rpartition("@")
    out = f"{parts.scheme}://{MASK + '@' if at else ''}{host}"
    path = parts.path
    if path:
        first, slash, rest = path[1:].partition("/")
        out += "/" + first + (slash + MASK if rest else slash)
    if parts.query:
        out += "?" + MASK
    if parts.fragment:
        out += "#" + MASK
    return out


def redact(text: str, url: str, secret: str | None, hidden: Sequence[str] = ()) -> str:
    """`text` with the URL (whole, or the path and query an error may quote alone) shown as
    mask_url shows it, the secret as "whsec_…", and each of `hidden` (an SMTP user and
    password) as "…"."""
    masked = mask_url(url)
    swaps: list[tuple[str, str]] = [(url, masked)]
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is not None:
        masked_parts = urlsplit(masked) if masked != MASK else None
        shown_path = masked_parts.path if masked_parts else MASK
        shown_query = f"{shown_path}?{MASK}" if parts.query else shown_path
        swaps += [
            (url.partition("#")[0], masked.partition("#")[0]),
            (f"{parts.path}?{parts.query}" if parts.query else parts.path, shown_query),
            (parts.path, shown_path),
        ]
        if parts.query:
            swaps.append((parts.query, MASK))
        if "@" in parts.netloc:
            swaps.append((parts.netloc.rpartition("@")[0], MASK))
    if secret:
        swaps.append((secret, SECRET_MASK))
        bare = secret.removeprefix("whsec_")
        if bare:
            swaps.append((bare, SECRET_MASK))
    swaps += [(h, MASK) for h in hidden if h]
    # Longest first, so that a part is never replaced inside a whole that is replaced after it.
    for old, new in sorted(swaps, key=lambda s: -len(s[0])):
        if len(old) > 1 and old != new:
            text = text.replace(old, new)
    return text


def new_secret() -> str:
    """A Standard Webhooks signing key: 24 random bytes, the spec's minimum, in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")

