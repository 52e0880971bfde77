"""Tests of maf_hooks.patterns: normalisation, matching, literal prefixes and exact overlap."""

from __future__ import annotations

import functools
import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

from maf_hooks import patterns
from maf_hooks.errors import UsageError
from maf_hooks.patterns import (
    compile_regex,
    example_overlap,
    is_literal,
    literal_prefix,
    matches,
    normalize,
    overlaps,
)

# Relative patterns never look at the repository root; any absolute directory will do.
ROOT = os.path.abspath(os.curdir)


def _normalized(raw: str):
    try:
        return normalize(raw, ROOT)
    except UsageError:
        return None


def _valid_path(path: str) -> bool:
    return bool(path) and all(part not in ("", ".", "..") for part in path.split("/"))


# ---------------------------------------------------------------------------------------------
# normalize
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("src", "src"),
        ("src/", "src/"),
        ("src/a.py", "src/a.py"),
        ("./src", "src"),
        ("././src//a/./b.py", "src/a/b.py"),
        ("src//", "src/"),
        ("a/b/../c", "a/c"),
        ("a/b/..", "a"),
        ("a/b/../", "a/"),
        ("a/./", "a/"),
        ("**", "**"),
        ("*.py", "*.py"),
        ("docs/**/*.md", "docs/**/*.md"),
        ("dir/**/", "dir/**/"),
        ("[]a].txt", "[]a].txt"),
        ("[!a-c]?", "[!a-c]?"),
        ("a\\*b", "a\\*b"),
        ("name\\ ", "name\\ "),
        (" leading space", " leading space"),
        ("a" * 4096, "a" * 4096),
    ],
)
def test_normalize_accepts_relative_patterns(raw, expected):
    assert normalize(raw, ROOT) == expected


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\t", "empty"),
        ("a\0b", "NUL"),
        ("a\nb", "newline"),
        ("a\rb", "carriage-return"),
        ("/", "repository root itself"),
        ("//", "repository root itself"),
        (".", "repository root itself"),
        ("./", "repository root itself"),
        ("a/..", "repository root itself"),
        ("..", "outside the repository root"),
        ("../x", "outside the repository root"),
        ("a/../../x", "outside the repository root"),
        ("a\\", "backslash"),
        ("a\\/b", "backslash"),
        ("a[", "no closing ']'"),
        ("[]", "no closing ']'"),
        ("[!]", "no closing ']'"),
        ("x[a/b]", "no closing ']'"),
        ("[z-a]", "reversed range"),
        ("a ", "whitespace"),
        ("a\t", "whitespace"),
        ("**/", "covers no file"),
        ("**/*/", "covers no file"),
        ("**/*/**", "covers no file"),
        ("\\.", "covers no file"),
        ("a/\\.\\./b", "covers no file"),
        ("a" * 4097, "4096"),
    ],
)
def test_normalize_refuses_invalid_patterns(raw, fragment):
    with pytest.raises(UsageError) as info:
        normalize(raw, ROOT)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    if len(raw) <= 60:
        assert repr(raw) in message


def test_normalize_root_refusal_suggests_double_star():
    with pytest.raises(UsageError, match=r"'\*\*'"):
        normalize("./", ROOT)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "a.py").write_text("")
    return root


@pytest.mark.parametrize(
    "suffix, expected",
    [
        ("/src", "src"),
        ("/src/", "src/"),
        ("/src/pkg/a.py", "src/pkg/a.py"),
        ("/src/*.py", "src/*.py"),
        ("/src/new/file.py", "src/new/file.py"),
        ("//src/./pkg/../pkg/", "src/pkg/"),
        ("/docs/**/*.md", "docs/**/*.md"),
    ],
)
def test_normalize_makes_absolute_paths_inside_the_repository_relative(repo, suffix, expected):
    assert normalize(str(repo) + suffix, str(repo)) == expected


