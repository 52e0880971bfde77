"""The PostgreSQL escalation records: the repository's ``escalation_paths``,
``escalation_tracking`` and ``escalation_deliveries`` rows, and the rows the triggers count.

Ticks of several machines never advance an escalation twice: each runs in a write section (the
repository's advisory lock), each advance is conditional on the level it read, and deliveries
are claimed with ``FOR UPDATE SKIP LOCKED``, so a claim never waits for or repeats another's.
"""

from __future__ import annotations

import json

from maf_hooks.store.escalations import (
    TRACKING_COLUMNS,
    Delivery,
    DeliveryOutbox,
    EscalationRecords,
    tracking_record,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from maf_hooks.store.postgres import PostgresStore

_SELECT = f"SELECT {', '.join(TRACKING_COLUMNS)} FROM escalation_tracking WHERE repository = %s"
_ADVANCING = "status IN ('pending','escalated')"


class PostgresEscalations(EscalationRecords):
    def __init__(self, store: PostgresStore) -> None:
        self.db, self.repo = store.db, store.repository

    def sync_paths(self, paths: Sequence[dict[str, Any]], now: int) -> None:
        for path in paths:
            steps = sorted(path["steps"], key=lambda step: step["level"])
            self.db.execute(
                "INSERT INTO escalation_paths (repository, id, name, description, trigger_conditions, escalation_steps, "
                "timeout_minutes, max_escalation_level, is_active, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (repository, id) DO UPDATE SET "
                "name = excluded.name, description = excluded.description, "
                "trigger_conditions = excluded.trigger_conditions, escalation_steps = excluded.escalation_steps, "
                "timeout_minutes = excluded.timeout_minutes, max_escalation_level = excluded.max_escalation_level, "
                "is_active = excluded.is_active, updated_at = excluded.updated_at",
                (self.repo, path["id"], path["name"], path.get("description") or "",
                 json.dumps(path["trigger_conditions"]), json.dumps(steps), path["timeout_minutes"],
                 path.get("max_escalation_level") or len(steps), 1 if path.get("active", True) else 0, now, now))
        self.db.execute("UPDATE escalation_paths SET is_active = 0, updated_at = %s WHERE repository = %s "
                        "AND NOT (id = ANY(%s))", (now, self.repo, [path["id"] for path in paths]))

    def insert(self, record: dict[str, Any], now: int) -> bool:
        # the partial unique index keeps one open escalation per (path, agent, condition)
        return self.db.one(
            "INSERT INTO escalation_tracking (repository, escalation_id, path_id, agent_id, execution_id, "
            "current_level, status, context_json, reason, target, priority, created_at, updated_at, condition, "
            "bead_id, level_started_at) VALUES (%s, %s, %s, %s, %s, 1, 'pending', %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (self.repo, record["escalation_id"], record["path_id"], record["agent_id"], record["execution_id"],
             json.dumps(record["context"], sort_keys=True), record["reason"], record["target"], record["priority"],
             now, now, record["condition"], record["bead_id"], now)) is not None

    def get(self, escalation_id: str) -> dict[str, Any] | None:
        row = self.db.one(_SELECT + " AND escalation_id = %s", (self.repo, escalation_id))
        return tracking_record(row) if row else None

    def listing(self, statuses: Sequence[str] = ()) -> list[dict[str, Any]]:
        if statuses:
            rows = self.db.all(_SELECT + " AND status = ANY(%s) ORDER BY created_at, escalation_id",
                               (self.repo, list(statuses)))
        else:
            rows = self.db.all(_SELECT + " ORDER BY created_at, escalation_id", (self.repo,))
        return [tracking_record(row) for row in rows]

    def advance(self, escalation_id: str, level: int, target: str, now: int) -> bool:
        return self.db.execute(
            "UPDATE escalation_tracking SET current_level = %s, status = 'escalated', target = %s, "
            "level_started_at = %s, updated_at = %s WHERE repository = %s AND escalation_id = %s "
            f"AND current_level = %s AND {_ADVANCING}",
            (level + 1, target, now, now, self.repo, escalation_id, level)).rowcount == 1

    def time_out(self, escalation_id: str, level: int, now: int) -> bool:
        return self.db.execute(
            "UPDATE escalation_tracking SET status = 'timeout', updated_at = %s, resolved_at = %s "
            f"WHERE repository = %s AND escalation_id = %s AND current_level = %s AND {_ADVANCING}",
            (now, now, self.repo, escalation_id, level)).rowcount == 1

    def answer(self, escalation_id: str, status: str, note: str, now: int) -> None:
        stamp = "acknowledged_at" if status == "acknowledged" else "resolved_at"
        self.db.execute(
            f"UPDATE escalation_tracking SET status = %s, {stamp} = %s, note = %s, updated_at = %s "
            "WHERE repository = %s AND escalation_id = %s", (status, now, note, now, self.repo, escalation_id))

    def set_delivery(self, escalation_id: str, status: str, error: str | None, now: int) -> None:
        self.db.execute(
            "UPDATE escalation_tracking SET delivery_status = %s, delivery_error = %s, updated_at = %s "
            "WHERE repository = %s AND escalation_id = %s", (status, error, now, self.repo, escalation_id))

    def open_past_path_timeout(self, now: int) -> list[tuple[str, str, int]]:
        return [tuple(row) for row in self.db.all(
            """SELECT t.escalation_id, t.path_id, t.current_level FROM escalation_tracking t
               JOIN escalation_paths p ON p.repository = t.repository AND p.id = t.path_id
               WHERE t.repository = %s AND t.status IN ('pending','escalated')
               AND t.created_at + p.timeout_minutes * 60000 <= %s
               ORDER BY t.created_at, t.escalation_id""", (self.repo, now))]

    def conflict_times(self, agent: str | None, since: int) -> list[int]:
        return [row[0] for row in self.db.all(
            "SELECT created_at FROM reservation_conflicts WHERE repository = %s "
            "AND agent_id IS NOT DISTINCT FROM %s AND created_at > %s", (self.repo, agent, since))]

    def event_times(self, kind: str, agent: str | None, since: int) -> list[int]:
        return [row[0] for row in self.db.all(
            "SELECT ts FROM events WHERE repository = %s AND kind = %s AND agent_id IS NOT DISTINCT FROM %s "
            "AND ts > %s", (self.repo, kind, agent, since))]

    def failed_preflight_count(self, agent: str | None, since: int) -> int:
        return int(self.db.scalar(
            "SELECT COUNT(*) FROM preflight_executions WHERE repository = %s AND agent_id IS NOT DISTINCT FROM %s "
            "AND status = 'failed' AND created_at > %s", (self.repo, agent, since)))


