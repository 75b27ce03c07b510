"""What looks across entries: declared vocabulary and documents, what relative dates count
from, reference cycles, and (after an edit) which entries an edit can have reached."""

from __future__ import annotations

import difflib
import weakref
from collections.abc import Mapping

from calendar_tool.model import MAX_OCCURRENCES, Entry, Kind, Register, Relative, Source
from calendar_tool.register.located import Edit, Spots
from calendar_tool.register.walk import Walk
from calendar_tool.timeline import counted_by_after, dependants, resolve_problems


def check_references(w: Walk, reg: Register, paths: Mapping[str, str], spots: Spots) -> None:
    """Vocabulary, documents, dangling references and cycles. Paths, hints and positions are
    made only for a problem: in a large register most entries have none."""
    relatives: list[tuple[Entry, Relative]] = []
    for entry in reg.entries:
        if entry.relative is not None:
            relatives.append((entry, entry.relative))
        if not declared(reg, entry):
            _report_undeclared(w, reg, entry, paths[entry.id], spots)
        if entry.urgency is not None and reg.since(entry) is None:
            path = paths[entry.id]
            w.fail(spots.at(f"{path}.urgency"), f"{path}.urgency", _NO_SINCE)
    _check_head_sources(w, reg, spots)

    for entry, rel in relatives:
        if _unjudged(w, reg, rel):
            continue
        message = relative_problem(reg, entry, rel)
        if message is not None:
            path = paths[entry.id]
            w.fail(spots.at(f"{path}.date"), f"{path}.date.from", message)

    # Cycles, followed through ids alone. Each entry counts from at most one other, so the
    # walk from an entry can stop at any entry an earlier walk passed (whatever lies beyond
    # is known): every entry is passed once. A cycle is found by the first walk into it, as
    # the register orders walks, and reported at its first entry in the file.
    counts_from = {entry.id: rel.target for entry, rel in relatives}
    passed: set[str] = set()
    for start in counts_from:
        walk: list[str] = []
        on_walk: set[str] = set()
        current = start
        while current in counts_from and current not in passed:
            if current in on_walk:
                cycle = walk[walk.index(current):]
                first = min(cycle, key=lambda i: spots.at(paths[i]) or (0, 0))
                loop = " -> ".join([*cycle, current])
                w.fail(spots.at(f"{paths[first]}.date"), f"{paths[first]}.date.from",
                       f"dates refer to each other in a cycle: {loop}")
                break
            walk.append(current)
            on_walk.add(current)
            current = counts_from[current]
        passed.update(walk)


def _unjudged(w: Walk, reg: Register, rel: Relative) -> bool:
    """Whether what `rel` counts from could not be read (`Walk.faulty`): its entry dropped,
    or its date or series lost. Its own problem is said; judged now, the reference would
    read as dangling, and once that problem is fixed it is judged as usual. An entry of the
    same id read whole (a stub copied above it) is judged."""
    if rel.target not in w.faulty:
        return False
    target = reg.entry(rel.target)
    return target is None or (target.series is None and target.date is None
                              and target.relative is None)


_NO_SINCE = ("an urgent commitment counts from the date of the text that made it, and none "
             "of its sources' documents has a date: give that document a date")


def _check_head_sources(w: Walk, reg: Register, spots: Spots) -> None:
    """The documents that the reviewed passages and the documents' dates cite are declared."""
    for path, src in head_sources(reg):
        if src.doc not in reg.documents:
            hint = difflib.get_close_matches(src.doc, list(reg.documents), n=1)
            tip = f"; did you mean {hint[0]!r}?" if hint else ""
            w.fail(spots.at(f"{path}.doc"), f"{path}.doc",
                   f"{src.doc!r} is not declared under documents{tip}")


def head_sources(reg: Register) -> list[tuple[str, Source]]:
    """The sources cited outside the entries, with their paths: the passage dating each
    document, then each reviewed passage."""
    out = [(f"documents.{key}.dated_by", doc.dated_by)
           for key, doc in reg.documents.items() if doc.dated_by is not None]
    out += [(f"reviewed[{i}]", r.source) for i, r in enumerate(reg.reviewed)]
    return out


def declared(reg: Register, entry: Entry) -> bool:
    """Whether every actor, area and document the entry names is declared."""
    for word in entry.actors:
        if word not in reg.actors:
            return False
    for word in entry.areas:
        if word not in reg.areas:
            return False
    return all(src.doc in reg.documents for src in entry.all_sources())


def _report_undeclared(w: Walk, reg: Register, entry: Entry, path: str, spots: Spots) -> None:
    """A problem for each actor, area and document the entry names that is not declared."""
    for name, vocab in (("actors", reg.actors), ("areas", reg.areas)):
        for i, word in enumerate(getattr(entry, name)):
            if word not in vocab:
                hint = difflib.get_close_matches(word, list(vocab), n=1)
                tip = f"; did you mean {hint[0]!r}?" if hint else ""
                w.fail(spots.at(f"{path}.{name}[{i}]"), f"{path}.{name}[{i}]",
                       f"{word!r} is not declared under {name}{tip}")
    for src_path, src in cited(entry, path):
        if src.doc not in reg.documents:
            hint = difflib.get_close_matches(src.doc, list(reg.documents), n=1)
            tip = f"; did you mean {hint[0]!r}?" if hint else ""
            w.fail(spots.at(f"{src_path}.doc"), f"{src_path}.doc",
                   f"{src.doc!r} is not declared under documents{tip}")


