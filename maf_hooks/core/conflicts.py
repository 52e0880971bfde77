"""The pure rules of a conflict: its outcome, its severity, and the texts the committer and the
holders read. The recording and the mail are :mod:`maf_hooks.services.conflicts`.
"""

from __future__ import annotations

from maf_hooks.core.policy import OVERRIDE_HOW, Override
from maf_hooks.core.text import SIGNATURE, quoted, shown
from maf_hooks.identity import HOW_TO_SET
from maf_hooks.timeutil import after, iso, relative

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from maf_hooks.core.decision import Decision
    from maf_hooks.core.model import Lease

SEVERITY = {"blocked": "high", "warned": "medium", "overridden": "critical"}


class Outcome:
    def __init__(self, status: str, note: str = "", reason: str = "") -> None:
        self.status = status  # blocked | warned | overridden
        self.note = note  # why an asked-for override was not honoured
        self.reason = reason  # the override reason


def outcome(hook_mode: str, verdict: Override) -> Outcome:
    """Warned (hook mode warn) or else blocked, unless THE override rule's ``verdict`` lets it through."""
    fallback = "warned" if hook_mode == "warn" else "blocked"
    if not verdict.asked:
        return Outcome(fallback)
    if not verdict.allowed:
        return Outcome(fallback, verdict.refusal)
    return Outcome("overridden", reason=verdict.reason or "no reason given")


def dedup_key(decision: Decision, outcome: Outcome, holder: str, paths: list[str]) -> str:
    """The same attempt told to the same holder has the same key (mail is not sent twice)."""
    import json

    from maf_hooks.core.digest import sha256_hex

    return sha256_hex(json.dumps([outcome.status, decision.agent, holder, decision.operation, paths]).encode())


def _who(agent: str | None) -> str:
    return shown(agent) if agent else "an agent with no identity"


def subject(decision: Decision, outcome: Outcome, holder: str, count: int, repository: str) -> str:
    what = f"{count} path{'s' if count != 1 else ''} you hold"
    head = f"[MAF] RESERVATION_CONFLICT in {shown(repository)}"
    if outcome.status == "overridden":
        return f"{head}: {_who(decision.agent)} overrode your lease ({what})"
    verb = "was refused" if outcome.status == "blocked" else "went through with a warning"
    article = "an" if decision.operation == "edit" else "a"
    return f"{head}: {article} {decision.operation} by {_who(decision.agent)} touching {what} {verb}"


def _act(operation: str) -> str:
    """What the agent did to the paths: 'commit changes to', 'push changes to', 'edit'."""
    return "edit" if operation == "edit" else f"{operation} changes to"


def holder_text(decision: Decision, outcome: Outcome, holder: str, items: list[dict[str, Any]], now: int,
                repository: str) -> str:
    """The holder's message: who did what in ``repository``, each path with its lease and when
    the lease ends (an absolute time, and how long after this message: it is read later)."""
    lines = [f"Hello {holder},", ""]
    where = f"in {shown(repository)}"
    if outcome.status == "overridden":
        lines.append(
            f"{_who(decision.agent)} used the emergency override (MAF_RESERVATION_OVERRIDE) to {_act(decision.operation)} "
            f"paths you hold a lease on {where}. Their reason: {shown(outcome.reason)}"
        )
    elif outcome.status == "blocked":
        lines.append(f"{_who(decision.agent)} tried to {_act(decision.operation)} paths you hold a lease on {where}. "
                     "The attempt was refused.")
    else:
        lines.append(f"{_who(decision.agent)} made a{'n' if decision.operation == 'edit' else ''} "
                     f"{decision.operation} that changes paths you hold a lease on {where}. "
                     "The hook is in warn mode, so it went through.")
    lines.append("")
    for row in items[:REPORT_PATHS]:
        lease = row["lease"]
        lines.append(f"  {shown(row['path'])}")
        lines.append(f"      your lease {lease.id} on {quoted(lease.pattern)} ends {iso(lease.expires_at)}, "
                     f"{after(lease.expires_at, now)}")
    if len(items) > REPORT_PATHS:
        lines.append(f"  ... and {len(items) - REPORT_PATHS} more: every one is in the attached maf.json, "
                     f"and {list_command(decision.agent)} lists them")
    lines += ["", ("Please reply to them (maf mail send --to "
                   f"{_who(decision.agent) if decision.agent else 'AGENT'} --subject ... --body ...) or release the lease when you are done "
                   "(maf-lease release PATTERN)."), "", SIGNATURE]
    return "\n".join(lines) + "\n"


