"""The tallies' interface: the counts ``maf metrics`` exposes (:mod:`maf_hooks.services.metrics`).

Reads only, each one query whose result is a handful of rows however many records the store
holds (grouped counts, never the records themselves). Times are epoch milliseconds; a lease is
active while its task is ``LEASED`` and its expiry is after ``now``, as everywhere.
"""

from __future__ import annotations

import abc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


class Tallies(abc.ABC):
    @abc.abstractmethod
    def active_leases(self, now: int) -> list[tuple[str, str, int]]:
        """(agent, mode, count) of the active leases, one row per agent and mode that has any."""

    @abc.abstractmethod
    def leases_expiring(self, now: int, until: int) -> int:
        """How many active leases expire at or before ``until``."""

    @abc.abstractmethod
    def conflicts_since(self, since: int) -> list[tuple[str, str, int]]:
        """(status, operation, count) of the conflict records created at or after ``since``."""

    @abc.abstractmethod
    def events_since(self, kind: str, since: int) -> int:
        """How many events of ``kind`` were written at or after ``since`` (by any agent)."""

    @abc.abstractmethod
    def escalations(self, statuses: Sequence[str]) -> list[tuple[int, str, int]]:
        """(level, status, count) of the escalations whose status is one of ``statuses``."""

    @abc.abstractmethod
    def escalations_ended_since(self, status: str, since: int) -> int:
        """How many escalations reached ``status`` (``resolved``, ``timeout``) at or after ``since``."""

    @abc.abstractmethod
    def size_bytes(self) -> int:
        """The space the store takes: the database file with its write-ahead log, or the server's
        database (which every repository on it shares)."""
