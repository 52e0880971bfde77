"""What happens when a commit or push touches another agent's lease: THE override rule decides
the outcome, ``RESERVATION_CONFLICT`` records (one a path) and the attempt's event are written
together with one outbox row per holder (deduplicated), the mail is delivered after the decision
(and retried until it is), escalation triggers fire, and the committer reads the report.

Imported by the git hook only when there is a conflict.
"""

from __future__ import annotations

import os
from collections import OrderedDict

from maf_hooks.core import conflicts as rules
from maf_hooks.core import policy
from maf_hooks.core.conflicts import SEVERITY, Outcome
from maf_hooks.core.text import storable
from maf_hooks.store.events import SYSTEM_TASK

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, TextIO

    from maf_hooks.core.decision import Decision
    from maf_hooks.core.model import Lease
    from maf_hooks.store.base import Store


def _token() -> str:
    """12 random hex digits, as ``secrets.token_hex(6)`` (without importing secrets, hmac and random)."""
    return os.urandom(6).hex()


def decide(cfg: Any, environ: Mapping[str, str], agent: str | None) -> Outcome:
    """Blocked, warned or overridden: the hook mode, and THE override rule."""
    return rules.outcome(policy.hook_mode(cfg, environ), policy.override(cfg, environ, agent))


def record(store: Store, decision: Decision, outcome: Outcome, dedup_minutes: int = 0, *,
           repository: str = "this repository") -> dict[str, Any]:
    """One conflict record per conflicting (path, lease) and one ``reservation_conflict`` event for
    the attempt, listing them (:func:`attempt_event`); an ``override`` event per lease when
    overridden; and, in the SAME write section, one outbox row per holder (the built message,
    delivered after the decision, naming ``repository`` and threaded under each of its leases'
    :func:`~maf_hooks.mail.message.thread_root`), unless the dedup rule suppresses it.

    Returns ``{"rows", "queued" (outbox ids), "holders" ({holder: outbox id}), "suppressed"
    ({holder: "delivered" | "pending"}), "failures" (messages that could not be built)}``."""
    rows: list[dict[str, Any]] = []
    severity = SEVERITY[outcome.status]
    plan: dict[str, Any] = {"rows": rows, "queued": [], "holders": {}, "suppressed": {}, "failures": []}
    with store.write() as now:
        records = []
        attempt, width = "conflict-" + _token() + "-", len(str(len(decision.conflicts)))
        for number, (raw_path, lease) in enumerate(decision.conflicts, 1):
            path = storable(raw_path)
            conflict = {
                "id": f"{attempt}{number:0{width}d}",  # neighbours in the id index, in the order found
                "agent": decision.agent, "path": path, "conflict_type": "lease", "severity": severity,
                "holder": lease.agent, "lease_id": lease.id, "lease_expires_at": lease.expires_at,
                "operation": decision.operation, "status": outcome.status,
                "override_reason": outcome.reason if outcome.status == "overridden" else None, "created_at": now,
            }
            records.append(conflict)
            rows.append({"record": conflict, "path": path, "lease": lease})
        store.events.append(SYSTEM_TASK, "reservation_conflict", decision.agent,
                            attempt_event(decision, outcome, records), now)
        store.conflicts.add_many(records)
        if outcome.status == "overridden":
            for lease_id, lease in _unique_leases(decision.conflicts).items():
                paths = [storable(p) for p, held in decision.conflicts if held.id == lease_id]
                store.events.append(lease_id, "override", decision.agent, {
                    "reason": outcome.reason, "holder": lease.agent, "paths": paths,
                    "operation": decision.operation,
                }, now)
        _queue_mail(store, decision, outcome, plan, dedup_minutes, now, repository)
    return plan


