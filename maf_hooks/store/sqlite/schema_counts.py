"""The triggers that count open file leases (``ended_at IS NULL``) per lookup key in
``lease_key_counts``, in the same transaction as every write to ``file_leases`` (whoever writes:
maf-hooks or an operator's SQL). Kinds: ``t`` key ``''`` the total; ``p`` per pattern; ``g`` per
literal prefix of a glob pattern (the two keys the hook looks leases up by; migration 11); ``h``
per head, the first path component a lease's paths start with (migration 18). The hook compares
the ``p`` and ``g`` counts with the rows an index lookup found, so that a damaged index or row is
noticed instead of read as "no lease" (docs/storage.md); acquire reads the ``h`` keys as the list
of heads a root glob may match.
"""

from __future__ import annotations

from maf_hooks.store.sqlite.lease_keys import GLOB_SQL, HEAD_SQL


def keys_of(row: str, heads: bool) -> tuple[tuple[str, str, str], ...]:
    """``(kind, key, when)`` of the counts a lease ``row`` (``NEW``, ``OLD``) adds to."""
    of = row + "."
    keys = (("'t'", "''", "1"), ("'p'", f"{of}pattern", "1"), ("'g'", f"{of}prefix", GLOB_SQL.format(of)))
    return (*keys, ("'h'", HEAD_SQL.format(of), "1")) if heads else keys


def count_steps(row: str, delta: str, heads: bool) -> str:
    steps = []
    for kind, key, when in keys_of(row, heads):
        steps.append(f"INSERT OR IGNORE INTO lease_key_counts (kind, key, n) SELECT {kind}, {key}, 0 WHERE {when};")
        steps.append(f"UPDATE lease_key_counts SET n = n {delta} 1 WHERE kind = {kind} AND key = {key} AND {when};")
        steps.append(f"DELETE FROM lease_key_counts WHERE kind = {kind} AND key = {key} AND n = 0;")
    return " ".join(steps)


def count_triggers(heads: bool) -> tuple[str, ...]:
    """The four triggers: an insert and a delete of an open lease; an update of a key or of
    ``ended_at`` takes the old keys of an open lease out and puts the new ones in."""
    return (
        "CREATE TRIGGER lease_key_counts_insert AFTER INSERT ON file_leases WHEN NEW.ended_at IS NULL "
        f"BEGIN {count_steps('NEW', '+', heads)} END",
        "CREATE TRIGGER lease_key_counts_delete AFTER DELETE ON file_leases WHEN OLD.ended_at IS NULL "
        f"BEGIN {count_steps('OLD', '-', heads)} END",
        "CREATE TRIGGER lease_key_counts_update_out AFTER UPDATE OF pattern, prefix, ended_at ON file_leases "
        f"WHEN OLD.ended_at IS NULL BEGIN {count_steps('OLD', '-', heads)} END",
        "CREATE TRIGGER lease_key_counts_update_in AFTER UPDATE OF pattern, prefix, ended_at ON file_leases "
        f"WHEN NEW.ended_at IS NULL BEGIN {count_steps('NEW', '+', heads)} END",
    )
