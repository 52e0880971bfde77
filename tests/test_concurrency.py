"""Many real processes against one database file: one winner, never two overlapping holders."""

from __future__ import annotations

import multiprocessing
import random
import traceback

import pytest

from maf_hooks import patterns
from maf_hooks.core import leases as rules
from maf_hooks.core.model import EXCLUSIVE, SHARED
from maf_hooks.store.sqlite import connection as db
from maf_hooks.store.sqlite import open_file
from maf_hooks.timeutil import now_ms

CTX = multiprocessing.get_context("fork")


def _race(path: str, agent: str, barrier, results) -> None:
    try:
        barrier.wait(timeout=30)
        store = open_file(path, now_ms)  # creation and migration race too: the file does not exist yet
        result = rules.acquire(store, agent, ["src/shared.py"], 60_000)
        results.put((agent, bool(result.granted), None))
        store.close()
    except Exception:  # reported to the parent, which fails the test
        results.put((agent, False, traceback.format_exc()))


@pytest.mark.parametrize("round_", range(5))
def test_race_for_one_pattern_has_exactly_one_winner(tmp_path, round_):
    path = str(tmp_path / f"race{round_}.db")
    workers = 12
    barrier = CTX.Barrier(workers)
    results = CTX.Queue()
    procs = [CTX.Process(target=_race, args=(path, f"agent-{i}", barrier, results)) for i in range(workers)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    errors = [err for _, _, err in outcomes if err]
    assert errors == []
    assert sum(1 for _, won, _ in outcomes if won) == 1


GLOBS = ["src/", "src/*.py", "src/a*", "src/a.py", "src/**/*.txt", "src/b/", "src/b/c.txt", "docs/",
         "docs/*.md", "*.md", "README.md", "docs/**", "src/b/*", "tests/*.py", "**/x.py"]


def _violations(leases) -> list:
    exclusive_pairs = []
    for i, a in enumerate(leases):
        for b in leases[i + 1:]:
            if a.agent != b.agent and (a.mode == EXCLUSIVE or b.mode == EXCLUSIVE):
                if patterns.overlaps(a.pattern, b.pattern):
                    exclusive_pairs.append((a.agent, a.pattern, a.mode, b.agent, b.pattern, b.mode))
    return exclusive_pairs


def _churn(path: str, agent: str, seed: int, operations: int, barrier, results) -> None:
    rng = random.Random(seed)
    problems = []
    try:
        store = open_file(path, now_ms)
        barrier.wait(timeout=30)
        for _ in range(operations):
            op = rng.random()
            try:
                if op < 0.55:
                    picks = rng.sample(GLOBS, rng.randint(1, 2))
                    rules.acquire(store, agent, picks, rng.randint(50, 3000), mode=rng.choice([EXCLUSIVE, EXCLUSIVE, SHARED]))
                elif op < 0.7:
                    rules.renew(store, agent, None, rng.randint(50, 3000))
                else:
                    rules.release(store, agent, everything=True)
            except Exception as exc:  # Refused (nothing to renew / release) is expected
                if type(exc).__name__ != "Refused":
                    raise
            active = store.leases.active(store.now())
            found = _violations(active)
            if found:
                problems.append(repr(found))
        store.close()
        results.put((agent, problems, None))
    except Exception:
        results.put((agent, problems, traceback.format_exc()))


def test_random_churn_never_grants_overlapping_exclusive_leases(tmp_path):
    path = str(tmp_path / "churn.db")
    db.connect(path).close()
    workers, operations = 8, 120
    barrier = CTX.Barrier(workers)
    results = CTX.Queue()
    procs = [
        CTX.Process(target=_churn, args=(path, f"agent-{i}", 1000 + i, operations, barrier, results))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=240) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    errors = [err for _, _, err in outcomes if err]
    assert errors == [], errors[0] if errors else ""
    assert all("locked" not in err for err in errors)
    assert [p for _, problems, _ in outcomes for p in problems] == []
    store = open_file(path, now_ms)
    assert _violations(store.leases.active(store.now())) == []
    conn = store.db.conn
    # every state change was recorded with its agent
    assert conn.execute("SELECT COUNT(*) FROM events WHERE agent_id IS NULL AND kind != 'system'").fetchone()[0] == 0
    conn.close()
