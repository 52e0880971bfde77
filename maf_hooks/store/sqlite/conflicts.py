"""The SQLite conflict records: ``reservation_conflicts`` and ``mail_log``."""

from __future__ import annotations

from maf_hooks.store.conflicts import ConflictRecords

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.store.sqlite import SqliteStore

_FIELDS = ("id", "agent", "path", "conflict_type", "severity", "holder", "lease_id", "lease_expires_at",
           "operation", "status", "override_reason", "created_at")
_COLUMNS = ("id, agent_id, file_path, conflict_type, severity, holder_agent_id, lease_id, lease_expires_at, "
            "attempted_operation, status, override_reason, created_at")


class SqliteConflictRecords(ConflictRecords):
    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db

    def add(self, record: dict[str, Any]) -> None:
        row = dict(record, conflict_type=record.get("conflict_type", "lease"))
        self.db.execute(f"INSERT INTO reservation_conflicts ({_COLUMNS}) VALUES ({','.join('?' * len(_FIELDS))})",
                        tuple(row[name] for name in _FIELDS))

    def since(self, start: int) -> list[dict[str, Any]]:
        rows = self.db.all(f"SELECT {_COLUMNS} FROM reservation_conflicts WHERE created_at >= ? "
                           "ORDER BY created_at, id", (start,))
        return [dict(zip(_FIELDS, row)) for row in rows]

    def mailed_since(self, dedup_key: str, start: int) -> bool:
        return self.db.one("SELECT 1 FROM mail_log WHERE dedup_key = ? AND sent_at > ?", (dedup_key, start)) is not None

    def log_mail(self, dedup_key: str, recipient: str, maf_type: str, message_key: str, now: int) -> None:
        self.db.execute("INSERT INTO mail_log (dedup_key, recipient, maf_type, message_key, sent_at) "
                        "VALUES (?, ?, ?, ?, ?)", (dedup_key, recipient, maf_type, message_key, now))
