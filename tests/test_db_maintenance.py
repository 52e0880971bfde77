"""`maf db check`, `maf db backup PATH`, `maf db restore PATH` on SQLite: real database files,
real processes writing while a backup is taken and holding the database open while it is restored."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import traceback

import pytest
from conftest import db_snapshot

from maf_hooks.core import leases as rules
from maf_hooks.store.sqlite import open_file
from maf_hooks.timeutil import now_ms

CTX = multiprocessing.get_context("fork")


def ok(result):
    assert result.code == 0, result.out + result.err
    return result


def db_of(repo):
    return repo / ".git" / "maf" / "runtime.db"


def rows(path, sql, args=()):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def problems(result):
    return [(p["check"], p["problem"]) for p in result.json["problems"]]


# --- check -----------------------------------------------------------------------------------

def test_check_sound_store_names_what_it_checked(repo, cli):
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "docs/", "--agent", "bob"))
    ok(cli(repo, "lease", "release", "docs/", "--agent", "bob"))
    report = ok(cli(repo, "db", "check", "--json")).json
    assert report["ok"] and report["problems"] == []
    assert report["leases"] == {"checked": 2, "active": 1}
    assert report["page_check"] == "quick_check" and report["integrity_check"] == "ok"
    assert report["audit"]["valid"] and report["audit"]["checked"] == 3
    ok(cli(repo, "audit", "validate"))  # a checkpoint: the quick check hashes only what came after
    ok(cli(repo, "lease", "acquire", "lib/", "--agent", "carol"))
    quick = ok(cli(repo, "db", "check", "--json")).json["audit"]
    assert quick["scope"] == "events after the checkpoint at event 3" and quick["new_checked"] == 1
    full = ok(cli(repo, "db", "check", "--full", "--json")).json
    assert full["page_check"] == "integrity_check" and full["audit"]["scope"] == "every event"
    text = ok(cli(repo, "db", "check")).out
    assert "ok: pages (quick_check), foreign keys, 3 leases (2 active)" in text


def test_check_finds_a_lease_missing_its_row(repo, cli):
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    lease_id = rows(db_of(repo), "SELECT task_id FROM file_leases")[0][0]
    conn = sqlite3.connect(db_of(repo))
    conn.execute("DELETE FROM leases WHERE task_id = ?", (lease_id,))  # foreign keys are off here
    conn.commit()
    conn.close()
    result = cli(repo, "db", "check", "--json")
    assert result.code == 1
    found = problems(result)
    assert ("leases", "an open file lease has no task or lease row") in found
    assert ("leases", f"lease {lease_id} has a file_leases row but no leases row") in found
    assert ("leases", f"lease {lease_id} is a file lease task without its leases row") in found
    text = cli(repo, "db", "check")
    assert text.code == 1 and f"problem (leases): lease {lease_id} has a file_leases row but no leases row" in text.out


def test_check_finds_an_ended_lease_still_leased_and_a_token_given_twice(repo, cli):
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "b/", "--agent", "alice"))
    ok(cli(repo, "lease", "release", "b/", "--agent", "alice"))
    (first,), (second,) = rows(db_of(repo), "SELECT task_id FROM file_leases ORDER BY created_at")
    conn = sqlite3.connect(db_of(repo))
    conn.execute("UPDATE tasks SET state = 'LEASED' WHERE id = ?", (second,))
    conn.execute("DROP INDEX idx_file_leases_token")  # the unique index lost, as by a hand repair
    conn.execute("UPDATE file_leases SET token = 1")
    conn.execute("UPDATE lease_token_counter SET value = 0")
    conn.commit()
    conn.close()
    found = problems(cli(repo, "db", "check", "--json"))
    assert ("leases", f"lease {second} ended (ended_at set) but its state is still LEASED") in found
    assert ("leases", f"leases {first} and {second} carry the same fencing token 1") in found
    assert ("leases", "the fencing token counter (0) is below a token already given (1): it would give that "
                      "token again") in found


def test_check_finds_a_corrupt_page(repo, cli):
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    ok(cli(repo, "db", "backup", repo.parent / "copy.db"))  # one file, no WAL beside it
    data = bytearray((repo.parent / "copy.db").read_bytes())
    page = 4096
    root = rows(repo.parent / "copy.db", "SELECT rootpage FROM sqlite_master WHERE name = 'file_leases'")[0][0]
    start = (root - 1) * page
    data[start:start + page] = b"\xff" * page  # file_leases' root page: header and cells
    (repo.parent / "copy.db").write_bytes(bytes(data))
    env = {"MAF_DB_PATH": str(repo.parent / "copy.db")}
    result = cli(repo, "db", "check", "--json", env=env)
    assert result.code == 1, result.out + result.err
    assert any(check in ("integrity", "leases") for check, _ in problems(result)), result.out


def test_check_a_file_without_schema_or_no_database_is_damage_found(repo, cli, tmp_path):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    result = cli(repo, "db", "check", "--json", env={"MAF_DB_PATH": str(empty)})
    assert result.code == 1
    assert problems(result) == [("schema", "holds no schema: the file is empty or was not made by maf-hooks")]
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is no database, just text" * 200)
    result = cli(repo, "db", "check", "--json", env={"MAF_DB_PATH": str(garbage)})
    assert result.code == 1
    assert [check for check, _ in problems(result)] == ["integrity"]
    assert "not an SQLite database" in problems(result)[0][1]


def test_check_a_store_that_cannot_be_read_exits_3(repo, cli, tmp_path):
    result = cli(repo, "db", "check", env={"MAF_DB_PATH": str(tmp_path / "missing.db")})
    assert result.code == 3 and "No lease database" in result.err
    assert not (tmp_path / "missing.db").exists()


def test_check_finds_a_tampered_audit_chain(repo, cli):
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    ok(cli(repo, "lease", "release", "src/a.py", "--agent", "alice"))
    conn = sqlite3.connect(db_of(repo))
    conn.execute("UPDATE events SET agent_id = 'mallory' WHERE id = 1")
    conn.commit()
    conn.close()
    result = cli(repo, "db", "check", "--json")
    assert result.code == 1
    assert [check for check, _ in problems(result)] == ["audit"]
    assert problems(result)[0][1].startswith("audit chain broken at event 1")


# --- backup ----------------------------------------------------------------------------------

def test_backup_is_checked_refuses_to_overwrite_and_takes_the_file_mode(repo, cli):
    (repo / "maf.toml").write_text('[storage]\nfile_mode = "0640"\n')
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    target = repo.parent / "leases.db"
    result = ok(cli(repo, "db", "backup", target, "--json")).json
    assert result["check"]["ok"] and result["check"]["page_check"] == "integrity_check"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert rows(target, "SELECT pattern FROM file_leases") == [("src/a.py",)]
    assert rows(target, "PRAGMA journal_mode") == [("delete",)]  # one file, nothing beside it
    before = target.read_bytes()
    ok(cli(repo, "lease", "acquire", "src/b.py", "--agent", "alice"))
    refused = cli(repo, "db", "backup", target)
    assert refused.code == 1 and "already exists" in refused.err and target.read_bytes() == before
    ok(cli(repo, "db", "backup", target, "--force"))
    assert sorted(rows(target, "SELECT pattern FROM file_leases")) == [("src/a.py",), ("src/b.py",)]
    assert sorted(os.listdir(repo.parent)) == ["leases.db", "repo"]  # no partial file left


def test_backup_of_a_damaged_database_writes_nothing(repo, cli):
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    conn = sqlite3.connect(db_of(repo))
    conn.execute("UPDATE events SET kind = 'forged'")
    conn.commit()
    conn.close()
    result = cli(repo, "db", "backup", repo.parent / "leases.db")
    assert result.code == 1 and "does not pass the check" in result.err and "audit chain broken" in result.err
    assert sorted(os.listdir(repo.parent)) == ["repo"]


def _writer(path: str, ready, stop, errors) -> None:
    try:
        store = open_file(path, now_ms)
        i = 0
        while not stop.is_set():
            rules.acquire(store, "writer", [f"w/{i}.py"], 600_000)
            if i % 3 == 2:
                rules.release(store, "writer", pattern_list=[f"w/{i - 1}.py"])
            i += 1
            if i == 5:
                ready.set()
        store.close()
    except Exception:
        errors.put(traceback.format_exc())
        ready.set()


def test_backup_while_another_process_writes_is_consistent(repo, cli):
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))  # the database exists
    ready, stop, errors = CTX.Event(), CTX.Event(), CTX.Queue()
    proc = CTX.Process(target=_writer, args=(str(db_of(repo)), ready, stop, errors))
    proc.start()
    try:
        assert ready.wait(60)
        counts = []
        for n in range(4):
            target = repo.parent / f"copy{n}.db"
            ok(cli(repo, "db", "backup", target))  # checked in full: pages, leases, chain
            leases = rows(target, "SELECT COUNT(*) FROM file_leases")[0][0]
            acquired = rows(target, "SELECT COUNT(*) FROM events WHERE kind = 'acquire'")[0][0]
            released = rows(target, "SELECT COUNT(*) FROM events WHERE kind = 'release'")[0][0]
            ended = rows(target, "SELECT COUNT(*) FROM file_leases WHERE ended_at IS NOT NULL")[0][0]
            assert (leases, ended) == (acquired, released)  # each write section whole or not at all
            counts.append(leases)
    finally:
        stop.set()
        proc.join(60)
    assert errors.empty(), errors.get()
    live = rows(db_of(repo), "SELECT COUNT(*) FROM file_leases")[0][0]
    assert counts == sorted(counts) and counts[-1] <= live and counts[0] > 1


# --- restore ---------------------------------------------------------------------------------

def _holder(path: str, pipe) -> None:
    """A long-lived process: one open store, answering the parent until told to stop."""
    try:
        store = open_file(path, now_ms)
        while True:
            order = pipe.recv()
            if order == "stop":
                break
            if order == "patterns":
                pipe.send(sorted(lease.pattern for lease in store.leases.all()))
            else:
                result = rules.acquire(store, "holder", [order], 600_000)
                pipe.send([lease.token for lease in result.granted])
        store.close()
        pipe.send("stopped")
    except Exception:
        pipe.send(traceback.format_exc())


def test_restore_under_a_process_that_holds_the_database_open(repo, cli):
    ok(cli(repo, "lease", "acquire", "old.py", "--agent", "alice"))
    ok(cli(repo, "lease", "release", "old.py", "--agent", "alice"))
    backup = repo.parent / "backup.db"
    ok(cli(repo, "db", "backup", backup))
    parent, child = CTX.Pipe()
    proc = CTX.Process(target=_holder, args=(str(db_of(repo)), child))
    proc.start()
    try:
        parent.send("new.py")  # a lease taken through the open store
        assert len(parent.recv()) == 1
        ok(cli(repo, "lease", "release", "new.py", "--agent", "holder"))
        parent.send("patterns")
        assert parent.recv() == ["new.py", "old.py"]
        highest = rows(db_of(repo), "SELECT value FROM lease_token_counter")[0][0]
        result = ok(cli(repo, "db", "restore", backup, "--json")).json
        assert result["check"]["ok"] and result["active_replaced"] == 0
        kept = result["kept"]
        assert os.path.dirname(kept) == str(db_of(repo).parent)
        assert os.path.basename(kept).startswith("runtime.db.before-restore-") and kept.endswith("Z")
        assert sorted(p for (p,) in rows(kept, "SELECT pattern FROM file_leases")) == ["new.py", "old.py"]
        parent.send("patterns")
        assert parent.recv() == ["old.py"]  # the open process sees the restored data
        parent.send("after.py")
        tokens = parent.recv()
        assert tokens == [highest + 1]  # no fencing token is given twice
        listed = ok(cli(repo, "lease", "list", "--json")).json["leases"]
        assert [lease["pattern"] for lease in listed] == ["after.py"]
        parent.send("stop")
        assert parent.recv() == "stopped"
    finally:
        proc.join(30)
    assert rows(db_of(repo), "PRAGMA journal_mode") == [("wal",)]
    ok(cli(repo, "db", "check", "--full"))


def test_restore_refuses_while_leases_are_active(repo, cli):
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    backup = repo.parent / "backup.db"
    ok(cli(repo, "db", "backup", backup))
    ok(cli(repo, "lease", "release", "src/a.py", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "src/b.py", "--agent", "bob"))
    before = db_snapshot(db_of(repo))
    result = cli(repo, "db", "restore", backup)
    assert result.code == 1 and "1 lease(s) are active: src/b.py (bob)" in result.err
    assert db_snapshot(db_of(repo)) == before
    assert not [name for name in os.listdir(db_of(repo).parent) if "before-restore" in name]
    keep = repo.parent / "kept"
    keep.mkdir()
    forced = ok(cli(repo, "db", "restore", backup, "--force", "--keep-dir", keep, "--json")).json
    assert forced["active_replaced"] == 1 and os.path.dirname(forced["kept"]) == str(keep)
    listed = ok(cli(repo, "lease", "list", "--json")).json["leases"]
    assert [(lease["pattern"], lease["agent"]) for lease in listed] == [("src/a.py", "alice")]


def test_restore_of_a_damaged_backup_changes_nothing(repo, cli):
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    backup = repo.parent / "backup.db"
    ok(cli(repo, "db", "backup", backup))
    ok(cli(repo, "lease", "release", "src/a.py", "--agent", "alice"))
    conn = sqlite3.connect(backup)
    conn.execute("DELETE FROM file_leases")  # a lease row dropped: its task and leases row remain
    conn.commit()
    conn.close()
    before = db_snapshot(db_of(repo))
    result = cli(repo, "db", "restore", backup)
    assert result.code == 1 and "does not pass the check" in result.err and "without its file_leases row" in result.err
    assert db_snapshot(db_of(repo)) == before
    assert not [name for name in os.listdir(db_of(repo).parent) if "before-restore" in name]
    garbage = repo.parent / "garbage.db"
    garbage.write_bytes(b"no database" * 500)
    result = cli(repo, "db", "restore", garbage)
    assert result.code == 1 and "cannot be read" in result.err
    assert db_snapshot(db_of(repo)) == before


def test_restore_into_a_missing_database_creates_it(repo, cli, tmp_path):
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    backup = repo.parent / "backup.db"
    ok(cli(repo, "db", "backup", backup))
    fresh = tmp_path / "fresh" / "runtime.db"
    fresh.parent.mkdir()
    result = ok(cli(repo, "db", "restore", backup, "--json", env={"MAF_DB_PATH": str(fresh)})).json
    assert result["kept"] is None and result["check"]["ok"]
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o600
    assert rows(fresh, "SELECT pattern FROM file_leases") == [("src/a.py",)]


@pytest.mark.parametrize("args", [("db", "restore", "nothing-here.db"), ("db", "backup", ".")])
def test_bad_paths_are_usage_errors(repo, cli, args):
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    result = cli(repo, *args)
    assert result.code == 2, result.err


# --- after a black-box review ----------------------------------------------------------------

@pytest.mark.parametrize("damage", [b"", os.urandom(10_000)], ids=["empty", "garbage"])
def test_restore_repairs_a_damaged_live_database_with_force(repo, cli, tmp_path, damage):
    """The main reason to restore: a live file that is empty or no database. Without --force it
    is refused (nothing changed); with it the damaged file is set aside as the previous state and
    the backup written in its place."""
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    backup = tmp_path / "backup.db"
    ok(cli(repo, "db", "backup", backup))
    live = tmp_path / "live.db"
    live.write_bytes(damage)
    env = {"MAF_DB_PATH": str(live)}
    refused = cli(repo, "db", "restore", backup, env=env)
    assert refused.code == 1 and "is damaged" in refused.err and "--force" in refused.err
    assert live.read_bytes() == damage
    restored = ok(cli(repo, "db", "restore", backup, "--force", "--json", env=env)).json
    assert open(restored["kept"], "rb").read() == damage and restored["damaged"]
    listed = ok(cli(repo, "lease", "list", "--json", env=env)).json["leases"]
    assert [(lease["pattern"], lease["agent"]) for lease in listed] == [("src/a.py", "alice")]
    ok(cli(repo, "db", "check", env=env))


def test_backup_onto_the_live_database_and_restore_in_memory_are_usage_errors(repo, cli, tmp_path):
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice"))
    before = db_snapshot(db_of(repo))
    onto = cli(repo, "db", "backup", db_of(repo), "--force")
    assert onto.code == 2 and "the database in use" in onto.err and db_snapshot(db_of(repo)) == before
    backup = tmp_path / "backup.db"
    ok(cli(repo, "db", "backup", backup))
    memory = cli(repo, "db", "restore", backup, env={"MAF_RUNTIME": "memory"})
    assert memory.code == 2 and "memory" in memory.err and "Traceback" not in memory.err
    missing = cli(repo, "db", "restore", backup, "--force", "--keep-dir", tmp_path / "nowhere")
    assert missing.code == 2 and "--keep-dir" in missing.err and db_snapshot(db_of(repo)) == before


def test_reading_commands_never_fill_a_file_without_schema(repo, cli, tmp_path):
    """metrics, audit validate and gc --dry-run on an empty or foreign file say it is damaged
    (exit 3) and leave it as it was: asking creates nothing."""
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE mine (x)")
    conn.commit()
    conn.close()
    for path in (empty, foreign):
        before = path.read_bytes()
        for args in (("metrics",), ("audit", "validate"), ("db", "gc", "--dry-run")):
            result = cli(repo, *args, env={"MAF_DB_PATH": str(path)})
            assert result.code == 3 and "holds no schema" in result.err, (path.name, args, result.err)
        assert path.read_bytes() == before


def test_gc_refuses_an_empty_duration(repo, cli):
    result = cli(repo, "db", "gc", "--older-than", "", "--dry-run")
    assert result.code == 2 and "--older-than" in result.err
