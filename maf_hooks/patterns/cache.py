"""A bounded least-recently-used cache: what the patterns package remembers stays small in a
long-lived process (``functools.lru_cache`` would do, but this module is on the hook's path and
needs neither ``functools`` nor its wrapper per call)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from typing import Any, Callable


class Lru:
    """``Lru(size, make)(key)`` is ``make(*key)``, remembered for the ``size`` latest keys."""

    __slots__ = ("entries", "make", "size")

    def __init__(self, size: int, make: Callable[..., Any]) -> None:
        self.size, self.make = size, make
        self.entries: dict = {}

    def __call__(self, *key: Any) -> Any:
        entries = self.entries
        try:
            value = entries.pop(key)
        except KeyError:
            value = self.make(*key)
            if len(entries) >= self.size:
                del entries[next(iter(entries))]
        entries[key] = value
        return value

    def __len__(self) -> int:
        return len(self.entries)
