"""The lease store's candidate search never misses an overlapping lease (against brute force)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maf_hooks import patterns
from maf_hooks.core import leases as rules
from maf_hooks.core.model import EXCLUSIVE
from maf_hooks.core.reading import PLAIN, Reading
from maf_hooks.store.sqlite import connection as db
from maf_hooks.store.sqlite import open_file
from maf_hooks.timeutil import now_ms

POOL = [
    "a", "a/", "a/b", "a/b/", "a/b.txt", "a/b/c.py", "a/*.py", "a/b/*", "a/**", "a/**/*.md", "*.md", "*.py",
    "README.md", "**", "**/x.py", "**/b", "a.d", "a.d/", "a.d/x", "b/a/c.txt", "b/*/c.txt", "b/[ab]/c.txt",
    "c", "c/d/e/f.txt", "c/d", "c/*/e/*", "?", "?/b", "x.py", "a/b/x.py", "b", "b/",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(held=st.lists(st.sampled_from(POOL), min_size=1, max_size=12, unique=True),
       asked=st.lists(st.sampled_from(POOL), min_size=1, max_size=6, unique=True))
def test_conflicts_for_matches_brute_force(tmp_path_factory, held, asked):
    store = open_file(str(tmp_path_factory.mktemp("db") / "x.db"), now_ms)
    with store.write() as now:
        for pattern in held:
            rules.insert_lease(store, "holder", pattern, EXCLUSIVE, "", now, now + 600_000)
    active = store.leases.active(now)
    for pattern in asked:
        found = {c.lease.id for c in rules.conflicts_for(store, "asker", pattern, EXCLUSIVE, now)}
        expected = {lease.id for lease in active if patterns.overlaps(pattern, lease.pattern)}
        assert found == expected, (pattern, held)
    store.close()


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
    assert [lease["agent"] for lease in checked["paths"][0]["leases"]] == ["alice"]  # the gate is exact
    assert cli(repo, "lease", "check", "x.py", "--agent", "carol").code == 1


def _old_lease(conn, pattern, regex):
    """An open lease written as a maf-hooks of schema version 6 to 11 wrote it (the code of today
    writes columns an old schema lacks)."""
    now = now_ms()
    with conn:
        conn.execute("INSERT INTO tasks (id, state, payload_json, created_at, updated_at, attempts) "
                     "VALUES ('lease-old', 'LEASED', '{}', ?, ?, 1)", (now, now))
        conn.execute("INSERT INTO leases (task_id, agent_id, lease_expires_at, attempt) VALUES ('lease-old', 'alice', ?, 1)",
                     (now + 60_000,))
        conn.execute("INSERT INTO file_leases (task_id, pattern, mode, reason, regex, prefix, created_at, expires_at) "
                     "VALUES ('lease-old', ?, 'exclusive', '', ?, 'docs/', ?, ?)", (pattern, regex, now, now + 60_000))


def test_migration_7_no_longer_touches_the_regex_column(tmp_path):
    from maf_hooks.store.sqlite import migrations

    path = str(tmp_path / "old.db")
    conn = db.connect(path, migrate=False)
    migrations.upgrade(conn, migrations.MIGRATIONS[:6])
    conn.close()
    conn = db.connect(path, migrate=False)
    _old_lease(conn, "docs/x.txt", "^old$")
    migrations.upgrade(conn, migrations.MIGRATIONS[:7])
    assert migrations.current_version(conn) == 7
    assert conn.execute("SELECT regex FROM file_leases").fetchone()[0] == "^old$"
    conn.close()


def _store(tmp_path, name="x.db"):
    return open_file(str(tmp_path / name), now_ms)


def _acquire(store, agent, wanted, reading=PLAIN):
    return rules.acquire(store, agent, wanted, 60_000, reading=reading)


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
    store = _store(tmp_path)
    assert _acquire(store, "alice", [held]).granted
    refused = _acquire(store, "bob", [asked])
    assert not refused.granted and [c.lease.pattern for c in refused.conflicts] == [held]
    reverse = _store(tmp_path, "y.db")
    assert _acquire(reverse, "alice", [asked]).granted
    assert not _acquire(reverse, "bob", [held]).granted
    store.close()
    reverse.close()


def test_existing_directory_makes_a_file_like_glob_reach_beneath(tmp_path):
    existing = {"src", "src/conf.d"}

    def directories(prefix: str) -> list:
        return [d for d in existing if d.startswith(prefix)]

    store = _store(tmp_path)
    assert _acquire(store, "alice", ["src/*.d"]).granted
    assert _acquire(store, "bob", ["src/**/y"]).granted  # no src/X.d/ known: a file
    assert not _acquire(store, "carol", ["src/**/z"], Reading(directories=directories)).granted
    store.close()


def test_casefold_treats_case_variants_as_one_file(tmp_path):
    store = _store(tmp_path)
    folded = Reading(casefold=True)
    assert _acquire(store, "alice", ["Src/A.py"], folded).granted
    assert not _acquire(store, "bob", ["src/a.py"], folded).granted
    assert _acquire(store, "bob", ["src/a.py"]).granted  # a case-sensitive repository
    covering = rules.check(store, ["SRC/a.PY"], store.now(), folded)["SRC/a.PY"]
    assert sorted(lease.pattern for lease in covering) == ["Src/A.py", "src/a.py"]  # same ms: any order
    store.close()


def test_migration_9_empties_the_stored_regex_text(tmp_path):
    from maf_hooks.store.sqlite import migrations

    path = str(tmp_path / "old.db")
    conn = db.connect(path, migrate=False)
    migrations.upgrade(conn, migrations.MIGRATIONS[:8])
    conn.close()
    conn = db.connect(path, migrate=False)
    _old_lease(conn, "docs/*.txt", "^docs/[^/]*\\.txt$")
    conn.close()
    store = open_file(path, now_ms)  # migrates
    assert store.schema().version >= 9
    assert store.db.all("SELECT regex FROM file_leases") == [("",)]
    assert [held.pattern for held in store.leases.active(store.now())] == ["docs/*.txt"]  # still a lease
    store.close()


_SEGMENTS = ["a", "b", "*", "?", "[ab]", "**", "a*", "*b", "[!a]*", "a?b"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_SEGMENTS), min_size=1, max_size=3).map("/".join), min_size=1, max_size=8),
       st.lists(st.lists(st.sampled_from(["a", "b", "ab", "ba", "aab", "x"]), min_size=1, max_size=4).map("/".join),
                min_size=1, max_size=10),
       st.booleans())
def test_index_with_many_globs_in_one_bucket_covers_as_each_would(globs, paths, casefold):
    """A bucket of several globs is first tested as one alternation: the items found are exactly
    those whose own pattern covers the path."""
    index = LeaseIndex(((pattern, number) for number, pattern in enumerate(globs)), casefold=casefold)
    for path in paths:
        expected = {number for number, pattern in enumerate(globs) if patterns.covers(pattern, path, casefold)}
        assert set(index.covering(path)) == expected, (globs, path)


# --- the index in bulk: covered(paths) is covering(path) for every path -------------------------

_BULK_SEGMENTS = ["a", "b", "ab", "*", "a*", "*b", "?", "[ab]", "**", "x.py", "*.py", "\\*", "a\nb", "."]
_BULK_NAMES = ["a", "b", "ab", "x.py", "b.py", "*", "a\nb", "ab.py", "é", "a.py.b"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_BULK_SEGMENTS), min_size=1, max_size=3).map("/".join), min_size=1,
                max_size=10),
       st.lists(st.lists(st.sampled_from(_BULK_NAMES), min_size=1, max_size=4).map("/".join), max_size=60),
       st.booleans())
def test_covered_in_bulk_is_covering_of_every_path(raw_patterns, paths, casefold):
    """Literal leases and what lies beneath them, glob buckets at the root and under a prefix
    (ranges large enough to be searched for their literal text), paths with a newline or
    repeated: the bulk answer is exactly the per-path answer, in sorted order."""
    leases = [(pattern, number) for number, pattern in enumerate(raw_patterns)]  # even a newline in one
    paths = paths + paths[:3] + [f"a/b/n{n}.py" for n in range(40)] + [f"ab/x{n}" for n in range(40)] * 2
    index = LeaseIndex(leases, casefold=casefold)
    expected = [(path, index.covering(path)) for path in sorted(set(paths))]
    assert index.covered(paths) == [(path, found) for path, found in expected if found]


def test_covered_finds_root_and_prefixed_globs_by_their_literal_text():
    index = LeaseIndex([("*.cfg", "cfg"), ("**/*.min.js", "min"), ("src/d1/*.py", "py"), ("src/d2/", "d2"),
                        ("src/d3/f7.py", "f7"), ("src/d4", "d4")])
    paths = [f"src/d{d}/f{n}.py" for d in range(6) for n in range(50)] + ["top.cfg", "web/app.min.js/x", "a.cfgx"]
    found = dict(index.covered(paths))
    assert found["top.cfg"] == ["cfg"] and found["web/app.min.js/x"] == ["min"] and "a.cfgx" not in found
    assert {path for path, items in found.items() if items == ["py"]} == {f"src/d1/f{n}.py" for n in range(50)}
    assert sorted(path for path, items in found.items() if items == ["d2"]) == sorted(
        f"src/d2/f{n}.py" for n in range(50))
    assert found["src/d3/f7.py"] == ["f7"] and len([p for p in found if p.startswith("src/d4/")]) == 50
    assert len(found) == 50 + 50 + 1 + 50 + 2


def test_longest_literal_is_a_run_every_covered_path_holds():
    from maf_hooks.patterns.syntax import longest_literal

    assert longest_literal("src/*.min.js") == ".min.js"
    assert longest_literal("src/d5/*.py", 2) == ".py"
    assert longest_literal("*/b") == "/b"
    assert longest_literal("a/**/b") in ("a", "b")  # '**' may be no component: no '/' is required
    assert longest_literal("a\\*b/c?") == "a*b/c"
    assert longest_literal("[ab]*") == longest_literal("docs/**", 1) == ""
