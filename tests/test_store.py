"""The lease database: location, pragmas, migrations, refusals."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess

import pytest
from conftest import git

from maf_hooks.errors import StorageError
from maf_hooks.store.sqlite import connection as db
from maf_hooks.store.sqlite import migrations


def test_db_path_default_in_git_common_dir(repo, cli):
    result = cli(repo, "db", "path")
    assert result.code == 0
    assert result.out.strip() == str(repo / ".git" / "maf" / "runtime.db")


def test_db_shared_by_linked_worktrees(repo, cli, tmp_path):
    worktree = tmp_path / "wt"
    git("worktree", "add", "-q", str(worktree), "-b", "feature", cwd=repo)
    assert cli(worktree, "db", "path").out.strip() == str(repo / ".git" / "maf" / "runtime.db")
    assert cli(repo, "lease", "acquire", "src/", "--agent", "alice").code == 0
    blocked = cli(worktree, "lease", "acquire", "src/x.py", "--agent", "bob")
    assert blocked.code == 1 and "alice" in blocked.err


def test_db_survives_git_clean_and_is_not_tracked(repo, cli):
    cli(repo, "lease", "acquire", "a", "--agent", "alice")
    git("clean", "-fdx", cwd=repo)
    assert git("status", "--porcelain", "--ignored", cwd=repo).stdout == ""
    assert [lease["pattern"] for lease in cli(repo, "lease", "list", "--json").json["leases"]] == ["a"]


def test_db_path_overrides(repo, cli):
    env_path = cli(repo, "db", "path", env={"MAF_DB_PATH": "state/leases.db"}).out.strip()
    assert env_path == str(repo / "state" / "leases.db")
    (repo / "maf.toml").write_text('[storage]\ndb_path = "var/x.db"\n')
    assert cli(repo, "db", "path").out.strip() == str(repo / "var" / "x.db")
    assert cli(repo, "db", "path", env={"MAF_DB_PATH": "/tmp/elsewhere.db"}).out.strip() == "/tmp/elsewhere.db"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_db_unwritable_exit_3(repo, cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = cli(repo, "lease", "acquire", "a", "--agent", "x", env={"MAF_DB_PATH": str(locked / "sub" / "x.db")})
        assert result.code == 3 and "Cannot create" in result.err
    finally:
        locked.chmod(0o700)


def test_db_path_is_a_directory_or_under_a_file_exit_3(repo, cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = cli(repo, "lease", "acquire", "a", "--agent", "x", env={"MAF_DB_PATH": str(blocker / "x.db")})
    assert result.code == 3 and "Cannot create the directory" in result.err
    (tmp_path / "adir").mkdir()
    result = cli(repo, "lease", "acquire", "a", "--agent", "x", env={"MAF_DB_PATH": str(tmp_path / "adir")})
    assert result.code == 3 and "is a directory" in result.err


def test_db_corrupt_exit_3_no_traceback(repo, cli, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    result = cli(repo, "lease", "acquire", "a", "--agent", "x", env={"MAF_DB_PATH": str(bad)})
    assert result.code == 3 and "corrupt or not an SQLite database" in result.err
    assert bad.read_bytes() == b"this is not sqlite at all" * 100


def test_db_pragmas(tmp_path):
    conn = db.connect(str(tmp_path / "x.db"))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    conn.close()


def test_schema_has_canonical_tables_and_checks(tmp_path):
    conn = db.connect(str(tmp_path / "x.db"))
    columns = {r[1] for r in conn.execute("PRAGMA table_info(tasks)")}
    assert {"id", "state", "priority", "payload_json", "created_at", "updated_at", "attempts",
            "token_budget", "cost_budget_cents", "policy_label"} <= columns
    assert {r[1] for r in conn.execute("PRAGMA table_info(leases)")} >= {"task_id", "agent_id", "lease_expires_at", "attempt"}
    assert {r[1] for r in conn.execute("PRAGMA table_info(events)")} >= {"id", "task_id", "ts", "kind", "data_json"}
    assert {r[1] for r in conn.execute("PRAGMA table_info(evidence)")} >= {"task_id", "attempt", "verifier", "result", "details_json"}
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO tasks (id, state, payload_json, created_at, updated_at) VALUES ('t', 'BOGUS', '{}', 0, 0)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO leases (task_id, agent_id, lease_expires_at, attempt) VALUES ('missing', 'a', 0, 1)")
    conn.close()


def test_migrations_applied_once_and_recorded(tmp_path):
    path = str(tmp_path / "x.db")
    db.connect(path).close()
    conn = db.connect(path)
    rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
    assert [r[0] for r in rows] == [m.version for m in migrations.MIGRATIONS]
    assert migrations.current_version(conn) == migrations.latest()
    conn.close()


def test_migrations_upgrade_older_database(tmp_path):
    path = str(tmp_path / "x.db")
    extra = migrations.Migration(migrations.latest() + 1, "add a column", ["ALTER TABLE agents ADD COLUMN note TEXT"])
    conn = db.connect(path)
    applied = migrations.upgrade(conn, [*migrations.MIGRATIONS, extra])
    assert applied == [extra.version]
    assert "note" in {r[1] for r in conn.execute("PRAGMA table_info(agents)")}
    assert migrations.upgrade(conn, [*migrations.MIGRATIONS, extra]) == []
    conn.close()


def test_failing_migration_rolls_back(tmp_path):
    path = str(tmp_path / "x.db")
    conn = db.connect(path)
    broken = migrations.Migration(
        migrations.latest() + 1, "half done", ["CREATE TABLE half (x)", "THIS IS NOT SQL"]
    )
    with pytest.raises(sqlite3.Error):
        migrations.upgrade(conn, [*migrations.MIGRATIONS, broken])
    assert migrations.current_version(conn) == migrations.latest()
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", (broken.version,)).fetchone()[0] == 0
    conn.close()


def test_newer_database_refused_and_unchanged(repo, cli, tmp_path):
    path = tmp_path / "future.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE t (x)")
    raw.execute(f"PRAGMA user_version = {migrations.latest() + 5}")
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="newer"):
        db.connect(str(path))
    result = cli(repo, "lease", "list", env={"MAF_DB_PATH": str(path)})
    assert result.code == 3 and "newer than this maf-hooks" in result.err
    assert path.read_bytes() == before


def test_db_migrate_command(repo, cli):
    created = cli(repo, "db", "migrate", "--json")
    assert created.code == 0 and created.json["created"] is True
    assert created.json["version"] == migrations.latest()
    again = cli(repo, "db", "migrate")
    assert again.code == 0 and "up to date" in again.out


def test_nested_immediate_uses_savepoint(tmp_path):
    conn = db.connect(str(tmp_path / "x.db"))
    with db.immediate(conn):
        conn.execute("INSERT INTO agents (id, first_seen) VALUES ('a', 0)")
        with pytest.raises(RuntimeError):
            with db.immediate(conn):
                conn.execute("INSERT INTO agents (id, first_seen) VALUES ('b', 0)")
                raise RuntimeError("inner fails")
    assert [r[0] for r in conn.execute("SELECT id FROM agents")] == ["a"]
    conn.close()


def test_list_without_database_creates_nothing(repo, cli):
    result = cli(repo, "lease", "list")
    assert result.code == 0 and "No active leases" in result.out
    assert not (repo / ".git" / "maf").exists()


# --- one way to open: read_only, migrate=False, timeout; schema and health ---------------------

def _clock():
    return 1_800_000_000_000


def test_open_read_only_creates_nothing_and_refuses_writes(tmp_path):
    from maf_hooks.store.sqlite import open_file

    missing = tmp_path / "none" / "x.db"
    with pytest.raises(StorageError, match="No lease database"):
        open_file(str(missing), _clock, read_only=True)
    assert not missing.parent.exists()
    path = str(tmp_path / "x.db")
    open_file(path, _clock).close()
    with open_file(path, _clock, read_only=True, timeout=0.5) as store:
        assert store.schema().version == migrations.latest()
        with pytest.raises(StorageError, match="readonly"):
            with store.write():
                store.db.execute("INSERT INTO agents (id, first_seen) VALUES ('a', 0)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.db"]  # no -wal/-shm left behind


def test_open_read_only_reads_a_newer_schema_that_writing_refuses(tmp_path):
    from maf_hooks.store.sqlite import open_file

    path = str(tmp_path / "x.db")
    open_file(path, _clock).close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {migrations.latest() + 1}")
    with open_file(path, _clock, read_only=True) as store:
        schema = store.schema()
        assert (schema.version, schema.latest) == (migrations.latest() + 1, migrations.latest())
    with pytest.raises(StorageError, match="newer"):
        open_file(path, _clock, create=False, migrate=False)


def test_open_without_migrating_leaves_schema_and_journal_mode(tmp_path):
    from maf_hooks.store.sqlite import open_file

    path = str(tmp_path / "x.db")
    raw = sqlite3.connect(path)
    migrations.upgrade(raw, migrations.MIGRATIONS[:2])
    raw.close()
    with open_file(path, _clock, create=False, migrate=False) as store:
        health = store.health()
        assert health.schema.version == 2 and health.journal_mode == "delete"
        assert health.integrity == ["ok"] and health.foreign_key_tables == []
        assert store.preflight.available() is False
    with open_file(path, _clock) as store:
        schema = store.schema(applied=True)
        assert schema.version == migrations.latest() and store.health(thorough=False).journal_mode == "wal"
        assert [row[0] for row in schema.applied] == [m.version for m in migrations.MIGRATIONS]
        assert store.health(thorough=False).integrity is None


def test_health_reports_foreign_key_violations(tmp_path):
    from maf_hooks.store.sqlite import open_file

    path = str(tmp_path / "x.db")
    open_file(path, _clock).close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO leases (task_id, agent_id, lease_expires_at, attempt) VALUES ('ghost', 'a', 1, 1)")
    with open_file(path, _clock, read_only=True) as store:
        assert store.health().foreign_key_tables == ["leases"]


def test_preflight_records_start_finish_history_and_failures(tmp_path):
    from maf_hooks.store.preflight import PreflightRun
    from maf_hooks.store.sqlite import open_file

    path = str(tmp_path / "x.db")
    runs = [PreflightRun(f"row{n}", "maf.toml", "bob", f"pf-{n}", "custom", {"only": []}, 1000 + n)
            for n in range(3)]
    with open_file(path, _clock) as store:
        assert store.preflight.available()
        with store.write():
            store.preflight.start(runs[0])
            store.preflight.start(runs[1])
        with store.write():
            store.preflight.finish(runs[0], "failed", {"summary": {"failed": 1}}, "python: too old", 1500)
            store.preflight.finish(runs[2], "passed", {"duration_ms": 3}, None, 1600)  # never started: recorded whole
        history = store.preflight.history(limit=10)
        assert [(r["execution_id"], r["status"]) for r in history] == [
            ("pf-2", "passed"), ("pf-1", "running"), ("pf-0", "failed")]
        assert history[2]["result"] == {"summary": {"failed": 1}} and history[2]["error_message"] == "python: too old"
        assert history[0]["completed_at"] == 1600 and history[1]["result"] == {}
        assert [r["execution_id"] for r in store.preflight.history(limit=10, status="failed")] == ["pf-0"]
        assert store.preflight.history(limit=1, agent="nobody") == []
        assert store.preflight.failures_since("bob", 1000) == 1
        assert store.preflight.failures_since("bob", 1001) == 0


def test_run_query_read_only_with_a_deadline(tmp_path):
    import time

    from maf_hooks.store.sqlite.preflight import QueryFailed, run_query

    path = str(tmp_path / "app.db")
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE items (name TEXT)")
        raw.executemany("INSERT INTO items VALUES (?)", [("a",), ("b",)])
    deadline = time.monotonic() + 10
    assert run_query(path, "SELECT name FROM items", deadline) == 2
    with pytest.raises(QueryFailed) as refused:
        run_query(path, "DELETE FROM items", deadline)
    assert refused.value.stage == "query" and "readonly" in str(refused.value)
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n"
    with pytest.raises(QueryFailed) as late:
        run_query(path, endless, time.monotonic() + 0.2)
    assert late.value.stage == "timeout"
    assert run_query(path, "SELECT COUNT(*) FROM items", deadline) == 1


def test_migrations_import_without_the_connection_module():
    """No cycle between connection and migrations: migrations take a connection and the
    transaction helper from transaction.py, never from connection.py (not even lazily)."""
    import sys

    code = ("import sys, maf_hooks.store.sqlite.migrations as m; "
            "assert 'maf_hooks.store.sqlite.connection' not in sys.modules, 'connection imported'; "
            "import inspect; assert 'store.sqlite.connection' not in inspect.getsource(m)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _modes(directory) -> dict:
    return {name: stat.S_IMODE(os.stat(directory / name).st_mode) for name in os.listdir(directory)}


def _write_keeping_wal(path) -> None:
    """Write through a second connection left open, so that the -wal and -shm files exist."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE IF NOT EXISTS probe (x)")
    conn.execute("INSERT INTO probe VALUES (1)")
    conn.commit()
    return conn


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_db_created_0600_whatever_the_umask(repo, cli, umask):
    old = os.umask(umask)
    try:
        assert cli(repo, "lease", "acquire", "a", "--agent", "alice").code == 0
    finally:
        os.umask(old)
    directory = repo / ".git" / "maf"
    assert _modes(directory) == {"runtime.db": 0o600}
    conn = _write_keeping_wal(directory / "runtime.db")
    try:
        assert _modes(directory) == {"runtime.db": 0o600, "runtime.db-wal": 0o600, "runtime.db-shm": 0o600}
    finally:
        conn.close()


