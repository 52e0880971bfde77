"""The SQLite reads that find a pattern's overlap candidates (:mod:`maf_hooks.core.candidates`),
through the indexes of migration 16, whose expressions (:data:`HEAD`, :data:`IS_GLOB`) the
queries repeat word for word so that SQLite uses them, and the heads the triggers count since
migration 18. Mixed into the lease records."""

from __future__ import annotations

from maf_hooks.store.sqlite.schema_v16 import HEAD, IS_GLOB

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from typing import Any

    from maf_hooks.core.model import Lease
    from maf_hooks.store.sqlite.connection import Database


class CandidateReads:
    if TYPE_CHECKING:  # the lease records' own (store/sqlite/leases.py)
        db: Database

        def _open_rows(self, where: str, args: Sequence[Any], now: int, source: str = "") -> list[tuple]: ...

    def around(self, now: int, *, prefixes: Collection[str] = (), globs_at: Collection[str] = (),
               names: Collection[str] = (), under: str | None = None) -> list[Lease]:
        from maf_hooks.store.sqlite.leases import _CHUNK, _OPEN, _marks, _unique

        rows: list[tuple] = []
        # the globs at a prefix through their own index, not the plain paths beside them
        globs = _OPEN.replace("file_leases f", "file_leases f INDEXED BY idx_file_leases_open_globs", 1)
        for where, keys, source in (("prefix IN ({})", prefixes, _OPEN),
                                    (f"prefix IN ({{}}) AND {IS_GLOB}", globs_at, globs),
                                    ("pattern IN ({})", names, _OPEN)):
            keys = sorted(set(keys))
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start:start + _CHUNK]
                rows += self._open_rows(where.format(_marks(chunk)), chunk, now, source)
        if under is not None:  # prefixes starting with ``under`` (ending with '/'): '/' -> '0' bounds them
            rows += self._open_rows("f.prefix >= ? AND f.prefix < ?", (under, under[:-1] + "0"), now)
        return _unique(rows)

    def root_globs(self) -> list[str]:
        return [row[0] for row in self.db.all(
            f"SELECT DISTINCT pattern FROM file_leases WHERE ended_at IS NULL AND {IS_GLOB} AND prefix = ''")]

    def heads(self, low: str = "", high: str | None = None) -> list[str]:
        # the heads the triggers count (migration 18): one range of lease_key_counts
        if high is None:
            return [row[0] for row in self.db.all(
                "SELECT key FROM lease_key_counts WHERE kind = 'h' AND key >= ? ORDER BY key", (low,))]
        return [row[0] for row in self.db.all(
            "SELECT key FROM lease_key_counts WHERE kind = 'h' AND key >= ? AND key < ? ORDER BY key", (low, high))]

    def headed(self, now: int, heads: Collection[str]) -> list[Lease]:
        from maf_hooks.store.sqlite.leases import _CHUNK, _marks, _unique

        keys, rows = sorted(set(heads)), []
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            rows += self._open_rows(f"{HEAD} IN ({_marks(chunk)})", chunk, now)
        return _unique(rows)
