"""The SQLite tallies: grouped counts of leases, conflicts, events and escalations, and the file's size."""

from __future__ import annotations

import os

from maf_hooks.store.sqlite.leases import _FROM, _LIVE  # what an active lease is, said once
from maf_hooks.store.tallies import Tallies

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from maf_hooks.store.sqlite import SqliteStore

_ACTIVE = f"FROM {_FROM} WHERE {_LIVE}"


class SqliteTallies(Tallies):
    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db

    def active_leases(self, now: int) -> list[tuple[str, str, int]]:
        return [tuple(row) for row in self.db.all(
            f"SELECT l.agent_id, f.mode, COUNT(*) {_ACTIVE} GROUP BY l.agent_id, f.mode "
            "ORDER BY l.agent_id, f.mode", (now,))]

    def leases_expiring(self, now: int, until: int) -> int:
        return int(self.db.scalar(f"SELECT COUNT(*) {_ACTIVE} AND l.lease_expires_at <= ?", (now, until)))

    def conflicts_since(self, since: int) -> list[tuple[str, str, int]]:
        return [tuple(row) for row in self.db.all(
            "SELECT status, attempted_operation, COUNT(*) FROM reservation_conflicts WHERE created_at >= ? "
            "GROUP BY status, attempted_operation ORDER BY status, attempted_operation", (since,))]

    def events_since(self, kind: str, since: int) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM events WHERE kind = ? AND ts >= ?", (kind, since)))

    def escalations(self, statuses: Sequence[str]) -> list[tuple[int, str, int]]:
        if not statuses:
            return []
        return [tuple(row) for row in self.db.all(
            f"SELECT current_level, status, COUNT(*) FROM escalation_tracking "
            f"WHERE status IN ({','.join('?' * len(statuses))}) GROUP BY current_level, status "
            "ORDER BY current_level, status", tuple(statuses))]

    def escalations_ended_since(self, status: str, since: int) -> int:
        return int(self.db.scalar(
            "SELECT COUNT(*) FROM escalation_tracking WHERE status = ? AND resolved_at >= ?", (status, since)))

    def size_bytes(self) -> int:
        total = 0
        for path in (self.db.path, self.db.path + "-wal"):
            try:
                total += os.stat(path).st_size
            except OSError:  # no log written yet (or a database in memory)
                pass
        return total
