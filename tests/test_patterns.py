"""Tests of maf_hooks.patterns: normalisation, matching, coverage, literal prefixes and exact overlap."""

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

from maf_hooks import patterns
from maf_hooks.errors import UsageError
from maf_hooks.patterns import (
    automaton,
    charsets,
    covers,
    example_overlap,
    is_file_like,
    is_literal,
    literal_prefix,
    match,
    matches,
    normalize,
    overlaps,
    syntax,
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


def _parents(path: str) -> list:
    parts = path.split("/")
    return ["/".join(parts[:count]) for count in range(1, len(parts))]


def _covers(pattern: str, other: str, path: str, directories=()) -> bool:
    """Whether ``pattern`` covers ``path`` at acquire time, against ``other``, from matching alone:
    a match, or beneath a match that may be a directory (the pattern is not file-like, or the
    match is named as a directory by either pattern, or is one of ``directories``)."""
    if matches(pattern, path):
        return True
    known = set(syntax.named_directories(pattern)) | set(syntax.named_directories(other)) | set(directories)
    return any(matches(pattern, parent) and (not is_file_like(pattern) or parent in known)
               for parent in _parents(path))


def _accepts(nfa, path: str) -> bool:
    """Whether the automaton accepts the path (a plain simulation)."""
    current = {nfa.start}
    for char in path:
        code = ord(char)
        current = {target for state in current for chars, target in nfa.moves[state]
                   if charsets.contains(nfa.sets[chars], code)}
    return any(nfa.final[state] for state in current)


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
        ("a/***/b", "a/**/b"),  # three stars or more as a segment are '**'
        ("a/****", "a/**"),
        ("x**y", "x*y"),  # within a segment, a star run is one '*'
        ("[*][**]\\**", "[*][**]\\**"),  # stars in brackets or escaped are not runs
        ("**/", "**/"),  # '**/**': every path (git's reading; pathspec's matched nothing)
        ("**/*/", "**/*/"),
        ("[[:digit:]]", "[[:digit:]]"),
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
        ("x[a/b]", "holds '/'"),  # git reads one bracket expression holding '/'
        ("x[/]", "holds '/'"),
        ("[[:digt:]]", "unknown character class '[:digt:]'"),
        ("[[::]]", "unknown character class"),
        ("a[]b", "no closing ']'"),
        ("[\\]", "no closing ']'"),  # the backslash escapes the ']'
        ("[a-\\", "backslash"),
        ("[z-a]", "reversed range"),
        ("x[+-0]", "spans '/'"),
        ("a/[a+-0]b/c", "spans '/'"),
        ("a ", "whitespace"),
        ("a\t", "whitespace"),
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


@pytest.mark.parametrize("raw", ["src", "./a//b/../c/", "**", "docs/**/*.md", "a\\ ", "[!]a]/x", "a/***/b**c"])
def test_normalize_is_idempotent(raw):
    once = normalize(raw, ROOT)
    assert normalize(once, ROOT) == once


# ---------------------------------------------------------------------------------------------
# normalize_path, command-line relativity, NFC
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("[", "["),  # a path, not a pattern: any legal file name
        ("a\\", "a\\"),
        ("a ", "a "),
        ("src/*.py", "src/*.py"),
        ("./src//a/../b/", "src/b"),
        (":/src/x", "src/x"),
    ],
)
def test_normalize_path_takes_any_file_name(raw, expected):
    assert patterns.normalize_path(raw, ROOT) == expected


@pytest.mark.parametrize("raw, fragment", [("", "empty"), ("..", "outside"), ("/", "root itself"), ("a\0b", "NUL")])
def test_normalize_path_refuses_what_names_no_file(raw, fragment):
    with pytest.raises(UsageError, match=re.escape(fragment)):
        patterns.normalize_path(raw, ROOT)


def test_patterns_and_paths_are_relative_to_cwd_as_pathspecs_are(repo):
    src = str(repo / "src")
    assert normalize("a.py", str(repo), cwd=src) == "src/a.py"
    assert normalize("**/*.py", str(repo), cwd=src) == "src/**/*.py"
    assert normalize("../x", str(repo), cwd=src) == "x"
    assert normalize(":/x", str(repo), cwd=src) == "x"  # ':/' anchors at the root
    assert normalize(str(repo / "conf.d"), str(repo), cwd=src) == "conf.d"
    assert normalize("a.py", str(repo), cwd=str(repo)) == "a.py"
    assert normalize("a.py", str(repo)) == "a.py"  # no cwd: repository-relative
    assert patterns.normalize_path("[x", str(repo), cwd=src) == "src/[x"
    with pytest.raises(UsageError, match="outside the repository root"):
        normalize("../../x", str(repo), cwd=src)
    with pytest.raises(UsageError, match="repository root itself"):
        normalize(":/", str(repo))


