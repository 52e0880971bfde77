"""Opening an escalation by hand (``maf escalate --agent-id ... --target ...``): check the
request, build the record, show what would be sent (a dry run), or open it and deliver it.

The lifecycle after that (tick, answer) is :mod:`maf_hooks.services.escalation`'s.
"""

from __future__ import annotations

from maf_hooks import identity, permissions
from maf_hooks.core import escalation as rules
from maf_hooks.errors import UsageError
from maf_hooks.services import delivery
from maf_hooks.services import escalation as lifecycle

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from maf_hooks.store.base import Store


def request(cfg: Any, *, agent: str, reason: str, bead_id: str, target: str, priority: str | None,
            context: dict[str, Any], path_id: str | None, now: int) -> dict[str, Any]:
    """The record of a hand-made escalation, after checking that ``agent`` is a valid id allowed
    to escalate to ``target``, that the target and the path (when given) are configured."""
    identity.validate_agent_id(agent, source="--agent-id value")
    rules.check_target(cfg, target)
    configured = rules.paths(cfg)
    if path_id and path_id not in configured:
        known = ", ".join(sorted(configured)) or "none configured"
        raise UsageError(f"Unknown escalation path {path_id!r} (configured: {known}).")
    allowed = permissions.for_agent(cfg, agent)
    allowed.require("can_escalate", "escalate")
    allowed.require_target(target)
    return rules.new_record(
        path_id=path_id or rules.MANUAL, agent=agent, condition=rules.MANUAL, reason=reason,
        context=dict(context, errorContext=reason, beadId=bead_id),
        priority=priority or cfg.get("escalation.default_priority") or "medium",
        target=target, now=now, bead_id=bead_id,
    )


class Preview:
    """What opening ``record`` would send: the level-1 message, its payload, and the channels."""

    def __init__(self, cfg: Any, record: dict[str, Any]) -> None:
        from maf_hooks.mail import escalation as message  # only a dry run builds it here
        from maf_hooks.services.mail import repository_name

        self.payload = rules.request_payload(record)
        self.channels = rules.channels_for(cfg, record["target"])
        self.message = message.build("ESCALATION_REQUEST", self.payload, record["target"],
                                     repository_name(None, cfg))


def open_and_send(store: Store, cfg: Any, record: dict[str, Any], mail_root: str,
                  environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """Open ``record`` and send its level-1 request by every channel of its target now; returns
    one result per delivery (none when the target is disabled). A failed delivery stays queued."""
    lifecycle.sync_paths(store, cfg)
    lifecycle.open_manual(store, cfg, record)
    return delivery.deliver_pending(store, cfg, mail_root, environ=environ, escalation_id=record["escalation_id"])
