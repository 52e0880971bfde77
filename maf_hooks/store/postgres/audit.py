"""The PostgreSQL audit trail: reads of the repository's ``events`` (and of the tables the report
and the guard summarise), its event counter, and its ``audit_outbox`` rows."""

from __future__ import annotations

import json

from maf_hooks.store.audit import ANCHOR_KIND, AuditTrail

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from maf_hooks.store.audit import ChainRow, Checkpoint
    from maf_hooks.store.postgres import PostgresStore

_STATUS_TABLES = {"conflicts": "reservation_conflicts", "escalations": "escalation_tracking",
                  "preflight": "preflight_executions"}
_BATCH = 5000  # chain rows fetched per query: validation reads the chain in bounded memory


class PostgresAuditTrail(AuditTrail):
    def __init__(self, store: PostgresStore) -> None:
        self.db, self.repo = store.db, store.repository

    def chain_rows(self, first_id: int | None = None) -> Iterator[ChainRow]:
        after = (first_id - 1) if first_id is not None else None
        while True:
            rows = self.db.all(
                "SELECT id, task_id, ts, kind, data_json, agent_id, prev_hash, hash FROM events "
                "WHERE repository = %s AND (%s::bigint IS NULL OR id > %s) ORDER BY id LIMIT %s",
                (self.repo, after, after, _BATCH))
            for row in rows:
                yield tuple(row)
            if len(rows) < _BATCH:
                return
            after = rows[-1][0]

    def chain_row(self, event_id: int) -> ChainRow | None:
        row = self.db.one("SELECT id, task_id, ts, kind, data_json, agent_id, prev_hash, hash FROM events "
                          "WHERE repository = %s AND id = %s", (self.repo, event_id))
        return tuple(row) if row is not None else None

    def count_through(self, event_id: int) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM events WHERE repository = %s AND id <= %s",
                                  (self.repo, event_id)))

    def latest_anchor(self) -> ChainRow | None:
        row = self.db.one("SELECT id, task_id, ts, kind, data_json, agent_id, prev_hash, hash FROM events "
                          "WHERE repository = %s AND kind = %s ORDER BY id DESC LIMIT 1", (self.repo, ANCHOR_KIND))
        return tuple(row) if row is not None else None

    def checkpoint(self) -> Checkpoint | None:
        row = self.db.one("SELECT event_id, hash, count, verified_at FROM audit_checkpoint WHERE repository = %s",
                          (self.repo,))
        return (int(row[0]), row[1], int(row[2]), int(row[3])) if row is not None else None

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.db.execute(
            "INSERT INTO audit_checkpoint (repository, event_id, hash, count, verified_at) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (repository) DO UPDATE SET event_id = EXCLUDED.event_id, hash = EXCLUDED.hash, "
            "count = EXCLUDED.count, verified_at = EXCLUDED.verified_at", (self.repo, *checkpoint))

    def first_id_since(self, ts: int) -> int | None:
        return self.db.scalar("SELECT MIN(id) FROM events WHERE repository = %s AND ts >= %s", (self.repo, ts))

    def highest_issued_id(self) -> int:
        return int(self.db.scalar("SELECT last_event_id FROM maf_counters WHERE repository = %s", (self.repo,)) or 0)

    def activity_since(self, since: int) -> list[tuple[str, str | None, dict[str, Any]]]:
        return [(kind, who, json.loads(data)) for kind, who, data in self.db.all(
            "SELECT kind, agent_id, data_json FROM events WHERE repository = %s AND ts >= %s AND kind IN "
            "('acquire','release','expire','takeover','override') ORDER BY id", (self.repo, since))]

    def status_counts(self, record: str, since: int) -> list[tuple[str | None, str, int]]:
        table = _STATUS_TABLES[record]
        return [(row[0], row[1], int(row[2])) for row in self.db.all(
            f"SELECT agent_id, status, COUNT(*) FROM {table} WHERE repository = %s AND created_at >= %s "
            "GROUP BY agent_id, status", (self.repo, since))]

    def contested_paths(self, since: int, agent: str | None = None, limit: int = 10) -> list[tuple[str, int, int]]:
        if agent is None:
            rows = self.db.all(
                "SELECT file_path, COUNT(*), COUNT(DISTINCT COALESCE(agent_id, '')) FROM reservation_conflicts "
                "WHERE repository = %s AND created_at >= %s GROUP BY file_path ORDER BY COUNT(*) DESC, file_path "
                "LIMIT %s", (self.repo, since, limit))
        else:
            rows = self.db.all(
                "SELECT file_path, COUNT(*), 1 FROM reservation_conflicts WHERE repository = %s AND created_at >= %s "
                "AND agent_id = %s GROUP BY file_path ORDER BY COUNT(*) DESC, file_path LIMIT %s",
                (self.repo, since, agent, limit))
        return [(row[0], int(row[1]), int(row[2])) for row in rows]

    def stale_lease_holders(self, now: int, heartbeat_before: int) -> list[tuple[str, int, int | None]]:
        return [(row[0], int(row[1]), row[2]) for row in self.db.all(
            """SELECT l.agent_id, COUNT(*), a.last_heartbeat FROM leases l
               LEFT JOIN agents a ON a.repository = l.repository AND a.id = l.agent_id
               WHERE l.repository = %s AND l.ended_at IS NULL AND l.state = 'LEASED' AND l.expires_at > %s
               AND COALESCE(a.last_heartbeat, 0) < %s
               GROUP BY l.agent_id, a.last_heartbeat ORDER BY l.agent_id""", (self.repo, now, heartbeat_before))]

    def overrides(self) -> list[tuple[int, str | None, dict[str, Any]]]:
        return [(event_id, who, json.loads(data)) for event_id, who, data in self.db.all(
            "SELECT id, agent_id, data_json FROM events WHERE repository = %s AND kind = 'override' ORDER BY id",
            (self.repo,))]

    def due(self, now: int, limit: int = 500) -> list[tuple[int, str, int]]:
        return [tuple(row) for row in self.db.all(
            "SELECT id, payload_json, attempts FROM audit_outbox WHERE repository = %s AND delivered_at IS NULL "
            "AND next_attempt_at <= %s ORDER BY id LIMIT %s", (self.repo, now, limit))]

    def sent(self, row_id: int, attempts: int, now: int) -> None:
        self.db.execute("UPDATE audit_outbox SET delivered_at = %s, attempts = %s WHERE repository = %s AND id = %s",
                        (now, attempts, self.repo, row_id))

    def retry_later(self, row_id: int, attempts: int, error: str, next_attempt_at: int) -> None:
        self.db.execute("UPDATE audit_outbox SET attempts = %s, last_error = %s, next_attempt_at = %s "
                        "WHERE repository = %s AND id = %s", (attempts, error, next_attempt_at, self.repo, row_id))

    def pending(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM audit_outbox WHERE repository = %s AND delivered_at IS NULL",
                                  (self.repo,)))
