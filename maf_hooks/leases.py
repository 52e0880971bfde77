"""The lease rules over the store: acquire, renew, release, list, check, heartbeat, expiry.

A file lease is a synthetic task (state ``LEASED`` while active) with one ``leases`` row and one
``file_leases`` row; ending it moves the task on (``DONE`` when released, ``DEAD`` when it expired
or was taken over) and every change is an ``events`` row naming the agent.
"""

from __future__ import annotations

import os
import sqlite3

from maf_hooks.errors import Refused, UsageError
from maf_hooks.patterns.index import LeaseIndex
from maf_hooks.store.db import immediate
from maf_hooks.timeutil import iso, now_ms

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from typing import Callable, Collection, Iterable, Sequence

# The git hook reads leases through this module on every commit, so it imports only what reading
# needs: ``json`` and ``patterns`` are imported where a lease is written or compared, and the
# classes below are plain classes (``dataclasses`` costs several milliseconds to import).

EXCLUSIVE = "exclusive"
SHARED = "shared"

_COLUMNS = (
    "t.id, l.agent_id, f.pattern, f.mode, f.reason, f.created_at, l.lease_expires_at, "
    "t.state, f.ended_at, f.end_reason, f.regex, f.prefix"
)
_FROM = "tasks t JOIN leases l ON l.task_id = t.id JOIN file_leases f ON f.task_id = t.id"
# the same join driven from file_leases (SQLite keeps CROSS JOIN order), for its indexes on open leases
_OPEN = "file_leases f CROSS JOIN tasks t ON t.id = f.task_id CROSS JOIN leases l ON l.task_id = f.task_id"
# a pattern with a glob character or an escape; cheaper than a GLOB test
_IS_GLOB = "(instr(f.pattern, '*') OR instr(f.pattern, '?') OR instr(f.pattern, '[') OR instr(f.pattern, '\\'))"


class _Record:
    """Equality and repr over ``_fields``, as a dataclass would give them."""

    _fields: tuple = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    __hash__ = None  # mutable, like a dataclass with eq=True

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{self.__class__.__qualname__}({inner})"


class Lease(_Record):
    _fields = ("id", "agent", "pattern", "mode", "reason", "created_at", "expires_at", "state", "ended_at",
               "end_reason", "regex", "prefix")

    def __init__(self, id: str, agent: str, pattern: str, mode: str, reason: str, created_at: int,
                 expires_at: int, state: str = "LEASED", ended_at: int | None = None,
                 end_reason: str | None = None, regex: str = "", prefix: str = ""):
        self.id = id
        self.agent = agent
        self.pattern = pattern
        self.mode = mode
        self.reason = reason
        self.created_at = created_at
        self.expires_at = expires_at
        self.state = state
        self.ended_at = ended_at
        self.end_reason = end_reason
        self.regex = regex
        self.prefix = prefix

    @classmethod
    def from_row(cls, row: Sequence) -> "Lease":
        return cls(*row)

    def status(self, now: int) -> str:
        if self.end_reason:
            return self.end_reason
        return "active" if self.state == "LEASED" and self.expires_at > now else "expired"

    def to_json(self, now: int) -> dict:
        return {
            "id": self.id,
            "agent": self.agent,
            "pattern": self.pattern,
            "mode": self.mode,
            "reason": self.reason,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "expires_at_ms": self.expires_at,
            "status": self.status(now),
            "ended_at": iso(self.ended_at),
        }


class Conflict(_Record):
    _fields = ("pattern", "lease")

    def __init__(self, pattern: str, lease: Lease):
        self.pattern = pattern  # what was asked for (or the path checked)
        self.lease = lease  # the other agent's lease in the way

    def to_json(self, now: int) -> dict:
        return {"pattern": self.pattern, "lease": self.lease.to_json(now)}


class AcquireResult(_Record):
    _fields = ("granted", "conflicts", "renewed", "taken_over")

    def __init__(self, granted: list, conflicts: list, renewed: list, taken_over: list):
        self.granted = granted
        self.conflicts = conflicts
        self.renewed = renewed
        self.taken_over = taken_over

    def to_json(self, now: int) -> dict:
        return {
            "granted": [lease.to_json(now) for lease in self.granted],
            "conflicts": [conflict.to_json(now) for conflict in self.conflicts],
            "renewed": [lease.id for lease in self.renewed],
            "taken_over": [lease.to_json(now) for lease in self.taken_over],
        }


def blocks(requested_mode: str, held_mode: str) -> bool:
    """An exclusive request conflicts with any lease; a shared one only with an exclusive lease."""
    return requested_mode == EXCLUSIVE or held_mode == EXCLUSIVE


