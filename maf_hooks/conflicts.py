"""What happens when a commit or push touches another agent's lease: the override decision,
``RESERVATION_CONFLICT`` records, the holder's mail, and the message the committer reads.

Imported by the hook only when there is a conflict.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import OrderedDict
from typing import Mapping, TextIO

from maf_hooks.hooks import OVERRIDE_HOW, TRUTHY, Decision
from maf_hooks.identity import HOW_TO_SET
from maf_hooks.store.sqlite.connection import immediate
from maf_hooks.timeutil import iso, relative

SEVERITY = {"blocked": "high", "warned": "medium", "overridden": "critical"}


def shown(path: str) -> str:
    """A path for a terminal or a mail body: control characters (a newline in a name) escaped, so
    that a file name cannot forge lines of the report."""
    text = storable(path)
    if all(" " <= char != "\x7f" for char in text):
        return text
    return "".join(char if " " <= char != "\x7f" else repr(char)[1:-1] for char in text)


def storable(path: str) -> str:
    """A path as text that SQLite, JSON and mail accept: git's bytes that are not UTF-8 (kept as
    surrogates when read) become backslash escapes, ``bad\\xff.txt``."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class Outcome:
    def __init__(self, status: str, note: str = "", reason: str = ""):
        self.status = status  # blocked | warned | overridden
        self.note = note  # why an asked-for override was not honoured
        self.reason = reason  # the override reason


def decide(cfg, environ: Mapping[str, str], agent: str | None, permits=None) -> Outcome:
    """Blocked, warned or overridden, from the hook mode and the override variables."""
    mode = (environ.get("MAF_RESERVATION_HOOK_MODE") or cfg.get("reservation.hook_mode")).strip().lower()
    asked = environ.get("MAF_RESERVATION_OVERRIDE", "").strip().lower() in TRUTHY
    reason = environ.get("MAF_OVERRIDE_REASON", "").strip()
    fallback = "blocked" if mode == "strict" else "warned"
    if not asked:
        return Outcome(fallback)
    if not cfg.get("reservation.allow_override"):
        return Outcome(fallback, "MAF_RESERVATION_OVERRIDE is set, but overrides are disabled here "
                                 "(reservation.allow_override = false).")
    if cfg.get("reservation.require_override_reason") and not reason:
        return Outcome(fallback, "MAF_RESERVATION_OVERRIDE is set, but this repository requires a reason "
                                 "(reservation.require_override_reason = true): set MAF_OVERRIDE_REASON.")
    if permits is not None:
        refusal = permits(agent)
        if refusal:
            return Outcome(fallback, refusal)
    return Outcome("overridden", reason=reason or "no reason given")


def record(conn, decision: Decision, outcome: Outcome, now: int) -> list[dict]:
    """One ``reservation_conflicts`` row and one ``events`` row per conflicting (path, lease)."""
    rows = []
    severity = SEVERITY[outcome.status]
    with immediate(conn):
        for raw_path, lease in decision.conflicts:
            path = storable(raw_path)
            conflict_id = "conflict-" + secrets.token_hex(6)
            conn.execute(
                "INSERT INTO reservation_conflicts (id, agent_id, file_path, conflict_type, severity, "
                "holder_agent_id, lease_id, lease_expires_at, attempted_operation, status, override_reason, "
                "created_at) VALUES (?, ?, ?, 'lease', ?, ?, ?, ?, ?, ?, ?, ?)",
                (conflict_id, decision.agent, path, severity, lease.agent, lease.id, lease.expires_at,
                 decision.operation, outcome.status,
                 outcome.reason if outcome.status == "overridden" else None, now),
            )
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
            _event(conn, lease.id, "reservation_conflict", decision.agent, dict(envelope, status=outcome.status), now)
            rows.append({"envelope": envelope, "path": path, "lease": lease})
        if outcome.status == "overridden":
            for lease_id, lease in _unique_leases(decision.conflicts).items():
                paths = [storable(p) for p, l in decision.conflicts if l.id == lease_id]
                _event(conn, lease_id, "override", decision.agent, {
                    "reason": outcome.reason, "holder": lease.agent, "paths": paths,
                    "operation": decision.operation,
                }, now)
    return rows


def _event(conn, task_id: str, kind: str, agent: str | None, data: dict, now: int) -> None:
    from maf_hooks.leases import LeaseBook  # noqa: PLC0415

    LeaseBook(conn, lambda: now).event(task_id, kind, agent, data, now)