class PostgresDeliveries(DeliveryOutbox):
    def __init__(self, store: PostgresStore) -> None:
        self.db, self.repo = store.db, store.repository

    def queue(self, escalation_id: str, level: int, target: str, channel: str, maf_type: str,
              payload: dict[str, Any], now: int) -> None:
        self.db.execute(
            "INSERT INTO escalation_deliveries (repository, escalation_id, level, target, channel, maf_type, "
            "payload_json, status, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s)",
            (self.repo, escalation_id, level, target, channel, maf_type, json.dumps(payload, sort_keys=True), now, now))

    def claim(self, now: int, stale_before: int, escalation_id: str | None = None,
              channels: Sequence[str] = ()) -> list[Delivery]:
        rows = self.db.all(
            "UPDATE escalation_deliveries SET status = 'sending', claimed_at = %s WHERE id IN ("
            "SELECT id FROM escalation_deliveries WHERE repository = %s "
            "AND (status IN ('pending','failed') OR (status = 'sending' AND claimed_at < %s)) "
            "AND (%s::text IS NULL OR escalation_id = %s) AND (%s OR channel = ANY(%s)) "
            "FOR UPDATE SKIP LOCKED) "
            "RETURNING id, escalation_id, level, target, channel, maf_type, payload_json, attempts",
            (now, self.repo, stale_before, escalation_id or None, escalation_id or None, not channels, list(channels)))
        rows.sort(key=lambda row: row[0])
        return [Delivery(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), row[7]) for row in rows]

    def finish(self, delivery_id: int, status: str, attempts: int, error: str | None, now: int) -> None:
        self.db.execute(
            "UPDATE escalation_deliveries SET status = %s, attempts = %s, last_error = %s, updated_at = %s "
            "WHERE repository = %s AND id = %s", (status, attempts, error, now, self.repo, delivery_id))

    def state(self, escalation_id: str) -> tuple[tuple[str, str, str] | None, int]:
        failed = self.db.one(
            "SELECT channel, target, last_error FROM escalation_deliveries WHERE repository = %s AND escalation_id = %s "
            "AND status = 'failed' ORDER BY id DESC LIMIT 1", (self.repo, escalation_id))
        waiting = self.db.scalar(
            "SELECT COUNT(*) FROM escalation_deliveries WHERE repository = %s AND escalation_id = %s "
            "AND status IN ('pending','sending')", (self.repo, escalation_id))
        return (tuple(failed) if failed else None), int(waiting)

    def requested_targets(self, escalation_id: str) -> list[str]:
        return [row[0] for row in self.db.all(
            "SELECT target FROM escalation_deliveries WHERE repository = %s AND escalation_id = %s "
            "AND maf_type = 'ESCALATION_REQUEST' GROUP BY target ORDER BY MIN(level), MIN(id)",
            (self.repo, escalation_id))]

    def for_escalation(self, escalation_id: str) -> list[dict[str, Any]]:
        keys = ("level", "target", "channel", "type", "status", "attempts", "error")
        return [dict(zip(keys, row)) for row in self.db.all(
            "SELECT level, target, channel, maf_type, status, attempts, last_error FROM escalation_deliveries "
            "WHERE repository = %s AND escalation_id = %s ORDER BY id", (self.repo, escalation_id))]
