"""git's wildmatch test table (t/t3070-wildmatch.sh), WM_PATHNAME columns, as this project's data.

Each row is (pattern, text, case-sensitive, case-insensitive): whether git's ``wildmatch`` with
WM_PATHNAME (and WM_CASEFOLD) matches. ``REFUSED`` patterns are ones git aborts on (an unclosed
bracket, an unknown class, a trailing backslash): git matches nothing with them, and this project
refuses them. ``LS_FILES`` lists the rows where ``git ls-files ':(glob)PATTERN'`` answers
otherwise than wildmatch (it compares a pathspec with the path literally before globbing).
"""

from __future__ import annotations

import subprocess
import time

import pytest

from maf_hooks.patterns import matches, parse
from maf_hooks.patterns.syntax import PatternError

ROWS = [
    # basic wildmatch features
    ("foo", "foo", 1, 1),
    ("bar", "foo", 0, 0),
    ("", "", 1, 1),
    ("???", "foo", 1, 1),
    ("??", "foo", 0, 0),
    ("*", "foo", 1, 1),
    ("f*", "foo", 1, 1),
    ("*f", "foo", 0, 0),
    ("*foo*", "foo", 1, 1),
    ("*ob*a*r*", "foobar", 1, 1),
    ("*ab", "aaaaaaabababab", 1, 1),
    ("foo\\*", "foo*", 1, 1),
    ("foo\\*bar", "foobar", 0, 0),
    ("f\\\\oo", "f\\oo", 1, 1),
    ("*[al]?", "ball", 1, 1),
    ("[ten]", "ten", 0, 0),
    ("**[!te]", "ten", 1, 1),
    ("**[!ten]", "ten", 0, 0),
    ("t[a-g]n", "ten", 1, 1),
    ("t[!a-g]n", "ten", 0, 0),
    ("t[!a-g]n", "ton", 1, 1),
    ("t[^a-g]n", "ton", 1, 1),
    ("a[]]b", "a]b", 1, 1),
    ("a[]-]b", "a-b", 1, 1),
    ("a[]-]b", "a]b", 1, 1),
    ("a[]-]b", "aab", 0, 0),
    ("a[]a-]b", "aab", 1, 1),
    ("]", "]", 1, 1),
    # slashes
    ("foo*bar", "foo/baz/bar", 0, 0),
    ("foo**bar", "foo/baz/bar", 0, 0),
    ("foo**bar", "foobazbar", 1, 1),
    ("foo/**/bar", "foo/baz/bar", 1, 1),
    ("foo/**/**/bar", "foo/baz/bar", 1, 1),
    ("foo/**/bar", "foo/b/a/z/bar", 1, 1),
    ("foo/**/**/bar", "foo/b/a/z/bar", 1, 1),
    ("foo/**/bar", "foo/bar", 1, 1),
    ("foo/**/**/bar", "foo/bar", 1, 1),
    ("foo?bar", "foo/bar", 0, 0),
    ("foo[/]bar", "foo/bar", 0, 0),
    ("foo[^a-z]bar", "foo/bar", 0, 0),
    ("f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo/bar", 0, 0),
    ("f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo-bar", 1, 1),
    ("**/foo", "foo", 1, 1),
    ("**/foo", "XXX/foo", 1, 1),
    ("**/foo", "bar/baz/foo", 1, 1),
    ("*/foo", "bar/baz/foo", 0, 0),
    ("**/bar*", "foo/bar/baz", 0, 0),
    ("**/bar/*", "deep/foo/bar/baz", 1, 1),
    ("**/bar/*", "deep/foo/bar/baz/", 0, 0),
    ("**/bar/**", "deep/foo/bar/baz/", 1, 1),
    ("**/bar/*", "deep/foo/bar", 0, 0),
    ("**/bar/**", "deep/foo/bar/", 1, 1),
    ("**/bar**", "foo/bar/baz", 0, 0),
    ("*/bar/**", "foo/bar/baz/x", 1, 1),
    ("*/bar/**", "deep/foo/bar/baz/x", 0, 0),
    ("**/bar/*/*", "deep/foo/bar/baz/x", 1, 1),
    # various
    ("a[c-c]st", "acrt", 0, 0),
    ("a[c-c]rt", "acrt", 1, 1),
    ("[!]-]", "]", 0, 0),
    ("[!]-]", "a", 1, 1),
    ("\\", "", 0, 0),
    ("\\", "\\", 0, 0),
    ("*/\\", "XXX/\\", 0, 0),
    ("*/\\\\", "XXX/\\", 1, 1),
    ("foo", "foo", 1, 1),
    ("@foo", "@foo", 1, 1),
    ("@foo", "foo", 0, 0),
    ("\\[ab]", "[ab]", 1, 1),
    ("[[]ab]", "[ab]", 1, 1),
    ("[[:]ab]", "[ab]", 1, 1),
    ("[[::]ab]", "[ab]", 0, 0),
    ("[[:digit]ab]", "[ab]", 1, 1),
    ("[\\[:]ab]", "[ab]", 1, 1),
    ("\\??\\?b", "?a?b", 1, 1),
    ("\\a\\b\\c", "abc", 1, 1),
    ("", "foo", 0, 0),
    ("**/t[o]", "foo/bar/baz/to", 1, 1),
    # character classes
    ("[[:alpha:]][[:digit:]][[:upper:]]", "a1B", 1, 1),
    ("[[:digit:][:upper:][:space:]]", "a", 0, 1),
    ("[[:digit:][:upper:][:space:]]", "A", 1, 1),
    ("[[:digit:][:upper:][:space:]]", "1", 1, 1),
    ("[[:digit:][:upper:][:spaci:]]", "1", 0, 0),
    ("[[:digit:][:upper:][:space:]]", " ", 1, 1),
    ("[[:digit:][:upper:][:space:]]", ".", 0, 0),
    ("[[:digit:][:punct:][:space:]]", ".", 1, 1),
    ("[[:xdigit:]]", "5", 1, 1),
    ("[[:xdigit:]]", "f", 1, 1),
    ("[[:xdigit:]]", "D", 1, 1),
    ("[[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:graph:][:lower:][:print:][:punct:][:space:][:upper:][:xdigit:]]",
     "_", 1, 1),
    ("[^[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:lower:][:space:][:upper:][:xdigit:]]", ".", 1, 1),
    ("[a-c[:digit:]x-z]", "5", 1, 1),
    ("[a-c[:digit:]x-z]", "b", 1, 1),
    ("[a-c[:digit:]x-z]", "y", 1, 1),
    ("[a-c[:digit:]x-z]", "q", 0, 0),
    # malformed patterns and odd brackets
    ("[\\\\-^]", "]", 1, 1),
    ("[\\\\-^]", "[", 0, 0),
    ("[\\-_]", "-", 1, 1),
    ("[\\]]", "]", 1, 1),
    ("[\\]]", "\\]", 0, 0),
    ("[\\]]", "\\", 0, 0),
    ("a[]b", "ab", 0, 0),
    ("a[]b", "a[]b", 0, 0),
    ("ab[", "ab[", 0, 0),
    ("[!", "ab", 0, 0),
    ("[-", "ab", 0, 0),
    ("[-]", "-", 1, 1),
    ("[a-", "-", 0, 0),
    ("[!a-", "-", 0, 0),
    ("[--A]", "-", 1, 1),
    ("[--A]", "5", 1, 1),
    ("[ --]", " ", 1, 1),
    ("[ --]", "$", 1, 1),
    ("[ --]", "-", 1, 1),
    ("[ --]", "0", 0, 0),
    ("[---]", "-", 1, 1),
    ("[------]", "-", 1, 1),
    ("[a-e-n]", "j", 0, 0),
    ("[a-e-n]", "-", 1, 1),
    ("[!------]", "a", 1, 1),
    ("[]-a]", "[", 0, 0),
    ("[]-a]", "^", 1, 1),
    ("[!]-a]", "^", 0, 0),
    ("[!]-a]", "[", 1, 1),
    ("[a^bc]", "^", 1, 1),
    ("[a-]b]", "-b]", 1, 1),
    ("[\\]", "\\", 0, 0),
    ("[\\\\]", "\\", 1, 1),
    ("[!\\\\]", "\\", 0, 0),
    ("[A-\\\\]", "G", 1, 1),
    ("b*a", "aaabbb", 0, 0),
    ("*ba*", "aabcaa", 0, 0),
    ("[,]", ",", 1, 1),
    ("[\\\\,]", ",", 1, 1),
    ("[\\\\,]", "\\", 1, 1),
    ("[,-.]", "-", 1, 1),
    ("[,-.]", "+", 0, 0),
    ("[,-.]", "-.]", 0, 0),
    ("[\\1-\\3]", "2", 1, 1),
    ("[\\1-\\3]", "3", 1, 1),
    ("[\\1-\\3]", "4", 0, 0),
    ("[[-\\]]", "\\", 1, 1),
    ("[[-\\]]", "[", 1, 1),
    ("[[-\\]]", "]", 1, 1),
    ("[[-\\]]", "-", 0, 0),
    # recursion
    ("-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1", 1, 1),
    ("-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1", 0, 0),
    ("-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-/-70-iso8859-1", 0, 0),
    ("XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", "XXX/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1", 1, 1),
    ("XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", "XXX/adobe/courier/bold/o/normal//12/120/75/75/X/70/iso8859/1", 0, 0),
    ("**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt", 1, 1),
    ("**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txtz", 0, 0),
    ("*/*/*", "foo", 0, 0),
    ("*/*/*", "foo/bar", 0, 0),
    ("*/*/*", "foo/bba/arr", 1, 1),
    ("*/*/*", "foo/bb/aa/rr", 0, 0),
    ("**/**/**", "foo/bb/aa/rr", 1, 1),
    ("*X*i", "abcXdefXghi", 1, 1),
    ("*X*i", "ab/cXd/efXg/hi", 0, 0),
    ("*/*X*/*/*i", "ab/cXd/efXg/hi", 1, 1),
    ("**/*X*/**/*i", "ab/cXd/efXg/hi", 1, 1),
    # pathmatch extras
    ("fo", "foo", 0, 0),
    ("foo/bar", "foo/bar", 1, 1),
    ("foo/*", "foo/bar", 1, 1),
    ("foo/*", "foo/bba/arr", 0, 0),
    ("foo/**", "foo/bba/arr", 1, 1),
    ("foo*", "foo/bba/arr", 0, 0),
    ("foo**", "foo/bba/arr", 0, 0),
    ("foo/*arr", "foo/bba/arr", 0, 0),
    ("foo/**arr", "foo/bba/arr", 0, 0),
    ("foo/*z", "foo/bba/arr", 0, 0),
    ("foo/**z", "foo/bba/arr", 0, 0),
    ("foo?bar", "foo/bar", 0, 0),
    ("foo[/]bar", "foo/bar", 0, 0),
    ("foo[^a-z]bar", "foo/bar", 0, 0),
    ("*Xg*i", "ab/cXd/efXg/hi", 0, 0),
    # case
    ("[A-Z]", "a", 0, 1),
    ("[A-Z]", "A", 1, 1),
    ("[a-z]", "A", 0, 1),
    ("[a-z]", "a", 1, 1),
    ("[[:upper:]]", "a", 0, 1),
    ("[[:upper:]]", "A", 1, 1),
    ("[[:lower:]]", "A", 0, 1),
    ("[[:lower:]]", "a", 1, 1),
    ("[B-Za]", "A", 0, 1),
    ("[B-Za]", "a", 1, 1),
    ("[B-a]", "A", 0, 1),
    ("[B-a]", "a", 1, 1),
    ("[Z-y]", "z", 0, 1),
    ("[Z-y]", "Z", 1, 1),
]

