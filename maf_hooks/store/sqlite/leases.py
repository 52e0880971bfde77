"""The SQLite lease records: ``tasks`` + ``leases`` + ``file_leases`` rows, and ``agents``.

The git hook reads leases here on every commit, so this module imports only what reading needs
(``json`` is imported where a lease is written).
"""

from __future__ import annotations

from maf_hooks.core.model import AgentState, Lease
from maf_hooks.errors import DamagedStore, StorageError
from maf_hooks.store.leases import LeaseRecords
from maf_hooks.store.sqlite.candidates import CandidateReads
from maf_hooks.store.sqlite.lease_keys import EACH as _EACH
from maf_hooks.store.sqlite.lease_keys import GLOB_SQL as _GLOB_SQL
from maf_hooks.store.sqlite.lease_keys import is_glob as _is_glob
from maf_hooks.store.sqlite.lease_keys import json_array as _json_array
from maf_hooks.store.sqlite.lease_keys import key_counts as _key_counts
from maf_hooks.store.sqlite.lease_keys import miscounted as _miscounted

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Collection, Generator, Sequence
    from typing import Any

    from maf_hooks.store.sqlite import SqliteStore

_COLUMNS = (
    "t.id, l.agent_id, f.pattern, f.mode, f.reason, f.created_at, l.lease_expires_at, "
    "t.state, f.ended_at, f.end_reason, f.prefix, f.claim_session, f.token"
)  # Lease.FIELDS
_FROM = "tasks t JOIN leases l ON l.task_id = t.id JOIN file_leases f ON f.task_id = t.id"
# the same join driven from file_leases (SQLite keeps CROSS JOIN order), for its indexes on open leases
_OPEN = "file_leases f CROSS JOIN tasks t ON t.id = f.task_id CROSS JOIN leases l ON l.task_id = f.task_id"
_LIVE = "t.state = 'LEASED' AND l.lease_expires_at > ?"
_OPEN_COUNT = "SELECT n FROM lease_key_counts WHERE kind = 't' AND key = ''"  # every open file lease
# a pattern with a glob character or an escape (``patterns.is_literal`` is false); cheaper than GLOB
_IS_GLOB = _GLOB_SQL.format("f.")


def _live(row: tuple, now: int) -> bool:
    return row[7] == "LEASED" and row[6] is not None and row[6] > now  # as _LIVE


_CHUNK = 900  # bound parameters of one query listed as ? marks (old SQLite builds allow 999)


def _marks(values: Collection[Any]) -> str:
    return ",".join("?" * len(values))


def _unique(rows: list[tuple]) -> list[Lease]:
    """Each lease once, in ``created_at, id`` order."""
    found = {row[0]: row for row in rows}
    return [Lease(*row) for row in sorted(found.values(), key=lambda row: (row[5], row[0]))]


