"""The lease rules over the storage interface only: they hold on every backend."""

from __future__ import annotations

import multiprocessing
import traceback

import pytest

from maf_hooks import patterns
from maf_hooks.core import leases as rules
from maf_hooks.core.model import EXCLUSIVE, SHARED
from maf_hooks.errors import ClockSkew, Refused, UsageError
from tests.contract.conftest import Clock, open_backend

MINUTE = 60_000
CTX = multiprocessing.get_context("fork")




def test_acquire_grants_and_lists(store, clock):
    result = rules.acquire(store, "alice", ["src/", "docs/x.md"], 30 * MINUTE, reason="work")
    assert [lease.pattern for lease in result.granted] == ["src/", "docs/x.md"]
    assert result.conflicts == [] and result.renewed == [] and result.taken_over == []
    active = store.leases.active(clock.now)
    # ordered by (created_at, id): taken in one section, so by id
    assert [lease.id for lease in active] == sorted(lease.id for lease in result.granted)
    assert sorted((lease.agent, lease.pattern, lease.mode, lease.reason) for lease in active) == [
        ("alice", "docs/x.md", EXCLUSIVE, "work"), ("alice", "src/", EXCLUSIVE, "work")]
    assert all(lease.expires_at == clock.now + 30 * MINUTE for lease in active)
    assert store.leases.has_active(clock.now)


def test_acquire_is_all_or_nothing(store, clock):
    rules.acquire(store, "alice", ["docs/"], 30 * MINUTE)
    result = rules.acquire(store, "bob", ["src/", "docs/x.md"], 30 * MINUTE)
    assert result.granted == [] and [c.pattern for c in result.conflicts] == ["docs/x.md"]
    assert result.conflicts[0].lease.agent == "alice"
    assert [lease.agent for lease in store.leases.active(clock.now)] == ["alice"]


def test_shared_blocks_only_exclusive(store):
    assert rules.acquire(store, "alice", ["lib/"], MINUTE, mode=SHARED).granted
    assert rules.acquire(store, "bob", ["lib/"], MINUTE, mode=SHARED).granted
    assert not rules.acquire(store, "carol", ["lib/x.py"], MINUTE).granted  # exclusive vs shared
    assert rules.acquire(store, "carol", ["app/"], MINUTE).granted
    assert not rules.acquire(store, "dave", ["app/x"], MINUTE, mode=SHARED).granted  # shared vs exclusive


def test_invalid_mode_is_refused(store):
    with pytest.raises(UsageError):
        rules.acquire(store, "alice", ["a"], MINUTE, mode="greedy")


def test_acquire_again_renews_and_never_shortens(store, clock):
    first = rules.acquire(store, "alice", ["a.txt"], 120 * MINUTE).granted[0]
    again = rules.acquire(store, "alice", ["a.txt"], 10 * MINUTE)
    assert [lease.id for lease in again.renewed] == [first.id]
    assert again.granted[0].expires_at == first.expires_at
    assert len(store.leases.active(clock.now)) == 1


def test_warn_strategy_grants_beside_the_conflict(store, clock):
    rules.acquire(store, "alice", ["src/"], MINUTE)
    result = rules.acquire(store, "bob", ["src/a.py"], MINUTE, strategy="warn")
    assert [lease.pattern for lease in result.granted] == ["src/a.py"] and len(result.conflicts) == 1


def test_renew_sets_a_new_expiry(store, clock):
    rules.acquire(store, "alice", ["a", "b"], 10 * MINUTE)
    clock.advance(5 * MINUTE)
    renewed = rules.renew(store, "alice", ["a"], 10 * MINUTE)
    assert [lease.pattern for lease in renewed] == ["a"]
    expiry = {lease.pattern: lease.expires_at for lease in store.leases.active(clock.now)}
    assert expiry == {"a": clock.now + 10 * MINUTE, "b": clock.now + 5 * MINUTE}
    assert len(rules.renew(store, "alice", None, 20 * MINUTE)) == 2


def test_renew_nothing_held_is_refused(store):
    rules.acquire(store, "alice", ["a"], MINUTE)
    with pytest.raises(Refused):
        rules.renew(store, "bob", ["a"], MINUTE)
    with pytest.raises(Refused):
        rules.renew(store, "bob", None, MINUTE)


