"""``preflight_executions``: one row per run, written only when a lease database already exists.

A run inserts its row as ``running`` when it starts and sets ``passed`` or ``failed`` when it ends
(a run that was killed stays ``running``). The database is never created or migrated here: a
database older than migration 3 has no such table, and the run says it was not recorded.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Optional

from maf_hooks.timeutil import iso

FIRST_VERSION = 3  # the migration that created preflight_executions


class Recorder:
    def __init__(self, db_path: str, *, row_id: str, execution_id: str, config_id: str, agent_id: Optional[str],
                 check_type: str, context: dict, timeout: float = 5.0):
        self.db_path = db_path
        self.row_id = row_id
        self.execution_id = execution_id
        self.config_id = config_id
        self.agent_id = agent_id
        self.check_type = check_type
        self.context = context
        self.timeout = timeout
        self.inserted = False
        self.recorded = False
        self.note: Optional[str] = None

    def _open(self) -> Optional[sqlite3.Connection]:
        from maf_hooks.preflight.checks import open_existing  # noqa: PLC0415
        from maf_hooks.store.sqlite import migrations  # noqa: PLC0415

        if not os.path.exists(self.db_path):
            self.note = "not recorded: there is no lease database"
            return None
        conn = open_existing(self.db_path, self.timeout)
        version = migrations.current_version(conn)
        if not FIRST_VERSION <= version <= migrations.latest():
            conn.close()
            self.note = (f"not recorded: the lease database has schema version {version}"
                         + (" (`maf-preflight --fix` migrates it)" if version < FIRST_VERSION else ""))
            return None
        return conn

    def begin(self, started_ms: int) -> None:
        try:
            conn = self._open()
            if conn is None:
                return
            try:
                conn.execute(
                    "INSERT INTO preflight_executions (id, config_id, agent_id, execution_id, check_type, status, "
                    "context_json, started_at, created_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                    (self.row_id, self.config_id, self.agent_id, self.execution_id, self.check_type,
                     json.dumps(self.context, sort_keys=True), started_ms, started_ms),
                )
                self.inserted = True
            finally:
                conn.close()
        except sqlite3.Error as exc:
            self.note = f"not recorded: {exc}"

    def finish(self, report: dict, started_ms: int, completed_ms: int) -> None:
        status = "failed" if report["status"] == "failed" else "passed"
        failed = [f"{c['id']}: {c['message']}" for c in report["checks"] if c["status"] == "failed"]
        error = "; ".join(failed)[:2000] or None
        result = json.dumps(report, sort_keys=True)
        try:
            conn = self._open()
            if conn is None:
                return
            try:
                if self.inserted:
                    cursor = conn.execute(
                        "UPDATE preflight_executions SET status = ?, result_json = ?, error_message = ?, "
                        "completed_at = ? WHERE id = ?",
                        (status, result, error, completed_ms, self.row_id),
                    )
                    self.recorded = cursor.rowcount == 1
                if not self.recorded:  # the database appeared during the run (--fix), or lost the row
                    conn.execute(
                        "INSERT INTO preflight_executions (id, config_id, agent_id, execution_id, check_type, "
                        "status, context_json, result_json, error_message, started_at, completed_at, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (self.row_id, self.config_id, self.agent_id, self.execution_id, self.check_type, status,
                         json.dumps(self.context, sort_keys=True), result, error, started_ms, completed_ms,
                         started_ms),
                    )
                    self.recorded = True
                self.note = None
            finally:
                conn.close()
        except sqlite3.Error as exc:
            self.note = f"not recorded: {exc}"


def history(db_path: str, *, limit: int = 20, agent: Optional[str] = None, status: Optional[str] = None,
            timeout: float = 5.0) -> list[dict]:
    """The most recent runs, newest first (an empty list without a database or the table)."""
    from maf_hooks.preflight.checks import open_existing  # noqa: PLC0415
    from maf_hooks.store.sqlite import migrations  # noqa: PLC0415

    if not os.path.exists(db_path):
        return []
    conn = open_existing(db_path, timeout, read_only=True)
    try:
        if migrations.current_version(conn) < FIRST_VERSION:
            return []
        sql = ("SELECT id, config_id, agent_id, execution_id, check_type, status, error_message, started_at, "
               "completed_at, created_at, result_json FROM preflight_executions")
        where, args = [], []
        if agent:
            where.append("agent_id = ?")
            args.append(agent)
        if status:
            where.append("status = ?")
            args.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = conn.execute(sql + " ORDER BY created_at DESC, rowid DESC LIMIT ?", (*args, limit)).fetchall()
    finally:
        conn.close()
    runs = []
    for row in rows:
        try:
            result = json.loads(row[10]) if row[10] else {}
        except ValueError:
            result = {}
        runs.append({
            "id": row[0], "config_id": row[1], "agent_id": row[2], "execution_id": row[3], "check_type": row[4],
            "status": row[5], "error_message": row[6], "started_at": iso(row[7]), "completed_at": iso(row[8]),
            "created_at": iso(row[9]), "duration_ms": result.get("duration_ms"), "summary": result.get("summary"),
        })
    return runs


def failures_since(conn: sqlite3.Connection, agent_id: str, since_ms: int) -> int:
    """How many runs of ``agent_id`` failed at or after ``since_ms`` (for escalation triggers)."""
    return conn.execute(
        "SELECT COUNT(*) FROM preflight_executions WHERE agent_id = ? AND status = 'failed' AND created_at >= ?",
        (agent_id, since_ms),
    ).fetchone()[0]
