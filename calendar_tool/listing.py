"""Occurrences as text a person reads (table, `show`) or a program reads (JSON, CSV).

The JSON form (`occurrence_json`) is the stable machine interface of `list --format json`:
fields are only ever added, never renamed or removed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice, repeat
from typing import Any

from calendar_tool import wording
from calendar_tool.model import DatedValue, Entry, Occurrence, Register, Source
from calendar_tool.timeline import ReviewItem

TABLE_COLUMNS = ("date", "title", "actor", "area", "source")


def cells(o: Occurrence, title_most: int | None = None) -> tuple[str, str, str, str, str]:
    """The table and CSV row, in `TABLE_COLUMNS` order: the date as the text gives it,
    title (cut to `title_most` keeping its state), actor, area, source. A tuple: `list` lays
    out thousands of rows from the index."""
    e = o.entry
    return (wording.listed_date(o), wording.listed_title(o, title_most), ", ".join(e.actors),
            ", ".join(e.areas), wording.citations(o.sources))


def row(o: Occurrence) -> dict[str, str]:
    """`cells` by column name."""
    return dict(zip(TABLE_COLUMNS, cells(o), strict=True))


def grid(headers: Sequence[str], rows: Sequence[Sequence[str]], empty: str,
         caps: Mapping[int, int] | None = None) -> str:
    """Left-aligned columns under upper-case headers, or `empty` when there are no rows. A
    column with a cap (by index) is cut to that width, ending in "…"."""
    if not rows:
        return empty
    caps = caps or {}
    # Column by column, each step over a whole column in C: `list` prints thousands of rows
    # from the date index (7,126 rows: 25 ms cell by cell in Python, 10 ms so).
    columns = []
    for i, (header, cells) in enumerate(zip(headers, zip(*rows, strict=True), strict=True)):
        longest = max(map(len, cells))
        width = max(len(header), longest)
        width = min(width, caps.get(i, width))
        if longest > width:
            cells = tuple(c if len(c) <= width else c[: width - 1] + "…" for c in cells)
        columns.append([header.upper().ljust(width), *map(str.ljust, cells, repeat(width))])
    return "\n".join(map(str.rstrip, map("  ".join, zip(*columns, strict=True))))


# The title, actor and area columns give way first when they are long.
_TABLE_CAPS = {TABLE_COLUMNS.index("title"): 60, TABLE_COLUMNS.index("actor"): 24,
               TABLE_COLUMNS.index("area"): 24}


def table(occurrences: Sequence[Occurrence]) -> str:
    """Aligned columns and a count."""
    most = _TABLE_CAPS[TABLE_COLUMNS.index("title")]
    rows = [cells(o, most) for o in occurrences]
    if not rows:
        return "nothing matches"
    return grid(TABLE_COLUMNS, rows, "", _TABLE_CAPS) + \
        f"\n{wording.counted(len(rows), 'occurrence')}"


def occurrence_json(o: Occurrence, register: Register,
                    date_obj: dict[str, Any] | None = None) -> dict[str, Any]:
    """One occurrence as the stable JSON object of `list --format json`; `date_obj`, its
    date's (`date_json`) when the caller has it."""
    w = o.when
    if date_obj is None and w is not None:
        date_obj = date_json(w)
    status = o.state
    since = None
    if o.since is not None:
        value, doc = o.since
        since = {"text": wording.date_text(value), "value": value.iso(), "document": doc}
    return {
        "id": o.id,
        "entry": o.entry.id,
        "number": o.number,
        "title": o.entry.title,
        "kind": o.entry.kind.value,
        "when": wording.when(o),
        "date": date_obj,
        "tentative": o.tentative,
        "derivation": o.derivation,
        "status": {"state": status.state.value,
                   "date": status.date.isoformat() if status.date else None,
                   "note": status.note,
                   "sources": [_source_json(s, register) for s in status.sources or ()]},
        "actors": list(o.entry.actors),
        "areas": list(o.entry.areas),
        "location": o.location,
        "description": o.entry.description,
        "note": o.note or o.entry.note,
        "sources": [_source_json(s, register) for s in o.sources],
        "urgency": o.entry.urgency,
        "since": since,
        "pending": o.entry.pending,
    }


