"""The tallies (``Store.tallies``): the grouped counts ``maf metrics`` shows, on every backend,
against the records the rules wrote."""

from __future__ import annotations

from maf_hooks.core import leases as rules
from maf_hooks.core.escalation import OPEN
from maf_hooks.core.model import SHARED
from maf_hooks.services import escalation as service

from .test_escalation import CFG

MINUTE = 60_000


def _conflict(store, n, status, operation, now):
    return {"id": f"conflict-{n}", "agent": "bob", "path": f"src/{n}.py", "severity": "high", "holder": "alice",
            "lease_id": "lease-x", "lease_expires_at": now + MINUTE, "operation": operation, "status": status,
            "override_reason": "why" if status == "overridden" else None, "created_at": now}


def test_active_leases_are_counted_by_agent_and_mode(store, clock):
    assert store.tallies.active_leases(clock.now) == []
    assert rules.acquire(store, "alice", ["src/a.py", "src/b/"], 30 * MINUTE).granted
    assert rules.acquire(store, "alice", ["docs/"], 30 * MINUTE, mode=SHARED).granted
    assert rules.acquire(store, "bob", ["lib/"], 5 * MINUTE).granted
    assert rules.acquire(store, "carol", ["tmp/"], 30 * MINUTE).granted
    rules.release(store, "carol", pattern_list=["tmp/"])  # ended: carol holds nothing, and is not counted
    now = clock.now
    assert store.tallies.active_leases(now) == [("alice", "exclusive", 2), ("alice", "shared", 1),
                                                ("bob", "exclusive", 1)]
    assert store.tallies.leases_expiring(now, now + 10 * MINUTE) == 1  # bob's
    assert store.tallies.leases_expiring(now, now + 30 * MINUTE) == 4  # an expiry at the bound counts
    clock.advance(6 * MINUTE)  # bob's lease is past its end (not yet swept): no longer active
    assert store.tallies.active_leases(clock.now) == [("alice", "exclusive", 2), ("alice", "shared", 1)]
    assert store.tallies.leases_expiring(clock.now, clock.now + 30 * MINUTE) == 3


def test_conflicts_and_events_are_counted_from_a_time_on(store, clock):
    with store.write() as first:
        store.conflicts.add_many([_conflict(store, 1, "blocked", "commit", first),
                                  _conflict(store, 2, "blocked", "commit", first)])
        store.events.append("lease-x", "override", "bob", {"reason": "old"}, first)
    clock.advance(MINUTE)
    with store.write() as second:
        store.conflicts.add_many([_conflict(store, 3, "overridden", "push", second),
                                  _conflict(store, 4, "blocked", "edit", second)])
        store.events.append_many([("lease-x", "override", "bob", {"reason": "why"}),
                                  ("lease-y", "override", None, {"reason": "why"}),
                                  ("lease-y", "acquire", "bob", {})], second)
    assert store.tallies.conflicts_since(first) == [("blocked", "commit", 2), ("blocked", "edit", 1),
                                                    ("overridden", "push", 1)]
    assert store.tallies.conflicts_since(second) == [("blocked", "edit", 1), ("overridden", "push", 1)]
    assert store.tallies.conflicts_since(second + 1) == []
    assert store.tallies.events_since("override", first) == 3
    assert store.tallies.events_since("override", second) == 2  # whoever the agent (None too)
    assert store.tallies.events_since("release", first) == 0


def test_escalations_are_counted_by_level_and_status(store, clock):
    assert store.tallies.escalations(OPEN) == []
    with store.write() as now:
        store.events.append_many([("maf:system", "takeover", agent, {}) for agent in ("bob", "carol", "dave")], now)
    ids = [service.on_condition(store, CFG, agent, "lease_takeover", {})[0] for agent in ("bob", "carol", "dave")]
    clock.advance(6 * MINUTE)
    service.tick(store, CFG)  # every one moves to level 2
    service.respond(store, ids[0], "acknowledged", "lead", "on it")
    assert store.tallies.escalations(OPEN) == [(2, "acknowledged", 1), (2, "escalated", 2)]
    clock.advance(6 * MINUTE)
    service.tick(store, CFG)  # the two not acknowledged move to level 3
    assert store.tallies.escalations(("escalated",)) == [(3, "escalated", 2)]
    assert store.tallies.escalations_ended_since("timeout", 0) == 0
    clock.advance(6 * MINUTE)
    timed_out_at = clock.now
    service.tick(store, CFG)  # past the last level: they time out
    assert store.tallies.escalations(OPEN) == [(2, "acknowledged", 1)]
    assert store.tallies.escalations(("timeout",)) == [(3, "timeout", 2)]
    assert store.tallies.escalations_ended_since("timeout", timed_out_at) == 2
    assert store.tallies.escalations_ended_since("timeout", timed_out_at + 1) == 0
    service.respond(store, ids[0], "resolved", "lead", "done")
    assert store.tallies.escalations(OPEN) == []
    assert store.tallies.escalations_ended_since("resolved", timed_out_at) == 1


def test_size_is_what_the_store_takes(store, backend, spec):
    size = store.tallies.size_bytes()
    if backend == "sqlite":
        import os

        assert size == sum(os.path.getsize(p) for p in (spec, spec + "-wal") if os.path.exists(p)) and size > 0
    else:  # the server's database, as the server reports it (nothing writes in between)
        import psycopg

        with psycopg.connect(spec.split("#", 1)[0], autocommit=True) as conn:
            reported = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        assert size == reported and size > 0
