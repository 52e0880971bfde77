"""SQLite connections: pragmas, a busy timeout, explicit transactions, and clear storage errors.

Every read-then-write runs inside ``BEGIN IMMEDIATE`` (:func:`immediate`), so two writers never
both read the old state; with WAL and a busy timeout of several seconds, concurrent agents wait
for each other instead of seeing "database is locked".
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import sqlite3
import time

from maf_hooks.errors import DamagedStore, MafError, StorageError, UsageError
from maf_hooks.store.sqlite.transaction import immediate
from maf_hooks.store.sqlite.version import SCHEMA_VERSION

TYPE_CHECKING = False  # typing costs the git hook milliseconds; annotations only
if TYPE_CHECKING:
    from typing import Any, Iterable, Iterator, Sequence

__all__ = ["BUSY_TIMEOUT_SECONDS", "Database", "connect", "create_file", "describe", "immediate", "prepare",
           "storage_error"]

BUSY_TIMEOUT_SECONDS = 15.0
FILE_MODE = 0o600  # a new database file: its owner only, unless storage.file_mode says otherwise


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


def create_file(path: str, mode: int, *, exist_ok: bool = True) -> None:
    """Make the missing database file with exactly ``mode`` (the umask does not narrow or widen
    it): SQLite then gives its -wal and -shm files the same permissions as the database. A file
    that exists already (another process made it first) keeps its mode, unless ``exist_ok`` is
    false: then it is a StorageError, as any other failure to make it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    except FileExistsError:
        if exist_ok:
            return
        raise StorageError(f"Cannot create {path}: it exists already.") from None
    except OSError as exc:
        raise StorageError(f"Cannot create the database file {path}: {exc.strerror or exc}.") from None
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _is_damage(text: str) -> bool:
    return "not a database" in text or "malformed" in text


def describe(exc: sqlite3.Error, path: str) -> str:
    text = str(exc)
    if _is_damage(text):
        return (
            f"The lease database {path} is corrupt or not an SQLite database ({text}). "
            "Move it aside (the next command creates a fresh one) or restore it from a backup."
        )
    return f"Lease database error on {path}: {text}."


def storage_error(exc: sqlite3.Error, path: str) -> StorageError:
    """The error for a driver error on ``path``: :class:`DamagedStore` when the file proved
    corrupt or no database, else :class:`StorageError`; the message is :func:`describe`'s."""
    kind = DamagedStore if _is_damage(str(exc)) else StorageError
    return kind(describe(exc, path))


def connect(path: str, *, create: bool = True, migrate: bool = True, read_only: bool = False,
            timeout: float | None = None, file_mode: int = FILE_MODE) -> sqlite3.Connection:
    """Open the database at ``path``.

    ``create``: make the file when it is missing (else StorageError). ``migrate``: bring the
    schema up to date and switch to WAL; without it the file is left as it is. A schema newer
    than this code knows is refused (StorageError) unless ``read_only``. ``read_only``: inspect
    only: nothing is created, migrated or switched, writes are refused (``query_only``; opened
    ``mode=ro`` only when the file is not writable, as such a connection cannot clean up the WAL
    files it leaves), and the caller judges the schema version. ``timeout``: the busy timeout
    in seconds (default :data:`BUSY_TIMEOUT_SECONDS`). ``file_mode``: the permissions of a file
    created here (default :data:`FILE_MODE`, 0600); an existing file keeps its own.
    """
    wait = BUSY_TIMEOUT_SECONDS if timeout is None else timeout
    if read_only:
        return _connect_read_only(path, wait)
    if create:
        _check_writable(path)
        if not os.path.exists(path):
            create_file(path, file_mode)
    elif not os.path.exists(path):
        raise StorageError(f"No lease database at {path}.")
    try:
        conn = sqlite3.connect(path, timeout=wait, isolation_level=None)
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from None
    return prepare(conn, path, create=create, migrate=migrate, timeout=wait)


