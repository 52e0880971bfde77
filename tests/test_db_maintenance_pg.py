"""`maf db check`, `maf db backup PATH`, `maf db restore PATH` on a real PostgreSQL server: the
backup is a SQLite file made through `maf db copy`'s machinery, a restore replaces this
repository's records in one transaction and leaves other repositories and the server's mail alone."""

from __future__ import annotations

import os
import sqlite3
import stat

import psycopg
import pytest
from conftest import make_repo

KEY = "example.com/team/app"
OTHER = "example.com/other/app"


def ok(result):
    assert result.code == 0, result.out + result.err
    return result


def configure(path, pg_url, key, cli):
    (path / "maf.toml").write_text(f'[storage]\nurl = "{pg_url}"\nrepository = "{key}"\nfile_mode = "0640"\n')
    ok(cli(path, "db", "migrate"))
    return path


@pytest.fixture
def fleet(repo, pg_url, cli, tmp_path):
    """This repository and another on one server, each with a lease; fleet mail for bob."""
    configure(repo, pg_url, KEY, cli)
    other = configure(make_repo(tmp_path / "other"), pg_url, OTHER, cli)
    ok(cli(other, "lease", "acquire", "theirs.txt", "--agent", "zed"))
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "docs/", "--agent", "carol"))
    ok(cli(repo, "lease", "release", "docs/", "--agent", "carol"))
    ok(cli(repo, "mail", "send", "--to", "bob", "--subject", "hello", "--body", "kept on the server", "--agent", "alice"))
    return repo, other


def server_rows(pg_url, sql, args=()):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        cursor = conn.execute(sql, args)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def leases_of(pg_url, key):
    return server_rows(pg_url, "SELECT pattern, agent_id, state FROM leases WHERE repository = %s ORDER BY token",
                       (key,))


def test_check_on_a_server(fleet, cli, pg_url):
    repo, _ = fleet
    report = ok(cli(repo, "db", "check", "--json")).json
    assert report["ok"] and report["backend"] == "postgresql"
    assert "page_check" not in report  # the server keeps its own pages
    assert report["leases"] == {"checked": 2, "active": 1} and report["audit"]["valid"]
    assert server_rows(pg_url, "UPDATE leases SET state = 'DONE' WHERE repository = %s AND pattern = 'src/a.py'",
                       (KEY,)) == 1
    result = cli(repo, "db", "check", "--json")
    assert result.code == 1
    found = [(p["check"], p["problem"]) for p in result.json["problems"]]
    assert len(found) == 1 and found[0][0] == "leases"
    assert found[0][1].endswith("is not ended (no ended_at) but its state is DONE")


def test_check_an_unreachable_server_exits_3(repo, cli):
    (repo / "maf.toml").write_text('[storage]\nurl = "postgresql://maf@127.0.0.1:1/maf"\nrepository = "x/y"\n'
                                   'connect_timeout_seconds = 2\n')
    result = cli(repo, "db", "check")
    assert result.code == 3, result.out + result.err


def test_backup_and_restore_on_a_server(fleet, cli, pg_url, tmp_path):
    repo, other = fleet
    backup = tmp_path / "fleet.db"
    result = ok(cli(repo, "db", "backup", backup, "--json")).json
    assert result["check"]["ok"] and result["mail_left_out"] == 1
    assert result["counts"]["leases"] == 2
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o640
    conn = sqlite3.connect(backup)
    assert sorted(conn.execute("SELECT pattern FROM file_leases").fetchall()) == [("docs/",), ("src/a.py",)]
    conn.close()
    text = ok(cli(repo, "db", "backup", tmp_path / "again.db")).out
    assert "not in the backup: 1 mail message(s) the server keeps" in text

    # after the backup: the lease ends, another is taken
    ok(cli(repo, "lease", "release", "src/a.py", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "later.py", "--agent", "bob"))
    before = leases_of(pg_url, KEY)
    refused = cli(repo, "db", "restore", backup)
    assert refused.code == 1 and "1 lease(s) are active: later.py (bob)" in refused.err
    assert leases_of(pg_url, KEY) == before
    ok(cli(repo, "lease", "release", "later.py", "--agent", "bob"))
    tokens = server_rows(pg_url, "SELECT last_token FROM maf_counters WHERE repository = %s", (KEY,))[0][0]

    keep = tmp_path / "kept"
    keep.mkdir()
    restored = ok(cli(repo, "db", "restore", backup, "--keep-dir", keep, "--json")).json
    assert restored["check"]["ok"] and restored["active_replaced"] == 0
    assert os.path.basename(restored["kept"]).startswith("example.com_team_app.before-restore-")
    kept = sqlite3.connect(restored["kept"])
    assert sorted(kept.execute("SELECT pattern FROM file_leases").fetchall()) == [
        ("docs/",), ("later.py",), ("src/a.py",)]
    kept.close()
    assert leases_of(pg_url, KEY) == [("src/a.py", "alice", "LEASED"), ("docs/", "carol", "DONE")]
    assert leases_of(pg_url, OTHER) == [("theirs.txt", "zed", "LEASED")]  # another repository: untouched
    assert server_rows(pg_url, "SELECT COUNT(*) FROM mail_messages WHERE repository = %s", (KEY,)) == [(1,)]
    assert server_rows(pg_url, "SELECT last_token FROM maf_counters WHERE repository = %s", (KEY,))[0][0] == tokens
    ok(cli(repo, "audit", "validate", "--full"))
    granted = ok(cli(repo, "lease", "acquire", "next.py", "--agent", "bob", "--json")).json
    assert granted["granted"][0]["token"] == tokens + 1  # no fencing token is given twice


def test_restore_of_a_damaged_backup_changes_nothing_on_a_server(fleet, cli, pg_url, tmp_path):
    repo, _ = fleet
    backup = tmp_path / "fleet.db"
    ok(cli(repo, "db", "backup", backup))
    conn = sqlite3.connect(backup)
    conn.execute("UPDATE events SET agent_id = 'mallory' WHERE id = 1")
    conn.commit()
    conn.close()
    ok(cli(repo, "lease", "release", "src/a.py", "--agent", "alice"))
    before = leases_of(pg_url, KEY)
    result = cli(repo, "db", "restore", backup, "--keep-dir", tmp_path)
    assert result.code == 1 and "audit chain broken at event 1" in result.err
    assert leases_of(pg_url, KEY) == before
    assert not [name for name in os.listdir(tmp_path) if "before-restore" in name]
