"""The PostgreSQL backend of :class:`maf_hooks.store.base.Store`: one server shared by clones on
several machines, many repositories on one server (every row carries ``storage.repository``).

The write guarantee is a transaction holding the repository's advisory transaction lock
(``pg_advisory_xact_lock``), taken first in every write section: check-then-insert of leases,
takeovers and renewals, the audit chain's appends and the escalation ticks of every machine take
turns per repository, while READ COMMITTED alone would let two sections both read "free". The
section's ``now`` is the server's ``clock_timestamp()``, read after that lock is held, so that
machines whose clocks disagree still agree about expiry (a test may inject its own clock).

Imported only when ``storage.url`` or ``MAF_DB_URL`` names a server: the SQLite default never
loads psycopg.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from maf_hooks.store.base import Keeper, Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from typing import Callable

    from maf_hooks.store.audit import AuditTrail
    from maf_hooks.store.conflicts import ConflictRecords
    from maf_hooks.store.escalations import DeliveryOutbox, EscalationRecords
    from maf_hooks.store.events import EventLog
    from maf_hooks.store.leases import LeaseRecords
    from maf_hooks.store.mailboxes import Mailboxes
    from maf_hooks.store.postgres.connection import Database, Settings
    from maf_hooks.store.preflight import PreflightRecords
    from maf_hooks.store.retention import Retention
    from maf_hooks.store.schema import Health, Schema
    from maf_hooks.store.tallies import Tallies

# what opening reads, in one round trip: the schema's window, the server's clock, whether the
# repository has an active lease at that time (what the commit hook asks first) and whether any
# conflict mail waits in its outbox (what every hook asks last)
_OPENING = (
    "SELECT COALESCE(MAX(s.version), 0), COALESCE(MAX(s.min_client), 0), c.now, "
    "EXISTS (SELECT 1 FROM leases WHERE repository = %s AND ended_at IS NULL AND state = 'LEASED' "
    "AND expires_at > c.now), "
    "EXISTS (SELECT 1 FROM mail_outbox WHERE repository = %s AND status = 'pending') "
    "FROM maf_schema s, (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now) c GROUP BY c.now")
_CLOCK = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"
_LOCKED_NOW = ("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint "
               "FROM (SELECT pg_advisory_xact_lock(%s)) AS locked")


def lock_key(repository: str) -> int:
    """The repository's advisory lock key: a signed 64-bit number from its name."""
    import hashlib

    return int.from_bytes(hashlib.sha256(b"maf-hooks:" + repository.encode()).digest()[:8], "big", signed=True)


