"""The PostgreSQL mailboxes: the repository's ``mail_messages`` rows, one per (agent, key)."""

from __future__ import annotations

from maf_hooks.store.mailboxes import Mailboxes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.store.postgres import PostgresStore

_FIELDS = ("agent", "key", "message", "created_at", "seen_at", "synced_at")
_COLUMNS = ", ".join(_FIELDS)


def _row(values: Any) -> dict[str, Any]:
    row = dict(zip(_FIELDS, values))
    row["message"] = bytes(row["message"])
    return row


class PostgresMailboxes(Mailboxes):
    def __init__(self, store: PostgresStore) -> None:
        self.db, self.repo = store.db, store.repository

    def deliver(self, agent: str, key: str, message: bytes, now: int) -> bool:
        row = self.db.one("INSERT INTO mail_messages (repository, agent, key, message, created_at) "
                          "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                          (self.repo, agent, key, bytes(message), now))
        return row is not None

    def messages(self, agent: str, *, unread_only: bool = False) -> list[dict[str, Any]]:
        unread = " AND seen_at IS NULL" if unread_only else ""
        rows = self.db.all(f"SELECT {_COLUMNS} FROM mail_messages WHERE repository = %s AND agent = %s{unread} "
                           "ORDER BY created_at, key", (self.repo, agent))
        return [_row(values) for values in rows]

    def message(self, agent: str, key: str) -> dict[str, Any] | None:
        values = self.db.one(f"SELECT {_COLUMNS} FROM mail_messages WHERE repository = %s AND agent = %s AND key = %s",
                             (self.repo, agent, key))
        return None if values is None else _row(values)

    def mark_seen(self, agent: str, keys: list[str], now: int) -> list[str]:
        if not keys:
            return []
        rows = self.db.all("UPDATE mail_messages SET seen_at = %s WHERE repository = %s AND agent = %s "
                           "AND key = ANY(%s) AND seen_at IS NULL RETURNING key", (now, self.repo, agent, list(keys)))
        return sorted(row[0] for row in rows)

    def mark_synced(self, agent: str, keys: list[str], now: int) -> None:
        if keys:
            self.db.execute("UPDATE mail_messages SET synced_at = %s WHERE repository = %s AND agent = %s "
                            "AND key = ANY(%s) AND synced_at IS NULL", (now, self.repo, agent, list(keys)))
