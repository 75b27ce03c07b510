"""Revisions: a content hash per entry; SEQUENCE and the change instant advance only when it
changes; the JSON store round-trips and refuses damage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import calendar_tool
from bench.generate import register_text
from calendar_tool.feeds import revisions
from calendar_tool.model import Register, Revision
from calendar_tool.register import parse_located, parse_register
from calendar_tool.timeline import resolver_for
from tests.paths import REGISTER, SAMPLE

T0 = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2025, 7, 1, 8, 30, 0, tzinfo=UTC)


def _edited(old: str, new: str) -> Register:
    text = SAMPLE.read_text()
    assert text.count(old) == 1, old
    return parse_register(text.replace(old, new), "sample.yaml")


def test_first_publish_starts_every_entry_at_sequence_0(sample: Register) -> None:
    """Each entry gets sequence 0 and `now`, in UTC without microseconds."""
    now = datetime(2025, 6, 1, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    revs = revisions.next_revisions({}, sample, now)
    assert sorted(revs) == sorted(e.id for e in sample.entries)
    assert {(r.sequence, r.changed_at) for r in revs.values()} == \
        {(0, datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC))}
    assert all(r.changed_at.tzinfo is UTC for r in revs.values())


def test_unchanged_register_keeps_every_revision(sample: Register) -> None:
    """Republishing the same register later changes nothing."""
    first = revisions.next_revisions({}, sample, T0)
    assert revisions.next_revisions(first, sample, T1) == first


def test_edited_entry_advances_alone(sample: Register) -> None:
    """Editing one entry's title gives it sequence 1 and the new instant; others keep theirs."""
    first = revisions.next_revisions({}, sample, T0)
    edited = _edited("title: A report in a month", "title: A report in May")
    second = revisions.next_revisions(first, edited, T1)
    changed = {k for k in second if second[k] != first[k]}
    assert changed == {"tenth-session-month"}
    assert second["tenth-session-month"].sequence == 1
    assert second["tenth-session-month"].changed_at == T1


def test_moving_an_anchor_revises_the_entries_dated_from_it(sample: Register) -> None:
    """A new date for the tenth congress revises the document due six weeks before it."""
    first = revisions.next_revisions({}, sample, T0)
    moved = _edited("date: 2000-04-10..2000-04-17", "date: 2000-04-11..2000-04-18")
    second = revisions.next_revisions(first, moved, T1)
    assert {k for k in second if second[k] != first[k]} == \
        {"tenth-congress", "intersessional-document"}


def test_default_reminders_revise_only_entries_without_their_own(sample: Register) -> None:
    """Changing the register's default offsets revises every entry that uses them."""
    first = revisions.next_revisions({}, sample, T0)
    edited = _edited("reminders: [P90D, P30D, P7D, P0D]", "reminders: [P30D]")
    second = revisions.next_revisions(first, edited, T1)
    changed = {k for k in second if second[k] != first[k]}
    assert changed == {e.id for e in sample.entries} - {"victims-review"}


def test_document_link_is_part_of_the_content(sample: Register) -> None:
    """A document's new URL revises the entries that cite it, and only those."""
    first = revisions.next_revisions({}, sample, T0)
    edited = _edited("url: https://undocs.org/A/RES/46/152", "url: https://example.org/46-152")
    second = revisions.next_revisions(first, edited, T1)
    assert {k for k in second if second[k] != first[k]} == {"commission-sessions", "congresses"}


