"""The live board's one document (``maf serve``'s ``/api/board``, schema ``maf.board/1``): who
holds what, the agents and their last heartbeat, recent conflicts and overrides, the open
escalations and the audit chain's state, read through the storage interface (every backend).

Every list is bounded, newest or most urgent first where it is cut: a board is read every few
seconds by every open page, so what one read costs follows these bounds, not the store's size.
Times are ISO text and, where the page computes with them, milliseconds (``*_ms``) on the
store's clock (``now_ms``), so that a browser's own clock never enters "time left".
"""

from __future__ import annotations

from maf_hooks.core.audit import STALE_MINUTES
from maf_hooks.services.documents import conflict_entry, schema
from maf_hooks.timeutil import iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.store.base import Store

SCHEMA = schema("board")  # "maf.board/1"
LEASES = 500  # active leases shown (as `maf-lease list` orders them); ``more_leases``: there are more
CONFLICTS = 20  # recent conflict records shown
OVERRIDES = 10  # recent overridden conflicts shown
# what the board shows of an escalation record (not its context, which can be large)
ESCALATION_FIELDS = ("escalation_id", "path_id", "agent_id", "condition", "current_level", "status", "target",
                     "priority", "reason", "note", "delivery_status")
ESCALATION_TIMES = ("created_at", "updated_at", "level_started_at", "acknowledged_at")
AUDIT_FIELDS = ("valid", "checked", "first_invalid_id", "problem", "from_checkpoint", "checkpoint_id")


def snapshot(store: Store | None, now: int, *, stale_minutes: int = STALE_MINUTES) -> dict[str, Any]:
    """The board at ``now`` (the store's time). No store yet (nothing was ever leased): an empty
    board. Validating the chain moves its checkpoint as ``maf audit validate`` does, so that the
    next read hashes only the events added since."""
    document: dict[str, Any] = {
        "schema": SCHEMA, "generated_at": iso(now), "now_ms": now, "backend": None, "stale_minutes": stale_minutes,
        "leases": [], "more_leases": False, "agents": [], "conflicts": [], "overrides": [], "escalations": [],
        "audit": {"valid": True, "checked": 0, "first_invalid_id": None, "problem": None, "from_checkpoint": False,
                  "checkpoint_id": None},
    }
    if store is None:
        return document
    from maf_hooks.core.escalation import OPEN
    from maf_hooks.services import audit

    leases = list(store.leases.listing(now, limit=LEASES + 1))
    stale = {agent for agent, _, _ in store.audit.stale_lease_holders(now, now - stale_minutes * 60_000)}
    chain = audit.validate(store)
    document.update(
        backend=store.backend,
        leases=[_lease(lease, now) for lease in leases[:LEASES]],
        more_leases=len(leases) > LEASES,
        agents=[dict(agent.to_json(), stale=agent.agent in stale) for agent in store.leases.agents(now)],
        conflicts=[conflict_entry(record) for record in store.conflicts.latest(CONFLICTS)],
        overrides=[conflict_entry(record) for record in store.conflicts.latest(OVERRIDES, status="overridden")],
        escalations=_escalations(store.escalations.listing(OPEN)),
        audit={key: chain.get(key) for key in AUDIT_FIELDS},
    )
    return document


def _lease(lease: Any, now: int) -> dict[str, Any]:
    entry = lease.to_json(now)
    return {key: entry[key] for key in ("id", "agent", "pattern", "mode", "reason", "created_at", "expires_at",
                                        "expires_at_ms", "auto_claim", "token")} | {"left_ms": lease.expires_at - now}


def _escalations(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The open escalations, the highest level first, then the oldest."""
    records = sorted(records, key=lambda record: (-int(record["current_level"] or 0), record["created_at"]))
    return [{key: record.get(key) for key in ESCALATION_FIELDS} | {key: iso(record.get(key)) for key in ESCALATION_TIMES}
            for record in records]
