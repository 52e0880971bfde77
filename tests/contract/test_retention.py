"""`maf db gc` through the storage interface, on every backend: what each retention setting
deletes and what it keeps, the anchor that replaces the pruned events, validation after a gc
(from the checkpoint and in full), tampering after a gc still found, a second gc continuing the
first's anchor, and a broken chain refused with nothing deleted."""

from __future__ import annotations

import pytest

from maf_hooks import config
from maf_hooks.core import leases
from maf_hooks.errors import Refused
from maf_hooks.services import audit, retention

from .conftest import open_backend
from .test_audit_checkpoint import tamper

DAY = 86_400_000
HOUR = 3_600_000
CFG = config.load(None, environ={})  # the defaults: leases 30 days, conflicts 90, mail 30, events 365


def conflict(store, name: str, now: int) -> None:
    store.conflicts.add_many([{"id": name, "agent": "bob", "path": "a.py", "severity": "high", "holder": "alice",
                               "lease_id": "lease-x", "lease_expires_at": now, "operation": "commit",
                               "status": "blocked", "override_reason": None, "created_at": now}])


def history(store, clock) -> dict:
    """A month and more of history: a lease taken and released 40 days ago, a conflict and its
    delivered mail then, a lease still open since 35 days ago, and the same again today."""
    with store.write() as now:
        leases.acquire(store, "alice", ["old.txt"], HOUR)
        leases.release(store, "alice", pattern_list=["old.txt"])
        conflict(store, "conflict-old", now)
        sent = store.conflicts.queue_mail({"dedup_key": "k-old", "recipient": "alice", "maf_type": "X",
                                           "message": b"old", "token": "t1", "created_at": now})
        store.conflicts.mail_delivered(sent, "key-old", now)
    clock.advance(5 * DAY)
    held = leases.acquire(store, "carol", ["kept/"], 60 * DAY).granted[0]  # open: its events stay
    clock.advance(35 * DAY)
    with store.write() as now:
        leases.acquire(store, "bob", ["new.txt"], HOUR)
        leases.release(store, "bob", pattern_list=["new.txt"])
        conflict(store, "conflict-new", now)
        store.conflicts.queue_mail({"dedup_key": "k-new", "recipient": "bob", "maf_type": "X",
                                    "message": b"new", "token": "t2", "created_at": now})  # still pending
    return {"held": held}


def test_gc_deletes_what_retention_no_longer_keeps_and_validation_passes(store, clock):
    history(store, clock)
    assert audit.validate(store)["valid"]
    counted = retention.gc(store, CFG, older_than_ms=30 * DAY, dry_run=True)
    assert counted["dry_run"] and store.audit.latest_anchor() is None  # counted only
    result = retention.gc(store, CFG, older_than_ms=30 * DAY)
    assert result["records"] == counted["records"]
    assert result["records"]["leases"] == 1 and result["records"]["conflicts"] == 1
    assert result["records"]["mail_outbox"] == 1 and result["records"]["mail_log"] == 1
    # the first lease's acquire and release go; the open lease's acquire stops the prefix
    assert result["records"]["events"] == 2
    anchor = result["anchor"]
    assert anchor["first_id"] == 3 and anchor["pruned"] == anchor["pruned_total"] == 2
    assert anchor["previous_anchor"] is None
    assert [lease.pattern for lease in store.leases.all()] == ["kept/", "new.txt"]
    assert [row[0] for row in store.audit.chain_rows()][0] == 3
    assert store.audit.checkpoint()[0] == anchor["id"]
    again = audit.validate(store)
    assert again["valid"] and again["from_checkpoint"] and again["anchor"]["id"] == anchor["id"]
    full = audit.validate(store, full=True)
    assert full["valid"] and not full["from_checkpoint"] and full["checked"] == len(list(store.audit.chain_rows()))
    assert full["anchor"] == again["anchor"]


def test_retention_days_zero_keeps_forever_and_defaults_keep_a_month(store, clock, tmp_path):
    history(store, clock)
    result = retention.gc(store, CFG)  # the defaults: the 40-day-old lease and mail go, events stay
    assert result["records"]["leases"] == 1 and result["records"]["mail_outbox"] == 1
    assert result["records"]["conflicts"] == 0 and result["records"]["events"] == 0 and result["anchor"] is None
    path = tmp_path / "maf.toml"
    path.write_text("[storage.retention]\nleases_days = 0\nconflicts_days = 0\nmail_days = 0\nevents_days = 0\n")
    kept = retention.gc(store, config.load(None, config_path=str(path), environ={}))
    assert set(kept["records"].values()) == {0} and set(kept["before"].values()) == {None}