def test_normalize_accepts_absolute_path_through_symlinked_root(repo, tmp_path):
    alias = tmp_path / "alias"
    alias.symlink_to(repo, target_is_directory=True)
    # the path goes through the alias, the root is the real directory
    assert normalize(str(alias / "src" / "pkg" / "a.py"), str(repo)) == "src/pkg/a.py"
    assert normalize(str(alias / "missing" / "*.py"), str(repo)) == "missing/*.py"
    # the root is the alias, the path is the real directory
    assert normalize(str(repo / "src") + "/", str(alias)) == "src/"


@pytest.mark.parametrize(
    "make_path, fragment",
    [
        (lambda repo: str(repo.parent / "elsewhere" / "x.py"), "outside the repository"),
        (lambda repo: str(repo) + "-sibling/x.py", "outside the repository"),
        (lambda repo: str(repo) + "/src/../../x.py", "outside the repository"),
        (lambda repo: str(repo), "repository root itself"),
        (lambda repo: str(repo) + "/", "repository root itself"),
        (lambda repo: str(repo) + "/src/..", "repository root itself"),
    ],
)
def test_normalize_refuses_absolute_paths_outside_or_at_the_root(repo, make_path, fragment):
    with pytest.raises(UsageError, match=re.escape(fragment)):
        normalize(make_path(repo), str(repo))


@pytest.mark.parametrize("raw", ["src", "./a//b/../c/", "**", "docs/**/*.md", "a\\ ", "[!]a]/x"])
def test_normalize_is_idempotent(raw):
    once = normalize(raw, ROOT)
    assert normalize(once, ROOT) == once


# ---------------------------------------------------------------------------------------------
# compile_regex and matches
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, regex",
    [
        ("src", "^src(?:(?P<ps_d>/)|$)"),
        ("src/", "^src(?P<ps_d>/)"),
        ("dir/**", "^dir/"),
        ("**", "."),
        ("docs/**/*.md", "^docs(?:/.+)?/[^/]*\\.md(?:(?P<ps_d>/)|$)"),
    ],
)
def test_compile_regex_returns_pathspec_regex(pattern, regex):
    assert compile_regex(pattern) == regex


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        ("README.md", "README.md", True),
        ("README.md", "docs/README.md", False),
        ("*.py", "x.py", True),
        ("*.py", "lib/x.py", False),
        ("src", "src", True),
        ("src", "src/a/b.c", True),
        ("src", "srcx", False),
        ("src/", "src", False),
        ("src/", "src/a", True),
        ("dir/**", "dir", False),
        ("dir/**", "dir/a/b", True),
        ("**", "a/b/c", True),
        ("**/x", "x", True),
        ("**/x", "a/b/x", True),
        ("**/x", "a/bx", False),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "a/xb", False),
        ("a/**/b", "ab", False),
        ("docs/**/*.md", "docs/x.md", True),
        ("docs/**/*.md", "docs/a/b/c.md", True),
        ("docs/**/*.md", "docs/x.txt", False),
        ("a**b", "axyb", True),  # '**' inside a segment is '*'
        ("a**b", "ax/b", False),
        ("*", "a/b", True),
        ("*/", "a", False),
        ("*/", "a/b", True),
        ("?", "a", True),
        ("?", "ab", False),
        ("[ab].txt", "b.txt", True),
        ("[!a].txt", "a.txt", False),
        ("[!a].txt", "c.txt", True),
        ("[^a].txt", "c.txt", True),
        ("[]a]", "]", True),
        ("[!]a]", "]", False),
        ("[a-c]", "b", True),
        ("[a-]", "-", True),
        ("[\\]", "\\", True),  # a backslash inside brackets is an ordinary character
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
        ("name\\ ", "name ", True),
        ("x[!a]y", "x/y", True),  # pathspec quirk: a negated bracket expression matches '/'
    ],
)
def test_matches_follows_pathspec(pattern, path, expected):
    assert matches(pattern, path) is expected
    assert (re.match(compile_regex(pattern), path) is not None) is expected


# ---------------------------------------------------------------------------------------------
# is_literal and literal_prefix
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("src/a.py", True),
        ("src/", True),
        ("a\\*b", True),
        ("a\\[b]", True),
        ("*.py", False),
        ("a/[b]", False),
        ("a?", False),
        ("**", False),
    ],
)
def test_is_literal_detects_unescaped_glob_characters(pattern, expected):
    assert is_literal(pattern) is expected


