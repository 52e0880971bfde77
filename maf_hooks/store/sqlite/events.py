"""The SQLite event log: chained ``events`` rows, and the audit webhook's outbox."""

from __future__ import annotations

from maf_hooks.store.events import EventLog, chained, webhook_document

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from maf_hooks.store.sqlite import SqliteStore


class SqliteEventLog(EventLog):
    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db
        self.queue_webhook = store.audit_webhook

    def append_many(self, items: Sequence[tuple[str, str, str | None, dict[str, Any]]], ts: int) -> list[int]:
        if not items:
            return []
        db = self.db
        last = db.one("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")
        previous = (last[1] or "") if last else ""
        # AUTOINCREMENT never reuses an id, even of a deleted last row: take the next one it would
        sequence = db.one("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        first = max(sequence[0] if sequence else 0, last[0] if last else 0) + 1
        rows = chained(first, previous, items, ts)
        db.executemany("INSERT INTO events (id, task_id, ts, kind, data_json, agent_id, prev_hash, hash) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [row for row, _ in rows])
        if self.queue_webhook:
            db.executemany(
                "INSERT INTO audit_outbox (event_id, payload_json, next_attempt_at) VALUES (?, ?, ?)",
                [(row[0], webhook_document(row[0], row[1], ts, row[3], row[5], payload), ts) for row, payload in rows])
        return [row[0] for row, _ in rows]