def test_release_by_pattern_id_and_all(store, clock):
    leases = rules.acquire(store, "alice", ["a", "b", "c"], MINUTE).granted
    assert [lease.pattern for lease in rules.release(store, "alice", pattern_list=["a"])] == ["a"]
    assert [lease.id for lease in rules.release(store, "alice", ids=[leases[1].id])] == [leases[1].id]
    released = rules.release(store, "alice", everything=True)
    assert [(lease.pattern, lease.end_reason, lease.state) for lease in released] == [("c", "released", "DONE")]
    assert store.leases.active(clock.now) == []
    assert [lease.status(clock.now) for lease in store.leases.all(agent="alice")] == ["released"] * 3
    with pytest.raises(Refused):
        rules.release(store, "alice", everything=True)


def test_releasing_another_agents_lease_needs_force_and_is_a_takeover(store, clock):
    held = rules.acquire(store, "alice", ["src/"], MINUTE).granted[0]
    with pytest.raises(Refused, match="needs --force"):
        rules.release(store, "bob", pattern_list=["src/"])
    with pytest.raises(Refused):
        rules.release(store, "bob", ids=[held.id])
    assert store.leases.active(clock.now)[0].id == held.id
    taken = rules.release(store, "bob", pattern_list=["src/"], force=True)
    assert [(lease.id, lease.end_reason, lease.state) for lease in taken] == [(held.id, "taken_over", "DEAD")]


def test_forced_acquire_takes_over(store, clock):
    held = rules.acquire(store, "alice", ["src/", "src/a.py"], MINUTE).granted
    result = rules.acquire(store, "bob", ["src/**"], MINUTE, force=True)
    assert sorted(lease.id for lease in result.taken_over) == sorted(lease.id for lease in held)
    assert result.conflicts == [] and [lease.agent for lease in store.leases.active(clock.now)] == ["bob"]
    assert {lease.end_reason for lease in store.leases.all(agent="alice")} == {"taken_over"}


def test_expiry_frees_a_pattern(store, clock):
    rules.acquire(store, "alice", ["src/"], MINUTE)
    clock.advance(MINUTE)  # expires_at <= now: no longer active
    assert store.leases.active(clock.now) == [] and not store.leases.has_active(clock.now)
    assert store.leases.count_due(clock.now) == 1
    assert rules.acquire(store, "bob", ["src/a.py"], MINUTE).granted  # ends the expired lease first
    assert [lease.status(clock.now) for lease in store.leases.all(agent="alice")] == ["expired"]
    assert store.leases.count_due(clock.now) == 0


def test_expire_due_ends_only_what_is_due(store, clock):
    rules.acquire(store, "alice", ["a"], MINUTE)
    rules.acquire(store, "alice", ["b"], 10 * MINUTE)
    clock.advance(2 * MINUTE)
    assert [lease.pattern for lease in rules.expire_due(store)] == ["a"]
    assert [lease.pattern for lease in store.leases.active(clock.now)] == ["b"]


def test_a_lease_from_a_clock_ahead_is_bounded_once(store, clock):
    held = rules.acquire(store, "alice", ["src/"], 30 * MINUTE).granted[0]
    rules.acquire(store, "alice", ["ok/"], 30 * MINUTE)
    clock.advance(-365 * 24 * 60 * MINUTE)  # the clock that wrote it was a year ahead
    found = store.leases.skewed(clock.now, clock.now + 5 * MINUTE, clock.now + 120 * MINUTE)
    assert {lease.id for lease in found} == {lease.id for lease in store.leases.all()}
    with store.write() as now:
        corrected = rules.correct_skew(store, now, 120 * MINUTE)
    assert len(corrected) == 2 and all(lease.expires_at == now + 30 * MINUTE for lease in corrected)
    assert store.leases.skewed(now, now + 5 * MINUTE, now + 120 * MINUTE) == []  # recorded: not again
    assert store.leases.last_changes([held.id]) == {held.id: held.created_at}  # its acquire, a year ahead
    with pytest.raises(ClockSkew, match="clock skew"):
        rules.renew(store, "alice", ["src/"], 10 * MINUTE)
    assert store.leases.active(now)[0].expires_at == now + 30 * MINUTE  # the refused renew changed nothing


