"""The PostgreSQL side of :mod:`maf_hooks.store.transfer`: this repository's rows on a shared
server (every statement is limited to ``repository = storage.repository``; other repositories'
rows are never read or touched).

The canonical columns are this schema's own. Ids that the server numbers for every repository
at once (``mail_outbox``, ``mail_log``, ``escalation_deliveries``: one sequence each) are given
afresh on load, in the order of the rows loaded, since the ids of another store may be taken
here by another repository; event ids and fencing tokens are per repository and are kept.
Agent mail is the ``mail_messages`` kind (:func:`load_mail_messages` writes Maildir messages
there).
"""

from __future__ import annotations

from maf_hooks.store.transfer import KINDS, TABLES, Counters, Transfer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from maf_hooks.store.postgres import PostgresStore

_NUMBERED_HERE = ("mail_outbox", "mail_log", "escalation_deliveries")
_MAIL_LOG_KEY = KINDS["mail_log"].index("message_key")


class PostgresTransfer(Transfer):
    mark = "%s"

    def __init__(self, db: Any, repository: str) -> None:
        super().__init__(db)
        self.repo = repository

    def scope(self) -> tuple[str, tuple]:
        return "repository = %s", (self.repo,)

    def target(self, kind: str, rows: Sequence[tuple]) -> list[tuple[str, Sequence[str], list[tuple]]]:
        columns = KINDS[kind]
        if kind in _NUMBERED_HERE:
            if kind == "mail_log":  # SQLite may hold no key for mail sent before keys were recorded
                rows = [(*row[:_MAIL_LOG_KEY], row[_MAIL_LOG_KEY] or "", *row[_MAIL_LOG_KEY + 1:]) for row in rows]
            return [(TABLES[kind], ("repository", *columns[1:]), [(self.repo, *row[1:]) for row in rows])]
        return [(TABLES[kind], ("repository", *columns), [(self.repo, *row) for row in rows])]

    def clear(self, keep: Sequence[str] = ()) -> None:
        for table in (*(TABLES[kind] for kind in KINDS if kind not in keep), "audit_outbox"):
            self.db.execute(f"DELETE FROM {table} WHERE repository = %s", (self.repo,))

    def counters(self) -> Counters:
        row = self.db.one("SELECT last_event_id, last_token FROM maf_counters WHERE repository = %s", (self.repo,))
        return Counters(int(row[0]), int(row[1])) if row else Counters(0, 0)

    def set_counters(self, counters: Counters) -> None:
        self.db.execute(
            "INSERT INTO maf_counters (repository, last_event_id, last_token) VALUES (%s, %s, %s) "
            "ON CONFLICT (repository) DO UPDATE SET last_event_id = excluded.last_event_id, "
            "last_token = excluded.last_token", (self.repo, counters.last_event_id, counters.last_token))


def transfer(store: PostgresStore) -> PostgresTransfer:
    return PostgresTransfer(store.db, store.repository)


def load_mail_messages(store: PostgresStore, rows: Sequence[tuple]) -> None:
    """Write agent mail (canonical ``mail_messages`` rows: agent, Maildir key, message bytes,
    created_at, seen_at, synced_at) as this repository's ``mail_messages`` rows. The one place
    the copy writes mail; the mail keeper is to take it over (see docs/fleet.md, "Moving between backends")."""
    transfer(store).load("mail_messages", rows)
