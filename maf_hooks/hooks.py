"""The commit and push hooks: changed paths -> conflicts -> records -> mail -> exit code.

Entry points ``maf-reservations`` (pre-commit stage) and ``maf-reservations-push`` (pre-push).
This module runs on every commit of every agent, so it imports only what the common case needs:
no click, no gitpython, and of the patterns only the index and the matcher.
Everything that happens only on a conflict (records, mail, escalation) lives in
:mod:`maf_hooks.conflicts` and is imported only then.
"""

from __future__ import annotations

import os
import sqlite3
import sys

from maf_hooks import git
from maf_hooks.errors import MafError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from typing import Mapping, TextIO

OVERRIDE_HOW = (
    "Emergency override (audited, the holder is told): "
    "MAF_RESERVATION_OVERRIDE=1 MAF_OVERRIDE_REASON='why' git commit ..."
)
TRUTHY = frozenset({"1", "true", "yes", "on"})


class Decision:
    """What the hook found; ``conflicts``/``shared`` are ``(path, lease)`` pairs."""

    def __init__(self, operation: str, agent: str | None, changed: set, conflicts: list, shared: list):
        self.operation = operation
        self.agent = agent
        self.changed = changed
        self.conflicts = conflicts
        self.shared = shared


def changed_paths(operation: str, paths: git.RepoPaths, environ: Mapping[str, str], stdin_text: str | None) -> set:
    """The paths a commit (staged changes) or push (the commits it adds) changes."""
    return changed_paths_later(operation, paths, environ, stdin_text)()


def changed_paths_later(operation: str, paths: git.RepoPaths, environ: Mapping[str, str], stdin_text: str | None):
    """:func:`changed_paths` as a function to call later (with a ``cancel()``): a plain commit's
    ``git diff`` starts now and runs while the hook reads the leases."""
    from_ref, to_ref = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if operation == "commit" and not (from_ref and to_ref):
        return git.staged_paths_later(paths)

    def later() -> set:
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
        changed: set = set()
        for revs in git.pre_push_revs(paths, stdin_text or ""):
            changed |= git.range_paths(paths, revs)
        return changed

    later.cancel = lambda: None
    return later


def evaluate(operation: str, environ: Mapping[str, str], stdin_text: str | None, *, cwd: str | None, clock,
             into: dict | None = None):
    """Return ``(settings, Decision)``, or ``(settings, None)`` when there is nothing to check.

    ``settings`` (``into`` when given, filled as it goes, so that an error handler knows how far
    it got) holds the configuration, repository paths, database path and connection.

    The hot path (the no-conflict commit) in order: ``git rev-parse`` runs while the modules
    load; once an active lease exists, the ``git diff`` of the staged paths and, without
    MAF_AGENT_ID, the ``git config`` for the identity run side by side; then only the leases that
    can cover a changed path are read (:func:`_rows_for`). Git is called when it was before: no
    diff or config call unless a lease is active (a diff started beside a ``git config`` identity
    that proves invalid is stopped)."""
    paths_later = git.repo_paths_later(cwd)
    # loaded while rev-parse runs: the configuration, and what reading the leases needs
    from maf_hooks import config, identity  # noqa: PLC0415 - config reads TOML only when a file exists
    from maf_hooks.leases import EXCLUSIVE, Lease, LeaseBook  # noqa: PLC0415
    from maf_hooks.patterns.index import LeaseIndex  # noqa: PLC0415
    from maf_hooks.store import db, location, migrations  # noqa: PLC0415, F401 - db.connect imports migrations

    paths = paths_later()
    cfg = config.load(paths.root, environ=environ)
    settings = into if into is not None else {}
    settings.update(cfg=cfg, paths=paths)
    if cfg.get("reservation.hook_mode") == "off":
        return settings, None
    db_path = location.db_path(paths.root, paths.common_dir, cfg.get("storage.db_path"))
    settings["db_path"] = db_path
    if not os.path.exists(db_path):
        return settings, None  # nobody has leased anything: nothing to check, nothing to create

    conn = db.connect(db_path, create=False)
    settings["conn"] = conn
    now = clock()
    book = LeaseBook(conn, clock)
    if not book.has_active(now):
        return settings, None
    identity_later = None if environ.get("MAF_AGENT_ID") else git.identity_later(paths.root)
    settings_later = git.path_settings_later(paths.root)  # core.ignorecase, beside the other calls
    try:
        if identity_later is None:
            agent = identity.resolve_agent(None, environ, None, required=False)  # MAF_AGENT_ID: no git call
        changed_later = changed_paths_later(operation, paths, environ, stdin_text)
        try:
            if identity_later is not None:
                agent = identity.resolve_agent(None, environ, identity_later, required=False)
            changed = changed_later()
        finally:
            changed_later.cancel()
        casefold = settings_later().ignorecase
    finally:
        settings_later.cancel()
        if identity_later is not None:
            identity_later.cancel()
    rows = _rows_for(book, now, changed, casefold)  # Lease(*row) is made only for a lease that covers a path
    conflicts, shared = [], []
    index = LeaseIndex(((row[2], row) for row in rows if row[1] != agent), casefold=casefold)  # see Lease._fields
    if len(index):
        covering, made = index.covering, {}
        for path in sorted(changed):
            for row in covering(path):
                lease = made.get(row[0])
                if lease is None:
                    lease = made[row[0]] = Lease(*row)
                (conflicts if lease.mode == EXCLUSIVE else shared).append((path, lease))
    return settings, Decision(operation, agent, changed, conflicts, shared)