def test_precompose_stores_names_in_nfc():
    decomposed = "cafe\u0301/*.txt"
    assert normalize(decomposed, ROOT) == decomposed
    assert normalize(decomposed, ROOT, precompose=True) == "caf\u00e9/*.txt"
    assert patterns.normalize_path("cafe\u0301", ROOT, precompose=True) == "caf\u00e9"


# ---------------------------------------------------------------------------------------------
# matches (git's wildmatch) and covers (the gate: the path or a parent directory)
# ---------------------------------------------------------------------------------------------


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
        ("docs/**/*.md", "docs/a.md/b.txt", True),  # docs/a.md is a directory: a parent
        ("src/*.d", "src/conf.d/y", True),
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
        ("[\\\\]", "\\", True),  # inside brackets a backslash escapes, as in git
        ("[[:digit:]]", "5", True),
        ("[[:digit:]]", "d", False),
        ("a/***/b", "a/x/y/b", True),
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
        ("name\\ ", "name ", True),
        ("x[!a]y", "x/y", False),  # brackets never match '/'
        ("x[^a]y", "x/y", False),
        ("x[!a]y", "xby", True),
        ("a/[!b]", "a/c", True),
        ("a/[!b]", "a/c/d", True),
        ("x[!]a-]y", "x/y", False),
    ],
)
def test_covers_is_wildmatch_of_the_path_or_a_parent_directory(pattern, path, expected):
    assert covers(pattern, path) is expected
    assert covers(pattern, path) is any(matches(pattern, p) for p in [*_parents(path), path])


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        ("src", "src/a", False),
        ("src/*", "src/a/b", False),
        ("src/**", "src/a/b", True),
        ("src/", "src/a/b", True),
        ("**", "a", True),
        ("**/", "a", True),
        ("*/**", "a", False),
    ],
)
def test_matches_is_the_whole_path(pattern, path, expected):
    assert matches(pattern, path) is expected


def test_casefold_matches_and_covers_either_case():
    assert matches("Src/A.py", "src/a.PY", casefold=True)
    assert not matches("Src/A.py", "src/a.PY")
    assert covers("docs/*.MD", "DOCS/x.md/y", casefold=True)
    assert not matches("[!a]", "A", casefold=True)  # the negation applies after folding
    assert matches("caf\u00c9", "caf\u00c9", casefold=True)
    assert not matches("caf\u00c9", "caf\u00e9", casefold=True)  # git folds ASCII only


def test_caches_are_bounded():
    for number in range(5000):
        matches(f"x{number}/*.py", "x/a.py")
        syntax.parse(f"y{number}")
    assert len(match._compiled) <= match._compiled.size
    assert len(syntax._parsed) <= syntax._parsed.size
    assert len(automaton._cached) <= automaton._cached.size


# ---------------------------------------------------------------------------------------------
# One parse, three readers: the segment regex, the two-pointer matcher and the automaton agree
# ---------------------------------------------------------------------------------------------

SEGMENT_TOKENS = ["a", "b", "*", "?", "[ab]", "[!a]", "\\*", "[[:digit:]]", "[\\]]", "."]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SEGMENT_TOKENS), min_size=1, max_size=5).map("".join),
       st.text(alphabet="ab1*].A", max_size=7), st.booleans())
def test_segment_regex_and_two_pointer_matcher_agree(segment, component, casefold):
    tokens = syntax.parse(segment, casefold).segments[0]
    assume(tokens is not syntax.DSTAR)
    folded = match.fold(component) if casefold else component
    fast = match.segment_test(tokens, casefold, use_regex=True)
    slow = match.segment_test(tokens, casefold, use_regex=False)
    assert fast(folded) is slow(folded)


segment_pattern = st.tuples(
    st.lists(st.one_of(st.just("**"), st.lists(st.sampled_from(SEGMENT_TOKENS), max_size=3).map("".join)),
             min_size=1, max_size=3),
    st.booleans(),
).map(lambda t: "/".join(t[0]) + ("/" if t[1] else ""))


@settings(max_examples=400, deadline=None)
@given(segment_pattern, st.text(alphabet="ab1*]./A", max_size=9), st.booleans(), st.booleans())
def test_whole_pattern_regex_and_component_matcher_agree(pattern, path, casefold, prefixes):
    try:
        fast = match.Compiled(pattern, casefold, use_regex=True)
    except syntax.PatternError:
        assume(False)
    slow = match.Compiled(pattern, casefold, use_regex=False)
    assert slow.regex is None
    assert fast.run(path, prefixes) is slow.run(path, prefixes)


