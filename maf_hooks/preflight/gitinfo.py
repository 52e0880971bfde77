"""The git queries preflight needs beyond :mod:`maf_hooks.git` (all through ``git.run``)."""

from __future__ import annotations

import os

from maf_hooks import git


def working_tree_paths(paths: git.RepoPaths) -> set[str]:
    """Every path with uncommitted changes: staged, unstaged (tracked), and untracked files that
    are not ignored; each file of an untracked directory is listed. Renames count as their old
    and new path. ``--no-optional-locks``: reading the status never rewrites the index."""
    out = git.run(
        ["--no-optional-locks", "status", "--porcelain=v1", "-z", "--no-renames",
         "--untracked-files=all", "--ignore-submodules=dirty"],
        paths.root,
    )[1]
    changed = set()
    for entry in git.zsplit(out):
        if len(entry) > 3 and entry[2] == " ":
            changed.add(entry[3:])  # "XY path"
    return changed


def hooks_dir(paths: git.RepoPaths) -> str:
    """The directory git runs hooks from: ``core.hooksPath`` when set (relative to the worktree
    root, where hooks run), else the common directory's ``hooks`` (shared by linked worktrees)."""
    out = git.output(["rev-parse", "--git-path", "hooks"], paths.root).strip()
    return os.path.normpath(os.path.join(paths.root, out))


def hooks_path_setting(paths: git.RepoPaths) -> str | None:
    """The ``core.hooksPath`` value, or None when it is not set."""
    rc, out, _ = git.run(["config", "--get", "core.hooksPath"], paths.root, check=False)
    value = out.decode("utf-8", "surrogateescape").strip()
    return value if rc == 0 and value else None
