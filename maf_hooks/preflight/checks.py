"""The six built-in checks: python, environment, mcp, database, hooks, reservations.

Each takes a :class:`~maf_hooks.preflight.runenv.RunEnv` and returns an
:class:`~maf_hooks.preflight.result.Outcome`. None of them changes anything: the lease database
is opened without creating or migrating it, and the working tree is read without taking git's
index lock. Values of environment variables are never put into an outcome.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from typing import Callable
from urllib.parse import quote

from maf_hooks import git
from maf_hooks.preflight import gitinfo
from maf_hooks.preflight.result import FAILED, PASSED, SKIPPED, WARNING, Annotation, Outcome, plural, summarize
from maf_hooks.preflight.runenv import RunEnv
from maf_hooks.timeutil import iso, relative, span

NAMES = {
    "python": "Python interpreter and packages",
    "environment": "Environment variables",
    "mcp": "MCP configuration files",
    "database": "Lease database",
    "hooks": "Git hooks",
    "reservations": "Reservations",
}
HOOK_TYPES = {"maf-reservations": "pre-commit", "maf-reservations-push": "pre-push"}
PRECOMMIT_CONFIG = ".pre-commit-config.yaml"
INSTALL_HOOKS = "pre-commit install --hook-type pre-commit --hook-type pre-push"


# --- python -----------------------------------------------------------------------------------

def interpreter_info(interpreter: str | None, names: list[str], timeout: float) -> dict:
    """:func:`maf_hooks.preflight.probe.probe` in this interpreter, or in ``interpreter``."""
    from maf_hooks.preflight import probe  # noqa: PLC0415

    if not interpreter:
        return probe.probe(names)
    proc = subprocess.run(
        [os.path.expanduser(interpreter), probe.__file__, json.dumps(names)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
    )
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"{interpreter} exited {proc.returncode}: {message[0]}")
    return json.loads(proc.stdout.decode("utf-8"))


def _satisfies(specifier, version: str) -> bool:
    from packaging.version import InvalidVersion  # noqa: PLC0415

    try:
        return specifier.contains(version, prereleases=True)
    except InvalidVersion:  # a distribution with a non-PEP 440 version satisfies no specifier
        return False


def check_python(env: RunEnv) -> Outcome:
    from packaging.version import InvalidVersion, Version  # noqa: PLC0415

    settings = env.check_settings("python")
    requirements = []
    if settings["required_packages"]:
        from packaging.requirements import Requirement  # noqa: PLC0415 - the slower import, only when needed

        requirements = [Requirement(text) for text in settings["required_packages"]]
    interpreter = settings.get("interpreter")
    try:
        info = interpreter_info(interpreter, [r.name for r in requirements], env.settings["timeout_seconds"])
    except subprocess.TimeoutExpired:
        return Outcome(FAILED, f"the interpreter {interpreter} did not answer within "
                               f"{env.settings['timeout_seconds']:g} s", timed_out=True)
    except (OSError, RuntimeError, ValueError) as exc:
        return Outcome(FAILED, f"cannot run the interpreter {interpreter}: {exc}",
                       recommendations=["Fix [preflight.checks.python] interpreter: a path or a "
                                        "command on PATH."])
    minimum = settings["min_version"]
    details = {"executable": info["executable"], "version": info["version"], "min_version": minimum,
               "packages": {}}
    findings, recommendations = [], []
    try:
        too_old = Version(info["version"]) < Version(minimum)
    except InvalidVersion:
        too_old = False
    if too_old:
        findings.append(f"Python {info['version']} is older than {minimum}")
        recommendations.append(f"Use Python {minimum} or newer"
                               + (" (set [preflight.checks.python] interpreter)." if not interpreter else "."))
    installed_text, missing = [], []
    for requirement in requirements:
        installed = info["packages"].get(requirement.name)
        spec = str(requirement.specifier)
        entry = {"required": spec or "any", "installed": installed}
        if requirement.marker is not None and not requirement.marker.evaluate(info["markers"]):
            entry["status"] = "not needed here (marker)"
        elif installed is None:
            entry["status"] = "missing"
            findings.append(f"{requirement.name} is not installed")
            missing.append(str(requirement))
        elif requirement.specifier and not _satisfies(requirement.specifier, installed):
            entry["status"] = "wrong version"
            findings.append(f"{requirement.name} {installed} does not satisfy {spec}")
            missing.append(str(requirement))
        else:
            entry["status"] = "ok"
            installed_text.append(f"{requirement.name} {installed}")
        details["packages"][requirement.name] = entry
    if missing:
        quoted = " ".join(f"'{r}'" for r in missing)
        recommendations.append(f"Install the required packages: {interpreter or 'python'} -m pip install {quoted}")
    if findings:
        return Outcome(FAILED, summarize(findings), details, findings, recommendations)
    packages = ", ".join(installed_text) if installed_text else "no packages required"
    return Outcome(PASSED, f"Python {info['version']} (at least {minimum}); {packages}", details)


# --- environment ------------------------------------------------------------------------------

def _var_state(environ, name: str) -> str:
    if name not in environ:
        return "missing"
    return "present" if environ[name].strip() else "empty"


def check_environment(env: RunEnv) -> Outcome:
    """Set or not, never the value."""
    settings = env.check_settings("environment")
    required = {name: _var_state(env.environ, name) for name in settings["required_vars"]}
    optional = {name: _var_state(env.environ, name) for name in settings["optional_vars"]}
    details = {"required": required, "optional": optional}
    absent = [name for name, state in required.items() if state != "present"]
    optional_missing = [name for name, state in optional.items() if state != "present"]
    optional_text = ""
    if optional:
        present = len(optional) - len(optional_missing)
        optional_text = f"; optional: {present} of {len(optional)} set"
        if optional_missing:
            optional_text += f" (not set: {', '.join(optional_missing)})"
    if absent:
        findings = [f"{name} is {required[name]}" for name in absent]
        return Outcome(
            FAILED, f"required variables not set: {', '.join(absent)}{optional_text}", details, findings,
            [f"Set the required environment variables ({', '.join(absent)}) before starting work."],
            [Annotation("error", f"required environment variable {name} is {required[name]}") for name in absent],
        )
    if not required and not optional:
        return Outcome(PASSED, "no variables required", details)
    return Outcome(PASSED, f"{plural(len(required), 'required variable')} set{optional_text}", details)


# --- mcp --------------------------------------------------------------------------------------

def _mcp_file(path: str) -> tuple[str, str, list]:
    """``(status, problem, server names)``: status is ok, empty or failed."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return "failed", "not found", []
    except IsADirectoryError:
        return "failed", "is a directory", []
    except OSError as exc:
        return "failed", f"cannot be read ({exc.strerror or exc})", []
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return "failed", "is not UTF-8 text", []
    except json.JSONDecodeError as exc:  # exc.msg holds no file content
        return "failed", f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", []
    if not isinstance(data, dict):
        return "failed", "does not hold a JSON object", []
    servers = data.get("mcpServers")
    if servers is None:
        return "failed", "has no mcpServers object", []
    if not isinstance(servers, dict):
        return "failed", "has an mcpServers value that is not an object", []
    if not servers:
        return "empty", "lists no servers in mcpServers", []
    return "ok", "", sorted(str(name) for name in servers)


