"""Schema version 14: the pattern index holds open leases only (see :mod:`maf_hooks.store.sqlite.migrations`).

The hook looks leases up by pattern on every commit (``SqliteLeaseRecords.active_rows_near``). An
index of every lease ever taken grows with the history: after a busy month most of its entries
are ended leases, each one joined and thrown away. The partial index keeps only the leases not
ended (``ended_at IS NULL``), as the prefix index of migration 1 does; every lookup by pattern
says ``ended_at IS NULL`` and so reads it.
"""

V14_OPEN_PATTERNS = (
    "DROP INDEX IF EXISTS idx_file_leases_pattern",
    "CREATE INDEX IF NOT EXISTS idx_file_leases_open_pattern ON file_leases(pattern) WHERE ended_at IS NULL",
)
