"""Patterns and paths as given by a user, made repository-relative and canonical.

On the command line a pattern or path is relative to the current directory, as git's pathspecs
are (``cwd``); ``:/`` anchors it at the repository root; an absolute path inside the repository is
converted. Elsewhere (configuration, programmatic callers: ``cwd`` None) it is relative to the
root. ``precompose`` (``core.precomposeunicode``) stores names in NFC, the form git stores.
"""

from __future__ import annotations

import os

from maf_hooks.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING: the edit-time hook reads paths through this module
if TYPE_CHECKING:
    from collections.abc import Sequence

    from maf_hooks.patterns import syntax

MAX_PATTERN_LENGTH = 4096
# Deciding whether two patterns overlap is a product search, which grows with the product of
# their stars; a lease request is decided inside the store's write section, so a pattern with
# thousands of stars would hold every other agent's lease request up for seconds.
MAX_STARS = 64
_ROOT_HINT = "to lease every file in the repository use '**'"
_ACCEPTED = (
    "A pattern is a path relative to the current directory (or ':/' and a path from the "
    "repository root, or an absolute path inside it) with optional git wildcards, e.g. "
    "'src/app.py', 'docs/' or 'src/**/*.py'."
)


def _refuse(raw: str, problem: str, accepted: str, what: str = "pattern") -> UsageError:
    return UsageError(f"Invalid {what} {raw!r}: {problem}. {accepted}")


def _resolve(parts: Sequence[str], raw: str, what: str) -> list[str]:
    """Drop empty and '.' segments and resolve '..'; refuse one that escapes the root."""
    out: list[str] = []
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                raise _refuse(raw, "it leads outside the repository root", _ACCEPTED, what)
            out.pop()
        else:
            out.append(part)
    return out


def _absolute_segments(path: str) -> list[str]:
    """Syntactically normalised segments of an absolute path ('..' at '/' stays at '/')."""
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    return out


def _relative_to_root(raw: str, repo_root: str, what: str) -> list[str]:
    """The segments of absolute ``raw`` below the repository root, trying real paths too."""
    segments = _absolute_segments(raw)
    roots = [_absolute_segments(os.path.abspath(repo_root)), _absolute_segments(os.path.realpath(repo_root))]
    candidates = [segments]
    for keep in range(len(segments), 0, -1):
        existing = "/" + "/".join(segments[:keep])
        if os.path.lexists(existing):
            candidates.append(_absolute_segments(os.path.realpath(existing)) + segments[keep:])
            break
    for candidate in candidates:
        for root in roots:
            if candidate[: len(root)] == root:
                return candidate[len(root) :]
    raise _refuse(
        raw,
        f"it is an absolute path outside the repository {repo_root!r}",
        "Give a path inside the repository, absolute or relative to the current directory.",
        what,
    )


def _check_text(raw: object, what: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _refuse(str(raw), "it is empty", _ACCEPTED, what)
    if what == "path":  # any file name: bytes that are no UTF-8 (kept as surrogates), any length
        return raw
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"Invalid {what} {raw!r}: it is not valid UTF-8. Patterns are text; name such a file "
            "through a glob instead (for example 'src/bad*.txt')."
        ) from None
    if len(raw) > MAX_PATTERN_LENGTH:
        raise UsageError(
            f"Invalid {what} {raw[:60]!r}...: it is {len(raw)} characters long. "
            f"Patterns are at most {MAX_PATTERN_LENGTH} characters."
        )
    return raw


def _segments(raw: str, repo_root: str, cwd: str | None, what: str) -> list[str]:
    """``raw`` as repository-relative segments ('.', '..' and empty ones resolved)."""
    if not raw.strip("/") or raw == ":/":
        raise _refuse(raw, "it names the repository root itself", f"Name files or directories inside it; {_ROOT_HINT}.", what)
    text = raw
    if text.startswith(":/"):
        text, base = text[2:], []
    elif os.path.isabs(text):
        base, text = _relative_to_root(text, repo_root, what), ""
    elif cwd is not None:
        base = _relative_to_root(os.path.abspath(cwd), repo_root, what)
    else:
        base = []
    segments = _resolve(base + text.split("/"), raw, what)
    if not segments:
        raise _refuse(raw, "it names the repository root itself", f"Name files or directories inside it; {_ROOT_HINT}.", what)
    return segments


