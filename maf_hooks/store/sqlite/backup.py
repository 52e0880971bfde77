"""SQLite's online backup API for ``maf db backup`` and ``maf db restore``: a consistent copy of
a database others keep writing, and a backup written into the live database under its write
lock (never a file swapped under the processes that hold it open).

The backup API copies pages: as the source, one step reads every page in one read transaction
(in WAL mode writers go on meanwhile, and the copy is the state of one moment); as the
destination, SQLite holds a write transaction on it from the first step until the last, so no
other writer commits in between, readers keep the state before it until it commits, and
connections that stay open see the restored data on their next read.
"""

from __future__ import annotations

import os
import sqlite3
import time

from maf_hooks.errors import StorageError
from maf_hooks.store.sqlite.connection import BUSY_TIMEOUT_SECONDS, connect, create_file, storage_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

_BUSY, _LOCKED = 5, 6  # a backup step's status: another connection holds the lock


def snapshot(source: str, target: str, mode: int) -> None:
    """Copy the database at ``source`` into the new file ``target`` (made with ``mode``; it must
    not exist): one backup step, so the copy is consistent however many write meanwhile. The
    copy is one self-contained file (journal mode DELETE), written to disk before this returns."""
    create_file(target, mode, exist_ok=False)
    src = connect(source, read_only=True)
    try:
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise storage_error(exc, source) from None
    finally:
        src.close()
    _sync(target)


def restore(backup: str, live: str, *, mode: int, keep: str | None, guard: Callable[[], None],
            timeout: float = BUSY_TIMEOUT_SECONDS) -> int | None:
    """Write the database at ``backup`` (a copy of ours that we may change: it must hold more
    than one page, as every database with a schema does) over ``live`` (made with ``mode`` when
    missing). Once the write lock on ``live`` is held and before anything of it is committed:
    ``guard()`` may refuse (raise: ``live`` stays as it was); then the state replaced is saved
    to the new file ``keep`` (when given); then the fencing token counter of ``backup`` is raised
    to ``live``'s, so that no token is given twice. Returns ``live``'s token counter before
    (None: no database there yet). StorageError when the lock stays taken for ``timeout`` s."""
    exists = os.path.exists(live)
    if not exists:
        create_file(live, mode)
    src = sqlite3.connect(backup, isolation_level=None)
    dst = sqlite3.connect(live, isolation_level=None, timeout=timeout)
    deadline = time.monotonic() + timeout
    held: list[int | None] = []

    def locked(status: int, remaining: int, total: int) -> None:
        if held:
            return
        if status in (_BUSY, _LOCKED):
            if time.monotonic() > deadline:
                raise StorageError(f"The lease database {live} stayed locked by another writer for {timeout:g} s; "
                                   "nothing was restored. Try again.")
            return
        # the first step has taken the write lock on live and committed nothing yet
        guard()
        if keep is not None:
            snapshot(live, keep, mode)
        before = _token_counter(live) if exists else None
        if before is not None:
            src.execute("UPDATE lease_token_counter SET value = MAX(value, ?) WHERE id = 1", (before,))
        held.append(before)

    try:
        src.backup(dst, pages=1, progress=locked)
    except sqlite3.Error as exc:
        raise storage_error(exc, live) from None
    finally:
        src.close()
        dst.close()
    return held[0] if held else None


def damage(path: str) -> str | None:
    """What makes the database file ``path`` unusable as a live store (None: nothing found):
    empty, not an SQLite database, no schema, or pages that fail ``quick_check``."""
    if os.path.getsize(path) == 0:
        return "the file is empty"
    try:
        conn = connect(path, read_only=True)
    except StorageError as exc:
        return str(exc)
    try:
        if not conn.execute("PRAGMA user_version").fetchone()[0]:
            return "it holds no schema"
        found = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        return None if found == "ok" else f"quick_check: {found}"
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()


def set_aside(live: str, keep: str) -> None:
    """Move a damaged database file (and its -wal and -shm) to ``keep``: nothing can read it, so
    no process is using it; the restore then writes a new file in its place."""
    os.replace(live, keep)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(live + suffix):
            os.replace(live + suffix, keep + suffix)


def _token_counter(path: str) -> int | None:
    conn = connect(path, read_only=True)
    try:
        row = conn.execute("SELECT value FROM lease_token_counter WHERE id = 1").fetchone()
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from None
    finally:
        conn.close()
    return None if row is None else int(row[0])


def _sync(path: str) -> None:
    """The file and its directory entry on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    directory = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
