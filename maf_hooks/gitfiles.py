"""What a repository's git files say, read without running git: where the repository is, and
how it compares paths (``core.ignorecase``, ``core.precomposeunicode``).

For the edit-time hook, which runs on every edit of every agent: starting git (and importing
``subprocess`` to do it) costs more than the rest of an allowed edit. Each reader handles only the
plain cases and answers None whenever git itself must be asked (a ``GIT_*`` variable that changes
discovery or configuration, an include, a per-worktree configuration, any line it does not fully
understand, either setting named in a global or system file); :mod:`maf_hooks.git` asks git then.
"""

from __future__ import annotations

import os
from collections import namedtuple

from maf_hooks.errors import NotARepository

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from maf_hooks.git import Later


class RepoPaths(namedtuple("RepoPaths", "root git_dir common_dir")):
    """``root``: top of the current worktree; ``git_dir``: this worktree's git directory;
    ``common_dir``: shared by every linked worktree of the repository. (A plain namedtuple: a
    ``typing.NamedTuple`` costs the hook typing's import and a compile per annotation.)"""

    __slots__ = ()


class PathSettings(namedtuple("PathSettings", "ignorecase precompose")):
    """How the repository compares paths: ``core.ignorecase`` (names differing only in the case
    of ASCII letters are one file) and ``core.precomposeunicode`` (names are stored in NFC)."""

    __slots__ = ()

_DISCOVERY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES",
                        "GIT_DISCOVERY_ACROSS_FILESYSTEM")
_CONFIG_VARIABLES = ("GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_COUNT",
                     "GIT_CONFIG_PARAMETERS")
_KEYS = ("ignorecase", "precomposeunicode")


