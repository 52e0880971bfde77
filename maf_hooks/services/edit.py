"""Deciding an agent's tool call at the moment it is tried: the files a write would change
against the active leases, with the same rule the git hooks use (:func:`maf_hooks.core.decision.judge`),
the same records, mail, escalation and override (:func:`maf_hooks.services.conflicts.settle`);
and the session's start and end (identity, auto-claim).

On the path of every edit of every agent: each file's repository and how it compares paths are
read from git's own files where they are plain (:mod:`maf_hooks.gitfiles`), the identity is
asked of git only when a lease covers a file, and the database is opened only when the call
writes a file inside a repository whose lease database exists.
"""

from __future__ import annotations

import os

from maf_hooks import gitfiles, hook_timing, identity
from maf_hooks.core import policy
from maf_hooks.errors import NotARepository
from maf_hooks.services.followup import finish

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Callable

    from maf_hooks.agent_hooks.call import ToolCall


def session_key(client: str, call: ToolCall) -> str:
    """What marks a session's auto-claims: the client and its session id."""
    return f"{client}:{call.session or ''}"


def targets(raw: str, cwd: str) -> list[str]:
    """The absolute paths a write of ``raw`` (absolute, or relative to ``cwd``) changes: the path as
    written and, when it is (or lies under) a symbolic link, the file the link leads to."""
    written = os.path.normpath(os.path.join(cwd, raw))
    real = os.path.realpath(os.path.join(cwd, raw))  # '..' after a link goes where the kernel goes
    return [written] if real == written else [written, real]


def _directory_of(path: str) -> str:
    """The nearest existing directory holding ``path`` (a new file's parents may not exist yet)."""
    here = os.path.dirname(path)
    while not os.path.isdir(here) and os.path.dirname(here) != here:
        here = os.path.dirname(here)
    return here


def by_repository(paths: Sequence[str], environ: Mapping[str, str]) -> dict[Any, list[str]]:
    """The absolute ``paths`` grouped by the repository each lies in (its own, found from the
    file's directory: a session may work in a parent directory, another worktree or several
    roots), as ``{RepoPaths: [repository-relative path, ...]}``; a path in no repository is
    dropped (not ours to judge)."""
    found: dict[str, Any] = {}
    groups: dict[Any, list[str]] = {}
    for path in paths:
        directory = _directory_of(path)
        if directory not in found:
            try:
                repo = Start.at(directory, environ).paths
            except NotARepository:
                repo = None
            found[directory] = repo
        repo = found[directory]
        if repo is None:
            continue
        root = repo.root.rstrip("/") + "/"
        if path.startswith(root):
            groups.setdefault(repo, []).append(path[len(root):])
        else:  # the repository's root written another way (through a link): compare resolved
            real_root = os.path.realpath(repo.root).rstrip("/") + "/"
            real = os.path.realpath(path)
            if real.startswith(real_root):
                groups.setdefault(repo, []).append(real[len(real_root):])
    return groups


class Start:
    """What one repository needs of git for a tool call: how it compares paths, and (only when a
    lease is in question) the identity. Read from the git files where they are plain
    (:mod:`maf_hooks.gitfiles`), else asked of git."""

    def __init__(self, paths: Any, environ: Mapping[str, str]) -> None:
        self.paths, self.environ = paths, environ

    @classmethod
    def at(cls, cwd: str, environ: Mapping[str, str]) -> Start:
        """The repository holding ``cwd`` (NotARepository when none does)."""
        return cls(gitfiles.located(cwd, environ), environ)

    def settings(self) -> gitfiles.PathSettings:
        return gitfiles.settings_of(self.paths, self.environ)

    def identity(self) -> tuple[str | None, str | None]:
        from maf_hooks import git

        return git.identity(self.paths.root)


def agent_for(client: str, call: ToolCall, environ: Mapping[str, str],
              git_identity: Callable[[], tuple[str | None, str | None]]) -> str | None:
    """THE identity rule with this session's id (``<client>-<first 8 of the session id>``)."""
    return identity.resolve_agent(None, environ, git_identity, required=False,
                                  session=identity.session_agent(client, call.session))


def write(client: str, call: ToolCall, environ: Mapping[str, str], *, clock: Callable[[], int],
          state: dict[str, Any]) -> str | None:
    """Decide a write; the deny reason, or None to allow. Each file is judged in its own
    repository. ``state`` is filled as it goes (``cfg``, ``paths``, ``store``, ``agent``) so that a
    failure can be judged by THE rule for a check that could not run; the caller finishes it."""
    cwd = call.cwd or os.getcwd()
    written = [path for raw in call.paths for path in targets(raw, cwd)]
    groups = list(by_repository(written, environ).items())
    if len(groups) > 1:  # one call, several repositories: claim nothing unless every part is allowed
        reasons = _each(client, call, groups, environ, clock, state, claiming=False)
        if reasons:
            return " ".join(reasons)
        finish(state, environ, clock)
    return " ".join(_each(client, call, groups, environ, clock, state, claiming=True)) or None


def _each(client: str, call: ToolCall, groups: list, environ: Mapping[str, str], clock: Callable[[], int],
          state: dict[str, Any], *, claiming: bool) -> list[str]:
    reasons = []
    for number, (paths, relative) in enumerate(groups):
        if number:
            finish(state, environ, clock)  # the previous repository's store
        reason = _write_in(client, call, Start(paths, environ), relative, environ, clock, state, claiming=claiming)
        if reason:
            reasons.append(f"In the repository {paths.root}: {reason}" if len(groups) > 1 else reason)
    return reasons


