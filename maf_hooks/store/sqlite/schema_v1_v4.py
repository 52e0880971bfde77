"""The fixed statements of schema versions 1 to 4 (see :mod:`maf_hooks.store.sqlite.migrations`).

A released migration never changes: these tuples are applied exactly as written, and a database
at any version is brought up to date by the same statements in the same order.
"""

V1_CANONICAL = (
    # The canonical tables of the MAF runtime (columns and checks as documented; more may be added).
    """CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('READY','LEASED','RUNNING','VERIFYING','COMMITTED','ROLLBACK','DONE','DEAD')),
        priority INTEGER NOT NULL DEFAULT 100,
        payload_json TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        token_budget INTEGER NOT NULL DEFAULT 0,
        cost_budget_cents INTEGER NOT NULL DEFAULT 0,
        policy_label TEXT NOT NULL DEFAULT 'private'
    )""",
    "CREATE INDEX idx_tasks_state ON tasks(state)",
    """CREATE TABLE leases (
        task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
        agent_id TEXT NOT NULL,
        lease_expires_at INTEGER NOT NULL,
        attempt INTEGER NOT NULL
    )""",
    "CREATE INDEX idx_leases_expires ON leases(lease_expires_at)",
    "CREATE INDEX idx_leases_agent ON leases(agent_id)",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        data_json TEXT NOT NULL,
        agent_id TEXT
    )""",
    "CREATE INDEX idx_events_task ON events(task_id)",
    "CREATE INDEX idx_events_kind_ts ON events(kind, ts)",
    "CREATE INDEX idx_events_agent_ts ON events(agent_id, ts)",
    """CREATE TABLE evidence (
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        verifier TEXT NOT NULL,
        result TEXT NOT NULL CHECK (result IN ('PASS','FAIL')),
        details_json TEXT NOT NULL,
        PRIMARY KEY (task_id, attempt, verifier)
    )""",
    # A file lease is a synthetic task with one leases row; these are its file-specific columns.
    """CREATE TABLE file_leases (
        task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
        pattern TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('exclusive','shared')),
        reason TEXT NOT NULL DEFAULT '',
        regex TEXT NOT NULL,
        prefix TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        ended_at INTEGER,
        end_reason TEXT CHECK (end_reason IN ('released','expired','taken_over'))
    )""",
    "CREATE INDEX idx_file_leases_open_prefix ON file_leases(prefix) WHERE ended_at IS NULL",
    "CREATE INDEX idx_file_leases_pattern ON file_leases(pattern)",
    """CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL DEFAULT '',
        first_seen INTEGER NOT NULL,
        last_heartbeat INTEGER
    )""",
)


V2_CONFLICTS = (
    """CREATE TABLE reservation_conflicts (
        id TEXT PRIMARY KEY,
        agent_id TEXT,
        file_path TEXT NOT NULL,
        conflict_type TEXT NOT NULL DEFAULT 'lease' CHECK (conflict_type IN ('lease','permission','concurrent_access')),
        severity TEXT NOT NULL CHECK (severity IN ('low','medium','high','critical')),
        holder_agent_id TEXT NOT NULL,
        lease_id TEXT NOT NULL,
        lease_expires_at INTEGER NOT NULL,
        attempted_operation TEXT NOT NULL CHECK (attempted_operation IN ('commit','push')),
        status TEXT NOT NULL CHECK (status IN ('blocked','warned','overridden')),
        override_reason TEXT,
        created_at INTEGER NOT NULL
    )""",
    "CREATE INDEX idx_conflicts_created ON reservation_conflicts(created_at)",
    "CREATE INDEX idx_conflicts_agent ON reservation_conflicts(agent_id, created_at)",
    "CREATE INDEX idx_conflicts_path ON reservation_conflicts(file_path)",
    # what was mailed to whom, so that the same attempt is not mailed twice within mail.dedup_minutes
    """CREATE TABLE mail_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_key TEXT NOT NULL,
        recipient TEXT NOT NULL,
        maf_type TEXT NOT NULL,
        message_key TEXT,
        sent_at INTEGER NOT NULL
    )""",
    "CREATE INDEX idx_mail_log_key ON mail_log(dedup_key, sent_at)",
)

V3_PREFLIGHT = (
    """CREATE TABLE preflight_executions (
        id TEXT PRIMARY KEY,
        config_id TEXT NOT NULL,
        agent_id TEXT,
        execution_id TEXT NOT NULL UNIQUE,
        check_type TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending','running','passed','failed','timeout')),
        context_json TEXT NOT NULL DEFAULT '{}',
        result_json TEXT,
        error_message TEXT,
        started_at INTEGER,
        completed_at INTEGER,
        created_at INTEGER NOT NULL
    )""",
    "CREATE INDEX idx_preflight_created ON preflight_executions(created_at)",
    "CREATE INDEX idx_preflight_agent_status ON preflight_executions(agent_id, status, created_at)",
)

V4_ESCALATION = (
    """CREATE TABLE escalation_paths (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT,
        trigger_conditions TEXT NOT NULL,
        escalation_steps TEXT NOT NULL,
        timeout_minutes INTEGER NOT NULL,
        max_escalation_level INTEGER NOT NULL,
        is_active INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )""",
    """CREATE TABLE escalation_tracking (
        id TEXT PRIMARY KEY,
        escalation_id TEXT NOT NULL UNIQUE,
        path_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        execution_id TEXT,
        current_level INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending','acknowledged','resolved','escalated','timeout')),
        context_json TEXT NOT NULL DEFAULT '{}',
        reason TEXT,
        target TEXT,
        priority TEXT NOT NULL DEFAULT 'medium' CHECK (priority IN ('low','medium','high','critical')),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        resolved_at INTEGER,
        condition TEXT NOT NULL,
        bead_id TEXT,
        level_started_at INTEGER NOT NULL,
        acknowledged_at INTEGER,
        note TEXT,
        delivery_status TEXT NOT NULL DEFAULT 'pending' CHECK (delivery_status IN ('pending','delivered','failed')),
        delivery_error TEXT
    )""",
    "CREATE INDEX idx_escalation_tracking_status ON escalation_tracking(status)",
    "CREATE INDEX idx_escalation_tracking_agent ON escalation_tracking(agent_id, status)",
    # one open escalation per (path, agent, condition); hand-made ones are exempt
    "CREATE UNIQUE INDEX idx_escalation_one_open ON escalation_tracking(path_id, agent_id, condition) "
    "WHERE status IN ('pending','escalated','acknowledged') AND condition != 'manual'",
    """CREATE TABLE escalation_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        escalation_id TEXT NOT NULL REFERENCES escalation_tracking(escalation_id),
        level INTEGER NOT NULL,
        target TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('mailbox','email','webhook')),
        maf_type TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending','sending','sent','failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        claimed_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )""",
    "CREATE INDEX idx_escalation_deliveries_status ON escalation_deliveries(status)",
)
