"""The PostgreSQL lease records: one ``leases`` row per lease, and ``agents``; every query is of
one repository. Fencing tokens come from the repository's ``maf_counters`` row."""

from __future__ import annotations

from maf_hooks.core.model import AgentState, Lease
from maf_hooks.store.leases import LeaseRecords
from maf_hooks.store.postgres.candidates import CandidateReads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Generator, Sequence
    from typing import Any

    from maf_hooks.store.postgres import PostgresStore

_COLUMNS = ("id, agent_id, pattern, mode, reason, created_at, expires_at, state, ended_at, end_reason, prefix, "
            "claim_session, token")  # Lease.FIELDS
_LIVE = "state = 'LEASED' AND expires_at > %s"
_OPEN = "repository = %s AND ended_at IS NULL"
# a pattern with a glob character or an escape (``patterns.is_literal`` is false)
_IS_GLOB = r"pattern ~ '[*?[\\]'"


class PostgresLeaseRecords(CandidateReads, LeaseRecords):
    def __init__(self, store: PostgresStore) -> None:
        self.db, self.repo = store.db, store.repository
        self.store = store

    def _rows(self, where: str, args: Sequence[Any]) -> list[tuple]:
        return [tuple(row) for row in self.db.all(
            f"SELECT {_COLUMNS} FROM leases WHERE {where} ORDER BY created_at, id", args)]

    # --- the hook's reads --------------------------------------------------------------------

    def has_active(self, now: int) -> bool:
        opened = self.store.opened
        if opened is not None and opened.now == now:  # answered by the opening query (the hook's first read)
            return opened.active
        return bool(self.db.scalar(f"SELECT EXISTS (SELECT 1 FROM leases WHERE {_OPEN} AND {_LIVE})",
                                   (self.repo, now)))

    def active_rows(self, now: int, *, agent: str | None = None) -> list[tuple]:
        if agent is None:
            return self._rows(f"{_OPEN} AND {_LIVE}", (self.repo, now))
        return self._rows(f"{_OPEN} AND {_LIVE} AND agent_id = %s", (self.repo, now, agent))

    def active_rows_near(self, now: int, patterns: Collection[str], prefixes: Collection[str]) -> list[tuple]:
        # one query: the open leases by pattern, and the open globs by literal prefix (two index reads)
        return self._rows(
            f"{_OPEN} AND {_LIVE} AND (pattern = ANY(%s) OR (prefix = ANY(%s) AND {_IS_GLOB}))",
            (self.repo, now, list(patterns), list(prefixes)))

    # --- listings ----------------------------------------------------------------------------

    def _listing_pages(self, now: int, *, active_only: bool, agent: str | None, patterns: tuple[str, ...],
                       lead: str | None, limit: int | None, batch: int) -> Generator[list[tuple], None, None]:
        # a server-side cursor: the server sorts and keeps what is not yet read
        where: list[str] = ["repository = %s"]
        args: list[Any] = [self.repo]
        if active_only:
            where.append(f"ended_at IS NULL AND {_LIVE}")
            args.append(now)
        if agent is not None:
            where.append("agent_id = %s")
            args.append(agent)
        if patterns:
            where.append("pattern = ANY(%s)")
            args.append(list(patterns))
        if lead:
            where.append("left(pattern, %s) = %s")
            args += (len(lead), lead)
        sql = f"SELECT {_COLUMNS} FROM leases WHERE {' AND '.join(where)} ORDER BY created_at, id"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        for page in self.db.pages(sql, args, batch):
            yield [tuple(row) for row in page]

    # --- reads for the rules -----------------------------------------------------------------

    def all(self, *, agent: str | None = None) -> list[Lease]:
        if agent is None:
            rows = self._rows("repository = %s", (self.repo,))
        else:
            rows = self._rows("repository = %s AND agent_id = %s", (self.repo, agent))
        return [Lease(*row) for row in rows]

    def near(self, now: int, prefixes: Collection[str], under: str | None) -> list[Lease]:
        if under == "":
            rows = self._rows(f"{_OPEN} AND {_LIVE}", (self.repo, now))
        elif under is None:
            rows = self._rows(f"{_OPEN} AND {_LIVE} AND prefix = ANY(%s)", (self.repo, now, list(prefixes)))
        else:
            # prefixes starting with ``under`` (which ends with '/'): under <= p < under with '/' -> '0'
            rows = self._rows(
                f"{_OPEN} AND {_LIVE} AND (prefix = ANY(%s) OR (prefix >= %s "
                "AND prefix < %s))", (self.repo, now, list(prefixes), under, under[:-1] + "0"))
        return [Lease(*row) for row in rows]

    def named(self, now: int, *, patterns: Sequence[str] = (), ids: Sequence[str] = (),
              agent: str | None = None) -> list[Lease]:
        if not patterns and not ids:
            return []
        where = f"{_OPEN} AND {_LIVE} AND (pattern = ANY(%s) OR id = ANY(%s))"
        args: list[Any] = [self.repo, now, list(patterns), list(ids)]
        if agent is not None:
            where += " AND agent_id = %s"
            args.append(agent)
        return [Lease(*row) for row in self._rows(where, args)]

    def due(self, now: int) -> list[Lease]:
        return [Lease(*row) for row in self._rows(f"{_OPEN} AND expires_at <= %s", (self.repo, now))]

    def count_due(self, now: int) -> int:
        return int(self.db.scalar(f"SELECT COUNT(*) FROM leases WHERE {_OPEN} AND expires_at <= %s", (self.repo, now)))

    def skewed(self, now: int, created_after: int, expires_after: int) -> list[Lease]:
        return [Lease(*row) for row in self._rows(
            f"{_OPEN} AND state = 'LEASED' AND (created_at > %s OR expires_at > %s) AND NOT EXISTS "
            "(SELECT 1 FROM events e WHERE e.repository = leases.repository AND e.task_id = leases.id "
            "AND e.kind = 'clock_skew')", (self.repo, created_after, expires_after))]

    def last_changes(self, ids: Sequence[str]) -> dict[str, int]:
        if not ids:
            return {}
        rows = self.db.all(
            "SELECT l.id, GREATEST(l.updated_at, COALESCE((SELECT MAX(e.ts) FROM events e "
            "WHERE e.repository = l.repository AND e.task_id = l.id), 0)) "
            "FROM leases l WHERE l.repository = %s AND l.id = ANY(%s)", (self.repo, list(ids)))
        return {row[0]: int(row[1]) for row in rows}

    # --- writes ------------------------------------------------------------------------------

    def insert(self, lease: Lease, payload: dict) -> None:
        import json  # kept off the hook's import path

        now = lease.created_at
        # one round trip: the repository's next fencing token, and the lease row that carries it
        lease.token = int(self.db.scalar(
            "WITH counter AS (INSERT INTO maf_counters (repository, last_token) VALUES (%s, 1) "
            "ON CONFLICT (repository) DO UPDATE SET last_token = maf_counters.last_token + 1 RETURNING last_token) "
            "INSERT INTO leases (repository, id, agent_id, pattern, mode, reason, prefix, state, created_at, "
            "updated_at, expires_at, claim_session, token, payload_json) "
            "SELECT %s, %s, %s, %s, %s, %s, %s, 'LEASED', %s, %s, %s, %s, counter.last_token, %s FROM counter "
            "RETURNING token",
            (self.repo, self.repo, lease.id, lease.agent, lease.pattern, lease.mode, lease.reason, lease.prefix, now,
             now, lease.expires_at, lease.claim, json.dumps(payload, sort_keys=True))))

    def update(self, lease: Lease, now: int) -> None:
        self.db.execute(
            "UPDATE leases SET expires_at = %s, mode = %s, reason = %s, claim_session = %s, updated_at = %s "
            "WHERE repository = %s AND id = %s",
            (lease.expires_at, lease.mode, lease.reason, lease.claim, now, self.repo, lease.id))

    def end(self, lease: Lease) -> None:
        self.db.execute(
            "UPDATE leases SET state = %s, ended_at = %s, end_reason = %s, updated_at = %s "
            "WHERE repository = %s AND id = %s",
            (lease.state, lease.ended_at, lease.end_reason, lease.ended_at, self.repo, lease.id))

    # --- agents ------------------------------------------------------------------------------

    def heartbeat(self, agent: str, status: str | None, now: int) -> None:
        self.db.execute(
            "INSERT INTO agents (repository, id, status, first_seen, last_heartbeat) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (repository, id) DO UPDATE SET status = COALESCE(%s, agents.status), "
            "last_heartbeat = excluded.last_heartbeat",
            (self.repo, agent, status or "", now, now, status))

    def agents(self, now: int) -> list[AgentState]:
        rows = self.db.all(
            f"""
            WITH holders AS (
                SELECT agent_id AS id, COUNT(*) AS n FROM leases WHERE {_OPEN} AND {_LIVE} GROUP BY agent_id
            ), everyone AS (SELECT id FROM agents WHERE repository = %s UNION SELECT id FROM holders)
            SELECT e.id, a.status, a.last_heartbeat, COALESCE(h.n, 0)
            FROM everyone e LEFT JOIN agents a ON a.repository = %s AND a.id = e.id LEFT JOIN holders h ON h.id = e.id
            ORDER BY e.id
            """, (self.repo, now, self.repo, self.repo))
        return [AgentState(r[0], r[1] or "", r[2], int(r[3])) for r in rows]

    def heartbeats(self) -> dict[str, int]:
        return dict(self.db.all("SELECT id, last_heartbeat FROM agents WHERE repository = %s "
                                "AND last_heartbeat IS NOT NULL", (self.repo,)))
