"""The keys of the hook's lease lookup on SQLite: which patterns are globs, the lookup keys as one
JSON array for ``json_each(?)``, and the per-key counts that catch a damaged index (migration 11).
Imports only ``maf_hooks.patterns`` (what a glob is) and ``_json`` (the C half of ``json``), since
the hook reads leases on every commit."""

from __future__ import annotations

from maf_hooks.patterns import has_glob_chars

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection

EACH = "(SELECT value FROM json_each(?))"


def is_glob(pattern: str) -> bool:
    """A pattern with a glob character or an escape (``patterns.GLOB_CHARS``); as the keeper's
    ``_IS_GLOB`` SQL."""
    return has_glob_chars(pattern)


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
    per head: the prefix's first directory, else the pattern, as the triggers' SQL computes it,
    which gives '' for a prefix without a '/'; a kind unknown here is damage)."""
    from collections import Counter  # C-counted: the full read of a large commit

    kept: dict[str, dict[str, int]] = {"p": {}, "g": {}, "h": {}}
    for kind, key, n in kept_rows:
        kept.setdefault(kind, {})[key] = n
    return bool(len(kept) != 3 or Counter([row[2] for row in rows]) != kept["p"]
                or Counter([row[10] for row in rows if is_glob(row[2])]) != kept["g"]
                or Counter([row[10][:max(row[10].find("/"), 0)] if row[10] else row[2] for row in rows]) != kept["h"])


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
