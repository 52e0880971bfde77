"""The audit trail's interface: the event chain as stored, what the report and the guard read,
and the audit webhook's outbox (rows queued by :meth:`maf_hooks.store.events.EventLog.append`).

The rules (what makes the chain valid, what the guard finds) live in :mod:`maf_hooks.core.audit`.
"""

from __future__ import annotations

import abc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

# (id, task_id, ts, kind, data_json, agent_id, prev_hash, hash): the first six are what is hashed
ChainRow = tuple
# (event_id, hash, count, verified_at): events 1..event_id (count of them) verified at that time
Checkpoint = tuple
# the kind of the event ``maf db gc`` writes in place of the events it pruned (docs/audit.md)
ANCHOR_KIND = "audit_anchor"


class AuditTrail(abc.ABC):
    # the chain

    @abc.abstractmethod
    def chain_rows(self, first_id: int | None = None) -> Iterator[ChainRow]:
        """Every event row (from ``first_id`` when given) in id order, as stored."""

    @abc.abstractmethod
    def first_id_since(self, ts: int) -> int | None:
        """The id of the first event at or after ``ts``, or None."""

    @abc.abstractmethod
    def highest_issued_id(self) -> int:
        """The highest event id ever handed out, even if that row is gone (0 when none was):
        how removing the newest events is found."""

    @abc.abstractmethod
    def chain_row(self, event_id: int) -> ChainRow | None:
        """One stored event row, or None when there is none with that id."""

    @abc.abstractmethod
    def count_through(self, event_id: int) -> int:
        """How many event rows have an id at or below ``event_id``."""

    @abc.abstractmethod
    def latest_anchor(self) -> ChainRow | None:
        """The newest event of kind :data:`ANCHOR_KIND` (where the chain starts after a gc), or None."""

    # the checkpoint: the newest event verified from event 1 (set aside by the store whenever a
    # row at or below it is changed, removed or inserted through SQL)

    @abc.abstractmethod
    def checkpoint(self) -> Checkpoint | None:
        """The last checkpoint written, or None (never validated, or set aside since)."""

    @abc.abstractmethod
    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Replace the checkpoint (inside a write section)."""

    # the report and the guard

    @abc.abstractmethod
    def activity_since(self, since: int) -> list[tuple[str, str | None, dict[str, Any]]]:
        """(kind, agent, data) of the lease and override events at or after ``since``."""

    @abc.abstractmethod
    def status_counts(self, record: str, since: int) -> list[tuple[str | None, str, int]]:
        """(agent, status, count) of ``record`` (``conflicts``, ``escalations`` or ``preflight``)
        created at or after ``since``."""

    @abc.abstractmethod
    def contested_paths(self, since: int, agent: str | None = None, limit: int = 10) -> list[tuple[str, int, int]]:
        """(path, conflicts, distinct agents) with the most conflicts at or after ``since``
        (of ``agent`` only when given), most first."""

    @abc.abstractmethod
    def stale_lease_holders(self, now: int, heartbeat_before: int) -> list[tuple[str, int, int | None]]:
        """(agent, active leases, last heartbeat) of agents holding active leases whose last
        heartbeat (if any) is older than ``heartbeat_before``."""

    @abc.abstractmethod
    def overrides(self) -> list[tuple[int, str | None, dict[str, Any]]]:
        """(event id, agent, data) of every override event."""

    # the webhook outbox

    @abc.abstractmethod
    def due(self, now: int, limit: int = 500) -> list[tuple[int, str, int]]:
        """(row id, JSON document, attempts) of queued events due at ``now``, oldest first."""

    @abc.abstractmethod
    def sent(self, row_id: int, attempts: int, now: int) -> None:
        """A queued event was delivered."""

    @abc.abstractmethod
    def retry_later(self, row_id: int, attempts: int, error: str, next_attempt_at: int) -> None:
        """A queued event's POST failed; try again at ``next_attempt_at``."""

    @abc.abstractmethod
    def pending(self) -> int:
        """How many queued events are not delivered yet."""
