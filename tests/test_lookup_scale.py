"""The keyed lease lookup at every size: a commit of thousands of paths finds exactly the leases
that reading every active lease finds, on both backends (``services.lookup.rows_for``)."""

from __future__ import annotations

import random
import shutil
import sqlite3

import pytest

from maf_hooks.core import leases as rules
from maf_hooks.core.decision import lease_index
from maf_hooks.core.model import EXCLUSIVE, SHARED
from maf_hooks.errors import StorageError
from maf_hooks.patterns.match import covers
from maf_hooks.services import leasing, lookup
from maf_hooks.services.lookup import FULL_READ_RATIO, keyed_rows, read_while_waiting, rows_for
from maf_hooks.store.sqlite import open_file
from maf_hooks.store.sqlite.version import SCHEMA_VERSION
from tests.contract import conftest as contract
from tests.test_damage import LEASED, damaged, occurrences

Clock = contract.Clock
# the contract suite's fixtures: the tests taking ``store`` run on every backend
backend, spec, clock, make_store, store = (contract.backend, contract.spec, contract.clock, contract.make_store,
                                           contract.store)

MINUTE = 60_000
DIRS = ["src", "src/a", "src/a/b", "Src", "docs", "docs/x", "lib", "lib/wvutsr", "deep/er/still"]
NAMES = ["a.py", "b.py", "A.py", "x.md", "README", "f.cfg", "z*.txt", "q?", "[ab]", "sub"]


def random_pattern(rnd: random.Random) -> str:
    """A lease pattern of every kind the index keys apart: literal files and directories, ``dir/``,
    ``dir/**``, globs with a literal prefix, root globs, escapes and character classes."""
    directory = rnd.choice(DIRS)
    name = rnd.choice(NAMES).replace("*", "\\*").replace("?", "\\?").replace("[", "\\[")
    return rnd.choice([
        f"{directory}/{name}", directory, f"{directory}/", f"{directory}/**", f"{directory}/*.py",
        f"{directory}/**/*.md", f"{directory}/[ab].py", f"{directory}/?.py", f"{directory}/*/README",
        "*.cfg", "**", "*", "?.py", "[Ss]rc/**", "**/README", "*/a.py", "src/a*/b/*",
    ])


def random_path(rnd: random.Random, n: int) -> str:
    directory = rnd.choice(DIRS + [f"gen/d{n % 97}", f"gen/d{n % 89}/e"])
    return f"{directory}/{rnd.choice(NAMES)}" if rnd.random() < 0.5 else f"{directory}/n{n}.py"


def fill(store, rnd: random.Random, count: int) -> None:
    """``count`` leases of random patterns (shared: they may overlap), some ended, some expired."""
    with store.write() as now:
        for i in range(count):
            ttl = MINUTE if i % 7 else 1  # every 7th one expires at once
            lease = rules.insert_lease(store, f"agent{i % 5}", random_pattern(rnd), SHARED, "", now, now + ttl)
            if i % 5 == 0:  # every 5th one ended
                lease.end("released", now)
                store.leases.end(lease)


def covering(rows, paths, casefold=False) -> dict[str, set[str]]:
    index = lease_index(rows, casefold=casefold)
    return {path: {row[0] for row in index.covering(path)} for path in paths}


def judge(store, now, paths, casefold=False) -> dict[str, set[str]]:
    """Brute force: every active lease against every path, by the gate's rule."""
    active = store.leases.active_rows(now)
    return {path: {row[0] for row in active if covers(row[2], path, casefold)} for path in paths}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_large_commit_finds_exactly_what_the_full_read_finds(store, clock, seed):
    rnd = random.Random(seed)
    fill(store, rnd, 400)
    clock.advance(10)  # past the expiry of the short leases
    paths = sorted({random_path(rnd, n) for n in range(4_000)})
    assert len(paths) > 2_000  # more than the 900 keys the lookup once stopped at
    rows = keyed_rows(store.leases, clock.now, paths)  # rows_for reads them all here: fewer leases than paths
    active = {row[0] for row in store.leases.active_rows(clock.now)}
    assert {row[0] for row in rows} <= active  # no ended or expired lease
    assert [row[0] for row in rows] == [row[0] for row in store.leases.active_rows(clock.now) if row[0] in
                                        {r[0] for r in rows}]  # active_rows order
    found = covering(rows, paths)
    assert found == judge(store, clock.now, paths) == covering(store.leases.checked_rows(clock.now), paths)
    assert found == covering(rows_for(store.leases, clock.now, paths), paths)
    assert any(found.values())  # the case is not empty