def check_mcp(env: RunEnv) -> Outcome:
    entries = env.check_settings("mcp")["required_configs"]
    if not entries:
        return Outcome(PASSED, "no MCP configuration files required", {"files": {}})
    files, findings, annotations = {}, [], []
    failed = empty = 0
    for entry in entries:
        path = os.path.expanduser(entry)
        if not os.path.isabs(path):
            path = os.path.join(env.root, path)
        status, problem, servers = _mcp_file(path)
        files[entry] = {"status": status, "servers": servers}
        if problem:
            files[entry]["problem"] = problem
            findings.append(f"{entry} {problem}")
            level = "error" if status == "failed" else "warning"
            annotations.append(Annotation(level, f"MCP configuration {entry} {problem}"))
        failed += status == "failed"
        empty += status == "empty"
    details = {"files": files}
    total = sum(len(f["servers"]) for f in files.values())
    if failed:
        return Outcome(FAILED, summarize(findings), details, findings,
                       ["Create each MCP configuration file as a JSON object with an mcpServers object "
                        "([preflight.checks.mcp] required_configs lists them)."], annotations)
    if empty:
        return Outcome(WARNING, summarize(findings), details, findings, [], annotations)
    return Outcome(PASSED, f"{plural(len(entries), 'file')}, {plural(total, 'server')}", details)


