"""The audit chain's checkpoint through the storage interface, on every backend: validation after
a check hashes only the events added since; what it still finds (the checkpoint's own event
changed, events removed before or after it, any change made through SQL) and what only
``full=True`` finds (an earlier event changed by someone who bypassed the store's triggers).

Tampering goes behind the store's back with a plain connection; ``bypass=True`` also gets around
the triggers that set the checkpoint aside (SQLite: they are dropped and made again; PostgreSQL:
``session_replication_role = replica``, as a superuser restoring data would)."""

from __future__ import annotations

import re

from maf_hooks.core.chain import chain_hash
from maf_hooks.services import audit

SYSTEM = "maf:system"


def append(store, count: int, agent: str = "alice") -> list[int]:
    ids = []
    for index in range(count):
        with store.write() as now:
            ids.append(store.events.append(SYSTEM, "acquire", agent, {"n": index}, now))
    return ids


def tamper(backend: str, spec: str, statement: str, *, bypass: bool = False, **args) -> None:
    """Run ``statement`` on the events of this store (``:name`` parameters; ``{repo}`` stands for
    "this repository's rows")."""
    if backend == "sqlite":
        import sqlite3

        from maf_hooks.store.sqlite.schema_v15 import V15_AUDIT_CHECKPOINT

        conn = sqlite3.connect(spec, isolation_level=None)
        try:
            triggers = [name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit_checkpoint_%'")]
            assert len(triggers) == 3
            if bypass:
                for name in triggers:
                    conn.execute(f"DROP TRIGGER {name}")
            conn.execute(statement.replace("{repo}", "1 = 1"), args)
            if bypass:
                for create in V15_AUDIT_CHECKPOINT[1:]:
                    conn.execute(create)
        finally:
            conn.close()
        return
    import psycopg

    url, repository = spec.split("#", 1)
    sql = re.sub(r":(\w+)", r"%(\1)s", statement).replace("{repo}", "repository = %(repo)s")
    with psycopg.connect(url, autocommit=True) as conn:
        if bypass:
            conn.execute("SET session_replication_role = replica")
        conn.execute(sql, dict(args, repo=repository))


def test_validation_after_appends_checks_only_the_new_events(store):
    append(store, 3)
    first = audit.validate(store)
    assert first["valid"] and first["checked"] == 3 and first["from_checkpoint"] is False
    assert store.audit.checkpoint()[:3] == (3, store.audit.chain_row(3)[7], 3)
    append(store, 2)
    second = audit.validate(store)
    assert second == {"valid": True, "checked": 5, "first_invalid_id": None, "problem": None,
                      "from_checkpoint": True, "checkpoint_id": 3, "new_checked": 2, "checkpoint_problem": None,
                      "anchor": None}
    third = audit.validate(store)
    assert third["from_checkpoint"] and third["checkpoint_id"] == 5 and third["new_checked"] == 0
    full = audit.validate(store, full=True)
    assert full["valid"] and full["from_checkpoint"] is False and full["new_checked"] == 5


def test_a_new_event_that_is_broken_is_found_from_the_checkpoint(store, backend, spec):
    append(store, 3)
    audit.validate(store)
    new = append(store, 2)
    tamper(backend, spec, "UPDATE events SET agent_id = 'mallory' WHERE {repo} AND id = :id", id=new[1])
    result = audit.validate(store)
    assert result["valid"] is False and result["first_invalid_id"] == new[1] and result["from_checkpoint"]
    assert result["checked"] == 4 and "content does not match" in result["problem"]


def test_full_finds_an_earlier_event_changed_behind_the_triggers_incremental_does_not(store, backend, spec):
    """The documented limit: events before the checkpoint are not hashed again, so a change that
    leaves the checkpoint's event, the count and the triggers alone is found only by --full."""
    ids = append(store, 5)
    assert audit.validate(store)["valid"]
    tamper(backend, spec, "UPDATE events SET agent_id = 'mallory' WHERE {repo} AND id = :id", id=ids[1], bypass=True)
    incremental = audit.validate(store)
    assert incremental["valid"] is True and incremental["from_checkpoint"] and incremental["checkpoint_id"] == 5
    full = audit.validate(store, full=True)
    assert full["valid"] is False and full["first_invalid_id"] == ids[1] and full["from_checkpoint"] is False


def test_a_change_through_sql_sets_the_checkpoint_aside(store, backend, spec):
    ids = append(store, 5)
    audit.validate(store)
    tamper(backend, spec, "UPDATE events SET agent_id = 'mallory' WHERE {repo} AND id = :id", id=ids[1])
    assert store.audit.checkpoint() is None
    result = audit.validate(store)
    assert result["valid"] is False and result["first_invalid_id"] == ids[1] and result["from_checkpoint"] is False


def test_the_checkpoint_event_changed_is_found(store, backend, spec):
    ids = append(store, 4)
    audit.validate(store)
    tamper(backend, spec, "UPDATE events SET data_json = '{}' WHERE {repo} AND id = :id", id=ids[-1], bypass=True)
    result = audit.validate(store)
    assert result["valid"] is False and result["first_invalid_id"] == ids[-1]
    assert "content does not match its hash" in result["checkpoint_problem"]


def test_events_removed_before_the_checkpoint_are_found(store, backend, spec):
    ids = append(store, 5)
    audit.validate(store)
    tamper(backend, spec, "DELETE FROM events WHERE {repo} AND id = :id", id=ids[2], bypass=True)
    result = audit.validate(store)
    assert "removed or inserted" in result["checkpoint_problem"]
    assert result["valid"] is False and result["problem"] == f"event {ids[2]} is missing (removed)"


def test_the_newest_events_removed_are_found(store, backend, spec):
    ids = append(store, 3)
    audit.validate(store)
    more = append(store, 2)
    tamper(backend, spec, "DELETE FROM events WHERE {repo} AND id >= :id", id=more[0])
    after = audit.validate(store)  # after the checkpoint: the counter still knows them
    assert after["valid"] is False and after["from_checkpoint"] and after["first_invalid_id"] == more[0]
    assert after["problem"] == f"events {more[0]}..{more[1]} are missing (removed)"
    tamper(backend, spec, "DELETE FROM events WHERE {repo} AND id = :id", id=ids[-1], bypass=True)
    gone = audit.validate(store)  # the checkpoint's own event
    assert gone["valid"] is False and "is missing (removed)" in gone["checkpoint_problem"]
    assert gone["first_invalid_id"] == ids[-1]


def test_a_chain_rewritten_with_new_hashes_disagrees_with_the_checkpoint(store, backend, spec):
    ids = append(store, 4)
    audit.validate(store)
    previous = store.audit.chain_row(ids[0])[7]
    for row in [store.audit.chain_row(event_id) for event_id in ids[1:]]:
        forged = (*row[:5], "mallory")
        digest = chain_hash(previous, forged)
        tamper(backend, spec, "UPDATE events SET agent_id = 'mallory', prev_hash = :prev, hash = :hash "
                              "WHERE {repo} AND id = :id", prev=previous, hash=digest, id=row[0], bypass=True)
        previous = digest
    result = audit.validate(store)  # consistent again, but not the chain that was verified
    assert result["valid"] is False and result["first_invalid_id"] == ids[-1] and result["checked"] == len(ids) - 1
    assert "is not the one verified" in result["problem"] and result["checkpoint_problem"] == result["problem"]
    assert store.audit.checkpoint()[1] != previous  # kept, so that it says so again
    # --full checks the chain as it is, and passes: it does not read the checkpoint, and replaces it
    assert audit.validate(store, full=True)["valid"] is True
    assert store.audit.checkpoint()[1] == previous


def test_validation_from_a_date_neither_reads_nor_moves_the_checkpoint(store, clock):
    append(store, 2)
    audit.validate(store)
    clock.advance(60_000)
    append(store, 2)
    result = audit.validate(store, clock.now)
    assert result["valid"] and result["checked"] == 2 and result["from_checkpoint"] is False
    assert store.audit.checkpoint()[0] == 2
