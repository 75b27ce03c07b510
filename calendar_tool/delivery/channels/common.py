"""What every channel module gives the registry (`Channel`), what its payload is written
with (`Context`), and what a digest shows of its reminders when a channel's limits cannot hold
them all (`cut`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from calendar_tool import wording
from calendar_tool.delivery.retry import Outcome
from calendar_tool.model import Register, Reminder, Revision


@dataclass(frozen=True)
class Context:
    """Beyond its reminders, what a message is written with: the register (titles of actors,
    documents), the public URL its links start with (no trailing slash), whether it is a test
    message (`subscribe test`), the entries' revisions (the e-mail's calendar part gives
    each event the SEQUENCE its feed has) and what the feeds' events link back to (the
    public URL when one is set; None: no link), so that the part's events are the feeds'."""

    register: Register
    base: str
    test: bool = False
    revisions: Mapping[str, Revision] = field(default_factory=dict)
    feed_links: str | None = None


def cut(reminders: Sequence[Reminder], most: int) -> tuple[Sequence[Reminder], str | None]:
    """The first `most` reminders (the most urgent: `render` orders them), and what the
    message says of the rest, if any ("…and 7 more, the soonest in 14 days")."""
    shown = reminders[:most]
    hidden = reminders[most:]
    return shown, (wording.more(hidden) if hidden else None)


def fit(head: Sequence[str], reminders: Sequence[Reminder], line: Callable[[Reminder], str],
        limit: int, most: int) -> str:
    """`head`, then a line per reminder (at most `most`, whole lines only), then what is left
    out (`wording.more`), all within `limit` characters joined by line breaks."""
    shown, _ = cut(reminders, most)
    lines = list(head)
    used = len("\n".join(lines))
    for i, r in enumerate(shown):
        text = line(r)
        rest = reminders[i + 1:]
        tail = 1 + len(wording.more(rest)) if rest else 0
        if used + (1 if lines else 0) + len(text) + tail > limit:
            lines.append(wording.more(reminders[i:]))
            return "\n".join(lines)
        used += (1 if lines else 0) + len(text)
        lines.append(text)
    if len(reminders) > len(shown):
        lines.append(wording.more(reminders[len(shown):]))
    return "\n".join(lines)


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, with "…" where it was cut, never inside what a
    reader sees as one character (a flag, a family emoji, a letter and its accent)."""
    return text if len(text) <= limit else text[: _whole(text, limit - 1)] + "…"


def clip_escaped(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """`escape(text)` within `limit` characters, cut before escaping (with "…"), so that no
    cut falls inside an escape (`&am…`, a lone backslash) or a character (`clip`). `escape`
    must work character by character, as every channel's does."""
    whole = escape(text)
    if len(whole) <= limit:
        return whole
    used = end = 0
    for c in text:
        used += len(escape(c))
        if used > limit - 1:
            break
        end += 1
    return escape(text[: _whole(text, end)]) + "…"


def whole_lines(lines: Sequence[str], limit: int) -> str:
    """The lines joined, within `limit` characters; when they do not all fit (only with
    links of thousands of characters), the first ones and "…": a cut inside a line could
    end in half an escape (`&am`) or half a link, which a service refuses or shows broken."""
    text = "\n".join(lines)
    while len(text) > limit:
        lines = lines[:-1]
        text = "\n".join([*lines, "…"])
    return text


def _whole(text: str, end: int) -> int:
    """`end`, or the nearest place before it where a cut leaves every character whole."""
    while 0 < end < len(text) and _joins(text[end - 1], text[end], text[:end]):
        end -= 1
    return end


def _joins(before: str, c: str, head: str) -> bool:
    """Whether `c` belongs to the character that `before` (the end of `head`) is part of:
    a combining mark, a joiner or what follows one, a variation selector, a skin tone, an
    emoji tag, or the second half of a flag (regional indicators pair from the first)."""
    if _ZWJ in (before, c) or unicodedata.category(c) in ("Mn", "Mc", "Me"):
        return True
    if "\ufe00" <= c <= "\ufe0f" or "\U0001f3fb" <= c <= "\U0001f3ff" \
            or "\U000e0020" <= c <= "\U000e007f":
        return True
    if _regional(c) and _regional(before):
        run = len(head) - len(head.rstrip(_REGIONAL))
        return run % 2 == 1
    return False


_ZWJ = "\u200d"
_REGIONAL = "".join(chr(c) for c in range(0x1F1E6, 0x1F200))


def _regional(c: str) -> bool:
    return "\U0001f1e6" <= c <= "\U0001f1ff"


def source_link(r: Reminder, register: Register) -> tuple[str, str | None] | None:
    """The first source's citation and its document's URL (None: no source)."""
    sources = r.occurrence.sources
    if not sources:
        return None
    doc = register.documents.get(sources[0].doc)
    return wording.citation(sources[0]), (doc.url if doc and doc.url else None)


Payload = Callable[[Sequence[Reminder], Context], dict[str, Any]]
"""A message's body, as JSON-ready data, from its reminders (most urgent first)."""

Answer = Callable[[int, str], tuple[Outcome, str] | None]
"""A channel's reading of an HTTP answer (its status and the start of its body): the outcome
and what it means, in words; None where the status alone says it (`retry.classify`)."""


def _nothing(url: str) -> str | None:
    return None


def _no_problems(url: str) -> list[str]:
    return []


def _same(url: str) -> str:
    return url


@dataclass(frozen=True)
class Channel:
    """A channel as the registry holds it: its payload, the URL schemes of its addresses,
    how it recognises a URL of its own (`detect`: why it is, or None; ValueError for one
    that does not parse), what is wrong with a URL for it (`problems`), the URL a message
    goes to (`target`), and its reading of an answer (`answer`)."""

    payload: Payload
    schemes: tuple[str, ...] = ("http", "https")
    detect: Callable[[str], str | None] = _nothing
    problems: Callable[[str], list[str]] = _no_problems
    target: Callable[[str], str] = _same
    answer: Answer | None = None
