"""The lease rules over the storage interface: acquire, renew, release, takeover, expiry, check.

Every rule that reads and then writes runs in one write section (``with store.write() as now``),
so no other lease write interleaves: two agents never both see a pattern free. Every change is
an event naming the agent, written in the same section; ``now`` is the section's.
"""

from __future__ import annotations

import os

from maf_hooks import patterns
from maf_hooks.core.model import CLOCK_SKEW_TOLERANCE_MS, EXCLUSIVE, MODES, AcquireResult, Conflict, Lease, blocks
from maf_hooks.core.reading import PLAIN, Reading
from maf_hooks.errors import ClockSkew, Refused, UsageError
from maf_hooks.timeutil import iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from maf_hooks.store.base import Store


def candidates(store: Store, pattern: str, now: int, reading: Reading = PLAIN) -> list[Lease]:
    """Active leases that might overlap ``pattern`` (any agent, any mode); every lease that does
    is among them. Index reads of the store and a cheap textual test, not a scan of every lease:
    see :mod:`maf_hooks.core.candidates`."""
    from maf_hooks.core.candidates import candidates as found

    return found(store, pattern, now, reading)


def overlapping(store: Store, pattern: str, now: int, reading: Reading = PLAIN) -> list[Lease]:
    """Every active lease whose pattern overlaps ``pattern`` (any agent, any mode)."""
    return [lease for lease in candidates(store, pattern, now, reading) if reading.overlaps(pattern, lease.pattern)]


def conflicts_for(store: Store, agent: str, pattern: str, mode: str, now: int,
                  reading: Reading = PLAIN) -> list[Conflict]:
    """The other agents' leases that a ``mode`` request for ``pattern`` would collide with."""
    return [
        Conflict(pattern, lease)
        for lease in candidates(store, pattern, now, reading)
        if lease.agent != agent and blocks(mode, lease.mode) and reading.overlaps(pattern, lease.pattern)
    ]


def expire_due(store: Store, max_ms: int | None = None) -> list[Lease]:
    """End every lease whose time is up (an ``expire`` event each); with ``max_ms`` (the longest
    lease, ``reservation.max_timeout_minutes``), first bound the clock-skew leases
    (:func:`correct_skew`)."""
    with store.write() as now:
        if max_ms is not None:
            correct_skew(store, now, max_ms)
        due = store.leases.due(now)
        for lease in due:
            _end(store, lease, "expired", now)
            store.events.append(lease.id, "expire", lease.agent,
                                {"pattern": lease.pattern, "expired_at": lease.expires_at}, now)
        return due


def correct_skew(store: Store, now: int, max_ms: int) -> list[Lease]:
    """A lease taken with a clock ahead (:meth:`Lease.clock_skew`) ends at most its length after
    ``now``, the first write that sees it with this clock: its expiry becomes now + min(its
    length, ``max_ms``) (its length: expiry minus creation), never later than it was, with a
    ``clock_skew`` event naming both times. Once per lease (the event marks it). Call inside a
    write section."""
    corrected = store.leases.skewed(now, now + CLOCK_SKEW_TOLERANCE_MS, now + max_ms)
    for lease in corrected:
        before = lease.expires_at
        length = min(max(lease.expires_at - lease.created_at, 0), max_ms)
        lease.expires_at = min(before, now + length)
        store.leases.update(lease, now)
        store.events.append(lease.id, "clock_skew", lease.agent, {
            "pattern": lease.pattern, "created_at": lease.created_at, "expires_at_before": before,
            "seen_at": now, "expires_at": lease.expires_at}, now)
    return corrected


def _end(store: Store, lease: Lease, reason: str, now: int) -> None:
    lease.end(reason, now)
    store.leases.end(lease)


def take_over(store: Store, lease: Lease, agent: str, now: int, **why: object) -> None:
    """End another agent's ``lease`` as taken over by ``agent`` (a ``takeover`` event naming
    both, with ``why``). Call inside a write section."""
    _end(store, lease, "taken_over", now)
    store.events.append(lease.id, "takeover", agent,
                        {"pattern": lease.pattern, "holder": lease.agent, "taken_by": agent, **why}, now)


