"""The run history: one record per run, written only when a lease database already exists.

The history's entries are named as the report is (camelCase: ``executionId``); a report stored
before the report carried ``schema`` spelt its duration ``duration_ms``, read as ``durationMs``.

A run is recorded as ``running`` when it starts and set to ``passed`` or ``failed`` when it ends
(a run that was killed stays ``running``). The store is never created or migrated here: one
whose schema predates the history (before migration 3) is left alone, and the run says it was
not recorded. The records live behind the store (:mod:`maf_hooks.store.preflight`).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from maf_hooks.errors import StorageError
from maf_hooks.store.preflight import PreflightRun
from maf_hooks.timeutil import iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

    from maf_hooks.store.base import Store
    from maf_hooks.store.open import Location

TIMEOUT_SECONDS = 5.0


class Recorder:
    def __init__(self, location: Location, run: PreflightRun, *, environ: Mapping[str, str],
                 clock: Callable[[], int], timeout: float = TIMEOUT_SECONDS) -> None:
        self.location = location
        self.run = run
        self.environ = environ
        self.clock = clock
        self.timeout = timeout
        self.recorded = False
        self.note: Optional[str] = None

    def _open(self) -> Optional[Store]:
        if not self.location.exists():
            self.note = "not recorded: there is no lease database"
            return None
        store = self.location.open(environ=self.environ, clock=self.clock, create=False, migrate=False,
                                   timeout=self.timeout)
        schema = store.schema()
        if schema.version > schema.latest or not store.preflight.available():
            store.close()
            self.note = (f"not recorded: the lease database has schema version {schema.version}"
                         + (" (`maf-preflight --fix` migrates it)" if schema.version < schema.latest else ""))
            return None
        return store

    def begin(self) -> None:
        try:
            store = self._open()
            if store is None:
                return
            with store, store.write():
                store.preflight.start(self.run)
        except StorageError as exc:
            self.note = f"not recorded: {exc}"

    def finish(self, report: dict, completed_ms: int) -> None:
        status = "failed" if report["status"] == "failed" else "passed"
        failed = [f"{c['id']}: {c['message']}" for c in report["checks"] if c["status"] == "failed"]
        error = "; ".join(failed)[:2000] or None
        try:
            store = self._open()
            if store is None:
                return
            with store, store.write():
                # the row may be missing: the database appeared during the run (--fix)
                store.preflight.finish(self.run, status, report, error, completed_ms)
            self.recorded, self.note = True, None
        except StorageError as exc:
            self.note = f"not recorded: {exc}"


def history(location: Location, *, environ: Mapping[str, str], limit: int = 20, agent: Optional[str] = None,
            status: Optional[str] = None, timeout: float = TIMEOUT_SECONDS) -> list[dict[str, Any]]:
    """The most recent runs, newest first (an empty list without a database or the history)."""
    if not location.exists():
        return []
    with location.open(environ=environ, read_only=True, timeout=timeout) as store:
        if not store.preflight.available():
            return []
        rows = store.preflight.history(limit=limit, agent=agent, status=status)
    return [{
        "id": row["id"], "configId": row["config_id"], "agentId": row["agent_id"],
        "executionId": row["execution_id"], "checkType": row["check_type"], "status": row["status"],
        "errorMessage": row["error_message"], "startedAt": iso(row["started_at"]),
        "completedAt": iso(row["completed_at"]), "createdAt": iso(row["created_at"]),
        "durationMs": _either(row["result"], "durationMs", "duration_ms"), "summary": row["result"].get("summary"),
    } for row in rows]


def _either(report: dict[str, Any], key: str, older: str) -> Any:
    """A stored report's ``key``, or its spelling before maf.preflight.report/1 (``older``)."""
    return report[key] if key in report else report.get(older)
