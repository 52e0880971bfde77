"""Escalations: paths and targets from the configuration, triggers, the level-by-level lifecycle.

An escalation opens when a trigger's count for an agent within its window meets its threshold
(or by hand, ``maf escalate``), sends an ``ESCALATION_REQUEST`` to its level-1 target, and moves a
level up whenever a step's ``timeout_minutes`` pass unacknowledged (``tick``). Every change is a
conditional update inside ``BEGIN IMMEDIATE``, so several tickers never advance one twice.
Times are passed in (``now``, epoch ms) so tests drive the clock.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from typing import Optional

from maf_hooks.errors import UsageError
from maf_hooks.identity import is_valid_agent_id
from maf_hooks.store.sqlite import events
from maf_hooks.store.sqlite.connection import immediate
from maf_hooks.store.sqlite.migrations import SYSTEM_TASK

OPEN = ("pending", "escalated", "acknowledged")
ADVANCING = ("pending", "escalated")
PRIORITIES = ("low", "medium", "high", "critical")
MANUAL = "manual"

_COLUMNS = ("escalation_id, path_id, agent_id, execution_id, current_level, status, context_json, reason, target, "
            "priority, created_at, updated_at, resolved_at, condition, bead_id, level_started_at, acknowledged_at, "
            "note, delivery_status, delivery_error")

# Each counts attempts, not rows: one refused commit touching three leased paths writes three
# conflict rows (and one overridden lease per holder an override event) with the same time.
_COUNTS = {
    "reservation_conflict": "SELECT COUNT(DISTINCT created_at) FROM reservation_conflicts "
                            "WHERE agent_id IS ? AND created_at > ?",
    "override_used": "SELECT COUNT(DISTINCT ts) FROM events WHERE kind = 'override' AND agent_id IS ? AND ts > ?",
    "lease_takeover": "SELECT COUNT(DISTINCT ts) FROM events WHERE kind = 'takeover' AND agent_id IS ? AND ts > ?",
    "preflight_failure": "SELECT COUNT(*) FROM preflight_executions WHERE agent_id IS ? AND status = 'failed' "
                         "AND created_at > ?",
}


def row_dict(row) -> dict:
    record = dict(zip([c.strip() for c in _COLUMNS.split(",")], row))
    record["context"] = json.loads(record.pop("context_json") or "{}")
    return record


# --- configuration -----------------------------------------------------------------------

def paths(cfg) -> dict:
    return {path["id"]: path for path in cfg.get("escalation.paths") or []}


def check_target(cfg, target: str) -> str:
    """A configured target, or (with none configured) any valid agent id; else exit 2."""
    configured = cfg.get("escalation.targets") or {}
    if configured:
        if target not in configured:
            raise UsageError(f"Unknown escalation target {target!r}: the configured targets are "
                             f"{', '.join(sorted(configured))}.")
        return target
    if not is_valid_agent_id(target):
        raise UsageError(f"Invalid escalation target {target!r}: with no [escalation.targets] configured, "
                         "a target is an agent id (letters, digits and '._@+-').")
    return target


def sync_paths(conn: sqlite3.Connection, cfg, now: int) -> None:
    """Mirror the configured paths into ``escalation_paths`` (a path no longer configured is inactive)."""
    configured = paths(cfg)
    with immediate(conn):
        for path in configured.values():
            steps = sorted(path["steps"], key=lambda step: step["level"])
            conn.execute(
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
        marks = ",".join("?" * len(configured))
        conn.execute(f"UPDATE escalation_paths SET is_active = 0, updated_at = ? WHERE id NOT IN ({marks})",
                     (now, *configured))


# --- opening -------------------------------------------------------------------------------

def _payload(record: dict, level: int, target: str) -> dict:
    return {
        "type": "ESCALATION_REQUEST",
        "agentId": record["agent_id"],
        "executionId": record["execution_id"],
        "escalationId": record["escalation_id"],
        "pathId": record["path_id"],
        "level": level,
        "context": record["context"],
        "reason": record["reason"],
        "target": target,
        "priority": record["priority"],
    }


def new_record(*, path_id: str, agent: str, condition: str, reason: str, context: dict, priority: str,
               target: str, now: int, bead_id: str | None = None, execution_id: str | None = None) -> dict:
    return {
        "escalation_id": "esc-" + secrets.token_hex(6),
        "path_id": path_id,
        "agent_id": agent,
        "execution_id": execution_id or "exec-" + secrets.token_hex(6),
        "current_level": 1,
        "status": "pending",
        "context": context,
        "reason": reason,
        "target": target,
        "priority": priority,
        "created_at": now,
        "condition": condition,
        "bead_id": bead_id,
    }


def request_payload(record: dict) -> dict:
    """The ``ESCALATION_REQUEST`` JSON a level-1 target receives (also what ``--dry-run`` shows)."""
    return _payload(record, 1, record["target"])


def insert(conn, cfg, record: dict, now: int) -> bool:
    """Store an escalation and queue its level-1 request; False when the same (path, agent,
    condition) already has an open one. Call inside a transaction."""
    try:
        conn.execute(
            "INSERT INTO escalation_tracking (id, escalation_id, path_id, agent_id, execution_id, current_level, "
            "status, context_json, reason, target, priority, created_at, updated_at, condition, bead_id, "
            "level_started_at) VALUES (?, ?, ?, ?, ?, 1, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record["escalation_id"], record["escalation_id"], record["path_id"], record["agent_id"],
             record["execution_id"], json.dumps(record["context"], sort_keys=True), record["reason"],
             record["target"], record["priority"], now, now, record["condition"], record["bead_id"], now),
        )
    except sqlite3.IntegrityError:
        return False
    from maf_hooks import delivery  # noqa: PLC0415

    queued = delivery.queue(conn, cfg, record["escalation_id"], 1, record["target"], "ESCALATION_REQUEST",
                            request_payload(record), now)
    if not queued:
        conn.execute("UPDATE escalation_tracking SET delivery_status = 'failed', delivery_error = ? "
                     "WHERE escalation_id = ?", (f"target {record['target']} is disabled (enabled = false)",
                                                 record["escalation_id"]))
    events.append(conn, SYSTEM_TASK, "escalation_open", record["agent_id"], {
        "escalation_id": record["escalation_id"], "path_id": record["path_id"], "condition": record["condition"],
        "target": record["target"], "priority": record["priority"], "reason": record["reason"],
    }, now)
    return True


def open_manual(conn, cfg, record: dict, now: int) -> None:
    with immediate(conn):
        insert(conn, cfg, record, now)


def on_condition(conn, cfg, agent: str | None, condition: str, now: int, context: dict | None = None) -> list[str]:
    """Open an escalation on every active path whose trigger for ``condition`` is now met."""
    configured = [p for p in paths(cfg).values() if p.get("active", True)]
    if not configured:
        return []
    who = agent or "unknown"
    opened = []
    with immediate(conn):
        for path in configured:
            for trigger in path["trigger_conditions"]:
                if trigger["condition"] != condition:
                    continue
                since = now - trigger["window_minutes"] * 60_000
                count = conn.execute(_COUNTS[condition], (agent, since)).fetchone()[0]
                threshold, operator = trigger["threshold"], trigger["operator"]
                met = {"gte": count >= threshold, "gt": count > threshold, "eq": count == threshold}[operator]
                if not met:
                    continue
                steps = sorted(path["steps"], key=lambda step: step["level"])
                record = new_record(
                    path_id=path["id"], agent=who, condition=condition,
                    reason=f"{condition}: {count} in the last {trigger['window_minutes']} minutes "
                           f"({operator} {threshold}) for {who}",
                    context=dict(context or {}, condition=condition, count=count,
                                 window_minutes=trigger["window_minutes"], threshold=threshold),
                    priority=cfg.get("escalation.default_priority") or "medium",
                    target=steps[0]["target"], now=now,
                )
                if insert(conn, cfg, record, now):
                    opened.append(record["escalation_id"])
                break  # one escalation per path and condition
    return opened


# --- the lifecycle ---------------------------------------------------------------------------

def get(conn, escalation_id: str) -> Optional[dict]:
    row = conn.execute(f"SELECT {_COLUMNS} FROM escalation_tracking WHERE escalation_id = ?",
                       (escalation_id,)).fetchone()
    return row_dict(row) if row else None


def listing(conn, status: str | None = None) -> list[dict]:
    sql = f"SELECT {_COLUMNS} FROM escalation_tracking"
    args: tuple = ()
    if status:
        sql += " WHERE status = ?"
        args = (status,)
    return [row_dict(row) for row in conn.execute(sql + " ORDER BY created_at, escalation_id", args)]


def _targets_so_far(conn, escalation_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT target FROM escalation_deliveries WHERE escalation_id = ? AND maf_type = 'ESCALATION_REQUEST' "
        "GROUP BY target ORDER BY MIN(level)", (escalation_id,)
    ).fetchall()
    return [row[0] for row in rows]


def _advance(conn, cfg, record: dict, path: dict, now: int) -> Optional[str]:
    """What should happen to one open escalation now: None, 'escalated' or 'timeout'."""
    steps = sorted(path["steps"], key=lambda step: step["level"])
    maximum = min(path.get("max_escalation_level") or len(steps), len(steps))
    if now - record["created_at"] >= path["timeout_minutes"] * 60_000:
        return "timeout"
    level = record["current_level"]
    step = steps[level - 1] if level <= len(steps) else None
    if step is None or now - record["level_started_at"] < step["timeout_minutes"] * 60_000:
        return None
    return "escalated" if level + 1 <= maximum else "timeout"


def tick(conn, cfg, now: int) -> list[dict]:
    """Advance every unacknowledged escalation whose step timed out; return what changed."""
    configured = paths(cfg)
    changes = []
    candidates = [row_dict(row) for row in conn.execute(
        f"SELECT {_COLUMNS} FROM escalation_tracking WHERE status IN ('pending','escalated')")]
    for seen in candidates:
        path = configured.get(seen["path_id"])
        if path is None:
            continue  # hand-made escalations without a path, or a path no longer configured
        with immediate(conn):
            record = get(conn, seen["escalation_id"])
            if record is None or record["status"] not in ADVANCING or record["current_level"] != seen["current_level"]:
                continue  # another ticker got here first
            outcome = _advance(conn, cfg, record, path, now)
            if outcome is None:
                continue
            level = record["current_level"]
            if outcome == "escalated":
                steps = sorted(path["steps"], key=lambda step: step["level"])
                target = steps[level]["target"]
                updated = conn.execute(
                    "UPDATE escalation_tracking SET current_level = ?, status = 'escalated', target = ?, "
                    "level_started_at = ?, updated_at = ? WHERE escalation_id = ? AND current_level = ? "
                    "AND status IN ('pending','escalated')",
                    (level + 1, target, now, now, record["escalation_id"], level),
                ).rowcount
                if updated != 1:
                    continue
                from maf_hooks import delivery  # noqa: PLC0415

                delivery.queue(conn, cfg, record["escalation_id"], level + 1, target, "ESCALATION_REQUEST",
                               _payload(record, level + 1, target), now)
                changes.append({"escalation_id": record["escalation_id"], "status": "escalated",
                                "level": level + 1, "target": target})
            else:
                updated = conn.execute(
                    "UPDATE escalation_tracking SET status = 'timeout', updated_at = ?, resolved_at = ? "
                    "WHERE escalation_id = ? AND current_level = ? AND status IN ('pending','escalated')",
                    (now, now, record["escalation_id"], level),
                ).rowcount
                if updated != 1:
                    continue
                from maf_hooks import delivery  # noqa: PLC0415

                told = _targets_so_far(conn, record["escalation_id"])
                for target in told:
                    payload = dict(_payload(record, level, target), type="ESCALATION_TIMEOUT", status="timeout")
                    delivery.queue(conn, cfg, record["escalation_id"], level, target, "ESCALATION_TIMEOUT", payload, now)
                changes.append({"escalation_id": record["escalation_id"], "status": "timeout", "level": level,
                                "told": told})
            events.append(conn, SYSTEM_TASK, f"escalation_{outcome}", record["agent_id"], {
                "escalation_id": record["escalation_id"], "level": changes[-1]["level"],
            }, now)
    return changes


def respond(conn, cfg, escalation_id: str, status: str, responder: str | None, note: str, now: int) -> dict:
    """Acknowledge or resolve; the agent that caused the escalation gets an ``ESCALATION_RESPONSE``."""
    from maf_hooks.errors import Refused  # noqa: PLC0415

    allowed_from = {"acknowledged": ("pending", "escalated"), "resolved": OPEN}[status]
    with immediate(conn):
        record = get(conn, escalation_id)
        if record is None:
            raise Refused(f"No escalation {escalation_id!r}; see `maf escalate list`.")
        if record["status"] not in allowed_from:
            raise Refused(f"Escalation {escalation_id} is {record['status']}; it cannot become {status}.")
        stamp = "acknowledged_at" if status == "acknowledged" else "resolved_at"
        conn.execute(
            f"UPDATE escalation_tracking SET status = ?, {stamp} = ?, note = ?, updated_at = ? WHERE escalation_id = ?",
            (status, now, note, now, escalation_id),
        )
        payload = {"type": "ESCALATION_RESPONSE", "escalationId": escalation_id, "status": status,
                   "note": note, "respondedBy": responder, "agentId": responder, "pathId": record["path_id"],
                   "level": record["current_level"]}
        if is_valid_agent_id(record["agent_id"]):
            conn.execute(
                "INSERT INTO escalation_deliveries (escalation_id, level, target, channel, maf_type, payload_json, "
                "status, created_at, updated_at) VALUES (?, ?, ?, 'mailbox', 'ESCALATION_RESPONSE', ?, 'pending', ?, ?)",
                (escalation_id, record["current_level"], record["agent_id"], json.dumps(payload), now, now),
            )
        events.append(conn, SYSTEM_TASK, f"escalation_{'ack' if status == 'acknowledged' else 'resolve'}",
                      responder, {"escalation_id": escalation_id, "note": note}, now)
    return get(conn, escalation_id)
