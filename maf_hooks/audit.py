"""The audit trail: the event hash chain, reports, the audit guard, and the webhook outbox."""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from typing import Callable

from maf_hooks.core.chain import chain_hash

SEVERITIES = ("critical", "high", "medium", "low")


# --- the chain -----------------------------------------------------------------------------

def validate_chain(conn, since_ms: int | None = None) -> dict:
    """Recompute the chain; report the first row that was changed, removed or inserted.

    From the start, the first event must be id 1 with an empty ``prev_hash``; with ``since_ms``
    the first event at or after that time is the anchor and its ``prev_hash`` is trusted.
    Removing the newest events is caught by comparing with SQLite's AUTOINCREMENT counter.
    """
    sql = "SELECT id, task_id, ts, kind, data_json, agent_id, prev_hash, hash FROM events"
    args: tuple = ()
    if since_ms is not None:
        anchor = conn.execute("SELECT MIN(id) FROM events WHERE ts >= ?", (since_ms,)).fetchone()[0]
        if anchor is None:  # nothing at or after that date
            return {"valid": True, "checked": 0, "first_invalid_id": None, "problem": None}
        sql += " WHERE id >= ?"
        args = (anchor,)
    expected_prev: str | None = None
    previous_id: int | None = None
    checked = 0
    for row in conn.execute(sql + " ORDER BY id", args):
        event_id, stored_prev, stored_hash = row[0], row[6] or "", row[7]
        if previous_id is None:
            if since_ms is None and event_id != 1:
                return _broken(1, _missing(1, event_id - 1), checked)
            expected_prev = "" if since_ms is None else stored_prev
        elif event_id != previous_id + 1:
            return _broken(previous_id + 1, _missing(previous_id + 1, event_id - 1), checked)
        if stored_prev != expected_prev:
            return _broken(event_id, f"its prev_hash does not match event {previous_id}'s hash: "
                                     "an event before it was changed, or this one was inserted", checked)
        if stored_hash != chain_hash(stored_prev, row[:6]):
            return _broken(event_id, "its content does not match its hash (changed or inserted)", checked)
        expected_prev, previous_id = stored_hash, event_id
        checked += 1
    sequence = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    if sequence and previous_id is not None and sequence[0] > previous_id:
        return _broken(previous_id + 1, _missing(previous_id + 1, sequence[0]), checked)
    if sequence and previous_id is None and since_ms is None and sequence[0] > 0:
        return _broken(1, _missing(1, sequence[0]), checked)
    return {"valid": True, "checked": checked, "first_invalid_id": None, "problem": None}


def _missing(first: int, last: int) -> str:
    return f"event {first} is missing (removed)" if first == last else f"events {first}..{last} are missing (removed)"


def _broken(event_id: int, problem: str, checked: int) -> dict:
    return {"valid": False, "checked": checked, "first_invalid_id": event_id, "problem": problem}


# --- the report ----------------------------------------------------------------------------

