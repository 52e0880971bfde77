"""The PostgreSQL reads that find a pattern's overlap candidates (:mod:`maf_hooks.core.candidates`),
through the indexes of migration 2 (``candidates``), whose expressions (``migrations.HEAD``,
``migrations.IS_GLOB``) the queries repeat word for word so that the planner uses them. Mixed
into the lease records."""

from __future__ import annotations

from maf_hooks.core.model import Lease
from maf_hooks.store.postgres.migrations import HEAD, IS_GLOB

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from typing import Any

    from maf_hooks.store.postgres.connection import Database


class CandidateReads:
    if TYPE_CHECKING:  # the lease records' own (store/postgres/leases.py)
        db: Database
        repo: str

        def _rows(self, where: str, args: Sequence[Any]) -> list[tuple]: ...

    def around(self, now: int, *, prefixes: Collection[str] = (), globs_at: Collection[str] = (),
               names: Collection[str] = (), under: str | None = None) -> list[Lease]:
        from maf_hooks.store.postgres.leases import _LIVE, _OPEN

        arms, args = [], [self.repo, now]
        for arm, keys in (("prefix = ANY(%s)", prefixes), (f"(prefix = ANY(%s) AND {IS_GLOB})", globs_at),
                          ("pattern = ANY(%s)", names)):
            if keys:
                arms.append(arm)
                args.append(sorted(set(keys)))
        if under is not None:  # prefixes starting with ``under`` (ending with '/'): '/' -> '0' bounds them
            arms.append('((prefix COLLATE "C") >= %s AND (prefix COLLATE "C") < %s)')
            args += [under, under[:-1] + "0"]
        if not arms:
            return []
        return [Lease(*row) for row in self._rows(f"{_OPEN} AND {_LIVE} AND ({' OR '.join(arms)})", args)]

    def root_globs(self) -> list[str]:
        from maf_hooks.store.postgres.leases import _OPEN

        return [row[0] for row in self.db.all(
            f"SELECT DISTINCT pattern FROM leases WHERE {_OPEN} AND {IS_GLOB} AND prefix = ''", (self.repo,))]

    def heads(self, low: str = "", high: str | None = None) -> list[str]:
        from maf_hooks.store.postgres.leases import _OPEN

        # a loose index scan: the next head after each one, one seek each
        def next_head(than: str) -> str:
            return (f"(SELECT {HEAD} FROM leases WHERE {_OPEN} AND {HEAD} {than} ORDER BY {HEAD} LIMIT 1)")

        until, bound = "", ()  # type: tuple[str, tuple[str, ...]]
        if high is not None:
            until, bound = " AND h.head < %s", (high,)
        sql = (f"WITH RECURSIVE h(head) AS (SELECT {next_head('>= %s')} UNION ALL SELECT {next_head('> h.head')} "
               f"FROM h WHERE h.head IS NOT NULL{until}) SELECT h.head FROM h WHERE h.head IS NOT NULL{until}")
        return [row[0] for row in self.db.all(sql, (self.repo, low, self.repo, *bound, *bound))]

    def headed(self, now: int, heads: Collection[str]) -> list[Lease]:
        from maf_hooks.store.postgres.leases import _LIVE, _OPEN

        if not heads:
            return []
        return [Lease(*row) for row in self._rows(f"{_OPEN} AND {_LIVE} AND {HEAD} = ANY(%s)",
                                                  (self.repo, now, sorted(set(heads))))]
