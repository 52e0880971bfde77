"""What `maf-lease` reports, built once for every front end: the ``--json`` documents of its
commands and the text of a refused acquire. ``maf-lease`` prints them; the MCP tools return them
(the document as structured output, the text as a tool error's content).

Also the one table of every ``--json`` document's kind (:data:`SCHEMAS`): each document carries
``"schema": "maf.<kind>/<version>"`` as its first key (docs/json.md lists them)."""

from __future__ import annotations

from maf_hooks.core.text import quoted, shown, storable
from maf_hooks.timeutil import iso, relative

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from maf_hooks.core.model import AcquireResult, Lease
    from maf_hooks.services.leasing import PathReport

# kind -> (version, naming style of its keys). A kind is the command's path ("db.check" for
# `maf db check`); "camel" marks the seeds' wire formats (the preflight report, ESCALATION_REQUEST
# and the manual escalation's answer, AUDIT_GUARD_RESULT), "snake" everything else.
SCHEMAS: dict[str, tuple[int, str]] = {
    "lease.acquire": (1, "snake"), "lease.renew": (1, "snake"), "lease.release": (1, "snake"),
    "lease.list": (1, "snake"), "lease.check": (1, "snake"), "lease.heartbeat": (1, "snake"),
    "lease.agents": (1, "snake"), "lease.conflicts": (1, "snake"),
    "mail.list": (1, "snake"), "mail.read": (1, "snake"), "mail.send": (1, "snake"), "mail.flush": (1, "snake"),
    "mail.sync": (1, "snake"),
    "error": (1, "snake"),  # a command given --json that is refused (exit 1): the message and the exit code
    "config.show": (1, "snake"), "config.validate": (1, "snake"),
    "db.path": (1, "snake"), "db.migrate": (1, "snake"), "db.copy": (1, "snake"), "db.check": (1, "snake"),
    "db.backup": (1, "snake"), "db.restore": (1, "snake"), "db.export": (1, "snake"), "db.import": (1, "snake"),
    "db.import-legacy": (1, "snake"), "db.gc": (1, "snake"),
    "export": (1, "snake"),  # the file `maf db export` writes (services/export.py)
    "board": (1, "snake"),  # the live board's document (services/board.py)
    "init": (1, "snake"), "init.agents": (1, "snake"),
    "metrics": (1, "snake"), "metrics.textfile": (1, "snake"), "serve": (1, "snake"),
    "audit.validate": (1, "snake"), "audit.report": (1, "snake"), "audit.flush": (1, "snake"),
    "audit.guard": (1, "camel"),  # AUDIT_GUARD_RESULT
    "escalate": (1, "camel"),  # `maf escalate`: the seeds' answer, its ESCALATION_REQUEST in "message"
    "escalate.tick": (1, "snake"), "escalate.monitor": (1, "snake"), "escalate.ack": (1, "snake"),
    "escalate.resolve": (1, "snake"), "escalate.list": (1, "snake"), "escalate.show": (1, "snake"),
    "preflight.report": (1, "camel"),  # the seeds' preflight report (also --output, and the history's records)
    "preflight.history": (1, "camel"), "preflight.config": (1, "snake"),
}


def schema(kind: str) -> str:
    """``maf.<kind>/<version>``: the ``schema`` value of a ``kind`` of document (KeyError if unknown)."""
    return f"maf.{kind}/{SCHEMAS[kind][0]}"


def stamped(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with ``"schema"`` first."""
    return {"schema": schema(kind), **body}


NOTHING_LEASED = ("Nothing was leased. Wait for the lease to end, ask its holder (`maf mail send`), "
                  "or take it over with --force.")


def lease_line(lease: Lease, now: int) -> str:
    """One lease for a person: the holder, pattern and reason (others' text) :func:`shown`."""
    reason = f" — {shown(lease.reason)}" if lease.reason else ""
    return (
        f"{shown(lease.agent)} holds {quoted(lease.pattern)} ({lease.mode}, {lease.id}) until "
        f"{iso(lease.expires_at)} ({relative(lease.expires_at, now)}){reason}"
    )


def escalation_notes(opened: Sequence[str]) -> list[str]:
    """The lines that announce the escalations a forced takeover opened."""
    return [f"maf: escalation {escalation_id} opened (forced takeovers); see `maf escalate show {escalation_id}`."
            for escalation_id in opened]


def acquire_warnings(result: AcquireResult, now: int) -> list[str]:
    """The lines `maf-lease acquire` writes on stderr: each lease taken over, each conflict, and
    when nothing was granted (a refusal, exit 1) what to do about it."""
    lines = [f"took over: {lease_line(lease, now)}" for lease in result.taken_over]
    lines += [f"conflict: {quoted(c.pattern)} overlaps — {lease_line(c.lease, now)}" for c in result.conflicts]
    if refused(result):
        lines.append(NOTHING_LEASED)
    return lines


def refused(result: AcquireResult) -> bool:
    """An acquire that conflicted and granted nothing (all or nothing: exit 1)."""
    return bool(result.conflicts) and not result.granted


def acquired(result: AcquireResult, now: int) -> dict[str, Any]:
    return stamped("lease.acquire", result.to_json(now))


def renewed(leases: Sequence[Lease], now: int) -> dict[str, Any]:
    return stamped("lease.renew", {"renewed": [lease.to_json(now) for lease in leases]})


def released(leases: Sequence[Lease], now: int) -> dict[str, Any]:
    return stamped("lease.release", {"released": [lease.to_json(now) for lease in leases]})


def lease_list(leases: Sequence[Lease], skewed: set[str], now: int) -> dict[str, Any]:
    """``maf-lease list --json``: each lease, and whether it was taken with a clock ahead."""
    return stamped("lease.list", {LEASE_LIST: [lease_entry(lease, lease.id in skewed, now) for lease in leases]})


LEASE_LIST = "leases"  # the one key of lease_list: `maf-lease list --json` streams its entries


def lease_entry(lease: Lease, skewed: bool, now: int) -> dict[str, Any]:
    """One lease of :func:`lease_list`."""
    return dict(lease.to_json(now), clock_skew=skewed)


def checked(agent: str | None, reports: Sequence[PathReport], now: int) -> dict[str, Any]:
    """``maf-lease check --json``: for each path the leases covering it, which block ``agent``."""
    return stamped("lease.check", {
        "agent": agent,
        "blocked": any(report.blocked for report in reports),
        "paths": [{
            "path": storable(report.path),
            "blocked": report.blocked,
            "leases": [dict(lease.to_json(now), blocks_you=blocks, yours=lease.agent == agent)
                       for lease, blocks in report.entries],
        } for report in reports],
    })


def heartbeat(agent: str, status: str | None, when: int) -> dict[str, Any]:
    return stamped("lease.heartbeat", {"agent": agent, "status": status, "last_heartbeat": iso(when)})


CONFLICTS = "conflicts"  # the one key of conflicts: `maf-lease conflicts --json` streams its entries


def conflicts(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``maf-lease conflicts --json``: the RESERVATION_CONFLICT records, times as ISO text."""
    return stamped("lease.conflicts", {CONFLICTS: [conflict_entry(r) for r in rows]})


def conflict_entry(record: dict[str, Any]) -> dict[str, Any]:
    """One record of :func:`conflicts`."""
    return dict(record, lease_expires_at=iso(record["lease_expires_at"]), created_at=iso(record["created_at"]))
