"""Tests of maf_hooks.patterns: normalisation, matching, literal prefixes and exact overlap."""

from __future__ import annotations

import functools
import itertools
import os
import re
import subprocess
import sys
import time
import warnings
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
    is_file_like,
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


# The end of pathspec's regex for a pattern whose last segment is not '**': the path ends here,
# or goes on beneath.
TAIL = "(?:(?P<ps_d>/)|$)"


def _compile(regex: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "possible set difference" for '[--]'
        return re.compile(regex)


@functools.lru_cache(maxsize=None)
def _regex(pattern: str):
    """Our regex (``compile_regex``) for the pattern, compiled."""
    return _compile(compile_regex(pattern))


@functools.lru_cache(maxsize=None)
def _file_regex(pattern: str):
    """Our regex without its TAIL: it matches what the pattern names, not what lies beneath."""
    regex = compile_regex(pattern)
    assert regex.endswith(TAIL), regex
    return _compile(regex[: -len(TAIL)])


def _covers(pattern: str, path: str) -> bool:
    """Whether the pattern covers the path under its overlap reading, according to the regex.

    A directory-capable pattern covers what its regex matches at the start of the path: a match
    or something beneath one.  A file-like pattern covers a match only: its regex without TAIL
    must match the whole path (the TAIL's '/' alternative is exactly "beneath a match").
    """
    if is_file_like(pattern):
        return _file_regex(pattern).fullmatch(path) is not None
    return _regex(pattern).match(path) is not None


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
        ("[!+-0]", "[!+-0]"),  # a negated range may contain '/': brackets exclude it anyway
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
        ("x[+-0]", "spans '/'"),
        ("a/[a+-0]b/c", "spans '/'"),
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


def test_normalize_explains_that_brackets_never_match_slash():
    with pytest.raises(UsageError) as info:
        normalize("src/[+-0]x", ROOT)
    message = str(info.value)
    assert "'[+-0]'" in message and "never matches '/'" in message


def test_normalize_root_refusal_suggests_double_star():
    with pytest.raises(UsageError, match=r"'\*\*'"):
        normalize("./", ROOT)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "a.py").write_text("")
    (root / "conf.d" / "x y").mkdir(parents=True)
    (root / ".github").mkdir()
    (root / "a*b").mkdir()
    (root / "link.d").symlink_to(root / "conf.d", target_is_directory=True)
    return root


@pytest.mark.parametrize(
    "raw, plain, marked",
    [
        ("conf.d", "conf.d", "conf.d/"),
        ("conf.d/", "conf.d/", "conf.d/"),
        ("./conf.d//", "conf.d/", "conf.d/"),
        ("src/pkg/../pkg", "src/pkg", "src/pkg/"),
        (".github", ".github", ".github/"),
        ("conf.d/x\\ y", "conf.d/x\\ y", "conf.d/x\\ y/"),  # unescaped before looking
        ("a\\*b", "a\\*b", "a\\*b/"),
        ("src/pkg/a.py", "src/pkg/a.py", "src/pkg/a.py"),  # a file
        ("src/new.d", "src/new.d", "src/new.d"),  # does not exist
        ("link.d", "link.d", "link.d"),  # a symbolic link is a file to git
        ("conf.*", "conf.*", "conf.*"),  # not literal
        ("src/*", "src/*", "src/*"),
    ],
)
def test_normalize_directory_slash_marks_existing_directories(repo, raw, plain, marked):
    assert normalize(raw, str(repo)) == plain  # the default keeps the form
    assert normalize(raw, str(repo), directory_slash=True) == marked
    assert normalize(marked, str(repo), directory_slash=True) == marked


def test_normalize_directory_slash_with_absolute_path(repo):
    assert normalize(str(repo / "conf.d"), str(repo), directory_slash=True) == "conf.d/"
    assert normalize(str(repo / "conf.d"), str(repo)) == "conf.d"
    assert is_file_like("conf.d") and not is_file_like("conf.d/")


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
    assert _pathspec_regex(pattern).pattern == regex