# --- database ---------------------------------------------------------------------------------

def open_existing(path: str, timeout: float, *, read_only: bool = False) -> sqlite3.Connection:
    """Open a database that must exist, without creating, migrating or switching it to WAL.

    ``read_only``: writes are refused (``query_only``); ``mode=ro`` only when the file is not
    writable (a read-only connection cannot clean up the WAL files it leaves)."""
    uri = "file:" + quote(os.path.abspath(path))
    try:
        conn = sqlite3.connect(uri + "?mode=rw", uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.OperationalError:
        if not read_only:
            raise
        conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=timeout, isolation_level=None)
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    return conn


def check_database(env: RunEnv) -> Outcome:
    from maf_hooks.store import migrations  # noqa: PLC0415
    from maf_hooks.store.db import describe  # noqa: PLC0415

    path = env.context.db_path
    shown = env.display(path)
    details = {"path": shown, "exists": os.path.exists(path)}
    if not details["exists"]:
        return Outcome(WARNING, f"no lease database yet at {shown} (nobody has leased anything)", details,
                       recommendations=["`maf-preflight --fix` (or `maf init`) creates the lease database."],
                       fixable=True)
    findings, fixable = [], False
    try:
        conn = open_existing(path, min(env.settings["timeout_seconds"], 15.0))
        try:
            version = migrations.current_version(conn)
            latest = migrations.latest()
            details.update(schema_version=version, current_version=latest)
            if version < latest:
                findings.append(f"schema version {version} is older than the current {latest}")
                fixable = True
            elif version > latest:
                findings.append(f"schema version {version} is newer than this maf-hooks knows ({latest}): "
                                "upgrade maf-hooks")
            integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            details["integrity_check"] = "ok" if integrity == ["ok"] else integrity[:10]
            if integrity != ["ok"]:
                findings.append("integrity_check: " + "; ".join(integrity[:3])
                                + (f" (and {len(integrity) - 3} more)" if len(integrity) > 3 else ""))
            violations = conn.execute("PRAGMA foreign_key_check").fetchall()
            details["foreign_key_violations"] = len(violations)
            if violations:
                tables = sorted({row[0] for row in violations})
                findings.append(f"foreign_key_check: {plural(len(violations), 'row violates', 'rows violate')} foreign keys "
                                f"(in {', '.join(tables)})")
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0].lower()
            details["journal_mode"] = mode
            if mode != "wal":
                findings.append(f"journal mode is {mode}, not WAL")
                fixable = True
        finally:
            conn.close()
    except sqlite3.Error as exc:
        findings.append(describe(exc, shown))
    if findings:
        recommendations = []
        if fixable:
            recommendations.append("`maf-preflight --fix` migrates the lease database and switches it to WAL.")
        if any(f.startswith(("integrity_check", "foreign_key_check")) or "corrupt" in f for f in findings):
            recommendations.append(f"Restore {shown} from a backup, or move it aside (a new one is created "
                                   "on the next lease).")
        return Outcome(FAILED, summarize(findings), details, findings, recommendations,
                       [Annotation("error", f"lease database {shown}: {f}") for f in findings], fixable=fixable)
    return Outcome(PASSED, f"{shown}: schema version {details['schema_version']}, integrity ok, WAL", details)


