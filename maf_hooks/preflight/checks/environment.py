"""The ``environment`` check: required and optional variables, set or not (never their values);
and whether the agent mail root is safe to write to (no symbolic link, nothing tracked under it)."""

from __future__ import annotations

from maf_hooks.errors import MafError
from maf_hooks.preflight.result import FAILED, PASSED, Annotation, Outcome, plural
from maf_hooks.preflight.runenv import RunEnv

MAIL_ROOT_FIX = ("Make the mail root a real, untracked directory (remove a committed `.agent-mail` link with "
                 "`git rm --cached`); `--fix` never creates it through a link.")


def _var_state(environ, name: str) -> str:
    if name not in environ:
        return "missing"
    return "present" if environ[name].strip() else "empty"


def check_environment(env: RunEnv) -> Outcome:
    """Set or not, never the value."""
    settings = env.check_settings("environment")
    required = {name: _var_state(env.environ, name) for name in settings["required_vars"]}
    optional = {name: _var_state(env.environ, name) for name in settings["optional_vars"]}
    details: dict = {"required": required, "optional": optional}
    mail_problems = _mail_root_problems(env)
    if mail_problems:
        details["mail_root_problems"] = mail_problems
    absent = [name for name, state in required.items() if state != "present"]
    optional_missing = [name for name, state in optional.items() if state != "present"]
    optional_text = ""
    if optional:
        present = len(optional) - len(optional_missing)
        optional_text = f"; optional: {present} of {len(optional)} set"
        if optional_missing:
            optional_text += f" (not set: {', '.join(optional_missing)})"
    if absent or mail_problems:
        findings = [f"{name} is {required[name]}" for name in absent] + mail_problems
        summary = [f"required variables not set: {', '.join(absent)}{optional_text}"] if absent else []
        if mail_problems:
            summary.append(f"the mail root is unsafe ({plural(len(mail_problems), 'problem')})")
        remedies = [f"Set the required environment variables ({', '.join(absent)}) before starting work."] \
            if absent else []
        if mail_problems:
            remedies.append(MAIL_ROOT_FIX)
        return Outcome(
            FAILED, "; ".join(summary), details, findings, remedies,
            [Annotation("error", f"required environment variable {name} is {required[name]}") for name in absent]
            + [Annotation("error", problem) for problem in mail_problems],
        )
    if not required and not optional:
        return Outcome(PASSED, "no variables required", details)
    return Outcome(PASSED, f"{plural(len(required), 'required variable')} set{optional_text}", details)


def _mail_root_problems(env: RunEnv) -> list[str]:
    from maf_hooks import git, repo_setup

    try:
        context = env.context
        return repo_setup.mail_root_problems(git.main_worktree_root(context.paths), context.mail_root())
    except (MafError, OSError):
        return []  # no repository or no configuration: other checks report that
