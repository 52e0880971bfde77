"""Every git call the tool makes goes through this module, and the one table of hook ids and stages.

Git runs as a subprocess (the git command line is what the hooks need, and a library such as
gitpython would cost the hook that runs on every commit tens of milliseconds of imports).
The environment is inherited unchanged: inside a hook git sets ``GIT_INDEX_FILE`` (``git commit -a``
and ``git commit PATH`` use a temporary index) and ``GIT_DIR`` for the repository being committed to,
and those are exactly the repository we must read.
"""

from __future__ import annotations

import os
import subprocess
from collections import namedtuple

from maf_hooks.errors import GitError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: this module is on the hook's path
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

# --- the hooks this project offers --------------------------------------------------------------

# Each hook id of .pre-commit-hooks.yaml and its stages (a test holds the two equal). `maf init`
# writes these stages, the preflight `hooks` check wants a git hook of each type installed, and
# `maf-preflight --fix` installs them. "manual" runs only when asked (`pre-commit run --hook-stage
# manual`): no git hook. pre-merge-commit: git runs it, not pre-commit, for a merge that completes
# on its own.
HOOK_STAGES: dict[str, tuple[str, ...]] = {
    "maf-reservations": ("pre-commit", "pre-merge-commit"),
    "maf-reservations-push": ("pre-push",),
    "maf-preflight": ("manual",),
}
MANUAL_STAGE = "manual"
# the hook ids git runs, with their git hook types; and every such type, in table order
GIT_HOOKS: dict[str, tuple[str, ...]] = {
    hook_id: tuple(stage for stage in stages if stage != MANUAL_STAGE)
    for hook_id, stages in HOOK_STAGES.items() if any(stage != MANUAL_STAGE for stage in stages)
}
HOOK_TYPES: tuple[str, ...] = tuple(dict.fromkeys(stage for stages in GIT_HOOKS.values() for stage in stages))


def install_command() -> str:
    """The ``pre-commit install`` command that installs a git hook of every type in :data:`HOOK_TYPES`."""
    return "pre-commit install " + " ".join(f"--hook-type {hook_type}" for hook_type in HOOK_TYPES)



def _not_run(exc: OSError) -> GitError:
    return GitError(f"Could not run git ({exc.strerror or exc}): is git installed and on PATH?")


def _finish(args: Sequence[str], returncode: int, stdout: bytes, stderr: bytes, check: bool):
    if check and returncode != 0:
        raise GitError(
            f"git {' '.join(args)} failed with exit code {returncode}: "
            f"{stderr.decode('utf-8', 'replace').strip() or 'no message'}"
        )
    return returncode, stdout, stderr


def run(args: Sequence[str], cwd: str | None = None, *, check: bool = True, stdin: bytes | None = None):
    """Run ``git ARGS``; return ``(returncode, stdout_bytes, stderr_bytes)``."""
    cmd = ["git", *args]
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise _not_run(exc) from None
    return _finish(args, proc.returncode, proc.stdout, proc.stderr, check)


class Background:
    """``git ARGS`` started now and collected later, so that the hook's own work (imports, reading
    the leases) runs while git does. :meth:`result` returns (or raises) what :func:`run` would;
    :meth:`cancel` stops a command whose answer is no longer wanted. With ``drain`` a thread reads
    the output meanwhile, so that a command with much to say never waits on a full pipe."""

    def __init__(self, args: Sequence[str], cwd: str | None = None, *, drain: bool = False):
        self.args = list(args)
        self._error: OSError | None = None
        self._output: tuple[bytes, bytes] | None = None
        self._failure: BaseException | None = None
        self._reader = None
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._proc = subprocess.Popen(["git", *self.args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            self._error = exc
            return
        if drain:
            import threading  # already loaded by subprocess

            self._reader = threading.Thread(target=self._collect, daemon=True)
            self._reader.start()

    def _collect(self) -> None:
        assert self._proc is not None
        try:
            self._output = self._proc.communicate()
        except BaseException as exc:  # noqa: BLE001 - re-raised by result(), in the caller's thread
            self._failure = exc

    def _wait(self) -> None:
        if self._reader is not None:
            self._reader.join()
        elif self._output is None and self._failure is None:
            self._collect()

    def result(self, *, check: bool = True):
        if self._error is not None:
            raise _not_run(self._error)
        self._wait()
        if self._failure is not None:
            raise self._failure
        assert self._proc is not None and self._output is not None  # no error: it ran and was read
        return _finish(self.args, self._proc.returncode, *self._output, check)

    def cancel(self) -> None:
        """Stop the command if it still runs (it only reads: nothing is left half done)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            try:
                self._proc.kill()
            except OSError:
                pass
        self._wait()



class Later:
    """An answer to collect later: calling it waits for the git command behind it (if any) and
    returns its result; :meth:`cancel` stops that command when the answer is no longer wanted."""

    __slots__ = ("_finish", "_job")

    def __init__(self, finish: Callable[[], Any], job: Background | None = None) -> None:
        self._finish, self._job = finish, job

    def __call__(self) -> Any:
        return self._finish()

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

def output(args: Sequence[str], cwd: str | None = None) -> str:
    return run(args, cwd)[1].decode("utf-8", "surrogateescape")


def zsplit(data: bytes) -> list[str]:
    """Split NUL-separated git output into str paths (undecodable bytes kept via surrogateescape)."""
    text = data.decode("utf-8", "surrogateescape")
    parts = text.split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


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

# --- what a commit or a push changes -------------------------------------------------------

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
    return staged_paths_later(paths)()


def staged_paths_later(paths: RepoPaths) -> Later:
    """Start :func:`staged_paths` now (outside a merge its one ``git diff``), to collect later:
    the call returns (or raises) what :func:`staged_paths` would."""
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

    def finish() -> set[str]:
        return set(zsplit(job.result()[1]))

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
