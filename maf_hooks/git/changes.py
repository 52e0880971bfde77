"""What a commit or a push changes: the staged paths, the paths of a range of commits, and the
ranges a pre-push hook is told about."""

from __future__ import annotations

import os

from maf_hooks.git.command import Background, Later, run, zsplit
from maf_hooks.git.repo import RepoPaths

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: this module is on the hook's path
if TYPE_CHECKING:
    from typing import Sequence

ZERO_SHA = "0" * 40


def _names(args: Sequence[str], cwd: str) -> set[str]:
    return set(zsplit(run(args, cwd)[1]))


# --ignore-submodules=none: a submodule configured with ignore = all still changes its gitlink
_STAGED = ("diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--ignore-submodules=none")


def staged_paths(paths: RepoPaths) -> set[str]:
    """Paths the commit being made changes: staged changes against HEAD (all staged paths before
    the first commit). ``--no-renames`` lists a rename as its old and its new path; unmerged
    paths are included. During a merge only paths whose staged content differs from every parent.
    """
    return set(staged_paths_later(paths)())


def staged_paths_later(paths: RepoPaths) -> Later:
    """Start :func:`staged_paths` now (outside a merge its one ``git diff``), to collect later:
    the call returns (or raises) the paths :func:`staged_paths` would (outside a merge as a list,
    in git's order)."""
    merge_head = os.path.join(paths.git_dir, "MERGE_HEAD")
    if os.path.exists(merge_head):
        def during_merge() -> set[str]:
            with open(merge_head, encoding="ascii", errors="replace") as handle:
                parents = ["HEAD", *(line.strip() for line in handle if line.strip())]
            changed: set[str] | None = None
            for parent in parents:
                names = _names([*_STAGED, parent, "--"], paths.root)
                changed = names if changed is None else changed & names
            return changed or set()

        return Later(during_merge)
    job = Background(_STAGED, paths.root, drain=True)  # without a commit argument: HEAD, or the empty tree if unborn

    def finish() -> list[str]:
        # in git's order (sorted: what the lease index sorts again at no cost); an unmerged path
        # may be named more than once, which the lease index reads as once
        return zsplit(job.result()[1])

    return Later(finish, job)


def range_paths(paths: RepoPaths, revs: Sequence[str]) -> set[str]:
    """Every path changed by the commits selected by ``revs`` (``rev-list`` arguments), with merge
    commits read as dense combined diffs: only what the merge itself changed."""
    commits = run(["rev-list", "--reverse", *revs, "--"], paths.root)[1].decode("ascii").split()
    if not commits:
        return set()
    out = run(
        ["diff-tree", "--stdin", "-z", "-r", "--root", "--cc", "--name-only", "--no-renames", "--no-ext-diff",
         "--ignore-submodules=none"],
        paths.root, stdin=("\n".join(commits) + "\n").encode("ascii"),
    )[1]
    headers = set(commits)  # diff-tree names each commit before its paths (and skips empty ones)
    return {entry for entry in zsplit(out) if entry not in headers}


def span_revs(paths: RepoPaths, from_ref: str | None, to_ref: str, *, publishing: bool = False) -> list[str]:
    """rev-list arguments for the commits a push of ``to_ref`` adds over ``from_ref``.

    No (or an all-zero, or an unknown) ``from_ref``: the commits not yet on any remote-tracking ref.
    ``publishing`` (a real push): commits already on a remote-tracking ref are left out too, so a
    branch that merged or rebased onto work already pushed is judged by its own commits only.
    """
    if from_ref and from_ref != ZERO_SHA and verify_commit(paths, from_ref):
        return [to_ref, "--not", from_ref, *(["--remotes"] if publishing else [])]
    return [to_ref, "--not", "--remotes"]


def verify_commit(paths: RepoPaths, ref: str) -> bool:
    rc, _, _ = run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], paths.root, check=False)
    return rc == 0


def pre_push_revs(paths: RepoPaths, stdin_text: str) -> list[list[str]]:
    """rev-list argument lists for every ref line git gives pre-push on standard input.

    ``<local ref> <local sha> <remote ref> <remote sha>``: a deletion (local sha all zeros) checks
    nothing; a new branch (remote sha all zeros) checks the commits not on any remote-tracking ref.
    """
    spans = []
    for line in stdin_text.splitlines():
        fields = line.split()
        if len(fields) != 4:
            continue
        _local_ref, local_sha, _remote_ref, remote_sha = fields
        if local_sha == ZERO_SHA:
            continue
        spans.append(span_revs(paths, remote_sha, local_sha, publishing=True))
    return spans