def test_tampering_after_gc_is_found(store, backend, spec, clock):
    history(store, clock)
    retention.gc(store, CFG, older_than_ms=30 * DAY)
    kept = [row[0] for row in store.audit.chain_rows()]
    tamper(backend, spec, "UPDATE events SET agent_id = 'mallory' WHERE {repo} AND id = :id", id=kept[1])
    broken = audit.validate(store)
    assert not broken["valid"] and broken["first_invalid_id"] == kept[1]


def test_a_removed_kept_event_after_gc_is_found(store, backend, spec, clock):
    history(store, clock)
    anchor = retention.gc(store, CFG, older_than_ms=30 * DAY)["anchor"]
    tamper(backend, spec, "DELETE FROM events WHERE {repo} AND id = :id", id=anchor["first_id"])
    broken = audit.validate(store)
    assert not broken["valid"] and broken["first_invalid_id"] == anchor["first_id"]
    assert "missing" in broken["problem"]


@pytest.mark.parametrize("change", ["hash", "count", "first"])
@pytest.mark.parametrize("bypass", [False, True])
def test_a_changed_anchor_is_found(store, backend, spec, clock, change, bypass):
    history(store, clock)
    anchor = retention.gc(store, CFG, older_than_ms=30 * DAY)["anchor"]
    leases.acquire(store, "dave", ["later.txt"], HOUR)  # the anchor is not the newest event
    assert audit.validate(store)["valid"]
    old = {"hash": anchor["hash"], "count": '"pruned_total": 2', "first": '"first_id": 3'}[change]
    new = {"hash": "0" * 64, "count": '"pruned_total": 1', "first": '"first_id": 2'}[change]
    tamper(backend, spec, "UPDATE events SET data_json = replace(data_json, :old, :new) WHERE {repo} AND id = :id",
           bypass=bypass, old=old, new=new, id=anchor["id"])
    found = audit.validate(store, full=bypass)  # a change that bypassed the triggers: found by --full
    assert not found["valid"] and found["first_invalid_id"] in (anchor["id"], anchor["first_id"]), found


def test_an_old_event_put_back_before_the_anchor_is_found(store, backend, spec, clock):
    history(store, clock)
    retention.gc(store, CFG, older_than_ms=30 * DAY)
    row = store.audit.chain_row(3)
    columns = "id, task_id, ts, kind, data_json, agent_id, prev_hash, hash"
    values = ":id, :task, :ts, :kind, :data, :agent, :prev, :hash"
    if backend == "postgres":
        columns, values = "repository, " + columns, "%(repo)s, " + values
    tamper(backend, spec, f"INSERT INTO events ({columns}) VALUES ({values})", id=2, task=row[1], ts=row[2],
           kind=row[3], data=row[4], agent=row[5], prev=row[6], hash=row[7])
    found = audit.validate(store)
    assert not found["valid"] and found["first_invalid_id"] == 2 and "inserted" in found["problem"]


def test_a_second_gc_continues_the_first_anchor(store, clock):
    state = history(store, clock)
    first = retention.gc(store, CFG, older_than_ms=30 * DAY)["anchor"]
    leases.release(store, "carol", ids=[state["held"].id])
    clock.advance(40 * DAY)
    leases.acquire(store, "erin", ["fresh.txt"], HOUR)
    second = retention.gc(store, CFG, older_than_ms=30 * DAY)["anchor"]
    assert second["previous_anchor"] == first["id"] and second["id"] > first["id"]
    assert second["pruned_total"] == first["pruned_total"] + second["pruned"] == second["first_id"] - 1
    assert store.audit.chain_row(first["id"]) is None  # the first anchor was pruned with the rest
    assert audit.validate(store)["valid"] and audit.validate(store, full=True)["valid"]
    assert audit.validate(store, full=True)["anchor"]["id"] == second["id"]


def test_a_broken_chain_is_refused_and_nothing_is_deleted(store, backend, spec, clock):
    history(store, clock)
    tamper(backend, spec, "UPDATE events SET agent_id = 'mallory' WHERE {repo} AND id = 1")
    before = len(list(store.audit.chain_rows())), len(store.leases.all())
    with pytest.raises(Refused, match="broken at event 1"):
        retention.gc(store, CFG, older_than_ms=30 * DAY)
    assert (len(list(store.audit.chain_rows())), len(store.leases.all())) == before
    assert store.audit.latest_anchor() is None


def test_gc_on_a_server_acts_on_this_repository_only(backend, spec, clock, make_store):
    if backend != "postgres":
        pytest.skip("several repositories share a server only")
    store = make_store()
    other = open_backend(backend, spec + "-other", clock)
    try:
        history(store, clock)
        clock.now -= 40 * DAY
        history(other, clock)
        theirs = list(other.audit.chain_rows()), len(other.leases.all())
        retention.gc(store, CFG, older_than_ms=30 * DAY)
        assert (list(other.audit.chain_rows()), len(other.leases.all())) == theirs
        assert other.audit.latest_anchor() is None and audit.validate(other, full=True)["valid"]
    finally:
        other.close()