@pytest.mark.parametrize(
    "pattern, regex",
    [
        ("x[!a]y", "^x[^a/]y" + TAIL),
        ("[^a]", "^[^a/]" + TAIL),
        ("[!]a]", "^[^]a/]" + TAIL),  # a leading ']' stays first
        ("[!]-a]", "^[^]-a/]" + TAIL),  # ... and the range ]-a stays a range
        ("[!a-]", "^[^a/-]" + TAIL),  # a trailing '-' stays last
        ("[!--]", "^[^-/-]" + TAIL),
        ("[!---]", "^[^---/]" + TAIL),  # the range '-'-'-'
        ("[!\\]", "^[^\\\\/]" + TAIL),  # pathspec doubles the backslash
        ("[!\\-]", "^[^\\\\/-]" + TAIL),
        ("[!+-0]", "^[^+-0]" + TAIL),  # already excludes '/'
        ("a?[!b]*", "^a[^/][^b/][^/]*" + TAIL),  # pathspec's own [^/] is left alone
        ("\\[!a]", "^\\[!a\\]" + TAIL),  # an escaped '[' starts no set
        ("[ab]", "^[ab]" + TAIL),
        ("x[+-0]", "^x(?!/)[+-0]" + TAIL),  # refused by normalize; excluded all the same
    ],
)
def test_compile_regex_takes_slash_out_of_bracket_expressions(pattern, regex):
    assert compile_regex(pattern) == regex


def test_raw_pathspec_lets_a_negated_bracket_match_slash_and_ours_does_not():
    assert _pathspec_regex("x[!a]y").match("x/y")
    assert not re.match(compile_regex("x[!a]y"), "x/y")
    assert not matches("x[!a]y", "x/y") and matches("x[!a]y", "xby")
    assert not overlaps("x[!a]y", "x/y")


def test_bracket_expressions_agree_with_the_automaton_character_by_character():
    # Every bracket body of up to 4 characters over an alphabet rich in set syntax (and '^'
    # followed by up to 3), negated or not: the regex's set (after our rewrite) and the
    # automaton's predicate accept the same characters, and neither accepts '/'.  Both are
    # unions of ranges whose ends are alphabet characters (or '/'), so probing each end and its
    # neighbours probes every character.
    alphabet = "a-]\\+0"
    probes = sorted({chr(ord(char) + step) for char in alphabet + "^/" for step in (-1, 0, 1)})
    bodies = [
        head + "".join(chars)
        for head, most in (("", 4), ("^", 3))
        for length in range(1 - len(head), most + 1)
        for chars in itertools.product(alphabet, repeat=length)
    ]
    checked = 0
    for body in bodies:
        for pattern in ("[" + body + "]", "[!" + body + "]"):
            try:
                patterns._nfa(pattern, False)
            except patterns._PatternError:  # a reversed range, or '[^]' unclosed
                continue
            regex = _regex(pattern)
            for char in probes:
                assert (regex.match(char) is not None) is patterns._accepts(pattern, char), (pattern, char)
            assert not regex.match("/")
            checked += 1
    assert checked > 3000


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
        ("x[!a]y", "x/y", False),  # brackets never match '/' (raw pathspec says yes)
        ("x[^a]y", "x/y", False),
        ("x[!a]y", "xby", True),
        ("a/[!b]", "a/c", True),
        ("a/[!b]", "a/c/d", True),
        ("x[!]a-]y", "x/y", False),
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
    "pattern, expected",
    [
        ("docs/x.txt", True),
        ("*.md", True),
        ("lib/x.py", True),
        ("src/a.py", True),
        ("foo.d", True),
        ("docs/**/*.md", True),
        (".eslintrc.json", True),
        ("a\\.b", True),
        ("*.", True),
        ("src", False),
        ("src/", False),
        ("src/*", False),
        ("Makefile", False),
        (".github", False),
        ("\\.github", False),  # an escaped first character is still the first
        ("docs/**", False),
        ("**", False),
        ("foo.d/", False),
        ("a.b/c", False),  # only the last segment counts
        (".*", False),
        ("*", False),
    ],
)
def test_is_file_like(pattern, expected):
    assert is_file_like(pattern) is expected


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
    # The examples.
    ("src/*.py", "src/a*", True),
    ("src/*.py", "tests/*.py", False),
    ("*.py", "lib/x.py", False),
    ("src/", "src/a/b.c", True),
    ("src", "src/a/b.c", True),
    # A file-like pattern covers its matches only: docs/x.txt/a.md is not common.
    ("docs/**/*.md", "docs/x.txt", False),
    ("src/a.py", "**/x.py", False),
    ("src/a", "**/x.py", True),  # src/a/x.py
    ("src/*", "src/a/b.c", True),
    ("src/a.py", "src/a.py/", False),
    ("src/a.py", "src/*", True),
    ("src/a.py", "src/a.py", True),
    ("src/a.py", "src/a.py/x", False),
    ("foo.d", "foo.d/x", False),
    ("foo.d/", "foo.d/x", True),
    ("**/*.md", "**/*.py", False),
    ("**/*.md", "**/*", True),
    ("**/*.md", "*.md", True),
    ("*.md", "docs/**", False),
    (".github", ".github/workflows/ci.yml", True),
    ("Makefile", "Makefile/x", True),
    ("a.b/c", "a.b/c/d", True),  # only the last segment counts
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
    ("x[!a]y", "x/y", False),  # brackets never match '/'
    ("x[^a]y", "x/y", False),
    ("x[!a]y", "x?y", True),
    ("a/[!b]", "a/c", True),
    ("a/[!b]", "a/b", False),
    ("a/[!b]", "a/b/c", False),
    ("[!a]", "a/b", False),
    ("[!a]", "b/a", True),
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
        assert _covers(a, witness) and _covers(b, witness)
        assert matches(a, witness) and matches(b, witness)


