"""Versioned schema migrations.

Each migration is applied once, in its own ``BEGIN IMMEDIATE`` transaction together with the
``schema_migrations`` row that records it and ``PRAGMA user_version``; a failing migration rolls
back whole. A database whose version is newer than this code knows is refused, never altered.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple

from maf_hooks.errors import StorageError
from maf_hooks.store.sqlite.lease_keys import GLOB_SQL
from maf_hooks.store.sqlite.schema_counts import count_triggers
from maf_hooks.store.sqlite.schema_v1_v4 import V1_CANONICAL, V2_CONFLICTS, V3_PREFLIGHT, V4_ESCALATION
from maf_hooks.store.sqlite.schema_v12 import V12_EDIT_HOOKS
from maf_hooks.store.sqlite.schema_v13 import V13_FENCING_TOKENS
from maf_hooks.store.sqlite.schema_v14 import V14_OPEN_PATTERNS
from maf_hooks.store.sqlite.schema_v15 import V15_AUDIT_CHECKPOINT
from maf_hooks.store.sqlite.schema_v16 import V16_CANDIDATE_INDEXES
from maf_hooks.store.sqlite.schema_v17 import V17_CONFLICT_CHECKS
from maf_hooks.store.sqlite.schema_v18 import V18_HEAD_COUNTS
from maf_hooks.store.sqlite.schema_v19 import V19_NO_PATH_INDEX
from maf_hooks.store.sqlite.transaction import immediate
from maf_hooks.store.sqlite.version import SCHEMA_VERSION
from maf_hooks.timeutil import now_ms

TYPE_CHECKING = False  # typing costs the git hook milliseconds; annotations only
if TYPE_CHECKING:
    from typing import Sequence

# version: int; name: str; steps: a sequence of SQL statements, or a callable taking the connection;
# foreign_keys_off: run with foreign key enforcement off (a table rebuild), checked before it commits
# (a plain namedtuple: typing.NamedTuple compiles its annotations when the hook imports this module)
Migration = namedtuple("Migration", ["version", "name", "steps", "foreign_keys_off"], defaults=(False,))


SYSTEM_TASK = "maf:system"  # owner of events that belong to no lease (escalations, preflight, ...)


def _seed_system_task(conn: sqlite3.Connection) -> None:
    now = now_ms()
    conn.execute(
        "INSERT INTO tasks (id, state, payload_json, created_at, updated_at) VALUES (?, 'RUNNING', ?, ?, ?)",
        (SYSTEM_TASK, '{"kind": "system"}', now, now),
    )


def _v1(conn: sqlite3.Connection) -> None:
    for statement in V1_CANONICAL:
        conn.execute(statement)
    _seed_system_task(conn)


def _v5_audit_chain(conn: sqlite3.Connection) -> None:
    """Chain every event row to the previous one (existing rows are chained in id order)."""
    from maf_hooks.core.chain import chain_hash

    conn.execute("ALTER TABLE events ADD COLUMN prev_hash TEXT")
    conn.execute("ALTER TABLE events ADD COLUMN hash TEXT")
    previous = ""
    rows = conn.execute("SELECT id, task_id, ts, kind, data_json, agent_id FROM events ORDER BY id").fetchall()
    for row in rows:
        digest = chain_hash(previous, row)
        conn.execute("UPDATE events SET prev_hash = ?, hash = ? WHERE id = ?", (previous, digest, row[0]))
        previous = digest
    conn.execute(
        """CREATE TABLE audit_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id INTEGER NOT NULL,
            payload_json TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT,
            delivered_at INTEGER
        )"""
    )
    conn.execute("CREATE INDEX idx_audit_outbox_pending ON audit_outbox(next_attempt_at) WHERE delivered_at IS NULL")


V6_OPEN_EXPIRY = (
    # the expiry of open file leases, indexed, so that ending the leases whose time is up reads
    # only those (leases.lease_expires_at stays the canonical value; this mirrors it)
    "ALTER TABLE file_leases ADD COLUMN expires_at INTEGER",
    "UPDATE file_leases SET expires_at = (SELECT l.lease_expires_at FROM leases l WHERE l.task_id = file_leases.task_id)",
    "CREATE INDEX idx_file_leases_open_expiry ON file_leases(expires_at) WHERE ended_at IS NULL",
    # kept in step with the canonical column, whoever updates it (maf-hooks or an operator's SQL)
    """CREATE TRIGGER file_leases_follow_expiry AFTER UPDATE OF lease_expires_at ON leases
       BEGIN UPDATE file_leases SET expires_at = NEW.lease_expires_at WHERE task_id = NEW.task_id; END""",
)

# Migration 7 once recomputed the regex column of file-like leases with the live patterns code;
# that column is no longer read (leases are matched from their pattern), so it does nothing now.
V7_FILE_LIKE_REGEXES = ("SELECT 1",)


def _v8_events_outlive_tasks(conn: sqlite3.Connection) -> None:
    """Rebuild ``events`` without ``REFERENCES tasks(id) ON DELETE CASCADE``: removing a task
    must never remove its history (that would break the audit chain). SQLite's documented
    12-step rebuild, run with foreign keys off (see :func:`upgrade`): the rows keep their ids
    and hashes, the indexes are made again, and the AUTOINCREMENT counter keeps its value, so
    that an id is still never reused and removed newest events are still found."""
    sequence = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    conn.execute(
        """CREATE TABLE events_v8 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id TEXT NOT NULL,
            ts INTEGER NOT NULL,
            kind TEXT NOT NULL,
            data_json TEXT NOT NULL,
            agent_id TEXT,
            prev_hash TEXT,
            hash TEXT
        )"""
    )
    columns = "id, task_id, ts, kind, data_json, agent_id, prev_hash, hash"
    conn.execute(f"INSERT INTO events_v8 ({columns}) SELECT {columns} FROM events ORDER BY id")
    conn.execute("DROP TABLE events")
    conn.execute("ALTER TABLE events_v8 RENAME TO events")
    conn.execute("CREATE INDEX idx_events_task ON events(task_id)")
    conn.execute("CREATE INDEX idx_events_kind_ts ON events(kind, ts)")
    conn.execute("CREATE INDEX idx_events_agent_ts ON events(agent_id, ts)")
    conn.execute("DELETE FROM sqlite_sequence WHERE name IN ('events', 'events_v8')")
    highest = max(sequence[0] if sequence else 0, conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])
    if highest:
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (highest,))


# A lease row means the same on every machine and version: its pattern, read by the one parser
# (maf_hooks.patterns). The regex column once held another library's regex text; it is emptied
# and kept (empty) rather than dropped: DROP COLUMN needs SQLite 3.35, and an older maf-hooks
# still selects it.
V9_NO_STORED_REGEX = ("UPDATE file_leases SET regex = '' WHERE regex != ''",)


# The conflict mail outbox: a conflict record and its holders' mail are written in one write
# section; delivery follows the decision and is retried until it succeeds. ``message`` is the
# built message (bytes); its Maildir file name derives from ``id``, ``created_at`` and ``token``.
V10_MAIL_OUTBOX = (
    """CREATE TABLE mail_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_key TEXT NOT NULL,
        recipient TEXT NOT NULL,
        maf_type TEXT NOT NULL,
        message BLOB NOT NULL,
        token TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        message_key TEXT,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER
    )""",
    "CREATE INDEX idx_mail_outbox_pending ON mail_outbox(id) WHERE status = 'pending'",
    "CREATE INDEX idx_mail_outbox_key ON mail_outbox(dedup_key, created_at)",
)


# Counts of open file leases per lookup key, kept by triggers (maf_hooks/store/sqlite/schema_counts.py)
V11_LEASE_KEY_COUNTS = (
    "CREATE TABLE lease_key_counts (kind TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL, "
    "PRIMARY KEY (kind, key)) WITHOUT ROWID",
    "INSERT INTO lease_key_counts (kind, key, n) SELECT 't', '', COUNT(*) FROM file_leases "
    "WHERE ended_at IS NULL HAVING COUNT(*) > 0",
    "INSERT INTO lease_key_counts (kind, key, n) SELECT 'p', pattern, COUNT(*) FROM file_leases "
    "WHERE ended_at IS NULL GROUP BY pattern",
    "INSERT INTO lease_key_counts (kind, key, n) SELECT 'g', prefix, COUNT(*) FROM file_leases f "
    f"WHERE ended_at IS NULL AND {GLOB_SQL.format('f.')} GROUP BY prefix",
    *count_triggers(heads=False),
)


MIGRATIONS: list[Migration] = [
    Migration(1, "canonical tables, file leases, agents", _v1),
    Migration(2, "reservation conflicts and mail log", V2_CONFLICTS),
    Migration(3, "preflight executions", V3_PREFLIGHT),
    Migration(4, "escalation paths, tracking and deliveries", V4_ESCALATION),
    Migration(5, "audit chain on events, audit webhook outbox", _v5_audit_chain),
    Migration(6, "index the expiry of open file leases", V6_OPEN_EXPIRY),
    Migration(7, "file-like leases match only their own paths", V7_FILE_LIKE_REGEXES),
    Migration(8, "events outlive their tasks (no cascading delete)", _v8_events_outlive_tasks, True),
    Migration(9, "leases are read from their pattern: no stored regex text", V9_NO_STORED_REGEX),
    Migration(10, "conflict mail outbox", V10_MAIL_OUTBOX),
    Migration(11, "counts of open file leases per lookup key, kept by triggers", V11_LEASE_KEY_COUNTS),
    Migration(12, "edit-time hooks: conflicts of an edit, auto-claimed leases", V12_EDIT_HOOKS),
    Migration(13, "fencing tokens: a counter that only increases, a token per grant", V13_FENCING_TOKENS),
    Migration(14, "the pattern index holds open leases only", V14_OPEN_PATTERNS),
    Migration(15, "audit chain checkpoint, set aside by any change to a verified event", V15_AUDIT_CHECKPOINT),
    Migration(16, "overlap candidates: open leases by head, open globs by prefix", V16_CANDIDATE_INDEXES),
    Migration(17, "conflict records' checks as comparisons (cheap for a batch of rows)", V17_CONFLICT_CHECKS),
    Migration(18, "counts of open file leases per head, for root globs' candidates", V18_HEAD_COUNTS),
    Migration(19, "conflict records without an index on their path (no query reads one)", V19_NO_PATH_INDEX),
]


if MIGRATIONS[-1].version != SCHEMA_VERSION:  # one number, said twice: they must agree
    raise RuntimeError(f"migration {MIGRATIONS[-1].version} is the last, but version.py says {SCHEMA_VERSION}")


def latest(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    return migrations[-1].version if migrations else 0


def current_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def refuse_newer(conn: sqlite3.Connection, path: str, migrations: Sequence[Migration] = MIGRATIONS) -> None:
    version = current_version(conn)
    if version > latest(migrations):
        import os

        from maf_hooks.install_advice import newer_schema_advice

        raise StorageError(
            f"The lease database {path} has schema version {version}, newer than this maf-hooks "
            f"understands ({latest(migrations)}); the database was not changed. {newer_schema_advice(os.environ)}"
        )


def upgrade(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply every migration newer than the database; return the versions applied here."""
    if current_version(conn) >= latest(migrations):
        return []
    applied: list[int] = []
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone():
        with immediate(conn):
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            )
    for migration in migrations:
        if current_version(conn) >= migration.version:
            continue
        if migration.foreign_keys_off:
            done = _without_foreign_keys(conn, migration)
        else:
            done = _apply(conn, migration)
        if done:
            applied.append(migration.version)
    return applied


