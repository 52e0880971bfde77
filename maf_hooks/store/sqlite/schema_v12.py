"""Schema version 12: edit-time hooks (see :mod:`maf_hooks.store.sqlite.migrations`).

- ``reservation_conflicts.attempted_operation`` admits ``edit``: an agent's tool-call hook that
  refused (or warned about) an edit records it as the git hooks record a commit or push. SQLite
  cannot change a CHECK in place, so the table is rebuilt (SQLite's documented way: a new table,
  the rows copied with their ids, the old one dropped, the new one renamed, its indexes made
  again); no other table refers to it.
- ``file_leases.claim_session``: the agent session that auto-claimed the lease (NULL: taken by
  hand). A session's end releases its auto-claims; an auto-claim never extends a hand lease.
"""

V12_EDIT_HOOKS = (
    """CREATE TABLE reservation_conflicts_v12 (
        id TEXT PRIMARY KEY,
        agent_id TEXT,
        file_path TEXT NOT NULL,
        conflict_type TEXT NOT NULL DEFAULT 'lease' CHECK (conflict_type IN ('lease','permission','concurrent_access')),
        severity TEXT NOT NULL CHECK (severity IN ('low','medium','high','critical')),
        holder_agent_id TEXT NOT NULL,
        lease_id TEXT NOT NULL,
        lease_expires_at INTEGER NOT NULL,
        attempted_operation TEXT NOT NULL CHECK (attempted_operation IN ('commit','push','edit')),
        status TEXT NOT NULL CHECK (status IN ('blocked','warned','overridden')),
        override_reason TEXT,
        created_at INTEGER NOT NULL
    )""",
    "INSERT INTO reservation_conflicts_v12 SELECT id, agent_id, file_path, conflict_type, severity, holder_agent_id, "
    "lease_id, lease_expires_at, attempted_operation, status, override_reason, created_at FROM reservation_conflicts",
    "DROP TABLE reservation_conflicts",
    "ALTER TABLE reservation_conflicts_v12 RENAME TO reservation_conflicts",
    "CREATE INDEX idx_conflicts_created ON reservation_conflicts(created_at)",
    "CREATE INDEX idx_conflicts_agent ON reservation_conflicts(agent_id, created_at)",
    "CREATE INDEX idx_conflicts_path ON reservation_conflicts(file_path)",
    "ALTER TABLE file_leases ADD COLUMN claim_session TEXT",
)
