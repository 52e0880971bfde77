#!/usr/bin/env python
"""Preflight benchmark: a full ``maf-preflight`` without smoke tests, in-process and as a process.

Run from the repository (with the package installed, e.g. in its virtualenv)::

    python benchmarks/bench_preflight.py            # 15 runs per measurement
    python benchmarks/bench_preflight.py --runs 5   # quicker

Two temporary git repositories are measured:

- ``fresh``: ``git init`` and one commit; no lease database, no hooks (the checks find nothing to
  read: database warns, reservations is skipped);
- ``busy``: a lease database with 1,000 active leases of other agents, 200 changed files in the
  working tree (staged, unstaged, untracked), a ``.pre-commit-config.yaml`` listing the hooks and
  the hook files installed, required packages, variables and three MCP files, so that every one
  of the six checks does its full work (and each run is recorded in ``preflight_executions``).

For each: the median (and min, max) wall time of ``runner.execute`` in this process (a new
``Context`` each run: configuration, ``git rev-parse``), and of the ``maf-preflight --json``
command as a subprocess, next to a floor measured interleaved in the same run (``python -c pass``
and ``python -c "import maf_hooks.cli.preflight"``). The target is a full preflight under 1 s;
the last line is one JSON document with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from maf_hooks.context import Context
from maf_hooks.core import leases as rules
from maf_hooks.preflight import runner
from maf_hooks.preflight.runenv import RunEnv

TARGET_MS = 1000.0
LEASES = 1_000
CHANGED_FILES = 200
HOOKS_CONFIG = """repos:
  - repo: local
    hooks:
      - id: maf-reservations
        name: maf-reservations
        entry: maf-reservations
        language: system
        pass_filenames: false
        always_run: true
        stages: [pre-commit]
      - id: maf-reservations-push
        name: maf-reservations-push
        entry: maf-reservations-push
        language: system
        pass_filenames: false
        always_run: true
        stages: [pre-push]
"""
BUSY_CONFIG = """
[preflight.checks.python]
min_version = "3.9"
required_packages = ["click>=8", "packaging", "pathspec"]

[preflight.checks.environment]
required_vars = ["BENCH_TOKEN", "HOME"]
optional_vars = ["BENCH_OPTIONAL"]

