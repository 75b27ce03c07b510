"""Generated registers with the real register's mix: plain dates of every precision, ranges,
relative dates (to entries and to series occurrences), series with known occurrences,
standing obligations, and several sources per entry."""

from __future__ import annotations

import random

AREAS = ["organized-crime", "corruption", "trafficking", "firearms", "victims", "governance"]
ACTORS = ["member-states", "commission", "secretary-general", "cicp"]


def register_text(entries: int, seed: int = 7) -> str:
    """A valid register of `entries` entries, the same for the same seed."""
    rnd = random.Random(seed)
    out = [
        "register:",
        "  title: Generated register",
        "  reminders: [P90D, P30D, P7D, P0D]",
        "areas:",
        *[f"  {a}: {{title: {a.title()}}}" for a in AREAS],
        "actors:",
        *[f"  {a}: {{title: {a.title()}}}" for a in ACTORS],
        "documents:",
        "  A/RES/55/59: {title: Vienna Declaration, url: https://undocs.org/A/RES/55/59, "
        "file: 000_4853c77995d8575d.txt}",
        "  E/CN.15/2001/5: {title: Draft plans of action, file: 004_ada619865d989696.txt}",
        "entries:",
    ]
    series_ids: list[str] = []
    dated_ids: list[str] = []
    for i in range(entries):
        roll = rnd.random()
        ident = f"e{i}"
        area = rnd.choice(AREAS)
        actor = rnd.choice(ACTORS)
        year = rnd.randint(1995, 2030)
        kind, extra = _dating(rnd, roll, year, series_ids, dated_ids)
        if kind == "session":
            series_ids.append(ident)
        elif roll >= 0.42:  # dated as written: what later deadlines may count from
            dated_ids.append(ident)
        out += [
            f"  - id: {ident}",
            f"    title: Generated commitment number {i} on {area}",
            f"    kind: {kind}",
        ]
        if extra:
            out.append(extra)
        out += [
            f"    actors: [{actor}]",
            f"    areas: [{area}]",
            "    sources:",
            f"      - {{doc: A/RES/55/59, para: \"{rnd.randint(1, 29)}\", quote: we establish "
            "2005 as the target year}",
            f"      - {{doc: E/CN.15/2001/5, para: \"{rnd.randint(1, 120)}\", quote: by 2005}}",
        ]
    return "\n".join(out) + "\n"


def _dating(rnd: random.Random, roll: float, year: int, series_ids: list[str],
            dated_ids: list[str]) -> tuple[str, str]:
    """An entry's kind and the lines that date it, by `roll`: a series (8%), a report due at
    a series' occurrence, a deadline some weeks before a dated entry, a standing obligation,
    or a target, deadline, event or period dated as written."""
    if roll < 0.08:
        return "session", (
            f"    series:\n      rule: FREQ=YEARLY;INTERVAL={rnd.choice([1, 1, 5])}\n"
            f"      start: {year - 20}\n"
            f"      occurrences:\n        3: {{date: {year - 17}-05-0{rnd.randint(1, 5)}"
            f"..{year - 17}-05-1{rnd.randint(0, 9)}}}")
    if roll < 0.18 and series_ids:
        return "report", f"    date: {{from: {rnd.choice(series_ids)}#{rnd.randint(2, 12)}}}"
    if roll < 0.30 and dated_ids:
        return "deadline", \
            f"    date: {{from: {rnd.choice(dated_ids)}, offset: -P{rnd.randint(1, 8)}W}}"
    if roll < 0.42:
        return "standing", ""
    kind = rnd.choice(["target", "deadline", "event", "period"])
    month, day = rnd.randint(1, 12), rnd.randint(1, 22)
    last = day + rnd.randint(1, 6)
    date = {
        "target": str(year),
        "deadline": rnd.choice([f"{year}-{month:02d}", f"{year}-{month:02d}-{day:02d}"]),
        "event": f"{year}-{month:02d}-{day:02d}..{year}-{month:02d}-{last:02d}",
        "period": f"{year}..{year + 1}",
    }[kind]
    return kind, f"    date: {date}"
