"""The memory runtime's database (``storage.runtime = "memory"``): the SQLite backend on an
in-memory database, so every rule, trigger and migration is the one a file has.

SQLite's ``memdb`` VFS shares a database among the connections of one process when its name
starts with ``/`` (``file:/NAME?vfs=memdb``), with the usual locking (``BEGIN IMMEDIATE`` and
the busy timeout work as on a file), and frees it when its last connection closes. So each
repository (keyed by its git common directory) gets one database per process, held open by a
connection kept here until the process exits: every store opened in the process (each ``maf mcp``
tool call, each in-process use) sees the same records, and no other process sees any of them.
"""

from __future__ import annotations

import os
import sqlite3

from maf_hooks.errors import StorageError

LOCATION = ":memory:"  # how messages name it

_HELD: dict[str, tuple[str, sqlite3.Connection]] = {}  # key -> (URI, the connection keeping it alive)


def exists(key: str) -> bool:
    """Whether this process has made the in-memory database of ``key`` (asking creates nothing)."""
    return key in _HELD


def connect(key: str, *, create: bool, migrate: bool, read_only: bool, timeout: float) -> sqlite3.Connection:
    """A new connection to the in-memory database of ``key``, made (and migrated) on first use
    unless ``create`` is false or ``read_only`` (then StorageError: there is nothing to read)."""
    from maf_hooks.store.sqlite.connection import describe, prepare

    if key not in _HELD:
        if not create or read_only:
            raise StorageError("No lease database in memory yet (storage.runtime = memory): this process "
                               "has taken no lease.")
        uri = f"file:/maf-{os.getpid()}-{len(_HELD)}-{os.urandom(6).hex()}?vfs=memdb"
        try:
            _HELD[key] = (uri, sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False))
        except sqlite3.Error as exc:
            raise StorageError(f"Cannot make the in-memory lease database: {exc} (SQLite 3.36 or newer "
                               "has the memdb VFS it needs).") from None
    uri = _HELD[key][0]
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise StorageError(describe(exc, LOCATION)) from None
    if read_only:
        conn.execute("PRAGMA query_only = ON")
        return conn
    return prepare(conn, LOCATION, create=True, migrate=migrate, timeout=timeout, wal=False)
