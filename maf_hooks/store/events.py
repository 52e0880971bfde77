"""The event log's interface: the one way event rows are written.

Rows are hash-chained (:mod:`maf_hooks.core.chain`), so an append must run inside a write section
(:meth:`maf_hooks.store.base.Store.write`): the previous hash must not move under it.
"""

from __future__ import annotations

import abc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

SYSTEM_TASK = "maf:system"  # the task of events that belong to no lease (escalations, preflight, ...)


class EventLog(abc.ABC):
    def append(self, task_id: str, kind: str, agent: str | None, data: dict[str, Any], ts: int) -> int:
        """Insert one chained event row (``data`` gains ``agent`` when given); return its id.
        When the store was opened with an audit webhook, the event is also queued for it."""
        return self.append_many([(task_id, kind, agent, data)], ts)[0]

    @abc.abstractmethod
    def append_many(self, items: Sequence[tuple[str, str, str | None, dict[str, Any]]], ts: int) -> list[int]:
        """:meth:`append` of each ``(task_id, kind, agent, data)`` in order, all at ``ts``, with
        one read of where the chain ends and one batch of inserts; their ids, in order."""


def event_payload(data: dict[str, Any], agent: str | None) -> tuple[dict[str, Any], str]:
    """An event's data as stored: ``data`` with ``agent`` (when given), and its canonical JSON text."""
    import json

    payload = dict(data)
    if agent is not None:
        payload.setdefault("agent", agent)
    return payload, json.dumps(payload, sort_keys=True)


def webhook_document(event_id: int, task_id: str, ts: int, kind: str, agent: str | None,
                     payload: dict[str, Any]) -> str:
    """The JSON document the audit webhook receives for one event."""
    import json

    return json.dumps({"id": event_id, "task_id": task_id, "ts": ts, "kind": kind, "agent": agent, "data": payload},
                      sort_keys=True)


def chained(first_id: int, previous: str, items: Sequence[tuple[str, str, str | None, dict[str, Any]]],
            ts: int) -> list[tuple[tuple, dict[str, Any]]]:
    """The stored rows of ``items`` appended after an event whose hash is ``previous``, numbered
    from ``first_id``: ``((id, task_id, ts, kind, data_json, agent_id, prev_hash, hash), payload)``."""
    from maf_hooks.core.chain import chain_hash

    rows = []
    for offset, (task_id, kind, agent, data) in enumerate(items):
        payload, data_json = event_payload(data, agent)
        row = (first_id + offset, task_id, ts, kind, data_json, agent)
        digest = chain_hash(previous, row)
        rows.append(((*row, previous, digest), payload))
        previous = digest
    return rows
