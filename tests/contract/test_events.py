"""The write section and the event log, through the storage interface."""

from __future__ import annotations

import pytest

from maf_hooks.core.chain import chain_hash
from maf_hooks.errors import StorageError

SYSTEM = "maf:system"


def test_write_section_yields_the_store_clock_once(store, clock):
    with store.write() as now:
        clock.advance(5_000)
        with store.write() as inner:
            assert inner == now  # a nested section joins the outer one and its time
    assert now == clock.now - 5_000


def test_write_section_rolls_back_on_error(store, make_store):
    with pytest.raises(RuntimeError):
        with store.write() as now:
            store.events.append(SYSTEM, "first", "alice", {}, now)
            raise RuntimeError("boom")
    with store.write() as now:
        first = store.events.append(SYSTEM, "second", "alice", {}, now)
    other = make_store()
    with other.write() as now:
        second = other.events.append(SYSTEM, "third", "bob", {}, now)
    assert second == first + 1


def test_event_ids_are_never_reused_after_a_rollback(store):
    with store.write() as now:
        kept = store.events.append(SYSTEM, "kept", None, {}, now)
    with pytest.raises(RuntimeError):
        with store.write() as now:
            store.events.append(SYSTEM, "lost", None, {}, now)
            raise RuntimeError
    with store.write() as now:
        assert store.events.append(SYSTEM, "next", None, {}, now) == kept + 1


def test_chain_hash_format_is_fixed():
    """Known answers: stored chains (and migration 5, which chained the rows of its day) were made
    with this format, so a change to it must fail here rather than break every chain."""
    row = (1, SYSTEM, 5, "kind", '{"a": 1}', None)
    assert chain_hash("", row) == "89ceeca1daaefd65020205dcf0ca6fecfad00cf937b1533960a0b517b69f5ad4"
    second = (7, "lease-0123456789ab", 1_800_000_000_000, "acquire", '{"agent": "alice", "pattern": "src/"}', "alice")
    assert chain_hash("ab" * 32, second) == "8cb5b95940252cad938ad86298d3a5b22b714a2ef466c43afb80476fd9346221"
    assert chain_hash("", row) == chain_hash("", list(row))


def test_driver_errors_reach_callers_as_storage_errors(make_store):
    store = make_store()
    store.close()
    with pytest.raises(StorageError):
        with store.write() as now:  # the connection is gone: the driver refuses
            store.events.append(SYSTEM, "kind", None, {}, now)


def test_events_of_an_unknown_task_are_kept(store):
    # events outlive their tasks (migration 8): the log never depends on a task row existing
    with store.write() as now:
        assert store.events.append("no-such-task", "kind", None, {}, now) >= 1


def test_append_many_numbers_and_chains_as_appending_one_by_one(make_store, backend, spec):
    from maf_hooks.core.audit import validate

    store = make_store()
    with store.write() as now:
        first = store.events.append("t-1", "acquire", "alice", {"pattern": "a"}, now)
        ids = store.events.append_many([("t-2", "reservation_conflict", "bob", {"path": f"p{n}"})
                                        for n in range(5)], now)
        assert store.events.append_many([], now) == []
        last = store.events.append("t-3", "release", "alice", {}, now)
    assert ids == list(range(first + 1, first + 6)) and last == first + 6
    rows = list(store.audit.chain_rows())
    assert [row[0] for row in rows] == list(range(1, last + 1))
    assert validate(rows, anchored=False, highest_issued=store.audit.highest_issued_id())["valid"] is True
    import json

    assert json.loads(rows[ids[2] - 1][4]) == {"path": "p2", "agent": "bob"}
