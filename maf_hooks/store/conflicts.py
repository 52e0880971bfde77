"""The conflict records' interface: ``RESERVATION_CONFLICT`` rows and the log of conflict mail.

Writes run inside a write section (:meth:`maf_hooks.store.base.Store.write`).
"""

from __future__ import annotations

import abc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class ConflictRecords(abc.ABC):
    @abc.abstractmethod
    def add(self, record: dict[str, Any]) -> None:
        """Store one conflict. ``record`` has ``id, agent, path, severity, holder, lease_id,
        lease_expires_at, operation, status, override_reason, created_at`` (times in ms)."""

    @abc.abstractmethod
    def since(self, start: int) -> list[dict[str, Any]]:
        """Every conflict created at or after ``start``, oldest first, as :meth:`add` took them
        (with ``conflict_type``)."""

    @abc.abstractmethod
    def mailed_since(self, dedup_key: str, start: int) -> bool:
        """Whether mail with this key was logged after ``start``."""

    @abc.abstractmethod
    def log_mail(self, dedup_key: str, recipient: str, maf_type: str, message_key: str, now: int) -> None:
        """Remember a delivered message, for :meth:`mailed_since`."""
