"""The SQLite conflict records: ``reservation_conflicts``, ``mail_log`` and ``mail_outbox``."""

from __future__ import annotations

from maf_hooks.store.conflicts import (
    OUTBOX_FIELDS,
    RECORD_COLUMN_NAMES,
    RECORD_COLUMNS,
    RECORD_FIELDS,
    ConflictRecords,
    record_row,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

    from maf_hooks.store.sqlite import SqliteStore


class SqliteConflictRecords(ConflictRecords):
    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db

    def add_many(self, records: Iterable[dict[str, Any]]) -> None:
        self.db.insert_rows("reservation_conflicts", RECORD_COLUMN_NAMES, [record_row(r) for r in records])

    def since(self, start: int) -> list[dict[str, Any]]:
        rows = self.db.all(f"SELECT {RECORD_COLUMNS} FROM reservation_conflicts WHERE created_at >= ? "
                           "ORDER BY created_at, id", (start,))
        return [dict(zip(RECORD_FIELDS, row)) for row in rows]

    def stream(self, start: int, *, agent: str | None = None, limit: int | None = None,
               batch: int = 1000) -> Iterator[dict[str, Any]]:
        sql = f"SELECT {RECORD_COLUMNS} FROM reservation_conflicts WHERE created_at >= ?"
        args: list[Any] = [start]
        if agent is not None:
            sql += " AND agent_id = ?"
            args.append(agent)
        sql += " ORDER BY created_at, id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        for page in self.db.pages(sql, args, batch):
            yield from (dict(zip(RECORD_FIELDS, row)) for row in page)

    def latest(self, limit: int, *, status: str | None = None) -> list[dict[str, Any]]:
        where, args = ("WHERE status = ? ", (status, limit)) if status is not None else ("", (limit,))
        rows = self.db.all(f"SELECT {RECORD_COLUMNS} FROM reservation_conflicts {where}"
                           "ORDER BY created_at DESC, id DESC LIMIT ?", args)
        return [dict(zip(RECORD_FIELDS, row)) for row in rows]

    def mailed_since(self, dedup_key: str, start: int) -> bool:
        return self.db.one("SELECT 1 FROM mail_log WHERE dedup_key = ? AND sent_at > ?", (dedup_key, start)) is not None

    def log_mail(self, dedup_key: str, recipient: str, maf_type: str, message_key: str, now: int) -> None:
        self.db.execute("INSERT INTO mail_log (dedup_key, recipient, maf_type, message_key, sent_at) "
                        "VALUES (?, ?, ?, ?, ?)", (dedup_key, recipient, maf_type, message_key, now))

    def recent_mail(self, dedup_key: str, start: int) -> str | None:
        if self.mailed_since(dedup_key, start):
            return "delivered"
        row = self.db.one("SELECT 1 FROM mail_outbox WHERE dedup_key = ? AND created_at > ? AND status = 'pending'",
                          (dedup_key, start))
        return "pending" if row is not None else None

    def queue_mail(self, row: dict[str, Any]) -> int:
        cursor = self.db.execute(
            "INSERT INTO mail_outbox (dedup_key, recipient, maf_type, message, token, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            (row["dedup_key"], row["recipient"], row["maf_type"], row["message"], row["token"], row["created_at"]))
        return int(cursor.lastrowid or 0)

    def pending_mail(self, *, limit: int = 100, exclude: tuple[int, ...] = ()) -> list[dict[str, Any]]:
        rows = self.db.all(f"SELECT {_OUTBOX} FROM mail_outbox WHERE status = 'pending' ORDER BY id LIMIT ?",
                           (limit + len(exclude),))
        return [row for row in (dict(zip(OUTBOX_FIELDS, values)) for values in rows) if row["id"] not in exclude][:limit]

    def outbox(self, ids: list[int]) -> list[dict[str, Any]]:
        if not ids:
            return []
        rows = self.db.all(f"SELECT {_OUTBOX} FROM mail_outbox WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id",
                           tuple(ids))
        return [dict(zip(OUTBOX_FIELDS, values)) for values in rows]

    def mail_delivered(self, outbox_id: int, message_key: str, now: int) -> bool:
        row = self.db.one("SELECT dedup_key, recipient, maf_type FROM mail_outbox WHERE id = ? AND status = 'pending'",
                          (outbox_id,))
        if row is None:
            return False
        self.db.execute("UPDATE mail_outbox SET status = 'delivered', message_key = ?, delivered_at = ?, "
                        "attempts = attempts + 1, last_error = NULL WHERE id = ?", (message_key, now, outbox_id))
        self.log_mail(row[0], row[1], row[2], message_key, now)
        return True

    def mail_failed(self, outbox_id: int, error: str, now: int) -> None:
        self.db.execute("UPDATE mail_outbox SET attempts = attempts + 1, last_error = ? WHERE id = ? "
                        "AND status = 'pending'", (error[:2000], outbox_id))


_OUTBOX = ", ".join(OUTBOX_FIELDS)