def _ancestor_prefixes(prefix: str) -> list[str]:
    """``a/b/`` -> ``['', 'a/', 'a/b/']``."""
    result = [""]
    index = prefix.find("/")
    while index != -1:
        result.append(prefix[: index + 1])
        index = prefix.find("/", index + 1)
    return result


class LeaseBook:
    """The lease rules over one connection; ``clock`` returns epoch milliseconds.

    ``casefold`` (``core.ignorecase``): paths and patterns compare with ASCII case folded.
    ``directories``: the directories that exist now (``maf_hooks.directories``), which the overlap
    test asks about names that look like files; None when none are known."""

    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], int] = now_ms, *, casefold: bool = False,
                 directories: Callable[[str], Iterable[str]] | None = None):
        self.conn = conn
        self.clock = clock
        self.casefold = casefold
        self.directories = directories

    # --- events ---------------------------------------------------------------------------

    def event(self, task_id: str, kind: str, agent: str | None, data: dict, now: int | None = None) -> None:
        """One hash-chained ``events`` row (see :mod:`maf_hooks.store.events`)."""
        from maf_hooks.store import events  # noqa: PLC0415 - kept off the hook's import path

        events.append(self.conn, task_id, kind, agent, data, self.clock() if now is None else now)

    # --- reading --------------------------------------------------------------------------

    def active(self, now: int, *, agent: str | None = None) -> list[Lease]:
        return [Lease(*row) for row in self.active_rows(now, agent=agent)]

    def active_rows(self, now: int, *, agent: str | None = None) -> list[tuple]:
        """:meth:`active` as rows, ``Lease(*row)`` each (the hook makes a Lease only for a hit)."""
        sql = f"SELECT {_COLUMNS} FROM {_FROM} WHERE t.state = 'LEASED' AND l.lease_expires_at > ?"
        args: list = [now]
        if agent is not None:
            sql += " AND l.agent_id = ?"
            args.append(agent)
        return self.conn.execute(sql + " ORDER BY f.created_at, t.id", args).fetchall()

    def active_rows_near(self, now: int, patterns: Collection[str], prefixes: Collection[str]) -> list[tuple]:
        """The rows of :meth:`active_rows` (in the same order) whose pattern is one of ``patterns``,
        or whose pattern is a glob with its literal prefix among ``prefixes``: with the keys of
        :func:`maf_hooks.patterns.index.lookup_keys`, every lease that can cover one of those paths.

        Both halves are index lookups (``file_leases`` by pattern; open file leases by prefix), so
        the cost follows the number of keys and of the leases found, not of every active lease.
        ``f.ended_at IS NULL`` (which the prefix index needs) changes nothing here: ending a lease
        sets ``ended_at`` and moves its task out of ``LEASED`` in one transaction (:meth:`_end`)."""
        joined = "file_leases f CROSS JOIN tasks t ON t.id = f.task_id CROSS JOIN leases l ON l.task_id = f.task_id"
        live = "t.state = 'LEASED' AND l.lease_expires_at > ?"
        sql = (
            f"SELECT {_COLUMNS} FROM {joined} WHERE f.pattern IN ({','.join('?' * len(patterns))}) AND {live} "
            f"UNION SELECT {_COLUMNS} FROM {joined} WHERE f.prefix IN ({','.join('?' * len(prefixes))}) "
            f"AND f.ended_at IS NULL AND {_IS_GLOB} AND {live} "
            "ORDER BY 6, 1"  # f.created_at, t.id
        )
        return self.conn.execute(sql, (*patterns, now, *prefixes, now)).fetchall()

    def has_active(self, now: int) -> bool:
        """Whether :meth:`active` would return anything (without reading every lease)."""
        return self.conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM {_FROM} WHERE t.state = 'LEASED' AND l.lease_expires_at > ?)", (now,)
        ).fetchone()[0] == 1

    def all(self, *, agent: str | None = None) -> list[Lease]:
        sql = f"SELECT {_COLUMNS} FROM {_FROM}"
        args: list = []
        if agent is not None:
            sql += " WHERE l.agent_id = ?"
            args.append(agent)
        return [Lease.from_row(row) for row in self.conn.execute(sql + " ORDER BY f.created_at, t.id", args)]

    def _open_rows(self, where: str, args: Sequence, now: int) -> list[tuple]:
        """Active leases found through an index on open file leases (``ended_at IS NULL``)."""
        sql = (f"SELECT {_COLUMNS} FROM {_OPEN} WHERE f.ended_at IS NULL AND {where} "
               "AND +t.state = 'LEASED' AND l.lease_expires_at > ?")
        return self.conn.execute(sql, (*args, now)).fetchall()

    def _candidates(self, pattern: str, now: int) -> list[Lease]:
        """Active leases that might overlap ``pattern``: their literal prefix and ours nest.

        Two index range reads (prefixes above ours, prefixes beneath ours), not a scan."""
        from maf_hooks import patterns  # noqa: PLC0415 - kept off the hook's import path

        prefix = patterns.literal_prefix(pattern)
        ancestors = _ancestor_prefixes(prefix)
        at_or_above = f"f.prefix IN ({','.join('?' * len(ancestors))})"
        if self.casefold:  # prefixes are stored as written: compare them all
            return [Lease(*row) for row in self._open_rows("1", (), now)]
        if patterns.is_literal(pattern):
            # a path: leases covering it sit at or above its directory; leases beneath it are
            # candidates too (their prefix starts with it: they name it as a directory)
            rows = self._open_rows(at_or_above, ancestors, now)
            own = patterns.unescape(pattern).rstrip("/") + "/"
            rows += self._open_rows("f.prefix >= ? AND f.prefix < ?", (own, own[:-1] + "0"), now)
            return [Lease(*row) for row in rows]
        if not prefix:  # a glob with no literal directory may overlap anything
            return [Lease(*row) for row in self._open_rows("1", (), now)]
        rows = self._open_rows(at_or_above, ancestors, now)
        # prefixes beneath ours: prefix < p < prefix with its final '/' bumped to '0'
        rows += self._open_rows("f.prefix > ? AND f.prefix < ?", (prefix, prefix[:-1] + "0"), now)
        return [Lease(*row) for row in rows]

    def _own(self, agent: str, pattern_list: Sequence[str], now: int) -> list[Lease]:
        marks = ",".join("?" * len(pattern_list))
        return [Lease(*row) for row in self._open_rows(
            f"f.pattern IN ({marks}) AND l.agent_id = ?", (*pattern_list, agent), now)]

    def overlapping(self, pattern: str, now: int) -> list[Lease]:
        """Every active lease whose pattern overlaps ``pattern`` (any agent, any mode)."""
        from maf_hooks import patterns  # noqa: PLC0415 - kept off the hook's import path

        return [lease for lease in self._candidates(pattern, now) if self._overlaps(patterns, pattern, lease.pattern)]

    def _overlaps(self, patterns, a: str, b: str) -> bool:
        return patterns.overlaps(a, b, self.directories, casefold=self.casefold)

    def conflicts_for(self, agent: str, pattern: str, mode: str, now: int) -> list[Conflict]:
        from maf_hooks import patterns  # noqa: PLC0415 - kept off the hook's import path

        return [
            Conflict(pattern, lease)
            for lease in self._candidates(pattern, now)
            if lease.agent != agent and blocks(mode, lease.mode) and self._overlaps(patterns, pattern, lease.pattern)
        ]

    # --- expiry ---------------------------------------------------------------------------

    def expire_due(self, now: int | None = None) -> list[Lease]:
        """End every lease whose time is up (an ``expire`` event each). Call inside a transaction."""
        now = self.clock() if now is None else now
        due = [
            Lease.from_row(row)
            for row in self.conn.execute(  # through the partial index on open leases' expiry
                f"SELECT {_COLUMNS} FROM {_OPEN} WHERE f.ended_at IS NULL AND f.expires_at <= ? "
                "AND +t.state = 'LEASED'", (now,)
            )
        ]
        for lease in due:
            self._end(lease, "expired", now)
            self.event(lease.id, "expire", lease.agent, {"pattern": lease.pattern, "expired_at": lease.expires_at}, now)
        return due

    def _set_expiry(self, lease: Lease) -> None:
        # a trigger (migration 6) copies it to file_leases.expires_at, the indexed copy expiry reads
        self.conn.execute("UPDATE leases SET lease_expires_at = ? WHERE task_id = ?", (lease.expires_at, lease.id))

    def _end(self, lease: Lease, reason: str, now: int) -> None:
        state = "DONE" if reason == "released" else "DEAD"
        self.conn.execute("UPDATE tasks SET state = ?, updated_at = ? WHERE id = ?", (state, now, lease.id))
        self.conn.execute(
            "UPDATE file_leases SET ended_at = ?, end_reason = ? WHERE task_id = ?", (now, reason, lease.id)
        )
        lease.state, lease.ended_at, lease.end_reason = state, now, reason

    # --- acquire --------------------------------------------------------------------------

    def acquire(
        self,
        agent: str,
        pattern_list: Sequence[str],
        ttl_ms: int,
        *,
        mode: str = EXCLUSIVE,
        reason: str = "",
        force: bool = False,
        strategy: str = "block",
    ) -> AcquireResult:
        """All or nothing: either every pattern is granted (or renewed) or none is."""
        if mode not in (EXCLUSIVE, SHARED):
            raise UsageError(f"Invalid lease mode {mode!r}: expected exclusive or shared.")
        wanted = list(dict.fromkeys(pattern_list))  # keep order, drop repeats
        with immediate(self.conn):
            now = self.clock()
            self.expire_due(now)
            conflicts = [c for pattern in wanted for c in self.conflicts_for(agent, pattern, mode, now)]
            if conflicts and not force and strategy == "block":
                return AcquireResult([], conflicts, [], [])
            taken_over: list[Lease] = []
            if conflicts and force:
                seen = set()
                for conflict in conflicts:
                    if conflict.lease.id in seen:
                        continue
                    seen.add(conflict.lease.id)
                    self._end(conflict.lease, "taken_over", now)
                    self.event(conflict.lease.id, "takeover", agent, {
                        "pattern": conflict.lease.pattern, "holder": conflict.lease.agent,
                        "taken_by": agent, "requested": conflict.pattern,
                    }, now)
                    taken_over.append(conflict.lease)
                conflicts = []
            own = {lease.pattern: lease for lease in self._own(agent, wanted, now)}
            granted, renewed = [], []
            for pattern in wanted:
                expires = now + ttl_ms
                if pattern in own:
                    lease = own[pattern]
                    lease.expires_at = max(lease.expires_at, expires)
                    lease.mode = mode
                    lease.reason = reason or lease.reason
                    self._set_expiry(lease)
                    self.conn.execute(
                        "UPDATE file_leases SET mode = ?, reason = ? WHERE task_id = ?", (mode, lease.reason, lease.id)
                    )
                    self.conn.execute("UPDATE tasks SET updated_at = ? WHERE id = ?", (now, lease.id))
                    self.event(lease.id, "renew", agent, {"pattern": pattern, "expires_at": lease.expires_at, "mode": mode}, now)
                    renewed.append(lease)
                else:
                    lease = self._insert(agent, pattern, mode, reason, now, expires)
                granted.append(lease)
            return AcquireResult(granted, conflicts, renewed, taken_over)

    def _insert(self, agent: str, pattern: str, mode: str, reason: str, now: int, expires: int) -> Lease:
        import json  # noqa: PLC0415 - kept off the hook's import path

        from maf_hooks import patterns  # noqa: PLC0415

        lease_id = "lease-" + os.urandom(6).hex()  # what secrets.token_hex(6) returns, without its imports
        payload = json.dumps({"kind": "file_lease", "pattern": pattern, "mode": mode}, sort_keys=True)
        self.conn.execute(
            "INSERT INTO tasks (id, state, payload_json, created_at, updated_at, attempts) "
            "VALUES (?, 'LEASED', ?, ?, ?, 1)",
            (lease_id, payload, now, now),
        )
        self.conn.execute(
            "INSERT INTO leases (task_id, agent_id, lease_expires_at, attempt) VALUES (?, ?, ?, 1)",
            (lease_id, agent, expires),
        )
        regex, prefix = "", patterns.literal_prefix(pattern)  # the regex column is no longer read
        self.conn.execute(
            "INSERT INTO file_leases (task_id, pattern, mode, reason, regex, prefix, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (lease_id, pattern, mode, reason, regex, prefix, now, expires),
        )
        self.event(lease_id, "acquire", agent, {"pattern": pattern, "mode": mode, "expires_at": expires, "reason": reason}, now)
        return Lease(lease_id, agent, pattern, mode, reason, now, expires, regex=regex, prefix=prefix)

    # --- renew / release ------------------------------------------------------------------

    def renew(self, agent: str, pattern_list: Sequence[str] | None, ttl_ms: int) -> list[Lease]:
        """New expiry = now + ttl for the agent's matching active leases (all of them when None)."""
        with immediate(self.conn):
            now = self.clock()
            self.expire_due(now)
            if pattern_list is None:
                chosen = self.active(now, agent=agent)
            else:
                chosen = self._own(agent, list(pattern_list), now)
            if not chosen:
                what = "any active lease" if pattern_list is None else "an active lease on " + ", ".join(pattern_list)
                raise Refused(f"Nothing to renew: {agent} does not hold {what}. See `maf-lease list --mine`.")
            for lease in chosen:
                lease.expires_at = now + ttl_ms
                self._set_expiry(lease)
                self.conn.execute("UPDATE tasks SET updated_at = ? WHERE id = ?", (now, lease.id))
                self.event(lease.id, "renew", agent, {"pattern": lease.pattern, "expires_at": lease.expires_at}, now)
            return chosen

    def release(
        self,
        agent: str,
        *,
        pattern_list: Sequence[str] = (),
        ids: Sequence[str] = (),
        everything: bool = False,
        force: bool = False,
    ) -> list[Lease]:
        with immediate(self.conn):
            now = self.clock()
            self.expire_due(now)
            if everything:
                chosen = self.active(now, agent=agent)
            else:
                found = []
                if pattern_list:
                    found += self._open_rows(f"f.pattern IN ({','.join('?' * len(pattern_list))})", pattern_list, now)
                if ids:
                    found += self._open_rows(f"f.task_id IN ({','.join('?' * len(ids))})", ids, now)
                leases = list({row[0]: Lease(*row) for row in found}.values())
                wanted_ids = set(ids)
                # by pattern, your own lease; another agent's only with --force (or named by --id).
                # 'src' and 'src/' are one name here (see cli.lease.either_spelling).
                def name(lease: Lease) -> str:
                    return lease.pattern.rstrip("/")

                own_names = {name(l) for l in leases if l.agent == agent}
                chosen = [l for l in leases if l.agent == agent or l.id in wanted_ids
                          or (force and name(l) not in own_names)]
                in_the_way = [l for l in leases if l.agent != agent
                              and (l.id in wanted_ids or name(l) not in own_names)]
                if in_the_way and not force:
                    held = "; ".join(f"{l.id} ({l.pattern}) held by {l.agent}" for l in in_the_way)
                    raise Refused(
                        f"Not released: {held}. Releasing another agent's lease needs --force "
                        "(and is recorded as a takeover)."
                    )
            if not chosen:
                asked = "your leases" if everything else ", ".join([*pattern_list, *ids])
                raise Refused(
                    f"Nothing released: no active lease matches {asked} for {agent}. "
                    "Patterns must match a lease's pattern exactly; see `maf-lease list`."
                )
            for lease in chosen:
                if lease.agent == agent:
                    self._end(lease, "released", now)
                    self.event(lease.id, "release", agent, {"pattern": lease.pattern}, now)
                else:
                    self._end(lease, "taken_over", now)
                    self.event(lease.id, "takeover", agent, {
                        "pattern": lease.pattern, "holder": lease.agent, "taken_by": agent, "released": True,
                    }, now)
            return chosen

    # --- check ----------------------------------------------------------------------------

    def index(self, now: int) -> LeaseIndex:
        return LeaseIndex(((lease.pattern, lease) for lease in self.active(now)), casefold=self.casefold)

    def check(self, paths: Iterable[str], now: int | None = None) -> dict[str, list[Lease]]:
        now = self.clock() if now is None else now
        index = self.index(now)
        return {path: index.covering(path) for path in paths}

    # --- agents ---------------------------------------------------------------------------

    def heartbeat(self, agent: str, status: str | None = None) -> int:
        """Record that ``agent`` is alive; ``status`` replaces its status line when given."""
        now = self.clock()
        with immediate(self.conn):
            self.conn.execute(
                "INSERT INTO agents (id, status, first_seen, last_heartbeat) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET status = COALESCE(?, agents.status), "
                "last_heartbeat = excluded.last_heartbeat",
                (agent, status or "", now, now, status),
            )
        return now

    def agents(self, now: int | None = None) -> list[dict]:
        now = self.clock() if now is None else now
        rows = self.conn.execute(
            """
            WITH holders AS (
                SELECT l.agent_id AS id, COUNT(*) AS n FROM tasks t JOIN leases l ON l.task_id = t.id
                WHERE t.state = 'LEASED' AND l.lease_expires_at > ? GROUP BY l.agent_id
            ), everyone AS (SELECT id FROM agents UNION SELECT id FROM holders)
            SELECT e.id, a.status, a.last_heartbeat, COALESCE(h.n, 0)
            FROM everyone e LEFT JOIN agents a ON a.id = e.id LEFT JOIN holders h ON h.id = e.id
            ORDER BY e.id
            """,
            (now,),
        ).fetchall()
        return [
            {"agent": r[0], "status": r[1] or "", "last_heartbeat": iso(r[2]), "last_heartbeat_ms": r[2], "active_leases": r[3]}
            for r in rows
        ]
