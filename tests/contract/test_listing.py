"""Listings read as a stream (``LeaseRecords.listing``, ``ConflictRecords.stream``): the same leases
and records, in the same order, as the whole-list reads, with their filters applied; on every backend."""

from __future__ import annotations

from maf_hooks.core import leases as rules
from maf_hooks.store.leases import glob_lead

MINUTE = 60_000
HELD = [("alice", "src/a.py"), ("bob", "src/b/"), ("carol", "src/*.txt"), ("alice", "docs/x.md"),
        ("bob", "src/b/**/*.py"), ("carol", "lib/"), ("alice", "src/c?.md"), ("alice", "docs/")]


def _fill(store, clock):
    """Eight leases of three agents taken a millisecond apart; one released, one expired."""
    for agent, pattern in HELD:
        assert rules.acquire(store, agent, [pattern], (1 if pattern == "lib/" else 30) * MINUTE).granted
        clock.advance(1)
    rules.release(store, "alice", pattern_list=["docs/x.md"])
    clock.advance(2 * MINUTE)  # lib/ is now past its end (not yet swept)


def _ids(leases):
    return [lease.id for lease in leases]


def test_listing_equals_the_whole_list_reads_page_by_page(store, clock):
    _fill(store, clock)
    now = clock.now
    active, everything = store.leases.active(now), store.leases.all()
    assert len(active) == 6 and len(everything) == 8
    for batch in (1, 2, 3, 1000):
        assert list(store.leases.listing(now, batch=batch)) == active
        assert list(store.leases.listing(now, active_only=False, batch=batch)) == everything
        assert list(store.leases.listing(now, agent="bob", batch=batch)) == store.leases.active(now, agent="bob")
        assert list(store.leases.listing(now, active_only=False, agent="bob", batch=batch)) == store.leases.all(agent="bob")


def test_listing_filters_by_pattern_text(store, clock):
    _fill(store, clock)
    now = clock.now

    def patterns_of(**filters):
        return [lease.pattern for lease in store.leases.listing(now, batch=2, **filters)]

    assert patterns_of(patterns=["src/b/", "src/b", "nothing"]) == ["src/b/"]
    assert patterns_of(patterns=["docs/x.md"]) == []  # released: not active
    assert [lease.pattern for lease in store.leases.listing(now, active_only=False, patterns=["docs/x.md"])] == [
        "docs/x.md"]
    # a glob matches the pattern text as a path: '*' stops at '/', '**' crosses it
    assert patterns_of(glob="src/*") == ["src/a.py", "src/*.txt", "src/c?.md"]
    assert patterns_of(glob="src/**") == ["src/a.py", "src/b/", "src/*.txt", "src/b/**/*.py", "src/c?.md"]
    assert patterns_of(glob="*.md") == []
    assert patterns_of(glob="**/*.md") == ["src/c?.md"]
    assert patterns_of(glob="src/[ab]*") == ["src/a.py"]
    assert patterns_of(glob="src/b/**", agent="bob") == ["src/b/", "src/b/**/*.py"]
    assert patterns_of(glob="src/b/?*/*", agent="bob") == ["src/b/**/*.py"]
    assert glob_lead("src/b/**") == "src/b/" and glob_lead("src/c?.md") == "src/c" and glob_lead("x\\*") == "x"


def test_listing_limit_counts_what_the_filters_keep(store, clock):
    _fill(store, clock)
    now = clock.now
    active = store.leases.active(now)
    for batch in (1, 2, 1000):
        assert list(store.leases.listing(now, limit=1, batch=batch)) == active[:1]
        assert list(store.leases.listing(now, limit=4, batch=batch)) == active[:4]
        assert list(store.leases.listing(now, limit=100, batch=batch)) == active
        # with a glob, the limit counts the leases it matches, not the rows read
        assert [lease.pattern for lease in store.leases.listing(now, glob="src/**", limit=2, batch=batch)] == [
            "src/a.py", "src/b/"]
        assert len(list(store.leases.listing(now, active_only=False, limit=7, batch=batch))) == 7


def test_a_listing_stopped_early_leaves_the_store_usable(store, clock):
    _fill(store, clock)
    now = clock.now
    listing = store.leases.listing(now, batch=1)
    first = next(listing)
    listing.close()
    assert first == store.leases.active(now)[0]
    # neither a half-read query nor its transaction is left behind: a write section runs, and
    # the next listing sees what it wrote
    granted = rules.acquire(store, "dave", ["new/"], 30 * MINUTE).granted
    assert _ids(store.leases.listing(clock.now)) == _ids(store.leases.active(clock.now))
    assert _ids(granted)[0] in _ids(store.leases.listing(clock.now))


def test_listing_of_an_empty_store(store, clock):
    assert list(store.leases.listing(clock.now)) == []
    assert list(store.leases.listing(clock.now, active_only=False, glob="**", limit=3)) == []
    assert list(store.conflicts.stream(0)) == []


def _record(i: int, agent: str, created_at: int) -> dict:
    return {"id": f"conflict-{i:04d}", "agent": agent, "path": f"src/{i}.py", "severity": "high", "holder": "bob",
            "lease_id": "lease-1", "lease_expires_at": created_at + MINUTE, "operation": "commit",
            "status": "blocked", "override_reason": None, "created_at": created_at}


def test_conflict_stream_equals_since_with_agent_and_limit(store, clock):
    with store.write():
        for i in range(7):
            store.conflicts.add(_record(i, "alice" if i % 2 else "carol", clock.now + i // 2))  # ties by id
    start = clock.now + 1
    for batch in (1, 3, 1000):
        assert list(store.conflicts.stream(0, batch=batch)) == store.conflicts.since(0)
        assert list(store.conflicts.stream(start, batch=batch)) == store.conflicts.since(start)
        assert [r["id"] for r in store.conflicts.stream(0, agent="alice", batch=batch)] == [
            r["id"] for r in store.conflicts.since(0) if r["agent"] == "alice"]
        assert list(store.conflicts.stream(start, limit=2, batch=batch)) == store.conflicts.since(start)[:2]
        assert [r["id"] for r in store.conflicts.stream(0, agent="carol", limit=3, batch=batch)] == [
            "conflict-0000", "conflict-0002", "conflict-0004"]


def test_latest_conflicts_are_the_newest_first_with_a_status_filter(store, clock):
    statuses = ["blocked", "overridden", "warned", "overridden", "blocked", "blocked", "overridden"]
    with store.write():
        for i, status in enumerate(statuses):  # two at each time: the later id is the newer
            store.conflicts.add(dict(_record(i, "alice", clock.now + i // 2), status=status,
                                     override_reason="hotfix" if status == "overridden" else None))
    oldest_first = store.conflicts.since(0)
    assert [r["id"] for r in store.conflicts.latest(3)] == ["conflict-0006", "conflict-0005", "conflict-0004"]
    assert store.conflicts.latest(100) == oldest_first[::-1]
    assert [r["id"] for r in store.conflicts.latest(2, status="overridden")] == ["conflict-0006", "conflict-0003"]
    assert [r["override_reason"] for r in store.conflicts.latest(5, status="overridden")] == ["hotfix"] * 3
    assert store.conflicts.latest(5, status="nothing") == []