def _write_in(client: str, call: ToolCall, start: Start, relative: Sequence[str], environ: Mapping[str, str],
              clock: Callable[[], int], state: dict[str, Any], *, claiming: bool = True) -> str | None:
    from maf_hooks import config

    paths = state["paths"] = start.paths
    cfg = state["cfg"] = config.load(paths.root, environ=environ)
    if policy.hook_mode(cfg, environ) == "off":
        return None
    auto = claiming and bool(cfg.get("agent_hooks.auto_claim.enabled"))
    from maf_hooks.store import open as store_open

    location = store_open.locate(paths.root, paths.common_dir, cfg, guarding=True)
    if not location.exists() and not auto:
        return None  # nobody has leased anything
    settings = start.settings()
    from maf_hooks.patterns.normal import normalize_path

    changed = list(dict.fromkeys(normalize_path(path, paths.root, precompose=settings.precompose)
                                 for path in relative))
    state["timings"] = location.beside(hook_timing.FILE)  # the hook's duration goes there afterwards
    store = state["store"] = location.open(environ=environ, clock=clock, create=auto)
    resolve = lambda: agent_for(client, call, environ, start.identity)
    claim: Callable[[str], object] | None = None
    if auto:
        claim = lambda agent: _claim(store, cfg, paths.root, settings, agent, session_key(client, call),
                                     changed)
    decision = _decide(store, changed, resolve, settings.ignorecase, claim, state)
    if decision is None:
        return None
    from maf_hooks.core import conflicts as rules
    from maf_hooks.services.conflicts import settle

    done = settle(decision, store, cfg, paths, environ=environ, tried=state.setdefault("mail_tried", []))
    if done.outcome.status != "blocked":
        if claim is not None and decision.agent is not None:
            claim(decision.agent)  # warned or overridden: the edit goes ahead, and is claimed
        return None  # warned (recorded, mailed) or overridden (audited)
    told = rules.told(done.told["mailed"], done.told["queued"], done.plan["suppressed"])
    return rules.edit_reason(decision, done.outcome, told, done.now)


def _decide(store: Any, changed: Sequence[str], resolve: Callable[[], str | None], casefold: bool,
            claim: Callable[[str], object] | None, state: dict[str, Any]) -> Any:
    """The conflicting :class:`Decision` for ``changed``, or None (allowed, and claimed when
    ``claim`` is given: in the same write section as the check, so that of two agents writing a
    free file at once only one gets it). The agent is resolved (``resolve``, which may ask git)
    only when a lease covers a changed path or a claim is to be made."""
    from maf_hooks.core.decision import Decision, judge
    from maf_hooks.services.lookup import rows_for

    if claim is None:
        now = store.now()
        if not store.leases.has_active(now):
            return None
        rows = rows_for(store.leases, now, changed, casefold=casefold)
        if not rows or judge(changed, rows, None, casefold=casefold) == ([], []):
            return None  # no lease, of anyone, covers a changed path
        agent = state["agent"] = resolve()
        conflicts, shared = judge(changed, rows, agent, casefold=casefold)
        return Decision("edit", agent, changed, conflicts, shared) if conflicts else None
    agent = state["agent"] = resolve()
    with store.write() as now:
        rows = rows_for(store.leases, now, changed, casefold=casefold)
        conflicts, shared = judge(changed, rows, agent, casefold=casefold)
        if conflicts:
            return Decision("edit", agent, changed, conflicts, shared)
        if agent is not None:
            claim(agent)  # joins this section
    return None


def _claim(store: Any, cfg: Any, root: str, settings: Any, agent: str, session: str, changed: Sequence[str]) -> None:
    from maf_hooks.core import claims
    from maf_hooks.services.leasing import longest_ms, reading_for

    ttl_ms = int(cfg.get("agent_hooks.auto_claim.ttl_minutes")) * 60_000
    claims.claim(store, agent, session, changed, ttl_ms, reading=reading_for(root, settings, directories=True),
                 max_ms=longest_ms(cfg))


def session_started(client: str, call: ToolCall, environ: Mapping[str, str]) -> str | None:
    """A session started: when its agent id derives from the session (no ``MAF_AGENT_ID``, no
    ``maf.agentId``), record it for the session's other processes (:mod:`maf_hooks.sessions`)
    and return it, for the client's own way of giving it to its shell commands; else None
    (what they inherit already says who they are)."""
    if environ.get("MAF_AGENT_ID"):
        return None
    try:
        start = Start.at(call.cwd or os.getcwd(), environ)
    except NotARepository:
        return None
    agent_id, _ = start.identity()
    agent = None if agent_id else identity.session_agent(client, call.session)
    if agent is not None:
        from maf_hooks import sessions

        sessions.record(client, session_key(client, call), agent)
    return agent


def session_ended(client: str, call: ToolCall, environ: Mapping[str, str], *, clock: Callable[[], int],
                  state: dict[str, Any]) -> int:
    """Release the auto-claims of the session that ended; how many."""
    from maf_hooks import config
    from maf_hooks.core import claims
    from maf_hooks.store import open as store_open

    try:
        start = Start.at(call.cwd or os.getcwd(), environ)
    except NotARepository:
        return 0
    paths = state["paths"] = start.paths
    from maf_hooks import sessions

    sessions.forget(client, session_key(client, call))
    cfg = state["cfg"] = config.load(paths.root, environ=environ)
    location = store_open.locate(paths.root, paths.common_dir, cfg)  # memory: nothing of this session is in it
    if not location.exists():
        return 0
    agent = state["agent"] = agent_for(client, call, environ, start.identity)
    if agent is None:
        return 0
    state["timings"] = location.beside(hook_timing.FILE)
    store = state["store"] = location.open(environ=environ, clock=clock, create=False)
    return len(claims.release_session(store, agent, session_key(client, call)))
