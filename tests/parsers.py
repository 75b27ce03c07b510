"""Independent parsers that read published feeds back: Mozilla's ical.js (run with node, the
parser inside Thunderbird), vobject with validation on, and the `ical` package. None of them
wrote the feeds; each returns the events as plain dicts so tests can compare them.

Missing node or ical.js is a failure, not a skip: `make install` runs `npm ci`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import vobject
from ical.calendar_stream import IcsCalendarStream

from tests.paths import ROOT

SCRIPT = Path(__file__).resolve().parent / "icaljs_parse.mjs"
ICALJS = ROOT / "node_modules" / "ical.js" / "package.json"


def icaljs(paths: Sequence[Path]) -> dict[str, Any]:
    """{path: {"calendar": {...}, "events": [...]}} as ical.js reads each feed."""
    node = shutil.which("node")
    assert node is not None, "node is not installed: the feeds must be read by ical.js"
    assert ICALJS.is_file(), "ical.js is not installed: run `make install` (npm ci)"
    done = subprocess.run([node, str(SCRIPT), *map(str, paths)], capture_output=True,
                          text=True, cwd=ROOT, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def _day(value: date | datetime | None) -> str:
    assert value is not None, "no date where an all-day date belongs"
    assert not isinstance(value, datetime), f"{value!r} is a date-time, not an all-day date"
    return value.isoformat()


def vobject_events(data: bytes) -> list[dict[str, Any]]:
    """Events as vobject reads them with validation on (it rejects a missing UID or DTSTAMP)."""
    calendars = list(vobject.readComponents(data.decode("utf-8"), validate=True))
    assert len(calendars) == 1
    return [
        {"uid": ev.uid.value, "start": _day(ev.dtstart.value), "end": _day(ev.dtend.value),
         "status": ev.status.value, "sequence": int(ev.sequence.value),
         "summary": ev.summary.value}
        for ev in calendars[0].contents.get("vevent", [])
    ]


def ical_events(data: bytes) -> list[dict[str, Any]]:
    """Events as the `ical` package reads them (it rejects a DATE start with a DATE-TIME end)."""
    cal = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    return [
        {"uid": ev.uid, "start": _day(ev.dtstart), "end": _day(ev.dtend),
         "status": ev.status.value if ev.status else None, "sequence": ev.sequence,
         "summary": ev.summary}
        for ev in cal.events
    ]
