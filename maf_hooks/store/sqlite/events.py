"""The SQLite event log: chained ``events`` rows, and the audit webhook's outbox."""

from __future__ import annotations

from maf_hooks.core.chain import chain_hash
from maf_hooks.store.events import EventLog, event_payload, webhook_document

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.store.sqlite import SqliteStore


class SqliteEventLog(EventLog):
    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db
        self.queue_webhook = store.audit_webhook

    def append(self, task_id: str, kind: str, agent: str | None, data: dict[str, Any], ts: int) -> int:
        payload, data_json = event_payload(data, agent)
        db = self.db
        last = db.one("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")
        previous = (last[1] or "") if last else ""
        # AUTOINCREMENT never reuses an id, even of a deleted last row: take the next one it would
        sequence = db.one("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        event_id = max(sequence[0] if sequence else 0, last[0] if last else 0) + 1
        row = (event_id, task_id, ts, kind, data_json, agent)
        db.execute(
            "INSERT INTO events (id, task_id, ts, kind, data_json, agent_id, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (*row, previous, chain_hash(previous, row)),
        )
        if self.queue_webhook:
            db.execute(
                "INSERT INTO audit_outbox (event_id, payload_json, next_attempt_at) VALUES (?, ?, ?)",
                (event_id, webhook_document(event_id, task_id, ts, kind, agent, payload), ts),
            )
        return event_id

