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
from typing import Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")

_GLOB_OR_ESCAPE = frozenset("*?[\\")


def _plain(text: str) -> bool:
    return not any(ch in _GLOB_OR_ESCAPE for ch in text)


def _parents(path: str) -> Iterator[str]:
    """``a/b/c`` -> ``a``, ``a/b`` (proper parent directories, shortest first)."""
    index = path.find("/")
    while index != -1:
        yield path[:index]
        index = path.find("/", index + 1)


class _Bucket(Generic[T]):
    __slots__ = ("entries", "compiled")

    def __init__(self) -> None:
        self.entries: list[tuple[str, T]] = []
        self.compiled: list[tuple[re.Pattern, T]] | None = None

    def matching(self, path: str) -> list[T]:
        if self.compiled is None:
            # pathspec names a group ps_d; an unnamed group keeps the regexes independent
            self.compiled = [
                (re.compile(regex.replace("(?P<ps_d>", "(?:")), item) for regex, item in self.entries
            ]
        return [item for regex, item in self.compiled if regex.match(path)]


class LeaseIndex(Generic[T]):
    """``LeaseIndex([(pattern, regex, prefix, item), ...]).covering(path)`` -> items covering path."""

    def __init__(self, leases: Iterable[tuple[str, str, str, T]]) -> None:
        self._exact: dict[str, list[T]] = {}  # covers the path itself and everything beneath
        self._beneath: dict[str, list[T]] = {}  # covers only what lies beneath
        self._buckets: dict[str, _Bucket[T]] = {}
        self.size = 0
        for pattern, regex, prefix, item in leases:
            self.size += 1
            if pattern.endswith("/**") and _plain(pattern[:-3]):
                self._beneath.setdefault(pattern[:-3], []).append(item)
            elif _plain(pattern):
                if pattern.endswith("/"):
                    self._beneath.setdefault(pattern[:-1], []).append(item)
                else:
                    self._exact.setdefault(pattern, []).append(item)
            else:
                self._buckets.setdefault(prefix, _Bucket()).entries.append((regex, item))

    def __len__(self) -> int:
        return self.size

    def covering(self, path: str) -> list[T]:
        found: list[T] = []
        exact, beneath, buckets = self._exact, self._beneath, self._buckets
        if path in exact:
            found.extend(exact[path])
        if "" in buckets:
            found.extend(buckets[""].matching(path))
        for parent in _parents(path):
            if parent in exact:
                found.extend(exact[parent])
            if parent in beneath:
                found.extend(beneath[parent])
            bucket = buckets.get(parent + "/")
            if bucket is not None:
                found.extend(bucket.matching(path))
        return found
