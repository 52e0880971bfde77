"""Schema version 17: the conflict records' CHECK constraints as comparisons.

SQLite evaluates ``x IN ('a', 'b', ...)`` in a CHECK by building a small temporary index each time
the INSERT statement runs, that is once per row of a batch: a refused commit of 1,000 paths paid
about 20 ms for the four checks of ``reservation_conflicts`` alone. ``x = 'a' OR x = 'b'`` admits
exactly the same values at a fraction of the cost. SQLite cannot change a CHECK in place, so the
table is rebuilt as in version 12 (a new table, the rows copied with their ids, the old one
dropped, the new one renamed, its indexes made again); no other table refers to it.
"""


def one_of(column: str, *values: str) -> str:
    """``CHECK`` text admitting exactly ``values`` (what ``column IN (values)`` admits)."""
    return "CHECK (" + " OR ".join(f"{column} = '{value}'" for value in values) + ")"


V17_CONFLICT_CHECKS = (
    f"""CREATE TABLE reservation_conflicts_v17 (
        id TEXT PRIMARY KEY,
        agent_id TEXT,
        file_path TEXT NOT NULL,
        conflict_type TEXT NOT NULL DEFAULT 'lease' {one_of('conflict_type', 'lease', 'permission', 'concurrent_access')},
        severity TEXT NOT NULL {one_of('severity', 'low', 'medium', 'high', 'critical')},
        holder_agent_id TEXT NOT NULL,
        lease_id TEXT NOT NULL,
        lease_expires_at INTEGER NOT NULL,
        attempted_operation TEXT NOT NULL {one_of('attempted_operation', 'commit', 'push', 'edit')},
        status TEXT NOT NULL {one_of('status', 'blocked', 'warned', 'overridden')},
        override_reason TEXT,
        created_at INTEGER NOT NULL
    )""",
    "INSERT INTO reservation_conflicts_v17 SELECT id, agent_id, file_path, conflict_type, severity, holder_agent_id, "
    "lease_id, lease_expires_at, attempted_operation, status, override_reason, created_at FROM reservation_conflicts",
    "DROP TABLE reservation_conflicts",
    "ALTER TABLE reservation_conflicts_v17 RENAME TO reservation_conflicts",
    "CREATE INDEX idx_conflicts_created ON reservation_conflicts(created_at)",
    "CREATE INDEX idx_conflicts_agent ON reservation_conflicts(agent_id, created_at)",
    "CREATE INDEX idx_conflicts_path ON reservation_conflicts(file_path)",
)