def test_casefold_reads_every_lease_and_finds_the_other_spelling(store, clock):
    rnd = random.Random(7)
    fill(store, rnd, 200)
    with store.write() as now:
        rules.insert_lease(store, "carol", "SRC/A/Upper.PY", EXCLUSIVE, "", now, now + MINUTE)
    paths = sorted({random_path(rnd, n) for n in range(2_100)} | {"src/a/upper.py"})
    rows = rows_for(store.leases, clock.now, paths, casefold=True)
    found = covering(rows, paths, casefold=True)
    assert found == judge(store, clock.now, paths, casefold=True)
    assert any(row[2] == "SRC/A/Upper.PY" for row in rows)
    assert not any(row[2] == "SRC/A/Upper.PY" for row in keyed_rows(store.leases, clock.now, paths))  # exact keys


def test_root_globs_are_found_by_the_empty_prefix(store, clock):
    roots = ["*.cfg", "**", "?", "[ab]*", "\\*x"]
    with store.write() as now:
        for pattern in roots:
            rules.insert_lease(store, "alice", pattern, SHARED, "", now, now + MINUTE)
        rules.insert_lease(store, "alice", "far/away/*.cfg", SHARED, "", now, now + MINUTE)
    paths = [f"deep/d{n}/f{n}.py" for n in range(2_000)] + ["top.cfg", "b", "*x"]
    rows = keyed_rows(store.leases, clock.now, paths)
    assert sorted(row[2] for row in rows) == sorted(roots)
    assert covering(rows, paths) == judge(store, clock.now, paths)


def test_one_hundred_thousand_paths_in_one_lookup(store, clock):
    with store.write() as now:
        for pattern in ("gen/d7/f70007.py", "gen/d3/", "gen/*.md", "other/x"):
            rules.insert_lease(store, "alice", pattern, EXCLUSIVE, "", now, now + MINUTE)
    paths = [f"gen/d{n % 10}/f{n}.py" for n in range(100_000)]
    rows = keyed_rows(store.leases, clock.now, paths)
    assert sorted(row[2] for row in rows) == ["gen/*.md", "gen/d3/", "gen/d7/f70007.py"]


def test_fewer_leases_than_paths_are_read_in_full_and_more_by_key(store, clock, monkeypatch):
    """The cheaper read for the size: every open lease when the store counts few of them for the
    paths changed (one a FULL_READ_RATIO paths or fewer; where it can count them: SQLite keeps the
    count), else the keyed lookup; both give the leases that cover the paths."""
    with store.write() as now:
        for n in range(30):
            rules.insert_lease(store, "alice", f"src/f{n}.py", EXCLUSIVE, "", now, now + MINUTE)
        rules.insert_lease(store, "alice", "far/*.md", EXCLUSIVE, "", now, now + MINUTE)
    reads: list[str] = []
    for name in ("checked_rows", "active_rows_near"):
        original = getattr(store.leases, name)
        monkeypatch.setattr(store.leases, name, lambda *a, _o=original, _n=name, **k: reads.append(_n) or _o(*a, **k))
    many = [f"src/f{n}.py" for n in range(0, 60, 2)] + ["far/x.md"] + [f"new/n{n}.py" for n in range(31 * FULL_READ_RATIO)]
    few = ["src/f4.py", "far/y.md"]
    covered_many = {row[2] for row in rows_for(store.leases, clock.now, many)}
    covered_few = {row[2] for row in rows_for(store.leases, clock.now, few)}
    counted = store.leases.open_count()
    assert counted in (None, 31)
    assert reads == (["checked_rows", "active_rows_near"] if counted is not None
                     else ["active_rows_near", "active_rows_near"])
    assert {p for p in covered_many if any(covers(p, path) for path in many)} == {
        f"src/f{n}.py" for n in range(0, 30, 2)} | {"far/*.md"}
    assert covered_few == {"src/f4.py", "far/*.md"}