REFUSED = {"\\", "*/\\", "[[::]ab]", "[[:digit:][:upper:][:spaci:]]", "a[]b", "ab[", "[!", "[-", "[a-", "[!a-", "[\\]"}

# rows where git ls-files answers otherwise than wildmatch (literal comparison first)
LS_FILES = {("\\", "\\"): 1, ("a[]b", "a[]b"): 1, ("ab[", "ab["): 1, ("foo**", "foo/bba/arr"): 1}


def _id(row) -> str:
    return f"{row[0]!r} {row[1]!r}"


@pytest.mark.parametrize("pattern, text, expected, _folded", ROWS, ids=[_id(r) for r in ROWS])
def test_wildmatch_case_sensitive(pattern, text, expected, _folded):
    if pattern in REFUSED:
        assert not expected
        with pytest.raises(PatternError):
            parse(pattern)
    else:
        assert matches(pattern, text) is bool(expected)


@pytest.mark.parametrize("pattern, text, _expected, folded", ROWS, ids=[_id(r) for r in ROWS])
def test_wildmatch_case_insensitive(pattern, text, _expected, folded):
    if pattern in REFUSED:
        with pytest.raises(PatternError):
            parse(pattern, casefold=True)
    else:
        assert matches(pattern, text, casefold=True) is bool(folded)


