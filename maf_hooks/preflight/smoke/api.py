"""Smoke tests of type api: an HTTP request, its status and body, within the timeout."""

from __future__ import annotations

import re
import threading

from maf_hooks.preflight.result import FAILED, PASSED, Outcome
from maf_hooks.preflight.runenv import RunEnv
from maf_hooks.preflight.smoke.process import MAX_CAPTURE, TAIL_BYTES, text


def _http(url: str, method: str, timeout: float) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, method=method, headers={"User-Agent": "maf-preflight"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(MAX_CAPTURE)
    except urllib.error.HTTPError as exc:  # a status outside 2xx is still an answer
        with exc:
            return exc.code, exc.read(MAX_CAPTURE) if exc.fp is not None else b""


def attempt_api(test: dict, env: RunEnv, timeout: float) -> Outcome:
    import socket
    import urllib.error

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
    if pattern and not re.search(pattern, text(body), re.M):
        problems.append(f"body does not match /{pattern}/")
    if problems:
        details["body_tail"] = env.redact(text(body[-TAIL_BYTES:]))
        return Outcome(FAILED, f"{what}: " + "; ".join(problems), details)
    return Outcome(PASSED, f"{what}: status {status} in {details['duration_ms']:.0f} ms", details)
