"""The PostgreSQL event log: the repository's chained ``events`` rows (ids from its
``maf_counters`` row, so that each repository's chain counts 1, 2, 3, ... on a shared server),
and the audit webhook's outbox."""

from __future__ import annotations

from maf_hooks.core.chain import chain_hash
from maf_hooks.store.events import EventLog, event_payload, webhook_document

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.store.postgres import PostgresStore


_NEXT = (
    "WITH counter AS (INSERT INTO maf_counters (repository, last_event_id) VALUES (%s, 1) ON CONFLICT (repository) "
    "DO UPDATE SET last_event_id = maf_counters.last_event_id + 1 RETURNING last_event_id) "
    "SELECT counter.last_event_id, COALESCE((SELECT hash FROM events WHERE repository = %s "
    "ORDER BY id DESC LIMIT 1), '') FROM counter")


class PostgresEventLog(EventLog):
    def __init__(self, store: PostgresStore) -> None:
        self.db, self.repo = store.db, store.repository
        self.queue_webhook = store.audit_webhook

    def append(self, task_id: str, kind: str, agent: str | None, data: dict[str, Any], ts: int) -> int:
        payload, data_json = event_payload(data, agent)
        db = self.db
        # one round trip: the next id (the counter row stays locked by this update until the
        # section ends, so ids never repeat) and the hash of the newest event
        event_id, previous = db.one(_NEXT, (self.repo, self.repo))
        row = (event_id, task_id, ts, kind, data_json, agent)
        db.execute(
            "INSERT INTO events (repository, id, task_id, ts, kind, data_json, agent_id, prev_hash, hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (self.repo, *row, previous, chain_hash(previous, row)))
        if self.queue_webhook:
            db.execute(
                "INSERT INTO audit_outbox (repository, event_id, payload_json, next_attempt_at) VALUES (%s, %s, %s, %s)",
                (self.repo, event_id, webhook_document(event_id, task_id, ts, kind, agent, payload), ts))
        return event_id
