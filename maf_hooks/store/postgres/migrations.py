"""The PostgreSQL schema: versioned migrations, each in its own transaction, recorded in
``maf_schema`` with the oldest client that can still read and write the schema it leaves.

One server holds many repositories: every table carries ``repository`` (``storage.repository``)
and every key starts with it. Two machines migrating at once take turns on a session advisory
lock. Only ``maf db migrate`` (and ``maf init``) migrate a server; hooks and everyday commands
check the schema's window (:func:`check_window`) and refuse a server outside it.

A client's version here is the newest schema version it knows (:data:`SCHEMA_VERSION`). A
migration that only adds (a table, a nullable column, an index) keeps ``min_client`` where it
was, so older clients go on working while machines upgrade one at a time; one that changes what
older code reads or writes raises it to its own version.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from maf_hooks.store.postgres.connection import Database

MIGRATE_LOCK = 0x6D61_665F_6D69_6772  # "maf_migr": the advisory lock key of migrations

V1 = [
    """CREATE TABLE maf_counters (
        repository TEXT PRIMARY KEY,
        last_event_id BIGINT NOT NULL DEFAULT 0,
        last_token BIGINT NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE leases (
        repository TEXT NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        agent_id TEXT COLLATE "C" NOT NULL,
        pattern TEXT COLLATE "C" NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('exclusive', 'shared')),
        reason TEXT,
        prefix TEXT COLLATE "C" NOT NULL,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        ended_at BIGINT,
        end_reason TEXT,
        claim_session TEXT,
        token BIGINT NOT NULL,
        payload_json TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (repository, id),
        UNIQUE (repository, token)
    )""",
    "CREATE INDEX leases_open_pattern ON leases (repository, pattern) WHERE ended_at IS NULL",
    "CREATE INDEX leases_open_prefix ON leases (repository, prefix) WHERE ended_at IS NULL",
    "CREATE INDEX leases_open_expiry ON leases (repository, expires_at) WHERE ended_at IS NULL",
    "CREATE INDEX leases_agent ON leases (repository, agent_id, created_at)",
    """CREATE TABLE agents (
        repository TEXT NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        status TEXT NOT NULL DEFAULT '',
        first_seen BIGINT NOT NULL,
        last_heartbeat BIGINT,
        PRIMARY KEY (repository, id)
    )""",
    """CREATE TABLE events (
        repository TEXT NOT NULL,
        id BIGINT NOT NULL,
        task_id TEXT NOT NULL,
        ts BIGINT NOT NULL,
        kind TEXT NOT NULL,
        data_json TEXT NOT NULL,
        agent_id TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (repository, id)
    )""",
    "CREATE INDEX events_task ON events (repository, task_id)",
    "CREATE INDEX events_kind_ts ON events (repository, kind, ts)",
    "CREATE INDEX events_ts ON events (repository, ts)",
    """CREATE TABLE audit_outbox (
        id BIGSERIAL PRIMARY KEY,
        repository TEXT NOT NULL,
        event_id BIGINT NOT NULL,
        payload_json TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt_at BIGINT NOT NULL,
        delivered_at BIGINT
    )""",
    "CREATE INDEX audit_outbox_pending ON audit_outbox (repository, next_attempt_at) WHERE delivered_at IS NULL",
    """CREATE TABLE reservation_conflicts (
        repository TEXT NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        agent_id TEXT,
        file_path TEXT COLLATE "C" NOT NULL,
        conflict_type TEXT NOT NULL,
        severity TEXT NOT NULL,
        holder_agent_id TEXT,
        lease_id TEXT,
        lease_expires_at BIGINT,
        attempted_operation TEXT NOT NULL,
        status TEXT NOT NULL,
        override_reason TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (repository, id)
    )""",
    "CREATE INDEX conflicts_created ON reservation_conflicts (repository, created_at)",
    "CREATE INDEX conflicts_agent ON reservation_conflicts (repository, agent_id, created_at)",
    """CREATE TABLE mail_log (
        id BIGSERIAL PRIMARY KEY,
        repository TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        recipient TEXT NOT NULL,
        maf_type TEXT NOT NULL,
        message_key TEXT NOT NULL,
        sent_at BIGINT NOT NULL
    )""",
    "CREATE INDEX mail_log_key ON mail_log (repository, dedup_key, sent_at)",
    """CREATE TABLE mail_outbox (
        id BIGSERIAL PRIMARY KEY,
        repository TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        recipient TEXT NOT NULL,
        maf_type TEXT NOT NULL,
        message BYTEA NOT NULL,
        token TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        message_key TEXT,
        delivered_at BIGINT
    )""",
    "CREATE INDEX mail_outbox_pending ON mail_outbox (repository, id) WHERE status = 'pending'",
    "CREATE INDEX mail_outbox_key ON mail_outbox (repository, dedup_key, created_at)",
    """CREATE TABLE mail_messages (
        repository TEXT NOT NULL,
        agent TEXT NOT NULL,
        key TEXT NOT NULL,
        message BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        seen_at BIGINT,
        synced_at BIGINT,
        PRIMARY KEY (repository, agent, key)
    )""",
    "CREATE INDEX mail_messages_created ON mail_messages (repository, agent, created_at)",
    """CREATE TABLE preflight_executions (
        seq BIGSERIAL PRIMARY KEY,
        repository TEXT NOT NULL,
        id TEXT NOT NULL,
        config_id TEXT,
        agent_id TEXT,
        execution_id TEXT NOT NULL,
        check_type TEXT NOT NULL,
        status TEXT NOT NULL,
        context_json TEXT,
        result_json TEXT,
        error_message TEXT,
        started_at BIGINT,
        completed_at BIGINT,
        created_at BIGINT NOT NULL,
        UNIQUE (repository, id),
        UNIQUE (repository, execution_id)
    )""",
    "CREATE INDEX preflight_created ON preflight_executions (repository, created_at)",
    "CREATE INDEX preflight_agent_status ON preflight_executions (repository, agent_id, status, created_at)",
    """CREATE TABLE escalation_paths (
        repository TEXT NOT NULL,
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT,
        trigger_conditions TEXT NOT NULL,
        escalation_steps TEXT NOT NULL,
        timeout_minutes INTEGER NOT NULL,
        max_escalation_level INTEGER NOT NULL,
        is_active INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (repository, id)
    )""",
    """CREATE TABLE escalation_tracking (
        repository TEXT NOT NULL,
        escalation_id TEXT COLLATE "C" NOT NULL,
        path_id TEXT NOT NULL,
        agent_id TEXT,
        execution_id TEXT,
        current_level INTEGER NOT NULL,
        status TEXT NOT NULL,
        context_json TEXT,
        reason TEXT,
        target TEXT,
        priority TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        resolved_at BIGINT,
        condition TEXT,
        bead_id TEXT,
        level_started_at BIGINT,
        acknowledged_at BIGINT,
        note TEXT,
        delivery_status TEXT,
        delivery_error TEXT,
        PRIMARY KEY (repository, escalation_id)
    )""",
    "CREATE INDEX escalation_tracking_status ON escalation_tracking (repository, status)",
    "CREATE UNIQUE INDEX escalation_one_open ON escalation_tracking (repository, path_id, agent_id, condition) "
    "WHERE status IN ('pending', 'escalated', 'acknowledged') AND condition <> 'manual'",
    """CREATE TABLE escalation_deliveries (
        id BIGSERIAL PRIMARY KEY,
        repository TEXT NOT NULL,
        escalation_id TEXT NOT NULL,
        level INTEGER NOT NULL,
        target TEXT NOT NULL,
        channel TEXT NOT NULL,
        maf_type TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        claimed_at BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )""",
    "CREATE INDEX escalation_deliveries_status ON escalation_deliveries (repository, escalation_id, status)",
]

# Migration "candidates" (2, additive): what a pattern's overlap candidates are found by
# (docs/leases.md). A lease's head, the first path component of every path it covers: the first
# directory of its literal prefix, or its pattern when the prefix is empty; compared in "C" order,
# so that a range of heads is a range of text whatever the database's collation. The queries
# (store/postgres/leases.py) repeat these expressions word for word, so that the planner uses them.
HEAD = "((CASE WHEN prefix = '' THEN pattern ELSE split_part(prefix, '/', 1) END) COLLATE \"C\")"
IS_GLOB = r"(pattern ~ '[*?[\\]')"
V2_CANDIDATES = [
    f"CREATE INDEX leases_open_head ON leases (repository, {HEAD}) WHERE ended_at IS NULL",
    f"CREATE INDEX leases_open_globs ON leases (repository, prefix, pattern) WHERE ended_at IS NULL AND {IS_GLOB}",
    # the leases beneath a prefix, as a range of text in "C" order (leases_open_prefix follows the
    # database's collation, whose order need not keep a prefix's paths together)
    'CREATE INDEX leases_open_prefix_c ON leases (repository, (prefix COLLATE "C")) WHERE ended_at IS NULL',
]


class Migration:
    __slots__ = ("min_client", "name", "statements", "version")

    def __init__(self, version: int, name: str, min_client: int, statements: list[str]) -> None:
        self.version, self.name, self.min_client, self.statements = version, name, min_client, statements


MIGRATIONS = [
    Migration(1, "leases, events, records and mail, keyed by repository", 1, V1),
    Migration(2, "candidates: open leases by head, open globs by prefix", 1, V2_CANDIDATES),
]
SCHEMA_VERSION = MIGRATIONS[-1].version  # the newest schema this code knows

def state(db: Database) -> tuple[int, int]:
    """(the server's schema version, the oldest client version it accepts); (0, 0) for none."""
    exists = db.scalar("SELECT to_regclass('maf_schema') IS NOT NULL")
    if not exists:
        return 0, 0
    version, min_client = db.one("SELECT COALESCE(MAX(version), 0), COALESCE(MAX(min_client), 0) FROM maf_schema")
    return int(version), int(min_client)


def window_problem(where: str, version: int, min_client: int) -> str | None:
    """Why a client that knows :data:`SCHEMA_VERSION` cannot work with this server, or None."""
    from maf_hooks import __version__

    if version == 0:
        return (f"The lease server {where} holds no maf-hooks schema yet. Create it once, from one machine: "
                "`maf db migrate` (or `maf init`).")
    if version < SCHEMA_VERSION:
        return (f"The lease server {where} has schema version {version}; this maf-hooks ({__version__}) needs "
                f"version {SCHEMA_VERSION}. Upgrade the server's schema once, from this machine: `maf db "
                "migrate` (older clients keep working where the new schema allows them).")
    if min_client > SCHEMA_VERSION:
        return (f"The lease server {where} has schema version {version}, which clients older than schema "
                f"version {min_client} can no longer use; this maf-hooks ({__version__}) knows version "
                f"{SCHEMA_VERSION}. Upgrade maf-hooks on this machine (and the hook's copy: `pre-commit "
                "autoupdate`).")
    return None


def upgrade(db: Database, now: int) -> list[int]:
    """Apply every migration the server lacks, each in its own transaction, under the migration
    lock; return the versions applied. A server newer than this code is left alone (refused by
    :func:`window_problem` when outside the window)."""
    db.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
    try:
        db.execute("CREATE TABLE IF NOT EXISTS maf_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                   "applied_at BIGINT NOT NULL, min_client INTEGER NOT NULL, tool_version TEXT NOT NULL)")
        applied = []
        from maf_hooks import __version__

        for migration in MIGRATIONS:
            with db.transaction():
                if db.one("SELECT 1 FROM maf_schema WHERE version = %s", (migration.version,)):
                    continue
                for statement in migration.statements:
                    db.execute(statement)
                db.execute("INSERT INTO maf_schema (version, name, applied_at, min_client, tool_version) "
                           "VALUES (%s, %s, %s, %s, %s)",
                           (migration.version, migration.name, now, migration.min_client, __version__))
            applied.append(migration.version)
        return applied
    finally:
        db.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))


def applied(db: Database) -> list[tuple[int, str, int]]:
    if not db.scalar("SELECT to_regclass('maf_schema') IS NOT NULL"):
        return []
    return [tuple(row) for row in db.all("SELECT version, name, applied_at FROM maf_schema ORDER BY version")]
