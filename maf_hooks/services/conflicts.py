"""What happens when a commit or push touches another agent's lease: THE override rule decides
the outcome, ``RESERVATION_CONFLICT`` records and events are written, each holder is mailed once
(deduplicated), escalation triggers fire, and the committer reads the report.

Imported by the git hook only when there is a conflict.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict

from maf_hooks.core import conflicts as rules
from maf_hooks.core import policy
from maf_hooks.core.conflicts import SEVERITY, Outcome
from maf_hooks.core.text import storable
from maf_hooks.services.escalation import open_and_deliver

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, TextIO

    from maf_hooks.core.decision import Decision
    from maf_hooks.core.model import Lease
    from maf_hooks.store.base import Store


def decide(cfg: Any, environ: Mapping[str, str], agent: str | None) -> Outcome:
    """Blocked, warned or overridden: the hook mode, and THE override rule."""
    return rules.outcome(policy.hook_mode(cfg, environ), policy.override(cfg, environ, agent))


def record(store: Store, decision: Decision, outcome: Outcome) -> list[dict[str, Any]]:
    """One conflict record and one event per conflicting (path, lease); an ``override`` event per
    lease when overridden. Returns what the holders' mail needs."""
    rows = []
    severity = SEVERITY[outcome.status]
    with store.write() as now:
        for raw_path, lease in decision.conflicts:
            path = storable(raw_path)
            conflict_id = "conflict-" + secrets.token_hex(6)
            store.conflicts.add({
                "id": conflict_id, "agent": decision.agent, "path": path, "severity": severity,
                "holder": lease.agent, "lease_id": lease.id, "lease_expires_at": lease.expires_at,
                "operation": decision.operation, "status": outcome.status,
                "override_reason": outcome.reason if outcome.status == "overridden" else None, "created_at": now,
            })
            envelope = {
                "type": "RESERVATION_CONFLICT",
                "agentId": decision.agent,
                "conflictId": conflict_id,
                "filePath": path,
                "conflictType": "lease",
                "severity": severity,
                "details": {
                    "existingAgent": lease.agent,
                    "requestedAgent": decision.agent,
                    "leaseExpiresAt": lease.expires_at,
                    "attemptedOperation": decision.operation,
                },
            }
            store.events.append(lease.id, "reservation_conflict", decision.agent,
                                dict(envelope, status=outcome.status), now)
            rows.append({"envelope": envelope, "path": path, "lease": lease})
        if outcome.status == "overridden":
            for lease_id, lease in _unique_leases(decision.conflicts).items():
                paths = [storable(p) for p, held in decision.conflicts if held.id == lease_id]
                store.events.append(lease_id, "override", decision.agent, {
                    "reason": outcome.reason, "holder": lease.agent, "paths": paths,
                    "operation": decision.operation,
                }, now)
    return rows


def _unique_leases(pairs: list[tuple[str, Lease]]) -> OrderedDict[str, Lease]:
    unique: OrderedDict[str, Lease] = OrderedDict()
    for _, lease in pairs:
        unique.setdefault(lease.id, lease)
    return unique


def mail_holders(store: Store, decision: Decision, outcome: Outcome, rows: list[dict[str, Any]], mail_root: str,
                 dedup_minutes: int, now: int) -> tuple[list[str], list[str]]:
    """One message per holder listing all of that holder's paths; returns (mailed, failures)."""
    from maf_hooks import mail

    by_holder: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
    for row in rows:
        by_holder.setdefault(row["lease"].agent, []).append(row)
    mailed, failures = [], []
    for holder, items in by_holder.items():
        paths = sorted(row["path"] for row in items)
        key = rules.dedup_key(decision, outcome, holder, paths)
        if dedup_minutes and store.conflicts.mailed_since(key, now - dedup_minutes * 60_000):
            continue
        try:
            message = mail.build_message(
                sender=decision.agent,
                recipient=holder,
                subject=rules.subject(decision, outcome, holder, len(paths)),
                text=rules.holder_text(decision, outcome, holder, items, now),
                maf_type="RESERVATION_CONFLICT",
                json_payload=[row["envelope"] for row in items],
                date_ms=now,
            )
            message_key = mail.deliver(mail_root, holder, message)
        except Exception as exc:  # noqa: BLE001 - a mail failure must not hide the decision
            failures.append(f"{holder}: {exc}")
            continue
        with store.write():
            store.conflicts.log_mail(key, holder, "RESERVATION_CONFLICT", message_key, now)
        mailed.append(holder)
    return mailed, failures


def handle(decision: Decision, store: Store, cfg: Any, paths: Any, *, environ: Mapping[str, str],
           stream: TextIO) -> int:
    """Decide, record, mail, escalate and report one conflicting commit or push; the exit code."""
    from maf_hooks.context import mail_root_for

    now = store.now()
    outcome = decide(cfg, environ, decision.agent)
    rows = record(store, decision, outcome)
    mail_root = mail_root_for(paths, cfg)
    _keep_mail_out_of_git(paths, mail_root)
    mailed, failures = mail_holders(store, decision, outcome, rows, mail_root, cfg.get("mail.dedup_minutes"), now)
    escalated = escalate(store, cfg, decision, outcome, mail_root)
    stream.write(rules.report(decision, outcome, mailed, failures, now))
    stream.writelines(f"maf: escalation {escalation_id} opened (repeated conflicts); "
                     f"see `maf escalate show {escalation_id}`.\n" for escalation_id in escalated)
    return 1 if outcome.status == "blocked" else 0


def _keep_mail_out_of_git(paths: Any, mail_root: str) -> None:
    """Mail must never be committed: exclude the mail root even where `maf init` was never run."""
    from maf_hooks import repo_setup

    try:
        repo_setup.ensure_excluded(paths.common_dir, paths.root, mail_root)
    except OSError:
        pass  # the mail is still delivered; `maf init` reports the problem


def escalate(store: Store, cfg: Any, decision: Decision, outcome: Outcome, mail_root: str) -> list[str]:
    """Open the escalations whose triggers this attempt meets (``reservation_conflict``, and
    ``override_used`` when overridden)."""
    context = {"operation": decision.operation, "paths": sorted({storable(path) for path, _ in decision.conflicts})}
    opened = open_and_deliver(store, cfg, decision.agent, "reservation_conflict", context, mail_root)
    if outcome.status == "overridden":
        opened += open_and_deliver(store, cfg, decision.agent, "override_used", dict(context, reason=outcome.reason),
                                   mail_root)
    return opened
