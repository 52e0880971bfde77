"""The lease model: a lease, a conflict between a request and a lease, an acquire's result.

A file lease is a synthetic task (state ``LEASED`` while active): ending it moves the task on
(``DONE`` when released, ``DEAD`` when it expired or was taken over). The git hook reads leases
on every commit, so these are plain classes (``dataclasses`` and ``typing`` cost milliseconds to
import) and a record keeper may hand out rows, tuples in the order of ``Lease.FIELDS``.
"""

from __future__ import annotations

from maf_hooks.timeutil import iso

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

EXCLUSIVE = "exclusive"
SHARED = "shared"
MODES = (EXCLUSIVE, SHARED)
# How far in the future a lease's ``created_at`` may lie before it counts as taken with a clock
# ahead (clocks of one machine agree; of several, NTP keeps them well within this).
CLOCK_SKEW_TOLERANCE_MS = 5 * 60_000


def blocks(requested_mode: str, held_mode: str) -> bool:
    """An exclusive request conflicts with any lease; a shared one only with an exclusive lease."""
    return requested_mode == EXCLUSIVE or held_mode == EXCLUSIVE


class _Record:
    """Equality and repr over ``FIELDS``, as a dataclass would give them."""

    FIELDS: tuple[str, ...] = ()

    def values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self.values() == other.values()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq=True

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{self.__class__.__qualname__}({inner})"


class Lease(_Record):
    FIELDS = ("id", "agent", "pattern", "mode", "reason", "created_at", "expires_at", "state", "ended_at",
              "end_reason", "prefix", "claim", "token")

    def __init__(self, id: str, agent: str, pattern: str, mode: str, reason: str, created_at: int,
                 expires_at: int, state: str = "LEASED", ended_at: int | None = None,
                 end_reason: str | None = None, prefix: str = "", claim: str | None = None,
                 token: int | None = None) -> None:
        self.id = id
        self.agent = agent
        self.pattern = pattern
        self.mode = mode
        self.reason = reason
        self.created_at = created_at
        self.expires_at = expires_at
        self.state = state
        self.ended_at = ended_at
        self.end_reason = end_reason
        self.prefix = prefix  # the pattern's literal directory prefix (``patterns.literal_prefix``)
        self.claim = claim  # the agent session that auto-claimed it (None: taken by hand)
        # the fencing token: given when the lease is granted, from a counter that only increases;
        # a renewal keeps it, a takeover is a new lease with a new one (None: granted before tokens)
        self.token = token

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Lease:
        return cls(*row)

    def status(self, now: int) -> str:
        if self.end_reason:
            return self.end_reason
        return "active" if self.state == "LEASED" and self.expires_at > now else "expired"

    def clock_skew(self, now: int, max_ms: int) -> bool:
        """Taken or renewed with a clock ahead of ``now``: created more than
        :data:`CLOCK_SKEW_TOLERANCE_MS` in the future, or ending more than ``max_ms`` (the longest
        lease, ``reservation.max_timeout_minutes``) from now. Only an active lease is judged."""
        if self.end_reason or self.state != "LEASED":
            return False
        return self.created_at > now + CLOCK_SKEW_TOLERANCE_MS or self.expires_at > now + max_ms

    def end(self, reason: str, now: int) -> None:
        """Released (task ``DONE``), or expired / taken over (task ``DEAD``)."""
        self.state = "DONE" if reason == "released" else "DEAD"
        self.ended_at, self.end_reason = now, reason

    def to_json(self, now: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.agent,
            "pattern": self.pattern,
            "mode": self.mode,
            "reason": self.reason,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "expires_at_ms": self.expires_at,
            "status": self.status(now),
            "ended_at": iso(self.ended_at),
            "auto_claim": self.claim is not None,
            "token": self.token,
        }


class Conflict(_Record):
    FIELDS = ("pattern", "lease")

    def __init__(self, pattern: str, lease: Lease) -> None:
        self.pattern = pattern  # what was asked for (or the path checked)
        self.lease = lease  # the other agent's lease in the way

    def to_json(self, now: int) -> dict[str, Any]:
        return {"pattern": self.pattern, "lease": self.lease.to_json(now)}


class AcquireResult(_Record):
    FIELDS = ("granted", "conflicts", "renewed", "taken_over")

    def __init__(self, granted: list[Lease], conflicts: list[Conflict], renewed: list[Lease],
                 taken_over: list[Lease]) -> None:
        self.granted = granted
        self.conflicts = conflicts
        self.renewed = renewed
        self.taken_over = taken_over

    def to_json(self, now: int) -> dict[str, Any]:
        return {
            "granted": [lease.to_json(now) for lease in self.granted],
            "conflicts": [conflict.to_json(now) for conflict in self.conflicts],
            "renewed": [lease.id for lease in self.renewed],
            "taken_over": [lease.to_json(now) for lease in self.taken_over],
        }


class AgentState(_Record):
    """An agent seen by heartbeat or holding leases."""

    FIELDS = ("agent", "status", "last_heartbeat", "active_leases")

    def __init__(self, agent: str, status: str, last_heartbeat: int | None, active_leases: int) -> None:
        self.agent = agent
        self.status = status
        self.last_heartbeat = last_heartbeat
        self.active_leases = active_leases

    def to_json(self) -> dict[str, Any]:
        return {"agent": self.agent, "status": self.status, "last_heartbeat": iso(self.last_heartbeat),
                "last_heartbeat_ms": self.last_heartbeat, "active_leases": self.active_leases}
