"""SQLite connections: pragmas, a busy timeout, explicit transactions, and clear storage errors.

Every read-then-write runs inside ``BEGIN IMMEDIATE`` (:func:`immediate`), so two writers never
both read the old state; with WAL and a busy timeout of several seconds, concurrent agents wait
for each other instead of seeing "database is locked".
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
TYPE_CHECKING = False  # typing costs the git hook milliseconds; annotations only
if TYPE_CHECKING:
    from typing import Any, Iterable, Iterator, Sequence

from maf_hooks.errors import StorageError

BUSY_TIMEOUT_SECONDS = 15.0


def _check_writable(path: str) -> None:
    directory = os.path.dirname(path) or "."
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"Cannot create the directory {directory} for the lease database: {exc.strerror or exc}. "
            "Point MAF_DB_PATH or storage.db_path at a writable location."
        ) from None
    if os.path.isdir(path):
        raise StorageError(f"The lease database path {path} is a directory, not a file.")
    target = path if os.path.exists(path) else directory
    if not os.access(target, os.W_OK):
        raise StorageError(
            f"The lease database {path} is not writable ({'file' if target == path else 'directory'} "
            "permissions). Fix the permissions or point MAF_DB_PATH or storage.db_path elsewhere."
        )


def describe(exc: sqlite3.Error, path: str) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return (
            f"The lease database {path} is corrupt or not an SQLite database ({text}). "
            "Move it aside (the next command creates a fresh one) or restore it from a backup."
        )
    return f"Lease database error on {path}: {text}."


def connect(path: str, *, create: bool = True, migrate: bool = True) -> sqlite3.Connection:
    """Open (and by default create and migrate) the database at ``path``."""
    from maf_hooks.store.sqlite import migrations  # noqa: PLC0415 - avoid a cycle

    if create:
        _check_writable(path)
    elif not os.path.exists(path):
        raise StorageError(f"No lease database at {path}.")
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    except sqlite3.Error as exc:
        raise StorageError(describe(exc, path)) from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrations.refuse_newer(conn, path)
        _ensure_wal(conn)
        if migrate:
            migrations.upgrade(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise StorageError(describe(exc, path)) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _ensure_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL; the switch needs a moment alone with the file, so retry while others hold it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


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


class Database:
    """One connection, with every driver error turned into :class:`StorageError` (naming the
    file) at the one place queries run: the SQLite record keepers call only these methods."""

    __slots__ = ("conn", "path")

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path

    def _error(self, exc: sqlite3.Error) -> StorageError:
        error = StorageError(describe(exc, self.path or "the lease database"))
        error.__cause__ = exc
        return error

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, args)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        try:
            return self.conn.execute(sql, args).fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        row = self.one(sql, args)
        return None if row is None else row[0]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """:func:`immediate`, with driver errors (a busy lock, a full disk) as StorageError."""
        try:
            with immediate(self.conn):
                yield
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def close(self) -> None:
        self.conn.close()