def test_the_skew_bound_is_the_longest_lease(store, clock):
    with store.write() as now:
        rules.insert_lease(store, "alice", "src/", EXCLUSIVE, "", now, now + 1000 * MINUTE)
    rules.expire_due(store, 120 * MINUTE)
    assert store.leases.active(clock.now)[0].expires_at == clock.now + 120 * MINUTE
    assert rules.expire_due(store) == []  # without a bound: nothing judged


def test_a_failed_section_leaves_no_lease(store, clock):
    with pytest.raises(RuntimeError), store.write():
        rules.acquire(store, "alice", ["a"], MINUTE)
        raise RuntimeError("boom")
    assert store.leases.all() == []


def test_candidates_never_miss_an_overlap(store, clock):
    held = ["a", "a/", "a/b/c.py", "a/*.py", "a/**/*.md", "*.md", "**", "b/[ab]/c.txt", "c/d", "?/b"]
    with store.write() as now:
        for pattern in held:
            rules.insert_lease(store, "holder", pattern, EXCLUSIVE, "", now, now + MINUTE)
    active = store.leases.active(clock.now)
    for asked in ["a", "a/b", "a/x.py", "docs/x.md", "b/", "c/d/e", "x", "?"]:
        found = {c.lease.id for c in rules.conflicts_for(store, "asker", asked, EXCLUSIVE, clock.now)}
        assert found == {lease.id for lease in active if patterns.overlaps(asked, lease.pattern)}, asked


def test_check_and_keyed_rows(store, clock):
    rules.acquire(store, "alice", ["src/", "docs/*.md"], MINUTE)
    covering = rules.check(store, ["src/a.py", "docs/x.md", "lib/x"], clock.now)
    assert {path: [lease.pattern for lease in found] for path, found in covering.items()} == {
        "src/a.py": ["src/"], "docs/x.md": ["docs/*.md"], "lib/x": []}
    near = store.leases.active_rows_near(clock.now, ["src/a.py", "src", "src/", "src/**"], ["", "src/"])
    assert [row[2] for row in near] == ["src/"]
    assert [row[2] for row in store.leases.active_rows_near(clock.now, ["x"], ["", "docs/"])] == ["docs/*.md"]


def test_heartbeat_and_agents(store, clock):
    rules.heartbeat(store, "alice", "reviewing")
    rules.acquire(store, "bob", ["x"], MINUTE)
    clock.advance(1000)
    rules.heartbeat(store, "alice")  # keeps the status line
    states = {state.agent: state for state in store.leases.agents(clock.now)}
    assert (states["alice"].status, states["alice"].last_heartbeat, states["alice"].active_leases) == (
        "reviewing", clock.now, 0)
    assert (states["bob"].last_heartbeat, states["bob"].active_leases) == (None, 1)
    assert store.leases.heartbeats() == {"alice": clock.now}


# --- real processes racing -----------------------------------------------------------------------

RACE = [["src/"], ["src/a.py"], ["src/*.py", "docs/"], ["**/a.py"], ["src/a.py", "x"], ["src/**"]]


def _racer(backend, spec, agent, wanted, barrier, results) -> None:
    try:
        store = open_backend(backend, spec, Clock())
        barrier.wait(timeout=30)
        result = rules.acquire(store, agent, wanted, MINUTE)
        results.put((agent, bool(result.granted), None))
        store.close()
    except Exception:
        results.put((agent, False, traceback.format_exc()))


@pytest.mark.parametrize("round_", range(3))
def test_racing_processes_one_winner_no_overlap(backend, spec, make_store, round_):
    make_store().close()  # created and migrated before the race
    barrier = CTX.Barrier(len(RACE))
    results = CTX.Queue()
    procs = [CTX.Process(target=_racer, args=(backend, spec, f"agent-{i}", wanted, barrier, results))
             for i, wanted in enumerate(RACE)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert [err for _, _, err in outcomes if err] == []
    assert sum(1 for _, won, _ in outcomes if won) == 1  # every request overlaps every other
    active = make_store().leases.active(Clock().now)
    assert len({lease.agent for lease in active}) == 1
    for i, a in enumerate(active):
        for b in active[i + 1:]:
            assert a.agent == b.agent or not patterns.overlaps(a.pattern, b.pattern)
