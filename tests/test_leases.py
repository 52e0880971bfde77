"""The lease store's candidate search never misses an overlapping lease (against brute force)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maf_hooks import patterns
from maf_hooks.core import leases as rules
from maf_hooks.core.model import EXCLUSIVE
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


# --- matching agrees with overlap: the hook enforces exactly what acquire checked --------------

import re  # noqa: E402

from maf_hooks.matcher import LeaseIndex  # noqa: E402

PATHS = ["a", "a/b", "a/b.txt", "a/b.txt/x", "a/b/c.py", "a/x.py", "lib.py", "lib.py/x", "README.md",
         "README.md/x", "docs/x.md", "x.py", "x.py/y.py", "a.d/x", "b/a/c.txt", "c/d/e/f.txt", "q/b"]


def test_lease_regex_agrees_with_the_overlap_reading():
    for pattern in POOL:
        regex = re.compile(patterns.lease_regex(pattern).replace("(?P<ps_d>", "(?:"))
        reading = patterns.is_file_like(pattern)
        for path in PATHS:
            assert (regex.match(path) is not None) is patterns._accepts(pattern, path, reading), (pattern, path)


def test_index_covers_as_the_lease_regex_says():
    leases = [(p, patterns.lease_regex(p), patterns.literal_prefix(p), p) for p in POOL]
    index = LeaseIndex(leases)
    for path in PATHS:
        expected = {p for p, regex, _, _ in leases if re.match(regex.replace("(?P<ps_d>", "(?:"), path)}
        assert set(index.covering(path)) == expected, path


def test_file_like_lease_does_not_reach_beneath(repo, cli):
    assert cli(repo, "lease", "acquire", "*.py", "--agent", "alice").code == 0
    assert cli(repo, "lease", "acquire", "lib.py/x", "--agent", "carol").code == 0  # no overlap
    checked = cli(repo, "lease", "check", "lib.py/x", "--agent", "bob", "--json").json
    assert [l["agent"] for l in checked["paths"][0]["leases"]] == ["carol"]
    assert cli(repo, "lease", "check", "lib.py/x", "--agent", "carol").code == 0
    assert cli(repo, "lease", "check", "x.py", "--agent", "carol").code == 1


def test_migration_7_rewrites_old_file_like_regexes(tmp_path):
    from maf_hooks.store.sqlite import migrations

    path = str(tmp_path / "old.db")
    conn = db.connect(path, migrate=False)
    migrations.upgrade(conn, migrations.MIGRATIONS[:6])
    conn.close()
    store = open_file(path, now_ms, migrate=False)
    with store.write() as now:
        lease = rules.insert_lease(store, "alice", "docs/x.txt", EXCLUSIVE, "", now, now + 60_000)
        store.db.execute("UPDATE file_leases SET regex = ? WHERE task_id = ?",
                         (patterns.compile_regex("docs/x.txt"), lease.id))
    store.close()
    conn = db.connect(path)
    assert conn.execute("SELECT regex FROM file_leases").fetchone()[0] == patterns.lease_regex("docs/x.txt")
    assert patterns.lease_regex("docs/x.txt").endswith("\\.txt$")
    conn.close()