@pytest.mark.parametrize(
    "a, b, witness",
    [
        ("src/*.py", "src/a*", "src/a.py"),
        ("[ab].txt", "[!a].txt", "b.txt"),
        ("a/**/b", "a/b", "a/b"),
        (".*", "*.", ".a."),
        ("src/a", "**/x.py", "src/a/x.py"),
    ],
)
def test_example_overlap_returns_a_shortest_readable_path(a, b, witness):
    assert example_overlap(a, b) == witness


@pytest.mark.parametrize("pattern", ["src", "src/", "**", "*.py", "a/**/b/", "[!a]?", "x\\ "])
def test_overlaps_pattern_with_itself(pattern):
    assert overlaps(pattern, pattern)
    assert example_overlap(pattern, pattern) is not None


# ---------------------------------------------------------------------------------------------
# Property tests: the automaton against our regex (pathspec's, brackets corrected)
# ---------------------------------------------------------------------------------------------
#
# Brute force.  Grammar: a token is one of TOKENS; a segment is '**' or one or two tokens; a
# pattern is one or two segments, or 'S/**/S', optionally followed by '/', then normalised.
# "Covered" is ``_covers``: each pattern under its overlap reading (file-like or
# directory-capable), decided with the regex.
#
# The universe is every path of 1 to 3 components drawn from COMPONENTS, and of 4 components one
# of which is 'a'.  Why a common path of two grammar patterns A and B always lies in it:
#
# * Components.  No predicate but '**' accepts '/' (brackets never match it), so each component
#   of a common path is matched by one segment of A (or lies in A's '**' or beneath A's end,
#   when A is directory-capable) and likewise for B.  Replacing a component by another that
#   satisfies the same one or two segments keeps the path common, under either reading (a
#   reading is a property of the pattern, not of the path).  Every character predicate of the
#   grammar ({a}, {b}, {.}, [ab], [!a], '?', '*', '**') that shares a character with another
#   shares one of 'a', 'b', '.', so no other letter is needed; a segment without '*' has one or
#   two characters, and two segments each with a '*' have at most one other token each, so a
#   common match has at most two characters, or three when both force a '.' at opposite ends
#   ('.*' and '*.' need '.a.').  test_overlaps_brute_force_components_are_complete checks that
#   COMPONENTS holds a common valid match for every pair of segments that has one among all
#   names of up to 4 characters over 'a', 'b', 'c', '.' ('**' stands for a component under '**'
#   or beneath a pattern's end).
# * Count.  Call a component bound to a pattern when one of its non-'**' segments matches it;
#   every other component lies in a '**' of the pattern or beneath its end (directory-capable
#   patterns only), where any name will do.  A component bound to neither pattern can be
#   dropped, except the one a pattern ending in '/' or '**' needs beneath its end, and it can be
#   renamed 'a'.  A pattern has at most two non-'**' segments; two patterns that do not start
#   with '**' bind the same first component, and one that does has a single other segment; so
#   at most three components are bound.  A shortest common path therefore has at most 4
#   components, and when it has 4, one of them can be 'a'.
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
    """Raw pathspec, for the tests that show where we differ from it."""
    regex, _include = GitIgnoreSpecPattern.pattern_to_regex("/" + pattern)
    return _compile(regex)


