"""Sets of characters as sorted, disjoint, inclusive ``(low, high)`` code-point intervals.

A bracket expression, a literal, ``?`` and ``**`` each read one character from such a set. The
universe is every code point but NUL (no path holds one). The POSIX classes are git's: ASCII only,
as git's wildmatch reads a path byte by byte with the C locale's classes.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Iterable

    Intervals = tuple[tuple[int, int], ...]

SLASH, DOT = ord("/"), ord(".")
TOP = 0x10FFFF
UNIVERSE: Intervals = ((1, TOP),)


def merge(ranges: Iterable[tuple[int, int]]) -> Intervals:
    """Sort and merge possibly overlapping ranges into canonical form."""
    merged: list[list[int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple((low, high) for low, high in merged)


def intersect(a: Intervals, b: Intervals) -> Intervals:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if low <= high:
            out.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def complement(a: Intervals) -> Intervals:
    """Everything in the universe that is not in ``a``."""
    out = []
    start = 1
    for low, high in a:
        if start < low:
            out.append((start, low - 1))
        start = max(start, high + 1)
    if start <= TOP:
        out.append((start, TOP))
    return tuple(out)


def contains(a: Intervals, code: int) -> bool:
    return any(low <= code <= high for low, high in a)


def size(a: Intervals) -> int:
    return sum(high - low + 1 for low, high in a)


def without_slash(a: Intervals) -> Intervals:
    return intersect(a, ((1, SLASH - 1), (SLASH + 1, TOP)))


def fold_case(a: Intervals) -> Intervals:
    """``a`` with the other case of each ASCII letter in it (git's WM_CASEFOLD is ASCII only)."""
    extra = []
    for low, high in a:
        for first, other in ((65, 97), (97, 65)):  # 'A'..'Z' <-> 'a'..'z'
            lo, hi = max(low, first), min(high, first + 25)
            if lo <= hi:
                extra.append((lo - first + other, hi - first + other))
    return merge(list(a) + extra) if extra else a


def _chars(text: str) -> list[tuple[int, int]]:
    return [(ord(char), ord(char)) for char in text]


_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
CLASSES: dict[str, Intervals] = {
    "alnum": merge([(48, 57), (65, 90), (97, 122)]),
    "alpha": merge([(65, 90), (97, 122)]),
    "blank": merge(_chars(" \t")),
    "cntrl": merge([(1, 31), (127, 127)]),
    "digit": ((48, 57),),
    "graph": ((33, 126),),
    "lower": ((97, 122),),
    "print": ((32, 126),),
    "punct": merge(_chars(_PUNCT)),
    "space": merge(_chars(" \t\n\v\f\r")),
    "upper": ((65, 90),),
    "xdigit": merge([(48, 57), (65, 70), (97, 102)]),
}
