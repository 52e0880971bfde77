"""Smoke tests of type database: a configured query on an SQLite file, read-only, within the
timeout (:func:`maf_hooks.store.sqlite.preflight.run_query`)."""

from __future__ import annotations

import os

from maf_hooks.preflight.result import FAILED, PASSED, Outcome, plural
from maf_hooks.preflight.runenv import RunEnv


def attempt_database(test: dict, env: RunEnv, timeout: float) -> Outcome:
    from maf_hooks.store.sqlite.preflight import QueryFailed, run_query

    path = os.path.expanduser(test["sqlite"])
    if not os.path.isabs(path):
        path = os.path.join(env.root, path)
    details = {"sqlite": test["sqlite"], "query": test["query"]}
    if test.get("expected_rows") is not None:
        details["expected_rows"] = test["expected_rows"]
    if not os.path.isfile(path):
        return Outcome(FAILED, f"{test['sqlite']}: no such database file", details)
    try:
        rows = run_query(path, test["query"], env.monotonic() + timeout, monotonic=env.monotonic)
    except QueryFailed as exc:
        if exc.stage == "timeout":
            return Outcome(FAILED, f"{test['sqlite']}: the query ran longer than {timeout:g} s", details,
                           timed_out=True)
        what = "cannot open" if exc.stage == "open" else "query failed"
        return Outcome(FAILED, f"{test['sqlite']}: {what} ({exc})", details)
    details["rows"] = rows
    expected = test.get("expected_rows")
    if expected is not None and rows != expected:
        return Outcome(FAILED, f"{test['sqlite']}: the query returned {plural(rows, 'row')}, expected {expected}",
                       details)
    return Outcome(PASSED, f"{test['sqlite']}: the query returned {plural(rows, 'row')}", details)
