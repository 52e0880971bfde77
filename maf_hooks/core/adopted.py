"""A lease recorded by an earlier system (`maf db import-legacy`), written through the lease rules.

It keeps its own id, holder and times. An ended one (expired, or released) is history: written
and ended as it ended, checking nothing. An active one is held to the acquire rule: another
agent's active lease in its way (any mode: a legacy lease is exclusive) is an overlap, which
refuses the import unless ``force``, which takes that lease over as ``maf-lease acquire --force``
would. Each lease gets one ``legacy_import`` event saying where it came from.
"""

from __future__ import annotations

from maf_hooks import patterns
from maf_hooks.core.leases import conflicts_for, take_over
from maf_hooks.core.model import EXCLUSIVE, Conflict, Lease

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.core.reading import Reading
    from maf_hooks.store.base import Store


def adopt(store: Store, lease_id: str, agent: str, pattern: str, reason: str, created_at: int, expires_at: int,
          now: int, *, released_at: int | None, origin: dict[str, Any], force: bool,
          reading: Reading) -> tuple[Lease, list[Conflict]]:
    """Write one legacy lease (inside a write section); returns it and the overlaps found (taken
    over with ``force``; without, the caller refuses the import, which rolls it all back)."""
    ended = released_at is not None or expires_at <= now
    overlaps = [] if ended else conflicts_for(store, agent, pattern, EXCLUSIVE, now, reading)
    if force:
        for conflict in overlaps:
            take_over(store, conflict.lease, agent, now, requested=pattern, legacy_import=lease_id)
    lease = Lease(lease_id, agent, pattern, EXCLUSIVE, reason, min(created_at, expires_at, now), expires_at,
                  prefix=patterns.literal_prefix(pattern))
    store.leases.insert(lease, {"kind": "file_lease", "pattern": pattern, "mode": EXCLUSIVE, "legacy": True})
    status = "active"
    if ended:
        status = "released" if released_at is not None else "expired"
        lease.end(status, min(released_at if released_at is not None else expires_at, now))
        store.leases.end(lease)
    store.events.append(lease.id, "legacy_import", agent, {
        "pattern": pattern, "mode": EXCLUSIVE, "created_at": lease.created_at, "expires_at": expires_at,
        "status": status, **origin}, now)
    return lease, overlaps