def test_the_leases_are_read_whole_while_git_still_runs(store, clock, tmp_path, monkeypatch):
    """While the hook's git command still runs (here a real git running a slow alias) and at most
    EARLY_READ_MAX leases are open and git's index has FULL_READ_RATIO entries a lease, every active
    lease is read (checked), so nothing waits twice; once git has answered, with more open leases,
    a smaller index, or where the store cannot count them, not."""
    from maf_hooks.git.command import Background, Later

    with store.write() as now:
        for n in range(5):
            rules.insert_lease(store, "alice", f"src/f{n}.py", EXCLUSIVE, "", now, now + MINUTE)
        rules.insert_lease(store, "bob", "docs/**", SHARED, "", now, now + MINUTE)

    def slow() -> Later:
        return Later(lambda: None, Background(["-c", "alias.slow=!sleep 2", "slow"], str(tmp_path), drain=True))

    waiting = slow()
    assert read_while_waiting(store.leases, clock.now, waiting, 6 * FULL_READ_RATIO - 1) is None  # a small index
    assert read_while_waiting(store.leases, clock.now, waiting, None) is None  # no index read
    rows = read_while_waiting(store.leases, clock.now, waiting, 6 * FULL_READ_RATIO)
    waiting.cancel()
    assert not waiting.running()
    if store.leases.open_count() is None:  # PostgreSQL: no kept count, the keyed lookup after git
        assert rows is None
        return
    assert rows is not None and sorted(row[2] for row in rows) == ["docs/**", *(f"src/f{n}.py" for n in range(5))]
    assert read_while_waiting(store.leases, clock.now, waiting, 10**6) is None  # git answered: look up by key
    monkeypatch.setattr(lookup, "EARLY_READ_MAX", 5)
    waiting = slow()
    assert read_while_waiting(store.leases, clock.now, waiting, 10**6) is None  # 6 open: more than the bound
    waiting.cancel()


def test_the_hook_builds_its_index_while_git_still_names_the_paths(tmp_path, monkeypatch):
    """The commit hook: with the leases read while a (here slowed) `git diff` still runs, the index
    of the other agents' leases is built before git answers, and judges exactly as after: the
    committer's own lease never counts, another's exclusive lease refuses, a shared one notes."""
    import os
    import subprocess

    from maf_hooks.core import decision
    from maf_hooks.git.command import Background, Later
    from maf_hooks.services import gate

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    names = ["held/a.txt", "mine.txt", "common/c.txt", *(f"free/{n}.txt" for n in range(20))]
    for name in names:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("x\n")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    (repo / ".git" / "maf").mkdir()
    store = open_file(str(repo / ".git" / "maf" / "runtime.db"), Clock())
    with store.write() as now:
        rules.insert_lease(store, "alice", "held/", EXCLUSIVE, "", now, now + MINUTE)
        rules.insert_lease(store, "bob", "mine.txt", EXCLUSIVE, "", now, now + MINUTE)
        rules.insert_lease(store, "carol", "common/**", SHARED, "", now, now + MINUTE)
    store.close()
    made, jobs = [], []
    real_changed, real_index = gate.changed_paths_later, decision.others_index

    def slow_changed(*args):
        later = real_changed(*args)
        jobs.append(Background(["-c", "alias.slow=!sleep 1", "slow"], str(repo), drain=True))
        return Later(lambda: (jobs[-1].result(), later())[1], jobs[-1])

    def others_index(rows, agent, **kwargs):
        made.append((agent, jobs[-1].running()))
        return real_index(rows, agent, **kwargs)

    monkeypatch.setattr(gate, "changed_paths_later", slow_changed)
    monkeypatch.setattr(decision, "others_index", others_index)
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "GIT_CONFIG_NOSYSTEM": "1",
               "MAF_AGENT_ID": "bob"}
    settings, found = gate.evaluate("commit", environ, None, cwd=str(repo), clock=lambda: now + 1)
    settings["store"].close()
    assert made == [("bob", True)]  # once, before git answered (the diff held for a second)
    assert found is not None
    assert [(path, lease.agent) for path, lease in found.conflicts] == [("held/a.txt", "alice")]
    assert [(path, lease.agent) for path, lease in found.shared] == [("common/c.txt", "carol")]


def test_check_uses_the_keyed_lookup(store, clock, tmp_path, monkeypatch):
    rnd = random.Random(11)
    fill(store, rnd, 200)
    paths = sorted({random_path(rnd, n) for n in range(300)})[:100]  # fewer paths than leases: by key
    expected = judge(store, clock.now, paths)

    def every_lease(*args, **kwargs):
        raise AssertionError("check read every active lease")

    monkeypatch.setattr(store.leases, "active_rows", every_lease)
    reports = leasing.check(store, str(tmp_path), paths, "nobody", clock.now)
    assert {report.path: {lease.id for lease, _ in report.entries} for report in reports} == expected


# --- SQLite: ended leases out of the index, damage still found at large sizes -------------------


