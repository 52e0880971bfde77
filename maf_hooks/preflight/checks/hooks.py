"""The ``hooks`` check: ``.pre-commit-config.yaml`` lists the hook ids git runs, and a git hook
of every type their stages declare is installed (the table: :data:`maf_hooks.git.GIT_HOOKS`)."""

from __future__ import annotations

import os

from maf_hooks import git
from maf_hooks.preflight import gitinfo
from maf_hooks.preflight.result import FAILED, PASSED, WARNING, Annotation, Outcome, joined, summarize
from maf_hooks.preflight.runenv import RunEnv

PRECOMMIT_CONFIG = ".pre-commit-config.yaml"


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
    """What is configured and installed (shared by the check and ``--fix``): ``listed`` maps each
    hook id to whether the configuration lists it, ``installed`` each git hook type to its state."""
    from maf_hooks.precommit_config import listed_hook_ids

    config_path = os.path.join(env.root, PRECOMMIT_CONFIG)
    try:
        with open(config_path, encoding="utf-8", errors="replace") as handle:
            listed = listed_hook_ids(handle.read(), tuple(git.GIT_HOOKS))
        config_exists = True
    except FileNotFoundError:
        listed, config_exists = set(), False
    directory = gitinfo.hooks_dir(env.context.paths)
    installed = {
        hook_type: _hook_state(os.path.join(directory, hook_type), hook_id)
        for hook_id, hook_types in git.GIT_HOOKS.items() for hook_type in hook_types
    }
    return {
        "config": PRECOMMIT_CONFIG,
        "config_exists": config_exists,
        "listed": {hook_id: hook_id in listed for hook_id in git.GIT_HOOKS},
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
        how = f"Install the git hooks: {git.install_command()} (or `maf-preflight --fix`)"
        if details["core_hooks_path"]:
            how += f"; core.hooksPath is set to {details['core_hooks_path']}, which pre-commit will not install into"
        recommendations.append(how + ".")
    if findings:
        level = "error" if severity == FAILED else "warning"
        return Outcome(severity, summarize(findings), details, findings, recommendations,
                       [Annotation(level, f"git hooks: {f}") for f in findings],
                       fixable=fixable)
    return Outcome(PASSED, f"{joined(list(git.GIT_HOOKS))} listed and installed in {details['hooks_dir']} "
                           f"({', '.join(details['installed'])})", details)