def test_whole_pattern_regex_only_for_linear_shapes():
    def has_regex(pattern: str) -> bool:
        return match.Compiled(pattern, False).regex is not None

    assert has_regex("src/*.py") and has_regex("docs/**/x.md") and has_regex("a/[ab]?/c*")
    assert has_regex("dir/**") and has_regex("**") and has_regex("docs/**/*.md") and has_regex("*/**/a/b")
    assert has_regex("**/mod/*.py") and has_regex("a*/**/b/c*")
    assert not has_regex("*a*b") and not has_regex("a/**/b/**/c") and not has_regex("**/*/x")


def test_bracket_expressions_agree_with_the_automaton_character_by_character():
    # Every bracket body of up to 4 characters over an alphabet rich in set syntax (and '^'
    # followed by up to 3), negated or not: the matcher and the automaton accept the same
    # characters, and neither accepts '/'. Both are unions of ranges whose ends are alphabet
    # characters (or '/'), so probing each end and its neighbours probes every character.
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
                nfa = automaton.automaton(pattern, beneath=False)
            except syntax.PatternError:  # a reversed range, a bracket left open
                continue
            for char in probes:
                assert matches(pattern, char) is _accepts(nfa, char), (pattern, char)
            assert not matches(pattern, "/")
            checked += 1
    assert checked > 2000



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
    ("src/a.py", "src/a.py/", True),  # the second names src/a.py a directory
    ("src/a.py", "src/*", True),
    ("src/a.py", "src/a.py", True),
    ("src/a.py", "src/a.py/x", True),  # likewise
    ("foo.d", "foo.d/x", True),
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
    # The examples of the acquire-time presumption.
    ("src/**/*.js", "src/**/*.py", False),
    ("docs/**/*.md", "docs/a.md/b.txt", True),  # names docs/a.md a directory
    ("src/*.d", "src/conf.d/y", True),  # names src/conf.d a directory
    ("src/*.d", "src/**/y", False),  # no src/X.d/ known: its matches are files
    ("build.d", "build.d/x", True),
    ("build.d", "build.d/", True),
    # The false negatives of the old reading.
    ("[[:digit:]]", "5", True),
    ("[[:digit:]]", "[0-9]", True),
    ("[[:digit:]]", "d", False),
    ("[\\-_]", "-", True),
    ("[\\]]", "]", True),
    ("[\\]]", "\\\\", False),
    ("a/**/b", "a/x/y/b", True),
    ("**/", "x", True),
    ("*.", "a./b", True),  # the second names a. a directory
    ("*.", "**/b", False),
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
        assert _covers(a, b, witness) and _covers(b, a, witness)
        assert covers(a, witness) and covers(b, witness)  # the gate agrees


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
# Property tests: the automaton's overlap against brute force over matching
# ---------------------------------------------------------------------------------------------
#
# Brute force.  Grammar: a token is one of TOKENS; a segment is '**' or one or two tokens; a
# pattern is one or two segments, or 'S/**/S', optionally followed by '/', then normalised.
# "Covered" is ``_covers``, decided with ``matches`` (not with the automaton): a match, or a path
# beneath a match that may be a directory (the pattern is not file-like, or the match is named as
# a directory by one of the two patterns).
#
# The universe is every path of 1 to 3 components drawn from COMPONENTS, and of 4 components one
# of which is 'a'.  Why a common path of two grammar patterns A and B always lies in it:
#
# * Components.  No token but '**' matches '/' (brackets never do), so each component of a
#   common path is matched by one segment of A (or lies in A's '**' or beneath a match of A) and
#   likewise for B.  Replacing a component by another that satisfies the same one or two
#   segments keeps the path common, except where a component is that of a directory one pattern
#   names literally: such a component is a literal segment of up to two of 'a', 'b', '.', which
#   COMPONENTS holds (or '.' or '..', resolved away by normalisation).  Every character set of
#   the grammar ({a}, {b}, {.}, [ab], [!a], '?', '*') that shares a character with another shares
#   one of 'a', 'b', '.', so no other letter is needed; a segment without '*' has one or two
#   characters, and two segments each with a '*' have at most one other token each, so a common
#   match has at most two characters, or three when both force a '.' at opposite ends ('.*' and
#   '*.' need '.a.').  test_overlaps_brute_force_components_are_complete checks that COMPONENTS
#   holds a common valid match for every pair of segments that has one among all names of up to
#   4 characters over 'a', 'b', 'c', '.'.
# * Count.  Call a component bound to a pattern when one of its non-'**' segments matches it;
#   every other component lies in a '**' of the pattern or beneath a match, where any name will
#   do.  A component bound to neither pattern can be dropped, except the one a pattern ending in
#   '/' or '**' needs beneath its end, and it can be renamed 'a'.  A pattern has at most two
#   non-'**' segments; two patterns that do not start with '**' bind the same first component,
#   and one that does has a single other segment; so at most three components are bound.  A
#   shortest common path therefore has at most 4 components, and when it has 4, one can be 'a'.
TOKENS = ["a", "b", ".", "*", "?", "[ab]", "[!a]"]
COMPONENTS = ("a", "b", "aa", "ab", "ba", "bb", "a.", ".a", "b.", ".b", ".a.")
UNIVERSE = tuple(
    "/".join(parts)
    for count in range(1, 5)
    for parts in itertools.product(COMPONENTS, repeat=count)
    if count < 4 or "a" in parts
)
_BENEATH: dict = {}  # a path of UNIVERSE -> the paths of UNIVERSE beneath it
for _path in UNIVERSE:
    for _parent in _parents(_path):
        _BENEATH.setdefault(_parent, set()).add(_path)
