"""The SQLite audit trail: reads of ``events`` (and of the tables the report and the guard
summarise), SQLite's AUTOINCREMENT counter, and the ``audit_outbox`` rows (migration 5)."""

from __future__ import annotations

import json

from maf_hooks.store.audit import ANCHOR_KIND, AuditTrail

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from maf_hooks.store.audit import ChainRow, Checkpoint
    from maf_hooks.store.sqlite import SqliteStore

_STATUS_TABLES = {"conflicts": "reservation_conflicts", "escalations": "escalation_tracking",
                  "preflight": "preflight_executions"}


class SqliteAuditTrail(AuditTrail):
    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db

    def chain_rows(self, first_id: int | None = None) -> Iterator[ChainRow]:
        sql = "SELECT id, task_id, ts, kind, data_json, agent_id, prev_hash, hash FROM events"
        if first_id is None:
            return iter(self.db.execute(sql + " ORDER BY id"))
        return iter(self.db.execute(sql + " WHERE id >= ? ORDER BY id", (first_id,)))

    def chain_row(self, event_id: int) -> ChainRow | None:
        row = self.db.one("SELECT id, task_id, ts, kind, data_json, agent_id, prev_hash, hash FROM events "
                          "WHERE id = ?", (event_id,))
        return tuple(row) if row is not None else None

    def count_through(self, event_id: int) -> int:
        # every row less those above: SQLite counts a whole table from its smallest index, and
        # the rows above a checkpoint are few
        total = self.db.scalar("SELECT COUNT(*) FROM events")
        return int(total) - int(self.db.scalar("SELECT COUNT(*) FROM events WHERE id > ?", (event_id,)))

    def latest_anchor(self) -> ChainRow | None:
        row = self.db.one("SELECT id, task_id, ts, kind, data_json, agent_id, prev_hash, hash FROM events "
                          "WHERE kind = ? ORDER BY id DESC LIMIT 1", (ANCHOR_KIND,))
        return tuple(row) if row is not None else None

    def checkpoint(self) -> Checkpoint | None:
        row = self.db.one("SELECT event_id, hash, count, verified_at FROM audit_checkpoint WHERE id = 1")
        return tuple(row) if row is not None else None

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.db.execute("INSERT OR REPLACE INTO audit_checkpoint (id, event_id, hash, count, verified_at) "
                        "VALUES (1, ?, ?, ?, ?)", tuple(checkpoint))

    def first_id_since(self, ts: int) -> int | None:
        return self.db.scalar("SELECT MIN(id) FROM events WHERE ts >= ?", (ts,))

    def highest_issued_id(self) -> int:
        return int(self.db.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'") or 0)

    def activity_since(self, since: int) -> list[tuple[str, str | None, dict[str, Any]]]:
        return [(kind, who, json.loads(data)) for kind, who, data in self.db.all(
            "SELECT kind, agent_id, data_json FROM events WHERE ts >= ? AND kind IN "
            "('acquire','release','expire','takeover','override') ORDER BY id", (since,))]

    def status_counts(self, record: str, since: int) -> list[tuple[str | None, str, int]]:
        table = _STATUS_TABLES[record]
        return [tuple(row) for row in self.db.all(
            f"SELECT agent_id, status, COUNT(*) FROM {table} WHERE created_at >= ? GROUP BY agent_id, status",
            (since,))]

    def contested_paths(self, since: int, agent: str | None = None, limit: int = 10) -> list[tuple[str, int, int]]:
        if agent is None:
            rows = self.db.all(
                "SELECT file_path, COUNT(*), COUNT(DISTINCT COALESCE(agent_id, '')) FROM reservation_conflicts "
                "WHERE created_at >= ? GROUP BY file_path ORDER BY COUNT(*) DESC, file_path LIMIT ?", (since, limit))
        else:
            rows = self.db.all(
                "SELECT file_path, COUNT(*), 1 FROM reservation_conflicts WHERE created_at >= ? AND agent_id = ? "
                "GROUP BY file_path ORDER BY COUNT(*) DESC, file_path LIMIT ?", (since, agent, limit))
        return [tuple(row) for row in rows]

    def stale_lease_holders(self, now: int, heartbeat_before: int) -> list[tuple[str, int, int | None]]:
        return [tuple(row) for row in self.db.all(
            """SELECT l.agent_id, COUNT(*), a.last_heartbeat FROM tasks t JOIN leases l ON l.task_id = t.id
               LEFT JOIN agents a ON a.id = l.agent_id
               WHERE t.state = 'LEASED' AND l.lease_expires_at > ? AND COALESCE(a.last_heartbeat, 0) < ?
               GROUP BY l.agent_id, a.last_heartbeat ORDER BY l.agent_id""", (now, heartbeat_before))]

    def overrides(self) -> list[tuple[int, str | None, dict[str, Any]]]:
        return [(event_id, who, json.loads(data)) for event_id, who, data in self.db.all(
            "SELECT id, agent_id, data_json FROM events WHERE kind = 'override' ORDER BY id")]

    def due(self, now: int, limit: int = 500) -> list[tuple[int, str, int]]:
        return [tuple(row) for row in self.db.all(
            "SELECT id, payload_json, attempts FROM audit_outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? "
            "ORDER BY id LIMIT ?", (now, limit))]

    def sent(self, row_id: int, attempts: int, now: int) -> None:
        self.db.execute("UPDATE audit_outbox SET delivered_at = ?, attempts = ? WHERE id = ?", (now, attempts, row_id))

    def retry_later(self, row_id: int, attempts: int, error: str, next_attempt_at: int) -> None:
        self.db.execute("UPDATE audit_outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                        (attempts, error, next_attempt_at, row_id))

    def pending(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM audit_outbox WHERE delivered_at IS NULL"))