# --- hooks ------------------------------------------------------------------------------------

def listed_hook_ids(config_text: str) -> set[str]:
    from maf_hooks.repo_setup import listed_hook_ids as listed  # noqa: PLC0415

    return listed(config_text, tuple(HOOK_TYPES))


def _hook_state(path: str, hook_id: str) -> str:
    if not os.path.isfile(path):
        return "missing"
    if os.name == "posix" and not os.access(path, os.X_OK):
        return "not executable"
    try:
        with open(path, "rb") as handle:
            text = handle.read(65536).decode("utf-8", "replace")
    except OSError:
        return "unreadable"
    return "installed" if ("pre-commit" in text or hook_id in text) else "does not run pre-commit"


def hook_status(env: RunEnv) -> dict:
    """What is configured and installed (shared by the check and ``--fix``)."""
    config_path = os.path.join(env.root, PRECOMMIT_CONFIG)
    try:
        with open(config_path, encoding="utf-8", errors="replace") as handle:
            listed = listed_hook_ids(handle.read())
        config_exists = True
    except FileNotFoundError:
        listed, config_exists = set(), False
    directory = gitinfo.hooks_dir(env.context.paths)
    installed = {
        hook_type: _hook_state(os.path.join(directory, hook_type), hook_id)
        for hook_id, hook_type in HOOK_TYPES.items()
    }
    return {
        "config": PRECOMMIT_CONFIG,
        "config_exists": config_exists,
        "listed": {hook_id: hook_id in listed for hook_id in HOOK_TYPES},
        "hooks_dir": env.display(directory),
        "core_hooks_path": gitinfo.hooks_path_setting(env.context.paths),
        "installed": installed,
    }


def check_hooks(env: RunEnv) -> Outcome:
    details = hook_status(env)
    severity = FAILED if env.check_settings("hooks")["required"] else WARNING
    findings, recommendations = [], []
    if not details["config_exists"]:
        findings.append(f"no {PRECOMMIT_CONFIG} at the repository root")
    else:
        for hook_id, listed in details["listed"].items():
            if not listed:
                findings.append(f"{PRECOMMIT_CONFIG} does not list {hook_id}")
    if not all(details["listed"].values()):
        recommendations.append("Add the maf-hooks entry to .pre-commit-config.yaml: `maf init --write`.")
    not_installed = False
    for hook_type, state in details["installed"].items():
        if state != "installed":
            hook_file = os.path.join(details["hooks_dir"], hook_type)
            findings.append(f"the {hook_type} hook {hook_file} is {state}" if state != "missing"
                            else f"no {hook_type} hook installed in {details['hooks_dir']}")
            not_installed = True
    fixable = not_installed and all(details["listed"].values())
    if not_installed:
        how = f"Install the git hooks: {INSTALL_HOOKS} (or `maf-preflight --fix`)"
        if details["core_hooks_path"]:
            how += f"; core.hooksPath is set to {details['core_hooks_path']}, which pre-commit will not install into"
        recommendations.append(how + ".")
    if findings:
        level = "error" if severity == FAILED else "warning"
        return Outcome(severity, summarize(findings), details, findings, recommendations,
                       [Annotation(level, f"git hooks: {f}") for f in findings], fixable=fixable)
    return Outcome(PASSED, f"maf-reservations and maf-reservations-push listed and installed in "
                           f"{details['hooks_dir']}", details)


# --- reservations -----------------------------------------------------------------------------

def _lease_text(lease, now: int) -> str:
    return f"{lease.pattern!r} ({lease.mode}, {lease.id}, ends {relative(lease.expires_at, now)})"


