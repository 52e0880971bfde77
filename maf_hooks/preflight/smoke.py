"""Smoke tests: ``[[preflight.smoke_tests]]`` of type command (or integration), performance, api,
database and file_system, each with its timeout and retries.

- A command runs in a session of its own; on timeout the whole process group is killed
  (SIGTERM, then SIGKILL), so a shell's children die with it.
- A failed attempt is retried ``retry_count`` times, waiting ``retry_backoff_seconds`` before
  the first retry and twice as long before each next one.
- The report keeps every attempt and, for a failed command, the last 4 KB of its standard output
  and standard error, with the values of the environment check's variables replaced by ``***``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from maf_hooks.preflight.result import FAILED, PASSED, Outcome, plural
from maf_hooks.preflight.runenv import RunEnv
from maf_hooks.preflight.schema import smoke_settings

TAIL_BYTES = 4096
MAX_CAPTURE = 8 * 1024 * 1024  # what is kept of stdout to match expect_stdout against
KILL_GRACE_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 60.0


# --- processes --------------------------------------------------------------------------------

class _Collector(threading.Thread):
    """Drain one pipe: keep the first MAX_CAPTURE bytes and the last TAIL_BYTES."""

    def __init__(self, stream, keep: int):
        super().__init__(daemon=True)
        self.stream = stream
        self.keep = keep
        self.data = bytearray()
        self.tail = bytearray()

    def run(self) -> None:
        try:
            while True:
                chunk = self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536)
                if not chunk:
                    break
                if len(self.data) < self.keep:
                    self.data += chunk[: self.keep - len(self.data)]
                self.tail += chunk
                if len(self.tail) > TAIL_BYTES:
                    del self.tail[: len(self.tail) - TAIL_BYTES]
        except (OSError, ValueError):
            pass


@dataclass
class ProcessResult:
    exit_code: Optional[int]
    stdout: bytes
    stdout_tail: bytes
    stderr_tail: bytes
    duration_ms: float
    timed_out: bool


def kill_tree(proc: subprocess.Popen) -> None:
    """End the process and everything it started (its process group, as it leads a session)."""
    if os.name != "posix":
        proc.kill()
        return
    for sig, grace in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if grace is not None:
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass


def run_process(command, *, cwd: str, environ, timeout: float,
                monotonic: Callable[[], float]) -> ProcessResult:
    """Run ``command`` (a string: through the shell; a list: as is) with a deadline."""
    shell = isinstance(command, str)
    started = monotonic()
    proc = subprocess.Popen(
        command, shell=shell, cwd=cwd, env=dict(environ), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=(os.name == "posix"),
    )
    out, err = _Collector(proc.stdout, MAX_CAPTURE), _Collector(proc.stderr, 0)
    out.start()
    err.start()
    timed_out = False
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    duration = (monotonic() - started) * 1000
    if timed_out:
        kill_tree(proc)
    elif os.name == "posix":
        _reap_group(proc)  # children it left running in the background (`cmd &`) end with it
    proc.wait()
    for collector in (out, err):
        collector.join(2.0)  # a process that escaped the group may hold the pipe: do not wait for it
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None and not (out.is_alive() or err.is_alive()):
            pipe.close()
    return ProcessResult(None if timed_out else proc.returncode, bytes(out.data), bytes(out.tail),
                         bytes(err.tail), duration, timed_out)


def _reap_group(proc: subprocess.Popen) -> None:
    """After a normal exit, children left running in the background would keep the pipes open
    (and outlive the test): end them too."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _command_text(command) -> str:
    if isinstance(command, str):
        return command
    import shlex  # noqa: PLC0415

    return " ".join(shlex.quote(part) for part in command)


def attempt_command(test: dict, env: RunEnv, timeout: float) -> Outcome:
    cwd = os.path.join(env.root, os.path.expanduser(test["cwd"])) if test.get("cwd") else env.root
    details = {"command": _command_text(test["run"])}
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
        if pattern and not re.search(pattern, _text(result.stdout), re.M):
            problems.append(f"standard output does not match /{pattern}/")
        limit = test.get("max_duration_ms")
        if limit is not None and result.duration_ms > limit:
            problems.append(f"took {result.duration_ms:.0f} ms, more than max_duration_ms {limit}")
    if problems:
        details["stdout_tail"] = env.redact(_text(result.stdout_tail))
        details["stderr_tail"] = env.redact(_text(result.stderr_tail))
        return Outcome(FAILED, "; ".join(problems), details, timed_out=result.timed_out)
    if test.get("max_duration_ms") is not None:
        return Outcome(PASSED, f"took {result.duration_ms:.0f} ms (at most {test['max_duration_ms']} ms)", details)
    return Outcome(PASSED, f"exited {result.exit_code} in {result.duration_ms:.0f} ms", details)


