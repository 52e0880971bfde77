"""The SQLite preflight keeper (``preflight_executions``, migration 3), the database health
facts, and :func:`run_query`, the ``database`` smoke test's read-only query against any SQLite
file (SQLite-specific by definition)."""

from __future__ import annotations

import json
import sqlite3
import time

from maf_hooks.errors import StorageError
from maf_hooks.store.preflight import HISTORY_COLUMNS, PreflightRecords, history_run
from maf_hooks.store.schema import Health

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from maf_hooks.store.preflight import PreflightRun
    from maf_hooks.store.sqlite import SqliteStore
    from maf_hooks.store.sqlite.connection import Database

FIRST_VERSION = 3  # the migration that created preflight_executions


class SqlitePreflightRecords(PreflightRecords):
    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db

    def available(self) -> bool:
        return bool(self.db.scalar("PRAGMA user_version") >= FIRST_VERSION)

    def start(self, run: PreflightRun) -> None:
        self.db.execute(
            "INSERT INTO preflight_executions (id, config_id, agent_id, execution_id, check_type, status, "
            "context_json, started_at, created_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
            (run.row_id, run.config_id, run.agent_id, run.execution_id, run.check_type,
             json.dumps(run.context, sort_keys=True), run.started_at, run.started_at),
        )

    def finish(self, run: PreflightRun, status: str, result: dict[str, Any], error: str | None,
               completed_at: int) -> None:
        result_json = json.dumps(result, sort_keys=True)
        updated = self.db.execute(
            "UPDATE preflight_executions SET status = ?, result_json = ?, error_message = ?, completed_at = ? "
            "WHERE id = ?", (status, result_json, error, completed_at, run.row_id),
        ).rowcount
        if updated != 1:
            self.db.execute(
                "INSERT INTO preflight_executions (id, config_id, agent_id, execution_id, check_type, status, "
                "context_json, result_json, error_message, started_at, completed_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.row_id, run.config_id, run.agent_id, run.execution_id, run.check_type, status,
                 json.dumps(run.context, sort_keys=True), result_json, error, run.started_at, completed_at,
                 run.started_at),
            )

    def history(self, *, limit: int, agent: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        where, args = [], []
        if agent:
            where.append("agent_id = ?")
            args.append(agent)
        if status:
            where.append("status = ?")
            args.append(status)
        sql = f"SELECT {HISTORY_COLUMNS} FROM preflight_executions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.db.all(sql + " ORDER BY created_at DESC, rowid DESC LIMIT ?", (*args, limit))
        return [history_run(row) for row in rows]

    def failures_since(self, agent: str, since: int) -> int:
        return int(self.db.scalar(
            "SELECT COUNT(*) FROM preflight_executions WHERE agent_id = ? AND status = 'failed' AND created_at >= ?",
            (agent, since),
        ))



def health(db: Database, latest: int, *, thorough: bool = True, full: bool = False) -> Health:
    """:meth:`maf_hooks.store.base.Store.health` for SQLite: ``PRAGMA`` quick_check (``full``:
    integrity_check, which also compares every index with its table, about 3 times as long),
    foreign_key_check (a small part of either: it looks rows up by key) and journal_mode."""
    from maf_hooks.store.schema import Schema

    schema = Schema(db.scalar("PRAGMA user_version"), latest, None)
    integrity = tables = None
    if thorough:
        integrity = [row[0] for row in db.all(f"PRAGMA {INTEGRITY_CHECKS[full]}")]
        tables = [row[0] for row in db.all("PRAGMA foreign_key_check")]
    mode = str(db.scalar("PRAGMA journal_mode")).lower()
    return Health(schema, mode, integrity, tables)


INTEGRITY_CHECKS = {False: "quick_check", True: "integrity_check"}  # by ``full``


class QueryFailed(StorageError):
    """:func:`run_query` could not answer. ``stage``: ``open``, ``query`` or ``timeout``; the
    message is SQLite's own (the file is not the lease database, so no advice is added)."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


def run_query(path: str, query: str, deadline: float, *,
              monotonic: Callable[[], float] = time.monotonic) -> int:
    """Run ``query`` on the SQLite file at ``path``, read-only, and count the rows it returns;
    interrupted once ``monotonic()`` passes ``deadline``. Raises :class:`QueryFailed`."""
    from maf_hooks.store.sqlite.connection import connect

    try:
        conn = connect(path, read_only=True, timeout=max(deadline - monotonic(), 0.0))
    except StorageError as exc:
        cause = exc.__cause__ or exc.__context__
        raise QueryFailed("open", str(cause) if isinstance(cause, sqlite3.Error) else str(exc)) from None
    conn.set_progress_handler(lambda: 1 if monotonic() > deadline else 0, 1000)
    try:
        rows = 0
        for _ in conn.execute(query):
            rows += 1
        return rows
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise QueryFailed("timeout", str(exc)) from None
        raise QueryFailed("query", str(exc)) from None
    except sqlite3.Error as exc:
        raise QueryFailed("query", str(exc)) from None
    finally:
        conn.close()
