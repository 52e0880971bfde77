"""Schema version 18: the heads of the open leases counted (kind ``h`` of ``lease_key_counts``).

A root glob's overlap candidates are the leases whose head it can match (migration 16). The
distinct heads were read from ``idx_file_leases_open_head`` one seek each, about 2 microseconds
a head: 2 ms of a root glob's acquire among 100,000 leases in 1,000 directories. Counted per
head by the triggers that count patterns and glob prefixes (migration 11), they are one range of
a table without rowids. The four triggers are made again with the fourth key, and the heads of
the open leases present are counted once.
"""

from maf_hooks.store.sqlite.lease_keys import HEAD_SQL
from maf_hooks.store.sqlite.schema_counts import count_triggers

V18_HEAD_COUNTS = (
    "DROP TRIGGER lease_key_counts_insert",
    "DROP TRIGGER lease_key_counts_delete",
    "DROP TRIGGER lease_key_counts_update_out",
    "DROP TRIGGER lease_key_counts_update_in",
    "DELETE FROM lease_key_counts WHERE kind = 'h'",
    f"INSERT INTO lease_key_counts (kind, key, n) SELECT 'h', {HEAD_SQL.format('f.')}, COUNT(*) FROM file_leases f "
    f"WHERE ended_at IS NULL GROUP BY {HEAD_SQL.format('f.')}",
    *count_triggers(heads=True),
)
