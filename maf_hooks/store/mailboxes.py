"""The agent mailboxes' interface, for a store that keeps the mail itself (fleet mode).

A store whose ``mailboxes`` is None keeps no mail: agent mail lives in the Maildir files under
the mail root (:mod:`maf_hooks.mail`). A server store keeps every agent's messages here instead,
so that mail written on one machine is read on another. A message is the bytes a Maildir file
would hold, under the key that file would be named (:mod:`maf_hooks.services.mail` decides which
place is used; nothing here parses a message).

Writes run inside a write section (:meth:`maf_hooks.store.base.Store.write`).
"""

from __future__ import annotations

import abc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Mailboxes(abc.ABC):
    """Rows are ``{"agent", "key", "message" (bytes), "created_at", "seen_at", "synced_at"}``
    (times in epoch milliseconds; ``seen_at`` None until read, ``synced_at`` None until first
    written into a Maildir by ``maf mail sync``)."""

    @abc.abstractmethod
    def deliver(self, agent: str, key: str, message: bytes, now: int) -> bool:
        """Add a message to the agent's mailbox under ``key``, unless that key is there already
        (delivery exactly once); whether it was added."""

    @abc.abstractmethod
    def messages(self, agent: str, *, unread_only: bool = False) -> list[dict[str, Any]]:
        """The agent's messages (only those not seen with ``unread_only``), in the order they
        were delivered."""

    @abc.abstractmethod
    def message(self, agent: str, key: str) -> dict[str, Any] | None:
        """One message of the agent's, or None."""

    @abc.abstractmethod
    def mark_seen(self, agent: str, keys: list[str], now: int) -> list[str]:
        """Mark these messages read (those not read yet); the keys marked."""

    @abc.abstractmethod
    def mark_synced(self, agent: str, keys: list[str], now: int) -> None:
        """Record that these messages were written into a Maildir (the first time only)."""