def prepare(conn: sqlite3.Connection, path: str, *, create: bool, migrate: bool, timeout: float,
            wal: bool = True) -> sqlite3.Connection:
    """Set up a new connection to ``path`` (see :func:`connect`; ``wal``: switch a file to WAL,
    which an in-memory database has no use for); closed again when that fails."""
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cell_size_check = ON")  # a damaged page is an error, not read as it is
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION and migrate:  # up to date (every hook run): no migrations to load
            if wal:
                _ensure_wal(conn, timeout)
            return conn
        from maf_hooks.store.sqlite import migrations

        migrations.refuse_newer(conn, path)
        if not create and migrate and version == 0:
            # the file exists but holds no schema (truncated, or not made by maf-hooks): reading
            # it as "no leases" would let every change through
            raise DamagedStore(f"The lease database {path} holds no schema: it is empty or damaged. "
                               "Restore it from a backup, or move it aside (the next `maf-lease` "
                               "command creates a fresh, empty one).")
        if migrate:
            if wal:
                _ensure_wal(conn, timeout)
            migrations.upgrade(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise storage_error(exc, path) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _connect_read_only(path: str, timeout: float) -> sqlite3.Connection:
    if not os.path.isfile(path):
        raise StorageError(f"No lease database at {path}.")
    from urllib.parse import quote  # only inspection opens by URI

    uri = "file:" + quote(os.path.abspath(path))
    try:
        try:
            conn = sqlite3.connect(uri + "?mode=rw", uri=True, timeout=timeout, isolation_level=None)
        except sqlite3.OperationalError:
            conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=timeout, isolation_level=None)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA cell_size_check = ON")
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from None
    return conn


def _ensure_wal(conn: sqlite3.Connection, timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
    """Switch to WAL; the switch needs a moment alone with the file, so retry while others hold it."""
    deadline = time.monotonic() + timeout
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


class Database:
    """One connection, with every driver error turned into :class:`StorageError` (naming the
    file) at the one place queries run: the SQLite record keepers call only these methods."""

    __slots__ = ("conn", "path")

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path

    def _error(self, exc: Exception) -> MafError:
        if isinstance(exc, UnicodeEncodeError):  # a value that is no valid text reached the driver
            return UsageError("A value to store is not valid UTF-8 text (an argument or variable with "
                              "undecodable bytes?); give it as text.")
        error = storage_error(exc, self.path or "the lease database")  # type: ignore[arg-type]
        error.__cause__ = exc
        return error

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, args)
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise self._error(exc) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise self._error(exc) from None

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """INSERT ``rows`` (hashable values, in ``columns`` order) in as few statements as SQLite's
        limit of bound values allows, a value that is the same in every row of a statement bound
        once: ``INSERT ... SELECT ?, column1, ... FROM (VALUES (...), ...)``. One attempt's 1,000
        conflict records, which share seven of their twelve values, take half the time of
        ``executemany``'s statement a row."""
        width = len(columns)
        per = max(1, self.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
        head = f"INSERT INTO {table} ({', '.join(columns)}) "
        for start in range(0, len(rows), per):
            part = rows[start:start + per]
            # the same value and type in every row (never a float: 0.0 == -0.0, which SQLite keeps apart)
            same = [len(set(column)) == 1 and {type(column[0])} == set(map(type, column)) != {float}
                    for column in zip(*part)]
            varying = [index for index in range(width) if not same[index]]
            if len(part) == 1 or not varying:
                self.executemany(head + f"VALUES ({', '.join('?' * width)})", part)
                continue
            names = {index: f"column{number}" for number, index in enumerate(varying, 1)}
            args = [part[0][index] for index in range(width) if same[index]]  # the SELECT list's ?s come first
            if len(varying) == 1:
                args.extend(row[varying[0]] for row in part)
            else:
                pick = operator.itemgetter(*varying)
                args.extend(itertools.chain.from_iterable(map(pick, part)))
            one = f"({', '.join('?' * len(varying))})"
            self.execute(head + f"SELECT {', '.join(names.get(index, '?') for index in range(width))} "
                         f"FROM (VALUES {', '.join([one] * len(part))})", args)

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        try:
            return self.conn.execute(sql, args).fetchall()
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise self._error(exc) from None

    def one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        try:
            return self.conn.execute(sql, args).fetchone()
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise self._error(exc) from None

    def scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        row = self.one(sql, args)
        return None if row is None else row[0]

    def pages(self, sql: str, args: Sequence[Any] = (), size: int = 1000) -> Iterator[list[Any]]:
        """The rows of one statement in lists of at most ``size``, stepped as they are read (never
        all at once): a listing's memory follows ``size``, not the number of rows."""
        try:
            cursor = self.conn.execute(sql, args)
            while rows := cursor.fetchmany(size):
                yield rows
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise self._error(exc) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """:func:`immediate`, with driver errors (a busy lock, a full disk) as StorageError."""
        try:
            with immediate(self.conn):
                yield
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise self._error(exc) from None

    def close(self) -> None:
        self.conn.close()