class PostgresStore(Store):
    backend = "postgresql"
    repository: str  # always set: the key this store's rows are filed under

    def __init__(self, db: Database, repository: str, clock: Callable[[], int] | None, server_now: int, *,
                 facts: Opened | None = None, audit_webhook: bool = False) -> None:
        super().__init__(clock or self._server_clock)
        self.db = db
        self.repository = repository
        self.location = db.where
        self.audit_webhook = audit_webhook
        self.server_time = clock is None
        self._lock = lock_key(repository)
        self._base = (server_now, time.monotonic())  # the server's clock, seen at open
        # what the opening query found, until this store writes (None: not known): answers
        # ``leases.has_active`` for the time of opening and ``conflicts.pending_mail`` when none
        # waited, without another round trip (the hooks' reads)
        self.opened = facts if clock is None else None
        self.upgraded: list[int] = []  # the migrations this open applied (``migrate=True``)

    def _server_clock(self) -> int:
        """The server's clock as read at open, carried on by this machine's monotonic clock (a
        read outside a write section; every section reads the server's clock afresh)."""
        server_ms, seen = self._base
        return server_ms + int((time.monotonic() - seen) * 1000)

    def _transaction(self) -> AbstractContextManager[None]:
        return self.db.transaction()

    def _locked_now(self) -> int:
        self.opened = None  # what this section writes may change it
        server_now = int(self.db.scalar(_LOCKED_NOW, (self._lock,)))
        if not self.server_time:
            return self.clock()
        self._base = (server_now, time.monotonic())
        return server_now

    def close(self) -> None:
        self.db.close()

    def schema(self, *, applied: bool = False) -> Schema:
        from maf_hooks.store.postgres import migrations
        from maf_hooks.store.schema import Schema

        version, _ = migrations.state(self.db)
        return Schema(version, migrations.SCHEMA_VERSION, migrations.applied(self.db) if applied else None)

    def health(self, *, thorough: bool = True, full: bool = False) -> Health:
        from maf_hooks.store.schema import Health

        # the server keeps its own pages sound; there is no journal mode or foreign key to check here
        return Health(self.schema(), None, None, None)

    def ensure_counters(self) -> None:
        """The repository's counter row (event ids, fencing tokens), made once."""
        self.db.execute("INSERT INTO maf_counters (repository) VALUES (%s) ON CONFLICT DO NOTHING",
                        (self.repository,))

    events: EventLog = Keeper("maf_hooks.store.postgres.events", "PostgresEventLog")  # type: ignore[assignment]
    preflight: PreflightRecords = Keeper(  # type: ignore[assignment]
        "maf_hooks.store.postgres.preflight", "PostgresPreflightRecords")
    leases: LeaseRecords = Keeper("maf_hooks.store.postgres.leases", "PostgresLeaseRecords")  # type: ignore[assignment]
    conflicts: ConflictRecords = Keeper(  # type: ignore[assignment]
        "maf_hooks.store.postgres.conflicts", "PostgresConflictRecords")
    audit: AuditTrail = Keeper("maf_hooks.store.postgres.audit", "PostgresAuditTrail")  # type: ignore[assignment]
    escalations: EscalationRecords = Keeper(  # type: ignore[assignment]
        "maf_hooks.store.postgres.escalations", "PostgresEscalations")
    deliveries: DeliveryOutbox = Keeper(  # type: ignore[assignment]
        "maf_hooks.store.postgres.escalations", "PostgresDeliveries")
    retention: Retention = Keeper("maf_hooks.store.postgres.retention", "PostgresRetention")  # type: ignore[assignment]
    tallies: Tallies = Keeper("maf_hooks.store.postgres.tallies", "PostgresTallies")  # type: ignore[assignment]
    mailboxes: Mailboxes = Keeper("maf_hooks.store.postgres.mailboxes", "PostgresMailboxes")  # type: ignore[assignment]


def open_server(settings: Settings, repository: str, clock: Callable[[], int] | None = None, *,
                migrate: bool = False, audit_webhook: bool = False) -> PostgresStore:
    """Connect and check the schema's window (one round trip after connecting). ``migrate``:
    first bring the server's schema up to date (``maf db migrate``; never the hooks). ``clock``:
    None for the server's clock."""
    from maf_hooks.errors import StorageError
    from maf_hooks.store.postgres import migrations
    from maf_hooks.store.postgres.connection import Database

    db = Database(settings)
    upgraded: list[int] = []
    try:
        if migrate:
            upgraded = migrations.upgrade(db, clock() if clock else int(db.scalar(_CLOCK)))
        version, min_client, server_now, facts = _opening(db, repository)
        problem = migrations.window_problem(db.where, version, min_client)
        if problem:
            raise StorageError(problem)
    except BaseException:
        db.close()
        raise
    store = PostgresStore(db, repository, clock, server_now, facts=facts, audit_webhook=audit_webhook)
    store.upgraded = upgraded
    return store


class Opened(NamedTuple):
    """What the opening query found: at the server's time ``now``, whether a lease was active,
    and whether conflict mail waited in the outbox."""

    now: int
    active: bool
    mail_pending: bool


def _opening(db: Database, repository: str) -> tuple[int, int, int, Opened | None]:
    """(schema version, oldest client version accepted, the server's clock in epoch ms, what it
    found); (0, 0, clock, None) on a server without the schema."""
    import psycopg

    from maf_hooks.errors import StorageError

    try:
        version, min_client, now, active, mail = db.one(_OPENING, (repository, repository))
    except StorageError as exc:
        if not isinstance(exc.__cause__, psycopg.errors.UndefinedTable):
            raise
        return 0, 0, int(db.scalar(_CLOCK)), None
    return int(version), int(min_client), int(now), Opened(int(now), bool(active), bool(mail))