def date_json(w: DatedValue) -> dict[str, Any]:
    """The `date` of an occurrence's JSON object."""
    return {
        "text": wording.date_text(w), "value": w.iso(), "precision": w.precision.value,
        "range": w.is_range, "within": w.within, "start": w.start.isoformat(),
        "end": w.end.isoformat(), "due": w.due.isoformat(),
    }


def occurrences_json(found: Iterable[Occurrence], register: Register
                     ) -> Iterator[dict[str, Any]]:
    """`occurrence_json` of each of `found`, in order. Occurrences listed by date come in
    runs on one date object (the date index gives a day's rows one), and such a run shares
    its date's JSON object: a third of the time to make every occurrence's object of a
    register of 100,000 entries was their dates'."""
    last: DatedValue | None = None
    last_obj: dict[str, Any] | None = None
    for o in found:
        w = o.when
        if w is not None and w is not last:
            last, last_obj = w, date_json(w)
        yield occurrence_json(o, register, last_obj if w is not None else None)


def _source_json(s: Source, register: Register) -> dict[str, Any]:
    doc = register.documents.get(s.doc)
    return {"doc": s.doc, "para": s.para, "quote": s.quote, "url": doc.url if doc else None}


def json_pieces(objects: Iterable[Any], per: int = 500) -> Iterator[str]:
    """The text of `json.dumps(list(objects), indent=2, ensure_ascii=False)`, `per` objects
    at a time: every occurrence of a register of 100,000 entries is 367 MB of it, and the
    list of their objects with the encoder's own pieces of text took 3.8 GB whole.

    Written by orjson, whose two-space layout is `json.dumps`' (a test holds the two equal
    over any JSON values): `json.dumps` lays out an indented text in Python, twelve times
    slower, and was most of the 19 s the API took to send every occurrence of that register.
    A batch orjson refuses (an integer beyond 64 bits, a lone surrogate) is `json.dumps`'."""
    import orjson  # here: its library is some 11 ms of a `list` that prints a table

    found = iter(objects)
    before = "["
    while batch := list(islice(found, per)):
        try:
            text = orjson.dumps(batch, option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONEncodeError:
            text = json.dumps(batch, indent=2, ensure_ascii=False)
        # "[\n  {…},\n  {…}\n]" without its brackets, so that batches join into one list.
        yield before + text[1:-2]
        before = ","
    yield "[]" if before == "[" else "\n]"


def to_csv(occurrences: Sequence[Occurrence]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "kind", *TABLE_COLUMNS, "due", "status", "tentative"])
    for o in occurrences:
        writer.writerow([o.id, o.entry.kind.value, *cells(o),
                         o.when.due.isoformat() if o.when else "", o.state.state.value,
                         "yes" if o.tentative else "no"])
    return buf.getvalue()


REVIEW_COLUMNS = ("date", "title", "why", "source")
_REVIEW_CAPS = {REVIEW_COLUMNS.index("title"): 60, REVIEW_COLUMNS.index("why"): 50}


def review_table(items: Sequence[ReviewItem]) -> str:
    """The keepers' review as aligned columns and a count: date, title, why, source."""
    rows = []
    most = _REVIEW_CAPS[REVIEW_COLUMNS.index("title")]
    for item in items:
        day, title, _, _, source = cells(item.occurrence, most)
        rows.append([day, title, wording.review_reason(item.reason), source])
    if not rows:
        return "nothing to review"
    return grid(REVIEW_COLUMNS, rows, "", _REVIEW_CAPS) + \
        f"\n{wording.counted(len(rows), 'item')} to review"


def review_json(items: Sequence[ReviewItem], register: Register) -> str:
    """The review as `list --format json` objects, each with `reason` (estimated,
    rests-on-estimate, long-past, urgent-old) and `why` (the reason in words). Stable, as
    `list`'s."""
    return "".join(json_pieces({**occurrence_json(i.occurrence, register), "reason": i.reason,
                                "why": wording.review_reason(i.reason)} for i in items))


