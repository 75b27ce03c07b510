"""Dated values keep their precision; offsets never invent a day."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from datetime import date

import pytest

from calendar_tool import wording
from calendar_tool.model import (
    DatedValue,
    Entry,
    KnownOccurrence,
    Occurrence,
    Offset,
    Precision,
    Relative,
    Revision,
    Series,
    Source,
    Status,
    parse_occurrence_id,
)
from calendar_tool.timeline import Resolved


@pytest.mark.parametrize(
    ("written", "text", "start", "due", "precision"),
    [
        ("2005", "2005", date(2005, 1, 1), date(2005, 12, 31), Precision.YEAR),
        ("2001-05", "May 2001", date(2001, 5, 1), date(2001, 5, 31), Precision.MONTH),
        ("2004-02", "February 2004", date(2004, 2, 1), date(2004, 2, 29), Precision.MONTH),
        ("2005-06-30", "30 June 2005", date(2005, 6, 30), date(2005, 6, 30), Precision.DAY),
        ("2002..2003", "2002–2003", date(2002, 1, 1), date(2003, 12, 31), Precision.YEAR),
        ("2001-11..2002-02", "November 2001–February 2002", date(2001, 11, 1),
         date(2002, 2, 28), Precision.MONTH),
        ("2000-04-10..2000-04-17", "10–17 April 2000", date(2000, 4, 10), date(2000, 4, 17),
         Precision.DAY),
        ("2001-04-30..2001-05-02", "30 April–2 May 2001", date(2001, 4, 30), date(2001, 5, 2),
         Precision.DAY),
        ("2001-12-30..2002-01-02", "30 December 2001–2 January 2002", date(2001, 12, 30),
         date(2002, 1, 2), Precision.DAY),
    ],
)
def test_parse_keeps_precision_and_is_due_on_last_day(
    written: str, text: str, start: date, due: date, precision: Precision
) -> None:
    """Each written form reads back as the text gives it, due on the last day of its period."""
    value = DatedValue.parse(written)
    assert (wording.date_text(value), value.start, value.due, value.precision) == \
        (text, start, due, precision)
    assert value.iso() == written


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("2005-02-30", "'2005-02-30' is not a real date (day is out of range for month)"),
        ("2005-13", "'2005-13' is not a real date (bad month number 13; must be 1-12)"),
        ("2003..2002", "'2003..2002': the range ends (2002) before it starts (2003)"),
        ("2005..2005-06", "'2005..2005-06': both ends of a range need the same precision "
                          "(year and month given)"),
        ("2005..2005", "'2005..2005': a range needs two different ends; write 2005"),
        ("May 2001", "'May 2001' is not a date: write 2005, 2001-05, 2005-06-30, or a range "
                     "such as 2002..2003"),
    ],
)
def test_parse_refuses_impossible_dates(written: str, message: str) -> None:
    """Impossible and malformed dates are refused with a message that quotes them."""
    with pytest.raises(ValueError) as info:
        DatedValue.parse(written)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("2001-09-03", "-P6W", "23 July 2001"),
        ("1992", "P2Y", "1994"),
        ("2001-05", "P1M", "June 2001"),
        ("2001-05", "-P6W", "between 20 March 2001 and 19 April 2001"),
        ("2005", "P10D", "between 11 January 2005 and 10 January 2006"),
        ("2000-04-10..2000-04-17", "P1Y", "10–17 April 2001"),
        ("2004-01-31", "P1M", "29 February 2004"),
    ],
)
def test_shift_keeps_precision_or_gives_the_range_of_days(
    value: str, offset: str, expected: str
) -> None:
    """An offset in whole units keeps precision; a finer one yields the days it may fall on."""
    assert wording.date_text(DatedValue.parse(value).shift(Offset.parse(offset))) == expected


def test_offset_parse_and_print() -> None:
    """Durations read as ISO 8601 and print back in days."""
    assert Offset.parse("-P6W") == Offset(days=42, negative=True)
    assert str(Offset.parse("P1Y2M3D")) == "P1Y2M3D"
    assert str(Offset.parse("P7D")) == "P7D"
    for bad in ("P", "6W", "PT1H", "P1.5D", ""):
        with pytest.raises(ValueError):
            Offset.parse(bad)


def test_occurrence_ids_round_trip() -> None:
    """`entry#N` splits into the entry id and the number; a bare id has no number."""
    assert parse_occurrence_id("congresses#10") == ("congresses", 10)
    assert parse_occurrence_id("victims-review") == ("victims-review", None)
    with pytest.raises(ValueError):
        parse_occurrence_id("congresses#ten")


_BULK = (Entry, Source, Status, Relative, KnownOccurrence, Series, DatedValue, Offset,
         Occurrence, Revision, Resolved)


def _plain(cls: type) -> type:
    """`cls` as the dataclass decorator alone makes it: the reference constructor."""
    specs = [(f.name, f.type, dataclasses.field(default=f.default,
                                                default_factory=f.default_factory))
             if f.default_factory is not dataclasses.MISSING else
             (f.name, f.type, dataclasses.field(default=f.default))
             for f in dataclasses.fields(cls)]
    plain: type = dataclasses.make_dataclass(cls.__name__, specs, frozen=True, slots=True)
    return plain


def _values(obj: object) -> tuple[object, ...]:
    return tuple(getattr(obj, f.name) for f in dataclasses.fields(obj))  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", _BULK, ids=lambda c: c.__name__)
def test_the_types_held_in_bulk_are_made_as_the_dataclass_decorator_makes_them(
        cls: type) -> None:
    """The model's types a register holds by the hundred thousand set their slots directly
    (`held_in_bulk`). Each takes the very parameters, defaults and default factories the
    dataclass decorator would give it, stays frozen, and pickles back equal."""
    plain = _plain(cls)
    assert inspect.signature(cls).parameters.keys() == \
        inspect.signature(plain).parameters.keys()
    fields = dataclasses.fields(cls)
    required = [f for f in fields if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    args = [f"value-{f.name}" for f in required]
    made, reference = cls(*args), plain(*args)
    assert _values(made) == _values(reference)
    # A default factory gives each object its own value, and an explicit None stays None.
    for f in fields:
        if f.default_factory is not dataclasses.MISSING:
            assert getattr(made, f.name) == f.default_factory()
            assert getattr(cls(*args, **{f.name: None}), f.name) is None
    every = {f.name: f"every-{f.name}" for f in fields}
    assert _values(cls(**every)) == _values(plain(**every)) == tuple(every.values())
    with pytest.raises(TypeError, match="argument"):
        cls(*args, *[None] * (len(fields) - len(args) + 1))
    if required:
        with pytest.raises(TypeError, match="argument"):
            cls(*args[:-1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, fields[0].name, "changed")
    again = pickle.loads(pickle.dumps(made, pickle.HIGHEST_PROTOCOL))
    assert type(again) is cls and _values(again) == _values(made)
    assert _values(dataclasses.replace(made, **{fields[0].name: "replaced"}))[0] == "replaced"
