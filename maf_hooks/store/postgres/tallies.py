"""The PostgreSQL tallies: grouped counts of one repository's leases, conflicts, events and
escalations, and the size of the server's database (shared by every repository on it)."""

from __future__ import annotations

from maf_hooks.store.postgres.leases import _LIVE, _OPEN  # what an active lease is, said once
from maf_hooks.store.tallies import Tallies

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from maf_hooks.store.postgres import PostgresStore

_ACTIVE = f"FROM leases WHERE {_OPEN} AND {_LIVE}"


class PostgresTallies(Tallies):
    def __init__(self, store: PostgresStore) -> None:
        self.db, self.repo = store.db, store.repository

    def active_leases(self, now: int) -> list[tuple[str, str, int]]:
        return [(agent, mode, int(n)) for agent, mode, n in self.db.all(
            f"SELECT agent_id, mode, COUNT(*) {_ACTIVE} GROUP BY agent_id, mode ORDER BY agent_id, mode",
            (self.repo, now))]

    def leases_expiring(self, now: int, until: int) -> int:
        return int(self.db.scalar(f"SELECT COUNT(*) {_ACTIVE} AND expires_at <= %s", (self.repo, now, until)))

    def conflicts_since(self, since: int) -> list[tuple[str, str, int]]:
        return [(status, operation, int(n)) for status, operation, n in self.db.all(
            "SELECT status, attempted_operation, COUNT(*) FROM reservation_conflicts "
            "WHERE repository = %s AND created_at >= %s GROUP BY status, attempted_operation "
            "ORDER BY status, attempted_operation", (self.repo, since))]

    def events_since(self, kind: str, since: int) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM events WHERE repository = %s AND kind = %s AND ts >= %s",
                                  (self.repo, kind, since)))

    def escalations(self, statuses: Sequence[str]) -> list[tuple[int, str, int]]:
        return [(int(level), status, int(n)) for level, status, n in self.db.all(
            "SELECT current_level, status, COUNT(*) FROM escalation_tracking "
            "WHERE repository = %s AND status = ANY(%s) GROUP BY current_level, status "
            "ORDER BY current_level, status", (self.repo, list(statuses)))]

    def escalations_ended_since(self, status: str, since: int) -> int:
        return int(self.db.scalar(
            "SELECT COUNT(*) FROM escalation_tracking WHERE repository = %s AND status = %s AND resolved_at >= %s",
            (self.repo, status, since)))

    def size_bytes(self) -> int:
        return int(self.db.scalar("SELECT pg_database_size(current_database())"))