def report(conn, *, since_ms: int, agent: str | None = None) -> dict:
    """Per agent and in total: leases, conflicts, overrides, escalations, preflight runs, hot paths."""
    per_agent: dict = defaultdict(lambda: {
        "leases": Counter(), "conflicts": Counter(), "overrides": [], "escalations": Counter(), "preflight": Counter(),
    })
    lease_kinds = {"acquire": "taken", "release": "released", "expire": "expired", "takeover": "taken_over"}
    for kind, who, data_json in conn.execute(
        "SELECT kind, agent_id, data_json FROM events WHERE ts >= ? AND kind IN "
        "('acquire','release','expire','takeover','override')", (since_ms,)
    ):
        if kind == "override":
            data = json.loads(data_json)
            per_agent[who or "(unknown)"]["overrides"].append(
                {"reason": data.get("reason"), "holder": data.get("holder"), "paths": data.get("paths", [])})
        else:
            per_agent[who or "(unknown)"]["leases"][lease_kinds[kind]] += 1
    for who, status, count in conn.execute(
        "SELECT agent_id, status, COUNT(*) FROM reservation_conflicts WHERE created_at >= ? GROUP BY agent_id, status",
        (since_ms,),
    ):
        per_agent[who or "(unknown)"]["conflicts"][status] += count
    for who, status, count in conn.execute(
        "SELECT agent_id, status, COUNT(*) FROM escalation_tracking WHERE created_at >= ? GROUP BY agent_id, status",
        (since_ms,),
    ):
        per_agent[who]["escalations"][status] += count
    for who, status, count in conn.execute(
        "SELECT agent_id, status, COUNT(*) FROM preflight_executions WHERE created_at >= ? GROUP BY agent_id, status",
        (since_ms,),
    ):
        per_agent[who or "(unknown)"]["preflight"][status] += count
    contested = [
        {"path": path, "conflicts": count, "agents": agents}
        for path, count, agents in conn.execute(
            "SELECT file_path, COUNT(*), COUNT(DISTINCT COALESCE(agent_id, '')) FROM reservation_conflicts "
            "WHERE created_at >= ? GROUP BY file_path ORDER BY COUNT(*) DESC, file_path LIMIT 10", (since_ms,)
        )
    ]
    agents = {name: _plain(values) for name, values in sorted(per_agent.items()) if agent is None or name == agent}
    total = {"leases": Counter(), "conflicts": Counter(), "overrides": [], "escalations": Counter(), "preflight": Counter()}
    for values in agents.values():
        for key in ("leases", "conflicts", "escalations", "preflight"):
            total[key].update(values[key])
        total["overrides"].extend(values["overrides"])
    if agent is not None:
        contested = [
            {"path": path, "conflicts": count, "agents": 1}
            for path, count in conn.execute(
                "SELECT file_path, COUNT(*) FROM reservation_conflicts WHERE created_at >= ? AND agent_id = ? "
                "GROUP BY file_path ORDER BY COUNT(*) DESC, file_path LIMIT 10", (since_ms, agent))
        ]
    return {"since_ms": since_ms, "agents": agents, "total": _plain(total), "most_contested_paths": contested}


def _plain(values: dict) -> dict:
    return {key: (dict(value) if isinstance(value, Counter) else value) for key, value in values.items()}


# --- the guard -----------------------------------------------------------------------------

def mail_mentioning(mail_root: str, needle: str) -> tuple[int, int]:
    """(bytes, messages) of the mail under the mail root whose raw text mentions ``needle``."""
    total = count = 0
    if not needle or not os.path.isdir(mail_root):
        return 0, 0
    encoded = needle.encode("utf-8")
    for agent in sorted(os.listdir(mail_root)):
        for sub in ("new", "cur"):
            folder = os.path.join(mail_root, agent, sub)
            if not os.path.isdir(folder):
                continue
            for name in os.listdir(folder):
                path = os.path.join(folder, name)
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                if encoded in data:
                    total += len(data)
                    count += 1
    return total, count


