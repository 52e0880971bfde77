"""The commit and push hooks: changed paths -> conflicts -> records -> mail -> exit code.

Entry points ``maf-reservations`` (pre-commit stage) and ``maf-reservations-push`` (pre-push).
This module runs on every commit of every agent, so it imports only what the common case needs:
no click, no gitpython, no pathspec (lease regexes were compiled when the leases were taken).
Everything that happens only on a conflict (records, mail, escalation) lives in
:mod:`maf_hooks.conflicts` and is imported only then.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from typing import Mapping, TextIO

from maf_hooks import git
from maf_hooks.errors import MafError

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
    from_ref, to_ref = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if from_ref and to_ref:
        return git.range_paths(paths, git.span_revs(paths, from_ref, to_ref))
    if operation == "push":
        changed: set = set()
        for revs in git.pre_push_revs(paths, stdin_text or ""):
            changed |= git.range_paths(paths, revs)
        return changed
    return git.staged_paths(paths)


def evaluate(operation: str, environ: Mapping[str, str], stdin_text: str | None, *, cwd: str | None, clock,
             into: dict | None = None):
    """Return ``(settings, Decision)``, or ``(settings, None)`` when there is nothing to check.

    ``settings`` (``into`` when given, filled as it goes, so that an error handler knows how far
    it got) holds the configuration, repository paths, database path and connection."""
    from maf_hooks import config, identity  # noqa: PLC0415 - config reads TOML only when a file exists
    from maf_hooks.store import location  # noqa: PLC0415

    paths = git.repo_paths(cwd)
    cfg = config.load(paths.root, environ=environ)
    settings = into if into is not None else {}
    settings.update(cfg=cfg, paths=paths)
    if cfg.get("reservation.hook_mode") == "off":
        return settings, None
    db_path = location.db_path(paths.root, paths.common_dir, cfg.get("storage.db_path"))
    settings["db_path"] = db_path
    if not os.path.exists(db_path):
        return settings, None  # nobody has leased anything: nothing to check, nothing to create

    from maf_hooks.leases import EXCLUSIVE, LeaseBook  # noqa: PLC0415
    from maf_hooks.matcher import LeaseIndex  # noqa: PLC0415
    from maf_hooks.store import db  # noqa: PLC0415

    conn = db.connect(db_path, create=False)
    settings["conn"] = conn
    now = clock()
    leases = LeaseBook(conn, clock).active(now)
    if not leases:
        return settings, None
    agent = identity.resolve_agent(None, environ, lambda: git.identity(paths.root), required=False)
    changed = changed_paths(operation, paths, environ, stdin_text)
    index = LeaseIndex((lease.pattern, lease.regex, lease.prefix, lease) for lease in leases if lease.agent != agent)
    conflicts, shared = [], []
    for path in sorted(changed):
        for lease in index.covering(path):
            (conflicts if lease.mode == EXCLUSIVE else shared).append((path, lease))
    return settings, Decision(operation, agent, changed, conflicts, shared)


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
    finally:
        conn = settings.get("conn")
        if conn is not None:
            conn.close()


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
    if environ_override(settings.get("environ")) and (cfg is None or cfg.get("reservation.allow_override")):
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
    plain = not (environ.get("PRE_COMMIT_FROM_REF") and environ.get("PRE_COMMIT_TO_REF"))
    return run_hook("push", stdin_text=_read_stdin() if plain else None)