@pytest.mark.parametrize(
    "pattern, prefix",
    [
        ("src/a/*.py", "src/a/"),
        ("docs/**/x", "docs/"),
        ("*.py", ""),
        ("src/", "src/"),
        ("src/a.py", "src/"),
        ("src", ""),
        ("**", ""),
        ("a/b/", "a/b/"),
        ("a/[b]/c", "a/"),
        ("a/b?/c", "a/"),
        ("a\\*b/c/*.py", "a*b/c/"),  # unescaped: a prefix of the covered paths
        ("dir/**", "dir/"),
    ],
)
def test_literal_prefix_examples(pattern, prefix):
    assert literal_prefix(pattern) == prefix


# ---------------------------------------------------------------------------------------------
# overlaps
# ---------------------------------------------------------------------------------------------

OVERLAP_TABLE = [
    ("src/*.py", "src/a*", True),
    ("src/*.py", "tests/*.py", False),
    ("*.py", "lib/x.py", False),
    ("src/", "src/a/b.c", True),
    ("src", "src/a/b.c", True),
    # A literal pattern also covers what lies beneath it, so docs/x.txt/a.md is a common path.
    ("docs/**/*.md", "docs/x.txt", True),
    ("docs/*.md", "docs/x.txt", False),
    ("docs/**/*.md", "notes/x.md", False),
    ("docs/**/*.md", "docs/a/b/c.md", True),
    ("**", "x", True),
    ("**", "a/b/*.c", True),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/c", True),  # a/c/b
    ("a/**/b", "c", False),
    ("[ab].txt", "[!a].txt", True),
    ("[a].txt", "[!a].txt", False),
    ("README.md", "docs/README.md", False),
    ("README.md", "README.md", True),
    ("a", "a/", True),
    ("a/", "a/b/", True),
    ("a/", "ab", False),
    ("a/b", "a/c", False),
    ("*", "a/b/c", True),
    ("a/*/c", "a/b/*", True),
    ("**/x", "a/b/x", True),
    ("**/x/", "x", True),
    ("a/**", "a/b", True),
    ("a/**", "a", True),
    ("?", "ab", False),
    ("a?", "?b", True),
    ("*.md", "*.py", False),
    ("**/*.md", "**/*.py", True),  # x.md/y.py
    ("[ab]", "[!ab]", False),
    ("[!a]", "[!b]", True),
    ("[a-c]", "[c-e]", True),
    ("[a-c]", "[d-f]", False),
    ("[]a]", "]", True),
    ("[!]a]", "]", False),
    ("\\*", "*", True),
    ("\\*", "a", False),
    (".*", "*.", True),  # needs '.x.': '.' and '..' are not file names
    ("?", "?", True),
    ("x[!a]y", "x/y", True),  # pathspec quirk: [!a] matches '/'
    ("src/a.py", "src/a.py/", True),
]


@pytest.mark.parametrize("a, b, expected", OVERLAP_TABLE)
def test_overlaps_table_in_both_orders(a, b, expected):
    assert overlaps(a, b) is expected
    assert overlaps(b, a) is expected


@pytest.mark.parametrize("a, b, expected", OVERLAP_TABLE)
def test_example_overlap_is_covered_by_both_patterns(a, b, expected):
    witness = example_overlap(a, b)
    assert (witness is not None) is expected
    if witness is not None:
        assert _valid_path(witness)
        assert matches(a, witness) and matches(b, witness)


@pytest.mark.parametrize(
    "a, b, witness",
    [
        ("src/*.py", "src/a*", "src/a.py"),
        ("[ab].txt", "[!a].txt", "b.txt"),
        ("a/**/b", "a/b", "a/b"),
        (".*", "*.", ".a."),
    ],
)
def test_example_overlap_returns_a_shortest_readable_path(a, b, witness):
    assert example_overlap(a, b) == witness


@pytest.mark.parametrize("pattern", ["src", "src/", "**", "*.py", "a/**/b/", "[!a]?", "x\\ "])
def test_overlaps_pattern_with_itself(pattern):
    assert overlaps(pattern, pattern)
    assert example_overlap(pattern, pattern) is not None


