"""The SQLite backend of :class:`maf_hooks.store.base.Store`: one database file, shared by every
linked worktree of a clone (see :mod:`maf_hooks.store.location`).

The write guarantee is ``BEGIN IMMEDIATE``: a section takes SQLite's write lock at its start, so
no other writer interleaves; with WAL and a busy timeout, concurrent agents wait for each other
instead of failing. The section's ``now`` is the injected clock, read once the lock is held.
"""

from __future__ import annotations

import contextlib

from maf_hooks.store.base import Keeper as _Keeper
from maf_hooks.store.base import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from typing import Callable, Iterator

    from maf_hooks.store.audit import AuditTrail
    from maf_hooks.store.conflicts import ConflictRecords
    from maf_hooks.store.escalations import DeliveryOutbox, EscalationRecords
    from maf_hooks.store.events import EventLog
    from maf_hooks.store.leases import LeaseRecords
    from maf_hooks.store.preflight import PreflightRecords
    from maf_hooks.store.retention import Retention
    from maf_hooks.store.schema import Health, Schema
    from maf_hooks.store.sqlite.checkpoints import Checkpointer
    from maf_hooks.store.sqlite.connection import Database
    from maf_hooks.store.tallies import Tallies


class SqliteStore(Store):
    backend = "sqlite"

    checkpointer: Checkpointer | None = None  # set by long_lived()

    def __init__(self, db: Database, clock: Callable[[], int], *, audit_webhook: bool = False) -> None:
        super().__init__(clock)
        self.db = db
        self.location = db.path
        self.audit_webhook = audit_webhook  # queue every event for AUDIT_WEBHOOK_URL

    def _transaction(self) -> AbstractContextManager[None]:
        if self.checkpointer is None:
            return self.db.transaction()
        return self._counted()

    @contextlib.contextmanager
    def _counted(self) -> Iterator[None]:
        with self.db.transaction():
            yield
        if not self.db.conn.in_transaction and self.checkpointer is not None:  # committed, not a savepoint
            self.checkpointer.written()

    def _locked_now(self) -> int:
        return self.clock()

    def long_lived(self) -> None:
        if self.checkpointer is not None or self.db.scalar("PRAGMA journal_mode") != "wal":
            return  # already; or an in-memory database, which has no log
        from maf_hooks.store.sqlite.checkpoints import Checkpointer

        self.checkpointer = Checkpointer(self.db.conn, self.db.path)

    def close(self) -> None:
        checkpointer, self.checkpointer = self.checkpointer, None
        try:
            if checkpointer is not None:
                checkpointer.stop()
        finally:
            self.db.close()

    def schema(self, *, applied: bool = False) -> Schema:
        from maf_hooks.store.schema import Schema
        from maf_hooks.store.sqlite import migrations

        version = self.db.scalar("PRAGMA user_version")
        done = [tuple(row) for row in self.db.all(
            "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")] if applied and version else []
        return Schema(version, migrations.latest(), done if applied else None)

    def health(self, *, thorough: bool = True, full: bool = False) -> Health:
        from maf_hooks.store.sqlite import migrations, preflight

        return preflight.health(self.db, migrations.latest(), thorough=thorough, full=full)

    events: EventLog = _Keeper("maf_hooks.store.sqlite.events", "SqliteEventLog")  # type: ignore[assignment]
    preflight: PreflightRecords = _Keeper(  # type: ignore[assignment]
        "maf_hooks.store.sqlite.preflight", "SqlitePreflightRecords")
    leases: LeaseRecords = _Keeper("maf_hooks.store.sqlite.leases", "SqliteLeaseRecords")  # type: ignore[assignment]
    conflicts: ConflictRecords = _Keeper(  # type: ignore[assignment]
        "maf_hooks.store.sqlite.conflicts", "SqliteConflictRecords")
    audit: AuditTrail = _Keeper("maf_hooks.store.sqlite.audit", "SqliteAuditTrail")  # type: ignore[assignment]
    escalations: EscalationRecords = _Keeper(  # type: ignore[assignment]
        "maf_hooks.store.sqlite.escalations", "SqliteEscalations")
    deliveries: DeliveryOutbox = _Keeper(  # type: ignore[assignment]
        "maf_hooks.store.sqlite.escalations", "SqliteDeliveries")
    retention: Retention = _Keeper("maf_hooks.store.sqlite.retention", "SqliteRetention")  # type: ignore[assignment]
    tallies: Tallies = _Keeper("maf_hooks.store.sqlite.tallies", "SqliteTallies")  # type: ignore[assignment]


def open_file(path: str, clock: Callable[[], int], *, create: bool = True, migrate: bool = True,
              read_only: bool = False, timeout: float | None = None, audit_webhook: bool = False,
              file_mode: int | None = None) -> SqliteStore:
    """Open the database file at ``path``: by default create and migrate it (and switch it to
    WAL). ``migrate=False`` leaves the file as it is; ``read_only`` inspects it (nothing created,
    migrated or written, and a newer schema is not refused: read :meth:`SqliteStore.schema`);
    ``timeout``: seconds to wait for another writer's lock (see
    :func:`maf_hooks.store.sqlite.connection.connect`; ``file_mode``: the permissions of a file
    created here, default 0600)."""
    from maf_hooks.store.sqlite.connection import FILE_MODE, Database, connect

    conn = connect(path, create=create and not read_only, migrate=migrate and not read_only, read_only=read_only,
                   timeout=timeout, file_mode=FILE_MODE if file_mode is None else file_mode)
    return SqliteStore(Database(conn, path), clock, audit_webhook=audit_webhook)


def open_memory(key: str, clock: Callable[[], int], *, create: bool = True, migrate: bool = True,
                read_only: bool = False, timeout: float | None = None,
                audit_webhook: bool = False) -> SqliteStore:
    """Open this process's in-memory database of ``key`` (:mod:`maf_hooks.store.sqlite.memory`),
    as :func:`open_file` opens a file: made and migrated on first use unless told not to."""
    from maf_hooks.store.sqlite import memory
    from maf_hooks.store.sqlite.connection import BUSY_TIMEOUT_SECONDS, Database

    conn = memory.connect(key, create=create, migrate=migrate, read_only=read_only,
                          timeout=BUSY_TIMEOUT_SECONDS if timeout is None else timeout)
    return SqliteStore(Database(conn, memory.LOCATION), clock, audit_webhook=audit_webhook)