def lease_ids(items: list[dict[str, Any]]) -> list[str]:
    """The leases of the paths a holder's message shows (the first REPORT_PATHS), each once, in the
    order of its paths: the threads it belongs to (bounded, as the message's text is)."""
    return list(dict.fromkeys(row["lease"].id for row in items[:REPORT_PATHS]))


def told(mailed: list[str], queued: list[str], suppressed: Mapping[str, str]) -> str:
    """What the holders were told, truthfully: mailed, queued (delivery failed or not yet done),
    or already mailed / already queued about this same attempt (the dedup rule)."""
    parts = []
    if mailed:
        parts.append(f"mail was sent to {', '.join(shown(h) for h in mailed)}")
    if queued:
        parts.append(f"mail to {', '.join(shown(h) for h in queued)} is queued (not delivered yet)")
    before = [shown(h) for h, status in suppressed.items() if status == "delivered"]
    waiting = [shown(h) for h, status in suppressed.items() if status != "delivered"]
    if before:
        parts.append(f"mail to {', '.join(before)} about this same attempt was already sent recently")
    if waiting:
        parts.append(f"mail to {', '.join(waiting)} about this same attempt is already queued (not delivered yet)")
    return "; ".join(parts) if parts else "no mail could be written to them"


REPORT_PATHS = 20  # a refusal shows this many paths; the rest are counted and listed by list_command()
_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+-")


def list_command(agent: str | None) -> str:
    """The command that lists every record of a refusal too long to show: the recent conflicts
    of the agent who was refused (of everyone, without an agent id fit for a command line)."""
    if agent and not agent.startswith("-") and _TOKEN.issuperset(agent):
        return f"`maf-lease conflicts --since 10m --agent {agent}`"
    return "`maf-lease conflicts --since 10m`"


def grouped(conflicts: list[tuple[str, Lease]], limit: int = REPORT_PATHS) -> tuple[list[tuple[Lease, list[str]]], int]:
    """The (path, lease) pairs of the first ``limit`` paths grouped by lease, each lease with its
    paths (in their order), the leases of one holder together (holders in order of first
    appearance); and how many paths are left out."""
    groups: dict[str, tuple[Lease, list[str]]] = {}
    holders: dict[str, None] = {}
    seen: dict[str, None] = {}
    for path, lease in conflicts:
        if path not in seen:
            if len(seen) == limit:
                break
            seen[path] = None
        holders.setdefault(lease.agent, None)
        groups.setdefault(lease.id, (lease, []))[1].append(path)
    order = {holder: rank for rank, holder in enumerate(holders)}
    ordered = sorted(groups.values(), key=lambda group: order[group[0].agent])  # stable: leases in order
    return ordered, len({path for path, _ in conflicts}) - len(seen)