def guard(conn, *, bead_id: str, mail_root: str, max_kb: float, now: int, stale_minutes: int = 60) -> dict:
    """The audit guard: the bead's mail against its budget, and findings each with a severity."""
    findings = []
    size, messages = mail_mentioning(mail_root, bead_id)
    if size > max_kb * 1024:
        findings.append({"id": "mail_budget", "severity": "high",
                         "message": f"{messages} message(s) mentioning {bead_id} take {size / 1024:.1f} KB, "
                                    f"over the {max_kb:g} KB budget"})
    stale_since = now - stale_minutes * 60_000
    for agent, leases, last in conn.execute(
        """SELECT l.agent_id, COUNT(*), a.last_heartbeat FROM tasks t JOIN leases l ON l.task_id = t.id
           LEFT JOIN agents a ON a.id = l.agent_id
           WHERE t.state = 'LEASED' AND l.lease_expires_at > ? AND COALESCE(a.last_heartbeat, 0) < ?
           GROUP BY l.agent_id""", (now, stale_since),
    ):
        findings.append({"id": "stale_lease_holder", "severity": "medium",
                         "message": f"{agent} holds {leases} active lease(s) with no heartbeat in "
                                    f"{stale_minutes} minutes" + ("" if last else " (never sent one)")})
    for escalation_id, path_id, level, created in conn.execute(
        """SELECT t.escalation_id, t.path_id, t.current_level, t.created_at FROM escalation_tracking t
           JOIN escalation_paths p ON p.id = t.path_id
           WHERE t.status IN ('pending','escalated') AND t.created_at + p.timeout_minutes * 60000 <= ?""", (now,),
    ):
        findings.append({"id": "escalation_past_timeout", "severity": "high",
                         "message": f"escalation {escalation_id} ({path_id}, level {level}) is past its timeout "
                                    "and still open: run `maf escalate tick`"})
    for event_id, agent, data_json in conn.execute("SELECT id, agent_id, data_json FROM events WHERE kind = 'override'"):
        reason = json.loads(data_json).get("reason")
        if not reason or reason == "no reason given":
            findings.append({"id": "override_without_reason", "severity": "high",
                             "message": f"override by {agent or '(unknown)'} (event {event_id}) has no reason"})
    chain = validate_chain(conn)
    if not chain["valid"]:
        findings.append({"id": "audit_chain_broken", "severity": "critical",
                         "message": f"audit chain broken at event {chain['first_invalid_id']}: {chain['problem']}"})
    counts = Counter(f["severity"] for f in findings)
    failed = counts["critical"] > 0 or counts["high"] > 2
    return {
        "type": "AUDIT_GUARD_RESULT",
        "beadId": bead_id,
        "status": "failed" if failed else "passed",
        "mail": {"bytes": size, "messages": messages, "budget_kb": max_kb},
        "findings": findings,
        "summary": {"totalFindings": len(findings), "criticalCount": counts["critical"], "highCount": counts["high"],
                    "mediumCount": counts["medium"], "lowCount": counts["low"]},
    }


# --- the webhook outbox ------------------------------------------------------------------------

WEBHOOK_BUDGET_SECONDS = 1.0  # the most a command or hook waits on AUDIT_WEBHOOK_URL
RETRY_BASE_MS = 5_000


def flush_outbox(conn, url: str, now: int, *, budget_seconds: float = WEBHOOK_BUDGET_SECONDS,
                 post: Callable[[str, bytes, float], None] | None = None, clock=None) -> dict:
    """POST queued audit events (oldest first) until done or ``budget_seconds`` are spent.

    A failed POST is retried later with exponential backoff; nothing waits longer than the budget.
    """
    import time  # noqa: PLC0415

    from maf_hooks.store.sqlite.connection import immediate  # noqa: PLC0415

    post = post or _post
    clock = clock or time.monotonic
    deadline = clock() + budget_seconds
    sent = failed = 0
    rows = conn.execute(
        "SELECT id, payload_json, attempts FROM audit_outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? "
        "ORDER BY id LIMIT 500", (now,)
    ).fetchall()
    for row_id, payload, attempts in rows:
        remaining = deadline - clock()
        if remaining <= 0.01:
            break
        try:
            post(url, payload.encode("utf-8"), min(remaining, 5.0))
            with immediate(conn):
                conn.execute("UPDATE audit_outbox SET delivered_at = ?, attempts = ? WHERE id = ?",
                             (now, attempts + 1, row_id))
            sent += 1
        except Exception as exc:  # noqa: BLE001 - retried later
            with immediate(conn):
                conn.execute(
                    "UPDATE audit_outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                    (attempts + 1, f"{type(exc).__name__}: {exc}", now + RETRY_BASE_MS * (2 ** min(attempts, 10)), row_id),
                )
            failed += 1
    return {"sent": sent, "failed": failed, "pending": pending(conn)}


def pending(conn) -> int:
    return conn.execute("SELECT COUNT(*) FROM audit_outbox WHERE delivered_at IS NULL").fetchone()[0]


def _post(url: str, body: bytes, timeout: float) -> None:
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "maf-hooks"})
    with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 - the operator's URL
        pass
