"""The SQLite side of :mod:`maf_hooks.store.transfer`: the database file is the repository.

A lease is three rows here (its synthetic ``tasks`` row, its ``leases`` row and its
``file_leases`` row, all keyed by the lease id) and one canonical row outside; other MAF tasks
(the ``maf:system`` task, tasks that are no file lease) are neither dumped nor removed. Event
ids are kept as they are, and ``sqlite_sequence`` carries the highest id ever issued, so that
the audit chain validates the same after a copy. Agent mail is not in this database (it is the
Maildir under the mail root), so ``mail_messages`` is no kind of this backend.
"""

from __future__ import annotations

from maf_hooks.store.transfer import KINDS, Counters, Transfer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from maf_hooks.store.sqlite import SqliteStore

_LEASE = ("t.id", "l.agent_id", "f.pattern", "f.mode", "f.reason", "f.prefix", "t.state", "f.created_at",
          "t.updated_at", "l.lease_expires_at", "f.ended_at", "f.end_reason", "f.claim_session", "f.token",
          "t.payload_json")  # KINDS["leases"]
assert len(_LEASE) == len(KINDS["leases"])

# removed by clear(), children first; leases are removed apart (see clear)
_TABLES = ("events", "audit_outbox", "reservation_conflicts", "mail_outbox", "mail_log", "preflight_executions",
           "escalation_deliveries", "escalation_tracking", "escalation_paths", "agents")


class SqliteTransfer(Transfer):
    mark = "?"
    kinds = tuple(kind for kind in KINDS if kind != "mail_messages")

    def source(self, kind: str) -> tuple[str, Sequence[str], Sequence[str]]:
        if kind == "leases":
            return ("file_leases f JOIN tasks t ON t.id = f.task_id JOIN leases l ON l.task_id = f.task_id",
                    _LEASE, ("t.id",))
        return super().source(kind)

    def target(self, kind: str, rows: Sequence[tuple]) -> list[tuple[str, Sequence[str], list[tuple]]]:
        if kind == "leases":
            tasks, leases, files = [], [], []
            for (lease_id, agent, pattern, mode, reason, prefix, state, created, updated, expires, ended, end_reason,
                 claim, token, payload) in rows:
                tasks.append((lease_id, state, payload or "{}", created, updated, 1))
                leases.append((lease_id, agent, expires, 1))
                files.append((lease_id, pattern, mode, reason or "", "", prefix, created, expires, ended, end_reason,
                              claim, token))
            return [("tasks", ("id", "state", "payload_json", "created_at", "updated_at", "attempts"), tasks),
                    ("leases", ("task_id", "agent_id", "lease_expires_at", "attempt"), leases),
                    ("file_leases", ("task_id", "pattern", "mode", "reason", "regex", "prefix", "created_at",
                                     "expires_at", "ended_at", "end_reason", "claim_session", "token"), files)]
        if kind == "escalation_tracking":  # the row's own id is its escalation id
            return [("escalation_tracking", ("id", *KINDS[kind]), [(row[0], *row) for row in rows])]
        return super().target(kind, rows)

    def clear(self, keep: Sequence[str] = ()) -> None:
        assert not set(keep) & set(self.kinds), "a SQLite file is cleared whole"
        for table in _TABLES:
            self.db.execute(f"DELETE FROM {table}")
        # a file lease's task removes its leases and file_leases rows with it (ON DELETE CASCADE)
        self.db.execute("DELETE FROM leases WHERE task_id IN (SELECT task_id FROM file_leases)")
        self.db.execute("DELETE FROM tasks WHERE id IN (SELECT task_id FROM file_leases)")
        self.db.execute("DELETE FROM file_leases")
        self.db.execute("DELETE FROM lease_key_counts")  # no file lease is left, so no key has a count

    def counters(self) -> Counters:
        events = self.db.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'") or 0
        token = self.db.scalar("SELECT value FROM lease_token_counter WHERE id = 1") or 0
        return Counters(int(events), int(token))

    def set_counters(self, counters: Counters) -> None:
        self.db.execute("DELETE FROM sqlite_sequence WHERE name = 'events'")
        if counters.last_event_id:
            self.db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (counters.last_event_id,))
        self.db.execute("INSERT INTO lease_token_counter (id, value) VALUES (1, ?) "
                        "ON CONFLICT(id) DO UPDATE SET value = excluded.value", (counters.last_token,))


def transfer(store: SqliteStore) -> SqliteTransfer:
    return SqliteTransfer(store.db)
