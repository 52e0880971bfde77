"""The live board's document (services/board.py) read through the storage interface, on every backend."""

from __future__ import annotations

from maf_hooks.core import leases as rules
from maf_hooks.services import board
from maf_hooks.services import escalation as escalations
from maf_hooks.timeutil import iso

from .conftest import tamper_event
from .test_escalation import CFG

MINUTE = 60_000


def _conflict(i: int, status: str, created_at: int, reason: str | None = None) -> dict:
    return {"id": f"conflict-{i}", "agent": "bob", "path": f"src/api/{i}.py", "severity": "high", "holder": "alice",
            "lease_id": "lease-x", "lease_expires_at": created_at + MINUTE, "operation": "commit", "status": status,
            "override_reason": reason, "created_at": created_at}


def test_board_of_a_store_in_use(store, backend, spec, clock):
    start = clock.now
    assert rules.acquire(store, "alice", ["src/api/"], 30 * MINUTE, reason="refactor the client").granted
    clock.advance(1)
    assert rules.acquire(store, "bob", ["docs/*.md"], 10 * MINUTE, mode="shared").granted
    assert rules.acquire(store, "carol", ["tmp/"], 1 * MINUTE).granted
    rules.release(store, "carol", pattern_list=["tmp/"])
    with store.write() as now:
        store.leases.heartbeat("bob", "writing docs", now)
        store.conflicts.add_many([_conflict(i, status, start + i, "prod is down" if status == "overridden" else None)
                                  for i, status in enumerate(["blocked"] * 30 + ["overridden", "blocked"])])
        store.events.append("maf:system", "takeover", "bob", {}, now)
    [escalation_id] = escalations.on_condition(store, CFG, "bob", "lease_takeover", {"why": "test"})
    clock.advance(61 * MINUTE)  # bob's heartbeat is now stale; alice never sent one; both leases ran out
    assert rules.acquire(store, "alice", ["src/api/"], 30 * MINUTE, reason="second pass").granted
    clock.advance(MINUTE)

    document = board.snapshot(store, clock.now)
    assert document["schema"] == "maf.board/1" and document["backend"] == store.backend
    assert document["now_ms"] == clock.now and document["generated_at"] == iso(clock.now)
    [lease] = document["leases"]
    assert (lease["agent"], lease["pattern"], lease["mode"], lease["reason"]) == ("alice", "src/api/", "exclusive",
                                                                                 "second pass")
    assert lease["left_ms"] == 29 * MINUTE and lease["expires_at_ms"] == clock.now + 29 * MINUTE
    assert not document["more_leases"]
    agents = {agent["agent"]: agent for agent in document["agents"]}
    assert set(agents) == {"alice", "bob"}  # carol holds nothing and sent no heartbeat
    assert agents["alice"]["stale"] and agents["alice"]["last_heartbeat"] is None  # holds a lease, never heard of
    assert not agents["bob"]["stale"]  # silent for an hour, but holds nothing now
    assert agents["bob"]["status"] == "writing docs" and agents["bob"]["last_heartbeat_ms"] == start + 1
    # the newest conflicts first, bounded; the overrides apart, with their reason
    assert [c["id"] for c in document["conflicts"]] == [f"conflict-{i}" for i in range(31, 11, -1)]
    assert len(document["conflicts"]) == board.CONFLICTS
    [override] = document["overrides"]
    assert (override["id"], override["override_reason"], override["created_at"]) == ("conflict-30", "prod is down",
                                                                                    iso(start + 30))
    [open_one] = document["escalations"]
    assert (open_one["escalation_id"], open_one["current_level"], open_one["status"]) == (escalation_id, 1, "pending")
    assert open_one["target"] == "first" and "context" not in open_one
    assert document["audit"]["valid"] and document["audit"]["checked"] > 0

    escalations.respond(store, escalation_id, "acknowledged", "first", "looking")  # still open
    assert [e["status"] for e in board.snapshot(store, clock.now)["escalations"]] == ["acknowledged"]
    escalations.respond(store, escalation_id, "resolved", "first", "done")
    assert board.snapshot(store, clock.now)["escalations"] == []

    tamper_event(backend, spec, 1, agent="mallory")
    chain = board.snapshot(store, clock.now)["audit"]
    assert not chain["valid"] and chain["first_invalid_id"] == 1 and chain["problem"]


def test_board_bounds_the_leases_it_shows(store, clock, monkeypatch):
    monkeypatch.setattr(board, "LEASES", 3)
    for i in range(4):
        assert rules.acquire(store, "alice", [f"src/{i}.py"], 30 * MINUTE).granted
        clock.advance(1)
    document = board.snapshot(store, clock.now)
    assert [lease["pattern"] for lease in document["leases"]] == ["src/0.py", "src/1.py", "src/2.py"]
    assert document["more_leases"]


def test_board_without_a_store_is_empty(clock):
    document = board.snapshot(None, clock.now)
    assert document["backend"] is None and document["audit"]["valid"]
    assert all(document[key] == [] for key in ("leases", "agents", "conflicts", "overrides", "escalations"))
