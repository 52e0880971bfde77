"""``BEGIN IMMEDIATE`` transactions, savepoints when nested: the one transaction helper, shared by
the connection (:mod:`maf_hooks.store.sqlite.connection`) and the migrations, which both import it
from here (neither imports the other for it, so there is no cycle)."""

from __future__ import annotations

import contextlib
import time

TYPE_CHECKING = False  # typing costs the git hook milliseconds; annotations only
if TYPE_CHECKING:
    import sqlite3
    from typing import Iterator


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction taken at its start (``BEGIN IMMEDIATE``); a savepoint when nested."""
    if conn.in_transaction:
        name = f"sp_{id(conn)}_{time.monotonic_ns()}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
