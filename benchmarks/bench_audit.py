#!/usr/bin/env python
"""Audit benchmark: ``maf audit validate`` after a busy month, fresh, full and incremental.

Run from the repository (with the package installed, e.g. in its virtualenv)::

    python benchmarks/bench_audit.py                 # builds the month first (gen_history.py): minutes
    python benchmarks/bench_audit.py --repo REPO     # a repository gen_history.py built already
    python benchmarks/bench_audit.py --runs 5        # quicker

Measured, as the ``maf audit validate`` command in a subprocess (medians of ``--runs``, the
cells interleaved run by run so that a busy machine slows them alike):

- ``floor``: ``python -c "import sqlite3, click"``, a process that could not do less;
- ``fresh``: a repository with a fresh database (four events): the command's own cost;
- ``full``: ``validate --full`` on the month (every event hashed; it also moves the checkpoint);
- ``incremental``: ``validate`` on the month with nothing added since the last check;
- ``incremental +20``: ``validate`` after 20 events were appended since the last check.

In-process figures (``services.audit.validate`` on an open store) follow, and the hashing alone
(``core.chain.chain_hash`` over every row, next to ``json.dumps`` as it was). The target: the
incremental validation under 100 ms (on a machine where the floor is about 40 ms and a
fresh validation about 90 ms: compare the ratios on a slower one). The last line is one JSON document with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gen_history import build

from maf_hooks.core import chain
from maf_hooks.services import audit
from maf_hooks.store.sqlite import open_file
from maf_hooks.timeutil import now_ms


def clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("MAF_")}


FLOOR = [sys.executable, "-c", "import sqlite3, click"]


def command(repo: str, *args: str, argv: list[str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv or [sys.executable, "-m", "maf_hooks.cli", "audit", "validate", *args], cwd=repo,
                          env=clean_env(), capture_output=True, text=True)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise SystemExit(f"validate failed in {repo}: {done.stdout}{done.stderr}")
    return elapsed


def append(db_path: str, count: int) -> None:
    with open_file(db_path, now_ms) as store, store.write() as now:
        for index in range(count):
            store.events.append("maf:system", "bench", "bench", {"n": index}, now)


def in_process(db_path: str, runs: int, **options) -> float:
    times = []
    with open_file(db_path, now_ms) as store:
        for _ in range(runs):
            started = time.perf_counter()
            result = audit.validate(store, **options)
            times.append((time.perf_counter() - started) * 1000)
            assert result["valid"], result
    return statistics.median(times)


def hashing(db_path: str) -> dict[str, float]:
    import json as _json

    with open_file(db_path, now_ms) as store:
        rows = [row[:6] for row in store.audit.chain_rows()]
    started = time.perf_counter()
    for row in rows:
        chain.canonical(row)
    fast = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    for row in rows:
        _json.dumps(list(row), separators=(",", ":"), ensure_ascii=False)
    dumps = (time.perf_counter() - started) * 1000
    return {"rows": len(rows), "canonical_ms": round(fast, 1), "json_dumps_ms": round(dumps, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="a repository built by gen_history.py (default: build one now)")
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args(argv)
    scratch = tempfile.mkdtemp(prefix="maf-bench-audit-")
    try:
        month = args.repo
        if month is None:
            month = os.path.join(scratch, "month")
            subprocess.run(["git", "init", "-q", month], check=True)
            os.makedirs(os.path.join(month, ".git", "maf"))
            print("building the month (gen_history.py) ...", file=sys.stderr)
            print(build(os.path.join(month, ".git", "maf", "runtime.db")), file=sys.stderr)
        month_db = os.path.join(month, ".git", "maf", "runtime.db")
        fresh = os.path.join(scratch, "fresh")
        subprocess.run(["git", "init", "-q", fresh], check=True)
        os.makedirs(os.path.join(fresh, ".git", "maf"))
        fresh_db = os.path.join(fresh, ".git", "maf", "runtime.db")
        build(fresh_db, agents=1, cycles=1, days=1, refused=0, quiet=True)
        append(fresh_db, 1)
        command(month, "--full")  # warm the file cache; leaves the checkpoint at the newest event
        cells: dict[str, list[float]] = {"floor": [], "fresh": [], "full": [], "incremental": [],
                                         "incremental +20": []}
        for _ in range(args.runs):
            cells["floor"].append(command(fresh, argv=FLOOR))
            cells["fresh"].append(command(fresh))
            cells["full"].append(command(month, "--full"))
            cells["incremental"].append(command(month))
            append(month_db, 20)
            cells["incremental +20"].append(command(month))
        medians = {name: statistics.median(values) for name, values in cells.items()}
        floor = medians["fresh"]
        print(f"{'maf audit validate':24} {'median ms':>10} {'min':>8} {'max':>8} {'x fresh':>8} {'x floor':>8}")
        for name, values in cells.items():
            print(f"{name:24} {medians[name]:10.1f} {min(values):8.1f} {max(values):8.1f} "
                  f"{medians[name] / floor:8.2f} {medians[name] / medians['floor']:8.2f}")
        process = {"full": in_process(month_db, max(3, args.runs // 3), full=True),
                   "incremental": in_process(month_db, args.runs)}
        print(f"in process: full {process['full']:.1f} ms, incremental {process['incremental']:.2f} ms")
        hashed = hashing(month_db)
        print(f"canonical encoding of {hashed['rows']} rows: {hashed['canonical_ms']} ms "
              f"(json.dumps: {hashed['json_dumps_ms']} ms)")
        target_met = medians["incremental"] < 100
        print(f"target: incremental under 100 ms: {'met' if target_met else 'NOT met'}")
        print(json.dumps({"cli_ms": {name: round(value, 1) for name, value in medians.items()},
                          "in_process_ms": {name: round(value, 2) for name, value in process.items()},
                          "hashing": hashed, "runs": args.runs, "target_met": target_met}))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