class SqliteLeaseRecords(CandidateReads, LeaseRecords):
    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db

    # --- the hook's reads --------------------------------------------------------------------

    def has_active(self, now: int) -> bool:
        live, total = self.db.one(
            f"SELECT EXISTS (SELECT 1 FROM {_FROM} WHERE {_LIVE}), "
            f"({_OPEN_COUNT})", (now,))
        if live == 1:
            return True
        if not total:
            return False
        # the counts say some lease is open, yet none was found live: expired leases not yet
        # ended, or an index that misses one; a read without the indexes tells them apart
        return bool(self.checked_rows(now))

    def open_count(self) -> int | None:
        return self.db.scalar(_OPEN_COUNT) or 0  # kept by triggers (migration 11)

    def active_rows(self, now: int, *, agent: str | None = None) -> list[tuple]:
        sql = f"SELECT {_COLUMNS} FROM {_FROM} WHERE {_LIVE}"
        args: list[Any] = [now]
        if agent is not None:
            sql += " AND l.agent_id = ?"
            args.append(agent)
        return self.db.all(sql + " ORDER BY f.created_at, t.id", args)

    def active_rows_near(self, now: int, patterns: Collection[str], prefixes: Collection[str]) -> list[tuple]:
        # Both halves are index lookups of the open leases only (ended_at IS NULL: the partial
        # indexes of migrations 1 and 14 hold no ended lease; ending a lease sets ended_at and moves
        # its task out of LEASED in one write section, see end()), driven by the keys, each list
        # one JSON array (one statement at any size). The rows found are checked against the
        # counts that triggers keep per key (migration 11), read by the same keys: a damaged index
        # or row shows as a difference, at a cost that follows the keys, not every lease.
        pattern_keys, prefix_keys = _json_array(patterns), _json_array(prefixes)
        sql = (
            f"SELECT {_COLUMNS} FROM {_OPEN} WHERE f.pattern IN {_EACH} AND f.ended_at IS NULL "
            f"UNION SELECT {_COLUMNS} FROM {_OPEN} WHERE f.prefix IN {_EACH} "
            f"AND f.ended_at IS NULL AND {_IS_GLOB} "
            "ORDER BY 6, 1"  # f.created_at, t.id
        )
        rows = self.db.all(sql, (pattern_keys, prefix_keys))
        # the patterns of the rows found count too: a glob found by its prefix whose pattern text
        # was damaged is then a pattern without a count, not a lease that silently covers nothing
        pattern_set, prefix_set = set(patterns), set(prefixes)
        extra = {row[2] for row in rows}.difference(pattern_set)
        keys = pattern_set.union(extra)
        counted = self._counts(pattern_keys, extra, prefix_keys)
        if _key_counts(rows, keys, prefix_set) != counted:
            # an index missed a lease, or a row does not say what its index entry says: read every
            # open lease without the indexes, and judge from that if it agrees with every count
            rows = [row for row in self._verified(now)
                    if row[2] in pattern_set or (_is_glob(row[2]) and row[10] in prefix_set)]
        return [row for row in rows if _live(row, now)]

    def checked_rows(self, now: int) -> list[tuple]:
        return [row for row in self._verified(now) if _live(row, now)]

    def _verified(self, now: int) -> list[tuple]:
        """Every open file lease (:meth:`_scanned`), checked against every count kept per key."""
        rows = self._scanned(now)
        if self._miscounted(rows):
            raise self._damaged("the open leases do not match the counts kept for their keys")
        return rows

    def _miscounted(self, rows: list[tuple]) -> bool:
        """Whether the open lease ``rows`` differ from the counts triggers keep per key."""
        return _miscounted(rows, self.db.all("SELECT kind, key, n FROM lease_key_counts WHERE kind != 't'"))

    def _counts(self, patterns: str, extra: Collection[str], prefixes: str) -> dict[tuple[str, str], int]:
        """The counts kept for the lookup keys: ``patterns`` and ``prefixes`` as JSON arrays,
        ``extra`` patterns (those of the rows found that were no key) as a list; one statement,
        each key one primary-key probe."""
        sql = (f"SELECT kind, key, n FROM lease_key_counts WHERE kind = 'p' AND key IN {_EACH} "
               f"UNION ALL SELECT kind, key, n FROM lease_key_counts WHERE kind = 'g' AND key IN {_EACH}")
        args = [patterns, prefixes]
        if extra:
            sql += f" UNION ALL SELECT kind, key, n FROM lease_key_counts WHERE kind = 'p' AND key IN {_EACH}"
            args.append(_json_array(extra))
        return {(kind, key): n for kind, key, n in self.db.all(sql, args)}

    def _scanned(self, now: int) -> list[tuple]:
        """Every open file lease, read by scanning the table (no index of file_leases), in
        ``created_at, id`` order; DamagedStore when their number differs from the count kept, or
        a lease's task or lease row is missing."""
        rows, problem = self._scan()
        if problem:
            raise self._damaged(problem)
        return rows

    def _scan(self) -> tuple[list[tuple], str | None]:
        """:meth:`_scanned`'s rows, and what proves them damaged (None: nothing)."""
        columns = "f.task_id" + _COLUMNS[len("t.id"):]
        rows = self.db.all(
            f"SELECT {columns}, t.id IS NULL OR l.task_id IS NULL FROM file_leases f NOT INDEXED "
            "LEFT JOIN tasks t ON t.id = f.task_id LEFT JOIN leases l ON l.task_id = f.task_id "
            "WHERE f.ended_at IS NULL ORDER BY f.created_at, f.task_id")
        total = self.db.scalar(_OPEN_COUNT) or 0
        problem = None
        if len(rows) != total:
            problem = f"{len(rows)} open leases are stored, the count kept says {total}"
        elif any(row[-1] for row in rows):
            problem = "an open file lease has no task or lease row"
        return [row[:-1] for row in rows], problem

    def stored_problems(self, now: int, limit: int) -> list[str]:
        from maf_hooks.store.sqlite import consistency

        return consistency.problems(self, limit)

    def _damaged(self, what: str) -> StorageError:
        return DamagedStore(
            f"The lease database {self.db.path} is damaged: {what}. The hook cannot tell which leases "
            "are active, so it does not let the change through. Inspect it with `maf-preflight --only "
            "database --thorough` (SQLite's integrity check), then restore it from a backup or repair it "
            "(an index alone: `REINDEX`).")

    # --- listings ----------------------------------------------------------------------------

    def _listing_pages(self, now: int, *, active_only: bool, agent: str | None, patterns: tuple[str, ...],
                       lead: str | None, limit: int | None, batch: int) -> Generator[list[tuple], None, None]:
        # one statement stepped page by page: keyset pages would each scan and sort every lease,
        # as no index orders file_leases by (created_at, id); SQLite's sorter spills to disk
        where: list[str] = [_LIVE] if active_only else ["1"]
        args: list[Any] = [now] if active_only else []
        if agent is not None:
            where.append("l.agent_id = ?")
            args.append(agent)
        if patterns:
            where.append(f"f.pattern IN ({_marks(patterns)})")
            args += patterns
        if lead:
            where.append("substr(f.pattern, 1, ?) = ?")
            args += (len(lead), lead)
        sql = f"SELECT {_COLUMNS} FROM {_FROM} WHERE {' AND '.join(where)} ORDER BY f.created_at, t.id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        yield from self.db.pages(sql, args, batch)

    # --- reads for the rules -----------------------------------------------------------------

    def all(self, *, agent: str | None = None) -> list[Lease]:
        sql = f"SELECT {_COLUMNS} FROM {_FROM}"
        args: list[Any] = []
        if agent is not None:
            sql += " WHERE l.agent_id = ?"
            args.append(agent)
        return [Lease(*row) for row in self.db.all(sql + " ORDER BY f.created_at, t.id", args)]

    def _open_rows(self, where: str, args: Sequence[Any], now: int, source: str = _OPEN) -> list[tuple]:
        """Active leases found through an index on open file leases (``ended_at IS NULL``)."""
        sql = (f"SELECT {_COLUMNS} FROM {source} WHERE f.ended_at IS NULL AND {where} "
               "AND +t.state = 'LEASED' AND l.lease_expires_at > ?")
        return self.db.all(sql, (*args, now))

    def near(self, now: int, prefixes: Collection[str], under: str | None) -> list[Lease]:
        rows = self._open_rows(f"f.prefix IN ({_marks(prefixes)})", tuple(prefixes), now) if prefixes else []
        if under == "":
            rows += self._open_rows("1", (), now)
        elif under is not None:
            # prefixes starting with ``under`` (which ends with '/'): under <= p < under with '/' -> '0'
            rows += self._open_rows("f.prefix >= ? AND f.prefix < ?", (under, under[:-1] + "0"), now)
        return _unique(rows)

    def named(self, now: int, *, patterns: Sequence[str] = (), ids: Sequence[str] = (),
              agent: str | None = None) -> list[Lease]:
        mine, mine_args = (" AND l.agent_id = ?", (agent,)) if agent is not None else ("", ())
        rows: list[tuple] = []
        if patterns:
            rows += self._open_rows(f"f.pattern IN ({_marks(patterns)}){mine}", (*patterns, *mine_args), now)
        if ids:
            rows += self._open_rows(f"f.task_id IN ({_marks(ids)}){mine}", (*ids, *mine_args), now)
        return _unique(rows)

    def due(self, now: int) -> list[Lease]:
        return [Lease(*row) for row in self.db.all(  # through the partial index on open leases' expiry
            f"SELECT {_COLUMNS} FROM {_OPEN} WHERE f.ended_at IS NULL AND f.expires_at <= ? "
            "AND +t.state = 'LEASED' ORDER BY f.created_at, t.id", (now,))]

    def count_due(self, now: int) -> int:
        return int(self.db.scalar(
            "SELECT COUNT(*) FROM file_leases f CROSS JOIN tasks t ON t.id = f.task_id "
            "WHERE f.ended_at IS NULL AND f.expires_at <= ? AND +t.state = 'LEASED'", (now,)))

    def skewed(self, now: int, created_after: int, expires_after: int) -> list[Lease]:
        # an uncorrected lease created in the future ends after it was created: the partial index
        # on open leases' expiry narrows the scan to those ending after min(created_after, expires_after)
        return [Lease(*row) for row in self.db.all(
            f"SELECT {_COLUMNS} FROM {_OPEN} WHERE f.ended_at IS NULL AND f.expires_at > ? "
            "AND (f.created_at > ? OR f.expires_at > ?) AND +t.state = 'LEASED' "
            "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.task_id = f.task_id AND e.kind = 'clock_skew') "
            "ORDER BY f.created_at, t.id", (min(created_after, expires_after), created_after, expires_after))]

    def last_changes(self, ids: Sequence[str]) -> dict[str, int]:
        if not ids:
            return {}
        rows = self.db.all(
            "SELECT t.id, MAX(t.updated_at, COALESCE((SELECT MAX(e.ts) FROM events e WHERE e.task_id = t.id), 0)) "
            f"FROM tasks t WHERE t.id IN ({_marks(ids)})", tuple(ids))
        return {row[0]: int(row[1]) for row in rows}

    # --- writes ------------------------------------------------------------------------------

    def insert(self, lease: Lease, payload: dict) -> None:
        import json  # kept off the hook's import path

        now = lease.created_at
        self.db.execute("UPDATE lease_token_counter SET value = value + 1 WHERE id = 1")
        lease.token = self.db.one("SELECT value FROM lease_token_counter WHERE id = 1")[0]
        self.db.execute(
            "INSERT INTO tasks (id, state, payload_json, created_at, updated_at, attempts) "
            "VALUES (?, 'LEASED', ?, ?, ?, 1)", (lease.id, json.dumps(payload, sort_keys=True), now, now))
        self.db.execute("INSERT INTO leases (task_id, agent_id, lease_expires_at, attempt) VALUES (?, ?, ?, 1)",
                        (lease.id, lease.agent, lease.expires_at))
        self.db.execute(
            "INSERT INTO file_leases (task_id, pattern, mode, reason, regex, prefix, created_at, expires_at, "
            "claim_session, token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (lease.id, lease.pattern, lease.mode, lease.reason, "", lease.prefix, now, lease.expires_at, lease.claim,
             lease.token))

    def update(self, lease: Lease, now: int) -> None:
        # a trigger (migration 6) copies the expiry to file_leases.expires_at, the indexed copy
        self.db.execute("UPDATE leases SET lease_expires_at = ? WHERE task_id = ?", (lease.expires_at, lease.id))
        self.db.execute("UPDATE file_leases SET mode = ?, reason = ?, claim_session = ? WHERE task_id = ?",
                        (lease.mode, lease.reason, lease.claim, lease.id))
        self.db.execute("UPDATE tasks SET updated_at = ? WHERE id = ?", (now, lease.id))

    def end(self, lease: Lease) -> None:
        self.db.execute("UPDATE tasks SET state = ?, updated_at = ? WHERE id = ?",
                        (lease.state, lease.ended_at, lease.id))
        self.db.execute("UPDATE file_leases SET ended_at = ?, end_reason = ? WHERE task_id = ?",
                        (lease.ended_at, lease.end_reason, lease.id))

    # --- agents ------------------------------------------------------------------------------

    def heartbeat(self, agent: str, status: str | None, now: int) -> None:
        self.db.execute(
            "INSERT INTO agents (id, status, first_seen, last_heartbeat) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET status = COALESCE(?, agents.status), "
            "last_heartbeat = excluded.last_heartbeat",
            (agent, status or "", now, now, status))

    def agents(self, now: int) -> list[AgentState]:
        rows = self.db.all(
            """
            WITH holders AS (
                SELECT l.agent_id AS id, COUNT(*) AS n FROM tasks t JOIN leases l ON l.task_id = t.id
                WHERE t.state = 'LEASED' AND l.lease_expires_at > ? GROUP BY l.agent_id
            ), everyone AS (SELECT id FROM agents UNION SELECT id FROM holders)
            SELECT e.id, a.status, a.last_heartbeat, COALESCE(h.n, 0)
            FROM everyone e LEFT JOIN agents a ON a.id = e.id LEFT JOIN holders h ON h.id = e.id
            ORDER BY e.id
            """, (now,))
        return [AgentState(r[0], r[1] or "", r[2], r[3]) for r in rows]

    def heartbeats(self) -> dict[str, int]:
        return dict(self.db.all("SELECT id, last_heartbeat FROM agents WHERE last_heartbeat IS NOT NULL"))
