"""The audit chain's format (version 1): how an event row is hashed into the chain.

Every event row is chained: ``prev_hash`` is the previous row's ``hash`` and ``hash`` is the
SHA-256 of ``prev_hash`` and the row's canonical content (id, task, time, kind, data, agent), so
that ``maf audit validate`` finds a row that was changed, removed or inserted afterwards.

This format is fixed: stored chains were made with it (migration 5 chained the rows that existed
then). A different format would be a new function beside this one, never an edit of it.
"""

from __future__ import annotations

import hashlib
import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence


def canonical(row: Sequence[Any]) -> str:
    """``(id, task_id, ts, kind, data_json, agent_id)`` as one unambiguous string."""
    event_id, task_id, ts, kind, data_json, agent_id = row
    return json.dumps([event_id, task_id, ts, kind, data_json, agent_id], separators=(",", ":"), ensure_ascii=False)


def chain_hash(previous: str, row: Sequence[Any]) -> str:
    return hashlib.sha256((previous + "\n" + canonical(row)).encode("utf-8")).hexdigest()