SMALL_SEGMENTS = ["**"] + TOKENS + [x + y for x in TOKENS for y in TOKENS if x + y != "**"]


@functools.cache
def _matched(pattern: str) -> frozenset:
    """The paths of UNIVERSE the pattern matches (every possible parent is in UNIVERSE too)."""
    return frozenset(path for path in UNIVERSE if matches(pattern, path))


def _covered(pattern: str, other: str, existing=()) -> frozenset:
    """The paths of UNIVERSE ``pattern`` covers against ``other`` (``_covers``, vectorised)."""
    matched = _matched(pattern)
    if is_file_like(pattern):
        known = set(syntax.named_directories(pattern)) | set(syntax.named_directories(other)) | set(existing)
        dirs = matched & known
    else:
        dirs = matched
    return frozenset(matched.union(*(_BENEATH.get(d, ()) for d in dirs)))


def test_overlaps_brute_force_components_are_complete():
    names = [
        "".join(chars)
        for length in range(1, 5)
        for chars in itertools.product("abc.", repeat=length)
        if "".join(chars) not in (".", "..")
    ]
    matched = {seg: {n for n in names if matches(seg, n)} for seg in SMALL_SEGMENTS}
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
    expected = bool(_covered(a, b) & _covered(b, a))
    assert overlaps(a, b) is expected
    assert overlaps(b, a) is expected
    for pattern, other in ((a, b), (b, a)):
        prefix = literal_prefix(pattern)
        assert all(path.startswith(prefix) for path in _covered(pattern, other))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(small_pattern, small_pattern, st.sets(st.sampled_from(UNIVERSE[:140]), max_size=3))
def test_overlaps_with_existing_directories_agrees_with_brute_force(raw_a, raw_b, existing):
    a, b = _normalized(raw_a), _normalized(raw_b)
    assume(a is not None and b is not None)

    def directories(prefix: str) -> list:
        return sorted(d for d in existing if d.startswith(prefix))

    covered_a, covered_b = _covered(a, b, existing), _covered(b, a, existing)
    assert overlaps(a, b, directories) is bool(covered_a & covered_b)
    witness = example_overlap(a, b, directories)
    assert (witness is not None) is bool(covered_a & covered_b)
    if witness is not None:
        assert _covers(a, b, witness, existing) and _covers(b, a, witness, existing)


# A wider grammar: odd bracket expressions (']' first is literal, a trailing '-' is literal, a
# backslash escapes, '[!+-0]' names '/', POSIX classes), escapes, three tokens per segment, three
# segments.  Here the universe is not complete, so an overlap is checked by its witness,
# verified with matching.
WIDE_TOKENS = TOKENS + [
    "-", "]", " ", "[^b]", "[]a]", "[!]]", "[a-c]", "[!+-0]", "[\\\\]", "[\\]]", "[!\\-]", "[!a-]", "[!---]",
    "[!]-a]", "\\*", "\\[", "\\\\", ".md", "x.", "[[:alpha:]]", "[![:punct:]]", "***",
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
        assert _covers(a, b, witness) and _covers(b, a, witness)
    else:
        assert not (_covered(a, b) & _covered(b, a))


@settings(max_examples=300, deadline=None)
@given(wide_pattern, path_text, st.booleans())
def test_matching_agrees_with_the_overlap_automaton(raw, path, casefold):
    try:
        syntax.parse(raw)
    except syntax.PatternError:
        assume(False)
    assert matches(raw, path, casefold) is _accepts(automaton.automaton(raw, casefold, beneath=False), path)
    assert covers(raw, path, casefold) is _accepts(automaton.automaton(raw, casefold), path)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["x", "[+-0]", "[!+-0]", "[a+-0]", "*", "?", "[/]"]), min_size=1, max_size=3),
    st.text(alphabet="x+,-./0a", min_size=1, max_size=5),
)
def test_brackets_holding_slash_never_match_it(tokens, path):
    # normalize refuses them, but the parser reads them as git does
    pattern = "".join(tokens)
    assert matches(pattern, path) is _accepts(automaton.automaton(pattern, beneath=False), path)
    if "/" in path and "**" not in pattern:
        assert not matches(pattern, path)


