"""The project's own lint for published feeds: what the independent parsers accept without a
word (duplicate UIDs, an end before its start) and what the feeds promise beyond RFC 5545
(all-day DATE values, a stable DTSTAMP in UTC, the refresh hints).

It reads the raw bytes itself, without icalendar (which wrote them) or any other parser, and
returns one message per problem, so a test can assert `lint(data) == []`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

_NAME = re.compile(r"^[A-Za-z0-9-]+$")
_DATE = re.compile(r"^\d{8}$")
_UTC = re.compile(r"^\d{8}T\d{6}Z$")
_DURATION = re.compile(r"^[+-]?P(\d+W|(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?)$")


@dataclass
class Component:
    name: str
    props: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def all(self, name: str) -> list[tuple[dict[str, str], str]]:
        return [(p, v) for n, p, v in self.props if n == name]

    def one(self, name: str) -> tuple[dict[str, str], str] | None:
        found = self.all(name)
        return found[0] if len(found) == 1 else None


def _content_lines(data: bytes, problems: list[str]) -> list[str]:
    if not data.endswith(b"\r\n"):
        problems.append("the file does not end with CRLF")
    physical = data.split(b"\r\n")[:-1]
    for i, line in enumerate(physical, 1):
        if b"\n" in line or b"\r" in line:
            problems.append(f"line {i}: a bare LF or CR (lines end with CRLF)")
        if len(line) > 75:
            problems.append(f"line {i}: {len(line)} octets, more than 75 (fold it)")
    text = data.decode("utf-8")  # a feed that is not UTF-8 fails here, loudly
    unfolded = re.sub(r"\r\n[ \t]", "", text)
    return unfolded.split("\r\n")[:-1]


def _split(line: str) -> tuple[str, dict[str, str], str]:
    head, _, value = line.partition(":")
    name, *params = head.split(";")
    return name.upper(), dict(p.split("=", 1) for p in params), value


def parse(data: bytes, problems: list[str]) -> Component | None:
    """The component tree of a feed, recording structural problems."""
    stack: list[Component] = []
    root: Component | None = None
    for line in _content_lines(data, problems):
        if ":" not in line:
            problems.append(f"not a content line: {line!r}")
            continue
        name, params, value = _split(line)
        if not _NAME.match(name):
            problems.append(f"bad property name {name!r}")
        if name == "BEGIN":
            comp = Component(value.upper())
            if stack:
                stack[-1].children.append(comp)
            elif root is None:
                root = comp
            else:
                problems.append("more than one top-level component")
            stack.append(comp)
        elif name == "END":
            if not stack or stack[-1].name != value.upper():
                problems.append(f"END:{value} does not close the open component")
                return root
            stack.pop()
        elif stack:
            stack[-1].props.append((name, params, value))
        else:
            problems.append(f"{name} outside any component")
    if stack:
        problems.append(f"{stack[-1].name} is never closed")
    return root


def _day(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def _event(ev: Component, where: str, problems: list[str]) -> None:
    for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "SUMMARY", "STATUS",
                 "LAST-MODIFIED"):
        if ev.one(name) is None:
            problems.append(f"{where}: needs exactly one {name}")
    for name in ("DTSTAMP", "LAST-MODIFIED"):
        got = ev.one(name)
        if got and not _UTC.match(got[1]):
            problems.append(f"{where}: {name} {got[1]!r} is not a UTC date-time")
    start, end = ev.one("DTSTART"), ev.one("DTEND")
    if start and end:
        for name, (params, value) in (("DTSTART", start), ("DTEND", end)):
            if params.get("VALUE") != "DATE" or not _DATE.match(value):
                problems.append(f"{where}: {name} is not an all-day DATE value ({value!r})")
                return
        if _day(end[1]) <= _day(start[1]):
            problems.append(f"{where}: DTEND {end[1]} is not after DTSTART {start[1]}")
    seq = ev.one("SEQUENCE")
    if seq and not seq[1].isdigit():
        problems.append(f"{where}: SEQUENCE {seq[1]!r} is not a whole number")
    status = ev.one("STATUS")
    if status and status[1] not in ("TENTATIVE", "CONFIRMED", "CANCELLED"):
        problems.append(f"{where}: STATUS {status[1]!r} is not one an event may have")
    if ev.one("X-MICROSOFT-CDO-ALLDAYEVENT") != ({}, "TRUE"):
        problems.append(f"{where}: needs X-MICROSOFT-CDO-ALLDAYEVENT:TRUE")
    for alarm in ev.children:
        if alarm.name != "VALARM":
            problems.append(f"{where}: unexpected {alarm.name} inside VEVENT")
            continue
        trigger = alarm.one("TRIGGER")
        if alarm.one("ACTION") != ({}, "DISPLAY") or trigger is None \
                or alarm.one("DESCRIPTION") is None:
            problems.append(f"{where}: a VALARM needs ACTION:DISPLAY, TRIGGER and DESCRIPTION")
        elif not _DURATION.match(trigger[1]):
            problems.append(f"{where}: TRIGGER {trigger[1]!r} is not a duration")


def lint(data: bytes) -> list[str]:
    """Every problem of a published feed, one message each; [] for a good feed."""
    problems: list[str] = []
    root = parse(data, problems)
    if root is None or root.name != "VCALENDAR":
        return [*problems, "the file is not a VCALENDAR"]
    for name, want in (("VERSION", "2.0"), ("METHOD", "PUBLISH"), ("CALSCALE", "GREGORIAN")):
        if root.one(name) is None or root.all(name)[0][1] != want:
            problems.append(f"VCALENDAR needs {name}:{want}")
    for name in ("PRODID", "X-WR-CALNAME", "X-WR-CALDESC", "NAME", "DESCRIPTION"):
        got = root.one(name)
        if got is None or not got[1]:
            problems.append(f"VCALENDAR needs one non-empty {name}")
    refresh = root.one("REFRESH-INTERVAL")
    if refresh is None or refresh[0] != {"VALUE": "DURATION"} or not _DURATION.match(refresh[1]):
        problems.append("VCALENDAR needs REFRESH-INTERVAL;VALUE=DURATION:<duration> (RFC 7986)")
    ttl = root.one("X-PUBLISHED-TTL")
    if ttl is None or not _DURATION.match(ttl[1]):
        problems.append("VCALENDAR needs X-PUBLISHED-TTL:<duration>")
    if not root.children:
        problems.append("a VCALENDAR needs at least one component (RFC 5545, 3.6)")
    uids = []
    for i, ev in enumerate(root.children):
        if ev.name != "VEVENT":
            problems.append(f"component {i}: {ev.name}, not VEVENT")
            continue
        uid = ev.one("UID")
        where = f"VEVENT {uid[1] if uid else i}"
        if uid:
            uids.append(uid[1])
        _event(ev, where, problems)
    for uid_, n in sorted(Counter(uids).items()):
        if n > 1:
            problems.append(f"UID {uid_} appears {n} times")
    return problems
