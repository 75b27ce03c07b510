"""Publishing: the register as iCalendar feeds in a folder that any web server can serve.

One feed for everything (`all.ics`), one per declared area (`area-<key>.ics`) and one per
declared actor (`actor-<key>.ics`), and `index.json` listing them. An area or actor with no
dated occurrence gets no feed, since RFC 5545 does not allow a calendar without components; a
feed that an earlier run wrote and this one does not is removed, so that no stale copy is
served. Series are expanded up to a
horizon (`timeline.DEFAULT_HORIZON_YEARS` past today by default, the same as `list`), so every
client sees the same dates whatever its support for recurrence rules.

Each file is replaced atomically and only when its bytes change. The entries' revisions
(SEQUENCE, LAST-MODIFIED) are given: the service computes them and saves them in the store
before publishing, so that a run stopped half way gives the same bytes for the feeds it had not
written yet when it is repeated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from calendar_tool import ical
from calendar_tool.clock import Clock, today
from calendar_tool.errors import PublishFailed
from calendar_tool.files import write_if_changed
from calendar_tool.model import Occurrence, Register, Revision
from calendar_tool.timeline import DEFAULT_HORIZON_YEARS, horizon, occurrences

INDEX_NAME = "index.json"
# Only names this module writes are ever removed from the folder.
_FEED_FILE = re.compile(r"^(all|(area|actor)-[a-z0-9]+(-[a-z0-9]+)*)\.ics$")


@dataclass(frozen=True)
class FeedResult:
    """One feed of a publishing run."""

    name: str
    title: str
    path: str  # relative to the output folder
    events: int
    written: bool


@dataclass(frozen=True)
class PublishReport:
    out_dir: Path
    feeds: tuple[FeedResult, ...]
    index_written: bool
    removed: tuple[str, ...]  # files of earlier runs that are no longer published
    skipped: tuple[str, ...]  # feeds not written because they would hold no event
    horizon: date

    @property
    def written(self) -> int:
        return sum(f.written for f in self.feeds)

    @property
    def unchanged(self) -> int:
        return len(self.feeds) - self.written


@dataclass(frozen=True)
class FeedSpec:
    """A feed to write: its metadata and which occurrences it carries."""

    info: ical.FeedInfo
    facet: Literal["all", "area", "actor"] = "all"
    key: str = ""

    def keep(self, o: Occurrence) -> bool:
        if self.facet == "area":
            return self.key in o.entry.areas
        if self.facet == "actor":
            return self.key in o.entry.actors
        return True


_EXPLAIN = (
    "Deadlines sit on their due day, the last day of the period the text gives (\"by 2005\" "
    "is due on 31 December 2005); events span their days. Estimated dates of recurring "
    "sessions are tentative; withdrawn commitments are cancelled. Each event cites its source "
    "text."
)


def feed_specs(register: Register) -> list[FeedSpec]:
    """`all`, then one feed per declared area and per declared actor, in declaration order."""
    what = register.description or register.title
    specs = [FeedSpec(ical.FeedInfo("all", register.title, f"{what}\n\n{_EXPLAIN}"))]
    for key, term in register.areas.items():
        info = ical.FeedInfo(f"area-{key}", f"{term.title} – {register.title}",
                             f"Commitments in the area {term.title} of: {register.title}."
                             f"\n\n{_EXPLAIN}")
        specs.append(FeedSpec(info, "area", key))
    for key, term in register.actors.items():
        info = ical.FeedInfo(f"actor-{key}", f"{term.title} – {register.title}",
                             f"Commitments owed by {term.title} under: {register.title}."
                             f"\n\n{_EXPLAIN}")
        specs.append(FeedSpec(info, "actor", key))
    return specs


def feed_occurrences(register: Register, until: date) -> list[Occurrence]:
    """The dated occurrences feeds carry, sorted by date (standing obligations have no day)."""
    return [o for o in occurrences(register, until) if o.when is not None]


def event_blocks(register: Register, revs: Mapping[str, Revision],
                 occs: Iterable[Occurrence]) -> dict[str, bytes]:
    """Each occurrence's VEVENT bytes by occurrence id, serialised once for every feed."""
    return {o.id: ical.event_bytes(o, register, revs[o.entry.id]) for o in occs}