def _first_line(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8-sig") as handle:  # a byte-order mark is skipped, as git does
            return handle.readline().rstrip("\n")
    except (OSError, UnicodeError):
        return None


def not_a_repository(base: str) -> NotARepository:
    """The one refusal of a directory that no repository holds (here and in :mod:`maf_hooks.git`)."""
    return NotARepository(f"Not inside a git repository ({base}): run this from a clone or worktree, "
                          "or `git init` one first.")


def discover(cwd: str, environ: Mapping[str, str]) -> tuple[str, str, str] | None:
    """``(root, git_dir, common_dir)`` as ``git rev-parse`` gives them, for the plain layouts (a
    ``.git`` directory, or a ``.git`` file naming the git directory, as linked worktrees and
    submodules have, whose ``commondir`` names the shared one); None when git must be asked.
    Raises NotARepository when no directory up to the root holds a ``.git``. Git is asked
    instead inside a git directory (a bare repository, or within ``.git``), for a repository
    another user owns (git's ``safe.directory`` rule), and for one whose configuration sets
    ``core.worktree`` or ``core.bare``."""
    if any(environ.get(name) for name in _DISCOVERY_VARIABLES):
        return None
    here = os.path.abspath(cwd)
    while True:
        if _is_git_dir(here):
            return None
        dot_git = os.path.join(here, ".git")
        if os.path.isdir(dot_git):
            git_dir = dot_git
        elif os.path.isfile(dot_git):
            line = _first_line(dot_git)
            if not line or not line.startswith("gitdir: "):
                return None
            git_dir = os.path.normpath(os.path.join(here, line[len("gitdir: "):]))
        else:
            parent = os.path.dirname(here)
            if parent == here:
                raise not_a_repository(os.path.abspath(cwd))
            here = parent
            continue
        if not os.path.isfile(os.path.join(git_dir, "HEAD")) or not _owned(here, git_dir):
            return None
        common = _first_line(os.path.join(git_dir, "commondir"))
        common_dir = os.path.normpath(os.path.join(git_dir, common)) if common else git_dir
        config = _read(os.path.join(common_dir, "config"))
        if config is None or not _plain_layout(config):
            return None
        return here, git_dir, common_dir


def _is_git_dir(path: str) -> bool:
    """Whether ``path`` looks like a git directory itself (``HEAD``, ``objects/``, ``refs/``)."""
    return (os.path.isfile(os.path.join(path, "HEAD")) and os.path.isdir(os.path.join(path, "objects"))
            and os.path.isdir(os.path.join(path, "refs")))


def _owned(*paths: str) -> bool:
    """Whether this user owns every one of ``paths`` (else git's ``safe.directory`` decides)."""
    try:
        return all(os.stat(path).st_uid == os.geteuid() for path in paths)
    except OSError:
        return False


def _plain_layout(config: str) -> bool:
    """False when the repository's own configuration moves or removes its work tree
    (``core.worktree``, a true ``core.bare``): git then says where the work tree is."""
    for raw in config.splitlines():
        key, equals, value = raw.strip().partition("=")
        key, value = key.strip().lower(), value.split("#")[0].split(";")[0].strip().lower()
        if key == "worktree" or (key == "bare" and (value in _TRUE or not equals)):
            return False
    return True


def _read(path: str) -> str | None:
    """The file's text (a byte-order mark skipped, as git does); '' when it does not exist; None
    when it cannot be read."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeError):
        return None


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0", "")


def _core_settings(text: str) -> dict[str, bool] | None:
    """``core.ignorecase`` and ``core.precomposeunicode`` of one config file's text (the last one
    wins, as in git); None for anything beyond plain ``[section]`` headers and ``key = value``
    lines (an include, a quoted or continued value, a subsection of core)."""
    found: dict[str, bool] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            header = line[1:line.find("]")] if "]" in line else None
            if header is None or line[line.find("]") + 1:].strip()[:1] not in ("", "#", ";"):
                return None
            section = header.strip().lower()
            if section.startswith(("include", "core ", 'core"')):
                return None
            continue
        if section != "core":
            continue
        key, equals, value = line.partition("=")
        key = key.strip().lower()
        if key not in _KEYS:
            continue
        value = value.split("#", 1)[0].split(";", 1)[0].strip().lower()
        if '"' in value or "\\" in value:
            return None
        if not equals:
            found[key] = True  # a key with no value is true
        elif value in _TRUE:
            found[key] = True
        elif value in _FALSE:
            found[key] = False
        else:
            return None  # a number or anything else git reads its own way
    return found


def _mentions_settings(text: str) -> bool:
    lowered = text.lower()
    return "include" in lowered or any(key in lowered for key in _KEYS)


def path_settings(git_dir: str, common_dir: str, environ: Mapping[str, str]) -> PathSettings | None:
    """How the repository compares paths, from its own config file; None when git must be asked
    (see the module docstring)."""
    if any(environ.get(name) for name in _CONFIG_VARIABLES):
        return None
    home = environ.get("HOME") or os.path.expanduser("~")
    xdg = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    others = [os.path.join(home, ".gitconfig"), os.path.join(xdg, "git", "config")]
    if not environ.get("GIT_CONFIG_NOSYSTEM"):
        others.append("/etc/gitconfig")
    for path in others:
        text = _read(path)
        if text is None or _mentions_settings(text):
            return None
    local = _read(os.path.join(common_dir, "config"))
    if local is None or "worktreeconfig" in local.lower():
        return None
    found = _core_settings(local)
    if found is None:
        return None
    return PathSettings(found.get("ignorecase", False), found.get("precomposeunicode", False))


def repo_paths(cwd: str, environ: Mapping[str, str]) -> RepoPaths | None:
    """:func:`discover` as a :class:`maf_hooks.git.repo.RepoPaths` (None: ask git)."""
    found = discover(cwd, environ)
    if found is None:
        return None
    return RepoPaths(*found)


def located(cwd: str, environ: Mapping[str, str]) -> RepoPaths:
    """The repository holding ``cwd``: read from its files where they are plain, else git's own
    answer (NotARepository when there is none). Every command finds its repository this way."""
    found = repo_paths(cwd, environ)
    if found is None:
        from maf_hooks import git

        found = git.repo_paths(cwd)
    return found


def located_later(cwd: str | None, environ: Mapping[str, str]) -> Callable[[], RepoPaths]:
    """:func:`located` (of ``cwd``, else the current directory) as a function to call later (the
    commit hook's): where git must be asked, its ``rev-parse`` starts now and runs meanwhile."""
    found = repo_paths(cwd or os.getcwd(), environ)
    if found is not None:
        return lambda: found
    from maf_hooks import git

    return git.repo_paths_later(cwd)


def settings_of(paths: RepoPaths, environ: Mapping[str, str]) -> PathSettings:
    """How the repository of ``paths`` compares paths: from its config file where plain, else git's."""
    found = path_settings(paths.git_dir, paths.common_dir, environ)
    if found is None:
        from maf_hooks import git

        found = git.path_settings(paths.root)
    return found


def settings_later(paths: RepoPaths, environ: Mapping[str, str]) -> Later:
    """:func:`settings_of` as a :class:`maf_hooks.git.Later` (call it for the answer, ``cancel()``
    it when unwanted): where git must be asked, its ``git config`` starts now."""
    from maf_hooks import git

    found = path_settings(paths.git_dir, paths.common_dir, environ)
    return git.Later(lambda: found) if found is not None else git.path_settings_later(paths.root)


def index_entries(git_dir: str, environ: Mapping[str, str], cwd: str) -> int | None:
    """How many entries git's index holds (``GIT_INDEX_FILE``, relative to ``cwd``, else
    ``git_dir/index``), from its 12-byte header (gitformat-index: ``DIRC``, a version, the count,
    in network byte order); None when it cannot be read or is not such a file. An upper bound on
    how many paths a commit of it can change."""
    path = environ.get("GIT_INDEX_FILE") or os.path.join(git_dir, "index")
    try:
        with open(os.path.join(cwd, path), "rb") as handle:
            header = handle.read(12)
    except OSError:
        return None
    if len(header) != 12 or header[:4] != b"DIRC":
        return None
    return int.from_bytes(header[8:12], "big")