def _nfc(text: str, precompose: bool) -> str:
    if not precompose or text.isascii():
        return text
    import unicodedata

    return unicodedata.normalize("NFC", text)


def _stars(parsed: syntax.Parsed) -> int:
    """The star runs of a parsed pattern: ``**`` segments and ``*`` tokens."""
    from maf_hooks.patterns import syntax

    return sum(1 if segment is syntax.DSTAR else sum(token is syntax.STAR for token in segment)
               for segment in parsed.segments)


def normalize(
    raw: str,
    repo_root: str,
    *,
    cwd: str | None = None,
    directory_slash: bool = False,
    precompose: bool = False,
) -> str:
    """Validate a user-given pattern and return its canonical repository-relative form.

    Relative to ``cwd`` when given (the command line), else to the root; ``:/`` anchors at the
    root; absolute paths inside the repository become relative; './', '.' segments and repeated
    '/' disappear; '..' is resolved; a trailing '/' is kept; star runs are collapsed
    (``a/***/b`` is ``a/**/b``). Raises ``UsageError`` for an empty pattern, one with NUL,
    newline or carriage return, one longer than ``MAX_PATTERN_LENGTH``, one outside the
    repository or naming its root, one ending in unescaped whitespace, one git cannot read (lone
    trailing backslash, unclosed '[', unknown class, reversed range), one with a bracket
    expression holding '/' (brackets never match '/') and one that covers no valid path.

    With ``directory_slash`` (for patterns to lease) a literal pattern naming an existing
    directory under ``repo_root`` gets a trailing '/'. A symbolic link is a file to git.
    """
    from maf_hooks.patterns import automaton, syntax  # loaded here: a path (normalize_path) needs neither

    raw = _check_text(raw, "pattern")
    if any(char in raw for char in "\0\n\r"):
        raise _refuse(raw, "it contains a NUL, newline or carriage-return character", "A pattern is one line of text.")
    try:
        found = syntax.parse(raw).slash_bracket
    except syntax.PatternError as error:
        raise _refuse(raw, "it " + error.reason, _ACCEPTED) from None
    if found is not None:
        raise _refuse(
            raw,
            f"its bracket expression {found!r} holds '/' itself or a range that spans '/'",
            "A bracket expression never matches '/', which separates directories: list the "
            "characters on either side of '/' instead (e.g. '[+-.0-9]' rather than '[+-9]'), "
            "or use '**' to match across directories.",
        )
    stars = _stars(syntax.parse(raw))
    if stars > MAX_STARS:
        raise _refuse(raw, f"it has {stars} wildcards '*' or '**'",
                      f"A pattern has at most {MAX_STARS}; a few are enough to name any set of files.")
    is_dir = raw.endswith("/")
    pattern = "/".join(_segments(raw, repo_root, cwd, "pattern")) + ("/" if is_dir else "")
    if not pattern.endswith("\\ ") and pattern.rstrip() != pattern:
        raise _refuse(
            raw,
            "it ends with whitespace, which git patterns ignore",
            "Remove it, or write '\\ ' for a file name that really ends with a space.",
        )
    pattern = _nfc(syntax.parse(pattern).text, precompose)
    if not automaton.search(automaton.automaton(pattern), automaton.automaton("**")):
        raise _refuse(raw, "it covers no file: every path it could match has an empty, '.' or '..' component", _ACCEPTED)
    if directory_slash and not pattern.endswith("/") and syntax.is_literal(pattern):
        target = os.path.join(repo_root, syntax.unescape(pattern))
        if os.path.isdir(target) and not os.path.islink(target):
            pattern += "/"
    return pattern


def normalize_path(raw: str, repo_root: str, *, cwd: str | None = None, precompose: bool = False) -> str:
    """A user-given path (not a pattern: '[', '*' and '\\' are ordinary characters; any file
    name git can hold, of any length, its undecodable bytes kept as surrogates as git's output is
    read) as a repository-relative path without a trailing '/'; relative to ``cwd`` when given."""
    raw = _check_text(raw, "path")
    if "\0" in raw:
        raise _refuse(raw, "it contains a NUL character", "No file name holds one.", "path")
    return _nfc("/".join(_segments(raw, repo_root, cwd, "path")), precompose)
