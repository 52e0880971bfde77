"""The repository a command runs in: its directories, the agent's identity in git config, and how
it compares paths (``core.ignorecase``, ``core.precomposeunicode``)."""

from __future__ import annotations

import os
from collections import namedtuple

from maf_hooks.errors import GitError, NotARepository
from maf_hooks.git.command import Background, Later, output, zsplit

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: this module is on the hook's path
if TYPE_CHECKING:
    from typing import Callable


class RepoPaths(namedtuple("RepoPaths", "root git_dir common_dir")):
    """``root``: top of the current worktree; ``git_dir``: this worktree's git directory;
    ``common_dir``: shared by every linked worktree of the repository. (A plain namedtuple: a
    ``typing.NamedTuple`` costs the hook typing's import and a compile per annotation.)"""

    __slots__ = ()


def repo_paths(cwd: str | None = None) -> RepoPaths:
    """The worktree root, git dir and common dir, all absolute, in one git call."""
    return repo_paths_later(cwd)()


def repo_paths_later(cwd: str | None = None) -> Callable[[], RepoPaths]:
    """Start the ``git rev-parse`` of :func:`repo_paths` now; the function returned waits for it
    and returns (or raises) what :func:`repo_paths` would."""
    base = os.path.abspath(cwd or os.getcwd())
    job = Background(["rev-parse", "--show-toplevel", "--git-dir", "--git-common-dir"], base)

    def finish() -> RepoPaths:
        rc, out, err = job.result(check=False)
        if rc != 0:
            message = err.decode("utf-8", "replace").strip()
            if "not a git repository" in message:
                raise NotARepository(
                    f"Not inside a git repository ({base}): run this from a clone or worktree, "
                    "or `git init` one first."
                )
            raise GitError(f"git rev-parse failed with exit code {rc}: {message or 'no message'}")
        lines = out.decode("utf-8", "surrogateescape").splitlines()
        if len(lines) != 3 or not lines[0]:
            raise GitError(
                f"Not inside a git worktree ({base}): maf needs a repository with a working tree."
            )
        root, git_dir, common_dir = lines
        return RepoPaths(
            os.path.normpath(root),
            os.path.normpath(os.path.join(base, git_dir)),
            os.path.normpath(os.path.join(base, common_dir)),
        )

    return finish


def main_worktree_root(paths: RepoPaths) -> str:
    """The top of the main worktree (the one that holds the common git directory)."""
    if os.path.basename(paths.common_dir) == ".git":
        return os.path.dirname(paths.common_dir)
    out = output(["worktree", "list", "--porcelain"], paths.root)
    for line in out.splitlines():
        if line.startswith("worktree "):
            return line[len("worktree "):]
    return paths.root


def identity(cwd: str | None = None) -> tuple[str | None, str | None]:
    """``(maf.agentId, user.email)`` from git config, either may be None; one git call."""
    return identity_later(cwd)()


def identity_later(cwd: str | None = None) -> Later:
    """Start the ``git config`` of :func:`identity` now; the function returned waits for it."""
    job = Background(["config", "-z", "--get-regexp", r"^(maf\.agentid|user\.email)$"], cwd)

    def finish() -> tuple[str | None, str | None]:
        rc, out, _ = job.result(check=False)
        if rc not in (0, 1):
            return None, None
        values: dict[str, str] = {}
        for entry in zsplit(out):
            key, _, value = entry.partition("\n")
            values[key.lower()] = value.strip()
        return values.get("maf.agentid") or None, values.get("user.email") or None

    return Later(finish, job)


class PathSettings(namedtuple("PathSettings", "ignorecase precompose")):
    """How the repository compares paths: ``core.ignorecase`` (names differing only in the case
    of ASCII letters are one file) and ``core.precomposeunicode`` (names are stored in NFC)."""

    __slots__ = ()


def path_settings(cwd: str | None = None) -> PathSettings:
    """:class:`PathSettings` from git config, in one git call."""
    return path_settings_later(cwd)()


def path_settings_later(cwd: str | None = None) -> Later:
    """Start the ``git config`` of :func:`path_settings` now, to collect later. A setting git
    cannot read counts as false."""
    job = Background(["config", "-z", "--bool", "--get-regexp", r"^core\.(ignorecase|precomposeunicode)$"], cwd)

    def finish() -> PathSettings:
        rc, out, _ = job.result(check=False)
        values: dict[str, bool] = {}
        if rc == 0:
            for entry in zsplit(out):
                key, _, value = entry.partition("\n")
                values[key.lower()] = value.strip() == "true"
        return PathSettings(values.get("core.ignorecase", False), values.get("core.precomposeunicode", False))

    return Later(finish, job)


def _git_bool(value: str | None) -> bool:
    """A boolean as git reads one: a key with no value is true; true/yes/on and a non-zero
    number are true (anything else false)."""
    if value is None:
        return True
    text = value.strip().lower()
    if text in ("true", "yes", "on"):
        return True
    try:
        return int(text, 0) != 0
    except ValueError:
        return False


def settings_later(cwd: str | None = None) -> Later:
    """:func:`identity` and :func:`path_settings` from ONE ``git config`` call (the edit-time
    hook runs on every edit): the function returned gives ``(maf.agentId, user.email,
    PathSettings)``."""
    job = Background(["config", "-z", "--get-regexp",
                      r"^(maf\.agentid|user\.email|core\.ignorecase|core\.precomposeunicode)$"], cwd)

    def finish() -> tuple[str | None, str | None, PathSettings]:
        rc, out, _ = job.result(check=False)
        values: dict[str, str | None] = {}
        if rc == 0:
            for entry in zsplit(out):
                key, newline, value = entry.partition("\n")
                values[key.lower()] = value if newline else None
        agent_id, email = values.get("maf.agentid"), values.get("user.email")
        settings = PathSettings(_git_bool(values["core.ignorecase"]) if "core.ignorecase" in values else False,
                                _git_bool(values["core.precomposeunicode"]) if "core.precomposeunicode" in values
                                else False)
        return (agent_id.strip() or None) if agent_id else None, (email.strip() or None) if email else None, settings

    return Later(finish, job)


def _read_first_line(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.readline().rstrip("\n")
    except (OSError, UnicodeError):
        return None


def discover(cwd: str) -> RepoPaths | None:
    """:func:`repo_paths` without running git, for the plain layouts (a ``.git`` directory, or a
    ``.git`` file of a linked worktree or submodule naming its git directory, whose
    ``commondir`` names the shared one): None when git itself must be asked (a ``GIT_*``
    variable that changes discovery, or anything unusual). Raises NotARepository when no
    directory up to the root holds a ``.git``."""
    if any(os.environ.get(name) for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES",
                                               "GIT_DISCOVERY_ACROSS_FILESYSTEM")):
        return None
    here = os.path.abspath(cwd)
    while True:
        dot_git = os.path.join(here, ".git")
        if os.path.isdir(dot_git):
            git_dir = dot_git
        elif os.path.isfile(dot_git):
            line = _read_first_line(dot_git)
            if not line or not line.startswith("gitdir: "):
                return None
            git_dir = os.path.normpath(os.path.join(here, line[len("gitdir: "):]))
        else:
            parent = os.path.dirname(here)
            if parent == here:
                raise NotARepository(f"Not inside a git repository ({os.path.abspath(cwd)}).")
            here = parent
            continue
        if not os.path.isfile(os.path.join(git_dir, "HEAD")):
            return None
        common = _read_first_line(os.path.join(git_dir, "commondir"))
        common_dir = os.path.normpath(os.path.join(git_dir, common)) if common else git_dir
        return RepoPaths(here, git_dir, common_dir)