def insert_lease(store: Store, agent: str, pattern: str, mode: str, reason: str, now: int, expires: int, *,
                 claim: str | None = None) -> Lease:
    """Write one new lease and its ``acquire`` event, checking nothing: the rules above check first
    (a test or a benchmark may fill a store with it). ``claim``: the session auto-claiming it
    (:mod:`maf_hooks.core.claims`). Call inside a write section."""
    lease = Lease("lease-" + os.urandom(6).hex(), agent, pattern, mode, reason, now, expires,
                  prefix=patterns.literal_prefix(pattern), claim=claim)
    store.leases.insert(lease, {"kind": "file_lease", "pattern": pattern, "mode": mode})
    data = {"pattern": pattern, "mode": mode, "expires_at": expires, "reason": reason}
    if claim is not None:
        data["auto_claim"] = claim
    store.events.append(lease.id, "acquire", agent, data, now)
    return lease


def acquire(store: Store, agent: str, pattern_list: Sequence[str], ttl_ms: int, *, mode: str = EXCLUSIVE,
            reason: str = "", force: bool = False, strategy: str = "block", reading: Reading = PLAIN,
            max_ms: int | None = None) -> AcquireResult:
    """All or nothing: either every pattern is granted (or renewed) or none is.

    A conflict refuses the whole request (``strategy`` "block"), or is taken over (``force``: the
    other lease ends as ``taken_over``), or is granted beside it with the conflict reported
    (``strategy`` "warn"). A pattern the agent holds already is renewed (its expiry never shrinks).
    ``max_ms``: see :func:`expire_due`."""
    if mode not in MODES:
        raise UsageError(f"Invalid lease mode {mode!r}: expected exclusive or shared.")
    wanted = list(dict.fromkeys(pattern_list))  # keep order, drop repeats
    with store.write() as now:
        expire_due(store, max_ms)
        conflicts = [c for pattern in wanted for c in conflicts_for(store, agent, pattern, mode, now, reading)]
        if conflicts and not force and strategy == "block":
            return AcquireResult([], conflicts, [], [])
        taken_over: list[Lease] = []
        if conflicts and force:
            seen: set[str] = set()
            for conflict in conflicts:
                if conflict.lease.id not in seen:
                    seen.add(conflict.lease.id)
                    take_over(store, conflict.lease, agent, now, requested=conflict.pattern)
                    taken_over.append(conflict.lease)
            conflicts = []
        own = {lease.pattern: lease for lease in store.leases.named(now, patterns=wanted, agent=agent)}
        granted: list[Lease] = []
        renewed: list[Lease] = []
        for pattern in wanted:
            expires = now + ttl_ms
            lease = own.get(pattern)
            if lease is None:
                granted.append(insert_lease(store, agent, pattern, mode, reason, now, expires))
                continue
            lease.expires_at = max(lease.expires_at, expires)
            lease.mode, lease.reason = mode, reason or lease.reason
            lease.claim = None  # asked for by hand: no session's end releases it now
            store.leases.update(lease, now)
            store.events.append(lease.id, "renew", agent,
                                {"pattern": pattern, "expires_at": lease.expires_at, "mode": mode}, now)
            renewed.append(lease)
            granted.append(lease)
        return AcquireResult(granted, conflicts, renewed, taken_over)


