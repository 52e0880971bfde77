"""Which active leases cover a path: an index whose cost grows with paths plus leases.

The gate's rule (``patterns.match.covers``): a lease covers a path when its pattern matches the
path or one of its parent directories. The index is built from the patterns themselves (nothing
compiled is stored with a lease). This module is on the git hook's hot path.

- A literal pattern is a dictionary key, by the path it names: a path is covered when the path
  itself or one of its parent directories is the key (``src`` covers ``src/a/b.c``); a literal
  ending in ``/`` and ``dir/**`` cover only what lies beneath.
- A glob pattern sits in a bucket keyed by its literal prefix (``docs/**/*.md`` -> ``docs/``); a
  path consults only the buckets of its own parent directories.

With ``casefold`` (``core.ignorecase``) keys and paths are compared with ASCII letters folded.
"""

from __future__ import annotations

from maf_hooks.patterns import has_glob_chars

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any, TypeVar

    T = TypeVar("T")



def _readers():
    from maf_hooks.patterns import (  # the parser is not needed for literal leases
        match,
        syntax,
    )

    return match, syntax


def lookup_keys(paths: Iterable[str]) -> tuple[set[str], set[str]]:
    """Everything :meth:`LeaseIndex.covering` consults for ``paths``, as lease keys:
    ``(patterns, prefixes)``. A lease can cover one of ``paths`` only when its pattern is in
    ``patterns`` (a path itself; a parent directory ``d``, ``d/`` or ``d/**``) or, for a pattern
    with a glob character or an escape, when its literal prefix is in ``prefixes`` (``""``, a
    parent directory ``d/``). So the leases to load for these paths can be looked up by key
    instead of read in full (not with ``casefold``: keys are compared exactly)."""
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


_SMALL_RANGE = 32  # paths under a bucket judged one by one rather than searched


def _starts(ordered: list[str]) -> list[int]:
    """Where each path starts in ``"\\n".join(ordered)``, and where one more would start."""
    from itertools import accumulate
    from operator import add

    return list(map(add, accumulate(map(len, ordered), initial=0), range(len(ordered) + 1)))


def _lines_holding(joined: str, text: str, start: int, end: int) -> Iterator[str]:
    """Each line of ``joined[start:end]`` (``start`` begins a line) that holds ``text``."""
    found = joined.find(text, start, end)
    while found != -1:
        head = joined.rfind("\n", start, found) + 1 or start
        tail = joined.find("\n", found, end)
        if tail == -1:
            tail = end
        yield joined[head:tail]
        found = joined.find(text, tail, end)


