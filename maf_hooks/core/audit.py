"""The audit trail's rules: when the event chain is intact, what the report counts, and what
the audit guard finds (each finding with a severity) and when it fails.

The chain's format is :mod:`maf_hooks.core.chain`. Validation finds a row that was changed,
removed or inserted afterwards: from the start, the first event must be id 1 with an empty
``prev_hash``; from a date, the first event at or after it is the anchor and its ``prev_hash`` is
trusted; from a checkpoint (the newest event an earlier validation verified from the start),
that event and the count of rows up to it are checked again and the chain continues from its
hash; after ``maf db gc``, the start is the newest anchor's (:mod:`maf_hooks.core.retention`):
the first kept event must be the id it names and chain to the hash it recorded. Ids follow each other without a gap, and the newest row must be the newest id ever
handed out, so that removing the newest events is found too.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from maf_hooks.core.chain import chain_hash
from maf_hooks.core.conflicts import SEVERITY
from maf_hooks.timeutil import iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

SEVERITIES = ("critical", "high", "medium", "low")
# an agent holding active leases is stale after this long without a heartbeat (the guard's
# stale_lease_holder finding, the metric maf_agents_stale, the live board)
STALE_MINUTES = 60
LEASE_KINDS = {"acquire": "taken", "release": "released", "expire": "expired", "takeover": "taken_over"}
# every count the report gives, present with 0 (the statuses the store's records can hold)
COUNTED = {
    "leases": tuple(LEASE_KINDS.values()),
    "conflicts": tuple(SEVERITY),
    "escalations": ("pending", "escalated", "acknowledged", "resolved", "timeout"),
    "preflight": ("pending", "running", "passed", "failed", "timeout"),
}


# --- the chain -----------------------------------------------------------------------------

def validate(rows: Iterable[Sequence[Any]], *, anchored: bool, highest_issued: int) -> dict[str, Any]:
    """Check stored rows ``(id, task_id, ts, kind, data_json, agent_id, prev_hash, hash)`` in id
    order; ``anchored``: they start at a date's anchor, not at the first event;
    ``highest_issued``: the newest id ever handed out. Returns ``valid``, ``checked``,
    ``first_invalid_id`` and ``problem``."""
    return walk(rows, anchored=anchored, highest_issued=highest_issued)[0]


def walk(rows: Iterable[Sequence[Any]], *, anchored: bool, highest_issued: int,
         after: Sequence[Any] | None = None,
         start: tuple[int, str, int] | None = None) -> tuple[dict[str, Any], tuple[int, str] | None]:
    """:func:`validate`, and the (id, hash) of the last row it verified (None when none).
    ``after``: a checkpoint ``(event_id, hash, count, ...)`` the rows continue, trusted as it is
    (see :func:`checkpoint_problem`): the first row must be the next id and chain to its hash,
    and ``checked`` counts on from its count. ``start``: an anchor's ``(first_id, hash, anchor
    id)`` (:func:`maf_hooks.core.retention.anchor_start`): the events before ``first_id`` were
    pruned, and the first row must be ``first_id`` and chain to that hash."""
    expected_prev: str | None = None
    previous_id: int | None = None
    checked = 0
    last: tuple[int, str] | None = None
    first_expected = start[0] if start is not None else 1
    if after is not None:
        previous_id, expected_prev, checked = after[0], after[1], after[2]
    for row in rows:
        event_id, stored_prev, stored_hash = row[0], row[6] or "", row[7]
        if previous_id is None:
            if start is not None and event_id < first_expected:
                return _broken(event_id, f"it is older than event {first_expected}, where the anchor (event "
                                         f"{start[2]}) says the chain starts after gc: inserted", checked), last
            if not anchored and event_id != first_expected:
                return _broken(first_expected, _missing(first_expected, event_id - 1), checked), last
            expected_prev = start[1] if start is not None else stored_prev if anchored else ""
        elif event_id != previous_id + 1:
            return _broken(previous_id + 1, _missing(previous_id + 1, event_id - 1), checked), last
        if stored_prev != expected_prev:
            if previous_id is None and start is not None:
                return _broken(event_id, f"its prev_hash does not match the hash the anchor (event {start[2]}) "
                                         "recorded for the pruned events: the anchor or this event was changed",
                               checked), last
            return _broken(event_id, f"its prev_hash does not match event {previous_id}'s hash: "
                                     "an event before it was changed, or this one was inserted", checked), last
        if stored_hash != chain_hash(stored_prev, row[:6]):
            return _broken(event_id, "its content does not match its hash (changed or inserted)", checked), last
        expected_prev, previous_id = stored_hash, event_id
        last = (event_id, stored_hash)
        checked += 1
    if previous_id is not None and highest_issued > previous_id:
        return _broken(previous_id + 1, _missing(previous_id + 1, highest_issued), checked), last
    if previous_id is None and not anchored and highest_issued >= first_expected:
        return _broken(first_expected, _missing(first_expected, highest_issued), checked), last
    return valid(checked), last


def checkpoint_problem(checkpoint: Sequence[Any], row: Sequence[Any] | None, count: int) -> str | None:
    """Why a checkpoint ``(event_id, hash, count, verified_at)`` no longer holds, given the stored
    row at its id and how many rows are at or below it; None when it holds. What it re-checks is
    that one row (its content against its hash, its hash against the checkpoint's) and the count:
    a change to an earlier row that left both alone is found only by a full validation."""
    event_id, digest, verified, verified_at = checkpoint[:4]
    when = iso(verified_at)
    if row is None:
        return f"event {event_id}, verified on {when}, is missing (removed)"
    if row[7] != digest:
        return f"its hash is not the one verified on {when}: the chain was rewritten up to here"
    if row[7] != chain_hash(row[6] or "", row[:6]):
        return "its content does not match its hash (changed)"
    if count != verified:
        return (f"{count} event(s) are at or below it, {verified} when it was verified on {when}: "
                "events were removed or inserted")
    return None


def valid(checked: int = 0) -> dict[str, Any]:
    return {"valid": True, "checked": checked, "first_invalid_id": None, "problem": None}


def _missing(first: int, last: int) -> str:
    return f"event {first} is missing (removed)" if first == last else f"events {first}..{last} are missing (removed)"


def _broken(event_id: int, problem: str, checked: int) -> dict[str, Any]:
    return {"valid": False, "checked": checked, "first_invalid_id": event_id, "problem": problem}


# --- the report ----------------------------------------------------------------------------

def _empty() -> dict[str, Any]:
    zero = {key: Counter(dict.fromkeys(statuses, 0)) for key, statuses in COUNTED.items()}
    return {"leases": zero["leases"], "conflicts": zero["conflicts"], "overrides": [],
            "escalations": zero["escalations"], "preflight": zero["preflight"]}


def report(*, since_ms: int, agent: str | None, activity: Iterable[tuple[str, str | None, dict[str, Any]]],
           counts: dict[str, Iterable[tuple[str | None, str, int]]],
           contested: Iterable[tuple[str, int, int]]) -> dict[str, Any]:
    """Per agent and in total: leases, conflicts, overrides, escalations, preflight runs, hot paths.
    ``counts`` maps conflicts, escalations and preflight to (agent, status, count) rows."""
    per_agent: dict[str, dict[str, Any]] = defaultdict(_empty)
    for kind, who, data in activity:
        if kind == "override":
            per_agent[who or "(unknown)"]["overrides"].append(
                {"reason": data.get("reason"), "holder": data.get("holder"), "paths": data.get("paths", [])})
        else:
            per_agent[who or "(unknown)"]["leases"][LEASE_KINDS[kind]] += 1
    for key, rows in counts.items():
        for who, status, count in rows:
            per_agent[who or "(unknown)"][key][status] += count
    agents = {name: _plain(values) for name, values in sorted(per_agent.items()) if agent is None or name == agent}
    total = _empty()
    for values in agents.values():
        for key in COUNTED:
            total[key].update(values[key])
        total["overrides"].extend(values["overrides"])
    paths = [{"path": path, "conflicts": count, "agents": agents_count} for path, count, agents_count in contested]
    return {"since_ms": since_ms, "agents": agents, "total": _plain(total), "most_contested_paths": paths}


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {key: (dict(value) if isinstance(value, Counter) else value) for key, value in values.items()}


# --- the guard -----------------------------------------------------------------------------

def mail_finding(bead_id: str, size: int, messages: int, max_kb: float) -> list[dict[str, str]]:
    if size <= max_kb * 1024:
        return []
    return [{"id": "mail_budget", "severity": "high",
             "message": f"{messages} message(s) mentioning {bead_id} take {size / 1024:.1f} KB, "
                        f"over the {max_kb:g} KB budget"}]


def findings(*, stale: Iterable[tuple[str, int, int | None]], stale_minutes: int,
             past_timeout: Iterable[tuple[str, str, int]], overrides: Iterable[tuple[int, str | None, dict[str, Any]]],
             chain: dict[str, Any]) -> list[dict[str, str]]:
    """What the guard finds besides the mail budget."""
    found = []
    for agent, leases, last in stale:
        found.append({"id": "stale_lease_holder", "severity": "medium",
                      "message": f"{agent} holds {leases} active lease(s) with no heartbeat in "
                                 f"{stale_minutes} minutes" + ("" if last else " (never sent one)")})
    for escalation_id, path_id, level in past_timeout:
        found.append({"id": "escalation_past_timeout", "severity": "high",
                      "message": f"escalation {escalation_id} ({path_id}, level {level}) is past its timeout "
                                 "and still open: run `maf escalate tick`"})
    for event_id, who, data in overrides:
        given = data.get("reason")
        if not given or given == "no reason given":
            found.append({"id": "override_without_reason", "severity": "high",
                          "message": f"override by {who or '(unknown)'} (event {event_id}) has no reason"})
    if not chain["valid"]:
        found.append({"id": "audit_chain_broken", "severity": "critical",
                      "message": f"audit chain broken at event {chain['first_invalid_id']}: {chain['problem']}"})
    return found


def guard_result(bead_id: str, size: int, messages: int, max_kb: float,
                 found: Sequence[dict[str, str]]) -> dict[str, Any]:
    """The ``AUDIT_GUARD_RESULT``: failed when a finding is critical or more than two are high."""
    counts = Counter(finding["severity"] for finding in found)
    failed = counts["critical"] > 0 or counts["high"] > 2
    return {
        "type": "AUDIT_GUARD_RESULT",
        "beadId": bead_id,
        "status": "failed" if failed else "passed",
        "mail": {"bytes": size, "messages": messages, "budgetKb": max_kb},
        "findings": list(found),
        "summary": {"totalFindings": len(found), "criticalCount": counts["critical"], "highCount": counts["high"],
                    "mediumCount": counts["medium"], "lowCount": counts["low"]},
    }


# --- the webhook outbox ------------------------------------------------------------------------

RETRY_BASE_MS = 5_000


def next_attempt(now: int, attempts_before: int) -> int:
    """When a queued event whose POST failed is tried again: exponential backoff."""
    return now + RETRY_BASE_MS * (2 ** min(attempts_before, 10))
