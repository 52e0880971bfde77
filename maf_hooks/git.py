"""Every git call the tool makes goes through this module.

Git runs as a subprocess (``import git`` from gitpython costs ~80 ms, too much for a hook that runs
on every commit); gitpython is used only by the slower commands, through :func:`repo`.
The environment is inherited unchanged: inside a hook git sets ``GIT_INDEX_FILE`` (``git commit -a``
and ``git commit PATH`` use a temporary index) and ``GIT_DIR`` for the repository being committed to,
and those are exactly the repository we must read.
"""

from __future__ import annotations

import os
import subprocess
from typing import NamedTuple, Sequence

from maf_hooks.errors import GitError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def run(args: Sequence[str], cwd: str | None = None, *, check: bool = True, stdin: bytes | None = None):
    """Run ``git ARGS``; return ``(returncode, stdout_bytes, stderr_bytes)``."""
    cmd = ["git", *args]
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise GitError(f"Could not run git ({exc.strerror or exc}): is git installed and on PATH?") from None
    if check and proc.returncode != 0:
        raise GitError(
            f"git {' '.join(args)} failed with exit code {proc.returncode}: "
            f"{proc.stderr.decode('utf-8', 'replace').strip() or 'no message'}"
        )
    return proc.returncode, proc.stdout, proc.stderr


def output(args: Sequence[str], cwd: str | None = None) -> str:
    return run(args, cwd)[1].decode("utf-8", "surrogateescape")


def zsplit(data: bytes) -> list[str]:
    """Split NUL-separated git output into str paths (undecodable bytes kept via surrogateescape)."""
    text = data.decode("utf-8", "surrogateescape")
    parts = text.split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


class RepoPaths(NamedTuple):
    root: str  # top of the current worktree
    git_dir: str  # this worktree's git directory
    common_dir: str  # shared by every linked worktree of the repository


def repo_paths(cwd: str | None = None) -> RepoPaths:
    """The worktree root, git dir and common dir, all absolute, in one git call."""
    base = os.path.abspath(cwd or os.getcwd())
    rc, out, err = run(
        ["rev-parse", "--show-toplevel", "--git-dir", "--git-common-dir"], base, check=False
    )
    if rc != 0:
        message = err.decode("utf-8", "replace").strip()
        if "not a git repository" in message:
            raise GitError(
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
    rc, out, _ = run(
        ["config", "-z", "--get-regexp", r"^(maf\.agentid|user\.email)$"], cwd, check=False
    )
    if rc not in (0, 1):
        return None, None
    values: dict[str, str] = {}
    for entry in zsplit(out):
        key, _, value = entry.partition("\n")
        values[key.lower()] = value.strip()
    return values.get("maf.agentid") or None, values.get("user.email") or None


def repo(path: str):
    """A gitpython ``Repo`` for the slower commands (imported lazily: it is heavy)."""
    import git as gitpython  # noqa: PLC0415 - kept off the hook's import path

    try:
        return gitpython.Repo(path, search_parent_directories=True)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
        raise GitError(f"Not inside a git repository ({path}).") from None


# --- what a commit or a push changes -------------------------------------------------------

ZERO_SHA = "0" * 40


def _names(args: Sequence[str], cwd: str) -> set[str]:
    return set(zsplit(run(args, cwd)[1]))


def staged_paths(paths: RepoPaths) -> set[str]:
    """Paths the commit being made changes: staged changes against HEAD (all staged paths before
    the first commit). ``--no-renames`` lists a rename as its old and its new path; unmerged
    paths are included. During a merge only paths whose staged content differs from every parent.
    """
    base = ["diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff"]
    merge_head = os.path.join(paths.git_dir, "MERGE_HEAD")
    if not os.path.exists(merge_head):
        return _names(base, paths.root)  # without a commit argument: HEAD, or the empty tree if unborn
    with open(merge_head, encoding="ascii", errors="replace") as handle:
        parents = ["HEAD", *(line.strip() for line in handle if line.strip())]
    changed: set[str] | None = None
    for parent in parents:
        names = _names([*base, parent, "--"], paths.root)
        changed = names if changed is None else changed & names
    return changed or set()


def range_paths(paths: RepoPaths, revs: Sequence[str]) -> set[str]:
    """Every path changed by the commits selected by ``revs`` (``rev-list`` arguments), with merge
    commits read as dense combined diffs: only what the merge itself changed."""
    commits = run(["rev-list", "--reverse", *revs, "--"], paths.root)[1].decode("ascii").split()
    if not commits:
        return set()
    out = run(
        ["diff-tree", "--stdin", "-z", "-r", "--root", "--cc", "--name-only", "--no-renames", "--no-ext-diff"],
        paths.root, stdin=("\n".join(commits) + "\n").encode("ascii"),
    )[1]
    headers = set(commits)  # diff-tree names each commit before its paths (and skips empty ones)
    return {entry for entry in zsplit(out) if entry not in headers}


def span_revs(paths: RepoPaths, from_ref: str | None, to_ref: str) -> list[str]:
    """rev-list arguments for the commits a push of ``to_ref`` adds over ``from_ref``.

    No (or an all-zero, or an unknown) ``from_ref``: the commits not yet on any remote-tracking ref.
    """
    if from_ref and from_ref != ZERO_SHA and verify_commit(paths, from_ref):
        return [to_ref, "--not", from_ref]
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
        spans.append(span_revs(paths, remote_sha, local_sha))
    return spans
