"""After a hook's decision (the git hooks' and the edit-time hooks'): retry what is queued, for
about a second each, then close the store. Nothing here changes the decision: a failure leaves
the rows queued for `maf mail flush`, `maf escalate tick`, `maf audit flush` and later runs.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hooks' path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable


def finish(state: dict[str, Any], environ: Mapping[str, str], clock: Callable[[], int]) -> None:
    """Retry queued conflict mail and audit deliveries, then close ``state["store"]`` (and forget
    it). ``state`` holds what the decision used: ``cfg``, ``paths`` and ``mail_tried``."""
    store = state.pop("store", None)
    if store is None:
        return
    try:
        flush_mail(store, state)
        flush_audit(store, environ, clock)
    finally:
        store.close()


def flush_audit(store: Any, environ: Mapping[str, str], clock: Callable[[], int]) -> None:
    """Send queued audit events to AUDIT_WEBHOOK_URL after the decision, for at most about a second
    (``audit.WEBHOOK_BUDGET_SECONDS``); what is left stays queued for later commands."""
    url = environ.get("AUDIT_WEBHOOK_URL")
    if url:
        from maf_hooks.services.audit import flush_quietly

        flush_quietly(store, url, clock())


MAIL_BUDGET_MS = 1000  # the hook retries queued conflict mail for at most about this long


def flush_mail(store: Any, settings: dict[str, Any]) -> None:
    """Retry queued conflict mail after the decision (never the rows this run just tried), for at
    most about a second; a failure changes nothing (the rows stay queued for `maf mail flush`,
    `maf escalate tick` and later hook runs)."""
    cfg, paths = settings.get("cfg"), settings.get("paths")
    if cfg is None or paths is None:
        return
    try:
        if not store.conflicts.pending_mail(limit=1, exclude=tuple(settings.get("mail_tried", ()))):
            return
        from maf_hooks.context import mail_root_for
        from maf_hooks.services.mail import deliver_outbox

        deliver_outbox(store, mail_root_for(paths, cfg), exclude=tuple(settings.get("mail_tried", ())), limit=50,
                       budget_ms=MAIL_BUDGET_MS)
    except Exception:  # noqa: BLE001 - the decision is made; mail stays queued
        pass
