#!/usr/bin/env python
"""Edit-time hook benchmark: ``maf agent-hook claude`` wall time next to a floor measured in the same run.

    python benchmarks/bench_agent_hook.py            # 25 interleaved runs of each command
    python benchmarks/bench_agent_hook.py --quick    # 7 runs of each
    python benchmarks/bench_agent_hook.py --venv DIR # keep the virtualenv in DIR and reuse it

``maf agent-hook`` runs on every file edit of every agent: a new process of the ``maf`` console
script, Claude Code's PreToolUse JSON on stdin, in the repository, with no ``MAF_AGENT_ID`` (the
agent id comes from the session, so git config is asked for ``maf.agentId``, as in a real
session). The project is installed NON-editable into a virtualenv of its own (as in
``bench_hook.py``, whose helpers this script uses), and that virtualenv's Python runs the floor.

The floor: ``python -c "import sqlite3, json"`` that reads the same JSON from stdin and opens the
same lease database (connect and one query). For 1,000 and 10,000 active leases of another agent
(half exact paths, half ``dir/**`` globs), each case in a fresh repository:

- ``edit free``: an Edit of a file no lease covers (allowed: prints nothing). Target with 1,000
  leases: at most 1.5x the floor.
- ``edit leased``: an Edit of a file another agent's lease covers (denied: a record, mail
  deduplicated after the first). Informational.
- ``read``: a Read, which writes nothing: answered before the database is opened. Informational.

Commands run interleaved (floor, free, leased, read, floor, ...), so noise hits all alike; the
table shows medians and ratios to the floor, then one line of JSON. Exit 0 unless it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_hook import clean_env, git, install, log, median, populate, spread, venv_bin, write_files  # noqa: E402

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = 1.5
FLOOR_CODE = (
    "import sqlite3, json, sys\n"
    "json.loads(sys.stdin.buffer.read())\n"
    "conn = sqlite3.connect(sys.argv[1])\n"
    "conn.execute('SELECT count(*) FROM sqlite_master').fetchone()\n"
    "conn.close()\n"
)


def build(parent, name, count):
    """A repository of 200 files in 100 directories and ``count`` lease patterns for the holder:
    exact paths ``pkgI/mod.py`` and globs ``pkgI/deep/**``; one more covers ``src/leased.py``."""
    repo = os.path.join(parent, name)
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    files = [f"d{i:03d}/f{j}.py" for i in range(100) for j in range(2)] + ["src/free.py", "src/leased.py"]
    write_files(repo, files, "x = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "files")
    half = count // 2
    patterns = [f"pkg{i}/mod.py" for i in range(half)] + [f"pkg{i}/deep/**" for i in range(count - half - 1)]
    return repo, patterns + ["src/leased.py"]


def edit_input(repo, path, tool="Edit"):
    return json.dumps({
        "session_id": "5d2f3c1a-0b9e-4f7d-8a6c-1e2d3f4a5b6c", "transcript_path": "/dev/null", "cwd": repo,
        "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": tool,
        "tool_input": {"file_path": os.path.join(repo, path), "old_string": "x = 1", "new_string": "x = 2"},
        "tool_use_id": "toolu_bench",
    }).encode()


def timed(cmd, cwd, env, data, check):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - t0) * 1000
    problem = check(proc)
    if problem:
        raise RuntimeError(f"{' '.join(cmd)} in {cwd}: {problem} (exit {proc.returncode}, "
                           f"stdout {proc.stdout[:300]!r}, stderr {proc.stderr[:500]!r})")
    return elapsed


def allowed(proc):
    return None if proc.returncode == 0 and not proc.stdout.strip() else "expected an allowed call"


def denied(proc):
    ok = proc.returncode == 0 and b'"permissionDecision": "deny"' in proc.stdout
    return None if ok else "expected a deny"


def run(args, workdir):
    venv = os.path.abspath(args.venv) if args.venv else os.path.join(workdir, "venv")
    python, _ = install(venv, workdir, os.path.abspath(args.project))
    maf = venv_bin(venv, "maf")
    env = clean_env(HOME=workdir, XDG_CONFIG_HOME=os.path.join(workdir, "config"))
    commands = []  # (label, case, argv, cwd, stdin, check)
    cases = {}
    for count in args.sizes:
        repo, patterns = build(os.path.join(workdir, "repos"), f"leases-{count}", count)
        info = populate(python, repo, patterns)
        cases[count] = {"leases": info["active"]}
        log(f"  {count}: {info['active']} leases (taken in {info['seconds']} s)")
        commands += [
            (f"floor {count}", count, [python, "-c", FLOOR_CODE, info["db_path"]], repo,
             edit_input(repo, "src/free.py"), allowed),
            (f"edit free {count}", count, [maf, "agent-hook", "claude"], repo, edit_input(repo, "src/free.py"), allowed),
            (f"edit leased {count}", count, [maf, "agent-hook", "claude"], repo, edit_input(repo, "src/leased.py"),
             denied),
            (f"read {count}", count, [maf, "agent-hook", "claude"], repo, edit_input(repo, "src/leased.py", "Read"),
             allowed),
        ]
    times = {label: [] for label, *_ in commands}
    for label, _, argv, cwd, data, check in commands:  # warm-up: caches, byte-code, first records
        timed(argv, cwd, env, data, check)
    for _ in range(args.runs):
        for label, _, argv, cwd, data, check in commands:
            times[label].append(timed(argv, cwd, env, data, check))
    rows = []
    print(f"{'command':<22} {'p50 ms':>8} {'p90 ms':>8} {'x floor':>8}")
    for label, count, *_ in commands:
        stats = spread(times[label])
        ratio = round(stats["p50"] / median(times[f"floor {count}"]), 2)
        rows.append({"command": label, **stats, "ratio": ratio})
        target = f"  (target <= {TARGET}x)" if label == f"edit free {min(args.sizes)}" else ""
        print(f"{label:<22} {stats['p50']:>8} {stats['p90']:>8} {ratio:>8}{target}")
    print(json.dumps({"benchmark": "agent_hook", "python": platform.python_version(), "runs": args.runs,
                      "cases": cases, "results": rows}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="7 runs of each command instead of 25")
    parser.add_argument("--venv", help="keep the virtualenv here and reuse it")
    parser.add_argument("--project", default=PROJECT, help="the source tree to benchmark")
    parser.add_argument("--sizes", default="1000,10000", help="active lease counts (default 1000,10000)")
    args = parser.parse_args(argv)
    args.runs = 7 if args.quick else 25
    args.sizes = [int(size) for size in args.sizes.split(",")]
    workdir = tempfile.mkdtemp(prefix="maf-bench-agent-")
    try:
        run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
