"""The event log's interface: the one way event rows are written.

Rows are hash-chained (:mod:`maf_hooks.core.chain`), so an append must run inside a write section
(:meth:`maf_hooks.store.base.Store.write`): the previous hash must not move under it.
"""

from __future__ import annotations

import abc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SYSTEM_TASK = "maf:system"  # the task of events that belong to no lease (escalations, preflight, ...)


class EventLog(abc.ABC):
    @abc.abstractmethod
    def append(self, task_id: str, kind: str, agent: str | None, data: dict[str, Any], ts: int) -> int:
        """Insert one chained event row (``data`` gains ``agent`` when given); return its id.
        When the store was opened with an audit webhook, the event is also queued for it."""