def feed_bytes(info: ical.FeedInfo, chosen: Sequence[Occurrence],
               blocks: Mapping[str, bytes]) -> bytes:
    """One feed: the calendar `info` describes, with the events of `chosen` in their order."""
    return ical.calendar_bytes(info, (blocks[o.id] for o in chosen))


def selected_feed(register: Register, revs: Mapping[str, Revision], info: ical.FeedInfo,
                  keep: Callable[[Occurrence], bool], clock: Clock,
                  horizon_years: int = DEFAULT_HORIZON_YEARS) -> tuple[bytes, int]:
    """A feed of the dated occurrences that `keep` selects, and how many there are.

    Built as `publish` builds each of its feeds: the same horizon, the same events in the same
    order, each with the same bytes, so an event of a selected feed is byte for byte the event
    of `all.ics` published on the same day with the same revisions. Unlike `publish`, which
    writes no feed that would be empty, this returns a calendar without events when nothing is
    selected: a subscriber's own filter may match nothing yet and must still be subscribable.
    """
    until = horizon(today(clock), horizon_years)
    chosen = [o for o in feed_occurrences(register, until) if keep(o)]
    return feed_bytes(info, chosen, event_blocks(register, revs, chosen)), len(chosen)


def index_bytes(feeds: Sequence[FeedResult]) -> bytes:
    """`index.json`: each feed's name, title, path and event count, in feed order."""
    doc = {"feeds": [{"name": f.name, "title": f.title, "path": f.path, "events": f.events}
                     for f in feeds]}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _old_feed_paths(index: Path) -> list[str]:
    try:
        doc = json.loads(index.read_text(encoding="utf-8"))
        return [str(f["path"]) for f in doc["feeds"]]
    except (OSError, ValueError, KeyError, TypeError):
        # A missing or unreadable index only means nothing is known to be stale.
        return []


def publish(register: Register, revs: Mapping[str, Revision], out_dir: Path, clock: Clock,
            horizon_years: int = DEFAULT_HORIZON_YEARS) -> PublishReport:
    """Write the register's feeds and `index.json` into `out_dir`.

    `register` is already validated and `revs` holds a revision for each of its entries.
    Files whose bytes would not change are left untouched. Raises PublishFailed when the
    folder cannot be written.
    """
    if horizon_years < 0:
        raise ValueError("horizon_years must not be negative")
    until = horizon(today(clock), horizon_years)
    index = out_dir / INDEX_NAME
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        occs = feed_occurrences(register, until)
        blocks = event_blocks(register, revs, occs)
        results: list[FeedResult] = []
        skipped: list[str] = []
        for spec in feed_specs(register):
            chosen = [o for o in occs if spec.keep(o)]
            if not chosen:
                # RFC 5545 requires at least one component in a calendar.
                skipped.append(spec.info.name)
                continue
            data = feed_bytes(spec.info, chosen, blocks)
            path = f"{spec.info.name}.ics"
            written = write_if_changed(out_dir / path, data)
            results.append(FeedResult(spec.info.name, spec.info.title, path, len(chosen),
                                      written))

        current = {f.path for f in results}
        removed = []
        for old in _old_feed_paths(index):
            if old not in current and _FEED_FILE.match(old) and (out_dir / old).is_file():
                (out_dir / old).unlink()
                removed.append(old)
        index_written = write_if_changed(index, index_bytes(results))
    except OSError as exc:
        raise PublishFailed(f"cannot publish into {str(out_dir)!r}: {exc}") from None
    return PublishReport(out_dir, tuple(results), index_written, tuple(removed),
                         tuple(skipped), until)