@settings(max_examples=200, deadline=None)
@given(wide_pattern, st.text(alphabet="ab./]-\\+0*[ ", min_size=1, max_size=8))
def test_literal_prefix_starts_every_covered_path(raw, path):
    pattern = _normalized(raw)
    assume(pattern is not None)
    prefix = literal_prefix(pattern)
    if covers(pattern, path):
        assert path.startswith(prefix)
    witness = example_overlap(pattern, "**")
    assert witness is not None and witness.startswith(prefix)


@settings(max_examples=150, deadline=None)
@given(wide_pattern)
def test_normalize_is_idempotent_on_the_wide_grammar(raw):
    pattern = _normalized(raw)
    assume(pattern is not None)
    assert normalize(pattern, ROOT) == pattern
    assert syntax.parse(pattern).text == pattern


# ---------------------------------------------------------------------------------------------
# Known directories, case, import cost and speed
# ---------------------------------------------------------------------------------------------


def test_existing_directories_extend_a_file_like_pattern_beneath_its_matches():
    def directories(prefix: str) -> list:
        return [d for d in ("src", "src/conf.d", "docs/a.md") if d.startswith(prefix)]

    assert not overlaps("src/*.d", "src/**/y")
    assert overlaps("src/*.d", "src/**/y", directories)
    assert example_overlap("src/*.d", "src/**/y", directories) == "src/conf.d/y"
    assert overlaps("docs/**/*.md", "docs/**/*.txt", directories)  # docs/a.md/x.txt
    assert not overlaps("docs/**/*.md", "docs/**/*.txt")
    assert overlaps("src/conf.d", "src/**/y", directories)  # a literal that exists as a directory
    assert not overlaps("src/conf.d", "src/**/y")
    assert not overlaps("*.py", "lib/x.py", directories)  # anchored, whatever exists


def test_casefold_overlap():
    assert overlaps("Src/A.py", "src/a.py", casefold=True)
    assert not overlaps("Src/A.py", "src/a.py")
    assert overlaps("SRC/*.PY", "src/a.py", casefold=True)
    assert overlaps("[A-C]/x", "b/*", casefold=True)
    assert not overlaps("[!a]", "A", casefold=True)
    assert example_overlap("SRC/**/*.PY", "src/x/*", casefold=True) is not None


def test_the_hook_imports_only_the_index_and_the_matcher():
    code = (
        "import sys, maf_hooks.patterns.index; "
        "print(sorted(m for m in ('re', 'typing', 'dataclasses', 'unicodedata', 'functools', "
        "'maf_hooks.patterns.automaton', 'maf_hooks.patterns.normal', 'maf_hooks.patterns.overlap', "
        "'maf_hooks.errors') if m in sys.modules))"
    )
    project = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-S", "-c", code], cwd=project, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


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


def test_matching_is_linear_in_path_and_pattern():
    pattern = "**/" + "*a" * 30 + "*c/**/" + "*a" * 30 + "*c"
    path = "/".join(["a" * 60] * 20)
    started = time.perf_counter()
    assert not matches(pattern, path)
    assert not covers(pattern, path)
    assert time.perf_counter() - started < 1.0


def test_normalize_refuses_more_stars_than_overlap_can_afford(tmp_path):
    """Overlap is a product search decided while the store's write lock is held: a pattern of
    thousands of stars would stall every other agent's acquire for seconds."""
    from maf_hooks.patterns.normal import MAX_STARS

    assert patterns.normalize("*a" * MAX_STARS, str(tmp_path))
    with pytest.raises(UsageError, match=f"at most {MAX_STARS}"):
        patterns.normalize("*a" * (MAX_STARS + 1), str(tmp_path))
    with pytest.raises(UsageError, match="wildcards"):
        patterns.normalize("/".join(["**"] * (MAX_STARS + 1)) + "/x", str(tmp_path))
