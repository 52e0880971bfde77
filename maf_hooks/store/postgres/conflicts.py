"""The PostgreSQL conflict records: the repository's ``reservation_conflicts``, ``mail_log`` and
``mail_outbox`` rows."""

from __future__ import annotations

from maf_hooks.store.conflicts import OUTBOX_FIELDS, RECORD_COLUMNS, RECORD_FIELDS, ConflictRecords, record_row

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

    from maf_hooks.store.postgres import PostgresStore

_OUTBOX = ", ".join(OUTBOX_FIELDS)


def _outbox_row(values: Any) -> dict[str, Any]:
    row = dict(zip(OUTBOX_FIELDS, values))
    row["message"] = bytes(row["message"])
    return row


class PostgresConflictRecords(ConflictRecords):
    def __init__(self, store: PostgresStore) -> None:
        self.db, self.repo = store.db, store.repository
        self.store = store

    def add_many(self, records: Iterable[dict[str, Any]]) -> None:
        self.db.executemany(
            f"INSERT INTO reservation_conflicts (repository, {RECORD_COLUMNS}) VALUES (%s, {','.join(['%s'] * len(RECORD_FIELDS))})",
            [(self.repo, *record_row(record)) for record in records])

    def since(self, start: int) -> list[dict[str, Any]]:
        rows = self.db.all(f"SELECT {RECORD_COLUMNS} FROM reservation_conflicts WHERE repository = %s AND created_at >= %s "
                           "ORDER BY created_at, id", (self.repo, start))
        return [dict(zip(RECORD_FIELDS, row)) for row in rows]

    def stream(self, start: int, *, agent: str | None = None, limit: int | None = None,
               batch: int = 1000) -> Iterator[dict[str, Any]]:
        sql = f"SELECT {RECORD_COLUMNS} FROM reservation_conflicts WHERE repository = %s AND created_at >= %s"
        args: list[Any] = [self.repo, start]
        if agent is not None:
            sql += " AND agent_id = %s"
            args.append(agent)
        sql += " ORDER BY created_at, id"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        for page in self.db.pages(sql, args, batch):
            yield from (dict(zip(RECORD_FIELDS, row)) for row in page)

    def latest(self, limit: int, *, status: str | None = None) -> list[dict[str, Any]]:
        where, args = ("AND status = %s ", (self.repo, status, limit)) if status is not None else ("", (self.repo, limit))
        rows = self.db.all(f"SELECT {RECORD_COLUMNS} FROM reservation_conflicts WHERE repository = %s {where}"
                           "ORDER BY created_at DESC, id DESC LIMIT %s", args)
        return [dict(zip(RECORD_FIELDS, row)) for row in rows]

    def mailed_since(self, dedup_key: str, start: int) -> bool:
        return self.db.one("SELECT 1 FROM mail_log WHERE repository = %s AND dedup_key = %s AND sent_at > %s",
                           (self.repo, dedup_key, start)) is not None

    def log_mail(self, dedup_key: str, recipient: str, maf_type: str, message_key: str, now: int) -> None:
        self.db.execute("INSERT INTO mail_log (repository, dedup_key, recipient, maf_type, message_key, sent_at) "
                        "VALUES (%s, %s, %s, %s, %s, %s)", (self.repo, dedup_key, recipient, maf_type, message_key, now))

    def recent_mail(self, dedup_key: str, start: int) -> str | None:
        if self.mailed_since(dedup_key, start):
            return "delivered"
        row = self.db.one("SELECT 1 FROM mail_outbox WHERE repository = %s AND dedup_key = %s AND created_at > %s "
                          "AND status = 'pending'", (self.repo, dedup_key, start))
        return "pending" if row is not None else None

    def queue_mail(self, row: dict[str, Any]) -> int:
        return int(self.db.scalar(
            "INSERT INTO mail_outbox (repository, dedup_key, recipient, maf_type, message, token, status, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s) RETURNING id",
            (self.repo, row["dedup_key"], row["recipient"], row["maf_type"], bytes(row["message"]), row["token"],
             row["created_at"])))

    def pending_mail(self, *, limit: int = 100, exclude: tuple[int, ...] = ()) -> list[dict[str, Any]]:
        opened = self.store.opened
        if opened is not None and not opened.mail_pending:  # none waited when the store opened, none written since
            return []
        rows = self.db.all(f"SELECT {_OUTBOX} FROM mail_outbox WHERE repository = %s AND status = 'pending' "
                           "AND NOT (id = ANY(%s)) ORDER BY id LIMIT %s", (self.repo, list(exclude), limit))
        return [_outbox_row(values) for values in rows]

    def outbox(self, ids: list[int]) -> list[dict[str, Any]]:
        if not ids:
            return []
        rows = self.db.all(f"SELECT {_OUTBOX} FROM mail_outbox WHERE repository = %s AND id = ANY(%s) ORDER BY id",
                           (self.repo, list(ids)))
        return [_outbox_row(values) for values in rows]

    def mail_delivered(self, outbox_id: int, message_key: str, now: int) -> bool:
        row = self.db.one(
            "UPDATE mail_outbox SET status = 'delivered', message_key = %s, delivered_at = %s, attempts = attempts + 1, "
            "last_error = NULL WHERE repository = %s AND id = %s AND status = 'pending' "
            "RETURNING dedup_key, recipient, maf_type", (message_key, now, self.repo, outbox_id))
        if row is None:
            return False
        self.log_mail(row[0], row[1], row[2], message_key, now)
        return True

    def mail_failed(self, outbox_id: int, error: str, now: int) -> None:
        self.db.execute("UPDATE mail_outbox SET attempts = attempts + 1, last_error = %s WHERE repository = %s "
                        "AND id = %s AND status = 'pending'", (error[:2000], self.repo, outbox_id))
