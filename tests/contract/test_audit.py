"""The audit chain through the storage interface: appends from several real processes keep it
valid; a tampered row is found."""

from __future__ import annotations

import multiprocessing

from maf_hooks.services import audit

from .conftest import Clock, open_backend

SYSTEM = "maf:system"


def _append_many(backend: str, spec: str, agent: str, count: int) -> None:
    store = open_backend(backend, spec, Clock())
    try:
        for index in range(count):
            with store.write() as now:
                store.events.append(SYSTEM, "acquire", agent, {"n": index}, now)
    finally:
        store.close()


def test_chain_stays_valid_over_appends_from_several_processes(store, backend, spec):
    with store.write() as now:
        store.events.append(SYSTEM, "first", None, {}, now)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(backend, spec, f"agent-{n}", 15)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert audit.validate(store).items() >= {"valid": True, "checked": 61, "first_invalid_id": None,
                                             "problem": None}.items()


def test_a_tampered_row_is_found(store, backend, spec):
    from .conftest import tamper_event

    ids = []
    for index in range(3):
        with store.write() as now:
            ids.append(store.events.append(SYSTEM, "acquire", "alice", {"n": index}, now))
    assert audit.validate(store)["valid"]
    tamper_event(backend, spec, ids[1], agent="mallory")
    result = audit.validate(store)
    assert result["valid"] is False and result["first_invalid_id"] == ids[1] and result["checked"] == 1
