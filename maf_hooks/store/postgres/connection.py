"""PostgreSQL connections: bounded waits, clear storage errors, one place queries run.

Every wait on the server is bounded on the client. The connect has one deadline,
``storage.connect_timeout_seconds`` (psycopg, like libpq, counts ``connect_timeout`` per host, in
whole seconds, 2 at least: so the connect runs in a helper thread that is waited for no longer).
The server's ``statement_timeout`` bounds a statement that runs or waits for a lock
(``storage.statement_timeout_seconds``); and a watchdog thread shuts the socket down (never
closes it: the waiting call holds it, sees end of file and fails) once a call has waited that long
plus a second, because a server that is paused (SIGSTOP) or cut off by the network enforces no
timeout of its own. Every failure becomes :class:`maf_hooks.errors.StorageError` naming the
server (never its password).

A read outside a transaction whose connection dropped is retried once on a new connection (it
changes nothing), but not one that outlived its deadline (that would double the wait). Inside a
write section, the section fails and the server rolls it back: nothing half-written stays; only a
COMMIT whose answer is lost leaves open whether all of the section or none of it was kept.
"""

from __future__ import annotations

import contextlib
import math
import time

import psycopg

from maf_hooks.errors import MafError, StorageError, UsageError
from maf_hooks.store.postgres.deadline import Connecting, Watchdog
from maf_hooks.store.url import redact

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Iterator, Sequence

GRACE_SECONDS = 1.0  # the watchdog's margin over the server's own statement_timeout


class Settings:
    """How to reach the server: ``url`` (no password), the password when one was given apart,
    and the two timeouts in seconds."""

    __slots__ = ("application", "connect_timeout", "password", "statement_timeout", "url")

    def __init__(self, url: str, *, password: str | None = None, connect_timeout: float = 3.0,
                 statement_timeout: float = 5.0, application: str = "maf-hooks") -> None:
        self.url, self.password = url, password
        self.connect_timeout, self.statement_timeout = connect_timeout, statement_timeout
        self.application = application

    @property
    def where(self) -> str:
        """The server as messages name it: the URL without password or query."""
        return redact(self.url.split("?", 1)[0])


def connect(settings: Settings) -> psycopg.Connection:
    """A new autocommit connection with the session's timeouts set in the start-up packet (no
    round trip of its own). StorageError when the server cannot be reached in time."""
    statement_ms = max(int(settings.statement_timeout * 1000), 1)
    given = psycopg.conninfo.conninfo_to_dict(settings.url).get("options") or ""  # the URL's own (search_path, ...)
    options = (f"{given} -c statement_timeout={statement_ms} -c lock_timeout={statement_ms} "
               f"-c idle_in_transaction_session_timeout={statement_ms * 2 + 1000} -c TimeZone=UTC").strip()
    kwargs: dict[str, Any] = {"autocommit": True, "options": options, "application_name": settings.application,
                              "prepare_threshold": None,
                              "connect_timeout": max(math.ceil(settings.connect_timeout), 2)}  # psycopg's, per host
    if settings.password is not None:
        kwargs["password"] = settings.password
    started = time.monotonic()
    try:
        conn = Connecting(settings.url, kwargs).result(settings.connect_timeout)
    except psycopg.Error as exc:
        raise StorageError(_unreachable(settings, exc, time.monotonic() - started)) from None
    if conn is None:
        raise StorageError(_unreachable(settings, None, time.monotonic() - started))
    return conn


def _unreachable(settings: Settings, exc: Exception | None, waited: float) -> str:
    text = " ".join(str(exc).split())
    if exc is None or "timeout" in text.lower() or waited >= settings.connect_timeout:
        reason = f"no answer within {settings.connect_timeout:g} s (storage.connect_timeout_seconds)"
    else:
        reason = redact(text)
    return (f"Cannot reach the lease server {settings.where}: {reason}. Check that the server runs and "
            "that this machine can reach it (host, port, sslmode), and the role's password source "
            "(PGPASSWORD, ~/.pgpass or storage.password_env).")


