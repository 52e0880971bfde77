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

from maf_hooks.store.postgres.schema_v1 import V1  # noqa: E402 - the first schema, in its own module

MIGRATE_LOCK = 0x6D61_665F_6D69_6772  # "maf_migr": the advisory lock key of migrations


# Migration "candidates" (3, additive): what a pattern's overlap candidates are found by
# (docs/leases.md). A lease's head, the first path component of every path it covers: the first
# directory of its literal prefix, or its pattern when the prefix is empty; compared in "C" order,
# so that a range of heads is a range of text whatever the database's collation. The queries
# (store/postgres/leases.py) repeat these expressions word for word, so that the planner uses them.
HEAD = "((CASE WHEN prefix = '' THEN pattern ELSE split_part(prefix, '/', 1) END) COLLATE \"C\")"
IS_GLOB = r"(pattern ~ '[*?[\\]')"
V_CANDIDATES = [
    f"CREATE INDEX leases_open_head ON leases (repository, {HEAD}) WHERE ended_at IS NULL",
    f"CREATE INDEX leases_open_globs ON leases (repository, prefix, pattern) WHERE ended_at IS NULL AND {IS_GLOB}",
    # the leases beneath a prefix, as a range of text in "C" order (leases_open_prefix follows the
    # database's collation, whose order need not keep a prefix's paths together)
    'CREATE INDEX leases_open_prefix_c ON leases (repository, (prefix COLLATE "C")) WHERE ended_at IS NULL',
]


# the audit chain's checkpoint per repository (docs/audit.md), set aside by a trigger whenever a
# verified event is changed, removed, or an event is inserted at or below it
V_AUDIT_CHECKPOINT = [
    "CREATE TABLE audit_checkpoint (repository TEXT PRIMARY KEY, event_id BIGINT NOT NULL, hash TEXT NOT NULL, "
    "count BIGINT NOT NULL, verified_at BIGINT NOT NULL)",
    """CREATE FUNCTION maf_audit_checkpoint_forget() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP <> 'INSERT' THEN
            DELETE FROM audit_checkpoint WHERE repository = OLD.repository AND event_id >= OLD.id; END IF;
        IF TG_OP <> 'DELETE' THEN
            DELETE FROM audit_checkpoint WHERE repository = NEW.repository AND event_id >= NEW.id; END IF;
        RETURN NULL; END $$""",
    "CREATE TRIGGER audit_checkpoint_forget AFTER INSERT OR UPDATE OR DELETE ON events FOR EACH ROW "
    "EXECUTE FUNCTION maf_audit_checkpoint_forget()",
]


class Migration:
    __slots__ = ("min_client", "name", "statements", "version")

    def __init__(self, version: int, name: str, min_client: int, statements: list[str]) -> None:
        self.version, self.name, self.min_client, self.statements = version, name, min_client, statements


MIGRATIONS = [
    Migration(1, "leases, events, records and mail, keyed by repository", 1, V1),
    # additive (min_client 1)
    Migration(2, "audit chain checkpoint per repository", 1, V_AUDIT_CHECKPOINT),
    Migration(3, "candidates: open leases by head, open globs by prefix", 1, V_CANDIDATES),
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
        import os

        from maf_hooks.install_advice import newer_schema_advice

        return (f"The lease server {where} has schema version {version}, which clients older than schema "
                f"version {min_client} can no longer use; this maf-hooks ({__version__}) knows version "
                f"{SCHEMA_VERSION}. {newer_schema_advice(os.environ)}")
    return None


def upgrade(db: Database, now: int) -> list[int]:
    """Apply every migration the server lacks, each in its own transaction, under the migration
    lock; return the versions applied. A server newer than this code is left alone (refused by
    :func:`window_problem` when outside the window)."""
    db.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
    try:
        if not db.scalar("SELECT to_regclass('maf_schema') IS NOT NULL"):  # an up-to-date server needs no CREATE
            db.execute("CREATE TABLE maf_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                       "applied_at BIGINT NOT NULL, min_client INTEGER NOT NULL, tool_version TEXT NOT NULL)")
        done = {row[0] for row in db.all("SELECT version FROM maf_schema")}
        applied = []
        from maf_hooks import __version__

        for migration in MIGRATIONS:
            if migration.version in done:  # an everyday role, without CREATE, can run it on a current server
                continue
            with db.transaction():
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
