"""How the register's caches pickle entries: the entry cache (`cache`) whole, the date index
(`index`) one entry at a time.

Two things differ from `pickle`'s own way, both for the process that reads them back:
- the model's classes and enum members (and `date`, and the resolved dates the entry cache
  keeps beside its entries) are named by their place in a table (`_shared`) rather than by
  module and name: unpickling an entry then imports nothing and calls no enum, which was two
  fifths of its time;
- each of those dataclasses is rebuilt by its constructor from its fields' values. They are
  slotted, and `pickle`'s own way with a slotted dataclass calls the `__setstate__` the
  dataclass decorator writes, which sets one field at a time in Python: an entry of the date
  index read back in 20 µs rather than 6. (Before the model's dataclasses were slotted,
  `pickle`'s way also left each object a dict of its own.)
Anything else (containers, strings, numbers, dates) is pickled as `pickle` pickles it.
"""

from __future__ import annotations

import dataclasses
import io
import operator
import pickle
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import cache
from typing import Any

from calendar_tool.model import Entry


@cache
def _shared() -> tuple[list[Any], dict[int, int]]:
    """The model's classes and enum members (and `date` and `Resolved`), by their place in
    this list; with each one's place by its identity. The same code (the caches' stamps)
    makes the same list."""
    import enum

    from calendar_tool import model
    from calendar_tool.timeline import Resolved

    table: list[Any] = [date, Resolved]
    for _name, value in sorted(vars(model).items()):
        if isinstance(value, type) and value.__module__ == model.__name__:
            table.append(value)
            if issubclass(value, enum.Enum):
                table.extend(value)
    return table, {id(v): i for i, v in enumerate(table)}


def _shared_at(place: int) -> Any:
    """What `_shared` has at `place`: how a pickle names a class or member of the model."""
    return _shared()[0][place]


@cache
def _fields() -> dict[type, Callable[[Any], tuple[Any, ...]]]:
    """Each dataclass of the model whose fields its constructor all takes, with what reads
    their values in the constructor's order."""
    out: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
    for cls in _shared()[0]:
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            continue
        fields = dataclasses.fields(cls)
        if fields and all(f.init and f.kw_only is not True for f in fields):
            names = [f.name for f in fields]
            # attrgetter gives a tuple for two names or more, the value itself for one.
            out[cls] = operator.attrgetter(*names) if len(names) > 1 else _single(names[0])
    return out


def _single(name: str) -> Callable[[Any], tuple[Any, ...]]:
    get = operator.attrgetter(name)
    return lambda obj: (get(obj),)


class _Pickler(pickle.Pickler):
    """`pickle.Pickler` with the two differences of the module docstring. `reducer_override`
    is asked only about objects that are not numbers, strings or containers: a
    `persistent_id`, asked about every object, was most of the time to pickle every entry
    for a new index."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self._places = _shared()[1]
        self._fields = _fields()

    def reducer_override(self, obj: Any) -> Any:
        place = self._places.get(id(obj))
        if place is not None:
            return _shared_at, (place,)
        values = self._fields.get(type(obj))
        return NotImplemented if values is None else (type(obj), values(obj))


def dumps(value: object) -> bytes:
    """`value` pickled whole."""
    out = io.BytesIO()
    _Pickler(out).dump(value)
    return out.getvalue()


def each(entries: Iterable[Entry]) -> Iterator[bytes]:
    """Each entry pickled on its own (one pickler for them all)."""
    out = io.BytesIO()
    pickler = _Pickler(out)
    for entry in entries:
        out.seek(0)
        out.truncate()
        pickler.clear_memo()
        pickler.dump(entry)
        yield out.getvalue()


def entry(data: bytes) -> Entry:
    """An entry `each` pickled."""
    found: Entry = pickle.loads(data)
    return found
