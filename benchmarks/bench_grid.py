#!/usr/bin/env python
"""The scale grid: ``maf-reservations`` over staged paths x leases x conflicting paths, each cell next
to its floor in the same run, plus ``maf-lease check`` and ``maf-lease list --json`` at 100,000 leases.

    python benchmarks/bench_grid.py --workdir DIR          # the full grid (long; DIR caches what it builds)
    python benchmarks/bench_grid.py --quick --workdir DIR  # staged {100, 10,000} x leases {1,000, 10,000}
    python benchmarks/bench_grid.py --cells 10000x100000x0,100000x*x1 --runs 9
    python benchmarks/bench_grid.py --quick --json         # one JSON object instead of the tables

A cell is STAGEDxLEASESxCONFLICTS: a repository whose STAGED tracked files are all modified and
staged, and LEASES active leases of another agent in its default lease database, of which some
cover CONFLICTS of the staged paths (0, 1 or 1,000; a cell with more conflicts than staged paths is
skipped). The hook runs as git runs it (its console script, a new process, in the repository, with
``MAF_AGENT_ID`` set), interleaved with its floor: a Python process that runs the hook's own
``git diff --cached -z`` and opens the same database and reads every active lease. ``check`` and
``list --json`` run next to ``python -c "import sqlite3, click"``. The project is installed
non-editable into a virtualenv (``bench_hook.py``'s helpers). Peak memory is each command's
maximum resident set, its children included, from one more (untimed) run under GNU time
(``/usr/bin/time -f %M``), else ``os.wait4``. Exit 0 unless it could not run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_hook import AGENT, HOLDER, clean_env, git, git_add, git_version, install, log, spread, write_files

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGED = (100, 10_000, 100_000)
LEASES = (1_000, 10_000, 100_000)
CONFLICTS = (0, 1, 1_000)
QUICK_STAGED, QUICK_LEASES = (100, 10_000), (1_000, 10_000)
CLI_LEASES = 100_000
TARGETS = {"no conflict": 1.5, "conflict": 2.0, "check": 1.5, "list_peak_mib": 60}
DIRS = 1_000  # every lease layout spreads over src/d000 .. src/d999
PER_DIR = 100  # staged files per directory: STAGED // 100 directories
ROOT_GLOBS = ("*.cfg", "*.toml", "*.lock", "docs/**", "build/**", "vendor/**", "**/*.min.js", "**/*.snap")
LEASE_TTL_MS = 110 * 60_000  # under reservation.max_timeout_minutes (2 h): no lease looks clock-skewed
FRESH_MS = 30 * 60_000  # a cached database is rebuilt when its leases end sooner than this
FLOOR_CODE = (
    "import sqlite3, subprocess, sys, time\n"
    "subprocess.run(['git', 'diff', '--cached', '--name-only', '-z', '--no-renames', '--no-ext-diff',"
    " '--ignore-submodules=none'], stdout=subprocess.PIPE, check=True)\n"
    "conn = sqlite3.connect(sys.argv[1])\n"
    "conn.execute(\"SELECT t.id, l.agent_id, f.pattern, f.mode, f.reason, f.created_at, l.lease_expires_at,"
    " t.state, f.ended_at, f.end_reason, f.prefix, f.claim_session, f.token"
    " FROM tasks t JOIN leases l ON l.task_id = t.id JOIN file_leases f ON f.task_id = t.id"
    " WHERE t.state = 'LEASED' AND l.lease_expires_at > ?\","
    " (int(time.time() * 1000),)).fetchall()\n"
    "conn.close()\n"
)
CLI_FLOOR_CODE = "import sqlite3, click"


# --- what a cell holds ------------------------------------------------------------------------


def staged_paths(count):
    """``count`` files, 100 a directory from src/d000 on: the first 1,000 are always d000..d009."""
    return [f"src/d{i // PER_DIR:03d}/f{i % PER_DIR:02d}.py" for i in range(count)]


def conflict_patterns(conflicts):
    """Leases covering the first ``conflicts`` staged paths: literal paths, and for 1,000 half
    literal paths (d000..d004) and half ``dir/*.py`` (d005..d009)."""
    if conflicts < PER_DIR:
        return staged_paths(conflicts)
    dirs = conflicts // PER_DIR
    half = dirs // 2
    return staged_paths(half * PER_DIR) + [f"src/d{d:03d}/*.py" for d in range(half, dirs)]


def lease_patterns(leases, conflicts):
    """``leases`` patterns of the holder: the conflicting ones, a few root globs, and the rest
    spread evenly over the 1,000 directories beside the staged files (same directories, covering
    none of them): 40% literal siblings, 30% ``dir/**``, 30% ``dir/*.py`` one level down."""
    fixed = conflict_patterns(conflicts) + list(ROOT_GLOBS)
    filler = []
    for i in range(leases - len(fixed)):
        d, k = i % DIRS, i // DIRS
        kind = (i + k) % 10
        if kind < 4:
            filler.append(f"src/d{d:03d}/g{k}.py")
        elif kind < 7:
            filler.append(f"src/d{d:03d}/sub{k}/**")
        else:
            filler.append(f"src/d{d:03d}/sub{k}/*.py")
    return fixed + filler


# --- building, cached in the work directory -----------------------------------------------------


def build_repo(workdir, staged):
    """A repository whose ``staged`` tracked files are modified and staged; reused when built."""
    repo = os.path.join(workdir, "repos", f"staged-{staged}")
    marker = os.path.join(repo, ".git", "bench-built")
    if os.path.exists(marker):
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    started = time.perf_counter()
    git(repo, "init", "-q")
    names = staged_paths(staged)
    write_files(repo, names, "x = 1\n")
    git_add(repo, names)
    git(repo, "commit", "-q", "--no-verify", "-m", "initial")
    write_files(repo, names, "x = 2\n")
    git_add(repo, names)
    with open(marker, "w", encoding="utf-8") as handle:
        handle.write("built\n")
    log(f"  built a repository of {staged:,} staged paths in {time.perf_counter() - started:.1f} s")
    return repo


POPULATE = """
import json, os, sys, time
from maf_hooks.context import Context
from maf_hooks.core.leases import insert_lease
from maf_hooks.store.sqlite.version import SCHEMA_VERSION

repo, holder, ttl, patterns = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.load(sys.stdin)
ctx = Context(cwd=repo, environ={})
for suffix in ("", "-wal", "-shm"):
    if os.path.exists(ctx.db_path + suffix):
        os.remove(ctx.db_path + suffix)
started = time.perf_counter()
with ctx.store() as store:
    with store.write() as now:
        for pattern in patterns:
            insert_lease(store, holder, pattern, "exclusive", "", now, now + ttl)
    active = len(store.leases.active_rows(store.now()))
print(json.dumps({"db_path": ctx.db_path, "active": active, "expires_at": now + ttl,
                  "seconds": round(time.perf_counter() - started, 2), "schema": SCHEMA_VERSION}))
"""
SCHEMA_CODE = "from maf_hooks.store.sqlite.version import SCHEMA_VERSION; print(SCHEMA_VERSION)"


def lease_db(python, workdir, leases, conflicts):
    """A lease database of ``leases`` leases (``conflicts`` of them on staged paths), filled in
    one write section through ``core.leases.insert_lease``; reused while its leases last and its
    schema is the installed code's (else every timed run would pay the migration)."""
    name = f"leases-{leases}-c{conflicts}"
    path = os.path.join(workdir, "dbs", name + ".db")
    meta_path = path + ".json"
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
        schema = int(subprocess.run([python, "-c", SCHEMA_CODE], stdout=subprocess.PIPE, check=True,
                                    env=clean_env()).stdout)
        if (meta["expires_at"] - time.time() * 1000 > FRESH_MS and meta["active"] == leases
                and meta.get("schema") == schema):
            return path
    scratch = os.path.join(workdir, "dbs", "scratch")
    if not os.path.isdir(os.path.join(scratch, ".git")):
        os.makedirs(scratch, exist_ok=True)
        git(scratch, "init", "-q")
    patterns = lease_patterns(leases, conflicts)
    out = subprocess.run([python, "-c", POPULATE, scratch, HOLDER, str(LEASE_TTL_MS)], cwd=scratch,
                         input=json.dumps(patterns).encode(), stdout=subprocess.PIPE, check=True,
                         env=clean_env()).stdout
    meta = json.loads(out)
    if meta["active"] != leases:
        raise RuntimeError(f"expected {leases} active leases, found {meta['active']}")
    shutil.copyfile(meta.pop("db_path"), path)
    with open(meta_path, "w", encoding="utf-8") as handle:
        json.dump(meta, handle)
    log(f"  filled {leases:,} leases ({conflicts} conflicting) in {meta['seconds']} s")
    return path


def place_db(python, repo, db):
    """Copy the cached database to ``repo``'s default lease database (fresh for every cell)."""
    target = subprocess.run([python, "-c", "from maf_hooks.context import Context; "
                             "import sys; print(Context(cwd=sys.argv[1], environ={}).db_path)", repo],
                            stdout=subprocess.PIPE, check=True, env=clean_env(), cwd=repo).stdout.decode().strip()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    for suffix in ("-wal", "-shm", "-journal"):
        if os.path.exists(target + suffix):
            os.remove(target + suffix)
    shutil.copyfile(db, target)
    return target


# --- timing with peak memory ------------------------------------------------------------------


TIME = "/usr/bin/time"  # GNU time: forks the command from a small process, so %M is the command's own


def measured(cmd, cwd, env, expect, scratch, memory=False):
    """(wall ms, peak resident MiB or None, stderr bytes) of one run of ``cmd``; with ``memory``
    under GNU time when there is one, else through ``os.wait4`` (which also counts what this
    process had resident when it started the command: a child starts from a copy of it)."""
    wrapped = memory and os.path.exists(TIME)
    if wrapped:
        cmd = [TIME, "-f", "%M", "-o", scratch + ".rss", *cmd]
    with open(scratch, "w+b") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = (time.perf_counter() - started) * 1000
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        size = err.tell()
        if code != expect:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} in {cwd} exited {code} (expected {expect}): "
                               f"{err.read(2000).decode(errors='replace')}")
    if not memory:
        return elapsed, None, size
    if wrapped:
        with open(scratch + ".rss", encoding="utf-8") as handle:
            return elapsed, int(handle.read().split()[-1]) / 1024, size
    return elapsed, usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 1024), size


def interleaved(commands, runs, scratch):
    """Medians (and spread) of ``runs`` interleaved runs of each ``(label, cmd, cwd, env, expect)``,
    after one warm-up round, then one more round for the peak memory (not timed); a hook that
    must pass may not write to stderr."""
    for label, cmd, cwd, env, expect in commands:
        _, _, size = measured(cmd, cwd, env, expect, scratch)
        if expect == 0 and size and label.startswith("hook"):
            raise RuntimeError(f"{label} wrote {size} bytes to stderr")
    times = {label: [] for label, *_ in commands}
    stderr = {}
    for _ in range(runs):
        for label, cmd, cwd, env, expect in commands:
            ms, _, stderr[label] = measured(cmd, cwd, env, expect, scratch)
            times[label].append(ms)
    peaks = {label: measured(cmd, cwd, env, expect, scratch, memory=True)[1]
             for label, cmd, cwd, env, expect in commands}
    return {label: {"ms": spread(times[label]), "peak_mib": round(peaks[label], 1), "stderr_bytes": stderr[label]}
            for label in times}


# --- the grid ---------------------------------------------------------------------------------


def parse_cells(spec, staged, leases):
    """``SxMxC,...`` (each part a number or ``*`` for every value of the grid) or the whole grid."""
    grid = {"S": staged, "M": leases, "C": CONFLICTS}
    items = spec.split(",") if spec else ["*x*x*"]
    cells = []
    for item in items:
        parts = item.strip().lower().split("x")
        if len(parts) != 3:
            raise SystemExit(f"--cells: {item!r} is not STAGEDxLEASESxCONFLICTS")
        try:
            choices = [grid[key] if part == "*" else (int(part.replace("_", "")),)
                       for key, part in zip("SMC", parts)]
        except ValueError:
            raise SystemExit(f"--cells: {item!r} is not STAGEDxLEASESxCONFLICTS (numbers or *)") from None
        cells.extend(itertools.product(*choices))
    return [cell for cell in dict.fromkeys(cells) if cell[2] <= cell[0]]


def grid_cell(python, hook, workdir, cell, runs, scratch):
    staged, leases, conflicts = cell
    repo = build_repo(workdir, staged)
    db = place_db(python, repo, lease_db(python, workdir, leases, conflicts))
    env = clean_env(MAF_AGENT_ID=AGENT)
    stats = interleaved([("floor", [python, "-c", FLOOR_CODE, db], repo, env, 0),
                         ("hook", [hook], repo, env, 1 if conflicts else 0)], runs, scratch)
    floor, run = stats["floor"], stats["hook"]
    ratio = round(run["ms"]["p50"] / floor["ms"]["p50"], 2)
    target = TARGETS["conflict" if conflicts else "no conflict"]
    return {"staged": staged, "leases": leases, "conflicts": conflicts, "hook_ms": run["ms"],
            "floor_ms": floor["ms"], "ratio_p50": ratio, "hook_peak_mib": run["peak_mib"],
            "floor_peak_mib": floor["peak_mib"], "stderr_bytes": run["stderr_bytes"],
            "target_ratio": target, "meets_target": ratio <= target}


def cli_rows(python, workdir, runs, scratch, leases):
    """``maf-lease check`` (a free path and a leased one) and ``list --json`` at ``leases`` leases."""
    repo = build_repo(workdir, min(STAGED))
    place_db(python, repo, lease_db(python, workdir, leases, 0))
    lease = os.path.join(os.path.dirname(python), "maf-lease")
    env = clean_env(MAF_AGENT_ID=AGENT)
    commands = [("floor", [python, "-c", CLI_FLOOR_CODE], repo, env, 0),
                ("check free", [lease, "check", "src/d000/f00.py"], repo, env, 0),
                ("check leased", [lease, "check", "src/d000/g0.py"], repo, env, 1),
                ("list --json", [lease, "list", "--json"], repo, env, 0)]
    stats = interleaved(commands, runs, scratch)
    floor = stats["floor"]["ms"]["p50"]
    rows = {}
    for label in ("check free", "check leased", "list --json"):
        row = stats[label]
        rows[label] = {"ms": row["ms"], "ratio_p50": round(row["ms"]["p50"] / floor, 2), "peak_mib": row["peak_mib"]}
    rows["check free"]["meets_target"] = rows["check free"]["ratio_p50"] <= TARGETS["check"]
    rows["list --json"]["meets_target"] = rows["list --json"]["peak_mib"] < TARGETS["list_peak_mib"]
    return {"leases": leases, "floor_ms": stats["floor"]["ms"], "floor_peak_mib": stats["floor"]["peak_mib"],
            "commands": rows}


def print_tables(summary):
    print(f"maf-reservations vs floor, medians of {summary['runs']} interleaved runs (ms); "
          f"Python {summary['python']}, {summary['git']}, {summary['cpus']} CPUs")
    print(f"{'staged':>8} {'leases':>8} {'confl':>6} {'floor':>9} {'hook':>9} {'ratio':>7} {'target':>7} "
          f"{'hook MiB':>9} {'floor MiB':>9} {'stderr KB':>9}")
    for row in summary["cells"]:
        verdict = "PASS" if row["meets_target"] else "MISS"
        print(f"{row['staged']:>8,} {row['leases']:>8,} {row['conflicts']:>6,} {row['floor_ms']['p50']:>9.1f} "
              f"{row['hook_ms']['p50']:>9.1f} {row['ratio_p50']:>6.2f}x {row['target_ratio']:>5}x {verdict} "
              f"{row['hook_peak_mib']:>8.1f} {row['floor_peak_mib']:>9.1f} {row['stderr_bytes'] / 1000:>9.1f}")
    cli = summary.get("cli")
    if cli:
        print()
        print(f"maf-lease at {cli['leases']:,} leases vs python -c \"{CLI_FLOOR_CODE}\" "
              f"({cli['floor_ms']['p50']:.1f} ms, {cli['floor_peak_mib']:.1f} MiB)")
        print(f"{'command':<28} {'ms':>9} {'ratio':>7} {'peak MiB':>9}  target")
        targets = {"check free": f"<= {TARGETS['check']}x", "list --json": f"< {TARGETS['list_peak_mib']} MiB"}
        for label, row in cli["commands"].items():
            verdict = ""
            if "meets_target" in row:
                verdict = f"{targets[label]} {'PASS' if row['meets_target'] else 'MISS'}"
            print(f"{label:<28} {row['ms']['p50']:>9.1f} {row['ratio_p50']:>6.2f}x {row['peak_mib']:>9.1f}  {verdict}")
    print()


def run(args, workdir):
    venv = os.path.abspath(args.venv) if args.venv else os.path.join(workdir, "venv")
    python, hook = install(venv, os.path.join(workdir, "install"), os.path.abspath(args.project))
    staged, leases = (QUICK_STAGED, QUICK_LEASES) if args.quick else (STAGED, LEASES)
    cells = parse_cells(args.cells, staged, leases)
    runs = args.runs or (5 if args.quick else 15)
    scratch = os.path.join(workdir, "stderr.out")
    results = []
    for cell in sorted(cells):
        log(f"cell {cell[0]:,} staged x {cell[1]:,} leases x {cell[2]:,} conflicting")
        results.append(grid_cell(python, hook, workdir, cell, runs, scratch))
    summary = {"benchmark": "bench_grid", "runs": runs, "python": platform.python_version(), "git": git_version(),
               "platform": platform.platform(), "cpus": os.cpu_count(), "cells": results,
               "peak_memory_from": "GNU time" if os.path.exists(TIME) else "os.wait4"}
    if not args.no_cli:
        log(f"maf-lease check and list --json at {args.cli_leases:,} leases")
        summary["cli"] = cli_rows(python, workdir, runs, scratch, args.cli_leases)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print_tables(summary)
        print(json.dumps(summary, sort_keys=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="staged {100, 10000} x leases {1000, 10000}, 5 runs of each command")
    parser.add_argument("--cells", default="", help="STAGEDxLEASESxCONFLICTS,... (a part may be *)")
    parser.add_argument("--runs", type=int, default=0, help="runs of each command (default 15, 5 with --quick)")
    parser.add_argument("--cli-leases", type=int, default=CLI_LEASES, help="leases for check and list (100000)")
    parser.add_argument("--no-cli", action="store_true", help="skip maf-lease check and list --json")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    parser.add_argument("--workdir", help="build (and reuse) repositories, databases and the virtualenv here")
    parser.add_argument("--venv", help="the virtualenv to create or reuse (default: in the work directory)")
    parser.add_argument("--project", default=PROJECT,
                        help="the maf-hooks source tree to install (default: the one holding this script)")
    args = parser.parse_args(argv)
    if args.workdir:
        workdir = os.path.abspath(args.workdir)
        os.makedirs(workdir, exist_ok=True)
        run(args, workdir)
        return 0
    workdir = tempfile.mkdtemp(prefix="maf-bench-grid-")
    try:
        run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
