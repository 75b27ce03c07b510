"""How the register package pickles entries: the entry cache (`cache`) whole, the date index
(`index`) one entry at a time, the half of a cold read a second process makes (`read`).

What differs from `pickle`'s own way, for the process that reads them back: the model's
classes and enum members (and `date`, and the resolved dates the entry cache keeps beside its
entries) are named by their place in a table (`_shared`) rather than by module and name.
Unpickling an entry then imports nothing and calls no enum, which was two fifths of its time.
Each of their dataclasses is a call of its constructor with its fields' values, as the model
pickles them anywhere (`model.held_in_bulk`), so that its fields' names are not written
(an entry of the date index 441 bytes rather than 772). Anything else (containers, strings,
numbers, dates) is pickled as `pickle` pickles it.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterable, Iterator
from datetime import date
from functools import cache
from typing import IO, Any

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


class _Pickler(pickle.Pickler):
    """`pickle.Pickler` naming what the table holds by its place (see the module docstring).
    `reducer_override` is asked only about objects that are not numbers, strings or
    containers: a `persistent_id`, asked about every object, was most of the time to pickle
    every entry for a new index."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self._places = _shared()[1]

    def reducer_override(self, obj: Any) -> Any:
        place = self._places.get(id(obj))
        return NotImplemented if place is None else (_shared_at, (place,))


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


class _Unpickler(pickle.Unpickler):
    """`pickle.Unpickler` that finds `_shared_at` as the table's own `__getitem__`: each
    class or member a pickle names is then found in C, not by a call of a Python function
    (an entry names ten), and `pickle` does not import this module again for each entry
    (together a seventh of reading one back: 58 ms to 50 for the 7,907 entries a year's
    listing prints at 100,000 entries)."""

    def find_class(self, module: str, name: str) -> Any:
        if name == "_shared_at" and module == __name__:
            return _shared()[0].__getitem__
        return super().find_class(module, name)


def load(file: IO[bytes]) -> Any:
    """The next value `dumps` pickled into `file`."""
    return _Unpickler(file).load()


def loads(data: bytes) -> Any:
    """The value `dumps` pickled as `data`."""
    return _Unpickler(io.BytesIO(data)).load()


def entry(data: bytes) -> Entry:
    """An entry `each` pickled."""
    found: Entry = loads(data)
    return found
