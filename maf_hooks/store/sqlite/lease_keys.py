"""The keys of the hook's lease lookup on SQLite: which patterns are globs and a lease's head (in
SQL for the indexes, triggers and queries, and in Python), the lookup keys as one JSON array for
``json_each(?)``, and the per-key counts that catch a damaged index (migrations 11 and 18).
Imports only ``maf_hooks.patterns`` (what a glob is) and ``_json`` (the C half of ``json``), since
the hook reads leases on every commit."""

from __future__ import annotations

from maf_hooks.patterns import has_glob_chars

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection

EACH = "(SELECT value FROM json_each(?))"

# SQL of a lease row's columns, ``{0}`` the row's qualifier ("" in an index, "f." in a query,
# "NEW." in a trigger): an index on an expression is used only by a query that repeats it exactly
GLOB_SQL = "(instr({0}pattern, '*') OR instr({0}pattern, '?') OR instr({0}pattern, '[') OR instr({0}pattern, '\\'))"
HEAD_SQL = "(CASE WHEN {0}prefix = '' THEN {0}pattern ELSE substr({0}prefix, 1, instr({0}prefix, '/') - 1) END)"


def is_glob(pattern: str) -> bool:
    """A pattern with a glob character or an escape (``patterns.GLOB_CHARS``); as :data:`GLOB_SQL`."""
    return has_glob_chars(pattern)


def head(prefix: str, pattern: str) -> str:
    """The first path component of every path a lease covers, as :data:`HEAD_SQL` computes it: the
    prefix's first directory, else the pattern ('' for a prefix without a '/', an operator's edit)."""
    return prefix[:max(prefix.find("/"), 0)] if prefix else pattern


def key_counts(rows: list[tuple], patterns: set[str], prefixes: set[str]) -> dict[tuple[str, str], int]:
    """How many of ``rows`` (open leases) have each lookup key of ``patterns`` and ``prefixes``,
    as ``{("p", pattern) or ("g", prefix): n}``: the counts migration 11 keeps."""
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        pattern = row[2]
        if pattern in patterns:
            counts["p", pattern] = counts.get(("p", pattern), 0) + 1
        if is_glob(pattern) and row[10] in prefixes:
            counts["g", row[10]] = counts.get(("g", row[10]), 0) + 1
    return counts


def miscounted(rows: list[tuple], kept_rows: list[tuple]) -> bool:
    """Whether the open lease ``rows`` differ from ``kept_rows``, the ``(kind, key, n)`` counts
    other than the total that triggers keep (``p`` per pattern, ``g`` per glob's prefix, ``h``
    per :func:`head`; a kind unknown here is damage)."""
    from collections import Counter  # C-counted: the full read of a large commit

    kept: dict[str, dict[str, int]] = {"p": {}, "g": {}, "h": {}}
    for kind, key, n in kept_rows:
        kept.setdefault(kind, {})[key] = n
    return bool(len(kept) != 3 or Counter([row[2] for row in rows]) != kept["p"]
                or Counter([row[10] for row in rows if is_glob(row[2])]) != kept["g"]
                or _heads(rows) != kept["h"])


def _heads(rows: list[tuple]) -> dict[str, int]:
    """How many of ``rows`` have each :func:`head`: counted by prefix first (a few thousand
    distinct ones for the hook's full read of up to 20,000 leases), then by head."""
    from collections import Counter

    counted: Counter[str] = Counter()
    for prefix, n in Counter([row[10] for row in rows]).items():
        if prefix:
            counted[head(prefix, "")] += n
    counted.update([row[2] for row in rows if not row[10]])
    return counted


def json_array(keys: Collection[str]) -> str:
    """``keys`` as one JSON array, read by SQLite's ``json_each(?)``: any number of keys in one
    bound parameter (a list of ``?`` stops at 999 or 32,766 of them, by build). ``_json`` is the
    C half of ``json``, without the decoder (and ``re``) that importing ``json`` loads."""
    try:
        from _json import encode_basestring
    except ImportError:  # another Python implementation
        from json import dumps

        return dumps(list(keys), ensure_ascii=False)
    return "[" + ",".join(map(encode_basestring, keys)) + "]"
