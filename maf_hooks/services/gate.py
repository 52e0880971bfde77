"""Deciding a commit or push: the changed paths against the active leases.

The hot path (the no-conflict commit) in order: the repository and how it compares paths
(``core.ignorecase``) are read from git's own files where they are plain
(:mod:`maf_hooks.gitfiles`), else ``git rev-parse`` runs while the modules load and a ``git
config`` beside the later calls; once an active lease exists, the ``git diff`` of the staged
paths and, without MAF_AGENT_ID, the ``git config`` for the identity run side by side; while the
diff still runs, a modest number of open leases is read whole
(:func:`maf_hooks.services.lookup.read_while_waiting`) and indexed, else only the leases that can
cover a changed path are read once it has answered (:func:`maf_hooks.services.lookup.rows_for`);
:func:`maf_hooks.core.decision.judge_index` decides. Git is called only when a lease is active
(a diff started beside an identity that proves invalid is stopped). This module is imported by
the git hook: it imports only what that path needs.
"""

from __future__ import annotations

from maf_hooks import git, gitfiles, hook_timing
from maf_hooks.core import policy
from maf_hooks.services.lookup import read_while_waiting, rows_for

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable

    from maf_hooks.core.decision import Decision



def changed_paths_later(operation: str, paths: git.RepoPaths, environ: Mapping[str, str],
                        stdin_text: str | None) -> git.Later:
    """The paths a commit (staged changes) or push (the commits it adds) changes, as a function to
    call later, with a ``cancel()``: a plain commit's ``git diff`` starts now and runs while the
    hook reads the leases."""
    from_ref, to_ref = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if operation == "commit" and not (from_ref and to_ref):
        return git.staged_paths_later(paths)

    def later() -> set[str]:
        if from_ref and to_ref:
            # a real push under the framework (it names the remote) publishes only what is not on
            # a remote yet; `pre-commit run --from-ref A --to-ref B` in CI checks exactly A..B
            publishing = operation == "push" and bool(environ.get("PRE_COMMIT_REMOTE_NAME"))
            return git.range_paths(paths, git.span_revs(paths, from_ref, to_ref, publishing=publishing))
        local_branch = environ.get("PRE_COMMIT_LOCAL_BRANCH")
        if operation == "push" and local_branch:
            # pre-commit read git's ref lines itself and found a branch whose history starts
            # with a root commit (it then runs hooks on "all files", without a range): check
            # every commit of that branch not yet on a remote-tracking ref
            return git.range_paths(paths, git.span_revs(paths, None, local_branch))
        changed: set[str] = set()
        for revs in git.pre_push_revs(paths, stdin_text or ""):
            changed |= git.range_paths(paths, revs)
        return changed

    return git.Later(later)


def evaluate(operation: str, environ: Mapping[str, str], stdin_text: str | None, *, cwd: str | None,
             clock: Callable[[], int], into: dict[str, Any] | None = None) -> tuple[dict[str, Any], Decision | None]:
    """Return ``(settings, Decision)``, or ``(settings, None)`` when there is nothing to check.

    ``settings`` (``into`` when given, filled as it goes, so that an error handler knows how far
    it got) holds ``cfg``, ``paths``, ``db_path``, the open ``store`` and the resolved ``agent``."""
    paths_later = gitfiles.located_later(cwd, environ)  # git's files where plain, else rev-parse
    # loaded while rev-parse runs: the configuration, and what reading the leases needs
    from maf_hooks import config, identity  # config reads TOML only when a file exists
    from maf_hooks.core.decision import Decision, judge_index, others_index
    from maf_hooks.store import open as store_open
    from maf_hooks.store.sqlite import connection, leases  # noqa: F401 - the store uses them

    paths = paths_later()
    cfg = config.load(paths.root, environ=environ)
    settings = into if into is not None else {}
    settings.update(cfg=cfg, paths=paths)
    if policy.hook_mode(cfg, environ) == "off":
        return settings, None
    location = store_open.locate(paths.root, paths.common_dir, cfg, guarding=True)
    settings["db_path"] = location.path
    if not location.exists():
        return settings, None  # nobody has leased anything: nothing to check, nothing to create

    settings["timings"] = location.beside(hook_timing.FILE)  # the hook's duration goes there afterwards
    store = settings["store"] = location.open(environ=environ, clock=clock, create=False)
    now = store.now()
    if not store.leases.has_active(now):
        return settings, None
    identity_later = None if environ.get("MAF_AGENT_ID") else git.identity_later(paths.root)
    settings_later = gitfiles.settings_later(paths, environ)  # core.ignorecase; git config beside the others
    try:
        if identity_later is None:  # MAF_AGENT_ID: no git call
            agent = settings["agent"] = identity.resolve_agent(None, environ, None, required=False)  # type: ignore[arg-type]
        changed_later = changed_paths_later(operation, paths, environ, stdin_text)
        try:
            entries = gitfiles.index_entries(paths.git_dir, environ, paths.root) if operation == "commit" else None
            early = read_while_waiting(store.leases, now, changed_later, entries)
            if identity_later is not None:
                agent = settings["agent"] = identity.resolve_agent(None, environ, identity_later, required=False,
                                                                   session=_session)
            index, casefold = None, None
            if early is not None and changed_later.running():  # git still names the paths: index meanwhile
                casefold = settings_later().ignorecase
                index = others_index(early, agent, casefold=casefold)
            changed = changed_later()
        finally:
            changed_later.cancel()
        if casefold is None:
            casefold = settings_later().ignorecase
    finally:
        settings_later.cancel()
        if identity_later is not None:
            identity_later.cancel()
    if index is None:
        rows = early if early is not None else rows_for(store.leases, now, changed, casefold=casefold)
        index = others_index(rows, agent, casefold=casefold)
    conflicts, shared = judge_index(changed, index, agent)
    return settings, Decision(operation, agent, changed, conflicts, shared)


def _session() -> str | None:
    """The agent of the client session this commit descends from (``maf_hooks.sessions``)."""
    from maf_hooks import sessions

    return sessions.agent_of_this_process()
