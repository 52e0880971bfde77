"""Moving one repository's records between stores: every record kind as canonical rows.

A canonical row is a tuple in the order of its kind's :data:`KINDS` columns, holding ints, text,
None and (for a message) bytes; bytes become base64 only at a JSON edge (:func:`json_value`).
Each backend maps its own tables to these rows (SQLite keeps a lease in ``tasks`` + ``leases``
+ ``file_leases``, PostgreSQL in one ``leases`` row), so a copy, an export or an import reads
one store through :meth:`Transfer.dump` and writes another through :meth:`Transfer.load`,
never one backend's SQL against the other.

Rows come in batches of at most ``batch`` (keyset pages in key order), so memory stays bounded
whatever the size of the history; loading them in that order keeps ids, tokens and the audit
chain's hashes as they were. The counters (the highest event id ever issued, the last fencing
token) travel apart from the rows (:class:`Counters`).
"""

from __future__ import annotations

import abc
import importlib
from typing import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any

    from maf_hooks.store.base import Store

BATCH = 500

# kind -> canonical columns, in load order (escalation tracking before its deliveries)
KINDS: dict[str, tuple[str, ...]] = {
    "leases": ("id", "agent_id", "pattern", "mode", "reason", "prefix", "state", "created_at", "updated_at",
               "expires_at", "ended_at", "end_reason", "claim_session", "token", "payload_json"),
    "agents": ("id", "status", "first_seen", "last_heartbeat"),
    "events": ("id", "task_id", "ts", "kind", "data_json", "agent_id", "prev_hash", "hash"),
    "conflicts": ("id", "agent_id", "file_path", "conflict_type", "severity", "holder_agent_id", "lease_id",
                  "lease_expires_at", "attempted_operation", "status", "override_reason", "created_at"),
    "mail_outbox": ("id", "dedup_key", "recipient", "maf_type", "message", "token", "status", "attempts",
                    "last_error", "message_key", "created_at", "delivered_at"),
    "mail_log": ("id", "dedup_key", "recipient", "maf_type", "message_key", "sent_at"),
    "preflight": ("id", "config_id", "agent_id", "execution_id", "check_type", "status", "context_json",
                  "result_json", "error_message", "started_at", "completed_at", "created_at"),
    "escalation_paths": ("id", "name", "description", "trigger_conditions", "escalation_steps", "timeout_minutes",
                         "max_escalation_level", "is_active", "created_at", "updated_at"),
    "escalation_tracking": ("escalation_id", "path_id", "agent_id", "execution_id", "current_level", "status",
                            "context_json", "reason", "target", "priority", "created_at", "updated_at",
                            "resolved_at", "condition", "bead_id", "level_started_at", "acknowledged_at", "note",
                            "delivery_status", "delivery_error"),
    "escalation_deliveries": ("id", "escalation_id", "level", "target", "channel", "maf_type", "payload_json",
                              "status", "attempts", "last_error", "claimed_at", "created_at", "updated_at"),
    # agent mail held by the store (fleet mode); in SQLite mode mail is the Maildir under the mail root
    "mail_messages": ("agent", "key", "message", "created_at", "seen_at", "synced_at"),
}
# the columns a kind is paged and ordered by
KEYS: dict[str, tuple[str, ...]] = {kind: ("id",) for kind in KINDS}
KEYS["escalation_tracking"] = ("escalation_id",)
KEYS["mail_messages"] = ("agent", "key")
# the table of a kind where both backends name it alike
TABLES = {kind: kind for kind in KINDS}
TABLES.update(conflicts="reservation_conflicts", preflight="preflight_executions")



class Counters(NamedTuple):
    """The highest event id ever issued (even if that event is gone) and the last fencing token given."""

    last_event_id: int
    last_token: int


class Transfer(abc.ABC):
    """One store's records as canonical rows. Generic paging and inserting over a backend's
    ``Database`` (``all``, ``executemany``, ``execute``, ``scalar``); a backend says how its
    tables differ (:meth:`source`, :meth:`target`), how to empty them and where its counters are.

    Writes (:meth:`load`, :meth:`clear`, :meth:`set_counters`) belong inside one write section
    of the store, so that a copy is kept whole or not at all."""

    mark = "?"  # the driver's placeholder
    kinds: tuple[str, ...] = tuple(KINDS)  # the kinds this backend holds

    def __init__(self, db: Any) -> None:
        self.db = db

    # --- how the backend's tables differ from the canonical rows -----------------------------

    def scope(self) -> tuple[str, tuple]:
        """A condition limiting a table to this repository (``1 = 1`` for a file of its own)."""
        return "1 = 1", ()

    def source(self, kind: str) -> tuple[str, Sequence[str], Sequence[str]]:
        """(FROM clause, the canonical columns as expressions, the key columns as expressions)."""
        return TABLES[kind], KINDS[kind], KEYS[kind]

    def target(self, kind: str, rows: Sequence[tuple]) -> list[tuple[str, Sequence[str], list[tuple]]]:
        """The inserts that store ``rows``: (table, columns, values per row)."""
        return [(TABLES[kind], KINDS[kind], list(rows))]

    # --- reading ------------------------------------------------------------------------------

    def dump(self, kind: str, batch: int = BATCH) -> Iterator[list[tuple]]:
        """Every row of ``kind``, in key order, ``batch`` rows at a time."""
        table, columns, keys = self.source(kind)
        where, args = self.scope()
        sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {where}"
        order = f" ORDER BY {', '.join(keys)} LIMIT {int(batch)}"
        positions = [list(columns).index(key) for key in keys]
        marks = ", ".join([self.mark] * len(keys))
        after: tuple | None = None
        while True:
            if after is None:
                rows = self.db.all(sql + order, args)
            else:
                rows = self.db.all(f"{sql} AND ({', '.join(keys)}) > ({marks}){order}", (*args, *after))
            if not rows:
                return
            yield [tuple(row) for row in rows]
            if len(rows) < batch:
                return
            after = tuple(rows[-1][i] for i in positions)

    def count(self, kind: str) -> int:
        table, _, _ = self.source(kind)
        where, args = self.scope()
        return int(self.db.scalar(f"SELECT COUNT(*) FROM {table} WHERE {where}", args))

    # --- writing ------------------------------------------------------------------------------

    def load(self, kind: str, rows: Sequence[tuple]) -> None:
        """Store canonical ``rows`` of ``kind`` (into an empty repository: :meth:`clear` first)."""
        for table, columns, values in self.target(kind, rows):
            if values:
                marks = ", ".join([self.mark] * len(columns))
                self.db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)

    @abc.abstractmethod
    def clear(self, keep: Sequence[str] = ()) -> None:
        """Remove every record of this repository the kinds hold, but those of the kinds in
        ``keep`` (and its audit webhook queue, which names the events removed); the counters
        stay (:meth:`set_counters`)."""

    @abc.abstractmethod
    def counters(self) -> Counters:
        """This repository's counters."""

    @abc.abstractmethod
    def set_counters(self, counters: Counters) -> None:
        """Set this repository's counters (the caller never lowers the token counter)."""


_MODULES = {"sqlite": "maf_hooks.store.sqlite.transfer", "postgresql": "maf_hooks.store.postgres.transfer"}


def transfer_of(store: Store) -> Transfer:
    """The :class:`Transfer` of an open store (its backend's module, imported only now)."""
    module = importlib.import_module(_MODULES[store.backend])
    return module.transfer(store)


def json_value(value: Any) -> Any:
    """A canonical value for a JSON document: bytes as ``{"base64": ...}``, the rest as it is."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        import base64

        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    return value