def test_the_pattern_lookup_reads_an_index_of_open_leases_only(tmp_path):
    clock = Clock()
    store = open_file(str(tmp_path / "runtime.db"), clock)
    try:
        with store.write() as now:
            for n in range(50):
                lease = rules.insert_lease(store, "alice", f"src/f{n}.py", EXCLUSIVE, "", now, now + MINUTE)
                if n % 2:
                    lease.end("released", now)
                    store.leases.end(lease)
        conn = store.leases.db.conn
        indexes = {name: sql for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'file_leases' AND sql IS NOT NULL")}
        on_pattern = [name for name, sql in indexes.items() if "(pattern)" in sql]
        assert on_pattern == ["idx_file_leases_open_pattern"]
        assert indexes["idx_file_leases_open_pattern"].endswith("WHERE ended_at IS NULL")
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        paths = [f"src/f{n}.py" for n in range(2_000)]
        rows = keyed_rows(store.leases, clock.now, paths)
        conn.set_trace_callback(None)
        assert sorted(row[2] for row in rows) == sorted(f"src/f{n}.py" for n in range(0, 50, 2))
        lookup = next(sql for sql in statements if "json_each" in sql and "file_leases" in sql)
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + lookup))
        assert "idx_file_leases_open_pattern" in plan and "idx_file_leases_open_prefix" in plan
        assert "SCAN f" not in plan
    finally:
        store.close()


def test_migration_14_replaces_the_index_of_every_lease(tmp_path):
    db = tmp_path / "runtime.db"
    open_file(str(db), Clock()).close()
    conn = sqlite3.connect(db)
    try:  # back to version 13: the pattern index of every lease (and nothing of migrations 15 and 16)
        conn.execute("DROP INDEX idx_file_leases_open_pattern")
        conn.execute("CREATE INDEX idx_file_leases_pattern ON file_leases(pattern)")
        conn.execute("DROP TABLE audit_checkpoint")
        for name in ("update", "delete", "insert"):
            conn.execute(f"DROP TRIGGER audit_checkpoint_event_{name}")
        conn.execute("DROP INDEX idx_file_leases_open_head")
        conn.execute("DROP INDEX idx_file_leases_open_globs")
        conn.execute("DELETE FROM schema_migrations WHERE version >= 14")
        conn.execute("PRAGMA user_version = 13")
        conn.commit()
    finally:
        conn.close()
    open_file(str(db), Clock()).close()
    conn = sqlite3.connect(db)
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "idx_file_leases_open_pattern" in names and "idx_file_leases_pattern" not in names
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


@pytest.fixture(scope="module")
def large_database(tmp_path_factory):
    """2,000 open leases (exact paths and globs) and LEASED, checkpointed into the file alone."""
    path = tmp_path_factory.mktemp("large") / "runtime.db"
    clock = Clock()
    store = open_file(str(path), clock)
    try:
        with store.write() as now:
            for n in range(1_000):
                rules.insert_lease(store, "alice", f"src/m{n}.py", EXCLUSIVE, "", now, now + 600 * MINUTE)
                rules.insert_lease(store, "alice", f"lib/g{n}/*.py", EXCLUSIVE, "", now, now + 600 * MINUTE)
            rules.insert_lease(store, "alice", LEASED, EXCLUSIVE, "", now, now + 600 * MINUTE)
        store.leases.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return path, path.read_bytes(), clock.now


def test_damage_is_still_found_at_large_sizes(large_database, tmp_path):
    """Each stored copy of the leased path damaged in turn, a commit of 3,000 paths: the lease is
    found, or the database is refused as damaged; never a silent miss."""
    source, prepared, now = large_database
    paths = [LEASED] + [f"src/m{n}.py" for n in range(0, 1_000, 2)] + [f"gen/{n}/x.py" for n in range(2_500)]
    offsets = occurrences(prepared, LEASED)
    assert len(offsets) >= 3  # the row, its index entry, the count of its key
    outcomes = set()
    for offset in offsets:
        db = tmp_path / f"copy{offset}.db"
        db.write_bytes(damaged(prepared, offset, LEASED))
        store = None
        try:
            store = open_file(str(db), lambda: now + 1)
            rows = rows_for(store.leases, now + 1, paths)
        except StorageError as exc:
            assert "damaged" in str(exc) or "malformed" in str(exc) or "database" in str(exc), exc
            outcomes.add("refused")
        else:
            assert LEASED in {row[2] for row in rows}, offset
            outcomes.add("found")
        finally:
            if store is not None:
                store.close()
    assert outcomes  # every copy was tried
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_count_claiming_a_missing_lease_refuses_a_large_commit(large_database, tmp_path):
    source, prepared, now = large_database
    db = tmp_path / "runtime.db"
    db.write_bytes(prepared)
    conn = sqlite3.connect(db)
    try:
        conn.execute("UPDATE lease_key_counts SET n = n + 1 WHERE kind = 'g' AND key = 'lib/g5/'")
        conn.commit()
    finally:
        conn.close()
    store = open_file(str(db), lambda: now + 1)
    try:
        with pytest.raises(StorageError, match="damaged"):
            rows_for(store.leases, now + 1, [f"lib/g{n}/x.py" for n in range(2_000)])
    finally:
        store.close()
