"""Fencing tokens, through the storage interface only: every grant gets a number this store never
gave before, renewals keep it, a takeover's new lease gets a new one, and racing processes never
share one."""

from __future__ import annotations

import multiprocessing
import traceback

from maf_hooks.core import leases as rules
from tests.contract.conftest import Clock, open_backend

MINUTE = 60_000
CTX = multiprocessing.get_context("fork")


def test_each_grant_gets_a_larger_token_and_a_renewal_keeps_it(store, clock):
    first = rules.acquire(store, "alice", ["src/", "docs/"], MINUTE).granted
    second = rules.acquire(store, "bob", ["lib/"], MINUTE).granted
    tokens = [lease.token for lease in first + second]
    assert all(isinstance(token, int) for token in tokens) and tokens == sorted(set(tokens))
    renewed = rules.acquire(store, "alice", ["src/"], 5 * MINUTE)
    assert [lease.token for lease in renewed.renewed] == [first[0].token]
    rules.renew(store, "alice", None, 10 * MINUTE)
    assert {lease.pattern: lease.token for lease in store.leases.active(clock.now)}["src/"] == first[0].token


def test_a_takeover_and_a_new_grant_after_a_release_get_new_tokens(store, clock):
    held = rules.acquire(store, "alice", ["src/"], MINUTE).granted[0]
    taken = rules.acquire(store, "bob", ["src/"], MINUTE, force=True)
    assert taken.taken_over[0].token == held.token and taken.granted[0].token > held.token
    rules.release(store, "bob", pattern_list=["src/"])
    again = rules.acquire(store, "alice", ["src/"], MINUTE).granted[0]
    assert again.token > taken.granted[0].token
    clock.advance(2 * MINUTE)  # expired and ended: tokens are never given twice
    later = rules.acquire(store, "carol", ["src/"], MINUTE).granted[0]
    assert later.token > again.token
    every = [lease.token for lease in store.leases.all()]
    assert len(every) == len(set(every)) == 4


def _taker(backend, spec, agent, barrier, results) -> None:
    try:
        store = open_backend(backend, spec, Clock())
        barrier.wait(timeout=30)
        tokens = [rules.acquire(store, agent, [f"{agent}/{n}"], MINUTE).granted[0].token for n in range(5)]
        store.close()
        results.put((tokens, None))
    except BaseException:
        results.put(([], traceback.format_exc()))


def test_racing_processes_never_share_a_token(backend, spec, make_store):
    make_store().close()
    barrier = CTX.Barrier(4)
    results = CTX.Queue()
    procs = [CTX.Process(target=_taker, args=(backend, spec, f"agent{i}", barrier, results)) for i in range(4)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert [err for _, err in outcomes if err] == []
    tokens = [token for got, _ in outcomes for token in got]
    assert len(tokens) == 20 and len(set(tokens)) == 20
    for got, _ in outcomes:
        assert got == sorted(got)  # each process's own grants, in order