[preflight.checks.mcp]
required_configs = ["codex.json", "cursor.json", "gemini.json"]
"""


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAF_", "GIT_"))}
    env.update(MAF_AGENT_ID="bench", BENCH_TOKEN="secret", GIT_CONFIG_NOSYSTEM="1")
    return env


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=clean_env())


def make_repo(parent, name):
    repo = os.path.join(parent, name)
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "bench@example.com")
    git(repo, "config", "user.name", "bench")
    with open(os.path.join(repo, "README.md"), "w") as handle:
        handle.write("bench\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def fill_busy(repo):
    """Leases, changes, hooks and configuration: every check has work to do."""
    for index in range(CHANGED_FILES):
        path = os.path.join(repo, "src", f"m{index // 50}", f"f{index}.py")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write("x = 1\n")
    git(repo, "add", "src")
    git(repo, "commit", "-q", "-m", "files")
    for index in range(CHANGED_FILES):
        path = os.path.join(repo, "src", f"m{index // 50}", f"f{index}.py")
        with open(path, "a") as handle:
            handle.write("y = 2\n")
        if index % 3 == 0:
            git(repo, "add", path)
    for index in range(20):
        with open(os.path.join(repo, "src", f"new{index}.py"), "w") as handle:
            handle.write("new\n")
    with open(os.path.join(repo, ".pre-commit-config.yaml"), "w") as handle:
        handle.write(HOOKS_CONFIG)
    hooks = os.path.join(repo, ".git", "hooks")
    for name in ("pre-commit", "pre-push"):
        with open(os.path.join(hooks, name), "w") as handle:
            handle.write("#!/bin/sh\nexec pre-commit hook-impl\n")
        os.chmod(os.path.join(hooks, name), 0o755)
    with open(os.path.join(repo, "maf.toml"), "w") as handle:
        handle.write(BUSY_CONFIG)
    for name in ("codex.json", "cursor.json", "gemini.json"):
        with open(os.path.join(repo, name), "w") as handle:
            json.dump({"mcpServers": {"fs": {"command": "npx"}, "git": {"command": "uvx"}}}, handle)
    with Context(cwd=repo, environ=clean_env()).store() as store, store.write() as now:
        for index in range(LEASES):  # disjoint patterns: written directly, as bench_leases does
            rules.insert_lease(store, f"agent{index % 100:03d}", f"pkg{index}/**", "exclusive", "", now,
                               now + 6 * 3600_000)
        rules.heartbeat(store, "agent000")


def preflight_command():
    beside = os.path.join(os.path.dirname(sys.executable), "maf-preflight")
    if os.path.exists(beside):
        return [beside]
    found = shutil.which("maf-preflight")
    if found:
        return [found]
    return [sys.executable, "-c", "from maf_hooks.cli.preflight import preflight_main; preflight_main()"]


def in_process(repo):
    env = clean_env()
    started = time.perf_counter()
    run = runner.execute(RunEnv(Context(cwd=repo, environ=env), agent="bench"), runner.Options())
    elapsed = (time.perf_counter() - started) * 1000
    if run.failed:
        raise RuntimeError("preflight failed: " + json.dumps(run.report["checks"], indent=1))
    return elapsed, run.report


def timed(cmd, repo):
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=repo, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - started) * 1000
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stdout[-2000:]!r} {proc.stderr[-2000:]!r}")
    return elapsed


def stats(values):
    return {"median": round(statistics.median(values), 1), "min": round(min(values), 1),
            "max": round(max(values), 1), "n": len(values)}


def measure(repo, runs):
    command = preflight_command() + ["--json"]
    floors = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import maf_hooks.cli.preflight'": [sys.executable, "-c", "import maf_hooks.cli.preflight"],
    }
    in_process(repo)  # warm-up: imports, page cache
    timed(command, repo)
    times = {"in-process": [], "maf-preflight --json": [], **{name: [] for name in floors}}
    per_check: dict = {}
    for _ in range(runs):  # interleaved, so noise hits floor and command alike
        elapsed, report = in_process(repo)
        times["in-process"].append(elapsed)
        for check in report["checks"]:
            per_check.setdefault(check["id"], []).append(check["duration_ms"])
        times["maf-preflight --json"].append(timed(command, repo))
        for name, cmd in floors.items():
            times[name].append(timed(cmd, repo))
    return {"wall_ms": {name: stats(values) for name, values in times.items()},
            "check_ms_median": {name: round(statistics.median(v), 2) for name, v in per_check.items()},
            "statuses": {check["id"]: check["status"] for check in report["checks"]},
            "command": os.path.basename(command[0])}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per measurement (default 15)")
    args = parser.parse_args(argv)
    result = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
              "runs": args.runs, "target_ms": TARGET_MS, "repos": {}}
    with tempfile.TemporaryDirectory(prefix="maf-bench-preflight-") as tmp:
        for name in ("fresh", "busy"):
            repo = make_repo(tmp, name)
            if name == "busy":
                fill_busy(repo)
            print(f"[{name}] measuring ...", file=sys.stderr, flush=True)
            result["repos"][name] = measure(repo, args.runs)

    print(f"maf-preflight benchmark: Python {result['python']}, {result['cpus']} CPUs, {result['platform']}")
    worst = 0.0
    for name, figures in result["repos"].items():
        print(f"\n== {name} repository; checks: "
              + ", ".join(f"{k} {v}" for k, v in figures["statuses"].items()) + " ==")
        for label, stat in figures["wall_ms"].items():
            print(f"  {label:<45} median {stat['median']:7.1f} ms   min {stat['min']:7.1f}   max {stat['max']:7.1f}")
        print("  per check (median ms): " + ", ".join(f"{k} {v}" for k, v in figures["check_ms_median"].items()))
        worst = max(worst, figures["wall_ms"]["maf-preflight --json"]["median"],
                    figures["wall_ms"]["in-process"]["median"])
    verdict = "PASS" if worst < TARGET_MS else "MISS"
    result["worst_median_ms"] = worst
    result["result"] = verdict
    print(f"\n{verdict}: slowest median full preflight {worst:.1f} ms (target < {TARGET_MS:.0f} ms, "
          "smoke tests excluded)")
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
