"""A store kept open for many operations (``Store.long_lived``): SQLite's log is checkpointed by a
thread of the process, never by the commit of a request, and closing leaves the file as before."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time

from maf_hooks.core import leases as rules
from maf_hooks.services.audit import validate
from maf_hooks.store.sqlite import checkpoints, open_file, open_memory

HOUR = 3_600_000
BOUND = 30.0  # seconds: only proves that nothing hangs


def clock() -> int:
    return int(time.time() * 1000)


def wait_for(condition, what):
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def cycles(store, count, agent="bench", start=0):
    for k in range(start, start + count):
        assert rules.acquire(store, agent, [f"src/{agent}{k}.py"], HOUR).granted
        rules.release(store, agent, pattern_list=[f"src/{agent}{k}.py"])


def left_in_log(path) -> int:
    """Pages of the log not yet copied into the database file (asked of a connection of its own)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        _, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return log - done
    finally:
        conn.close()


def threads():
    return [thread for thread in threading.enumerate() if thread.name == "maf-sqlite-checkpoints"]


def test_a_long_lived_store_checkpoints_in_its_thread_not_in_its_commits(tmp_path):
    path = str(tmp_path / "runtime.db")
    store = open_file(path, clock)
    store.long_lived()
    try:
        assert store.db.scalar("PRAGMA wal_autocheckpoint") == 0  # no commit of its own copies pages
        every = checkpoints.EVERY
        cycles(store, every // 2)  # acquire + release: two write sections a cycle
        wait_for(lambda: store.checkpointer.checkpoints == 1, "the first checkpoint")
        assert left_in_log(path) == 0  # the thread copied every page written so far
        cycles(store, every // 2 - 1, start=every)
        with store.write():
            pass  # one section short of the next checkpoint
        time.sleep(0.05)
        assert store.checkpointer.checkpoints == 1
        with store.write():  # nested sections are one section
            with store.write():
                pass
        wait_for(lambda: store.checkpointer.checkpoints == 2, "the second checkpoint")
    finally:
        store.close()
    assert threads() == [] and store.checkpointer is None
    reopened = open_file(path, clock)
    try:
        assert reopened.db.scalar("PRAGMA wal_autocheckpoint") == checkpoints.AUTOCHECKPOINT
        assert reopened.leases.active(clock()) == []
        assert len(list(reopened.audit.chain_rows())) == 2 * (every - 1)  # every acquire and release
        assert validate(reopened, full=True)["valid"]
    finally:
        reopened.close()


def test_a_failed_checkpoint_thread_gives_the_connection_its_checkpoints_back(tmp_path):
    store = open_file(str(tmp_path / "runtime.db"), clock)
    store.long_lived()
    try:
        store.checkpointer.failure = "disk I/O error"  # as the thread records an error of its connection
        cycles(store, 1)
        assert store.db.scalar("PRAGMA wal_autocheckpoint") == checkpoints.AUTOCHECKPOINT
    finally:
        store.close()


def test_long_lived_is_nothing_for_an_in_memory_store_and_done_once(tmp_path):
    memory = open_memory(str(tmp_path), clock)
    try:
        memory.long_lived()
        assert memory.checkpointer is None
    finally:
        memory.close()
    store = open_file(str(tmp_path / "runtime.db"), clock)
    try:
        store.long_lived()
        first = store.checkpointer
        store.long_lived()
        assert store.checkpointer is first and len(threads()) == 1
    finally:
        store.close()


WRITER = """
import sys, time
from maf_hooks.core import leases as rules
from maf_hooks.store.sqlite import open_file
store = open_file(sys.argv[1], lambda: int(time.time() * 1000))
for k in range(int(sys.argv[2])):
    assert rules.acquire(store, "other", [f"lib/{k}.py"], 3_600_000).granted
store.close()
"""


def test_checkpoints_beside_another_process_writing_keep_every_write(tmp_path):
    """Another process commits (and checkpoints by itself) while this one's thread checkpoints:
    every lease of both is there afterwards and the chain is unbroken."""
    count = 120
    path = str(tmp_path / "runtime.db")
    open_file(path, clock).close()
    store = open_file(path, clock)
    store.long_lived()
    try:
        writer = subprocess.Popen([sys.executable, "-c", WRITER, path, str(count)])
        for k in range(count):
            assert rules.acquire(store, "bench", [f"src/{k}.py"], HOUR).granted
        assert writer.wait(timeout=BOUND) == 0
        assert store.checkpointer.checkpoints >= 1 and store.checkpointer.failure is None
    finally:
        store.close()
    reopened = open_file(path, clock)
    try:
        held = {lease.agent for lease in reopened.leases.active(clock())}
        assert held == {"bench", "other"} and len(reopened.leases.active(clock())) == 2 * count
        assert validate(reopened, full=True)["valid"]
    finally:
        reopened.close()
