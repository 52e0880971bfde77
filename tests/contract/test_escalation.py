"""The escalation lifecycle through the storage interface: open, a tick advances once even with
several real processes ticking at once, acknowledge, resolve."""

from __future__ import annotations

import multiprocessing

import pytest

from maf_hooks.errors import Refused
from maf_hooks.services import escalation as service

from .conftest import Clock, open_backend

MINUTE = 60_000


class Config(dict):
    def get(self, key, default=None):  # the configuration's dotted-key lookup
        return super().get(key, default)


CFG = Config({
    "escalation.paths": [{
        "id": "p", "name": "P", "timeout_minutes": 120, "active": True,
        "trigger_conditions": [{"condition": "lease_takeover", "threshold": 1, "operator": "gte",
                                "window_minutes": 60}],
        "steps": [{"level": 1, "target": "first", "timeout_minutes": 5},
                  {"level": 2, "target": "second", "timeout_minutes": 5},
                  {"level": 3, "target": "third", "timeout_minutes": 5}],
    }],
    "escalation.targets": {"first": {}, "second": {}, "third": {}},
})


def _tick(backend: str, spec: str, now: int, results) -> None:
    store = open_backend(backend, spec, Clock(now))
    try:
        results.put(service.tick(store, CFG))
    finally:
        store.close()


def test_open_tick_once_under_concurrency_ack_resolve(store, backend, spec, clock):
    with store.write() as now:
        store.events.append("maf:system", "takeover", "bob", {}, now)
    [escalation_id] = service.on_condition(store, CFG, "bob", "lease_takeover", {"why": "test"})
    assert service.on_condition(store, CFG, "bob", "lease_takeover", {}) == []  # one open per condition
    record = service.get(store, escalation_id)
    assert (record["status"], record["current_level"], record["target"]) == ("pending", 1, "first")

    later = clock.now + 6 * MINUTE
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    tickers = [context.Process(target=_tick, args=(backend, spec, later, results)) for _ in range(4)]
    for ticker in tickers:
        ticker.start()
    changes = [change for _ in tickers for change in results.get(timeout=120)]
    for ticker in tickers:
        ticker.join(120)
        assert ticker.exitcode == 0
    assert changes == [{"escalation_id": escalation_id, "status": "escalated", "level": 2, "target": "second"}]
    record = service.get(store, escalation_id)
    assert (record["status"], record["current_level"], record["target"]) == ("escalated", 2, "second")

    clock.now = later + MINUTE
    acked = service.respond(store, escalation_id, "acknowledged", "lead", "on it")
    assert acked["status"] == "acknowledged" and acked["acknowledged_at"] == clock.now
    clock.now += 60 * MINUTE
    assert service.tick(store, CFG) == []  # acknowledged: it stops moving up
    with pytest.raises(Refused):
        service.respond(store, escalation_id, "acknowledged", "lead", "again")
    resolved = service.respond(store, escalation_id, "resolved", "lead", "fixed")
    assert resolved["status"] == "resolved" and resolved["note"] == "fixed"
    kinds = [d["type"] for d in service.show(store, escalation_id)[1]]
    assert kinds == ["ESCALATION_REQUEST", "ESCALATION_REQUEST", "ESCALATION_RESPONSE", "ESCALATION_RESPONSE"]