def review_csv(items: Sequence[ReviewItem]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "kind", "date", "title", "reason", "due", "source"])
    for item in items:
        o, r = item.occurrence, row(item.occurrence)
        writer.writerow([o.id, o.entry.kind.value, r["date"], r["title"], item.reason,
                         o.when.due.isoformat() if o.when else "", r["source"]])
    return buf.getvalue()


def entry_facts(register: Register, e: Entry) -> list[tuple[str, str]]:
    """The fields `show` prints for an entry, as (label, text), for the page too."""
    facts = [("kind", e.kind.value)]
    if e.description:
        facts.append(("what", e.description))
    for name, keys, vocab in (("actors", e.actors, register.actors),
                              ("areas", e.areas, register.areas)):
        facts.append((name, ", ".join(f"{k} ({vocab[k].title})" if k in vocab else k
                                      for k in keys)))
    facts.append(("status", wording.status(e.status)))
    if e.status.sources:
        facts.append(("recorded", wording.citations(e.status.sources, most=len(
            e.status.sources))))
    if e.urgency is not None:
        since = register.since(e)
        facts.append(("urgency", e.urgency + (f", {wording.since_text(since)}" if since
                                               else "")))
    if e.pending is not None:
        facts.append(("pending", e.pending))
    if e.date is not None:
        facts.append(("date", f"{e.date.iso()} ({wording.date_text(e.date)})"))
    if e.relative is not None:
        facts.append(("date", f"relative: {wording.relative(e.relative)}"))
    if e.series is not None:
        series = e.series
        ends = []
        if series.until:
            ends.append(f"until {series.until.iso()}")
        if series.count:
            ends.append(f"{series.count} occurrences")
        facts.append(("series", f"{series.rule} from {series.start.iso()} (no. {series.first})"
                      + (f", {', '.join(ends)}" if ends else ", open-ended")))
    if e.location:
        facts.append(("location", e.location))
    reminders = register.reminders_for(e)
    facts.append(("reminders", (", ".join(str(r) for r in reminders) or "none")
                  + (" (this entry)" if e.reminders is not None else " (register default)")))
    if e.note:
        facts.append(("note", e.note))
    return facts


def show(register: Register, found: Sequence[Occurrence]) -> str:
    """Every field of one entry, its resolved dates with how they were derived, its sources."""
    e = found[0].entry
    lines = [f"{e.id}: {e.title}"]
    lines += [f"  {label + ':':<9} {text}" for label, text in entry_facts(register, e)]
    lines.append("  occurrences:" if e.series else "  resolved:")
    for o in found:
        label = f"no. {o.number}: " if o.number is not None else ""
        flag = " [tentative]" if o.tentative else ""
        where = f", {o.location}" if o.location and e.series else ""
        text = wording.when(o)
        how = f"  ({o.derivation})" if o.derivation != text else ""
        lines.append(f"    {label}{text}{where}{flag}{how}")
        if o.note:
            lines.append(f"      note: {o.note}")
        if o.status:
            # Worded as the entry's status and the feed's: its day and note are what the
            # keeper recorded.
            lines.append(f"      status: {wording.status(o.status)}")
            for extra in o.status.sources or ():
                lines.append(f"      recorded: {wording.citation(extra)}: \"{extra.quote}\"")
        for extra in o.extra_sources:
            lines.append(f"      source: {wording.citation(extra)}: \"{extra.quote}\"")
    for heading, sources in (("sources", e.sources), ("status recorded by",
                                                      e.status.sources or ())):
        if sources:
            lines.append(f"  {heading}:")
        for s in sources:
            doc = register.documents.get(s.doc)
            url = f" <{doc.url}>" if doc and doc.url else ""
            lines.append(f"    {wording.citation(s)}{url}")
            lines.append(f"      \"{s.quote}\"")
    return "\n".join(lines)