def _apply(conn: sqlite3.Connection, migration: Migration, *, check_foreign_keys: bool = False) -> bool:
    """Apply one migration with its record in one transaction; False if another process had."""
    with immediate(conn):
        # another process may have applied it while we waited for the write lock
        if current_version(conn) >= migration.version:
            return False
        if callable(migration.steps):
            migration.steps(conn)
        else:
            for statement in migration.steps:
                conn.execute(statement)
        if check_foreign_keys:
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise StorageError(f"Migration {migration.version} ({migration.name}) would leave rows whose "
                                   f"foreign keys point nowhere ({broken[:3]}); nothing was changed.")
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, now_ms()),
        )
        conn.execute(f"PRAGMA user_version = {int(migration.version)}")
    return True


def _without_foreign_keys(conn: sqlite3.Connection, migration: Migration) -> bool:
    """Steps 1 and 12 of SQLite's table rebuild: foreign keys off around the transaction (the
    pragma does nothing inside one), checked before it commits, and then restored."""
    if conn.in_transaction:
        raise StorageError(f"Migration {migration.version} ({migration.name}) must run outside a transaction.")
    enforced = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        if conn.execute("PRAGMA foreign_keys").fetchone()[0]:
            raise StorageError(f"Migration {migration.version}: foreign keys could not be turned off.")
        return _apply(conn, migration, check_foreign_keys=bool(enforced))
    finally:
        if enforced:
            conn.execute("PRAGMA foreign_keys = ON")
