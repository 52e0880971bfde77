"""`maf db import-legacy`: an earlier MAF installation's `.maf/` databases, built with sqlite3
from the schemas docs/operations.md gives, moved into SQLite and PostgreSQL stores."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time

import pytest
from conftest import db_snapshot
from test_hooks import hook, stage

from maf_hooks.context import Context
from maf_hooks.store.transfer import transfer_of

RESERVATIONS = """CREATE TABLE file_reservations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  file_path TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  reason TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  released_at INTEGER
)"""
RUNTIME = ["""CREATE TABLE runtime_leases (
  file_path TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER
)""", """CREATE TABLE runtime_heartbeats (
  agent_id TEXT PRIMARY KEY,
  status TEXT,
  context_json TEXT,
  last_seen INTEGER NOT NULL
)""", """CREATE TABLE runtime_message_queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  agent_id TEXT,
  message_json TEXT NOT NULL,
  created_at INTEGER NOT NULL
)"""]
HOUR = 3_600_000


def ok(result):
    assert result.code == 0, result.err
    return result


def file_id(path: str) -> str:
    return "file_" + hashlib.sha256(path.encode()).hexdigest()[:16]


def database(path, schema, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        for statement in schema:
            conn.execute(statement)
        for sql, values in rows:
            conn.execute(sql, values)
    conn.close()


def legacy_install(repo, now: int):
    """A `.maf/` as the earlier runtime left it: active, expired and released reservations,
    runtime leases (one the same file as a reservation, one outside the repository),
    heartbeats and queued messages."""
    reserve = "INSERT INTO file_reservations (file_path, agent_id, reason, created_at, expires_at, released_at) " \
              "VALUES (?, ?, ?, ?, ?, ?)"
    database(repo / ".maf" / "reservations.db", [RESERVATIONS], [
        (reserve, ("src/a.py", "alice", "login fix", now - HOUR, now + HOUR, None)),
        (reserve, ("docs/old.md", "bob", None, now - 3 * HOUR, now - 2 * HOUR, None)),
        (reserve, ("src/done.py", "carol", "done", now - 3 * HOUR, now + HOUR, now - HOUR)),
        (reserve, ("src/[x].py", "alice", None, now - HOUR, now + HOUR, None)),
    ])
    lease = "INSERT INTO runtime_leases (file_path, agent_id, expires_at, created_at) VALUES (?, ?, ?, ?)"
    beat = "INSERT INTO runtime_heartbeats (agent_id, status, context_json, last_seen) VALUES (?, ?, ?, ?)"
    queue = "INSERT INTO runtime_message_queue (agent_id, message_json, created_at) VALUES (?, ?, ?)"
    database(repo / ".maf" / "runtime.db", RUNTIME, [
        (lease, (str(repo / "lib" / "b.py"), "carol", now + 2 * HOUR, now - HOUR)),  # absolute, in the repository
        (lease, ("src/a.py", "alice", now + HOUR // 2, now - 2 * HOUR)),  # the same file: ends earlier
        (lease, ("/elsewhere/c.py", "dave", now + HOUR, now)),  # outside the repository: skipped
        (beat, ("alice", "busy", json.dumps({"task": "login"}), now - 60_000)),
        (beat, ("bob", "idle", None, (now - HOUR) // 1000)),  # in seconds
        (queue, ("carol", json.dumps({"type": "RESERVATION_CONFLICT", "filePath": "src/a.py"}), now - 5000)),
        (queue, (None, "not json", now - 4000)),
    ])


def leases_of(cli, repo, env):
    found = ok(cli(repo, "lease", "list", "--all", "--json", env=env)).json["leases"]
    return {lease["id"]: lease for lease in found}


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, repo):
    """The environment of each backend (a server under this repository's key)."""
    if request.param == "sqlite":
        return {}
    (repo / "maf.toml").write_text('[storage]\nrepository = "example.com/team/app"\n')
    return {"MAF_DB_URL": request.getfixturevalue("pg_url")}


def test_import_legacy_moves_leases_heartbeats_and_messages(repo, cli, backend):
    now = int(time.time() * 1000)
    legacy_install(repo, now)
    report = ok(cli(repo, "db", "import-legacy", "--json", env=backend)).json
    assert [source["tables"] for source in report["sources"]] == [
        {"file_reservations": 4}, {"runtime_leases": 3, "runtime_heartbeats": 2, "runtime_message_queue": 2}]
    assert report["leases"] == {"active": 3, "history": 2, "already_imported": 0, "duplicates": 1, "capped": 0}
    assert report["events"] == {"heartbeats": 2, "messages": 2, "already_imported": 0}
    assert report["agents_updated"] == 2 and report["overlaps"] == []
    assert [(s["source"], s["record"]["path"]) for s in report["skipped"]] == [("runtime.db:runtime_leases",
                                                                                "/elsewhere/c.py")]

    leases = leases_of(cli, repo, backend)
    assert set(leases) == {file_id(p) for p in ("src/a.py", "docs/old.md", "src/done.py", "src/[x].py", "lib/b.py")}
    a = leases[file_id("src/a.py")]
    assert (a["agent"], a["status"], a["reason"], a["expires_at_ms"]) == ("alice", "active", "login fix", now + HOUR)
    assert leases[file_id("lib/b.py")]["status"] == "active" and leases[file_id("lib/b.py")]["agent"] == "carol"
    assert leases[file_id("src/[x].py")]["pattern"] == "src/\\[x].py"  # the file itself, not a glob
    assert leases[file_id("docs/old.md")]["status"] == "expired"
    assert leases[file_id("src/done.py")]["status"] == "released"
    assert len({lease["token"] for lease in leases.values()}) == 5

    agents = {agent["agent"]: agent for agent in ok(cli(repo, "lease", "agents", "--json", env=backend)).json["agents"]}
    assert agents["alice"]["status"] == "busy" and agents["alice"]["last_heartbeat_ms"] == now - 60_000
    assert agents["bob"]["status"] == "idle" and agents["bob"]["last_heartbeat_ms"] == (now - HOUR) // 1000 * 1000
    validated = ok(cli(repo, "audit", "validate", "--full", "--json", env=backend)).json
    assert validated["valid"] and validated["checked"] == 5 + 4
    context = Context(cwd=str(repo), environ=backend)
    with context.store_location.open(environ={}, create=False) as store:
        events = [row for page in transfer_of(store).dump("events") for row in page]
    kinds = [row[3] for row in events]
    assert kinds.count("legacy_import") == 5 and kinds.count("legacy_heartbeat") == 2
    message = next(json.loads(row[4]) for row in events if row[3] == "legacy_message" and row[5] == "carol")
    assert message["type"] == "RESERVATION_CONFLICT" and message["message"]["filePath"] == "src/a.py"

    # the imported lease is enforced: bob's commit of src/a.py is refused
    stage(repo, "src/a.py")
    assert hook(repo, env={"MAF_AGENT_ID": "bob", **backend})[0] == 1

    # a second run imports nothing twice (and writes nothing)
    events_before = ok(cli(repo, "audit", "validate", "--full", "--json", env=backend)).json["checked"]
    snapshot = db_snapshot(repo / ".git" / "maf" / "runtime.db")
    again = ok(cli(repo, "db", "import-legacy", "--json", env=backend)).json
    assert db_snapshot(repo / ".git" / "maf" / "runtime.db") == snapshot
    assert again["leases"] == {"active": 0, "history": 0, "already_imported": 5, "duplicates": 1, "capped": 0}
    assert again["events"] == {"heartbeats": 0, "messages": 0, "already_imported": 4}
    assert leases_of(cli, repo, backend) == leases
    assert ok(cli(repo, "audit", "validate", "--full", "--json", env=backend)).json["checked"] == events_before


def test_overlapping_active_leases_refuse_the_import_unless_force(repo, cli):
    now = int(time.time() * 1000)
    legacy_install(repo, now)
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "zed"))
    db = repo / ".git" / "maf" / "runtime.db"
    before = db_snapshot(db)
    refused = cli(repo, "db", "import-legacy")
    assert refused.code == 1 and "Nothing was imported" in refused.err and "held by zed" in refused.err
    assert db_snapshot(db) == before

    rehearsal = ok(cli(repo, "db", "import-legacy", "--dry-run"))
    assert rehearsal.out.startswith("would import from ") and "would be refused" in rehearsal.out
    assert "src/a.py of alice overlaps src/ held by zed" in rehearsal.out
    assert db_snapshot(db) == before

    ok(cli(repo, "db", "import-legacy", "--force"))
    leases = leases_of(cli, repo, {})
    zed = next(lease for lease in leases.values() if lease["agent"] == "zed")
    assert zed["status"] == "taken_over" and leases[file_id("src/a.py")]["status"] == "active"
    assert ok(cli(repo, "audit", "validate", "--full")).out.startswith("audit chain valid")


