"""Deciding an agent's tool call at the moment it is tried: the files a write would change
against the active leases, with the same rule the git hooks use (:func:`maf_hooks.core.decision.judge`),
the same records, mail, escalation and override (:func:`maf_hooks.services.conflicts.settle`);
and the session's start and end (identity, auto-claim).

On the path of every edit of every agent: the repository, the identity and how git compares
paths are asked of git side by side, and the database is opened only when the call writes a
file inside the repository and a lease database exists.
"""

from __future__ import annotations

import os

from maf_hooks import gitfiles, identity
from maf_hooks.core import policy
from maf_hooks.errors import NotARepository

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Callable

    from maf_hooks.agent_hooks.call import ToolCall


def session_key(client: str, call: ToolCall) -> str:
    """What marks a session's auto-claims: the client and its session id."""
    return f"{client}:{call.session or ''}"


def inside(raw: str, cwd: str, root: str) -> str | None:
    """``raw`` (absolute, or relative to ``cwd``) as an absolute path inside the worktree ``root``,
    or None when it lies outside (not ours to judge). Compared as written and with symbolic links
    resolved, so that a path through a link into the repository counts as inside."""
    target = os.path.normpath(os.path.join(cwd, raw))
    for base, path in ((os.path.normpath(root), target), (os.path.realpath(root), os.path.realpath(target))):
        if path.startswith(base.rstrip("/") + "/"):
            return path if base == os.path.normpath(root) else os.path.join(root, path[len(base) + 1:])
    return None


class Start:
    """What one tool call needs of git: the repository, how it compares paths, and (only when a
    lease is in question) the identity. Read from the git files where they are plain
    (:mod:`maf_hooks.gitfiles`), else asked of git."""

    def __init__(self, cwd: str, environ: Mapping[str, str]) -> None:
        self.cwd, self.environ = cwd, environ
        found = gitfiles.repo_paths(cwd, environ)
        if found is None:
            from maf_hooks import git

            found = git.repo_paths(cwd)
        self.paths = found

    def settings(self) -> gitfiles.PathSettings:
        found = gitfiles.path_settings(self.paths.git_dir, self.paths.common_dir, self.environ)
        if found is None:
            from maf_hooks import git

            found = git.path_settings(self.paths.root)
        return found

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
    """Decide a write; the deny reason, or None to allow. ``state`` is filled as it goes (``cfg``,
    ``paths``, ``store``, ``agent``) so that a failure can be judged by THE rule for a check that
    could not run, and the caller closes the store."""
    from maf_hooks import config

    try:
        start = Start(call.cwd or os.getcwd(), environ)
    except NotARepository:
        return None  # no repository: nothing of ours to judge
    paths = state["paths"] = start.paths
    targets = [path for path in (inside(raw, start.cwd, paths.root) for raw in call.paths) if path]
    if not targets:
        return None
    cfg = state["cfg"] = config.load(paths.root, environ=environ)
    if policy.hook_mode(cfg, environ) == "off":
        return None
    auto = bool(cfg.get("agent_hooks.auto_claim.enabled"))
    from maf_hooks.store import open as store_open

    location = store_open.locate(paths.root, paths.common_dir, cfg)
    if not location.exists() and not auto:
        return None  # nobody has leased anything
    settings = start.settings()
    from maf_hooks.patterns.normal import normalize_path

    changed = [normalize_path(path, paths.root, precompose=settings.precompose) for path in targets]
    store = state["store"] = location.open(environ=environ, clock=clock, create=auto)
    reason = _judge(store, cfg, paths, changed, lambda: agent_for(client, call, environ, start.identity),
                    settings.ignorecase, environ, state)
    if reason is None and auto:
        agent = state["agent"] if "agent" in state else agent_for(client, call, environ, start.identity)
        if agent is not None:
            _claim(store, cfg, paths.root, settings, agent, session_key(client, call), changed)
    return reason


def _judge(store: Any, cfg: Any, paths: Any, changed: Sequence[str], resolve: Callable[[], str | None],
           casefold: bool, environ: Mapping[str, str], state: dict[str, Any]) -> str | None:
    """The deny reason for ``changed``, or None. The agent is resolved (``resolve``, which may ask
    git) only when a lease covers a changed path at all: whose it is decides then."""
    from maf_hooks.core.decision import Decision, judge
    from maf_hooks.services.lookup import rows_for

    now = store.now()
    if not store.leases.has_active(now):
        return None
    rows = rows_for(store.leases, now, changed, casefold=casefold)
    if not rows or judge(changed, rows, None, casefold=casefold) == ([], []):
        return None  # no lease, of anyone, covers a changed path
    agent = state["agent"] = resolve()
    conflicts, shared = judge(changed, rows, agent, casefold=casefold)
    if not conflicts:
        return None
    from maf_hooks.core import conflicts as rules
    from maf_hooks.services.conflicts import settle

    decision = Decision("edit", agent, changed, conflicts, shared)
    done = settle(decision, store, cfg, paths, environ=environ, tried=state.setdefault("mail_tried", []))
    if done.outcome.status != "blocked":
        return None  # warned (recorded, mailed) or overridden (audited): the edit goes ahead
    told = rules.told(done.told["mailed"], done.told["queued"], done.plan["suppressed"])
    return rules.edit_reason(decision, done.outcome, told, done.now)


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
        start = Start(call.cwd or os.getcwd(), environ)
    except NotARepository:
        return None
    agent_id, _ = start.identity()
    agent = None if agent_id else identity.session_agent(client, call.session)
    if agent is not None:
        from maf_hooks import sessions

        sessions.record(start.paths.common_dir, session_key(client, call), agent)
    return agent


def session_ended(client: str, call: ToolCall, environ: Mapping[str, str], *, clock: Callable[[], int],
                  state: dict[str, Any]) -> int:
    """Release the auto-claims of the session that ended; how many."""
    from maf_hooks import config
    from maf_hooks.core import claims
    from maf_hooks.store import open as store_open

    try:
        start = Start(call.cwd or os.getcwd(), environ)
    except NotARepository:
        return 0
    paths = state["paths"] = start.paths
    from maf_hooks import sessions

    sessions.forget(paths.common_dir, session_key(client, call))
    cfg = state["cfg"] = config.load(paths.root, environ=environ)
    location = store_open.locate(paths.root, paths.common_dir, cfg)
    if not location.exists():
        return 0
    agent = state["agent"] = agent_for(client, call, environ, start.identity)
    if agent is None:
        return 0
    store = state["store"] = location.open(environ=environ, clock=clock, create=False)
    return len(claims.release_session(store, agent, session_key(client, call)))
