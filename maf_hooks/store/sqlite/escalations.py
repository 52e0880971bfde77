"""The SQLite escalation records: ``escalation_paths``, ``escalation_tracking`` and the outbox
``escalation_deliveries`` (migration 4), and the rows the triggers count."""

from __future__ import annotations

import json

from maf_hooks.errors import StorageError
from maf_hooks.store.escalations import TRACKING_COLUMNS, Delivery, DeliveryOutbox, EscalationRecords, tracking_record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from maf_hooks.store.sqlite import SqliteStore

_SELECT = f"SELECT {', '.join(TRACKING_COLUMNS)} FROM escalation_tracking"
_ADVANCING = "status IN ('pending','escalated')"


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


class SqliteEscalations(EscalationRecords):
    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db

    def sync_paths(self, paths: Sequence[dict[str, Any]], now: int) -> None:
        for path in paths:
            steps = sorted(path["steps"], key=lambda step: step["level"])
            self.db.execute(
                "INSERT INTO escalation_paths (id, name, description, trigger_conditions, escalation_steps, "
                "timeout_minutes, max_escalation_level, is_active, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                "description = excluded.description, trigger_conditions = excluded.trigger_conditions, "
                "escalation_steps = excluded.escalation_steps, timeout_minutes = excluded.timeout_minutes, "
                "max_escalation_level = excluded.max_escalation_level, is_active = excluded.is_active, "
                "updated_at = excluded.updated_at",
                (path["id"], path["name"], path.get("description") or "", json.dumps(path["trigger_conditions"]),
                 json.dumps(steps), path["timeout_minutes"], path.get("max_escalation_level") or len(steps),
                 1 if path.get("active", True) else 0, now, now),
            )
        ids = [path["id"] for path in paths]
        self.db.execute(f"UPDATE escalation_paths SET is_active = 0, updated_at = ? WHERE id NOT IN ({_marks(ids)})",
                        (now, *ids))

    def insert(self, record: dict[str, Any], now: int) -> bool:
        if record["condition"] != "manual" and self.db.one(
            "SELECT 1 FROM escalation_tracking WHERE path_id = ? AND agent_id = ? AND condition = ? "
            "AND status IN ('pending','escalated','acknowledged')",
            (record["path_id"], record["agent_id"], record["condition"]),
        ):
            return False
        try:
            self.db.execute(
                "INSERT INTO escalation_tracking (id, escalation_id, path_id, agent_id, execution_id, current_level, "
                "status, context_json, reason, target, priority, created_at, updated_at, condition, bead_id, "
                "level_started_at) VALUES (?, ?, ?, ?, ?, 1, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record["escalation_id"], record["escalation_id"], record["path_id"], record["agent_id"],
                 record["execution_id"], json.dumps(record["context"], sort_keys=True), record["reason"],
                 record["target"], record["priority"], now, now, record["condition"], record["bead_id"], now),
            )
        except StorageError as exc:  # the unique index: an open one already exists
            if "UNIQUE" in str(exc):
                return False
            raise
        return True

    def get(self, escalation_id: str) -> dict[str, Any] | None:
        row = self.db.one(_SELECT + " WHERE escalation_id = ?", (escalation_id,))
        return tracking_record(row) if row else None

    def listing(self, statuses: Sequence[str] = ()) -> list[dict[str, Any]]:
        where = f" WHERE status IN ({_marks(statuses)})" if statuses else ""
        return [tracking_record(row) for row in self.db.all(_SELECT + where + " ORDER BY created_at, escalation_id",
                                                    tuple(statuses))]

    def advance(self, escalation_id: str, level: int, target: str, now: int) -> bool:
        return self.db.execute(
            "UPDATE escalation_tracking SET current_level = ?, status = 'escalated', target = ?, "
            f"level_started_at = ?, updated_at = ? WHERE escalation_id = ? AND current_level = ? AND {_ADVANCING}",
            (level + 1, target, now, now, escalation_id, level),
        ).rowcount == 1

    def time_out(self, escalation_id: str, level: int, now: int) -> bool:
        return self.db.execute(
            "UPDATE escalation_tracking SET status = 'timeout', updated_at = ?, resolved_at = ? "
            f"WHERE escalation_id = ? AND current_level = ? AND {_ADVANCING}",
            (now, now, escalation_id, level),
        ).rowcount == 1

    def answer(self, escalation_id: str, status: str, note: str, now: int) -> None:
        stamp = "acknowledged_at" if status == "acknowledged" else "resolved_at"
        self.db.execute(
            f"UPDATE escalation_tracking SET status = ?, {stamp} = ?, note = ?, updated_at = ? WHERE escalation_id = ?",
            (status, now, note, now, escalation_id),
        )

    def set_delivery(self, escalation_id: str, status: str, error: str | None, now: int) -> None:
        self.db.execute(
            "UPDATE escalation_tracking SET delivery_status = ?, delivery_error = ?, updated_at = ? "
            "WHERE escalation_id = ?", (status, error, now, escalation_id),
        )

    def open_past_path_timeout(self, now: int) -> list[tuple[str, str, int]]:
        return [tuple(row) for row in self.db.all(
            """SELECT t.escalation_id, t.path_id, t.current_level FROM escalation_tracking t
               JOIN escalation_paths p ON p.id = t.path_id
               WHERE t.status IN ('pending','escalated') AND t.created_at + p.timeout_minutes * 60000 <= ?
               ORDER BY t.created_at, t.escalation_id""", (now,))]

    def conflict_times(self, agent: str | None, since: int) -> list[int]:
        return [row[0] for row in self.db.all(
            "SELECT created_at FROM reservation_conflicts WHERE agent_id IS ? AND created_at > ?", (agent, since))]

    def event_times(self, kind: str, agent: str | None, since: int) -> list[int]:
        return [row[0] for row in self.db.all(
            "SELECT ts FROM events WHERE kind = ? AND agent_id IS ? AND ts > ?", (kind, agent, since))]

    def failed_preflight_count(self, agent: str | None, since: int) -> int:
        return int(self.db.scalar(
            "SELECT COUNT(*) FROM preflight_executions WHERE agent_id IS ? AND status = 'failed' AND created_at > ?",
            (agent, since)))


