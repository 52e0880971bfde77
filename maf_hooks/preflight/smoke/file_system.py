"""Smoke tests of type file_system: paths that must exist, paths that must be writable."""

from __future__ import annotations

import os

from maf_hooks.preflight.result import FAILED, PASSED, Outcome, plural
from maf_hooks.preflight.runenv import RunEnv


def _writable(path: str) -> bool:
    """Really try (permission bits lie to root and on some mounts); nothing is left behind."""
    if os.path.isdir(path):
        import tempfile

        try:
            with tempfile.TemporaryFile(dir=path):
                return True
        except OSError:
            return False
    try:
        with open(path, "ab"):
            return True
    except OSError:
        return False


def attempt_file_system(test: dict, env: RunEnv, timeout: float) -> Outcome:
    def resolve(entry: str) -> str:
        path = os.path.expanduser(entry)
        return path if os.path.isabs(path) else os.path.join(env.root, path)

    missing = [entry for entry in test["exists"] if not os.path.exists(resolve(entry))]
    absent = [entry for entry in test["writable"] if not os.path.exists(resolve(entry))]
    read_only = [entry for entry in test["writable"] if entry not in absent and not _writable(resolve(entry))]
    details = {"exists": {e: e not in missing for e in test["exists"]},
               "writable": {e: "missing" if e in absent else ("no" if e in read_only else "yes")
                            for e in test["writable"]}}
    problems = []
    if missing or absent:
        problems.append("missing: " + ", ".join(missing + absent))
    if read_only:
        problems.append("not writable: " + ", ".join(read_only))
    if problems:
        return Outcome(FAILED, "; ".join(problems), details)
    exist = plural(len(test["exists"]), "path exists", "paths exist")
    return Outcome(PASSED, f"{exist}, {len(test['writable'])} writable", details)
