"""The conflict records' interface: ``RESERVATION_CONFLICT`` rows and the log of conflict mail.

Writes run inside a write section (:meth:`maf_hooks.store.base.Store.write`).
"""

from __future__ import annotations

import abc
from operator import itemgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any


# A conflict record's fields and the columns every backend stores them in, in the same order
RECORD_FIELDS = ("id", "agent", "path", "conflict_type", "severity", "holder", "lease_id", "lease_expires_at",
                 "operation", "status", "override_reason", "created_at")
RECORD_COLUMN_NAMES = ("id", "agent_id", "file_path", "conflict_type", "severity", "holder_agent_id", "lease_id",
                       "lease_expires_at", "attempted_operation", "status", "override_reason", "created_at")
RECORD_COLUMNS = ", ".join(RECORD_COLUMN_NAMES)


_FIELDS = itemgetter(*RECORD_FIELDS)


def record_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """A conflict record's values in :data:`RECORD_FIELDS` order (``conflict_type`` defaults to ``lease``)."""
    return _FIELDS(record if "conflict_type" in record else dict(record, conflict_type="lease"))


# an outbox row's fields, which are also its columns
OUTBOX_FIELDS = ("id", "dedup_key", "recipient", "maf_type", "message", "token", "status", "attempts", "last_error",
                 "created_at")


class ConflictRecords(abc.ABC):
    def add(self, record: dict[str, Any]) -> None:
        """Store one conflict. ``record`` has ``id, agent, path, severity, holder, lease_id,
        lease_expires_at, operation, status, override_reason, created_at`` (times in ms)."""
        self.add_many([record])

    @abc.abstractmethod
    def add_many(self, records: Iterable[dict[str, Any]]) -> None:
        """Store many conflicts (each as :meth:`add` takes it) in one statement batch."""

    @abc.abstractmethod
    def since(self, start: int) -> list[dict[str, Any]]:
        """Every conflict created at or after ``start``, oldest first, as :meth:`add` took them
        (with ``conflict_type``)."""

    @abc.abstractmethod
    def stream(self, start: int, *, agent: str | None = None, limit: int | None = None,
               batch: int = 1000) -> Iterator[dict[str, Any]]:
        """The records of :meth:`since` (of ``agent``, the one who tried, when given; the first
        ``limit`` when given), read ``batch`` rows at a time: memory follows ``batch``."""

    @abc.abstractmethod
    def latest(self, limit: int, *, status: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` records (of ``status`` only, when given), newest first, as
        :meth:`since` gives them: an index read from the newest end, whatever the table holds."""

    @abc.abstractmethod
    def mailed_since(self, dedup_key: str, start: int) -> bool:
        """Whether mail with this key was logged after ``start``."""

    @abc.abstractmethod
    def log_mail(self, dedup_key: str, recipient: str, maf_type: str, message_key: str, now: int) -> None:
        """Remember a delivered message, for :meth:`mailed_since`."""

    # The conflict mail outbox: one row per holder message, written in the same write section
    # as the conflict records; ``status`` is ``pending`` until delivered, then ``delivered``.

    @abc.abstractmethod
    def recent_mail(self, dedup_key: str, start: int) -> str | None:
        """``"delivered"`` when mail with this key was delivered (or logged) after ``start``,
        else ``"pending"`` when such mail is queued, else None (the dedup rule)."""

    @abc.abstractmethod
    def queue_mail(self, row: dict[str, Any]) -> int:
        """Add a pending outbox row (``dedup_key, recipient, maf_type, message`` (bytes), ``token``,
        ``created_at``); return its id."""

    @abc.abstractmethod
    def pending_mail(self, *, limit: int = 100, exclude: tuple[int, ...] = ()) -> list[dict[str, Any]]:
        """Pending outbox rows, oldest first: ``id, dedup_key, recipient, maf_type, message, token,
        attempts, created_at``."""

    @abc.abstractmethod
    def outbox(self, ids: list[int]) -> list[dict[str, Any]]:
        """The outbox rows with these ids (as :meth:`pending_mail`, with ``status``)."""

    @abc.abstractmethod
    def mail_delivered(self, outbox_id: int, message_key: str, now: int) -> bool:
        """Mark a pending row delivered and log it (:meth:`log_mail`); False if it was not pending."""

    @abc.abstractmethod
    def mail_failed(self, outbox_id: int, error: str, now: int) -> None:
        """Count a failed attempt; the row stays pending."""