def test_a_new_wording_revises_every_entry(sample: Register,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """What the feeds say is phrased by `wording`: when that module changes, every entry gets
    a new SEQUENCE and LAST-MODIFIED, so subscribed calendars take the new text."""
    from calendar_tool import wording

    first = revisions.next_revisions({}, sample, T0)
    assert revisions.next_revisions(first, sample, T1) == first
    monkeypatch.setattr(wording, "stamp", lambda: "another wording")
    second = revisions.next_revisions(first, sample, T1)
    assert {k: (r.sequence, r.changed_at) for k, r in second.items()} == \
        {e.id: (1, T1) for e in sample.entries}


_HASHES = (
    "import json, sys\n"
    "from datetime import UTC, datetime\n"
    "from calendar_tool.feeds import revisions\n"
    "from calendar_tool.register import parse_register\n"
    "from pathlib import Path\n"
    "reg = parse_register(Path(sys.argv[1]).read_text(), \"sample.yaml\")\n"
    "revs = revisions.next_revisions({}, reg, datetime.now(UTC))\n"
    "print(json.dumps({k: r.hash for k, r in sorted(revs.items())}))\n"
)


def _hashes_with(tmp_path: Path, reworded: str | None) -> dict[str, str]:
    """The sample's content hashes computed by a copy of the package in which the module
    `reworded` ("wording/events.py", "timeline.py", ...) ends with one more comment, as
    after a release."""
    package = Path(calendar_tool.__file__).parent
    copy = tmp_path / (reworded or "same").replace("/", "-") / "calendar_tool"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    if reworded is not None:
        module = copy / reworded
        module.write_text(module.read_text(encoding="utf-8") + "# reworded\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(copy.parent), "CALENDAR_TOOL_CACHE": "off"}
    out = subprocess.run([sys.executable, "-c", _HASHES, str(SAMPLE)], capture_output=True,
                         text=True, check=True, env=env, cwd=tmp_path)
    hashes: dict[str, str] = json.loads(out.stdout)
    return hashes


def test_only_a_new_wording_of_events_revises_entries(tmp_path: Path) -> None:
    """A release that rewords what feed events say (`wording/events.py`) gives every entry a
    new content hash, so a new SEQUENCE; one that rewords only lists, pages or messages
    (`wording/views.py`) leaves every hash, and so every subscribed event, as it was. New
    code dating occurrences (`timeline.py`) revises every entry too: it moved series'
    estimates (an estimate between two known occurrences now lies between them) with the
    same SEQUENCE, which a calendar takes as no change."""
    same = _hashes_with(tmp_path, None)
    assert len(same) == 10
    assert _hashes_with(tmp_path, "wording/views.py") == same
    for module in ("wording/events.py", "timeline.py"):
        changed = _hashes_with(tmp_path, module)
        assert sorted(changed) == sorted(same)
        assert [k for k in same if changed[k] == same[k]] == [], module


@pytest.mark.parametrize("link_base", [None, "https://calendar.example.org/feeds"])
@pytest.mark.parametrize("most", [revisions._PARTS_MOST, 3])
def test_the_hash_is_of_the_payload_whatever_parts_are_shared(
        link_base: str | None, most: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """`content_hash` writes the payload's JSON text from the text of the parts entries share
    (written once in a pass over the register, found by identity, at most `most` kept): the
    digest is that of `payload` as the encoder writes it, for every entry of the real
    register, the sample and two generated ones (series, relative dates, sources shared by
    many entries), hashed in one pass (`next_revisions`) and one by one."""
    monkeypatch.setattr(revisions, "_PARTS_MOST", most)
    registers = [parse_register(REGISTER.read_text(), "obligations.yaml"),
                 parse_register(SAMPLE.read_text(), "sample.yaml"),
                 *(parse_register(register_text(2_000, seed), "generated.yaml")
                   for seed in (3, 11))]
    for reg in registers:
        resolver = resolver_for(reg)
        expected = {e.id: revisions._digest(revisions.payload(e, reg, resolver, link_base))
                    for e in reg.entries}
        revs = revisions.next_revisions({}, reg, T0, link_base=link_base)
        assert {entry_id: r.hash for entry_id, r in revs.items()} == expected
        assert {e.id: revisions.content_hash(e, reg, resolver, link_base=link_base)
                for e in reg.entries} == expected


def test_change_instant_always_advances(sample: Register) -> None:
    """A clock at or behind the last change still moves LAST-MODIFIED forward by a second."""
    first = revisions.next_revisions({}, sample, T1)
    edited = _edited("title: The biennium 2002-2003", "title: The biennium")
    second = revisions.next_revisions(first, edited, T0)
    assert second["biennium"] == Revision(second["biennium"].hash, 1, T1 + timedelta(seconds=1))


def test_removed_entries_keep_their_record(sample: Register) -> None:
    """An id dropped from the register keeps its record, so a return continues its sequence."""
    old = {"gone": Revision("sha256:0", 4, T0)}
    assert revisions.next_revisions(old, sample, T1)["gone"] == old["gone"]


def test_naive_now_is_refused(sample: Register) -> None:
    """Change instants are aware: a naive `now` is a programming error."""
    with pytest.raises(ValueError, match="aware"):
        revisions.next_revisions({}, sample, datetime(2025, 6, 1))


# Each edit reaches entries whose text it leaves alone: through an anchor's date, a declared
# title, the default reminders, a document's link.
REACHING_EDITS = [
    ("date: 2000-04-10..2000-04-17", "date: 2000-04-11..2000-04-18"),
    ("victims: {title: Victims of crime}", "victims: {title: Victims}"),
    ("reminders: [P90D, P30D, P7D, P0D]", "reminders: [P30D]"),
    ("url: https://undocs.org/A/RES/46/152", "url: https://example.org/46-152"),
]


@pytest.mark.parametrize(("old", "new"), REACHING_EDITS)
def test_entries_reused_from_the_last_read_are_revised_as_if_read_afresh(old: str, new: str
                                                                           ) -> None:
    """A re-read hands back the same Entry objects for unchanged text, with the hash kept on
    them; an edit elsewhere that changes what the feed shows for them still revises them."""
    text = SAMPLE.read_text()
    assert text.count(old) == 1, old
    first = parse_located(text, "sample.yaml")
    hashes = revisions.Hashes()
    revs = revisions.next_revisions({}, first.register, T0, hashes=hashes)
    again = parse_located(text.replace(old, new), "sample.yaml", known=first.reusable()).register
    fresh = parse_register(text.replace(old, new), "sample.yaml")
    reused = [a for a, b in zip(first.register.entries, again.entries, strict=True) if a is b]
    assert len(reused) >= len(again.entries) - 1
    expected = revisions.next_revisions(revs, fresh, T1)
    assert expected != revs
    assert revisions.next_revisions(revs, again, T1, hashes=hashes) == expected
