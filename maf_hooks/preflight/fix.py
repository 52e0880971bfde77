"""``--fix``: the few changes preflight may make, each idempotent and reported.

- ``database`` (or ``reservations``) selected: create the lease database, or migrate it and
  switch it to WAL;
- ``hooks`` selected: create the mail root, add it to ``info/exclude``, and run
  ``pre-commit install`` for every git hook type declared for the hook ids that
  ``.pre-commit-config.yaml`` lists (:data:`maf_hooks.git.GIT_HOOKS`) and that is not installed;
- ``reservations`` selected: end the leases whose time is up;
- ``agents`` selected: write the edit hooks and MCP entries of ``[agent_hooks] clients``, as
  ``maf init --agents`` does.

Nothing else is touched. Each step returns what it changed; a step that cannot be done is
reported as a failure and the checks that follow say what is still wrong.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

from maf_hooks import git, repo_setup
from maf_hooks.errors import MafError
from maf_hooks.preflight.checks.hooks import hook_status
from maf_hooks.preflight.result import joined, plural
from maf_hooks.preflight.runenv import RunEnv


class Fixes:
    def __init__(self) -> None:
        self.changes: list[str] = []
        self.failures: list[str] = []

    def to_json(self) -> dict:
        return {"changes": self.changes, "failures": self.failures}


def _db_state(env: RunEnv) -> tuple[int, str | None, bool] | None:
    """``(schema version, journal mode, whether both are as wanted)``, or None without a database."""
    if not env.context.store_location.exists():
        return None
    with env.open_store() as store:
        health = store.health(thorough=False)
    version, mode = health.schema.version, health.journal_mode
    return version, mode, version == health.schema.latest and mode in ("wal", None)


def fix_database(env: RunEnv, fixes: Fixes) -> None:
    location = env.context.store_location
    shown = env.display(location.path)
    try:
        before = _db_state(env)
        if before is not None and before[2]:
            return
        location.open(environ=env.environ, clock=env.clock).close()  # creates, migrates, switches to WAL
        after = _db_state(env)
    except (MafError, OSError) as exc:
        fixes.failures.append(f"could not create or migrate the lease database {shown}: {env.storage_message(exc)}")
        return
    assert after is not None
    if before is None:
        fixes.changes.append(f"created the lease database {shown} (schema version {after[0]})")
        return
    if before[0] != after[0]:
        fixes.changes.append(f"migrated the lease database {shown} from schema version {before[0]} to {after[0]}")
    if before[1] != after[1]:
        fixes.changes.append(f"switched the lease database {shown} from journal mode {before[1]} to {after[1]}")


def precommit_command() -> list[str] | None:
    if importlib.util.find_spec("pre_commit") is not None:
        return [sys.executable, "-m", "pre_commit"]
    found = shutil.which("pre-commit")
    return [found] if found else None


def fix_setup(env: RunEnv, fixes: Fixes) -> None:
    """Mail root, its exclude line, and the git hooks."""
    context = env.context
    try:
        mail_root = context.mail_root()
        for change in (
            repo_setup.ensure_mail_root(mail_root),
            repo_setup.ensure_excluded(context.paths.common_dir, git.main_worktree_root(context.paths), mail_root),
        ):
            if change:
                fixes.changes.append(change.replace(context.root + os.sep, ""))
    except (MafError, OSError) as exc:
        fixes.failures.append(f"could not set up the mail root: {exc}")
    status = hook_status(env)
    wanted = [hook_type for hook_id, listed in status["listed"].items() if listed
              for hook_type in git.GIT_HOOKS[hook_id] if status["installed"][hook_type] != "installed"]
    if not wanted:
        return
    command = precommit_command()
    if command is None:
        fixes.failures.append("could not install the git hooks: pre-commit is not installed "
                              "(python -m pip install pre-commit)")
        return
    args = ["install"] + [arg for hook_type in wanted for arg in ("--hook-type", hook_type)]
    try:
        proc = subprocess.run([*command, *args], cwd=env.root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=max(env.settings["timeout_seconds"], 30.0))
    except (OSError, subprocess.TimeoutExpired) as exc:
        fixes.failures.append(f"could not install the git hooks: pre-commit {' '.join(args)}: {exc}")
        return
    output = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        fixes.failures.append(f"could not install the git hooks: pre-commit {' '.join(args)} exited "
                              f"{proc.returncode}: {output.splitlines()[-1] if output else 'no message'}")
        return
    hooks = f"{joined(wanted)} hook{'s' if len(wanted) > 1 else ''}"
    fixes.changes.append(f"installed the {hooks} in {status['hooks_dir']} "
                         f"(pre-commit {' '.join(args)})")


def fix_expired(env: RunEnv, fixes: Fixes) -> None:
    from maf_hooks.core.leases import expire_due
    from maf_hooks.errors import StorageError

    if not env.context.store_location.exists():
        return
    try:
        with env.open_store(read_only=False) as store:
            if store.schema().version < 1:
                return
            ended = expire_due(store, env.context.config.get("reservation.max_timeout_minutes") * 60_000)
    except StorageError as exc:
        fixes.failures.append(f"could not end the expired leases: {env.storage_message(exc)}")
        return
    if ended:
        listed = ", ".join(f"{lease.id} ({lease.pattern!r} of {lease.agent})" for lease in ended[:10])
        more = f" and {len(ended) - 10} more" if len(ended) > 10 else ""
        fixes.changes.append(f"ended {plural(len(ended), 'expired lease')}: {listed}{more}")


def fix_agents(env: RunEnv, fixes: Fixes) -> None:
    from maf_hooks.agent_setup import install

    clients = env.context.config.get("agent_hooks.clients") or []
    if not clients:
        return
    try:
        plans = install.plan(env.root, clients)
        install.apply(env.root, plans)
    except (MafError, OSError) as exc:
        fixes.failures.append(f"could not install the agent hooks: {exc}")
        return
    for file_plan in plans:
        if file_plan.status != install.UNCHANGED:
            fixes.changes.append(f"{file_plan.status} {file_plan.path} (maf init --agents {','.join(clients)})")


def apply(env: RunEnv, selected: set[str]) -> Fixes:
    fixes = Fixes()
    if selected & {"database", "reservations"}:
        fix_database(env, fixes)
    if "hooks" in selected:
        fix_setup(env, fixes)
    if "reservations" in selected:
        fix_expired(env, fixes)
    if "agents" in selected:
        fix_agents(env, fixes)
    return fixes
