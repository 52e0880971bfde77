"""The audit chain's format (version 1): how an event row is hashed into the chain.

Every event row is chained: ``prev_hash`` is the previous row's ``hash`` and ``hash`` is the
SHA-256 of ``prev_hash`` and the row's canonical content (id, task, time, kind, data, agent), so
that ``maf audit validate`` finds a row that was changed, removed or inserted afterwards.

This format is fixed: stored chains were made with it (migration 5 chained the rows that existed
then). A different format would be a new function beside this one, never an edit of it.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # the string form json.dumps uses with ensure_ascii=False

from maf_hooks.core.digest import sha256_hex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence


def canonical(row: Sequence[Any]) -> str:
    """``(id, task_id, ts, kind, data_json, agent_id)`` as one unambiguous string: the compact
    JSON array ``json.dumps(list(row), separators=(",", ":"), ensure_ascii=False)``.

    Every stored row has integer id and time and text (or a null agent), so it is written here
    with json's own string encoder, byte for byte what ``json.dumps`` writes, at a third of its
    cost; anything else (a float, a bool) goes through ``json.dumps`` itself."""
    event_id, task_id, ts, kind, data_json, agent_id = row
    if (type(event_id) is int and type(ts) is int and type(task_id) is str and type(kind) is str
            and type(data_json) is str and (agent_id is None or type(agent_id) is str)):
        agent = "null" if agent_id is None else encode_basestring(agent_id)
        return (f"[{event_id},{encode_basestring(task_id)},{ts},{encode_basestring(kind)},"
                f"{encode_basestring(data_json)},{agent}]")
    return json.dumps([event_id, task_id, ts, kind, data_json, agent_id], separators=(",", ":"), ensure_ascii=False)


def chain_hash(previous: str, row: Sequence[Any]) -> str:
    return sha256_hex((previous + "\n" + canonical(row)).encode("utf-8"))