def _unique_leases(pairs) -> "OrderedDict[str, object]":
    unique: OrderedDict = OrderedDict()
    for _, lease in pairs:
        unique.setdefault(lease.id, lease)
    return unique


def mail_holders(conn, decision: Decision, outcome: Outcome, rows: list, mail_root: str,
                 dedup_minutes: int, now: int) -> tuple[list[str], list[str]]:
    """One message per holder listing all of that holder's paths; returns (mailed, failures)."""
    from maf_hooks import mail  # noqa: PLC0415

    by_holder: OrderedDict = OrderedDict()
    for row in rows:
        by_holder.setdefault(row["lease"].agent, []).append(row)
    mailed, failures = [], []
    for holder, items in by_holder.items():
        paths = sorted(row["path"] for row in items)
        key = hashlib.sha256(
            json.dumps([outcome.status, decision.agent, holder, decision.operation, paths]).encode()
        ).hexdigest()
        window_start = now - dedup_minutes * 60_000
        if dedup_minutes and conn.execute(
            "SELECT 1 FROM mail_log WHERE dedup_key = ? AND sent_at > ?", (key, window_start)
        ).fetchone():
            continue
        try:
            message = mail.build_message(
                sender=decision.agent,
                recipient=holder,
                subject=_subject(decision, outcome, holder, len(paths)),
                text=_holder_text(decision, outcome, holder, items, now),
                maf_type="RESERVATION_CONFLICT",
                json_payload=[row["envelope"] for row in items],
                date_ms=now,
            )
            message_key = mail.deliver(mail_root, holder, message)
        except Exception as exc:  # noqa: BLE001 - a mail failure must not hide the decision
            failures.append(f"{holder}: {exc}")
            continue
        with immediate(conn):
            conn.execute(
                "INSERT INTO mail_log (dedup_key, recipient, maf_type, message_key, sent_at) VALUES (?, ?, ?, ?, ?)",
                (key, holder, "RESERVATION_CONFLICT", message_key, now),
            )
        mailed.append(holder)
    return mailed, failures


def _who(agent: str | None) -> str:
    return agent or "an agent with no identity"


def _subject(decision: Decision, outcome: Outcome, holder: str, count: int) -> str:
    what = f"{count} path{'s' if count != 1 else ''} you hold"
    if outcome.status == "overridden":
        return f"[MAF] RESERVATION_CONFLICT: {_who(decision.agent)} overrode your lease ({what})"
    verb = "was refused" if outcome.status == "blocked" else "went through with a warning"
    return f"[MAF] RESERVATION_CONFLICT: a {decision.operation} by {_who(decision.agent)} touching {what} {verb}"


def _holder_text(decision: Decision, outcome: Outcome, holder: str, items: list, now: int) -> str:
    lines = [f"Hello {holder},", ""]
    if outcome.status == "overridden":
        lines.append(
            f"{_who(decision.agent)} used the emergency override (MAF_RESERVATION_OVERRIDE) to {decision.operation} "
            f"changes to paths you hold a lease on. Their reason: {outcome.reason}"
        )
    elif outcome.status == "blocked":
        lines.append(f"{_who(decision.agent)} tried to {decision.operation} changes to paths you hold a lease on. "
                     "The attempt was refused.")
    else:
        lines.append(f"{_who(decision.agent)} made a {decision.operation} that changes paths you hold a lease on. "
                     "The hook is in warn mode, so it went through.")
    lines.append("")
    for row in items:
        lease = row["lease"]
        lines.append(f"  {shown(row['path'])}")
        lines.append(f"      your lease {lease.id} on {lease.pattern!r} ends {iso(lease.expires_at)} "
                     f"({relative(lease.expires_at, now)})")
    lines += ["", "Please reply to them (maf mail send --to "
              f"{decision.agent or 'AGENT'} --subject ... --body ...) or release the lease when you are done "
              "(maf-lease release PATTERN).", "", "-- maf-hooks"]
    return "\n".join(lines) + "\n"


