"""A damaged lease database never lets a conflicting commit through silently.

One database is prepared (a lease of another agent on one path, checkpointed, closed); each test
damages its own copy by changing one character of the leased path where it is stored in the
file (the lease row, its index entry, the counts kept per key, ...) and commits that path: the
hook must refuse (exit 1), either as a conflict or as a damaged database, never exit 0.
"""

from __future__ import annotations

import sqlite3

import pytest
from conftest import git
from test_hooks import ME, conflicts, hook, lease, stage

LEASED = "src/zqxjkv_leased_module.py"
GLOB_DIR = "lib/wvutsr_globbed/"


def prepare(cli, repo, pattern=LEASED, *, keyed=False):
    """The repository's lease database with alice's lease on ``pattern``, as bytes on disk only.
    ``keyed``: with two more leases elsewhere, so that a commit of one path finds its leases by
    key (``services.lookup``: more leases open than paths changed)."""
    lease(cli, repo, pattern, "--agent", "alice", "--reason", "owned")
    if keyed:
        lease(cli, repo, "docs/elsewhere.md", "other/*.txt", "--agent", "alice", "--reason", "elsewhere")
    db = repo / ".git" / "maf" / "runtime.db"
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        (db.parent / (db.name + suffix)).unlink(missing_ok=True)
    return db, db.read_bytes()


def occurrences(data: bytes, text: str) -> list[int]:
    needle = text.encode()
    found, start = [], data.find(needle)
    while start != -1:
        found.append(start)
        start = data.find(needle, start + 1)
    return found


def damaged(data: bytes, offset: int, text: str) -> bytes:
    """``data`` with one bit flipped in a letter of ``text`` found at ``offset``."""
    spot = offset + text.index("zqxjkv" if "zqxjkv" in text else "wvutsr") + 3
    return data[:spot] + bytes([data[spot] ^ 0x01]) + data[spot + 1:]


def where(db) -> set[str]:
    """Which stored copies of the lease's key read differently now: 'row' (the table read
    without its indexes), 'index' (the pattern index alone), 'counts' (migration 11's table)."""
    conn = sqlite3.connect(db)
    places = set()
    try:
        readings = {
            "row": "SELECT pattern FROM file_leases NOT INDEXED",
            "index": ("SELECT pattern FROM file_leases INDEXED BY idx_file_leases_open_pattern "
                      "WHERE pattern > '' AND ended_at IS NULL"),
            "counts": "SELECT key FROM lease_key_counts WHERE kind = 'p'",
        }
        for place, sql in readings.items():
            try:
                if LEASED not in {r[0] for r in conn.execute(sql)}:
                    places.add(place)
            except sqlite3.DatabaseError:
                places.add(place)
    finally:
        conn.close()
    return places


def edit_by_hand(db, *statements: str) -> None:
    """Run ``statements`` on the database file and commit them, as an operator (or damage) would."""
    conn = sqlite3.connect(db)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def install(db, data: bytes) -> None:
    db.write_bytes(data)
    for suffix in ("-wal", "-shm"):
        (db.parent / (db.name + suffix)).unlink(missing_ok=True)


@pytest.mark.parametrize("ignorecase", [False, True], ids=["keyed-lookup", "full-read"])
def test_every_damaged_copy_of_the_leased_path_refuses_the_commit(repo, cli, ignorecase):
    db, prepared = prepare(cli, repo, keyed=not ignorecase)
    if ignorecase:  # the hook then reads every lease instead of looking them up by key
        git("config", "core.ignorecase", "true", cwd=repo)
    stage(repo, LEASED)
    code, err = hook(repo, env=ME)
    assert code == 1 and "RESERVATION_CONFLICT" in err  # the undamaged copy: a plain conflict
    offsets = occurrences(prepared, LEASED)
    assert len(offsets) >= 3  # the row, its index entry, the count of its key (and the task's payload)
    seen: set[str] = set()
    for offset in offsets:
        install(db, damaged(prepared, offset, LEASED))
        seen |= where(db)
        code, err = hook(repo, env=ME)
        assert code == 1, (offset, err)
        assert "Traceback" not in err
        assert "RESERVATION_CONFLICT" in err or ("is damaged" in err and "maf-preflight --only database" in err), err
    assert {"row", "index", "counts"} <= seen  # each kind of copy was damaged at least once


def test_damaged_index_is_read_around_and_the_lease_still_found(repo, cli):
    db, prepared = prepare(cli, repo, keyed=True)
    stage(repo, LEASED)
    for offset in occurrences(prepared, LEASED):
        install(db, damaged(prepared, offset, LEASED))
        if where(db) == {"index"}:
            break
    else:
        pytest.fail("no copy of the path in the pattern index")
    code, err = hook(repo, env=ME)
    assert code == 1 and "RESERVATION_CONFLICT" in err and "alice" in err
    assert conflicts(repo)[0][:3] == ("bob", LEASED, "alice")


