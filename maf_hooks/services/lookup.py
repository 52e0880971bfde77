"""Which active leases may cover some paths: read by key for a few paths, all of them for many.

Shared by the git hooks (:mod:`maf_hooks.services.gate`) and the edit-time hook
(:mod:`maf_hooks.services.edit`); imports nothing but the lease index's key function, since both
run on every commit or edit.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from maf_hooks.store.leases import LeaseRecords

MAX_LOOKUP_KEYS = 900  # bound parameters of one lookup query (old SQLite builds allow 999)


def rows_for(records: LeaseRecords, now: int, changed: Collection[str], *, casefold: bool = False) -> list[tuple]:
    """The active leases that may cover a changed path, as rows in ``active_rows`` order.

    A commit of a few paths looks its leases up by key (``patterns.index.lookup_keys``), so that
    its cost follows its own paths and not the number of active leases; a large one (or a path
    that is no valid UTF-8, which no lease key can equal, or any commit with ``casefold``: keys
    compare exactly) reads every active lease. Either way the index finds the same leases: the
    lookup loads every lease that the index could find for these paths. Both reads check what
    they found against the store's own counts and raise StorageError on a damaged database, so
    that damage refuses the change instead of hiding a lease."""
    from maf_hooks.patterns.index import lookup_keys

    if not changed:
        return []
    if len(changed) < MAX_LOOKUP_KEYS and not casefold:  # each changed path is a key itself
        patterns, prefixes = lookup_keys(changed)
        if len(patterns) + len(prefixes) <= MAX_LOOKUP_KEYS and _all_utf8(patterns):
            return records.active_rows_near(now, sorted(patterns), sorted(prefixes))
    return records.checked_rows(now)


def _all_utf8(keys: Iterable[str]) -> bool:
    try:
        for key in keys:
            key.encode("utf-8")
    except UnicodeEncodeError:  # git output decoded with surrogateescape
        return False
    return True
