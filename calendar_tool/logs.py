"""What the long-running commands log: one JSON object per line, one line per event.

A log collector (journald, Loki, CloudWatch, `jq`) reads JSON lines without a parsing rule of
its own, and a value with spaces or quotes in it cannot break the line apart. Each line has
`ts` (UTC, ISO 8601), `level` and `event` (`reminder.sent`, `feed.published`, ...), then the
event's own fields. The standard library's logging does the routing; only the format is ours.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LOGGER = logging.getLogger("calendar_tool")
_FIELDS = "fields"


class JsonLines(logging.Formatter):
    """A record as one line of JSON: ts, level, event, then its fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, _FIELDS, None) or {}
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            # A library's own record (APScheduler's warnings) keeps its text as the message.
            "event": fields.get("event") or record.name,
        }
        if not fields:
            line["message"] = record.getMessage()
        line.update((k, v) for k, v in fields.items() if k != "event")
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def event(name: str, level: int = logging.INFO, exc_info: bool = False, **fields: Any) -> None:
    """Log one event with its fields (and the exception being handled, with `exc_info`)."""
    if LOGGER.isEnabledFor(level):
        LOGGER.log(level, name, exc_info=exc_info, extra={_FIELDS: {"event": name, **fields}})


def tag(record: logging.LogRecord, name: str, **fields: Any) -> None:
    """Give a library's own record an event name and fields (a logging filter's work), so
    that it reads as one of ours."""
    setattr(record, _FIELDS, {"event": name, **fields})


def configure(verbose: bool = False, stream: TextIO | None = None) -> None:
    """JSON lines on stderr: our events at INFO (DEBUG with `verbose`), libraries' warnings."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    LOGGER.setLevel(logging.DEBUG if verbose else logging.INFO)
    # APScheduler says "Added job" and "Running job" at INFO for every job: our own events
    # already say what happened, so it speaks up only when something is wrong (a missed run).
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose else logging.WARNING)
    # httpx logs every request at INFO; the delivery events carry status and latency.
    logging.getLogger("httpx").setLevel(logging.WARNING)
