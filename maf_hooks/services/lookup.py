"""Which active leases may cover some paths: looked up by key, at any number of paths.

Shared by the git hooks (:mod:`maf_hooks.services.gate`), the edit-time hook
(:mod:`maf_hooks.services.edit`) and ``maf-lease check`` (:func:`maf_hooks.services.leasing.check`);
imports nothing but the lease index's key function, since the hooks run on every commit or edit.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Collection
    from typing import Any

    from maf_hooks.store.leases import LeaseRecords


# Reading every open lease costs about four times what looking up one path's keys does (each lease
# read goes into the lease index; a key is one index probe): so every lease is read when there are
# at most a quarter as many as paths changed (benchmarks/bench_grid.py measures both sides).
FULL_READ_RATIO = 4
# A large commit's `git diff` takes longer than reading this many open leases: while it still
# runs, the hook reads them all (any lookup's answer is among them), on the other core
EARLY_READ_MAX = 20_000


def rows_for(records: LeaseRecords, now: int, changed: Collection[str], *, casefold: bool = False) -> list[tuple]:
    """The active leases that may cover a changed path, as rows in ``active_rows`` order.

    The leases are looked up by key (``patterns.index.lookup_keys``: each path, its parent
    directories, and the literal prefixes of globs, the root's ``""`` among them), in one query
    at any size, so that the cost follows the paths and the leases found, not the number of
    active leases. The lookup loads every lease that the index could find for these paths. Three
    cases read every active lease instead: few leases open for the paths changed (at most one a
    ``FULL_READ_RATIO`` paths, as the store counts them, :meth:`LeaseRecords.open_count`: reading
    them all is then the cheaper read),
    ``casefold`` (``core.ignorecase``: the keys are stored as written and compared exactly), and
    a path that is no valid UTF-8 (git output decoded with surrogateescape), which no stored key
    can equal. Both reads check what they
    found against the store's own counts and raise StorageError on a damaged database, so that
    damage refuses the change instead of hiding a lease."""
    if not changed:
        return []
    if casefold or not _all_utf8(changed):
        return records.checked_rows(now)
    open_count = records.open_count()
    if open_count is not None and open_count * FULL_READ_RATIO <= len(changed):
        return records.checked_rows(now)
    return keyed_rows(records, now, changed)


def read_while_waiting(records: LeaseRecords, now: int, waiting: Any, index_entries: int | None) -> list[tuple] | None:
    """Every active lease (checked against the store's counts), read while the git command of
    ``waiting`` (a :class:`maf_hooks.git.Later`) still runs, when at most ``EARLY_READ_MAX`` are
    open and the commit may be large enough that :func:`rows_for` would read them all anyway (git's
    index holds at least ``FULL_READ_RATIO`` entries a lease); None otherwise. What
    :func:`rows_for` would find for the paths git is about to name is among them, so the hook
    judges with these rows and reads nothing after git has answered."""
    if index_entries is None or not waiting.running():
        return None
    open_count = records.open_count()
    if open_count is None or open_count > EARLY_READ_MAX or open_count * FULL_READ_RATIO > index_entries:
        return None
    return records.checked_rows(now)


def keyed_rows(records: LeaseRecords, now: int, changed: Collection[str]) -> list[tuple]:
    """The active leases that the index could find for ``changed`` (valid UTF-8, not folded),
    looked up by their keys in one query (checked against the store's counts)."""
    from maf_hooks.patterns.index import lookup_keys

    patterns, prefixes = lookup_keys(changed)  # the keys of a path's parents are parts of it
    return records.active_rows_near(now, patterns, prefixes)


def _all_utf8(paths: Collection[str]) -> bool:
    try:
        "\0".join(paths).encode("utf-8")  # one pass in C; no path holds a NUL
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True
