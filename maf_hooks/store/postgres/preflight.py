"""The PostgreSQL preflight keeper: the repository's ``preflight_executions`` rows."""

from __future__ import annotations

import json

from maf_hooks.store.preflight import HISTORY_COLUMNS, PreflightRecords, history_run

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.store.postgres import PostgresStore
    from maf_hooks.store.preflight import PreflightRun



class PostgresPreflightRecords(PreflightRecords):
    def __init__(self, store: PostgresStore) -> None:
        self.db, self.repo = store.db, store.repository

    def available(self) -> bool:
        return True  # the server's first schema holds the history

    def start(self, run: PreflightRun) -> None:
        self.db.execute(
            "INSERT INTO preflight_executions (repository, id, config_id, agent_id, execution_id, check_type, status, "
            "context_json, started_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, 'running', %s, %s, %s)",
            (self.repo, run.row_id, run.config_id, run.agent_id, run.execution_id, run.check_type,
             json.dumps(run.context, sort_keys=True), run.started_at, run.started_at))

    def finish(self, run: PreflightRun, status: str, result: dict[str, Any], error: str | None,
               completed_at: int) -> None:
        self.db.execute(
            "INSERT INTO preflight_executions (repository, id, config_id, agent_id, execution_id, check_type, status, "
            "context_json, result_json, error_message, started_at, completed_at, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (repository, id) DO UPDATE SET "
            "status = excluded.status, result_json = excluded.result_json, error_message = excluded.error_message, "
            "completed_at = excluded.completed_at",
            (self.repo, run.row_id, run.config_id, run.agent_id, run.execution_id, run.check_type, status,
             json.dumps(run.context, sort_keys=True), json.dumps(result, sort_keys=True), error, run.started_at,
             completed_at, run.started_at))

    def history(self, *, limit: int, agent: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        rows = self.db.all(
            f"SELECT {HISTORY_COLUMNS} FROM preflight_executions WHERE repository = %s "
            "AND (%s::text IS NULL OR agent_id = %s) AND (%s::text IS NULL OR status = %s) "
            "ORDER BY created_at DESC, seq DESC LIMIT %s",
            (self.repo, agent or None, agent or None, status or None, status or None, limit))
        return [history_run(row) for row in rows]

    def failures_since(self, agent: str, since: int) -> int:
        return int(self.db.scalar(
            "SELECT COUNT(*) FROM preflight_executions WHERE repository = %s AND agent_id = %s AND status = 'failed' "
            "AND created_at >= %s", (self.repo, agent, since)))
