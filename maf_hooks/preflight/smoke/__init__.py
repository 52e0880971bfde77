"""Smoke tests: ``[[preflight.smoke_tests]]`` of type command (or integration), performance, api,
database and file_system, one module each, each with its timeout and retries.

- A command runs in a session of its own; on timeout the whole process group is killed
  (:mod:`maf_hooks.preflight.smoke.process`).
- A failed attempt is retried ``retry_count`` times, waiting ``retry_backoff_seconds`` before
  the first retry and twice as long before each next one.
- The report keeps every attempt and, for a failed command, the last 4 KB of its standard output
  and standard error, with the values of the environment check's variables replaced by ``***``.
"""

from __future__ import annotations

from typing import Callable

from maf_hooks.preflight.result import FAILED, Outcome
from maf_hooks.preflight.runenv import RunEnv
from maf_hooks.preflight.schema import smoke_settings
from maf_hooks.preflight.smoke.api import attempt_api
from maf_hooks.preflight.smoke.command import attempt_command
from maf_hooks.preflight.smoke.database import attempt_database
from maf_hooks.preflight.smoke.file_system import attempt_file_system
from maf_hooks.preflight.smoke.process import TAIL_BYTES

__all__ = ["ATTEMPTS", "TAIL_BYTES", "backoff_delay", "run_smoke_test"]

MAX_BACKOFF_SECONDS = 60.0

ATTEMPTS: dict[str, Callable[[dict, RunEnv, float], Outcome]] = {
    "command": attempt_command,
    "integration": attempt_command,
    "performance": attempt_command,
    "api": attempt_api,
    "database": attempt_database,
    "file_system": attempt_file_system,
}


def backoff_delay(base: float, retry: int) -> float:
    """Wait before retry number ``retry`` (1, 2, ...): base, 2 x base, 4 x base, ... (capped)."""
    return min(base * (2 ** (retry - 1)), MAX_BACKOFF_SECONDS)


def run_smoke_test(raw: dict, env: RunEnv) -> tuple[Outcome, list]:
    """Run one smoke test with its retries; return the last outcome and every attempt."""
    test = smoke_settings(raw)
    section = env.settings
    timeout = test["timeout_seconds"] if test.get("timeout_seconds") is not None else section["timeout_seconds"]
    retries = test["retry_count"] if test.get("retry_count") is not None else section["retry_count"]
    total = retries + 1
    attempts = []
    outcome = None
    for number in range(1, total + 1):
        delay = 0.0
        if number > 1:
            delay = backoff_delay(section["retry_backoff_seconds"], number - 1)
            env.progress.retry(test["id"], test["name"], number, total, delay)
            if delay:
                env.sleep(delay)
        env.progress.start(test["id"], test["name"], number, total, timeout)
        started = env.monotonic()
        try:
            outcome = ATTEMPTS[test["type"]](test, env, timeout)
        except Exception as exc:  # noqa: BLE001 - one broken test must not hide the others
            outcome = Outcome(FAILED, f"could not run: {type(exc).__name__}: {env.redact(str(exc))}")
        record = {
            "attempt": number,
            "status": "timeout" if outcome.timed_out else outcome.status,
            "durationMs": round((env.monotonic() - started) * 1000, 1),
            "message": outcome.message,
        }
        if number > 1:
            record["delay_ms"] = round(delay * 1000, 1)
        if "exit_code" in outcome.details:
            record["exit_code"] = outcome.details["exit_code"]
        if "status" in outcome.details:
            record["http_status"] = outcome.details["status"]
        attempts.append(record)
        if outcome.status != FAILED:
            break
    assert outcome is not None
    outcome.details.setdefault("timeout_seconds", timeout)
    outcome.details.setdefault("retry_count", retries)
    if len(attempts) > 1:
        outcome.message += f" (attempt {len(attempts)} of {total})" if outcome.status != FAILED \
            else f" (all {total} attempts failed)"
    return outcome, attempts
