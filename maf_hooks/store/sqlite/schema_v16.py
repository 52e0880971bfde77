"""Schema version 16: the indexes that find a pattern's overlap candidates (docs/leases.md).

- ``idx_file_leases_open_head``: the first path component every path a lease covers starts
  with, its *head*: the first directory of its literal prefix (``src`` for ``src/a.py`` and
  ``src/**``), or, for a lease whose literal prefix is empty, its pattern itself (``README``,
  ``*.cfg``, ``**/x``). A root glob's candidates are the leases whose head it can match; the
  distinct heads are read from this index one seek each.
- ``idx_file_leases_open_globs``: the open leases whose pattern has a glob character or an
  escape, by literal prefix (with the pattern, so that reading the root globs touches only the
  index): the globs beside a path, without the plain paths beside it.

Both are indexes on expressions of ``pattern`` and ``prefix``, not columns: they follow every
write of those columns, whoever writes them (a copy, an import, an operator's SQL).
:data:`HEAD` and :data:`IS_GLOB` are the expressions the queries must repeat word for word, so
that SQLite uses the indexes.
"""

from maf_hooks.store.sqlite.lease_keys import GLOB_SQL, HEAD_SQL

HEAD = HEAD_SQL.format("")
IS_GLOB = GLOB_SQL.format("")

V16_CANDIDATE_INDEXES = (
    f"CREATE INDEX idx_file_leases_open_head ON file_leases({HEAD}) WHERE ended_at IS NULL",
    f"CREATE INDEX idx_file_leases_open_globs ON file_leases(prefix, pattern) WHERE ended_at IS NULL AND {IS_GLOB}",
)