def test_dry_run_without_a_store_creates_none(repo, cli):
    legacy_install(repo, int(time.time() * 1000))
    dry = ok(cli(repo, "db", "import-legacy", "--dry-run", "--json")).json
    assert dry["dry_run"] and dry["leases"]["active"] == 3 and dry["events"]["messages"] == 2
    assert not (repo / ".git" / "maf" / "runtime.db").exists()
    real = ok(cli(repo, "db", "import-legacy", "--json")).json
    assert {key: real[key] for key in ("leases", "events", "overlaps")} == \
        {key: dry[key] for key in ("leases", "events", "overlaps")}


def test_other_spellings_one_file_and_seconds(repo, cli):
    """A runtime database named on its own, with camelCase columns, ISO and second times."""
    path = repo / "old %41#?" / "runtime-dev.db"
    database(path, ["CREATE TABLE runtime_leases (filePath TEXT, agentId TEXT, expiresAt TEXT, createdAt INTEGER)"],
             [("INSERT INTO runtime_leases VALUES (?, ?, ?, ?)", ("x.txt", "erin", "2099-01-01T00:00:00Z", 1700000000)),
              ("INSERT INTO runtime_leases VALUES (?, ?, ?, ?)", ("y.txt", "erin", "soon", 1700000000))])
    report = ok(cli(repo, "db", "import-legacy", "old %41#?/runtime-dev.db", "--json")).json
    assert report["leases"]["active"] == 1 and "soon" in report["skipped"][0]["problem"]
    lease = leases_of(cli, repo, {})[file_id("x.txt")]
    assert lease["created_at"] == "2023-11-14T22:13:20.000Z"
    # 2099 is longer than anyone may lease (reservation.max_timeout_minutes, 120): cut to that from now
    from maf_hooks.timeutil import now_ms, parse_iso_ms

    assert report["leases"]["capped"] == 1
    assert 0 < parse_iso_ms(lease["expires_at"]) - now_ms() <= 120 * 60_000


def test_unreadable_legacy_inputs_exit_2_with_nothing_written(repo, cli, tmp_path):
    ok(cli(repo, "db", "migrate"))
    db = repo / ".git" / "maf" / "runtime.db"
    before = db_snapshot(db)

    def refused(*args, words):
        result = cli(repo, "db", "import-legacy", *args)
        assert result.code == 2 and words in result.err and "Traceback" not in result.err, result.err
        assert db_snapshot(db) == before

    refused(words="No earlier MAF installation")
    (repo / ".maf").mkdir()
    refused(words="No earlier MAF database in")
    (repo / ".maf" / "runtime.db").write_text("not a database at all, just text " * 20)
    refused(words="not a readable SQLite database")
    (repo / ".maf" / "runtime.db").unlink()
    database(repo / ".maf" / "runtime.db", ["CREATE TABLE other (x)"], [])
    refused(words="none of the earlier MAF tables")
    database(repo / ".maf" / "reservations.db", ["CREATE TABLE file_reservations (path TEXT, owner TEXT)"], [])
    refused(words="has no column for agent")
