"""What the pages show, as plain data for the templates: an occurrence as the page lists it,
a subscribe action for a selection, the list of published feeds, and the timeline picture's
layout (deadlines and series by area over the years). Pure: the server renders these with its
templates."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from urllib.parse import quote, urlencode

from calendar_tool import listing, wording
from calendar_tool.model import Occurrence, Precision, Register, Source
from calendar_tool.timeline import horizon

# Google Calendar's "add by URL" page, which takes the calendar's address as `cid`.
GOOGLE_ADD = "https://calendar.google.com/calendar/render?cid="


def sources(given: Iterable[Source], register: Register) -> list[dict[str, Any]]:
    """Each source once (`wording.unique_sources`), with its quote and its document's title
    and link."""
    out = []
    for s in wording.unique_sources(given):
        doc = register.documents.get(s.doc)
        out.append({"citation": wording.citation(s), "quote": s.quote,
                    "url": doc.url if doc else None, "doc_title": doc.title if doc else None})
    return out


def occurrence_href(occurrence_id: str) -> str:
    return "/obligations/" + quote(occurrence_id, safe="")


def subscribe(base: str, params: Sequence[tuple[str, str]], events: int, label: str
              ) -> dict[str, Any]:
    """The subscribe action for a selection (`params`: the filters, as in the page's own
    address): the feed `/feeds/all.ics?<params>` as a `webcal://` link, as a Google Calendar
    link, as an address to copy, and how many events it holds."""
    url = f"{base}/feeds/all.ics" + (f"?{urlencode(params)}" if params else "")
    webcal = "webcal://" + url.split("://", 1)[-1]
    return {"label": label, "url": url, "webcal": webcal,
            "google": GOOGLE_ADD + quote(webcal, safe=""), "events": events,
            "count": wording.events_count(events), "page": "/" + (
                f"?{urlencode(params)}" if params else "")}


def feed_list(base: str, published: Iterable[Mapping[str, Any]],
              labels: Mapping[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """The published feeds (index.json's entries) grouped as the page lists them, each with
    its short name (`labels`: by feed name, its group and name; a feed the register no
    longer declares keeps its own title): everything, by area, by actor."""
    groups: dict[str, list[dict[str, Any]]] = {"all": [], "area": [], "actor": []}
    for f in published:
        name = str(f.get("name", ""))
        group, label = labels.get(name, ("all", str(f.get("title", name))))
        url = f"{base}/feeds/{quote(str(f.get('path', '')))}"
        events = f.get("events")
        groups[group].append({
            "name": name, "label": label, "title": f.get("title"), "url": url,
            "webcal": "webcal://" + url.split("://", 1)[-1],
            "count": wording.events_count(events) if isinstance(events, int) else ""})
    titles = {"all": "The whole register", "area": "By area", "actor": "By actor"}
    return [{"title": titles[g], "feeds": feeds} for g, feeds in groups.items() if feeds]


def item(o: Occurrence, register: Register) -> dict[str, Any]:
    """An occurrence as the page lists it: the date and title as `list` shows them."""
    row = listing.row(o)
    return {
        "id": o.id, "href": occurrence_href(o.id), "date": row["date"], "title": row["title"],
        "kind": o.entry.kind.value, "state": o.state.state.value, "tentative": o.tentative,
        "location": o.location,
        "areas": [(k, wording.term(register.areas, k)) for k in o.entry.areas],
        "actors": [(k, wording.term(register.actors, k)) for k in o.entry.actors],
        "sources": sources(o.sources, register),
    }


def listed(items: Sequence[Occurrence], total: int, register: Register, everything: str
           ) -> dict[str, Any]:
    """One of the page's lists: its `items` (the first of `total`), and when it is cut short,
    a line saying so and `everything`, the address of all of them as JSON."""
    return {"items": [item(o, register) for o in items], "total": total,
            "more": wording.first_of(len(items), total) if len(items) < total else None,
            "everything": everything}


def occurrence_detail(o: Occurrence, register: Register) -> dict[str, Any]:
    """An occurrence as the entry's page shows it: `item` with how its date was derived."""
    # An undated occurrence's date text may say it all ("as soon as possible, since …").
    derivation = o.derivation if o.derivation != wording.when(o) else None
    return {**item(o, register), "derivation": derivation, "note": o.note,
            # Its day and note too, as `show` and the feed word it.
            "own_status": wording.status(o.status) if o.status else None,
            "extra_sources": [(wording.citation(s), s.quote) for s in o.extra_sources],
            "number": o.number}


@dataclass(frozen=True)
class Mark:
    """One occurrence on the timeline: a diamond on a due day, or a bar over the days of an
    event (pale when only the month or year is known, faded when estimated)."""

    shape: Literal["due", "span"]
    x: float
    width: float
    y: float
    href: str
    label: str
    actors: str
    tentative: bool
    vague: bool
    dim: bool = False  # outside the page's selection


@dataclass(frozen=True)
class Lane:
    key: str
    title: str
    y: float
    height: float
    marks: tuple[Mark, ...]
    series: tuple[tuple[float, str], ...] = ()  # (baseline, title) of each series' row


@dataclass(frozen=True)
class Timeline:
    width: float
    height: float
    left: float
    top: float
    lanes: tuple[Lane, ...]
    ticks: tuple[tuple[float, str], ...]
    today_x: float
    today: str

    @property
    def marks(self) -> int:
        return sum(len(lane.marks) for lane in self.lanes)


# Layout of the timeline, in SVG user units (pixels at scale 1): the area labels take the left
# margin, the years share a plot about as wide as a page (but no year is narrower than 8).
_LEFT, _PLOT, _MIN_YEAR, _MAX_YEAR, _ROW, _PAD, _TOP = 180.0, 720.0, 8.0, 40.0, 10.0, 6.0, 22.0


def timeline(register: Register, day: date, dated: Sequence[Occurrence],
             chosen: Callable[[Occurrence], bool] | None = None) -> Timeline:
    """The dated occurrences `dated` (up to the feeds' horizon) by area over the years: one
    lane per area with one of them, a row in it for each series and one for the single
    dates; the marks that `chosen` does not select are dimmed."""
    first = min([o.when.start.year for o in dated if o.when], default=day.year)
    last = max([o.when.end.year for o in dated if o.when] + [horizon(day).year])

    year_px = max(_MIN_YEAR, min(_MAX_YEAR, _PLOT / (last - first + 1)))

    def x(d: date) -> float:
        year_days = (date(d.year, 12, 31) - date(d.year, 1, 1)).days + 1
        return _LEFT + (d.year - first + (d.timetuple().tm_yday - 1) / year_days) * year_px

    lanes = []
    y = _TOP
    for key, term in register.areas.items():
        mine = [o for o in dated if key in o.entry.areas]
        if not mine:
            continue
        series = list(dict.fromkeys(o.entry.id for o in mine if o.entry.series is not None))
        rows = {entry_id: i + 1 for i, entry_id in enumerate(series)}
        marks = []
        for o in mine:
            w = o.when
            assert w is not None
            row_y = y + _PAD / 2 + rows.get(o.entry.id, 0) * _ROW + _ROW / 2
            label = f"{wording.listed_date(o)}: {wording.heading(o)}"
            actors = " ".join(o.entry.actors)
            dim = chosen is not None and not chosen(o)
            if o.entry.kind.is_due:
                marks.append(Mark("due", x(w.due) + year_px / 730, 0, row_y,
                                  occurrence_href(o.id), label, actors, o.tentative, False,
                                  dim))
            else:
                end = x(w.end) + year_px / 365
                vague = w.within or w.precision is not Precision.DAY
                marks.append(Mark("span", x(w.start), max(end - x(w.start) - (1 if vague else 0),
                                                           2.0), row_y, occurrence_href(o.id),
                                  label, actors, o.tentative, vague, dim))
        height = (len(series) + 1) * _ROW + _PAD
        titles = {o.entry.id: o.entry.title for o in mine}
        labels = tuple((y + _PAD / 2 + rows[e] * _ROW + _ROW - 1.5, titles[e]) for e in series)
        lanes.append(Lane(key, term.title, y, height, tuple(marks), labels))
        y += height
    step = 5 if last - first <= 60 else 10
    ticks = tuple((x(date(year, 1, 1)), str(year)) for year in range(first, last + 2)
                  if year % step == 0)
    return Timeline(_LEFT + (last - first + 1) * year_px + 10, y + 4, _LEFT, _TOP, tuple(lanes),
                    ticks, x(day), day.isoformat())
