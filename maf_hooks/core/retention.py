"""The retention rules of ``maf db gc``: how old each kind of record must be before it is
deleted, and the audit chain's anchor that replaces the pruned events.

``storage.retention`` gives a number of days per kind (``0``: kept forever; the defaults are the
configuration schema's, :data:`maf_hooks.config_schema.RETENTION`); ``--older-than``
gives one age for every kind at once. Whatever the age, nothing younger than a window a rule
still reads is deleted: the mail dedup window (``mail.dedup_minutes``) for mail, the longest
escalation trigger window (``window_minutes``) for conflicts and events, which the triggers count.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

DAY_MS = 86_400_000
KINDS = ("leases", "conflicts", "mail", "events")
_HASH_CHARS = frozenset("0123456789abcdef")


def cutoffs(days: Mapping[str, int], now: int, *, older_than_ms: int | None = None,
            floors_ms: Mapping[str, int] | None = None) -> dict[str, int | None]:
    """Per kind, the time before which its records go (None: kept forever). ``older_than_ms``
    overrides every kind's days (even a 0); ``floors_ms``: per kind, the youngest age a rule still
    reads, never deleted whatever the age asked for."""
    found: dict[str, int | None] = {}
    for kind in KINDS:
        age = older_than_ms if older_than_ms is not None else days[kind] * DAY_MS
        if not age:
            found[kind] = None
            continue
        found[kind] = now - max(age, (floors_ms or {}).get(kind, 0))
    return found


def floors(dedup_minutes: int, trigger_windows: Sequence[int]) -> dict[str, int]:
    """The windows rules read (see the module's docstring), in milliseconds per kind."""
    window = max(trigger_windows, default=0) * 60_000
    return {"mail": dedup_minutes * 60_000, "conflicts": window, "events": window}


# --- the anchor ----------------------------------------------------------------------------

def anchor_data(*, pruned: int, pruned_total: int, first_id: int, digest: str, before: int,
                previous: int | None) -> dict[str, Any]:
    """The data of the event that replaces the events before ``first_id``: how many this gc
    pruned, how many all gcs have (``pruned_total``: every id below ``first_id``), the hash the
    chain had at event ``first_id - 1`` (what event ``first_id`` chains to), the cut-off, and the
    anchor it continues (the previous one, or None)."""
    return {"pruned": pruned, "pruned_total": pruned_total, "first_id": first_id, "hash": digest,
            "before": before, "previous_anchor": previous}


def anchor_start(row: Sequence[Any]) -> tuple[int, str, int] | None:
    """An anchor row's ``(first_id, hash, anchor id)``: where the chain starts and the hash it
    starts from; None when the row does not hold a well-formed anchor (:func:`anchor_problem`)."""
    if anchor_problem(row) is not None:
        return None
    data = json.loads(row[4])
    return data["first_id"], data["hash"], row[0]


def anchor_problem(row: Sequence[Any]) -> str | None:
    """Why an anchor row ``(id, task_id, ts, kind, data_json, ...)`` cannot be an anchor, or None.
    Besides its own hash (checked with the chain), what it records must agree with itself: every
    id below ``first_id`` was pruned (``pruned_total == first_id - 1``), and it comes after them."""
    try:
        data = json.loads(row[4])
    except (TypeError, ValueError):
        data = None
    if not isinstance(data, dict):
        return "it is an anchor without readable data"
    first, total, digest = data.get("first_id"), data.get("pruned_total"), data.get("hash")
    if not (isinstance(first, int) and isinstance(total, int) and isinstance(digest, str)) or \
            isinstance(first, bool) or isinstance(total, bool):
        return "it is an anchor without first_id, pruned_total and hash"
    if len(digest) != 64 or not set(digest) <= _HASH_CHARS:
        return f"it is an anchor whose recorded hash {digest[:80]!r} is not a SHA-256 in hex"
    if first < 2 or first > row[0]:
        return f"it is an anchor whose first kept event {first} is not between 2 and its own id"
    if total != first - 1:
        return (f"it is an anchor that records {total} pruned event(s), but events 1..{first - 1} "
                "are gone: its count was changed")
    return None


def anchor_summary(row: Sequence[Any] | None) -> dict[str, Any] | None:
    """The anchor as ``maf audit validate`` and ``maf db gc`` name it, or None."""
    if row is None:
        return None
    try:
        data = json.loads(row[4])
    except (TypeError, ValueError):
        data = {}
    data = data if isinstance(data, dict) else {}
    return {"id": row[0], "ts": row[2], "first_id": data.get("first_id"), "pruned": data.get("pruned"),
            "pruned_total": data.get("pruned_total"), "hash": data.get("hash"),
            "previous_anchor": data.get("previous_anchor")}