def check_reservations(env: RunEnv) -> Outcome:
    path = env.context.db_path
    if not os.path.exists(path):
        return Outcome(SKIPPED, "skipped: no lease database, so nobody holds a lease "
                                f"({env.display(path)} does not exist)", {"database": env.display(path)})
    settings = env.check_settings("reservations")
    try:
        state = _lease_state(env, path)
    except sqlite3.Error as exc:
        from maf_hooks.store.db import describe  # noqa: PLC0415

        return Outcome(FAILED, "cannot read the leases: " + describe(exc, env.display(path)))
    if isinstance(state, Outcome):
        return state
    leases, expired_open, heartbeats, now = state
    return _judge_reservations(env, settings, leases, expired_open, heartbeats, now)


def _lease_state(env: RunEnv, path: str):
    """``(active leases, expired but not ended, {agent: last heartbeat}, now)`` or an Outcome."""
    from maf_hooks.leases import LeaseBook  # noqa: PLC0415
    from maf_hooks.store import migrations  # noqa: PLC0415

    conn = open_existing(path, min(env.settings["timeout_seconds"], 15.0), read_only=True)
    try:
        version = migrations.current_version(conn)
        if version < 1:
            return Outcome(SKIPPED, "skipped: the lease database holds no lease tables yet",
                           {"database": env.display(path)})
        if version > migrations.latest():
            return Outcome(FAILED, f"the lease database has schema version {version}, newer than this "
                                   f"maf-hooks knows ({migrations.latest()}): upgrade maf-hooks")
        book = LeaseBook(conn, env.clock)
        now = env.clock()
        leases = book.active(now)
        expired_open = conn.execute(
            "SELECT COUNT(*) FROM tasks t JOIN leases l ON l.task_id = t.id "
            "WHERE t.state = 'LEASED' AND l.lease_expires_at <= ?", (now,),
        ).fetchone()[0]
        heartbeats = dict(conn.execute("SELECT id, last_heartbeat FROM agents WHERE last_heartbeat IS NOT NULL"))
    finally:
        conn.close()
    return leases, expired_open, heartbeats, now


