"""Escalation triggers met by lease and conflict events: the one place this part opens escalations.

A forced takeover (``lease_takeover``), a refused or warned conflict (``reservation_conflict``) and
an override (``override_used``) count towards the triggers of ``[escalation.paths]``. Mailbox
deliveries go out at once; email and webhook deliveries wait for ``maf escalate tick``, so a hook
never waits on a network.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Callable

    from maf_hooks.store.base import Store


def fire(store: Store, cfg: Any, agent: str | None, conditions: Sequence[tuple[str, dict[str, Any]]], now: int,
         mail_root: Callable[[], str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    """Open the escalations whose triggers ``conditions`` (``(condition, context)`` pairs) meet;
    return their ids. Nothing happens without configured escalation paths."""
    if not cfg.get("escalation.paths"):
        return []
    from maf_hooks import delivery, escalation

    conn = store.db.conn  # type: ignore[attr-defined]  # the escalation functions take a connection
    opened: list[str] = []
    for condition, context in conditions:
        opened += escalation.on_condition(conn, cfg, agent, condition, now, context)
    if opened:
        escalation.sync_paths(conn, cfg, now)
        delivery.deliver_pending(conn, cfg, mail_root(), now, channels=("mailbox",), sleep=lambda _: None,
                                 environ=environ)
    return opened