def report(decision: Decision, outcome: Outcome, mailed: list[str], failures: list[str], now: int, *,
           queued: list[str] | None = None, suppressed: Mapping[str, str] | None = None) -> str:
    """The message the committer reads on stderr."""
    count = len({path for path, _ in decision.conflicts})
    head = {
        "blocked": f"RESERVATION_CONFLICT: this {decision.operation} is refused: it changes {count} path(s) "
                   "leased by another agent.",
        "warned": f"RESERVATION_CONFLICT (warning only, hook mode is warn): this {decision.operation} changes "
                  f"{count} path(s) leased by another agent.",
        "overridden": f"RESERVATION_CONFLICT OVERRIDDEN: MAF_RESERVATION_OVERRIDE lets this {decision.operation} "
                      f"through although it changes {count} path(s) leased by another agent. "
                      f"Reason recorded: {shown(outcome.reason)}. The holders are being told.",
    }[outcome.status]
    lines = [head, ""]
    groups, more = grouped(decision.conflicts)
    for lease, paths in groups:
        lines += [f"  {shown(path)}" for path in paths]
        lines.append(f"      held by {shown(lease.agent)} (pattern {quoted(lease.pattern)}, lease {lease.id})")
        lines.append(f"      until {iso(lease.expires_at)} ({relative(lease.expires_at, now)})")
        lines.append(f"      reason: {shown(lease.reason) if lease.reason else '(none given)'}")
    if more:
        lines.append(f"  ... and {more} more path{'s' if more != 1 else ''}: {list_command(decision.agent)} lists them")
    lines.append("")
    if outcome.note:
        lines += [outcome.note, ""]
    if outcome.status != "overridden":
        holders = ", ".join(sorted({shown(lease.agent) for _, lease in decision.conflicts}))
        lines += [
            "What to do:",
            "  - wait until the lease ends;",
            f"  - ask the holder ({holders}): {told(mailed, queued or [], suppressed or {})}; write with `maf mail send --to {holders.split(', ')[0]} ...`;",
            "  - see who holds what: `maf-lease check PATH...`;",
        ]
        if not outcome.note:  # when an override was refused, the note says why instead
            lines.append("  - " + OVERRIDE_HOW.replace("git commit", f"git {decision.operation}"))
    for failure in failures:
        lines.append(f"maf: warning: could not deliver mail to {failure}")
    if decision.agent is None:
        lines += ["", "You have no agent identity, so every lease counts as another agent's. " + HOW_TO_SET]
    else:
        lines += ["", f"(checked as agent {shown(decision.agent)})"]
    return "\n".join(lines) + "\n"


EDIT_OVERRIDE_HOW = ("Emergency override (audited, the holder is told): start the agent client with "
                     "MAF_RESERVATION_OVERRIDE=1 MAF_OVERRIDE_REASON='why' in its environment.")


def edit_reason(decision: Decision, outcome: Outcome, told_text: str, now: int) -> str:
    """Why an agent's edit is refused, as one paragraph the agent can act on: each path, its
    holder, the holder's pattern, when the lease ends and its reason; then what to do."""
    held = []
    for path, lease in decision.conflicts[:REPORT_PATHS]:
        why = f"reason: {shown(lease.reason)}" if lease.reason else "no reason given"
        held.append(f"{shown(path)} is leased exclusively by {shown(lease.agent)} (pattern {quoted(lease.pattern)}, "
                    f"lease {lease.id}, until {iso(lease.expires_at)}, {relative(lease.expires_at, now)}; {why})")
    holder = sorted({lease.agent for _, lease in decision.conflicts})[0]
    who = f"You are agent {shown(decision.agent)}." if decision.agent else \
        "You have no agent identity, so every lease counts as another agent's. " + HOW_TO_SET
    note = f" {outcome.note}" if outcome.note else ""
    if len(decision.conflicts) > REPORT_PATHS:
        held.append(f"and {len(decision.conflicts) - REPORT_PATHS} more (path, lease) pairs, which "
                    f"{list_command(decision.agent)} lists")
    return (f"RESERVATION_CONFLICT: maf refused this edit: {'; '.join(held)}. Do not edit "
            f"{'these files' if len(held) > 1 else 'this file'} now. Work on something else and try again after "
            f"the lease ends, ask the holder to release it (`maf mail send --to {shown(holder)} --subject ... --body ...`;"
            f" {told_text}), or see who holds what with `maf-lease check PATH`.{note} {who}")
