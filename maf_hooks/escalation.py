"""Transitional: the raw-connection entry points of escalations, for callers not yet moved to
:mod:`maf_hooks.services.escalation` (the rules are :mod:`maf_hooks.core.escalation`). Each wraps
its connection in a store whose clock is the ``now`` it is given."""

from __future__ import annotations

from maf_hooks.core.escalation import (  # noqa: F401 - the names callers use from here
    ADVANCING,
    MANUAL,
    OPEN,
    PRIORITIES,
    check_target,
    new_record,
    paths,
    request_payload,
)
from maf_hooks.services import escalation as service
from maf_hooks.store.sqlite.legacy import store_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from typing import Any


def sync_paths(conn: sqlite3.Connection, cfg: Any, now: int) -> None:
    service.sync_paths(store_for(conn, now), cfg)


def open_manual(conn: sqlite3.Connection, cfg: Any, record: dict[str, Any], now: int) -> None:
    service.open_manual(store_for(conn, now), cfg, record)


def on_condition(conn: sqlite3.Connection, cfg: Any, agent: str | None, condition: str, now: int,
                 context: dict[str, Any] | None = None) -> list[str]:
    return service.on_condition(store_for(conn, now), cfg, agent, condition, context)


def get(conn: sqlite3.Connection, escalation_id: str) -> dict[str, Any] | None:
    return service.get(store_for(conn, 0), escalation_id)


def listing(conn: sqlite3.Connection, status: str | None = None) -> list[dict[str, Any]]:
    return service.listing(store_for(conn, 0), status)


def tick(conn: sqlite3.Connection, cfg: Any, now: int) -> list[dict[str, Any]]:
    return service.tick(store_for(conn, now), cfg)


def respond(conn: sqlite3.Connection, cfg: Any, escalation_id: str, status: str, responder: str | None, note: str,
            now: int) -> dict[str, Any]:
    return service.respond(store_for(conn, now), escalation_id, status, responder, note)