def renew(store: Store, agent: str, pattern_list: Sequence[str] | None, ttl_ms: int, *,
          max_ms: int | None = None) -> list[Lease]:
    """New expiry = now + ttl for the agent's active leases on ``pattern_list`` (all when None).
    A renew whose ``now`` is earlier than a chosen lease's last recorded change (its latest event
    or update) is refused as clock skew (:class:`ClockSkew`, nothing renewed): this clock is
    behind the one that wrote the lease, and its expiry could move into the past."""
    with store.write() as now:
        expire_due(store, max_ms)
        if pattern_list is None:
            chosen = store.leases.active(now, agent=agent)
        else:
            chosen = store.leases.named(now, patterns=list(pattern_list), agent=agent)
        if not chosen:
            what = "any active lease" if pattern_list is None else "an active lease on " + ", ".join(pattern_list)
            raise Refused(f"Nothing to renew: {agent} does not hold {what}. See `maf-lease list --mine`.")
        changed = store.leases.last_changes([lease.id for lease in chosen])
        behind = [lease for lease in chosen if changed.get(lease.id, 0) > now]
        if behind:
            listed = "; ".join(f"{lease.id} ({lease.pattern}) last changed {iso(changed[lease.id])}"
                               for lease in behind)
            raise ClockSkew(f"Renew refused as clock skew: this clock says {iso(now)}, earlier than the "
                            f"last recorded change of {listed}. A clock is wrong (this one behind, or the "
                            "one that wrote the lease ahead): fix it, or release the lease and acquire it "
                            "again. Nothing was renewed.")
        for lease in chosen:
            lease.expires_at = now + ttl_ms
            store.leases.update(lease, now)
            store.events.append(lease.id, "renew", agent, {"pattern": lease.pattern, "expires_at": lease.expires_at},
                                now)
        return chosen


def _name(lease: Lease) -> str:
    """'src' and 'src/' are one name when releasing (see ``services.leasing.either_spelling``)."""
    return lease.pattern.rstrip("/")


def release(store: Store, agent: str, *, pattern_list: Sequence[str] = (), ids: Sequence[str] = (),
            everything: bool = False, force: bool = False, max_ms: int | None = None) -> list[Lease]:
    """End leases: the agent's own by pattern, by id, or all of them. Another agent's lease (named
    by id, or by a pattern the agent does not hold itself) is ended only with ``force``, as a takeover.
    ``max_ms``: see :func:`expire_due`."""
    with store.write() as now:
        expire_due(store, max_ms)
        if everything:
            chosen = store.leases.active(now, agent=agent)
        else:
            leases = store.leases.named(now, patterns=list(pattern_list), ids=list(ids))
            wanted_ids = set(ids)
            own_names = {_name(lease) for lease in leases if lease.agent == agent}
            chosen = [lease for lease in leases if lease.agent == agent or lease.id in wanted_ids
                      or (force and _name(lease) not in own_names)]
            in_the_way = [lease for lease in leases if lease.agent != agent
                          and (lease.id in wanted_ids or _name(lease) not in own_names)]
            if in_the_way and not force:
                held = "; ".join(f"{lease.id} ({lease.pattern}) held by {lease.agent}" for lease in in_the_way)
                raise Refused(f"Not released: {held}. Releasing another agent's lease needs --force "
                              "(and is recorded as a takeover).")
        if not chosen:
            asked = "your leases" if everything else ", ".join([*pattern_list, *ids])
            raise Refused(f"Nothing released: no active lease matches {asked} for {agent}. "
                          "Patterns must match a lease's pattern exactly; see `maf-lease list`.")
        for lease in chosen:
            if lease.agent == agent:
                _end(store, lease, "released", now)
                store.events.append(lease.id, "release", agent, {"pattern": lease.pattern}, now)
            else:
                take_over(store, lease, agent, now, released=True)
        return chosen


def check(store: Store, paths: Iterable[str], now: int, reading: Reading = PLAIN) -> dict[str, list[Lease]]:
    """The active leases covering each path (a lease covers a path when its pattern matches the
    path or one of its parent directories)."""
    from maf_hooks.core.decision import lease_index

    index = lease_index(store.leases.active_rows(now), casefold=reading.casefold)
    covering: dict[str, list[Lease]] = {}
    for path in paths:
        rows: list[tuple] = index.covering(path)
        covering[path] = [Lease(*row) for row in rows]
    return covering


def heartbeat(store: Store, agent: str, status: str | None = None) -> int:
    """Record that ``agent`` is alive; ``status`` replaces its status line when given. Returns when."""
    with store.write() as now:
        store.leases.heartbeat(agent, status, now)
        return now
