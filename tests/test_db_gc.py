"""`maf db gc` from the command line: a real repository and SQLite file, and a real PostgreSQL
server (the owner vacuums; a role that does not own the tables is told why not)."""

from __future__ import annotations

import json
import os
import sqlite3

from test_postgres_store import fleet_repo, run


def ok(result):
    assert result.code == 0, result.err
    return result


def busy(repo, cli, count: int = 30) -> None:
    for index in range(count):
        ok(cli(repo, "lease", "acquire", f"f{index}.txt", "--agent", "alice", "--reason", "x" * 200))
        ok(cli(repo, "lease", "release", f"f{index}.txt", "--agent", "alice"))


def test_gc_prunes_everything_older_and_validate_names_the_anchor(repo, cli):
    busy(repo, cli, 3)
    counted = ok(cli(repo, "db", "gc", "--dry-run", "--older-than", "1ms", "--json")).json
    assert counted["dry_run"] and counted["records"]["leases"] == 3 and counted["records"]["events"] == 6
    done = ok(cli(repo, "db", "gc", "--older-than", "1ms"))
    assert "replaced by anchor event 7" in done.out and "3      ended leases" in done.out
    checked = ok(cli(repo, "audit", "validate", "--full"))
    assert "event 7 replaced events 1..6" in checked.out and "starts at event 7" in checked.out
    assert ok(cli(repo, "audit", "validate", "--json")).json["anchor"]["id"] == 7
    ok(cli(repo, "lease", "list"))  # the store goes on working after it
    ok(cli(repo, "lease", "acquire", "g.txt", "--agent", "bob"))
    assert ok(cli(repo, "audit", "validate", "--full", "--json")).json["checked"] == 2


def test_gc_refuses_a_broken_chain_and_deletes_nothing(repo, cli):
    busy(repo, cli, 2)
    path = ok(cli(repo, "db", "path")).out.strip()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE events SET agent_id = 'mallory' WHERE id = 2")
    refused = cli(repo, "db", "gc", "--older-than", "1ms")
    assert refused.code == 1 and "broken at event 2" in refused.err
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 4
        assert conn.execute("SELECT COUNT(*) FROM file_leases").fetchone()[0] == 2


def test_vacuum_gives_the_space_back(repo, cli):
    busy(repo, cli, 200)
    result = ok(cli(repo, "db", "gc", "--older-than", "1ms", "--vacuum", "--json")).json
    vacuum = result["vacuum"]
    assert vacuum["done"] and vacuum["bytes_after"] < vacuum["bytes_before"]
    path = ok(cli(repo, "db", "path")).out.strip()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_bad_input_exits_2_and_no_store_is_nothing_to_do(repo, cli):
    for args in (("--older-than", "soon"), ("--older-than", "0d"), ("--dry-run", "--vacuum")):
        result = cli(repo, "db", "gc", *args)
        assert result.code == 2 and "Traceback" not in result.err and result.err.strip(), args
    (repo / "maf.toml").write_text("[storage.retention]\nevents_days = -1\n")
    assert cli(repo, "db", "gc").code == 2
    (repo / "maf.toml").unlink()
    nothing = ok(cli(repo, "db", "gc"))
    assert "nothing to delete" in nothing.out
    assert not os.path.exists(ok(cli(repo, "db", "path")).out.strip())  # no database was created by asking
    assert ok(cli(repo, "db", "gc", "--json")).json["records"] == {}


def test_gc_and_vacuum_on_a_server_and_a_role_that_may_not_vacuum(tmp_path, pg_server, pg_url):
    dbname = pg_url.rsplit("/", 1)[1]
    owner = fleet_repo(tmp_path / "owner", pg_url)
    assert run(owner, "maf", "db", "migrate").returncode == 0
    for index in range(3):
        assert run(owner, "maf-lease", "acquire", f"a{index}.txt", "--agent", "alice").returncode == 0
        assert run(owner, "maf-lease", "release", f"a{index}.txt", "--agent", "alice").returncode == 0
    done = run(owner, "maf", "db", "gc", "--older-than", "1ms", "--vacuum", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["records"]["leases"] == 3 and result["vacuum"]["done"] and result["anchor"]["first_id"] == 7
    assert run(owner, "maf", "audit", "validate", "--full").returncode == 0

    pg_server.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gc_agent') THEN "
                  "CREATE ROLE gc_agent LOGIN PASSWORD 'gc-pw'; END IF; END $$")
    pg_server.sql(f"GRANT CONNECT ON DATABASE {dbname} TO gc_agent")
    for grant in ("GRANT USAGE ON SCHEMA public TO gc_agent",
                  "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO gc_agent",
                  "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO gc_agent"):
        pg_server.sql(grant, dbname)
    agent = fleet_repo(tmp_path / "agent", f"postgresql://gc_agent@127.0.0.1:{pg_server.port}/{dbname}")
    env = {"PGPASSWORD": "gc-pw"}
    skipped = run(agent, "maf", "db", "gc", "--older-than", "1ms", "--vacuum", env=env)
    assert skipped.returncode == 1, skipped.stdout + skipped.stderr
    assert "the server skipped leases" in skipped.stderr and "owner" in skipped.stderr
    assert run(agent, "maf", "audit", "validate", "--full", env=env).returncode == 0


def test_after_a_gc_check_backup_and_export_keep_the_anchored_chain(repo, cli, tmp_path):
    """The operator's other commands read a pruned chain as validate does: `maf db check` passes,
    a backup checks, and an export imported into an empty store reproduces the anchor."""
    busy(repo, cli, 3)
    ok(cli(repo, "db", "gc", "--older-than", "1ms"))
    ok(cli(repo, "lease", "acquire", "kept.txt", "--agent", "bob"))
    ok(cli(repo, "db", "check"))
    ok(cli(repo, "db", "backup", str(tmp_path / "after-gc.db")))
    document = tmp_path / "export.json"
    ok(cli(repo, "db", "export", "--output", str(document)))
    env = {"MAF_DB_PATH": str(tmp_path / "imported.db")}
    ok(cli(repo, "db", "import", str(document), env=env))
    imported = ok(cli(repo, "audit", "validate", "--full", "--json", env=env)).json
    assert imported["valid"] and imported["anchor"]["id"] == 7 and imported["checked"] == 2
    ok(cli(repo, "db", "check", "--full", env=env))
