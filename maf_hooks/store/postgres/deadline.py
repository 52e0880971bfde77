"""The client's own deadlines on a PostgreSQL server (:mod:`maf_hooks.store.postgres.connection`
uses them): a connect waited for no longer than the setting, and a watchdog that shuts a
connection's socket down once a call has waited too long.

psycopg counts ``connect_timeout`` in whole seconds, at least 2, afresh for each host, so the
connect runs in a helper thread that the caller stops waiting for. A server that is paused, or
a network that drops packets without refusing them, enforces no timeout: the watchdog shuts the
socket down (through a duplicate of its descriptor, never closing it under the waiting call),
and the waiting psycopg call then fails at once.
"""

from __future__ import annotations

import contextlib
import threading
import time

import psycopg

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Connecting:
    """``psycopg.connect`` in a helper thread, waited for until the caller's deadline (a connection
    made later is closed by the helper)."""

    def __init__(self, url: str, kwargs: dict[str, Any]) -> None:
        self.lock, self.done, self.abandoned = threading.Lock(), threading.Event(), False
        self.conn: psycopg.Connection | None = None
        self.error: Exception | None = None
        threading.Thread(target=self._connect, args=(url, kwargs), name="maf-pg-connect", daemon=True).start()

    def _connect(self, url: str, kwargs: dict[str, Any]) -> None:
        try:
            conn = psycopg.connect(url, **kwargs)
        except Exception as exc:  # noqa: BLE001 - raised again in the caller's thread
            with self.lock:
                self.error = exc
        else:
            with self.lock:
                late = self.abandoned
                self.conn = None if late else conn
            if late:
                with contextlib.suppress(psycopg.Error):
                    conn.close()
        finally:
            self.done.set()

    def result(self, seconds: float) -> psycopg.Connection | None:
        """The connection, or None when it is not made within ``seconds``; the driver's error."""
        self.done.wait(seconds)
        with self.lock:
            if self.error is not None:
                raise self.error
            self.abandoned = self.conn is None
            return self.conn


class Watchdog:
    """Shuts the connection's socket down when a call outlives its deadline (one thread per
    connection, started on first use, parked while no call runs)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.deadline: float | None = None
        self.conn: psycopg.Connection | None = None
        self.fired = False
        self.thread: threading.Thread | None = None
        self.closed = False

    def arm(self, conn: psycopg.Connection, seconds: float) -> None:
        with self.cond:
            self.conn, self.deadline, self.fired = conn, time.monotonic() + seconds, False
            if self.thread is None:
                self.thread = threading.Thread(target=self._watch, name="maf-pg-deadline", daemon=True)
                self.thread.start()
            self.cond.notify()

    def disarm(self) -> bool:
        """Stop watching; whether the deadline fired."""
        with self.cond:
            self.deadline = None
            return self.fired

    def close(self) -> None:
        with self.cond:
            self.closed, self.deadline = True, None
            self.cond.notify()

    def _watch(self) -> None:
        with self.cond:
            while not self.closed:
                if self.deadline is None:
                    self.cond.wait()
                    continue
                left = self.deadline - time.monotonic()
                if left > 0:
                    self.cond.wait(left)
                    continue
                self.fired, self.deadline = True, None
                if self.conn is not None:
                    _shut(self.conn)


def _shut(conn: psycopg.Connection) -> None:
    """Shut the socket down through a duplicate of its descriptor: the connection keeps its own."""
    import socket

    try:
        sock = socket.fromfd(conn.pgconn.socket, socket.AF_INET, socket.SOCK_STREAM)
    except (OSError, psycopg.Error):
        return
    with sock, contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