def relative_problem(reg: Register, entry: Entry, rel: Relative) -> str | None:
    """What is wrong with what a relative date counts from, if anything."""
    target = reg.entry(rel.target)
    if target is None:
        hint = difflib.get_close_matches(rel.target, [e.id for e in reg.entries], n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"{rel.target!r} is not an entry of the register{tip}"
    if target.id == entry.id:
        return "an entry cannot be dated from itself"
    if rel.number is None:
        if target.series is not None:
            return (f"{rel.target!r} is a series: name one occurrence, such as "
                    f"{rel.target}#{target.series.first}")
        if target.kind is Kind.STANDING:
            return f"{rel.target!r} is a standing obligation with no date to count from"
        if target.urgency is not None:
            return (f"{rel.target!r} is an undated urgent commitment, with no date to count "
                    "from")
        return None
    s = target.series
    if s is None:
        return f"{rel.target!r} is not a series, so it has no occurrence #{rel.number}"
    last = s.last_number
    if rel.number < s.first or (last is not None and rel.number > last):
        span = f"{s.first} to {last}" if last is not None else f"from {s.first} on"
        return (f"{rel.target!r} has no occurrence #{rel.number} "
                f"(its occurrences are numbered {span})")
    if rel.number >= s.first + MAX_OCCURRENCES:
        return (f"{rel.target!r} has no occurrence #{rel.number}: a series has at most "
                f"{MAX_OCCURRENCES:,} occurrences, numbered {s.first} to "
                f"{s.first + MAX_OCCURRENCES - 1}")
    return None


# --- entry points ----------------------------------------------------------------------------

def cited(entry: Entry, path: str) -> list[tuple[str, Source]]:
    """Every source an entry cites (`Entry.all_sources`, in its order), with its path in the
    register."""
    cited = [(f"{path}.sources[{i}]", s) for i, s in enumerate(entry.sources)]
    known = entry.series.known if entry.series else ()
    for k in known:
        cited += [(f"{path}.series.occurrences[{k.number}].sources[{i}]", s)
                  for i, s in enumerate(k.sources)]
    cited += [(f"{path}.status.sources[{i}]", s)
              for i, s in enumerate(entry.status.sources or ())]
    for k in known:
        cited += [(f"{path}.series.occurrences[{k.number}].status.sources[{i}]", s)
                  for i, s in enumerate(k.status.sources or () if k.status else ())]
    return cited


def quote_count(reg: Register) -> int:
    """How many sources (each with its quote) the register cites: the entries', the
    passages dating documents and the reviewed passages."""
    return sum(len(e.all_sources()) for e in reg.entries) + len(head_sources(reg))



def _changed(before: tuple[Entry, ...], after: tuple[Entry, ...]
             ) -> tuple[list[Entry], list[Entry]]:
    """The entries of `after` that are not `before`'s (the same objects), and those of
    `before` that are not `after`'s. An edit changes a stretch of the list: the entries
    around it are the same objects in the same places, compared by identity one by one
    from each end; only those in between are sorted out by sets."""
    start, stop_before, stop_after = 0, len(before), len(after)
    while start < stop_before and start < stop_after and before[start] is after[start]:
        start += 1
    while stop_before > start and stop_after > start and \
            before[stop_before - 1] is after[stop_after - 1]:
        stop_before, stop_after = stop_before - 1, stop_after - 1
    was = {id(e) for e in before[start:stop_before]}
    now = {id(e) for e in after[start:stop_after]}
    return ([e for e in after[start:stop_after] if id(e) not in was],
            [e for e in before[start:stop_before] if id(e) not in now])


def clean_edit(reg: Register, before: Register) -> Edit | None:
    """How `reg` differs from `before` (`Edit`) if the checks across entries
    would find no problem in `reg`, knowing that they found none in `before` and that both
    have the same vocabulary and documents. An entry read again from the same text is the
    same object (`reuse`), so the entries read afresh are those that are not `before`'s.
    None sends the register through the full checks, which then say what is wrong in the
    order they always do.

    What can have changed is only what involves an entry read afresh or gone: a fresh entry's
    own vocabulary, references and dates; an entry that counts from a fresh or a gone id (its
    anchor may be missing or different now), and the ones counting from it in turn; a cycle,
    which must pass through a fresh entry, since only fresh entries bring new links. At
    100,000 entries the full checks were half a second of every reload; this is under a
    tenth of one: the two lists compared from each end (`_changed`), and what counts from
    what derived from the last read's (`timeline.counted_by_after`)."""

    fresh, gone = _changed(before.entries, reg.entries)
    counted_by_after(before, reg, fresh, gone)
    touched = {e.id for e in fresh} | {e.id for e in gone}
    # Everything whose date hangs on a touched id, however far down the chain.
    moved = dependants(reg, touched)
    by_id = reg.by_id
    affected = [by_id[i] for i in moved if i in by_id]
    for entry in fresh:
        if not declared(reg, entry) or (entry.urgency is not None and
                                        reg.since(entry) is None):
            return None
        current: Entry | None = entry
        walk: set[str] = set()
        while current is not None and current.relative is not None:
            if current.id in walk:
                return None
            walk.add(current.id)
            current = by_id.get(current.relative.target)
    for entry in affected:
        if entry.relative is not None and relative_problem(reg, entry, entry.relative):
            return None
    return None if resolve_problems(reg, affected) else Edit(weakref.ref(before), frozenset(moved))

