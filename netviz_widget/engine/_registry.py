"""The registry behind the three extension points (modes.py, methods.py, kinds.py): a dict of
named entries that refuses a second entry of the same name and names the registered ones when a
lookup fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from netviz_widget.errors import InputError, NetVizError

T = TypeVar("T")


class Registry(dict, Generic[T]):
    """Entries by their `name`, in registration order."""

    def __init__(self, argument: str, error: type[NetVizError] = InputError,
                 expected: Callable[[list[str]], str] = lambda names: f"one of {names}") -> None:
        super().__init__()
        self.argument, self.error, self.expected = argument, error, expected

    def register(self, entry: T, replace: bool = False) -> T:
        """Add `entry` (refused when its name is taken, unless `replace`). Returns it."""
        if entry.name in self and not replace:
            raise InputError(self.argument, "a name not registered yet (or replace=True)", entry.name)
        self[entry.name] = entry
        return entry

    def lookup(self, name: object) -> T:
        """The entry `name`; the registry's error, naming the registered entries, otherwise."""
        if not isinstance(name, str) or name not in self:
            raise self.error(self.argument, self.expected(list(self)), name)
        return self[name]
