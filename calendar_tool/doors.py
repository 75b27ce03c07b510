"""A package's door that opens lazily: each of its names is looked up in the module it lives
in when first asked for, so that a command that uses none of a module's names never imports
that module, nor the libraries it owns (PyYAML for `list` answering from the date index,
httpx for a command that sends nothing, SQLAlchemy for one that needs no store)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy(package: str, homes: Mapping[str, str], namespace: dict[str, Any]
         ) -> Callable[[str], Any]:
    """The module `__getattr__` of `package`, whose names `homes` maps to their modules: a
    name is loaded from its module on first use, together with every other name of that
    module, and kept in `namespace` (the package's globals) so that Python finds it there
    from then on."""

    def name_of_the_door(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(home)
        # After the import, which binds a submodule to the package under its own name: a
        # name of the door may be spelt the same (service's `subscriptions`) and must win.
        namespace.update({n: getattr(module, n) for n, h in homes.items() if h == home})
        return namespace[name]

    return name_of_the_door
