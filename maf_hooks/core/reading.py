"""How one repository's paths compare, as the lease rules need to know it.

``casefold``: ``core.ignorecase`` is set, so names differing only in the case of ASCII letters
are one file (git's WM_CASEFOLD). ``directories``: what exists as a directory now (index and
working tree), asked by the overlap test about names that look like files (see
:func:`maf_hooks.patterns.overlaps`); None when nothing is known, as for a pattern alone.
"""

from __future__ import annotations

from maf_hooks import patterns

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


class Reading:
    __slots__ = ("casefold", "directories")

    def __init__(self, *, casefold: bool = False, directories: Callable[[str], Iterable[str]] | None = None) -> None:
        self.casefold = casefold
        self.directories = directories

    def overlaps(self, a: str, b: str) -> bool:
        return patterns.overlaps(a, b, self.directories, casefold=self.casefold)


PLAIN = Reading()  # exact case, no directories known
