"""The PostgreSQL retention: what ``maf db gc`` counts and deletes among this repository's rows,
and ``VACUUM`` of the tables it deletes from (see :mod:`maf_hooks.store.retention`)."""

from __future__ import annotations

from maf_hooks.store.retention import Retention

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.store.postgres import PostgresStore

# record -> (table, which of this repository's rows are older than the second ``%s``)
_OLD = {
    "leases": ("leases", "ended_at IS NOT NULL AND ended_at < %s"),
    "conflicts": ("reservation_conflicts", "created_at < %s"),
    "mail_outbox": ("mail_outbox", "status = 'delivered' AND COALESCE(delivered_at, created_at) < %s"),
    "mail_log": ("mail_log", "sent_at < %s"),
    "mail_messages": ("mail_messages", "created_at < %s"),
    "audit_outbox": ("audit_outbox", "delivered_at IS NOT NULL AND delivered_at < %s"),
}
_TABLES = tuple(table for table, _ in _OLD.values()) + ("events",)


class PostgresRetention(Retention):
    records = tuple(_OLD)

    def __init__(self, store: PostgresStore) -> None:
        self.db, self.repo = store.db, store.repository

    def count(self, record: str, before: int) -> int:
        table, where = _OLD[record]
        return int(self.db.scalar(f"SELECT COUNT(*) FROM {table} WHERE repository = %s AND {where}",
                                  (self.repo, before)))

    def delete(self, record: str, before: int) -> int:
        table, where = _OLD[record]
        return self.db.execute(f"DELETE FROM {table} WHERE repository = %s AND {where}", (self.repo, before)).rowcount

    def event_prefix_end(self, before: int) -> int | None:
        stop = self.db.scalar(
            "SELECT LEAST((SELECT id FROM events WHERE repository = %s AND ts >= %s ORDER BY id LIMIT 1), "
            "(SELECT MIN(e.id) FROM leases l JOIN events e ON e.repository = l.repository AND e.task_id = l.id "
            "WHERE l.repository = %s AND l.ended_at IS NULL))", (self.repo, before, self.repo))
        if stop is None:
            return self.db.scalar("SELECT MAX(id) FROM events WHERE repository = %s", (self.repo,))
        return self.db.scalar("SELECT MAX(id) FROM events WHERE repository = %s AND id < %s", (self.repo, stop))

    def delete_events_through(self, event_id: int) -> int:
        # the repository's counter (maf_counters) keeps its value: a pruned id is never handed out again
        return self.db.execute("DELETE FROM events WHERE repository = %s AND id <= %s", (self.repo, event_id)).rowcount

    def vacuum(self) -> dict[str, Any]:
        """Plain ``VACUUM (ANALYZE)`` of each table gc deletes from: the space of deleted rows is
        reused by new ones and free pages at a table's end go back to the system, without the
        exclusive lock of ``VACUUM FULL``, which would stop every repository's agents on the
        server. A role that may not vacuum a table gets a warning from the server, not an
        error: the tables it skipped are named."""
        before = self._bytes()
        skipped: list[str] = []
        with self.db.warnings() as warnings:
            for table in _TABLES:
                self.db.execute(f"VACUUM (ANALYZE) {table}")
                if warnings:
                    skipped.append(f"{table} ({warnings[-1]})")
                    warnings.clear()
        after = self._bytes()
        if skipped:
            note = ("the server skipped " + ", ".join(skipped) + ": VACUUM needs the table's owner, the "
                    "database's owner or the MAINTAIN privilege (PostgreSQL 17); run `maf db gc --vacuum` as the "
                    "role that ran `maf db migrate`, or leave it to autovacuum")
        else:
            note = (f"VACUUM (ANALYZE) of {', '.join(_TABLES)}: the space of deleted rows is free for new rows "
                    "(the tables are shared by every repository on the server)")
        return {"done": not skipped, "note": note, "bytes_before": before, "bytes_after": after}

    def _bytes(self) -> int:
        return int(self.db.scalar("SELECT SUM(pg_total_relation_size(t::regclass)) FROM unnest(%s::text[]) AS t",
                                  (list(_TABLES),)))