@pytest.mark.parametrize("ignorecase", [False, True], ids=["keyed-lookup", "full-read"])
def test_damaged_row_fails_closed_naming_the_cause(repo, cli, ignorecase):
    """The keyed lookup reads the pattern from its (intact) index entry: a conflict. Reading every
    lease (here with core.ignorecase) meets the damaged text, which no count agrees with: refused
    as damage, naming the check to run."""
    db, prepared = prepare(cli, repo, keyed=not ignorecase)
    if ignorecase:
        git("config", "core.ignorecase", "true", cwd=repo)
    stage(repo, LEASED)
    for offset in occurrences(prepared, LEASED):
        install(db, damaged(prepared, offset, LEASED))
        if where(db) == {"row"}:
            break
    else:
        pytest.fail("no copy of the path in the lease row")
    code, err = hook(repo, env=ME)
    assert code == 1 and "Traceback" not in err
    if ignorecase:
        assert "is damaged" in err and "maf-preflight --only database" in err
    else:
        assert "RESERVATION_CONFLICT" in err


def test_damaged_glob_lease_refuses_the_commit(repo, cli):
    db, prepared = prepare(cli, repo, GLOB_DIR + "*.py")
    stage(repo, GLOB_DIR + "one.py")
    offsets = occurrences(prepared, GLOB_DIR)
    assert offsets
    for offset in offsets:
        install(db, damaged(prepared, offset, GLOB_DIR))
        code, err = hook(repo, env=ME)
        assert code == 1, (offset, err)


def test_counts_follow_every_write_no_false_alarm(repo, cli):
    """Released, expired and re-taken leases, and an operator's SQL, keep the counts right."""
    lease(cli, repo, LEASED, "--agent", "alice")
    lease(cli, repo, GLOB_DIR + "*.py", "--agent", "alice")
    stage(repo, "free.txt")
    assert hook(repo, env=ME)[0] == 0
    assert cli(repo, "lease", "release", LEASED, "--agent", "alice").code == 0
    stage(repo, LEASED)
    assert hook(repo, env=ME)[0] == 0  # released: no lease, no alarm
    db = repo / ".git" / "maf" / "runtime.db"
    conn = sqlite3.connect(db)
    try:  # an operator renames a lease's pattern by hand: the counts follow
        conn.execute("UPDATE file_leases SET pattern = ? WHERE pattern = ?", (LEASED, GLOB_DIR + "*.py"))
        conn.commit()
        # the head follows the prefix, which the operator left as it was
        assert sorted(conn.execute("SELECT kind, key, n FROM lease_key_counts")) == [
            ("h", "lib", 1), ("p", LEASED, 1), ("t", "", 1)]
    finally:
        conn.close()
    code, err = hook(repo, env=ME)
    assert code == 1 and "RESERVATION_CONFLICT" in err


def test_expired_lease_not_yet_ended_is_no_alarm(repo, cli):
    import time

    lease(cli, repo, LEASED, "--agent", "alice", "--ttl", "1m")
    stage(repo, LEASED)
    later = int(time.time() * 1000) + 3_600_000
    code, err = hook(repo, env=ME, clock=lambda: later)
    assert code == 0, err


def test_counts_table_damaged_to_claim_a_lease_refuses(repo, cli):
    """A count that says more than the rows hold (a flipped bit in the counts) is a refusal, not a pass."""
    lease(cli, repo, LEASED, "--agent", "alice")
    edit_by_hand(repo / ".git" / "maf" / "runtime.db", "UPDATE lease_key_counts SET key = 'src/other.py' WHERE kind = 'p'")
    stage(repo, "src/other.py")
    code, err = hook(repo, env=ME)
    assert code == 1 and "is damaged" in err



def test_migration_11_counts_the_leases_already_open(repo, cli):
    """A database from before migration 11, with open and ended leases: the first command fills
    the counts from them, and the hook then finds the open lease with no false alarm."""
    lease(cli, repo, LEASED, "--agent", "alice")
    lease(cli, repo, GLOB_DIR + "*.py", "--agent", "alice")
    lease(cli, repo, "ended.txt", "--agent", "alice")
    assert cli(repo, "lease", "release", "ended.txt", "--agent", "alice").code == 0
    db = repo / ".git" / "maf" / "runtime.db"
    conn = sqlite3.connect(db)
    try:  # back to version 10: no counts table, no triggers (and nothing of migrations 12, 13, 15 and 16)
        conn.execute("DROP TABLE audit_checkpoint")
        for name in ("update", "delete", "insert"):
            conn.execute(f"DROP TRIGGER audit_checkpoint_event_{name}")
        conn.execute("DROP INDEX idx_file_leases_open_head")
        conn.execute("DROP INDEX idx_file_leases_open_globs")
        conn.execute("DROP INDEX idx_file_leases_token")
        conn.execute("ALTER TABLE file_leases DROP COLUMN token")
        conn.execute("DROP TABLE lease_token_counter")
        conn.execute("ALTER TABLE file_leases DROP COLUMN claim_session")
        conn.execute("DROP TABLE lease_key_counts")
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                    "AND name LIKE 'lease_key_counts%'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DELETE FROM schema_migrations WHERE version >= 11")
        conn.execute("PRAGMA user_version = 10")
        conn.commit()
    finally:
        conn.close()
    stage(repo, GLOB_DIR + "two.py")
    code, err = hook(repo, env=ME)
    assert code == 1 and "RESERVATION_CONFLICT" in err and "is damaged" not in err
    conn = sqlite3.connect(db)
    try:
        assert sorted(conn.execute("SELECT kind, key, n FROM lease_key_counts")) == [
            ("g", GLOB_DIR, 1), ("h", "lib", 1), ("h", "src", 1), ("p", GLOB_DIR + "*.py", 1), ("p", LEASED, 1),
            ("t", "", 2)]
    finally:
        conn.close()


