"""Which active leases cover a path: an index whose cost grows with paths plus leases.

Built from leases that carry their pattern, the regex compiled for it when the lease was taken
(``patterns.compile_regex``, stored in the database) and the pattern's literal directory prefix.
This module is on the git hook's hot path: it imports only ``re``.

- A plain pattern (no glob character, no escape) is a dictionary key: a path is covered when the
  path itself or one of its parent directories is the key (``src`` covers ``src/a/b.c``); a plain
  pattern ending in ``/`` covers only what lies beneath. ``dir/**`` is the same as ``dir/``.
- A glob pattern sits in a bucket keyed by its literal prefix (``docs/**/*.md`` -> ``docs/``);
  a path consults only the buckets of its own parent directories, and each bucket's regexes are
  compiled the first time a path needs them.
"""

from __future__ import annotations

import re

def _exact_ends(regex: str) -> str:
    """``$`` also matches before a final newline; a path may end in one: anchor with ``\\Z``."""
    regex = regex.replace("|$)", "|\\Z)")
    if regex.endswith("$") and not regex.endswith("\\$"):
        regex = regex[:-1] + "\\Z"
    return regex


def _compile(regex: str) -> "re.Pattern":
    """Compile for paths: ``.`` also matches a newline (a name may hold one) and the end is the
    path's end. Quietly: a bracket like ``[---]`` makes ``re`` warn about future set syntax."""
    regex = _exact_ends(regex)
    if "[" not in regex:
        return re.compile(regex, re.DOTALL)
    import warnings  # noqa: PLC0415 - only for patterns with brackets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return re.compile(regex, re.DOTALL)


TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from typing import Iterable, TypeVar

    T = TypeVar("T")

_GLOB_OR_ESCAPE = frozenset("*?[\\")


def _plain(text: str) -> bool:
    return _GLOB_OR_ESCAPE.isdisjoint(text)


def lookup_keys(paths: Iterable[str]) -> tuple[set[str], set[str]]:
    """Everything :meth:`LeaseIndex.covering` consults for ``paths``, as lease keys:
    ``(patterns, prefixes)``. A lease can cover one of ``paths`` only when its pattern is in
    ``patterns`` (a path itself; a parent directory ``d``, ``d/`` or ``d/**``) or, for a glob
    pattern, when its literal prefix is in ``prefixes`` (``""``, a parent directory ``d/``).
    So the leases to load for these paths can be looked up by key instead of read in full."""
    patterns: set[str] = set()
    prefixes = {""}
    for path in paths:
        patterns.add(path)
        index = path.find("/")
        while index != -1:
            directory = path[: index + 1]  # a parent directory, with its slash
            if directory not in prefixes:
                prefixes.add(directory)
                patterns.update((directory[:-1], directory, directory + "**"))
            index = path.find("/", index + 1)
    return patterns, prefixes


def _ends_at_path_end(regex: str) -> bool:
    """A lease regex of a file-like pattern ends with ``$`` (``patterns.lease_regex``); one that
    also covers what lies beneath ends with pathspec's ``(?:(?P<ps_d>/)|$)`` or a ``/``."""
    return regex.endswith("$") and not regex.endswith("|$)")


class _Bucket:
    __slots__ = ("entries", "compiled")

    def __init__(self) -> None:
        self.entries: list[tuple[str, T]] = []
        self.compiled: list[tuple[re.Pattern, T]] | None = None

    def matching(self, path: str) -> list[T]:
        if self.compiled is None:
            # pathspec names a group ps_d; an unnamed group keeps the regexes independent
            self.compiled = [
                (_compile(regex.replace("(?P<ps_d>", "(?:")), item) for regex, item in self.entries
            ]
        return [item for regex, item in self.compiled if regex.match(path)]


class LeaseIndex:
    """``LeaseIndex([(pattern, regex, prefix, item), ...]).covering(path)`` -> items covering path."""

    def __init__(self, leases: Iterable[tuple[str, str, str, T]]) -> None:
        exact: dict[str, list[T]] = {}  # covers the path itself and everything beneath
        beneath: dict[str, list[T]] = {}  # covers only what lies beneath
        only: dict[str, list[T]] = {}  # covers the path itself only (a file-like pattern)
        buckets: dict[str, _Bucket] = {}
        size = 0
        for pattern, regex, prefix, item in leases:
            size += 1
            if _GLOB_OR_ESCAPE.isdisjoint(pattern):
                if pattern.endswith("/"):
                    beneath.setdefault(pattern[:-1], []).append(item)
                elif _ends_at_path_end(regex):
                    only.setdefault(pattern, []).append(item)
                else:
                    exact.setdefault(pattern, []).append(item)
            elif pattern.endswith("/**") and _GLOB_OR_ESCAPE.isdisjoint(pattern[:-3]):
                beneath.setdefault(pattern[:-3], []).append(item)
            else:
                bucket = buckets.get(prefix)
                if bucket is None:
                    bucket = buckets[prefix] = _Bucket()
                bucket.entries.append((regex, item))
        self._exact, self._beneath, self._only, self._buckets, self.size = exact, beneath, only, buckets, size

    def __len__(self) -> int:
        return self.size

    def covering(self, path: str) -> list[T]:
        found: list[T] = []
        exact, beneath, buckets = self._exact, self._beneath, self._buckets
        if path in exact:
            found.extend(exact[path])
        if path in self._only:
            found.extend(self._only[path])
        if "" in buckets:
            found.extend(buckets[""].matching(path))
        index = path.find("/")
        while index != -1:  # every proper parent directory, shortest first
            parent = path[:index]
            if parent in exact:
                found.extend(exact[parent])
            if parent in beneath:
                found.extend(beneath[parent])
            if buckets:
                bucket = buckets.get(path[: index + 1])
                if bucket is not None:
                    found.extend(bucket.matching(path))
            index = path.find("/", index + 1)
        return found
