"""The escalation records' interface: escalations, their configured paths, and their delivery outbox.

The lifecycle rules (when one opens, advances, times out; who may answer) live in
:mod:`maf_hooks.core.escalation`; these keepers only store and answer. Every method that writes
runs inside the caller's write section (:meth:`maf_hooks.store.base.Store.write`), so that a
change and the deliveries it causes are kept together or not at all.

An escalation record is a dict with the keys of :data:`RECORD_KEYS` (``context`` a dict).
"""

from __future__ import annotations

import abc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

# the columns every backend stores an escalation record in (``context`` as JSON text), in this order
TRACKING_COLUMNS = ("escalation_id", "path_id", "agent_id", "execution_id", "current_level", "status", "context_json",
                    "reason", "target", "priority", "created_at", "updated_at", "resolved_at", "condition", "bead_id",
                    "level_started_at", "acknowledged_at", "note", "delivery_status", "delivery_error")
RECORD_KEYS = ("escalation_id", "path_id", "agent_id", "execution_id", "current_level", "status", "reason",
               "target", "priority", "created_at", "updated_at", "resolved_at", "condition", "bead_id",
               "level_started_at", "acknowledged_at", "note", "delivery_status", "delivery_error", "context")


def tracking_record(row: Sequence[Any]) -> dict[str, Any]:
    """A row of :data:`TRACKING_COLUMNS` as an escalation record."""
    import json

    record = dict(zip(TRACKING_COLUMNS, row))
    record["context"] = json.loads(record.pop("context_json") or "{}")
    return record


class EscalationRecords(abc.ABC):
    @abc.abstractmethod
    def sync_paths(self, paths: Sequence[dict[str, Any]], now: int) -> None:
        """Mirror the configured paths (steps sorted by level); a path not given becomes inactive."""

    @abc.abstractmethod
    def insert(self, record: dict[str, Any], now: int) -> bool:
        """Store a new escalation at level 1, pending; False when the same (path, agent,
        condition) already has an open one (hand-made ones, condition ``manual``, are exempt)."""

    @abc.abstractmethod
    def get(self, escalation_id: str) -> dict[str, Any] | None:
        """One record, or None."""

    @abc.abstractmethod
    def listing(self, statuses: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Records (of ``statuses`` only when given), oldest first."""

    @abc.abstractmethod
    def advance(self, escalation_id: str, level: int, target: str, now: int) -> bool:
        """Move an advancing escalation still at ``level`` to ``level + 1`` and ``target``;
        False when it is no longer there (another ticker moved it)."""

    @abc.abstractmethod
    def time_out(self, escalation_id: str, level: int, now: int) -> bool:
        """Close an advancing escalation still at ``level`` as timed out; False as for advance."""

    @abc.abstractmethod
    def answer(self, escalation_id: str, status: str, note: str, now: int) -> None:
        """Record an acknowledgement or resolution (``status``), stamped with ``now``."""

    @abc.abstractmethod
    def set_delivery(self, escalation_id: str, status: str, error: str | None, now: int) -> None:
        """The escalation's delivery summary: pending, delivered or failed (with an error)."""

    @abc.abstractmethod
    def open_past_path_timeout(self, now: int) -> list[tuple[str, str, int]]:
        """(escalation id, path id, level) of advancing escalations whose mirrored path's
        ``timeout_minutes`` have passed since they opened (the audit guard's finding)."""

    # what the triggers count

    @abc.abstractmethod
    def conflict_times(self, agent: str | None, since: int) -> list[int]:
        """Times of the agent's recorded reservation conflicts after ``since``, one per row."""

    @abc.abstractmethod
    def event_times(self, kind: str, agent: str | None, since: int) -> list[int]:
        """Times of the agent's events of ``kind`` after ``since``, one per row."""

    @abc.abstractmethod
    def failed_preflight_count(self, agent: str | None, since: int) -> int:
        """How many of the agent's preflight runs created after ``since`` failed."""


class Delivery:
    """One queued message of an escalation to one target by one channel."""

    __slots__ = ("attempts", "channel", "escalation_id", "id", "level", "maf_type", "payload", "target")

    def __init__(self, id: int, escalation_id: str, level: int, target: str, channel: str, maf_type: str,
                 payload: dict[str, Any], attempts: int) -> None:
        self.id, self.escalation_id, self.level, self.target = id, escalation_id, level, target
        self.channel, self.maf_type, self.payload, self.attempts = channel, maf_type, payload, attempts


class DeliveryOutbox(abc.ABC):
    """Deliveries are written in the section of the change that causes them, then sent."""

    @abc.abstractmethod
    def queue(self, escalation_id: str, level: int, target: str, channel: str, maf_type: str,
              payload: dict[str, Any], now: int) -> None:
        """Add one pending delivery."""

    @abc.abstractmethod
    def claim(self, now: int, stale_before: int, escalation_id: str | None = None,
              channels: Sequence[str] = ()) -> list[Delivery]:
        """Mark every pending or failed delivery (and every one claimed before ``stale_before``:
        its process died) as being sent by the caller, and return them, oldest first."""

    @abc.abstractmethod
    def finish(self, delivery_id: int, status: str, attempts: int, error: str | None, now: int) -> None:
        """Record a delivery's outcome: ``sent`` or ``failed`` (kept with its error)."""

    @abc.abstractmethod
    def state(self, escalation_id: str) -> tuple[tuple[str, str, str] | None, int]:
        """(the newest failed delivery's channel, target and error, or None; how many wait)."""

    @abc.abstractmethod
    def requested_targets(self, escalation_id: str) -> list[str]:
        """Every target an ``ESCALATION_REQUEST`` was queued for, by the level it was first sent at."""

    @abc.abstractmethod
    def for_escalation(self, escalation_id: str) -> list[dict[str, Any]]:
        """Its deliveries, oldest first: level, target, channel, type, status, attempts, error."""