MAX_LOOKUP_KEYS = 900  # bound parameters of one lookup query (old SQLite builds allow 999)


def _rows_for(book, now: int, changed: set, casefold: bool = False) -> list:
    """The active leases that may cover a changed path, as rows in ``LeaseBook.active`` order.

    A commit of a few paths looks its leases up by key (``patterns.index.lookup_keys``), so that its cost
    follows its own paths and not the number of active leases; a large one (or a path that is no
    valid UTF-8, which no lease key can equal, or any commit when ``casefold``: keys compare exactly)
    reads every active lease. Either way the index below
    finds the same leases: the lookup loads every lease that the index could find for these paths."""
    from maf_hooks.patterns.index import lookup_keys  # noqa: PLC0415

    if not changed:
        return []
    if len(changed) < MAX_LOOKUP_KEYS and not casefold:  # each changed path is a key itself
        patterns, prefixes = lookup_keys(changed)
        if len(patterns) + len(prefixes) <= MAX_LOOKUP_KEYS and _all_utf8(patterns):
            return book.active_rows_near(now, sorted(patterns), sorted(prefixes))
    return book.active_rows(now)


def _all_utf8(keys) -> bool:
    try:
        for key in keys:
            key.encode("utf-8")
    except UnicodeEncodeError:  # git output decoded with surrogateescape
        return False
    return True


def run_hook(
    operation: str,
    *,
    environ: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    cwd: str | None = None,
    stream: TextIO | None = None,
    clock=None,
) -> int:
    """Decide one commit or push; return the exit code (0 let it through, 1 refuse)."""
    environ = os.environ if environ is None else environ
    stream = sys.stderr if stream is None else stream
    if clock is None:
        from maf_hooks.timeutil import now_ms as clock  # noqa: PLC0415
    env_mode = environ.get("MAF_RESERVATION_HOOK_MODE", "").strip().lower()
    if env_mode == "off":
        return 0
    settings: dict = {"environ": environ}
    try:
        _, decision = evaluate(operation, environ, stdin_text, cwd=cwd, clock=clock, into=settings)
        if decision is None:
            return 0
        for path, lease in decision.shared:
            stream.write(f"maf: note: {path} is under a shared lease of {lease.agent} ({lease.pattern!r}).\n")
        if not decision.conflicts:
            return 0
        from maf_hooks import conflicts  # noqa: PLC0415

        return conflicts.handle(decision, settings, environ=environ, stream=stream, clock=clock)
    except (MafError, sqlite3.Error, OSError, UnicodeError) as exc:
        return fail(exc, settings, env_mode, stream)
    except Exception as exc:  # noqa: BLE001 - a bug must not let a change through unchecked
        if environ.get("MAF_DEBUG"):
            raise
        return fail(RuntimeError(f"internal error ({type(exc).__name__}: {exc}); this is a bug in maf-hooks."),
                    settings, env_mode, stream)
    finally:
        conn = settings.get("conn")
        if conn is not None:
            _flush_audit(conn, environ, clock)
            conn.close()