def report(decision: Decision, outcome: Outcome, mailed: list, failures: list, now: int) -> str:
    """The message the committer reads on stderr."""
    count = len({path for path, _ in decision.conflicts})
    head = {
        "blocked": f"RESERVATION_CONFLICT: this {decision.operation} is refused: it changes {count} path(s) "
                   "leased by another agent.",
        "warned": f"RESERVATION_CONFLICT (warning only, hook mode is warn): this {decision.operation} changes "
                  f"{count} path(s) leased by another agent.",
        "overridden": f"RESERVATION_CONFLICT OVERRIDDEN: MAF_RESERVATION_OVERRIDE lets this {decision.operation} "
                      f"through although it changes {count} path(s) leased by another agent. "
                      f"Reason recorded: {outcome.reason}. The holders are being told.",
    }[outcome.status]
    lines = [head, ""]
    for path, lease in decision.conflicts:
        lines.append(f"  {shown(path)}")
        lines.append(f"      held by {lease.agent} (pattern {lease.pattern!r}, lease {lease.id})")
        lines.append(f"      until {iso(lease.expires_at)} ({relative(lease.expires_at, now)})")
        lines.append(f"      reason: {lease.reason or '(none given)'}")
    lines.append("")
    if outcome.note:
        lines += [outcome.note, ""]
    if outcome.status != "overridden":
        holders = ", ".join(sorted({lease.agent for _, lease in decision.conflicts}))
        told = (f"mail was sent to {', '.join(mailed)}" if mailed
                else "they were already mailed about this same attempt recently")
        lines += [
            "What to do:",
            "  - wait until the lease ends;",
            f"  - ask the holder ({holders}): {told}; write with `maf mail send --to {holders.split(', ')[0]} ...`;",
            "  - see who holds what: `maf-lease check PATH...`;",
        ]
        if not outcome.note:  # when an override was refused, the note says why instead
            lines.append("  - " + OVERRIDE_HOW.replace("git commit", f"git {decision.operation}"))
    for failure in failures:
        lines.append(f"maf: warning: could not deliver mail to {failure}")
    if decision.agent is None:
        lines += ["", "You have no agent identity, so every lease counts as another agent's. " + HOW_TO_SET]
    else:
        lines += ["", f"(checked as agent {decision.agent})"]
    return "\n".join(lines) + "\n"


def handle(decision: Decision, settings: dict, *, environ: Mapping[str, str], stream: TextIO, clock) -> int:
    from maf_hooks.context import mail_root_for  # noqa: PLC0415

    from maf_hooks import permissions  # noqa: PLC0415

    cfg, conn = settings["cfg"], settings["conn"]
    now = clock()
    outcome = decide(cfg, environ, decision.agent, permits=lambda agent: permissions.for_agent(cfg, agent).refusal(
        "can_override", "use MAF_RESERVATION_OVERRIDE"))
    rows = record(conn, decision, outcome, now)
    mail_root = mail_root_for(settings["paths"], cfg)
    _keep_mail_out_of_git(settings["paths"], mail_root)
    mailed, failures = mail_holders(conn, decision, outcome, rows, mail_root, cfg.get("mail.dedup_minutes"), now)
    escalated = escalate(conn, cfg, decision, outcome, mail_root, now)
    stream.write(report(decision, outcome, mailed, failures, now))
    for escalation_id in escalated:
        stream.write(f"maf: escalation {escalation_id} opened (repeated conflicts); see `maf escalate show {escalation_id}`.\n")
    return 1 if outcome.status == "blocked" else 0


def _keep_mail_out_of_git(paths, mail_root: str) -> None:
    """Mail must never be committed: exclude the mail root even where `maf init` was never run."""
    from maf_hooks import repo_setup  # noqa: PLC0415

    try:
        repo_setup.ensure_excluded(paths.common_dir, paths.root, mail_root)
    except OSError:
        pass  # the mail is still delivered; `maf init` reports the problem


def escalate(conn, cfg, decision: Decision, outcome: Outcome, mail_root: str, now: int) -> list[str]:
    """Open the escalations whose triggers this attempt meets. Mailbox deliveries go out now;
    email and webhook deliveries wait for `maf escalate tick`, so the hook never waits on a network."""
    if not cfg.get("escalation.paths"):
        return []
    from maf_hooks import delivery, escalation  # noqa: PLC0415

    context = {"operation": decision.operation, "paths": sorted({storable(path) for path, _ in decision.conflicts})}
    opened = escalation.on_condition(conn, cfg, decision.agent, "reservation_conflict", now, context)
    if outcome.status == "overridden":
        opened += escalation.on_condition(conn, cfg, decision.agent, "override_used", now,
                                          dict(context, reason=outcome.reason))
    if opened:
        escalation.sync_paths(conn, cfg, now)
        delivery.deliver_pending(conn, cfg, mail_root, now, channels=("mailbox",), sleep=lambda _: None)
    return opened