def test_migration_18_counts_the_heads_of_the_leases_already_open(repo, cli):
    """A version 17 database (counts without heads, triggers without them): the first command
    counts every open lease's head, the triggers then follow acquire and release, and a root
    glob still meets the leases of the heads it matches."""
    from maf_hooks.store.sqlite.schema_counts import count_triggers

    for pattern in (LEASED, GLOB_DIR + "*.py", "README", "*.cfg", "ended.txt"):
        lease(cli, repo, pattern, "--agent", "alice")
    assert cli(repo, "lease", "release", "ended.txt", "--agent", "alice").code == 0
    db = repo / ".git" / "maf" / "runtime.db"
    conn = sqlite3.connect(db)
    try:  # back to version 17
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                    "AND name LIKE 'lease_key_counts%'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        for statement in count_triggers(heads=False):
            conn.execute(statement)
        conn.execute("DELETE FROM lease_key_counts WHERE kind = 'h'")
        conn.execute("DELETE FROM schema_migrations WHERE version >= 18")
        conn.execute("PRAGMA user_version = 17")
        conn.commit()
    finally:
        conn.close()
    assert cli(repo, "lease", "acquire", "docs/", "--agent", "bob").code == 0  # migrates, then counts docs
    refused = cli(repo, "lease", "acquire", "*.py", "--agent", "bob")  # a root glob: meets nothing at the root
    assert refused.code == 0
    assert cli(repo, "lease", "acquire", "READ*", "--agent", "bob").code == 1  # meets README through its head
    assert cli(repo, "lease", "release", "*.py", "--agent", "bob").code == 0
    conn = sqlite3.connect(db)
    try:
        assert sorted(conn.execute("SELECT key, n FROM lease_key_counts WHERE kind = 'h'")) == [
            ("*.cfg", 1), ("README", 1), ("docs", 1), ("lib", 1), ("src", 1)]
    finally:
        conn.close()
    assert cli(repo, "db", "check").code == 0


def test_a_prefix_edited_without_its_slash_is_counted_as_the_triggers_count_it(repo, cli):
    """The head of a prefix without a '/' (an operator's edit) is '' to the triggers: the check
    computes it the same way, so the counts still agree."""
    lease(cli, repo, LEASED, "--agent", "alice")
    lease(cli, repo, GLOB_DIR + "*.py", "--agent", "alice")
    conn = sqlite3.connect(repo / ".git" / "maf" / "runtime.db")
    try:
        conn.execute("UPDATE file_leases SET prefix = 'src' WHERE pattern = ?", (LEASED,))
        conn.execute("UPDATE file_leases SET prefix = '/lib/' WHERE pattern = ?", (GLOB_DIR + "*.py",))
        conn.commit()
        assert sorted(conn.execute("SELECT key, n FROM lease_key_counts WHERE kind = 'h'")) == [("", 2)]
    finally:
        conn.close()
    checked = cli(repo, "db", "check")
    assert checked.code == 0, checked.out + checked.err


def test_a_damaged_head_count_is_found(repo, cli):
    lease(cli, repo, LEASED, "--agent", "alice")
    edit_by_hand(repo / ".git" / "maf" / "runtime.db", "UPDATE lease_key_counts SET key = 'other' WHERE kind = 'h'")
    checked = cli(repo, "db", "check")
    assert checked.code == 1 and "lease_key_counts" in checked.out + checked.err


def test_a_mode_that_is_neither_exclusive_nor_shared_is_damage(repo, cli):
    """One flipped character in the mode column must not turn an exclusive lease into a shared
    note: the hook fails closed naming the damage."""
    lease(cli, repo, LEASED, "--agent", "alice")
    edit_by_hand(repo / ".git" / "maf" / "runtime.db", "PRAGMA ignore_check_constraints = ON",  # as damage would:
                 "UPDATE file_leases SET mode = 'dxclusive'")  # past the CHECK
    stage(repo, LEASED)
    code, err = hook(repo, env=ME)
    assert code == 1 and "is damaged" in err and "dxclusive" in err and "maf-preflight --only database" in err
