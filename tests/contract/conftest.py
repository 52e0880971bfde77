"""The contract suite: the storage guarantees the rules rely on, written against the storage
interface only (``maf_hooks.store.base.Store``), so that it runs unchanged on every backend.

A backend joins by adding its name to ``BACKENDS`` and a branch to :func:`open_backend`. The
``make_store`` fixture opens another store on the same data (another connection, as another
process would); ``spec`` is a string a child process can pass to :func:`open_backend`.
"""

from __future__ import annotations

import pytest

BACKENDS = ["sqlite", "postgres"]


class Clock:
    """A clock the test moves by hand: ``clock.now = ...``, ``clock.advance(ms)``."""

    def __init__(self, now: int = 1_800_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def open_backend(backend: str, spec: str, clock):
    if backend == "sqlite":
        from maf_hooks.store.sqlite import open_file

        return open_file(spec, clock)
    if backend == "postgres":
        from maf_hooks.store.postgres import open_server
        from maf_hooks.store.postgres.connection import Settings

        url, repository = spec.split("#", 1)
        return open_server(Settings(url), repository, clock, migrate=True)
    raise AssertionError(f"unknown backend {backend}")


_SHARED: dict[str, str] = {}


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def spec(backend, tmp_path, request) -> str:
    if backend == "sqlite":
        return str(tmp_path / "runtime.db")
    if backend == "postgres":
        # one database for the suite, one repository key per test: the tests also prove that
        # repositories sharing a server see nothing of each other
        server = request.getfixturevalue("pg_server")
        if "url" not in _SHARED:
            _SHARED["url"] = server.new_database()
        return f"{_SHARED['url']}#example.com/{request.node.name}/{tmp_path.name}"
    raise AssertionError(backend)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_store(backend, spec, clock):
    opened = []

    def make(own_clock=None):
        store = open_backend(backend, spec, own_clock or clock)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store):
    return make_store()


def tamper_event(backend: str, spec: str, event_id: int, *, agent: str) -> None:
    """Change one stored event's agent behind the store's back, as someone editing the data would."""
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(spec, isolation_level=None)
        try:
            conn.execute("UPDATE events SET agent_id = ? WHERE id = ?", (agent, event_id))
        finally:
            conn.close()
        return
    if backend == "postgres":
        import psycopg

        url, repository = spec.split("#", 1)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE events SET agent_id = %s WHERE repository = %s AND id = %s",
                         (agent, repository, event_id))
        return
    raise AssertionError(f"unknown backend {backend}")
