"""WAL checkpoints off the request path, for a process that keeps one store open for many
operations (:meth:`maf_hooks.store.base.Store.long_lived`).

With SQLite's default, the commit that takes the write-ahead log past 1,000 pages copies them into
the database file and syncs both files before it returns: at 100,000 leases one acquire in about
46 paid 13-15 ms for the others' pages, which was the whole of the acquire's 99th percentile.
Here the store's own connection never checkpoints (``wal_autocheckpoint = 0``); after every
:data:`EVERY` committed write sections a thread of this process runs a ``PASSIVE`` checkpoint on
a connection of its own, which waits for no one and blocks no one (readers and writers go on;
a page still in use by a reader is left for the next one). Closing stops the thread first, so
the store's last close checkpoints what is left, as it always did.

Durability is unchanged: a commit is in the log before it returns (``synchronous = NORMAL`` as
every connection has), and a checkpoint only moves committed pages. Should the thread's
connection fail, the store's connection checkpoints again by itself (SQLite's default), so the
log never grows without bound.
"""

from __future__ import annotations

import sqlite3
import threading

EVERY = 16  # committed write sections between two checkpoints (an acquire writes ~22 log pages)
AUTOCHECKPOINT = 1000  # SQLite's default, given back to the store's connection when this stops


class Checkpointer:
    """The background checkpoints of one SQLite store: :meth:`written` after each committed write
    section, :meth:`stop` before the store's connection closes."""

    def __init__(self, conn: sqlite3.Connection, path: str, every: int = EVERY) -> None:
        self._conn, self._every, self._writes = conn, every, 0
        self._wake, self._stopping = threading.Event(), False
        self.checkpoints = 0  # checkpoints run (for the tests and the benchmark)
        self.failure: str | None = None
        own = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        own.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._thread = threading.Thread(target=self._run, args=(own,), name="maf-sqlite-checkpoints", daemon=True)
        self._thread.start()

    def written(self) -> None:
        """One more committed write section: every :data:`EVERY`, wake the thread (once it has
        failed: give the store's connection its own checkpoints back, once)."""
        if self.failure is not None:
            if self._writes >= 0:
                self._writes = -1
                self._conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT}")
            return
        self._writes += 1
        if self._writes >= self._every:
            self._writes = 0
            self._wake.set()

    def _run(self, own: sqlite3.Connection) -> None:
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                own.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.checkpoints += 1
        except sqlite3.Error as exc:
            self.failure = str(exc) or type(exc).__name__
        finally:
            own.close()

    def stop(self) -> None:
        """End the thread (after a checkpoint it is running) and give the store's connection
        back its own checkpoints."""
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT}")
