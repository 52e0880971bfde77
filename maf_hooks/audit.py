"""Transitional: the raw-connection entry points of the audit trail, for callers not yet moved
to :mod:`maf_hooks.services.audit` (the rules are :mod:`maf_hooks.core.audit`)."""

from __future__ import annotations

from maf_hooks.core.audit import SEVERITIES  # noqa: F401 - the names callers use from here
from maf_hooks.services import audit as service
from maf_hooks.services.audit import RETRY_BASE_MS, WEBHOOK_BUDGET_SECONDS, mail_mentioning  # noqa: F401
from maf_hooks.store.sqlite.legacy import store_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from typing import Any, Callable


def validate_chain(conn: sqlite3.Connection, since_ms: int | None = None) -> dict[str, Any]:
    return service.validate(store_for(conn, 0), since_ms)


def report(conn: sqlite3.Connection, *, since_ms: int, agent: str | None = None) -> dict[str, Any]:
    return service.report(store_for(conn, 0), since_ms=since_ms, agent=agent)


def guard(conn: sqlite3.Connection, *, bead_id: str, mail_root: str, max_kb: float, now: int,
          stale_minutes: int = 60) -> dict[str, Any]:
    return service.guard(store_for(conn, now), bead_id=bead_id, mail_root=mail_root, max_kb=max_kb, now=now,
                         stale_minutes=stale_minutes)


def flush_outbox(conn: sqlite3.Connection, url: str, now: int, *,
                 budget_seconds: float = WEBHOOK_BUDGET_SECONDS,
                 post: Callable[[str, bytes, float], Any] | None = None,
                 clock: Callable[[], float] | None = None) -> dict[str, int]:
    return service.flush(store_for(conn, now), url, now, budget_seconds=budget_seconds, post=post, clock=clock)


def pending(conn: sqlite3.Connection) -> int:
    return service.pending(store_for(conn, 0))