def _flush_audit(conn, environ, clock) -> None:
    """Send queued audit events to AUDIT_WEBHOOK_URL after the decision, for at most about a second
    (``audit.WEBHOOK_BUDGET_SECONDS``); what is left stays queued for later commands."""
    url = environ.get("AUDIT_WEBHOOK_URL")
    if not url:
        return
    try:
        from maf_hooks import audit  # noqa: PLC0415

        audit.flush_outbox(conn, url, clock())
    except Exception:  # noqa: BLE001 - the decision is made; queued events stay queued
        pass


def _override_allowed(cfg, environ, stream: TextIO, paths=None) -> bool:
    """Whether the override may let a change through unchecked: allowed by the configuration and,
    when it loaded, by the agent's can_override rule."""
    if cfg is None:
        return True
    if not cfg.get("reservation.allow_override"):
        return False
    from maf_hooks import permissions  # noqa: PLC0415

    from maf_hooks import identity  # noqa: PLC0415

    try:
        agent = identity.resolve_agent(None, environ, lambda: git.identity(paths.root if paths else None),
                                       required=False)
    except MafError:
        agent = None  # an invalid identity: only [agents.default] applies
    refusal = permissions.for_agent(cfg, agent).refusal("can_override", "use MAF_RESERVATION_OVERRIDE")
    if refusal:
        stream.write(f"maf: {refusal}\n")
        return False
    return True


def fail(exc: BaseException, settings: dict, env_mode: str, stream: TextIO) -> int:
    """The hook could not decide: fail closed unless the team chose otherwise."""
    cfg = settings.get("cfg")
    mode = env_mode or (cfg.get("reservation.hook_mode") if cfg else "strict")
    on_error = cfg.get("reservation.on_error") if cfg else "block"
    if isinstance(exc, sqlite3.Error):
        from maf_hooks.store.db import describe  # noqa: PLC0415

        cause = describe(exc, settings.get("db_path", "the lease database"))
    else:
        cause = str(exc) or type(exc).__name__
    if environ_override(settings.get("environ")) and _override_allowed(cfg, settings.get("environ"), stream, settings.get("paths")):
        stream.write(
            f"maf: WARNING: MAF_RESERVATION_OVERRIDE is set and the reservation check could not run "
            f"({cause}). Let through WITHOUT a check; nothing could be recorded.\n"
        )
        return 0
    if mode == "warn" or on_error == "allow":
        why = "hook mode is warn" if mode == "warn" else 'reservation.on_error = "allow"'
        stream.write(f"maf: warning: the reservation check could not run ({cause}). Let through because {why}.\n")
        return 0
    stream.write(
        f"maf: RESERVATION CHECK FAILED, so this change is refused (the check fails closed): {cause} "
        f"Fix the cause, or if you must proceed now: {OVERRIDE_HOW} "
        '(a team can choose fail-open with reservation.on_error = "allow").\n'
    )
    return 1


def environ_override(environ) -> bool:
    return bool(environ) and environ.get("MAF_RESERVATION_OVERRIDE", "").strip().lower() in TRUTHY


def _read_stdin() -> str:
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return ""
        return sys.stdin.read()
    except (OSError, ValueError):
        return ""


def commit_main(argv=None) -> int:
    """``maf-reservations``: the pre-commit stage hook."""
    return run_hook("commit")


def push_main(argv=None) -> int:
    """``maf-reservations-push``: the pre-push stage hook (reads git's ref lines when run as a
    plain git hook; under the pre-commit framework, PRE_COMMIT_FROM_REF/TO_REF say the range)."""
    environ = os.environ
    framework = (environ.get("PRE_COMMIT_FROM_REF") and environ.get("PRE_COMMIT_TO_REF")) \
        or environ.get("PRE_COMMIT_LOCAL_BRANCH")
    plain = not framework
    return run_hook("push", stdin_text=_read_stdin() if plain else None)

