"""The lease store's candidate search never misses an overlapping lease (against brute force)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maf_hooks import patterns
from maf_hooks.leases import EXCLUSIVE, LeaseBook
from maf_hooks.store import db
from maf_hooks.store.db import immediate

POOL = [
    "a", "a/", "a/b", "a/b/", "a/b.txt", "a/b/c.py", "a/*.py", "a/b/*", "a/**", "a/**/*.md", "*.md", "*.py",
    "README.md", "**", "**/x.py", "**/b", "a.d", "a.d/", "a.d/x", "b/a/c.txt", "b/*/c.txt", "b/[ab]/c.txt",
    "c", "c/d/e/f.txt", "c/d", "c/*/e/*", "?", "?/b", "x.py", "a/b/x.py", "b", "b/",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(held=st.lists(st.sampled_from(POOL), min_size=1, max_size=12, unique=True),
       asked=st.lists(st.sampled_from(POOL), min_size=1, max_size=6, unique=True))
def test_conflicts_for_matches_brute_force(tmp_path_factory, held, asked):
    conn = db.connect(str(tmp_path_factory.mktemp("db") / "x.db"))
    book = LeaseBook(conn)
    with immediate(conn):
        now = book.clock()
        for pattern in held:
            book._insert("holder", pattern, EXCLUSIVE, "", now, now + 600_000)
    active = book.active(now)
    for pattern in asked:
        found = {c.lease.id for c in book.conflicts_for("asker", pattern, EXCLUSIVE, now)}
        expected = {lease.id for lease in active if patterns.overlaps(pattern, lease.pattern)}
        assert found == expected, (pattern, held)
    conn.close()


# --- the gate: a lease covers a path when its pattern matches the path or a parent ------------

from maf_hooks.patterns.index import LeaseIndex  # noqa: E402

PATHS = ["a", "a/b", "a/b.txt", "a/b.txt/x", "a/b/c.py", "a/x.py", "lib.py", "lib.py/x", "README.md",
         "README.md/x", "docs/x.md", "x.py", "x.py/y.py", "a.d/x", "b/a/c.txt", "c/d/e/f.txt", "q/b"]


def _gate(pattern: str, path: str) -> bool:
    parts = path.split("/")
    return any(patterns.matches(pattern, "/".join(parts[:count])) for count in range(1, len(parts) + 1))


def test_covers_is_a_match_of_the_path_or_a_parent():
    for pattern in POOL:
        for path in PATHS:
            assert patterns.covers(pattern, path) is _gate(pattern, path), (pattern, path)


def test_index_covers_as_the_gate_rule_says():
    index = LeaseIndex((p, p) for p in POOL)
    for path in PATHS:
        assert set(index.covering(path)) == {p for p in POOL if _gate(p, path)}, path


def test_index_with_casefold_folds_keys_and_globs():
    index = LeaseIndex([("Src/A.py", 1), ("DOCS/", 2), ("lib/*.PY", 3), ("x\\*Y", 4)], casefold=True)
    assert index.covering("src/a.py") == [1]
    assert index.covering("docs/x") == [2]
    assert index.covering("LIB/q.py") == [3]
    assert index.covering("X*y/z") == [4]
    assert LeaseIndex([("Src/A.py", 1)]).covering("src/a.py") == []


def test_file_like_lease_meets_a_lease_naming_its_match_as_a_directory(repo, cli):
    assert cli(repo, "lease", "acquire", "*.py", "--agent", "alice").code == 0
    assert cli(repo, "lease", "acquire", "lib.py/x", "--agent", "carol").code == 1  # names lib.py a directory
    assert cli(repo, "lease", "acquire", "lib/x.py", "--agent", "carol").code == 0  # anchored: no overlap
    checked = cli(repo, "lease", "check", "lib.py/x", "--agent", "bob", "--json").json
    assert [l["agent"] for l in checked["paths"][0]["leases"]] == ["alice"]  # the gate is exact
    assert cli(repo, "lease", "check", "x.py", "--agent", "carol").code == 1


def test_migration_7_no_longer_touches_the_regex_column(tmp_path):
    from maf_hooks.store import migrations

    path = str(tmp_path / "old.db")
    conn = db.connect(path, migrate=False)
    migrations.upgrade(conn, migrations.MIGRATIONS[:6])
    book = LeaseBook(conn)
    with immediate(conn):
        lease = book._insert("alice", "docs/x.txt", EXCLUSIVE, "", book.clock(), book.clock() + 60_000)
        conn.execute("UPDATE file_leases SET regex = ? WHERE task_id = ?", ("^old$", lease.id))
    conn.close()
    conn = db.connect(path)
    assert migrations.current_version(conn) >= 7
    assert conn.execute("SELECT regex FROM file_leases").fetchone()[0] == "^old$"
    conn.close()


def test_new_leases_store_no_regex(tmp_path):
    conn = db.connect(str(tmp_path / "x.db"))
    book = LeaseBook(conn)
    result = book.acquire("alice", ["docs/**/*.md", "src/a.py"], 60_000)
    assert [lease.regex for lease in result.granted] == ["", ""]
    assert {row[0] for row in conn.execute("SELECT regex FROM file_leases")} == {""}
    conn.close()


# --- the false negatives of the old reading: never granted to two agents -----------------------


@pytest.mark.parametrize(
    "held, asked",
    [
        ("[[:digit:]]", "5"),  # once read as the set '[:digt' followed by ']'
        ("[[:digit:]]", "[0-9]"),
        ("[\\-_]", "-"),  # a backslash inside brackets escapes
        ("[\\]]", "]"),
        ("a/***/b", "a/x/y/b"),  # three stars are '**'
        ("a/***/b", "a/b"),
        ("src/*.d", "src/conf.d/y"),  # names src/conf.d a directory
        ("build.d", "build.d/x"),
    ],
)
def test_old_false_negatives_cannot_be_granted_twice(tmp_path, held, asked):
    conn = db.connect(str(tmp_path / "x.db"))
    book = LeaseBook(conn)
    assert book.acquire("alice", [held], 60_000).granted
    refused = book.acquire("bob", [asked], 60_000)
    assert not refused.granted and [c.lease.pattern for c in refused.conflicts] == [held]
    reverse = LeaseBook(db.connect(str(tmp_path / "y.db")))
    assert reverse.acquire("alice", [asked], 60_000).granted
    assert not reverse.acquire("bob", [held], 60_000).granted
    conn.close()


def test_existing_directory_makes_a_file_like_glob_reach_beneath(tmp_path):
    existing = {"src", "src/conf.d"}

    def directories(prefix: str) -> list:
        return [d for d in existing if d.startswith(prefix)]

    conn = db.connect(str(tmp_path / "x.db"))
    assert LeaseBook(conn).acquire("alice", ["src/*.d"], 60_000).granted
    assert LeaseBook(conn).acquire("bob", ["src/**/y"], 60_000).granted  # no src/X.d/ known: a file
    assert not LeaseBook(conn, directories=directories).acquire("carol", ["src/**/z"], 60_000).granted
    conn.close()


def test_casefold_book_treats_case_variants_as_one_file(tmp_path):
    conn = db.connect(str(tmp_path / "x.db"))
    assert LeaseBook(conn, casefold=True).acquire("alice", ["Src/A.py"], 60_000).granted
    assert not LeaseBook(conn, casefold=True).acquire("bob", ["src/a.py"], 60_000).granted
    assert LeaseBook(conn).acquire("bob", ["src/a.py"], 60_000).granted  # a case-sensitive repository
    covering = LeaseBook(conn, casefold=True).check(["SRC/a.PY"])["SRC/a.PY"]
    assert sorted(lease.pattern for lease in covering) == ["Src/A.py", "src/a.py"]  # same ms: any order
    conn.close()
