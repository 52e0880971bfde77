"""Smoke tests of type command (and integration, performance): exit code, output, duration."""

from __future__ import annotations

import os
import re

from maf_hooks.preflight.result import FAILED, PASSED, Outcome
from maf_hooks.preflight.runenv import RunEnv
from maf_hooks.preflight.smoke.process import run_process, text


def _command_text(command) -> str:
    if isinstance(command, str):
        return command
    import shlex

    return " ".join(shlex.quote(part) for part in command)


def attempt_command(test: dict, env: RunEnv, timeout: float) -> Outcome:
    cwd = os.path.join(env.root, os.path.expanduser(test["cwd"])) if test.get("cwd") else env.root
    details: dict = {"command": _command_text(test["run"])}
    if test.get("cwd"):
        details["cwd"] = test["cwd"]
    try:
        result = run_process(test["run"], cwd=cwd, environ=env.environ, timeout=timeout, monotonic=env.monotonic)
    except OSError as exc:
        return Outcome(FAILED, f"cannot run: {env.redact(exc.strerror or str(exc))}"
                               + (f": {exc.filename}" if exc.filename else ""), details)
    details.update(exit_code=result.exit_code, duration_ms=round(result.duration_ms, 1))
    problems = []
    if result.timed_out:
        problems.append(f"timed out after {timeout:g} s (process group killed)")
    else:
        if result.exit_code != test["expect_exit"]:
            problems.append(f"exited {result.exit_code}, expected {test['expect_exit']}")
        pattern = test.get("expect_stdout")
        if pattern and not re.search(pattern, text(result.stdout), re.M):
            problems.append(f"standard output does not match /{pattern}/")
        limit = test.get("max_duration_ms")
        if limit is not None and result.duration_ms > limit:
            problems.append(f"took {result.duration_ms:.0f} ms, more than max_duration_ms {limit}")
    if problems:
        details["stdout_tail"] = env.redact(text(result.stdout_tail))
        details["stderr_tail"] = env.redact(text(result.stderr_tail))
        return Outcome(FAILED, "; ".join(problems), details, timed_out=result.timed_out)
    if test.get("max_duration_ms") is not None:
        return Outcome(PASSED, f"took {result.duration_ms:.0f} ms (at most {test['max_duration_ms']} ms)", details)
    return Outcome(PASSED, f"exited {result.exit_code} in {result.duration_ms:.0f} ms", details)
