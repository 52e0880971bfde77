"""The ``environment`` check: required and optional variables, set or not (never their values)."""

from __future__ import annotations

from maf_hooks.preflight.result import FAILED, PASSED, Annotation, Outcome, plural
from maf_hooks.preflight.runenv import RunEnv


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
