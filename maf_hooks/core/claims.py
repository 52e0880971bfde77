"""Auto-claim: the edit-time hook leases what an agent writes, for as long as it keeps writing.

With ``[agent_hooks.auto_claim] enabled``, the first allowed write of a file by an agent takes an
exclusive lease on exactly that file, marked with the session that wrote it; each later write
renews it; the session's end releases that session's auto-claims, and expiry ends the rest. An
auto-claim never takes over another agent's lease (a file another agent holds, even shared, is
simply not claimed) and never touches a lease the agent took by hand (a hand lease covering the
file is left as it is, and acquiring an auto-claimed file by hand makes it a hand lease).
"""

from __future__ import annotations

from maf_hooks.core.decision import lease_index
from maf_hooks.core.leases import _end, conflicts_for, expire_due, insert_lease
from maf_hooks.core.model import EXCLUSIVE, Lease
from maf_hooks.core.reading import PLAIN, Reading
from maf_hooks.patterns.syntax import escape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from maf_hooks.store.base import Store

REASON = "auto-claim: editing"


class Claims:
    """What one write did: ``claimed`` (new leases), ``renewed``, and ``left`` (path -> why not)."""

    def __init__(self) -> None:
        self.claimed: list[Lease] = []
        self.renewed: list[Lease] = []
        self.left: dict[str, str] = {}


def claim(store: Store, agent: str, session: str, paths: Sequence[str], ttl_ms: int, *,
          reading: Reading = PLAIN, max_ms: int | None = None) -> Claims:
    """Claim or renew each repository-relative path for ``agent``'s ``session``, in one write section."""
    done = Claims()
    with store.write() as now:
        expire_due(store, max_ms)
        own = lease_index(store.leases.active_rows(now, agent=agent), casefold=reading.casefold)
        for path in dict.fromkeys(paths):
            covering = [Lease(*row) for row in own.covering(path)]
            if any(lease.claim is None for lease in covering):
                done.left[path] = "covered by a lease taken by hand"
                continue
            pattern = escape(path)
            mine = [lease for lease in covering if lease.pattern == pattern]
            if mine:
                for lease in mine:
                    lease.expires_at = max(lease.expires_at, now + ttl_ms)
                    store.leases.update(lease, now)
                    store.events.append(lease.id, "renew", agent,
                                        {"pattern": lease.pattern, "expires_at": lease.expires_at,
                                         "auto_claim": lease.claim}, now)
                    done.renewed.append(lease)
                continue
            others = conflicts_for(store, agent, pattern, EXCLUSIVE, now, reading)
            if others:
                done.left[path] = f"{others[0].lease.agent} holds {others[0].lease.pattern}"
                continue
            done.claimed.append(insert_lease(store, agent, pattern, EXCLUSIVE, REASON, now, now + ttl_ms,
                                             claim=session))
    return done


def release_session(store: Store, agent: str, session: str) -> list[Lease]:
    """End the auto-claims ``agent``'s ``session`` holds (its end: ``SessionEnd`` and the like)."""
    with store.write() as now:
        ended = [lease for lease in store.leases.active(now, agent=agent) if lease.claim == session]
        for lease in ended:
            _end(store, lease, "released", now)
            store.events.append(lease.id, "release", agent, {"pattern": lease.pattern, "auto_claim": session}, now)
    return ended