def attempt_event(decision: Decision, outcome: Outcome, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The data of the one ``reservation_conflict`` event of a refused, warned or overridden
    attempt: the attempt once (``attempt``: its records' ids are it, ``-`` and their number),
    then each lease met, in the order found, with the records under it as ``{number: path}``.
    One event, not one a path, and each lease once: a commit of many leased paths is one small
    row of the audit chain to hash and store (docs/audit.md)."""
    leases: dict[str, dict[str, Any]] = {}
    for record in records:
        group = leases.get(record["lease_id"])
        if group is None:
            group = leases[record["lease_id"]] = {"leaseId": record["lease_id"], "existingAgent": record["holder"],
                                                  "leaseExpiresAt": record["lease_expires_at"], "conflicts": {}}
        group["conflicts"][record["id"].rpartition("-")[2]] = record["path"]
    return {
        "type": "RESERVATION_CONFLICT",
        "agentId": decision.agent,
        "conflictType": "lease",
        "severity": SEVERITY[outcome.status],
        "status": outcome.status,
        "attemptedOperation": decision.operation,
        "attempt": records[0]["id"].rpartition("-")[0] if records else None,
        "leases": list(leases.values()),
    }


def envelope(decision: Decision, record: dict[str, Any]) -> dict[str, Any]:
    """The ``RESERVATION_CONFLICT`` envelope of one conflict record, as the holder's mail carries it
    (its ``maf.json`` part: one a path); made only for mail that is sent."""
    return {
        "type": "RESERVATION_CONFLICT",
        "agentId": decision.agent,
        "conflictId": record["id"],
        "filePath": record["path"],
        "conflictType": "lease",
        "severity": record["severity"],
        "details": {
            "existingAgent": record["holder"],
            "requestedAgent": decision.agent,
            "leaseExpiresAt": record["lease_expires_at"],
            "attemptedOperation": decision.operation,
        },
    }


def _queue_mail(store: Store, decision: Decision, outcome: Outcome, plan: dict[str, Any], dedup_minutes: int,
                now: int, repository: str) -> None:
    """One outbox row per holder listing all of that holder's paths (inside the records' section)."""
    from maf_hooks import mail

    by_holder: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
    for row in plan["rows"]:
        by_holder.setdefault(row["lease"].agent, []).append(row)
    for holder, items in by_holder.items():
        paths = sorted(row["path"] for row in items)
        key = rules.dedup_key(decision, outcome, holder, paths)
        if dedup_minutes:
            earlier = store.conflicts.recent_mail(key, now - dedup_minutes * 60_000)
            if earlier is not None:
                plan["suppressed"][holder] = earlier
                continue
        try:
            data = mail.as_bytes(mail.build_message(
                sender=decision.agent,
                recipient=holder,
                subject=rules.subject(decision, outcome, holder, len(paths), repository),
                text=rules.holder_text(decision, outcome, holder, items, now, repository),
                maf_type="RESERVATION_CONFLICT",
                json_payload=[envelope(decision, row["record"]) for row in items],
                date_ms=now,
                # In-Reply-To: the lease of the first path; References: every lease, that one last
                references=[mail.thread_root(lease_id) for lease_id in reversed(rules.lease_ids(items))],
            ))
        except Exception as exc:  # noqa: BLE001 - a mail failure must not hide the decision
            plan["failures"].append(f"{holder}: {exc}")
            continue
        outbox_id = store.conflicts.queue_mail({"dedup_key": key, "recipient": holder,
                                                "maf_type": "RESERVATION_CONFLICT", "message": data,
                                                "token": _token(), "created_at": now})
        plan["queued"].append(outbox_id)
        plan["holders"][holder] = outbox_id


def _unique_leases(pairs: list[tuple[str, Lease]]) -> OrderedDict[str, Lease]:
    unique: OrderedDict[str, Lease] = OrderedDict()
    for _, lease in pairs:
        unique.setdefault(lease.id, lease)
    return unique


def mail_holders(store: Store, plan: dict[str, Any], mail_root: str) -> dict[str, Any]:
    """Deliver the outbox rows :func:`record` queued; ``{"mailed", "queued", "failures"}``: the
    holders whose mail was delivered, and those whose mail stays queued (with why)."""
    from maf_hooks.services.mail import deliver_outbox

    results = {result["id"]: result for result in deliver_outbox(store, mail_root, ids=plan["queued"])}
    mailed, queued, failures = [], [], list(plan["failures"])
    for holder, outbox_id in plan["holders"].items():
        result = results.get(outbox_id)
        if result is not None and result["status"] == "delivered":
            mailed.append(holder)
        else:
            queued.append(holder)
            error = result["error"] if result is not None else "not tried"
            failures.append(f"{holder}: {error}; the message stays queued (the next hook run, `maf mail flush` "
                            "and `maf escalate tick` retry it)")
    return {"mailed": mailed, "queued": queued, "failures": failures}


class Settled:
    """What :func:`settle` did: the ``outcome``, the record ``plan``, what the holders were ``told``
    (``mailed``, ``queued``, ``failures``), the escalations ``opened`` and the section's ``now``."""

    def __init__(self, outcome: Outcome, plan: dict[str, Any], told: dict[str, Any], opened: list[str],
                 now: int) -> None:
        self.outcome, self.plan, self.told, self.opened, self.now = outcome, plan, told, opened, now


def settle(decision: Decision, store: Store, cfg: Any, paths: Any, *, environ: Mapping[str, str],
           tried: list[int] | None = None) -> Settled:
    """Decide (THE override rule), record (with the holders' mail queued), mail and escalate one
    conflicting commit, push or edit. ``tried`` receives the outbox ids delivered or tried here."""
    from maf_hooks.context import mail_root_for
    from maf_hooks.git import main_worktree_root
    from maf_hooks.services.mail import repository_name

    now = store.now()
    outcome = decide(cfg, environ, decision.agent)
    plan = record(store, decision, outcome, cfg.get("mail.dedup_minutes"),
                  repository=repository_name(store, cfg, main_worktree_root(paths)))
    if tried is not None:
        tried.extend(plan["queued"])
    mail_root = mail_root_for(paths, cfg)
    _keep_mail_out_of_git(paths, mail_root)
    told = mail_holders(store, plan, mail_root)
    opened = escalate(store, cfg, decision, outcome, mail_root)
    return Settled(outcome, plan, told, opened, now)


def handle(decision: Decision, store: Store, cfg: Any, paths: Any, *, environ: Mapping[str, str],
           stream: TextIO, tried: list[int] | None = None) -> int:
    """Settle one conflicting commit or push and report it to the committer; the exit code."""
    done = settle(decision, store, cfg, paths, environ=environ, tried=tried)
    told = done.told
    stream.write(rules.report(decision, done.outcome, told["mailed"], told["failures"], done.now,
                              queued=told["queued"], suppressed=done.plan["suppressed"]))
    stream.writelines(f"maf: escalation {escalation_id} opened (repeated conflicts); "
                      f"see `maf escalate show {escalation_id}`.\n" for escalation_id in done.opened)
    return 1 if done.outcome.status == "blocked" else 0


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
    if not cfg.get("escalation.paths"):
        return []  # spares importing the escalation rules (open_and_deliver says the same)
    from maf_hooks.services.escalation import open_and_deliver

    context = {"operation": decision.operation, "paths": sorted({storable(path) for path, _ in decision.conflicts})}
    opened = open_and_deliver(store, cfg, decision.agent, "reservation_conflict", context, mail_root)
    if outcome.status == "overridden":
        opened += open_and_deliver(store, cfg, decision.agent, "override_used", dict(context, reason=outcome.reason),
                                   mail_root)
    return opened