class SqliteDeliveries(DeliveryOutbox):
    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db

    def queue(self, escalation_id: str, level: int, target: str, channel: str, maf_type: str,
              payload: dict[str, Any], now: int) -> None:
        self.db.execute(
            "INSERT INTO escalation_deliveries (escalation_id, level, target, channel, maf_type, payload_json, "
            "status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (escalation_id, level, target, channel, maf_type, json.dumps(payload, sort_keys=True), now, now),
        )

    def claim(self, now: int, stale_before: int, escalation_id: str | None = None,
              channels: Sequence[str] = ()) -> list[Delivery]:
        sql = ("SELECT id, escalation_id, level, target, channel, maf_type, payload_json, attempts "
               "FROM escalation_deliveries "
               "WHERE (status IN ('pending','failed') OR (status = 'sending' AND claimed_at < ?))")
        args: list[Any] = [stale_before]
        if escalation_id:
            sql += " AND escalation_id = ?"
            args.append(escalation_id)
        if channels:
            sql += f" AND channel IN ({_marks(channels)})"
            args.extend(channels)
        rows = self.db.all(sql + " ORDER BY id", args)
        self.db.executemany("UPDATE escalation_deliveries SET status = 'sending', claimed_at = ? WHERE id = ?",
                            [(now, row[0]) for row in rows])
        return [Delivery(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), row[7]) for row in rows]

    def finish(self, delivery_id: int, status: str, attempts: int, error: str | None, now: int) -> None:
        self.db.execute(
            "UPDATE escalation_deliveries SET status = ?, attempts = ?, last_error = ?, updated_at = ? WHERE id = ?",
            (status, attempts, error, now, delivery_id),
        )

    def state(self, escalation_id: str) -> tuple[tuple[str, str, str] | None, int]:
        failed = self.db.one(
            "SELECT channel, target, last_error FROM escalation_deliveries WHERE escalation_id = ? "
            "AND status = 'failed' ORDER BY id DESC LIMIT 1", (escalation_id,))
        waiting = self.db.scalar(
            "SELECT COUNT(*) FROM escalation_deliveries WHERE escalation_id = ? AND status IN ('pending','sending')",
            (escalation_id,))
        return (tuple(failed) if failed else None), int(waiting)

    def requested_targets(self, escalation_id: str) -> list[str]:
        return [row[0] for row in self.db.all(
            "SELECT target FROM escalation_deliveries WHERE escalation_id = ? AND maf_type = 'ESCALATION_REQUEST' "
            "GROUP BY target ORDER BY MIN(level)", (escalation_id,))]

    def for_escalation(self, escalation_id: str) -> list[dict[str, Any]]:
        keys = ("level", "target", "channel", "type", "status", "attempts", "error")
        return [dict(zip(keys, row)) for row in self.db.all(
            "SELECT level, target, channel, maf_type, status, attempts, last_error "
            "FROM escalation_deliveries WHERE escalation_id = ? ORDER BY id", (escalation_id,))]