def test_every_refused_pattern_is_in_the_table():
    assert REFUSED <= {row[0] for row in ROWS}


def _creatable(text: str) -> bool:
    return bool(text) and text != "." and "//" not in text and not text.endswith("/")


def _git(cwd, *args, env=None) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env).stdout


CHECKED = [row for row in ROWS if _creatable(row[1]) and row[0]]


def _conflict(a: str, b: str) -> bool:
    """Whether two paths cannot both be files (one is a directory of the other)."""
    return a.startswith(b + "/") or b.startswith(a + "/")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """Repositories holding every text of CHECKED as a staged file: text -> repository."""
    groups: list[list[str]] = []
    for text in dict.fromkeys(row[1] for row in CHECKED):
        group = next((g for g in groups if not any(_conflict(text, other) for other in g)), None)
        if group is None:
            group = []
            groups.append(group)
        group.append(text)
    where = {}
    for number, group in enumerate(groups):
        root = tmp_path_factory.mktemp(f"wildmatch{number}")
        _git(root, "init", "-q")
        for text in group:
            (root / text).parent.mkdir(parents=True, exist_ok=True)
            (root / text).write_text("")
            where[text] = root
        _git(root, "add", "--", *group)
    return where


def _ls_files(root, text: str, magic: str, pattern: str) -> bool:
    """Whether ``git ls-files`` lists ``text`` for the glob pathspec."""
    return text in _git(root, "ls-files", "-z", "--", f":({magic}){pattern}").decode().split("\0")


@pytest.mark.parametrize("pattern, text, expected, folded", CHECKED, ids=[_id(r) for r in CHECKED])
def test_table_agrees_with_the_installed_git(scratch, pattern, text, expected, folded):
    wanted = LS_FILES.get((pattern, text))
    assert _ls_files(scratch[text], text, "glob", pattern) is bool(expected if wanted is None else wanted)
    assert _ls_files(scratch[text], text, "glob,icase", pattern) is bool(folded if wanted is None else wanted)


def test_matching_cannot_backtrack_exponentially():
    pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*c"
    started = time.perf_counter()
    for name in ("a" * 40, "a" * 39 + "b", "x/" + "a" * 40):
        assert not matches(pattern, name)
        assert not matches("**/" + pattern, name)
        assert not matches(pattern, name, casefold=True)
    assert matches(pattern, "a" * 39 + "c")
    assert time.perf_counter() - started < 1.0