# --- api --------------------------------------------------------------------------------------

def _http(url: str, method: str, timeout: float) -> tuple[int, bytes]:
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(url, method=method, headers={"User-Agent": "maf-preflight"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            return response.status, response.read(MAX_CAPTURE)
    except urllib.error.HTTPError as exc:  # a status outside 2xx is still an answer
        with exc:
            return exc.code, exc.read(MAX_CAPTURE) if exc.fp is not None else b""


def attempt_api(test: dict, env: RunEnv, timeout: float) -> Outcome:
    import socket  # noqa: PLC0415
    import urllib.error  # noqa: PLC0415

    details = {"url": test["url"], "method": test["method"], "expected_status": test["expected_status"]}
    box: dict = {}

    def call():
        try:
            box["answer"] = _http(test["url"], test["method"], timeout)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    started = env.monotonic()
    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(timeout)  # the socket timeout bounds each read; this bounds the whole request
    details["duration_ms"] = round((env.monotonic() - started) * 1000, 1)
    what = f"{test['method']} {test['url']}"
    error = box.get("error")
    if worker.is_alive() or isinstance(error, (socket.timeout, TimeoutError)) or (
            isinstance(error, urllib.error.URLError) and isinstance(error.reason, (socket.timeout, TimeoutError))):
        return Outcome(FAILED, f"{what}: no answer within {timeout:g} s", details, timed_out=True)
    if error is not None:
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        return Outcome(FAILED, f"{what}: cannot connect ({env.redact(str(reason))})", details)
    status, body = box["answer"]
    details["status"] = status
    problems = []
    if status != test["expected_status"]:
        problems.append(f"status {status}, expected {test['expected_status']}")
    pattern = test.get("expect_body")
    if pattern and not re.search(pattern, _text(body), re.M):
        problems.append(f"body does not match /{pattern}/")
    if problems:
        details["body_tail"] = env.redact(_text(body[-TAIL_BYTES:]))
        return Outcome(FAILED, f"{what}: " + "; ".join(problems), details)
    return Outcome(PASSED, f"{what}: status {status} in {details['duration_ms']:.0f} ms", details)


# --- database ---------------------------------------------------------------------------------

def attempt_database(test: dict, env: RunEnv, timeout: float) -> Outcome:
    import sqlite3  # noqa: PLC0415

    from maf_hooks.preflight.checks import open_existing  # noqa: PLC0415

    path = os.path.expanduser(test["sqlite"])
    if not os.path.isabs(path):
        path = os.path.join(env.root, path)
    details = {"sqlite": test["sqlite"], "query": test["query"]}
    if test.get("expected_rows") is not None:
        details["expected_rows"] = test["expected_rows"]
    if not os.path.isfile(path):
        return Outcome(FAILED, f"{test['sqlite']}: no such database file", details)
    deadline = env.monotonic() + timeout
    try:
        conn = open_existing(path, timeout, read_only=True)
    except sqlite3.Error as exc:
        return Outcome(FAILED, f"{test['sqlite']}: cannot open ({exc})", details)
    conn.set_progress_handler(lambda: 1 if env.monotonic() > deadline else 0, 1000)
    try:
        rows = 0
        for _ in conn.execute(test["query"]):
            rows += 1
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            return Outcome(FAILED, f"{test['sqlite']}: the query ran longer than {timeout:g} s", details,
                           timed_out=True)
        return Outcome(FAILED, f"{test['sqlite']}: query failed ({exc})", details)
    except sqlite3.Error as exc:
        return Outcome(FAILED, f"{test['sqlite']}: query failed ({exc})", details)
    finally:
        conn.close()
    details["rows"] = rows
    expected = test.get("expected_rows")
    if expected is not None and rows != expected:
        return Outcome(FAILED, f"{test['sqlite']}: the query returned {_rows(rows)}, expected {expected}", details)
    return Outcome(PASSED, f"{test['sqlite']}: the query returned {_rows(rows)}", details)


def _rows(count: int) -> str:
    return plural(count, "row")


# --- file system ------------------------------------------------------------------------------

def _writable(path: str) -> bool:
    """Really try (permission bits lie to root and on some mounts); nothing is left behind."""
    if os.path.isdir(path):
        import tempfile  # noqa: PLC0415

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


ATTEMPTS = {
    "command": attempt_command,
    "integration": attempt_command,
    "performance": attempt_command,
    "api": attempt_api,
    "database": attempt_database,
    "file_system": attempt_file_system,
}


# --- retries ----------------------------------------------------------------------------------

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
            "duration_ms": round((env.monotonic() - started) * 1000, 1),
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