class Database:
    """One connection to the server. The PostgreSQL record keepers call only these methods
    (``%s`` placeholders); every driver error leaves them as StorageError."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.where = settings.where
        self.conn = connect(settings)
        self.depth = 0  # open write sections
        self._watchdog = Watchdog()

    # --- running statements --------------------------------------------------------------------

    @contextlib.contextmanager
    def _guarded(self) -> Iterator[None]:
        self._watchdog.arm(self.conn, self.settings.statement_timeout + GRACE_SECONDS)
        try:
            yield
        except psycopg.Error as exc:
            fired = self._watchdog.disarm()
            raise self._error(exc, fired) from exc  # the cause tells the keepers which error it was
        except UnicodeEncodeError:
            self._watchdog.disarm()
            raise UsageError("A value to store is not valid UTF-8 text (an argument or variable with "
                             "undecodable bytes?); give it as text.") from None
        else:
            self._watchdog.disarm()

    def _error(self, exc: psycopg.Error, fired: bool) -> MafError:
        if fired:
            text = (f"The lease server {self.where} did not answer within "
                    f"{self.settings.statement_timeout + GRACE_SECONDS:g} s (storage.statement_timeout_seconds "
                    "plus a second): it is paused, overloaded or cut off.")
        elif isinstance(exc, psycopg.errors.QueryCanceled):
            text = (f"The lease server {self.where} cancelled a statement after "
                    f"{self.settings.statement_timeout:g} s (storage.statement_timeout_seconds): another "
                    "agent holds the repository's write lock that long, or the server is overloaded.")
        elif isinstance(exc, psycopg.errors.LockNotAvailable):
            text = (f"The lease server {self.where} gave up waiting for a lock after "
                    f"{self.settings.statement_timeout:g} s (storage.statement_timeout_seconds).")
        elif isinstance(exc, psycopg.errors.InsufficientPrivilege):
            text = (f"The lease server {self.where} refused the role its privileges: {_first_line(exc)}. "
                    "See docs/fleet.md for the privileges the role needs.")
        elif isinstance(exc, psycopg.OperationalError) or self.conn.closed:
            text = f"Lost the connection to the lease server {self.where}: {_first_line(exc)}."
        else:
            text = f"Lease server error on {self.where}: {_first_line(exc)}."
        if self.depth and (fired or self.conn.closed):  # the server rolls the section back
            text += " The write section was not committed: the server rolls all of it back."
        return StorageError(redact(text))

    def _retryable(self, exc: psycopg.Error) -> bool:
        return (self.depth == 0 and not self._watchdog.fired and isinstance(exc, psycopg.OperationalError)
                and self._lost())

    def _run(self, sql: str, args: Sequence[Any], fetch: str) -> Any:
        for attempt in (1, 2):
            try:
                with self._guarded():
                    cursor = self.conn.execute(sql, args)
                    if fetch == "all":
                        return cursor.fetchall()
                    if fetch == "one":
                        return cursor.fetchone()
                    return cursor
            except StorageError as error:
                cause = error.__cause__
                if attempt == 1 and isinstance(cause, psycopg.Error) and self._retryable(cause):
                    self._reconnect()
                    continue
                raise
        raise AssertionError("unreachable")

    def _lost(self) -> bool:
        """Whether the connection dropped since the last call (not closed by :meth:`close`)."""
        return bool(self.conn.closed) and not self._watchdog.closed

    def _reconnect(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.conn.close()
        self.conn = connect(self.settings)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> psycopg.Cursor:
        return self._run(sql, args, "cursor")

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._guarded():
            self.conn.cursor().executemany(sql, list(rows))

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return self._run(sql, args, "all")

    def one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self._run(sql, args, "one")

    def scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        row = self.one(sql, args)
        return None if row is None else row[0]

    def pages(self, sql: str, args: Sequence[Any] = (), size: int = 1000) -> Iterator[list[Any]]:
        """The rows of one query in lists of at most ``size``, through a server-side cursor in a
        transaction of its own (rolled back: it only reads): the server keeps the rest, so a
        listing's memory follows ``size``, not the number of rows."""
        if self.depth == 0 and self._lost():
            self._reconnect()
        with self._guarded():
            tx = self.conn.transaction(force_rollback=True)
            tx.__enter__()
        try:
            cursor = self.conn.cursor(name="maf_pages")
            with self._guarded():
                cursor.execute(sql, args)
            while True:
                with self._guarded():
                    rows = cursor.fetchmany(size)
                if not rows:
                    return
                yield rows
        finally:
            with contextlib.suppress(StorageError), self._guarded():
                tx.__exit__(None, None, None)

    @contextlib.contextmanager
    def warnings(self) -> Iterator[list[str]]:
        """The server's warnings while the block runs, as a list that fills as they arrive (a
        statement the server skipped in part, such as a VACUUM of a table the role may not vacuum,
        succeeds with a warning)."""
        found: list[str] = []

        def collect(diagnostic: psycopg.errors.Diagnostic) -> None:
            if diagnostic.severity_nonlocalized == "WARNING":
                found.append(diagnostic.message_primary or "")

        conn = self.conn
        conn.add_notice_handler(collect)
        try:
            yield found
        finally:
            conn.remove_notice_handler(collect)

    # --- transactions --------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction (a savepoint when nested); an exception rolls it back."""
        if self.depth == 0 and self._lost():
            self._reconnect()  # nothing of this section was sent yet
        with self._guarded():
            tx = self.conn.transaction()
            tx.__enter__()
        self.depth += 1
        try:
            yield
        except BaseException as exc:
            self.depth -= 1
            try:
                with self._guarded():
                    tx.__exit__(type(exc), exc, exc.__traceback__)
            except StorageError:
                pass  # the connection is gone: the server rolls the transaction back itself
            raise
        self.depth -= 1
        try:
            with self._guarded():
                tx.__exit__(None, None, None)
        except StorageError as error:
            if self.depth:
                raise
            raise StorageError(f"{error} The write section's COMMIT got no answer: the server applies all of it "
                               "or none (`maf-lease list` shows which once it answers).") from error.__cause__

    def close(self) -> None:
        self._watchdog.close()
        with contextlib.suppress(psycopg.Error):
            self.conn.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
