"""Overlap candidates (``core.candidates``) on every backend: read through the store's indexes and
a cheap textual test, they never miss a lease that the exact rule finds in a scan of every lease."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maf_hooks import patterns
from maf_hooks.core import leases as rules
from maf_hooks.core.candidates import compatible, ends, may_meet
from maf_hooks.core.model import EXCLUSIVE
from maf_hooks.core.reading import PLAIN, Reading
from maf_hooks.errors import UsageError

MINUTE = 60_000

# names and globs that meet and miss each other in every way the textual test reads
PIECES = ["a", "b", "ab", "a.py", "b.py", "x.cfg", "cfg", "a.d", "*", "**", "*.cfg", "*.py", "a*", "*b",
          "a*b", "?", "?.py", "[ab]", "[!a]*", "[a-c].d", "\\*", "a\\*", "c*.toml", "*.cfg1", "*[/]x"]
RAW = st.builds(
    lambda pieces, slash: "/".join(pieces) + ("/" if slash else ""),
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=3), st.booleans())
KNOWN_DIRECTORIES = ["a", "a.d", "a/a.d", "x.cfg", "b/a.py"]


def _normal(raw: str, root: str) -> str | None:
    try:
        return patterns.normalize(raw, root)
    except UsageError:
        return None


def _directories(prefix: str) -> list[str]:
    return [d for d in KNOWN_DIRECTORIES if d.startswith(prefix)]


def _agree(store, now, asked: str, reading: Reading) -> None:
    found = {lease.id for lease in rules.candidates(store, asked, now, reading)}
    for lease in store.leases.active(now):
        if reading.overlaps(asked, lease.pattern):
            assert lease.id in found, (asked, lease.pattern)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(held=st.lists(RAW, min_size=1, max_size=12), asked=st.lists(RAW, min_size=1, max_size=6),
       known=st.booleans())
def test_candidates_never_miss_what_a_full_scan_finds(store, clock, tmp_path, held, asked, known):
    root = str(tmp_path)
    held_patterns = [p for p in dict.fromkeys(_normal(raw, root) for raw in held) if p]
    with store.write() as now:
        for pattern in held_patterns:
            rules.insert_lease(store, "holder", pattern, EXCLUSIVE, "", now, now + MINUTE)
    reading = Reading(directories=_directories) if known else PLAIN
    try:
        for raw in asked:
            pattern = _normal(raw, root)
            if pattern:
                _agree(store, clock.now, pattern, reading)
    finally:
        if held_patterns:
            rules.release(store, "holder", everything=True)


def test_root_globs_and_siblings(store, clock):
    held = [f"dir{d}/f{k}.py" for d in range(5) for k in range(20)]
    held += ["*.cfg1", "*.cfg", "x.cfg", "x.cfg/y", "c*.toml", "**/z.md", "dir1/s/*.py", "dir1", "a.cfg/"]
    with store.write() as now:
        for pattern in held:
            rules.insert_lease(store, "holder", pattern, EXCLUSIVE, "", now, now + MINUTE)
    def found(asked: str) -> set[str]:
        return {lease.pattern for lease in rules.candidates(store, asked, clock.now)}

    # a root glob: the root globs it may meet and the leases of the heads it matches, not the
    # directories' files
    assert found("*.cfg") == {"*.cfg", "x.cfg", "x.cfg/y", "**/z.md", "a.cfg/"}
    # a new file beside twenty: not its siblings, only what may hold it
    assert found("dir1/new.py") == {"dir1/s/*.py", "dir1", "**/z.md"} - {"dir1/s/*.py"}
    assert found("dir2/f3.py") == {"dir2/f3.py", "**/z.md"}
    assert found("dir1/s/q.py") == {"dir1/s/*.py", "dir1", "**/z.md"}
    assert found("c.toml") == {"c*.toml", "**/z.md"}
    for asked in ["*.cfg", "dir1/new.py", "dir1/**", "*", "d*/f1*", "**/f1.py", "x.cfg", "?.toml"]:
        _agree(store, clock.now, asked, PLAIN)


def test_the_store_reads_heads_and_root_globs(store, clock):
    with store.write() as now:
        for pattern in ["src/a.py", "src/b/*.py", "*.cfg", "README", "**/x", "docs/", "z*", "a\\*/b"]:
            rules.insert_lease(store, "holder", pattern, EXCLUSIVE, "", now, now + MINUTE)
    assert sorted(store.leases.root_globs()) == ["**/x", "*.cfg", "z*"]
    assert store.leases.heads() == ["**/x", "*.cfg", "README", "a*", "docs", "src", "z*"]
    assert store.leases.heads("s", "t") == ["src"]
    assert store.leases.heads("a") == ["a*", "docs", "src", "z*"]
    assert {lease.pattern for lease in store.leases.headed(clock.now, ["src", "a*"])} == {
        "src/a.py", "src/b/*.py", "a\\*/b"}
    around = store.leases.around(clock.now, globs_at=["src/", "src/b/"], names=["README"], under="a*/")
    assert {lease.pattern for lease in around} == {"src/b/*.py", "README", "a\\*/b"}
    assert [lease.pattern for lease in store.leases.around(clock.now, prefixes=["src/"])] == ["src/a.py"]
    clock.advance(MINUTE)  # expired: no longer a lease, though its head is still read until it is ended
    assert store.leases.headed(clock.now, ["src"]) == []


def test_the_textual_test():
    assert ends("**") is None and ends("") is None
    assert ends("a.py") == ("a.py", "a.py")
    assert ends("a*b.py") == ("a", "b.py")
    assert ends("a[!") == ("a", "")  # cut at a '/' inside a bracket: its end is unknown
    assert ends("a\\.b") == ("a", ".b")
    assert not compatible(ends("*.cfg"), ends("*.cfg1"))
    assert compatible(ends("*.cfg"), ends("a*g")) and not compatible(ends("*.cfg"), ends("dir1"))
    assert not may_meet("src/*.py", "src/", "docs/*.py", "docs/")
    assert not may_meet("dir1/t3/*.py", "dir1/t3/", "dir1/f1.py", "dir1/")
    assert may_meet("dir1/*", "dir1/", "dir1/s/*.py", "dir1/s/")
