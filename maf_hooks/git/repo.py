"""The repository a command runs in: its directories, the agent's identity in git config, and how
it compares paths (``core.ignorecase``, ``core.precomposeunicode``)."""

from __future__ import annotations

import os

from maf_hooks.errors import GitError
from maf_hooks.git.command import Background, Later, output, zsplit
from maf_hooks.gitfiles import PathSettings, RepoPaths, not_a_repository

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: this module is on the hook's path
if TYPE_CHECKING:
    from typing import Callable


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
                raise not_a_repository(base)
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



def origin_url(cwd: str | None = None) -> str | None:
    """The ``origin`` remote's URL as git rewrites it (``insteadOf``), or None without one."""
    rc, out, _ = Background(["remote", "get-url", "origin"], cwd).result(check=False)
    text = out.decode("utf-8", "surrogateescape").strip() if rc == 0 else ""
    return text or None
