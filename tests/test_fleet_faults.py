"""A shared lease server that is stopped, paused (SIGSTOP), killed or unreachable: every command
and hook fails within the documented bound with a message naming the server (never its
password), the hooks fail closed unless the team chose ``reservation.on_error = "allow"``, and a
write cut off before its COMMIT leaves nothing half-made.

These tests pause, kill and terminate the backends of a server of their own (started once for the
module), so that the session's server (``pg_server``) that other tests share is never disturbed.
The only timed assertions are generous bounds that prove nothing hangs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import BIN, commit_file, git, make_repo

from maf_hooks.core import leases as rules
from maf_hooks.errors import StorageError

SLACK = 2.0  # process start-up, git and the machine's load
FAST = {"connect": 1.0, "statement": 1.0}
FAST_BOUND = FAST["connect"] + FAST["statement"] + 1 + SLACK
DEFAULT_BOUND = 3 + 5 + 1 + SLACK  # storage.connect_timeout_seconds + statement_timeout_seconds + 1
PASSWORD = "s3cret-Pw-41"
MINUTE = 60_000


@pytest.fixture(scope="module")
def server(pg_server):
    """A server of this module's own (``pg_server`` decides whether PostgreSQL is there at all)."""
    import pgserver

    own = pgserver.Server(pg_server.bins)
    own.start()
    own.sql(f"CREATE ROLE agent LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
    yield own
    own.stop()


@pytest.fixture
def paused(server):
    """Pauses the module's server; resumes it however the test ends."""

    @contextlib.contextmanager
    def pausing():
        server.pause()
        try:
            yield
        finally:
            server.resume()

    try:
        yield pausing
    finally:
        server.resume()


def closed_port() -> int:
    """A port where nothing listens: a stopped server, as a client sees it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def storage_toml(url: str, *, timeouts: dict | None = FAST, password_env: str | None = None,
                 tail: str = "") -> str:
    text = f'[storage]\nurl = "{url}"\nrepository = "example.com/org/app"\n'
    if password_env:
        text += f'password_env = "{password_env}"\n'
    if timeouts:
        text += (f"connect_timeout_seconds = {timeouts['connect']}\n"
                 f"statement_timeout_seconds = {timeouts['statement']}\n")
    return text + tail


@pytest.fixture
def consumer_url(server) -> str:
    return server.new_database()


@pytest.fixture
def consumer(consumer_url, tmp_path):
    """A repository on a fresh database of the module's server (migrated), with a plain git
    pre-commit hook running ``maf-reservations``."""
    url = consumer_url
    path = make_repo(tmp_path / "consumer")
    (path / "maf.toml").write_text(storage_toml(url))
    commit_file(path, "maf.toml", (path / "maf.toml").read_text(), "maf")
    commit_file(path, "src/app.py", "print(1)\n")
    for stage_name, entry in (("pre-commit", "maf-reservations"), ("pre-push", "maf-reservations-push")):
        hook = path / ".git" / "hooks" / stage_name
        hook.write_text(f'#!/bin/sh\nexec "{BIN / entry}" "$@"\n')
        hook.chmod(0o755)
    remote = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "shared", str(remote), cwd=path)
    assert run(path, "maf", "db", "migrate").returncode == 0
    return path


def configure(repo, url: str, **options) -> None:
    (repo / "maf.toml").write_text(storage_toml(url, **options))


def run(repo, *command: str, env: dict | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    run_env = {key: value for key, value in os.environ.items() if not key.startswith(("MAF_", "PG"))}
    run_env.update({"MAF_AGENT_ID": "alice", **(env or {})})
    program = command[0] if command[0] == "git" else str(BIN / command[0])
    return subprocess.run([program, *command[1:]], cwd=repo, capture_output=True, env=run_env, input=stdin,
                          timeout=60)


def claude_write(repo) -> bytes:
    return json.dumps({
        "session_id": "aaaaaaaa-1111-2222-3333-444444444444", "transcript_path": "transcript.jsonl",
        "cwd": str(repo), "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Write",
        "tool_input": {"file_path": str(repo / "src" / "app.py"), "content": "print(2)\n"},
        "tool_use_id": "toolu_1"}).encode()


def stage(repo) -> None:
    (repo / "src" / "app.py").write_text("print(3)\n")
    git("add", "src/app.py", cwd=repo)


COMMANDS = {
    "lease acquire": ("maf-lease", "acquire", "src/app.py", "--reason", "work"),
    "lease list": ("maf-lease", "list"),
    "lease check": ("maf-lease", "check", "src/app.py"),
    "db migrate": ("maf", "db", "migrate"),
    "git hook": ("git", "commit", "-q", "-m", "change"),
    "push hook": ("git", "push", "-q", "shared", "main"),
    "claude hook": ("maf", "agent-hook", "claude"),
}


def attempt(repo, name: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, float]:
    if name == "git hook":
        stage(repo)
    started = time.monotonic()
    done = run(repo, *COMMANDS[name], env=env, stdin=claude_write(repo) if name == "claude hook" else None)
    return done, time.monotonic() - started


def assert_refused(name: str, done: subprocess.CompletedProcess, where: str) -> str:
    """The command's documented refusal; returns the text that explains it."""
    out, err = done.stdout.decode(), done.stderr.decode()
    if name in ("git hook", "push hook"):
        assert done.returncode != 0 and "RESERVATION CHECK FAILED" in err, (done.returncode, err)
        text = err
    elif name == "claude hook":
        output = json.loads(out)["hookSpecificOutput"]
        assert done.returncode == 0 and output["permissionDecision"] == "deny", (done.returncode, out, err)
        text = output["permissionDecisionReason"]
        assert "RESERVATION CHECK FAILED" in text
    else:
        assert done.returncode == 3, (done.returncode, out, err)
        text = err
    assert where in text and "Traceback" not in out + err, text
    assert PASSWORD not in out + err
    return text


# --- a stopped, paused or slow server: every command fails within the bound -----------------

@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_against_a_paused_server_fails_within_the_bound(consumer, paused, server, name):
    with paused():
        done, elapsed = attempt(consumer, name)
    text = assert_refused(name, done, f"127.0.0.1:{server.port}")
    assert "no answer within 1 s" in text
    assert elapsed < FAST_BOUND, elapsed
    assert git("log", "-1", "--format=%s", cwd=consumer).stdout.strip() != "change"
    assert git("ls-remote", "shared", cwd=consumer).stdout == ""


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_against_a_stopped_server_fails_naming_it(consumer, name):
    port = closed_port()
    configure(consumer, f"postgresql://maf@127.0.0.1:{port}/gone")
    done, elapsed = attempt(consumer, name)
    text = assert_refused(name, done, f"127.0.0.1:{port}/gone")
    assert "Cannot reach the lease server" in text
    assert elapsed < FAST_BOUND, elapsed


def test_the_default_timeouts_bound_a_command_against_a_paused_server(consumer, consumer_url, paused, server):
    configure(consumer, consumer_url, timeouts=None)
    with paused():
        done, elapsed = attempt(consumer, "lease list")
    assert "no answer within 3 s (storage.connect_timeout_seconds)" in assert_refused("lease list", done, "127.0.0.1")
    assert 3 <= elapsed < DEFAULT_BOUND, elapsed


def test_the_connect_deadline_holds_for_a_url_of_several_hosts(server, paused):
    """psycopg (like libpq) waits connect_timeout for each host in turn: three hosts would be
    three waits. maf-hooks keeps one deadline for the whole connect."""
    from maf_hooks.store.postgres.connection import Database, Settings

    port = server.port
    url = f"postgresql://maf@/postgres?host=127.0.0.1,127.0.0.1,127.0.0.1&port={port},{port},{port}"
    with paused():
        error, elapsed = timed_failure(lambda: Database(Settings(url, connect_timeout=2, statement_timeout=1)))
    assert "no answer within 2 s (storage.connect_timeout_seconds)" in str(error)
    assert elapsed < 2 + SLACK, elapsed


def open_store(url: str, *, connect: float = FAST["connect"], statement: float = FAST["statement"]):
    from maf_hooks.store.postgres import open_server
    from maf_hooks.store.postgres.connection import Settings

    return open_server(Settings(url, connect_timeout=connect, statement_timeout=statement),
                       "example.com/org/app", migrate=True)


def timed_failure(call) -> tuple[StorageError, float]:
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        call()
    return caught.value, time.monotonic() - started


def a_write_section(store) -> None:
    with store.write() as now:
        store.leases.has_active(now)


@pytest.mark.parametrize("timeouts", [FAST, {"connect": 3.0, "statement": 5.0}], ids=["fast", "defaults"])
def test_a_server_paused_mid_session_fails_a_read_and_a_write_within_the_bound(server, paused, timeouts):
    """Two stores open, as in two long-running processes (`maf mcp`): one reads, one writes."""
    url = server.new_database()
    reader, writer = (open_store(url, connect=timeouts["connect"], statement=timeouts["statement"])
                      for _ in range(2))
    bound = timeouts["connect"] + timeouts["statement"] + 1 + SLACK
    try:
        assert reader.leases.has_active(reader.clock()) is False
        with paused():
            for call in (lambda: reader.leases.has_active(reader.clock()), lambda: a_write_section(writer)):
                error, elapsed = timed_failure(call)
                assert "did not answer within" in str(error) and f"127.0.0.1:{server.port}" in str(error)
                assert elapsed < bound, elapsed
        # the server answers again: each store's next call reconnects
        assert reader.leases.has_active(reader.clock()) is False
        a_write_section(writer)
    finally:
        reader.close()
        writer.close()


def test_a_paused_server_is_reported_never_retried_into_a_second_wait(server, paused):
    """A read whose deadline fired is not retried (it would wait the connect timeout again)."""
    store = open_store(server.new_database(), connect=3.0, statement=1.0)
    try:
        with paused():
            error, elapsed = timed_failure(lambda: store.leases.has_active(store.clock()))
        assert "did not answer within 2 s" in str(error)
        assert elapsed < 2 + SLACK, elapsed
    finally:
        store.close()


# --- the hooks fail closed, unless the team chose on_error = "allow" -------------------------

def test_a_machine_that_cannot_reach_the_server_has_its_commit_refused(consumer):
    configure(consumer, f"postgresql://maf@127.0.0.1:{closed_port()}/gone")
    stage(consumer)
    done = run(consumer, "git", "commit", "-q", "-m", "change")
    assert done.returncode == 1 and b"RESERVATION CHECK FAILED" in done.stderr
    assert git("log", "-1", "--format=%s", cwd=consumer).stdout.strip() != "change"


def test_on_error_allow_lets_the_commit_through_with_a_warning(consumer, consumer_url, paused):
    configure(consumer, consumer_url, tail='[reservation]\non_error = "allow"\n')
    stage(consumer)
    with paused():
        done = run(consumer, "git", "commit", "-q", "-m", "change")
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "warning: the reservation check could not run" in err and "127.0.0.1" in err
    assert git("log", "-1", "--format=%s", cwd=consumer).stdout.strip() == "change"


def test_on_error_allow_lets_the_agents_write_through(consumer, consumer_url, paused):
    configure(consumer, consumer_url, tail='[reservation]\non_error = "allow"\n')
    with paused():
        done = run(consumer, "maf", "agent-hook", "claude", stdin=claude_write(consumer))
    assert (done.returncode, done.stdout) == (0, b"") and b"could not run" in done.stderr


# --- a server killed during a write, a connection dropped mid-session ------------------------

def backend_pid(store) -> int:
    return store.db.conn.info.backend_pid


def leases_on(server, url: str) -> list:
    return server.sql("SELECT pattern, agent_id FROM leases", url.rsplit("/", 1)[1])


def wait_until_up(server) -> None:
    """After a backend's SIGKILL the server resets every session and recovers."""
    deadline = time.monotonic() + 30
    while True:
        try:
            server.sql("SELECT 1")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("how", ["terminate", "sigkill"])
def test_a_server_killed_during_a_write_leaves_no_half_made_lease(server, how):
    url = server.new_database()
    store = open_store(url)
    try:
        with pytest.raises(StorageError) as caught:
            with store.write():
                result = rules.acquire(store, "alice", ["src/app.py", "docs/"], 30 * MINUTE, reason="work")
                assert len(result.granted) == 2  # both rows are written, not yet committed
                if how == "terminate":
                    server.sql(f"SELECT pg_terminate_backend({backend_pid(store)})")
                else:
                    # the test server commits asynchronously, and a backend's SIGKILL resets the
                    # server's shared memory: first write out what was committed (the schema)
                    server.sql("CHECKPOINT")
                    os.kill(backend_pid(store), signal.SIGKILL)
                    wait_until_up(server)
        assert "127.0.0.1" in str(caught.value)
        wait_until_up(server)
        assert leases_on(server, url) == []
        # the store reconnects for its next read, and sees nothing either
        assert store.leases.active_rows(store.clock()) == []
    finally:
        store.close()


def test_a_commit_the_server_never_answered_is_reported_as_open_and_kept_whole(server, paused):
    """The client cannot know the outcome of a COMMIT that got no answer; the server, resumed,
    applies the COMMIT it had received: the whole section, never a part."""
    url = server.new_database()
    store = open_store(url)
    try:
        with pytest.raises(StorageError) as caught:
            with store.write():
                rules.acquire(store, "alice", ["src/app.py", "docs/"], 30 * MINUTE)
                pid = backend_pid(store)
                server.pause()  # the COMMIT goes to a server that does not answer
        server.resume()
        assert "COMMIT got no answer" in str(caught.value) and "all of it or none" in str(caught.value)
        deadline = time.monotonic() + 30
        while server.sql(f"SELECT 1 FROM pg_stat_activity WHERE pid = {pid}") and time.monotonic() < deadline:
            time.sleep(0.1)  # the backend reads the COMMIT, then the end of its connection
        assert sorted(row[0] for row in leases_on(server, url)) == ["docs/", "src/app.py"]
    finally:
        store.close()


def test_a_dropped_connection_is_retried_once_for_a_read_and_never_for_a_write(server):
    url = server.new_database()
    store = open_store(url)
    try:
        rules.acquire(store, "alice", ["src/app.py"], 30 * MINUTE)
        first = backend_pid(store)
        server.sql(f"SELECT pg_terminate_backend({first})")
        assert len(store.leases.active_rows(store.clock())) == 1  # read again on a new connection
        assert backend_pid(store) != first

        second = backend_pid(store)
        with pytest.raises(StorageError) as caught:
            with store.write() as now:
                store.leases.has_active(now)
                server.sql(f"SELECT pg_terminate_backend({second})")
                rules.release(store, "alice", pattern_list=["src/app.py"])
        assert "Lost the connection to the lease server" in str(caught.value)
        assert "not committed" in str(caught.value)
        assert [row[0] for row in leases_on(server, url)] == ["src/app.py"]
        assert len(store.leases.active_rows(store.clock())) == 1  # the release was not retried
    finally:
        store.close()


# --- the password never reaches a message ------------------------------------------------------

def test_a_server_url_with_a_password_is_refused_without_echoing_it(consumer, consumer_url):
    (consumer / "maf.toml").write_text('[storage]\nrepository = "example.com/org/app"\n')
    url = consumer_url.replace("maf@", f"maf:{PASSWORD}@")
    for name in ("lease list", "db migrate"):
        done, _ = attempt(consumer, name, env={"MAF_DB_URL": url})
        assert done.returncode == 2, done.stderr
        assert b"holds a password" in done.stderr and PASSWORD.encode() not in done.stdout + done.stderr


@pytest.mark.parametrize("state", ["wrong password", "paused", "stopped"])
def test_a_connection_error_never_echoes_the_password_from_password_env(consumer, consumer_url, paused, server, state):
    url = consumer_url.replace("maf@", "agent@")
    if state == "stopped":
        url = f"postgresql://agent@127.0.0.1:{closed_port()}/gone"
    configure(consumer, url, password_env="LEASE_DB_PASSWORD")
    secret = PASSWORD + "-not" if state == "wrong password" else PASSWORD
    env = {"LEASE_DB_PASSWORD": secret}
    with paused() if state == "paused" else contextlib.nullcontext():
        for name in ("lease list", "git hook", "claude hook"):
            done, _ = attempt(consumer, name, env=env)
            text = assert_refused(name, done, "127.0.0.1")
            assert secret not in text and secret.encode() not in done.stdout + done.stderr
            if state == "wrong password":
                assert "password authentication failed" in text


def test_the_right_password_from_password_env_connects(consumer, consumer_url):
    configure(consumer, consumer_url.replace("maf@", "agent@"), password_env="LEASE_DB_PASSWORD")
    done = run(consumer, "maf-lease", "list", env={"LEASE_DB_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr


if sys.platform != "linux":  # SIGSTOP of the server's processes, /proc
    pytestmark = pytest.mark.skip("the fault tests pause the server through /proc and SIGSTOP")