# ---------------------------------------------------------------------------------------------
# Property tests against pathspec
# ---------------------------------------------------------------------------------------------
#
# Brute force.  Grammar: a token is one of TOKENS; a segment is '**' or one or two tokens; a
# pattern is one or two segments, or 'S/**/S', optionally followed by '/', then normalised.
#
# The universe is every path of 1 to 3 components drawn from COMPONENTS, and of 4 components one
# of which is 'a'.  Why a common path of two grammar patterns A and B always lies in it:
#
# * Components.  With at most two tokens a segment never matches across '/' in a valid path (a
#   '/' from '[!a]' would sit next to the segment's own '/' or the start), so each component of
#   a common path is matched by one segment of A (or lies in A's '**' or beneath A's end) and
#   likewise for B.  Replacing a component by another that satisfies the same one or two
#   segments keeps the path common.  Every character predicate of the grammar ({a}, {b}, {.},
#   [ab], [!a], '?', '*', '**') that shares a character with another shares one of 'a', 'b',
#   '.', so no other letter is needed; a segment without '*' has one or two characters, and two
#   segments each with a '*' have at most one other token each, so a common match has at most
#   two characters, or three when both force a '.' at opposite ends ('.*' and '*.' need '.a.').
#   test_overlaps_brute_force_components_are_complete checks that COMPONENTS holds a common
#   valid match for every pair of segments that has one among all names of up to 4 characters
#   over 'a', 'b', 'c', '.' ('**' stands for a component under '**' or beneath a pattern's end).
# * Count.  Call a component bound to a pattern when one of its non-'**' segments matches it;
#   every other component lies in a '**' of the pattern or beneath its end, where any name will
#   do.  A component bound to neither pattern can be dropped, except the one a directory pattern
#   needs beneath its end, and it can be renamed 'a'.  A pattern has at most two non-'**'
#   segments; two patterns that do not start with '**' bind the same first component, and one
#   that does has a single other segment; so at most three components are bound.  A shortest
#   common path therefore has at most 4 components, and when it has 4, one of them can be 'a'.
TOKENS = ["a", "b", ".", "*", "?", "[ab]", "[!a]"]
COMPONENTS = ("a", "b", "aa", "ab", "ba", "bb", "a.", ".a", "b.", ".b", ".a.")
UNIVERSE = tuple(
    "/".join(parts)
    for count in range(1, 5)
    for parts in itertools.product(COMPONENTS, repeat=count)
    if count < 4 or "a" in parts
)
SMALL_SEGMENTS = ["**"] + TOKENS + [x + y for x in TOKENS for y in TOKENS if x + y != "**"]


def _pathspec_regex(pattern: str):
    regex, _include = GitIgnoreSpecPattern.pattern_to_regex("/" + pattern)
    return re.compile(regex)


@functools.lru_cache(maxsize=None)
def _covered(pattern: str) -> frozenset:
    """The paths of UNIVERSE that pathspec says the pattern covers."""
    return frozenset(filter(_pathspec_regex(pattern).match, UNIVERSE))


def test_overlaps_brute_force_components_are_complete():
    names = [
        "".join(chars)
        for length in range(1, 5)
        for chars in itertools.product("abc.", repeat=length)
        if "".join(chars) not in (".", "..")
    ]
    matched = {seg: {n for n in names if _pathspec_regex(seg).match(n)} for seg in SMALL_SEGMENTS}
    for first, second in itertools.combinations_with_replacement(SMALL_SEGMENTS, 2):
        common = matched[first] & matched[second]
        if common:
            assert common & set(COMPONENTS), (first, second, sorted(common, key=len)[:3])