@functools.lru_cache(maxsize=None)
def _covered(pattern: str) -> frozenset:
    """The paths of UNIVERSE the pattern covers under its overlap reading (see ``_covers``)."""
    covers = _file_regex(pattern).fullmatch if is_file_like(pattern) else _regex(pattern).match
    return frozenset(filter(covers, UNIVERSE))


def test_overlaps_brute_force_components_are_complete():
    names = [
        "".join(chars)
        for length in range(1, 5)
        for chars in itertools.product("abc.", repeat=length)
        if "".join(chars) not in (".", "..")
    ]
    matched = {seg: {n for n in names if _regex(seg).match(n)} for seg in SMALL_SEGMENTS}
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
# is literal, a trailing '-' is literal, '[!+-0]' names '/'), escapes, three tokens per segment,
# three segments.  Here the universe is not complete, so an overlap is checked by its witness,
# verified with the regex.
WIDE_TOKENS = TOKENS + [
    "-", "]", " ", "[^b]", "[]a]", "[!]]", "[a-c]", "[!+-0]", "[\\]", "[!\\-]", "[!a-]", "[!---]",
    "[!]-a]", "\\*", "\\[", "\\\\", ".md", "x.",
]  # fmt: skip
wide_segment = st.one_of(
    st.just("**"), st.lists(st.sampled_from(WIDE_TOKENS), min_size=1, max_size=3).map("".join)
)
wide_pattern = st.tuples(st.lists(wide_segment, min_size=1, max_size=3), st.booleans()).map(
    lambda t: "/".join(t[0]) + ("/" if t[1] else "")
)
path_text = st.text(alphabet="ab./]-\\^!+0*[ cmdx", max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(wide_pattern, wide_pattern)
def test_overlaps_witness_is_covered_by_both(raw_a, raw_b):
    a, b = _normalized(raw_a), _normalized(raw_b)
    assume(a is not None and b is not None)
    result = overlaps(a, b)
    assert overlaps(b, a) is result
    witness = example_overlap(a, b)
    assert (witness is not None) is result
    if witness is not None:
        assert _valid_path(witness)
        assert _covers(a, witness) and _covers(b, witness)
    else:
        assert not (_covered(a) & _covered(b))


@settings(max_examples=200, deadline=None)
@given(wide_pattern, path_text)
def test_matches_agrees_with_the_overlap_automaton(raw, path):
    pattern = _normalized(raw)
    assume(pattern is not None)
    assert patterns._accepts(pattern, path) is matches(pattern, path)
    assert matches(pattern, path) is (_regex(pattern).match(path) is not None)
    # The file-like automaton (built for any pattern) is the regex without its TAIL.
    as_file = patterns._accepts(pattern, path, file_like=True)
    if compile_regex(pattern).endswith(TAIL):
        assert as_file is (_file_regex(pattern).fullmatch(path) is not None)
    else:  # a pattern ending in '**' or '/': no TAIL, nothing to drop
        assert as_file is matches(pattern, path)
    if is_file_like(pattern):
        assert as_file is _covers(pattern, path)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["x", "[+-0]", "[!+-0]", "[a+-0]", "*", "?"]), min_size=1, max_size=3),
    st.text(alphabet="x+,-./0a", min_size=1, max_size=5),
)
def test_positive_ranges_spanning_slash_never_match_it(tokens, path):
    # normalize refuses them, but a stored pattern still gets a regex that agrees.
    pattern = "".join(tokens)
    assert patterns._accepts(pattern, path) is (_regex(pattern).match(path) is not None)


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
    _compile(regex)
    _compile(regex.replace("(?P<ps_d>", "(?:"))  # as the hook's matcher uses it


# ---------------------------------------------------------------------------------------------
# Import cost and speed
# ---------------------------------------------------------------------------------------------


def test_compile_regex_imports_pathspec_lazily():
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