def _judge_reservations(env: RunEnv, settings: dict, leases: list, expired_open: int, heartbeats: dict,
                        now: int) -> Outcome:
    from maf_hooks.leases import EXCLUSIVE  # noqa: PLC0415
    from maf_hooks.patterns.index import LeaseIndex  # noqa: PLC0415

    agent = env.agent
    details: dict = {"agent": agent, "active_leases": len(leases), "expired_not_ended": expired_open}
    others = [lease for lease in leases if lease.agent != agent]
    if env.to_ref:
        details.update(source="range", from_ref=env.from_ref, to_ref=env.to_ref)
        changed_fn: Callable[[], set] = lambda: git.range_paths(  # noqa: E731
            env.context.paths, git.span_revs(env.context.paths, env.from_ref, env.to_ref))
    else:
        details["source"] = "working tree"
        changed_fn = lambda: gitinfo.working_tree_paths(env.context.paths)  # noqa: E731
    conflicts, shared = [], []
    if others:  # without leases of others nothing can conflict: spare the git call
        changed = changed_fn()
        details["changed_paths"] = len(changed)
        casefold = git.path_settings(env.context.paths.root).ignorecase
        index = LeaseIndex(((lease.pattern, lease) for lease in others), casefold=casefold)
        for changed_path in sorted(changed):
            for lease in index.covering(changed_path):
                (conflicts if lease.mode == EXCLUSIVE else shared).append((changed_path, lease))

    def entry(lease, **extra) -> dict:
        return {"lease_id": lease.id, "holder": lease.agent, "pattern": lease.pattern, "mode": lease.mode,
                "expires_at": iso(lease.expires_at), **extra}

    details["conflicts"] = [entry(lease, path=p) for p, lease in conflicts]
    details["shared"] = [entry(lease, path=p) for p, lease in shared]
    expiry_ms = settings["expiry_warning_minutes"] * 60_000
    expiring = [lease for lease in leases if agent and lease.agent == agent and lease.expires_at - now <= expiry_ms]
    details["expiring"] = [entry(lease) for lease in expiring]
    stale_ms = settings["stale_after_minutes"] * 60_000
    stale = []
    for lease in leases:
        beat = heartbeats.get(lease.agent)
        last = beat if beat is not None else lease.created_at
        if now - last >= stale_ms:
            stale.append((lease, beat))
    details["stale"] = [entry(lease, last_heartbeat=iso(beat), silent_for=span(now - (beat or lease.created_at)))
                        for lease, beat in stale]

    findings, warnings, annotations, recommendations = [], [], [], []
    if env.to_ref:
        scope_text = f"changed in {env.from_ref or '(commits on no remote)'}..{env.to_ref}"
    else:
        scope_text = "with uncommitted changes"
    for changed_path, lease in conflicts:
        findings.append(f"{changed_path}: under the exclusive lease of {lease.agent} {_lease_text(lease, now)}")
        annotations.append(Annotation("error", f"{changed_path} is leased exclusively by {lease.agent} "
                                               f"({lease.pattern!r}, {lease.id})", changed_path))
    for lease in expiring:
        warnings.append(f"your lease {_lease_text(lease, now)} ends within "
                        f"{settings['expiry_warning_minutes']} minutes")
    for lease, beat in stale:
        silent = f"no heartbeat for {span(now - beat)}" if beat is not None else \
            f"no heartbeat ever, lease taken {span(now - lease.created_at)} ago"
        warnings.append(f"{lease.agent} holds {lease.pattern!r} ({lease.id}) but sent {silent}")
    annotations += [Annotation("warning", text) for text in warnings]
    if conflicts:
        holders = sorted({lease.agent for _, lease in conflicts})
        recommendations.append(
            f"Do not commit these paths: ask {', '.join(holders)} (`maf mail send --to {holders[0]} --subject ...`), "
            "wait for the lease to end, or move your changes elsewhere. `maf-lease list` shows every lease."
        )
    if expiring:
        recommendations.append("Renew your leases before they end: `maf-lease renew --all`.")
    if stale:
        recommendations.append("A lease of a silent agent may be abandoned: ask its holder, or take it over "
                               "with `maf-lease acquire --force` once you are sure.")
    if expired_open:
        recommendations.append(f"{plural(expired_open, 'expired lease is', 'expired leases are')} not ended yet: "
                               "`maf-preflight --fix` ends them.")
    notes = []
    if shared:
        notes.append(f"{plural(len(shared), 'changed path is', 'changed paths are')} under shared leases of other agents")
    if conflicts:
        paths = sorted({p for p, _ in conflicts})
        first = ", ".join(f"{p} (held by {lease.agent})" for p, lease in conflicts[:3])
        more = f" and {len(conflicts) - 3} more" if len(conflicts) > 3 else ""
        counted = f"1 path {scope_text} is" if len(paths) == 1 else f"{len(paths)} paths {scope_text} are"
        message = f"{counted} under other agents' exclusive leases: {first}{more}"
        return Outcome(FAILED, message, details, findings + warnings, recommendations, annotations,
                       fixable=bool(expired_open))
    if warnings:
        return Outcome(WARNING, summarize(warnings), details, warnings, recommendations, annotations,
                       fixable=bool(expired_open))
    scope = (plural(details["changed_paths"], "changed path") if "changed_paths" in details
             else "no leases of other agents")
    summary = f"{plural(len(leases), 'active lease')}; {scope}; no conflict"
    if notes:
        summary += "; " + "; ".join(notes)
    return Outcome(PASSED, summary, details, recommendations=recommendations, fixable=bool(expired_open))


BUILTIN: dict[str, Callable[[RunEnv], Outcome]] = {
    "python": check_python,
    "environment": check_environment,
    "mcp": check_mcp,
    "database": check_database,
    "hooks": check_hooks,
    "reservations": check_reservations,
}