class LeaseIndex:
    """``LeaseIndex([(pattern, item), ...]).covering(path)`` -> the items covering the path."""

    def __init__(self, leases: Iterable[tuple[str, T]], *, casefold: bool = False) -> None:
        exact: dict[str, list[T]] = {}  # covers the path itself and everything beneath
        beneath: dict[str, list[T]] = {}  # covers only what lies beneath
        buckets: dict[str, list[tuple[str, T]]] = {}
        size = 0
        match: Any = None
        syntax: Any = None
        if casefold:
            match, syntax = _readers()
        for pattern, item in leases:
            size += 1
            if not has_glob_chars(pattern):
                name = pattern
            elif pattern.endswith("/**") and not has_glob_chars(pattern[:-3]):
                name = pattern[:-2]
            else:
                if syntax is None:
                    match, syntax = _readers()
                if syntax.is_literal(pattern):
                    name = syntax.unescape(pattern)
                else:
                    prefix = syntax.literal_prefix(pattern)
                    buckets.setdefault(match.fold(prefix) if casefold else prefix, []).append((pattern, item))
                    continue
            if casefold:
                name = match.fold(name)
            if name.endswith("/"):
                beneath.setdefault(name[:-1], []).append(item)
            else:
                exact.setdefault(name, []).append(item)
        self._exact, self._beneath, self._buckets, self.size = exact, beneath, buckets, size
        self._casefold, self._match = casefold, match
        self._testers: dict[str, tuple[Any, list]] = {}

    def __len__(self) -> int:
        return self.size

    def _glob(self, prefix: str, key: str) -> list:
        """The items of the glob leases in the bucket of ``prefix`` covering the (folded) path."""
        testers = self._testers.get(prefix)
        if testers is None:  # made the first time a path needs them
            testers = self._testers[prefix] = self._make_testers(prefix)
        anyone, each = testers
        if anyone is not None and anyone(key) is None:  # the usual answer, from one test
            return []
        return [item for test, item in each if test(key)]

    def _make_testers(self, prefix: str) -> tuple[Any, list]:
        """The bucket's testers, and one test of them all (an alternation of their regular
        expressions, which matches a path exactly when one of them does) when every one is a
        regular expression and there are several; else None."""
        compiled, casefold = self._match.compiled, self._casefold
        patterns = [compiled(pattern, casefold) for pattern, _ in self._buckets[prefix]]
        each = [(pattern.tester(True), item) for pattern, (_, item) in zip(patterns, self._buckets[prefix])]
        anyone = None
        if len(patterns) > 1 and all(pattern.regex is not None for pattern in patterns):
            import re

            anyone = re.compile("|".join(f"(?:{pattern.regex})(?:/.*)?" for pattern in patterns), re.DOTALL).fullmatch
        return anyone, each

    def covered(self, paths: Iterable[str]) -> list[tuple[str, list]]:
        """``[(path, covering(path)), ...]`` for each of ``paths`` (sorted, each once) that some lease covers:
        what :meth:`covering` of every path gives, found in bulk so that the cost follows the
        leases and the paths they may cover, not every path times its directories.

        Over the sorted paths, a literal lease's path and everything beneath it are one range
        (found by bisection), and so are the paths under a glob bucket's prefix; in a bucket's
        range, only the lines holding each glob's longest literal run (``syntax.longest_literal``,
        found by ``str.find`` over the paths joined by newlines) can be covered. Those candidates
        are then judged by :meth:`covering` itself, so the answer is exactly its answer. With
        ``casefold``, or a path holding a newline, every path is judged one by one."""
        ordered = sorted(paths)
        picked = range(len(ordered)) if self._casefold else self._candidates(ordered)
        result = []
        for index in sorted(picked):
            path = ordered[index]
            if index and ordered[index - 1] == path:
                continue  # a path given twice is judged once
            found = self.covering(path)
            if found:
                result.append((path, found))
        return result

    def _candidates(self, ordered: list[str]) -> Iterable[int]:
        """The indexes of the (sorted, not folded) paths that a lease may cover: a superset of
        those that :meth:`covering` finds a lease for."""
        from bisect import bisect_left, bisect_right

        picked: set[int] = set()
        count = len(ordered)
        for names, itself in ((self._exact, True), (self._beneath, False)):
            for name in names:  # the path itself (an exact key), and everything beneath it
                at = bisect_left(ordered, name)
                if itself and at < count and ordered[at] == name:
                    end = bisect_right(ordered, name, at)
                    picked.update(range(at, end))
                    at = end
                under = name + "/"
                at = bisect_left(ordered, under, at)
                if at < count and ordered[at].startswith(under):  # most keys have nothing beneath
                    picked.update(range(at, bisect_left(ordered, name + "0", at)))  # '0' follows '/'
        if not self._buckets:
            return picked
        joined = "\n".join(ordered)
        if joined.count("\n") != len(ordered) - 1:  # a path with a newline: no lines to search
            return range(len(ordered))
        starts: list[int] = []  # where each path starts in ``joined``: only for a bucket with a prefix
        _, syntax = _readers()
        for prefix, bucket in self._buckets.items():
            if prefix and not prefix.endswith("/"):
                continue  # never consulted by covering()
            low, high, span = 0, len(ordered), (0, len(joined))
            if prefix:
                low, high = bisect_left(ordered, prefix), bisect_left(ordered, prefix[:-1] + "0")
            if high - low <= _SMALL_RANGE:  # no path or a few under the prefix: judge them all
                picked.update(range(low, high))
                continue
            for pattern, _ in bucket:
                text = syntax.longest_literal(pattern, prefix.count("/"))
                if not text or "\n" in text:
                    picked.update(range(low, high))
                    break
                if prefix and not starts:
                    starts = _starts(ordered)
                if prefix:
                    span = (starts[low], starts[high] - 1)  # from the range's first path to its last's end
                for line in _lines_holding(joined, text, *span):
                    picked.update(range(bisect_left(ordered, line), bisect_right(ordered, line)))
        return picked

    def covering(self, path: str) -> list:
        """The items of the leases covering ``path`` (the path itself first, then its parents)."""
        found: list = []
        exact, beneath, buckets = self._exact, self._beneath, self._buckets
        key = self._match.fold(path) if self._casefold else path
        if key in exact:
            found.extend(exact[key])
        if "" in buckets:
            found.extend(self._glob("", key))
        index = key.find("/")
        while index != -1:  # every proper parent directory, shortest first
            parent = key[:index]
            if parent in exact:
                found.extend(exact[parent])
            if parent in beneath:
                found.extend(beneath[parent])
            if buckets:
                prefix = key[: index + 1]
                if prefix in buckets:
                    found.extend(self._glob(prefix, key))
            index = key.find("/", index + 1)
        return found
