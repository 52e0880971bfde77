"""The retention interface: what ``maf db gc`` counts and deletes, record kind by record kind,
and the compaction of the store afterwards.

The rules (which retention setting covers which record, the cut-offs, the audit chain's anchor)
live in :mod:`maf_hooks.core.retention` and :mod:`maf_hooks.services.retention`; a backend only
answers "how many rows of this kind are older than that" and deletes them. Deletes run inside a
write section (:meth:`maf_hooks.store.base.Store.write`); on a shared server they touch this
repository's rows only.
"""

from __future__ import annotations

import abc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# record kind -> the retention setting (``storage.retention.<setting>_days``) that covers it
RECORDS = {
    "leases": "leases",  # ended leases (with their task rows), by when they ended
    "conflicts": "conflicts",  # conflict records, by when they were recorded
    "mail_outbox": "mail",  # delivered conflict mail in the outbox, by when it was delivered
    "mail_log": "mail",  # the log of delivered mail the dedup rule reads, by when it was sent
    "mail_messages": "mail",  # fleet mail the server keeps for the agents, by when it was delivered
    "audit_outbox": "events",  # events delivered to the audit webhook, by when they were delivered
}


class Retention(abc.ABC):
    records: tuple[str, ...] = tuple(RECORDS)  # the record kinds this backend keeps

    @abc.abstractmethod
    def count(self, record: str, before: int) -> int:
        """How many rows of ``record`` (a key of :data:`RECORDS`) are older than ``before``."""

    @abc.abstractmethod
    def delete(self, record: str, before: int) -> int:
        """Delete the rows :meth:`count` counts; how many were deleted."""

    @abc.abstractmethod
    def event_prefix_end(self, before: int) -> int | None:
        """The id of the last event of the longest run from the start of the chain in which every
        event is older than ``before`` and none belongs to a lease that is still open (its
        ``clock_skew`` marker and its last change are read while it is); None when that run is empty."""

    @abc.abstractmethod
    def delete_events_through(self, event_id: int) -> int:
        """Delete the events with ids up to ``event_id``; how many were deleted."""

    @abc.abstractmethod
    def vacuum(self) -> dict[str, Any]:
        """Compact the store (outside a write section): ``{"done", "note", "bytes_before",
        "bytes_after"}``, ``note`` saying what was done, or why not."""
