"""The escalation use cases: open (by hand or when a trigger is met), tick, answer, look up.

Every change runs in one write section with the deliveries and the event it causes; the
section's ``now`` is the time of all of them. The rules are :mod:`maf_hooks.core.escalation`.
"""

from __future__ import annotations

from maf_hooks.core import escalation as rules
from maf_hooks.identity import is_valid_agent_id
from maf_hooks.services import delivery
from maf_hooks.store.events import SYSTEM_TASK

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from maf_hooks.store.base import Store


def sync_paths(store: Store, cfg: Any) -> None:
    """Mirror the configured paths into the store (a path no longer configured becomes inactive)."""
    with store.write() as now:
        store.escalations.sync_paths(list(rules.paths(cfg).values()), now)


def _insert(store: Store, cfg: Any, record: dict[str, Any], now: int) -> bool:
    """Store an escalation, queue its level-1 request and record the event; False when the same
    (path, agent, condition) already has an open one. Inside the caller's write section."""
    if not store.escalations.insert(record, now):
        return False
    target = record["target"]
    if not delivery.queue(store, cfg, record["escalation_id"], 1, target, "ESCALATION_REQUEST",
                          rules.request_payload(record), now):
        store.escalations.set_delivery(record["escalation_id"], "failed",
                                       f"target {target} is disabled (enabled = false)", now)
    store.events.append(SYSTEM_TASK, "escalation_open", record["agent_id"], {
        "escalation_id": record["escalation_id"], "path_id": record["path_id"], "condition": record["condition"],
        "target": target, "priority": record["priority"], "reason": record["reason"],
    }, now)
    return True


def open_manual(store: Store, cfg: Any, record: dict[str, Any]) -> None:
    """Open a hand-made escalation (``maf escalate``); its deliveries are queued, not sent."""
    with store.write() as now:
        _insert(store, cfg, dict(record, created_at=now), now)


def on_condition(store: Store, cfg: Any, agent: str | None, condition: str,
                 context: dict[str, Any] | None = None) -> list[str]:
    """Open an escalation on every active path whose trigger for ``condition`` is now met;
    return the ids opened (their deliveries are queued, not sent)."""
    configured = [path for path in rules.paths(cfg).values() if path.get("active", True)]
    if not configured:
        return []
    opened = []
    with store.write() as now:
        for path in configured:
            for trigger in path["trigger_conditions"]:
                if trigger["condition"] != condition:
                    continue
                count = rules.attempts(store.escalations, condition, agent, now - trigger["window_minutes"] * 60_000)
                if not rules.trigger_met(trigger, count):
                    continue
                record = rules.triggered_record(cfg, path, trigger, agent, condition, count, context, now)
                if _insert(store, cfg, record, now):
                    opened.append(record["escalation_id"])
                break  # one escalation per path and condition
    return opened


def open_and_deliver(store: Store, cfg: Any, agent: str | None, condition: str, context: dict[str, Any] | None,
                     mail_root: str) -> list[str]:
    """What a front end does when something may call for an escalation: open every one whose
    trigger ``condition`` now meets; mailbox deliveries go out now (local, without waiting
    between retries), email and webhook deliveries wait for ``maf escalate tick``, so that the
    caller never waits on a network. Returns the ids opened."""
    if not cfg.get("escalation.paths"):
        return []
    opened = on_condition(store, cfg, agent, condition, context)
    if opened:
        sync_paths(store, cfg)
        for escalation_id in opened:
            delivery.deliver_pending(store, cfg, mail_root, environ={}, escalation_id=escalation_id,
                                     channels=("mailbox",), sleep=lambda _seconds: None)
    return opened


def tick(store: Store, cfg: Any) -> list[dict[str, Any]]:
    """Advance every unacknowledged escalation whose step timed out; return what changed. Each
    is re-read and changed in its own write section, so that several tickers advance it once."""
    configured = rules.paths(cfg)
    changes = []
    for seen in store.escalations.listing(rules.ADVANCING):
        path = configured.get(seen["path_id"])
        if path is None:
            continue  # hand-made escalations without a path, or a path no longer configured
        with store.write() as now:
            change = _advance(store, cfg, seen, path, now)
        if change is not None:
            changes.append(change)
    return changes


def _advance(store: Store, cfg: Any, seen: dict[str, Any], path: dict[str, Any], now: int) -> dict[str, Any] | None:
    record = store.escalations.get(seen["escalation_id"])
    if record is None or record["status"] not in rules.ADVANCING or record["current_level"] != seen["current_level"]:
        return None  # another ticker got here first
    outcome = rules.next_step(record, path, now)
    if outcome is None:
        return None
    escalation_id, level = record["escalation_id"], record["current_level"]
    change: dict[str, Any]
    if outcome == "escalated":
        target = rules.steps_of(path)[level]["target"]
        if not store.escalations.advance(escalation_id, level, target, now):
            return None
        delivery.queue(store, cfg, escalation_id, level + 1, target, "ESCALATION_REQUEST",
                       rules.request(record, level + 1, target), now)
        change = {"escalation_id": escalation_id, "status": "escalated", "level": level + 1, "target": target}
    else:
        if not store.escalations.time_out(escalation_id, level, now):
            return None
        told = store.deliveries.requested_targets(escalation_id)
        for target in told:
            delivery.queue(store, cfg, escalation_id, level, target, "ESCALATION_TIMEOUT",
                           rules.timeout_notice(record, level, target), now)
        change = {"escalation_id": escalation_id, "status": "timeout", "level": level, "told": told}
    store.events.append(SYSTEM_TASK, f"escalation_{outcome}", record["agent_id"],
                        {"escalation_id": escalation_id, "level": change["level"]}, now)
    return change


def respond(store: Store, escalation_id: str, status: str, responder: str | None, note: str) -> dict[str, Any]:
    """Acknowledge or resolve (``status``); the agent that caused the escalation gets an
    ``ESCALATION_RESPONSE`` in its mailbox. Refused when there is no such escalation or it
    cannot become ``status`` now."""
    with store.write() as now:
        record = rules.check_answer(store.escalations.get(escalation_id), escalation_id, status)
        store.escalations.answer(escalation_id, status, note, now)
        if is_valid_agent_id(record["agent_id"]):
            store.deliveries.queue(escalation_id, record["current_level"], record["agent_id"], "mailbox",
                                   "ESCALATION_RESPONSE", rules.response(record, status, responder, note), now)
        store.events.append(SYSTEM_TASK, f"escalation_{'ack' if status == 'acknowledged' else 'resolve'}",
                            responder, {"escalation_id": escalation_id, "note": note}, now)
        answered = store.escalations.get(escalation_id)
    assert answered is not None
    return answered


def get(store: Store, escalation_id: str) -> dict[str, Any] | None:
    return store.escalations.get(escalation_id)


def listing(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    return store.escalations.listing((status,) if status else ())


def show(store: Store, escalation_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """One escalation and its deliveries, oldest first."""
    return store.escalations.get(escalation_id), store.deliveries.for_escalation(escalation_id)


def deliver(store: Store, cfg: Any, mail_root: str, environ: Mapping[str, str],
            escalation_id: str | None = None) -> list[dict[str, Any]]:
    """Send what is queued (of one escalation when given) by every channel, retrying with backoff."""
    return delivery.deliver_pending(store, cfg, mail_root, environ=environ, escalation_id=escalation_id)
