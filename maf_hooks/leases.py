"""Transitional: ``LeaseBook(conn, clock)``, the old lease API over a raw connection, for callers
not yet moved to the store (preflight's fix and check helpers, benchmarks, some tests). It adds
no rule of its own: each method calls :mod:`maf_hooks.core.leases` over a
:class:`~maf_hooks.store.sqlite.SqliteStore` wrapped around the connection. Goes once they use
``Context.store()`` and :mod:`maf_hooks.services.leasing`.
"""

from __future__ import annotations

import os

from maf_hooks.core import leases as rules
from maf_hooks.core.model import EXCLUSIVE, SHARED, AcquireResult, Conflict, Lease, blocks
from maf_hooks.store.sqlite import SqliteStore
from maf_hooks.store.sqlite.connection import Database
from maf_hooks.timeutil import now_ms

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable, Sequence
    from typing import Any, Callable

__all__ = ["EXCLUSIVE", "SHARED", "AcquireResult", "Conflict", "Lease", "LeaseBook", "blocks"]


class LeaseBook:
    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], int] = now_ms) -> None:
        self.conn = conn
        self.clock = clock
        self.store = SqliteStore(Database(conn, ""), clock, audit_webhook=bool(os.environ.get("AUDIT_WEBHOOK_URL")))

    def event(self, task_id: str, kind: str, agent: str | None, data: dict[str, Any], now: int | None = None) -> None:
        with self.store.write() as section_now:
            self.store.events.append(task_id, kind, agent, data, section_now if now is None else now)

    def active(self, now: int, *, agent: str | None = None) -> list[Lease]:
        return self.store.leases.active(now, agent=agent)

    def all(self, *, agent: str | None = None) -> list[Lease]:
        return self.store.leases.all(agent=agent)

    def overlapping(self, pattern: str, now: int) -> list[Lease]:
        return rules.overlapping(self.store, pattern, now)

    def expire_due(self, now: int | None = None) -> list[Lease]:
        store = self.store if now is None else SqliteStore(self.store.db, lambda: now)
        return rules.expire_due(store)

    def _insert(self, agent: str, pattern: str, mode: str, reason: str, now: int, expires: int) -> Lease:
        """A lease written without any conflict check (benchmarks fill a store with it)."""
        with self.store.write():
            return rules.insert_lease(self.store, agent, pattern, mode, reason, now, expires)

    def acquire(self, agent: str, pattern_list: Sequence[str], ttl_ms: int, **options: Any) -> AcquireResult:
        return rules.acquire(self.store, agent, pattern_list, ttl_ms, **options)

    def renew(self, agent: str, pattern_list: Sequence[str] | None, ttl_ms: int) -> list[Lease]:
        return rules.renew(self.store, agent, pattern_list, ttl_ms)

    def release(self, agent: str, **options: Any) -> list[Lease]:
        return rules.release(self.store, agent, **options)

    def check(self, paths: Iterable[str], now: int | None = None) -> dict[str, list[Lease]]:
        return rules.check(self.store, paths, self.clock() if now is None else now)

    def heartbeat(self, agent: str, status: str | None = None) -> int:
        return rules.heartbeat(self.store, agent, status)

    def agents(self, now: int | None = None) -> list[dict[str, Any]]:
        return [state.to_json() for state in self.store.leases.agents(self.clock() if now is None else now)]
