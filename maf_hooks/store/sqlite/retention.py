"""The SQLite retention: what ``maf db gc`` counts and deletes in the database file, and
``VACUUM`` (see :mod:`maf_hooks.store.retention`)."""

from __future__ import annotations

from maf_hooks.store.retention import Retention

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.store.sqlite import SqliteStore

# record -> (table, which rows are older than ``?``)
_OLD = {
    "leases": ("file_leases", "ended_at IS NOT NULL AND ended_at < ?"),
    "conflicts": ("reservation_conflicts", "created_at < ?"),
    "mail_outbox": ("mail_outbox", "status = 'delivered' AND COALESCE(delivered_at, created_at) < ?"),
    "mail_log": ("mail_log", "sent_at < ?"),
    "audit_outbox": ("audit_outbox", "delivered_at IS NOT NULL AND delivered_at < ?"),
}


class SqliteRetention(Retention):
    records = tuple(_OLD)  # fleet mail lives in Maildir files here, which gc never deletes

    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db

    def count(self, record: str, before: int) -> int:
        table, where = _OLD[record]
        return int(self.db.scalar(f"SELECT COUNT(*) FROM {table} WHERE {where}", (before,)))

    def delete(self, record: str, before: int) -> int:
        found = self.count(record, before)
        if record == "leases":
            # a file lease is a task with its leases row: deleting the task deletes both (and any
            # evidence) by the foreign keys' ON DELETE CASCADE; its events stay (migration 8)
            self.db.execute("DELETE FROM tasks WHERE id IN (SELECT task_id FROM file_leases WHERE "
                            f"{_OLD['leases'][1]})", (before,))
            return found
        table, where = _OLD[record]
        self.db.execute(f"DELETE FROM {table} WHERE {where}", (before,))
        return found

    def event_prefix_end(self, before: int) -> int | None:
        stop = self.db.scalar(
            "SELECT MIN(id) FROM (SELECT id FROM (SELECT id FROM events WHERE ts >= ? ORDER BY id LIMIT 1) "
            "UNION ALL SELECT MIN(e.id) FROM file_leases f JOIN events e ON e.task_id = f.task_id "
            "WHERE f.ended_at IS NULL)", (before,))
        if stop is None:
            return self.db.scalar("SELECT MAX(id) FROM events")
        return self.db.scalar("SELECT MAX(id) FROM events WHERE id < ?", (stop,))

    def delete_events_through(self, event_id: int) -> int:
        # AUTOINCREMENT keeps its counter: a pruned id is never handed out again
        return self.db.execute("DELETE FROM events WHERE id <= ?", (event_id,)).rowcount

    def vacuum(self) -> dict[str, Any]:
        before = self._bytes()
        self.db.execute("VACUUM")
        busy = self.db.one("PRAGMA wal_checkpoint(TRUNCATE)")[0]  # the rebuilt file leaves the WAL
        after = self._bytes()
        note = "VACUUM rebuilt the database file"
        if busy:
            note += "; its write-ahead log is folded into it once the readers open now have finished"
        return {"done": True, "note": note, "bytes_before": before, "bytes_after": after}

    def _bytes(self) -> int:
        return int(self.db.scalar("PRAGMA page_count")) * int(self.db.scalar("PRAGMA page_size"))