small_segment = st.sampled_from(SMALL_SEGMENTS)
small_body = st.one_of(
    st.lists(small_segment, min_size=1, max_size=2).map("/".join),
    st.tuples(small_segment, small_segment).map(lambda pair: pair[0] + "/**/" + pair[1]),
)
small_pattern = st.tuples(small_body, st.booleans()).map(lambda t: t[0] + ("/" if t[1] else ""))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(small_pattern, small_pattern)
def test_overlaps_agrees_with_brute_force_and_literal_prefix_holds(raw_a, raw_b):
    a, b = _normalized(raw_a), _normalized(raw_b)
    assume(a is not None and b is not None)
    expected = bool(_covered(a) & _covered(b))
    assert overlaps(a, b) is expected
    assert overlaps(b, a) is expected
    for pattern in (a, b):
        prefix = literal_prefix(pattern)
        assert all(path.startswith(prefix) for path in _covered(pattern))


# A wider grammar: odd bracket expressions (a backslash inside brackets is a literal, ']' first
# is literal, '[+-0]' contains '/'), escapes, three tokens per segment, three segments.  Here the
# universe is not complete, so an overlap is checked by its witness, verified with pathspec.
WIDE_TOKENS = TOKENS + ["-", "]", " ", "[^b]", "[]a]", "[!]]", "[a-c]", "[+-0]", "[\\]", "\\*", "\\[", "\\\\"]
wide_segment = st.one_of(
    st.just("**"), st.lists(st.sampled_from(WIDE_TOKENS), min_size=1, max_size=3).map("".join)
)
wide_pattern = st.tuples(st.lists(wide_segment, min_size=1, max_size=3), st.booleans()).map(
    lambda t: "/".join(t[0]) + ("/" if t[1] else "")
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(wide_pattern, wide_pattern)
def test_overlaps_witness_is_covered_by_both_per_pathspec(raw_a, raw_b):
    a, b = _normalized(raw_a), _normalized(raw_b)
    assume(a is not None and b is not None)
    result = overlaps(a, b)
    assert overlaps(b, a) is result
    witness = example_overlap(a, b)
    assert (witness is not None) is result
    if witness is not None:
        assert _valid_path(witness)
        assert _pathspec_regex(a).match(witness) and _pathspec_regex(b).match(witness)
    else:
        assert not (_covered(a) & _covered(b))


@settings(max_examples=200, deadline=None)
@given(wide_pattern, st.text(alphabet="ab./]-\\^!+0*[ c", max_size=8))
def test_matches_agrees_with_the_overlap_automaton(raw, path):
    pattern = _normalized(raw)
    assume(pattern is not None)
    assert patterns._accepts(pattern, path) is matches(pattern, path)


@settings(max_examples=200, deadline=None)
@given(wide_pattern, st.text(alphabet="ab./]-\\+0*[ ", min_size=1, max_size=8))
def test_literal_prefix_starts_every_covered_path(raw, path):
    pattern = _normalized(raw)
    assume(pattern is not None)
    prefix = literal_prefix(pattern)
    if matches(pattern, path):
        assert path.startswith(prefix)
    witness = example_overlap(pattern, "**")
    assert witness is not None and witness.startswith(prefix)


@settings(max_examples=150, deadline=None)
@given(wide_pattern)
def test_normalize_accepts_only_patterns_pathspec_compiles(raw):
    pattern = _normalized(raw)
    assume(pattern is not None)
    assert normalize(pattern, ROOT) == pattern
    regex = compile_regex(pattern)
    assert regex is not None
    re.compile(regex)


# ---------------------------------------------------------------------------------------------
# Import cost and speed
# ---------------------------------------------------------------------------------------------


def test_patterns_import_does_not_load_pathspec():
    code = "import sys, maf_hooks.patterns; print('pathspec' in sys.modules)"
    project = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_overlaps_thousands_of_pairs_quickly():
    stems = ["src", "src/pkg", "docs", "tests/unit", "lib/a/b"]
    shapes = ["{}/", "{}/*.py", "{}/**/*.md", "{}/[ab]?.txt", "{}/x*y/**", "{}/README.md"]
    pool = [shape.format(stem) for stem in stems for shape in shapes] + ["**", "*.py", "**/*.py"]
    started = time.perf_counter()
    count = 0
    for a in pool:
        for b in pool:
            overlaps(a, b)
            count += 1
    assert count > 1000
    assert time.perf_counter() - started < 2.0
