"""The PostgreSQL event log: the repository's chained ``events`` rows (ids from its
``maf_counters`` row, so that each repository's chain counts 1, 2, 3, ... on a shared server),
and the audit webhook's outbox."""

from __future__ import annotations

from maf_hooks.store.events import EventLog, chained, webhook_document

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from maf_hooks.store.postgres import PostgresStore


# one round trip: ``%s`` more ids (the counter row stays locked by this update until the section
# ends, so ids never repeat: the last one given comes back) and the hash of the newest event
_NEXT = (
    "WITH counter AS (INSERT INTO maf_counters (repository, last_event_id) VALUES (%s, %s) ON CONFLICT (repository) "
    "DO UPDATE SET last_event_id = maf_counters.last_event_id + excluded.last_event_id RETURNING last_event_id) "
    "SELECT counter.last_event_id, COALESCE((SELECT hash FROM events WHERE repository = %s "
    "ORDER BY id DESC LIMIT 1), '') FROM counter")


class PostgresEventLog(EventLog):
    def __init__(self, store: PostgresStore) -> None:
        self.db, self.repo = store.db, store.repository
        self.queue_webhook = store.audit_webhook

    def append_many(self, items: Sequence[tuple[str, str, str | None, dict[str, Any]]], ts: int) -> list[int]:
        if not items:
            return []
        db = self.db
        last, previous = db.one(_NEXT, (self.repo, len(items), self.repo))
        rows = chained(int(last) - len(items) + 1, previous, items, ts)
        db.executemany(
            "INSERT INTO events (repository, id, task_id, ts, kind, data_json, agent_id, prev_hash, hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", [(self.repo, *row) for row, _ in rows])
        if self.queue_webhook:
            db.executemany(
                "INSERT INTO audit_outbox (repository, event_id, payload_json, next_attempt_at) VALUES (%s, %s, %s, %s)",
                [(self.repo, row[0], webhook_document(row[0], row[1], ts, row[3], row[5], payload), ts)
                 for row, payload in rows])
        return [row[0] for row, _ in rows]
