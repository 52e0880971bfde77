"""The escalation lifecycle's rules: paths and targets from the configuration, when a trigger is
met, what a tick does to an open escalation, who may answer, and what each message says.

An escalation opens when a trigger's count of attempts for an agent within its window meets its
threshold (or by hand), asks its level-1 target, and moves a level up whenever a step's
``timeout_minutes`` pass unacknowledged; after the last level, or once the path's own
``timeout_minutes`` have passed since it opened, it closes as timed out and every target told so
far hears it. Acknowledged escalations stop moving; resolved and timed-out ones are closed.
Times are the store's (``now``, epoch ms), passed in.
"""

from __future__ import annotations

import secrets

from maf_hooks.errors import Refused, UsageError
from maf_hooks.identity import is_valid_agent_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.store.escalations import EscalationRecords

OPEN = ("pending", "escalated", "acknowledged")
ADVANCING = ("pending", "escalated")
PRIORITIES = ("low", "medium", "high", "critical")
MANUAL = "manual"
ANSWERABLE_FROM = {"acknowledged": ADVANCING, "resolved": OPEN}
_OPERATORS = {"gte": lambda count, threshold: count >= threshold,
              "gt": lambda count, threshold: count > threshold,
              "eq": lambda count, threshold: count == threshold}


# --- configuration -----------------------------------------------------------------------

def paths(cfg: Any) -> dict[str, dict[str, Any]]:
    return {path["id"]: path for path in cfg.get("escalation.paths") or []}


def steps_of(path: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(path["steps"], key=lambda step: step["level"])


def check_target(cfg: Any, target: str) -> str:
    """A configured target, or (with none configured) any valid agent id; else UsageError."""
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


def channels_for(cfg: Any, target: str) -> list[str]:
    """Every channel a target gets: its mailbox always, plus email and webhook when configured;
    none when the target is disabled."""
    spec = (cfg.get("escalation.targets") or {}).get(target)
    if spec is not None and not spec.get("enabled", True):
        return []
    found = ["mailbox"]
    if spec and spec.get("email"):
        found.append("email")
    if spec and spec.get("webhook"):
        found.append("webhook")
    return found


# --- triggers ------------------------------------------------------------------------------

def attempts(records: EscalationRecords, condition: str, agent: str | None, since: int) -> int:
    """What a trigger counts: attempts, not rows. One refused commit touching three leased paths
    writes three conflict rows (and one override event per holder) at the same time: one attempt."""
    if condition == "reservation_conflict":
        return len(set(records.conflict_times(agent, since)))
    if condition == "override_used":
        return len(set(records.event_times("override", agent, since)))
    if condition == "lease_takeover":
        return len(set(records.event_times("takeover", agent, since)))
    if condition == "preflight_failure":
        return records.failed_preflight_count(agent, since)
    raise ValueError(f"unknown escalation condition {condition!r}")


def trigger_met(trigger: dict[str, Any], count: int) -> bool:
    return bool(_OPERATORS[trigger["operator"]](count, trigger["threshold"]))


def new_record(*, path_id: str, agent: str, condition: str, reason: str, context: dict[str, Any], priority: str,
               target: str, now: int, bead_id: str | None = None, execution_id: str | None = None) -> dict[str, Any]:
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


def triggered_record(cfg: Any, path: dict[str, Any], trigger: dict[str, Any], agent: str | None, condition: str,
                     count: int, context: dict[str, Any] | None, now: int) -> dict[str, Any]:
    """The escalation a met trigger opens on ``path``."""
    who = agent or "unknown"
    return new_record(
        path_id=path["id"], agent=who, condition=condition,
        reason=f"{condition}: {count} in the last {trigger['window_minutes']} minutes "
               f"({trigger['operator']} {trigger['threshold']}) for {who}",
        context=dict(context or {}, condition=condition, count=count,
                     window_minutes=trigger["window_minutes"], threshold=trigger["threshold"]),
        priority=cfg.get("escalation.default_priority") or "medium",
        target=steps_of(path)[0]["target"], now=now,
    )


# --- the lifecycle ---------------------------------------------------------------------------

def next_step(record: dict[str, Any], path: dict[str, Any], now: int) -> str | None:
    """What a tick does to one advancing escalation now: None, ``escalated`` or ``timeout``."""
    steps = steps_of(path)
    maximum = min(path.get("max_escalation_level") or len(steps), len(steps))
    if now - record["created_at"] >= path["timeout_minutes"] * 60_000:
        return "timeout"
    level = record["current_level"]
    step = steps[level - 1] if level <= len(steps) else None
    if step is None or now - record["level_started_at"] < step["timeout_minutes"] * 60_000:
        return None
    return "escalated" if level + 1 <= maximum else "timeout"


def check_answer(record: dict[str, Any] | None, escalation_id: str, status: str) -> dict[str, Any]:
    """The record, if it may become ``status`` (acknowledged or resolved); else Refused."""
    if record is None:
        raise Refused(f"No escalation {escalation_id!r}; see `maf escalate list`.")
    if record["status"] not in ANSWERABLE_FROM[status]:
        raise Refused(f"Escalation {escalation_id} is {record['status']}; it cannot become {status}.")
    return record


def delivery_summary(failed: tuple[str, str, str] | None, waiting: int) -> tuple[str, str | None]:
    """An escalation's delivery status from its newest failed delivery and how many still wait."""
    if failed:
        return "failed", f"{failed[0]} to {failed[1]}: {failed[2]}"
    return ("pending" if waiting else "delivered"), None


# --- messages ----------------------------------------------------------------------------------

def request(record: dict[str, Any], level: int, target: str) -> dict[str, Any]:
    """The ``ESCALATION_REQUEST`` JSON a target at ``level`` receives."""
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


def request_payload(record: dict[str, Any]) -> dict[str, Any]:
    """The level-1 request (also what ``--dry-run`` shows)."""
    return request(record, 1, record["target"])


def timeout_notice(record: dict[str, Any], level: int, target: str) -> dict[str, Any]:
    return dict(request(record, level, target), type="ESCALATION_TIMEOUT", status="timeout")


def response(record: dict[str, Any], status: str, responder: str | None, note: str) -> dict[str, Any]:
    """The ``ESCALATION_RESPONSE`` the agent that caused the escalation receives."""
    return {"type": "ESCALATION_RESPONSE", "escalationId": record["escalation_id"], "status": status,
            "note": note, "respondedBy": responder, "agentId": responder, "pathId": record["path_id"],
            "level": record["current_level"]}