def test_db_created_with_storage_file_mode(repo, cli):
    (repo / "maf.toml").write_text('[storage]\nfile_mode = "0660"\ndb_path = "var/leases.db"\n')
    old = os.umask(0o077)
    try:
        assert cli(repo, "lease", "acquire", "a", "--agent", "alice").code == 0
        conn = _write_keeping_wal(repo / "var" / "leases.db")
    finally:
        os.umask(old)
    try:
        assert _modes(repo / "var") == {"leases.db": 0o660, "leases.db-wal": 0o660, "leases.db-shm": 0o660}
    finally:
        conn.close()


def test_existing_db_keeps_its_mode(repo, cli):
    assert cli(repo, "lease", "acquire", "a", "--agent", "alice").code == 0
    path = repo / ".git" / "maf" / "runtime.db"
    path.chmod(0o640)
    (repo / "maf.toml").write_text('[storage]\nfile_mode = "0660"\n')
    assert cli(repo, "lease", "list").code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_migration_13_gives_open_leases_tokens_in_grant_order_and_the_counter_outlives_the_rows(tmp_path):
    """Leases taken before fencing tokens get them in the order they were granted; removing lease
    rows (an operator's cleanup) never makes the counter give a token again."""
    import sqlite3

    from maf_hooks.core import leases as rules
    from maf_hooks.store.sqlite import migrations, open_file
    from maf_hooks.store.sqlite.connection import connect

    path = str(tmp_path / "old.db")
    conn = connect(path, migrate=False)
    migrations.upgrade(conn, migrations.MIGRATIONS[:12])
    with conn:
        for number, pattern in enumerate(["b/", "a/"]):
            task = f"lease-old{number}"
            conn.execute("INSERT INTO tasks (id, state, payload_json, created_at, updated_at, attempts) "
                         "VALUES (?, 'LEASED', '{}', ?, ?, 1)", (task, 1000 + number, 1000 + number))
            conn.execute("INSERT INTO leases (task_id, agent_id, lease_expires_at, attempt) VALUES (?, 'x', ?, 1)",
                         (task, 10**13))
            conn.execute("INSERT INTO file_leases (task_id, pattern, mode, reason, regex, prefix, created_at, "
                         "expires_at) VALUES (?, ?, 'exclusive', '', '', ?, ?, ?)",
                         (task, pattern, pattern, 1000 + number, 10**13))
    conn.close()
    store = open_file(path, lambda: 2000)  # migrates
    assert sorted((lease.token, lease.pattern) for lease in store.leases.all()) == [(1, "b/"), (2, "a/")]
    store.close()
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("DELETE FROM file_leases")
    raw.close()
    store = open_file(path, lambda: 3000)
    assert rules.acquire(store, "y", ["c/"], 60_000).granted[0].token == 3
    store.close()
