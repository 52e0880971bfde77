#!/usr/bin/env python
"""Commit-hook benchmark: ``maf-reservations`` wall time next to a floor measured in the same run.

Run from anywhere (it needs only ``git`` and a Python with ``venv`` and ``pip``)::

    python benchmarks/bench_hook.py              # 25 interleaved runs of each command (a few minutes)
    python benchmarks/bench_hook.py --quick      # 7 runs of each
    python benchmarks/bench_hook.py --profile    # also -X importtime and cProfile of the hook
    python benchmarks/bench_hook.py --venv DIR   # keep the virtualenv in DIR and reuse it next time
    python benchmarks/bench_hook.py --project P  # benchmark another source tree (an old checkout)
    python benchmarks/bench_hook.py --keep       # keep the repositories (e.g. for callgrind)

The hook runs on every commit of every agent, so what matters is its wall time as git sees it: a
new process of the console script, in the repository, with ``MAF_AGENT_ID`` set. To be fair the
script installs a copy of the project NON-editable into a virtualenv of its own (an editable
install adds an import finder to every start-up) and uses that virtualenv's Python for the hook
and the floor.

The floor is the least a hook of this kind can do: a Python process that runs the same
``git diff --cached --name-only -z --no-renames`` and opens the same lease database (connect and
one query on ``sqlite_master``). Cases, each in a fresh repository whose lease database sits at
the default place (``maf/runtime.db`` in the git directory), leases held by another agent:

A   2,000 tracked files, 100 staged modifications, 1,000 active leases (500 exact paths, 500
    ``dir/**`` globs) next to the staged paths but covering none of them: the common case.
    Target: hook p50 at most 1.5x the floor p50.
A1  the same with one more lease covering one staged path: the conflict path (records, mail,
    exit code 1). Informational.
B   10,000 staged new files against 10,000 active leases (5,000 exact, 5,000 ``dir/**``), none
    covering a staged path. Target: at most 10x the floor; the cost must grow with paths plus
    leases, never paths times leases.

All commands run interleaved (floor, hook, floor, hook, ...), so noise on a shared machine hits
both alike; the table shows medians and ratios hook/floor, then one line of JSON. Exit status 0
(informational) unless the benchmark itself could not run.
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

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENT = "bench-agent"  # the committer
HOLDER = "other-agent"  # holds every lease
LEASE_TTL_MS = 6 * 3600 * 1000
TARGETS = {"A": 1.5, "B": 10.0}
FLOOR_CODE = (
    "import sqlite3, subprocess, sys\n"
    "subprocess.run(['git', 'diff', '--cached', '--name-only', '-z', '--no-renames'],"
    " stdout=subprocess.PIPE, check=True)\n"
    "conn = sqlite3.connect(sys.argv[1])\n"
    "conn.execute('SELECT count(*) FROM sqlite_master').fetchone()\n"
    "conn.close()\n"
)


def log(message):
    print(message, file=sys.stderr, flush=True)


def clean_env(**extra):
    """The inherited environment without MAF_*, GIT_* and pre-commit settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MAF_", "GIT_", "PRE_COMMIT")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    env.update(extra)
    return env


def git(repo, *args, stdin=None):
    subprocess.run(["git", *args], cwd=repo, env=clean_env(), check=True, input=stdin,
                   stdout=subprocess.DEVNULL)


# --- the virtualenv -------------------------------------------------------------------------


def venv_bin(venv, name):
    return os.path.join(venv, "Scripts" if os.name == "nt" else "bin", name)


def install(venv, workdir, project):
    """Create ``venv`` if needed and install a copy of ``project`` into it (not editable)."""
    source = os.path.join(workdir, "src")
    shutil.rmtree(source, ignore_errors=True)
    os.makedirs(source)
    for name in ("pyproject.toml", "README.md", "setup.py", "setup.cfg", "LICENSE"):
        if os.path.exists(os.path.join(project, name)):
            shutil.copy2(os.path.join(project, name), source)
    shutil.copytree(os.path.join(project, "maf_hooks"), os.path.join(source, "maf_hooks"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    python = venv_bin(venv, "python")
    fresh = not os.path.exists(python)
    if fresh:
        log(f"creating a virtualenv in {venv}")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    log("installing maf-hooks (not editable) into it")
    extra = [] if fresh else ["--force-reinstall", "--no-deps"]
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *extra, source],
                   check=True, env=clean_env())
    hook = venv_bin(venv, "maf-reservations")
    if not os.path.exists(hook):
        raise RuntimeError(f"the install did not create {hook}")
    return python, hook


# --- repositories and leases ------------------------------------------------------------------


def write_files(repo, names, text):
    for name in names:
        path = os.path.join(repo, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)


def git_add(repo, names):
    git(repo, "add", "--pathspec-from-file=-", "--pathspec-file-nul",
        stdin="\0".join(names).encode("utf-8"))


def build_case_a(parent, name, conflict):
    """2,000 files in 100 directories, 100 staged modifications, 1,000 leases near them."""
    repo = os.path.join(parent, name)
    os.makedirs(repo)
    git(repo, "init", "-q")
    tracked = [f"src/pkg{d:03d}/mod{f:02d}.py" for d in range(100) for f in range(20)]
    write_files(repo, tracked, "x = 1\n")
    git_add(repo, tracked)
    git(repo, "commit", "-q", "--no-verify", "-m", "initial")
    staged = [f"src/pkg{d:03d}/mod{f:02d}.py" for d in range(50) for f in (0, 1)]
    write_files(repo, staged, "x = 2\n")
    git_add(repo, staged)
    exact = [f"src/pkg{d:03d}/mod{f:02d}.py" for d in range(50) for f in range(2, 12)]  # siblings
    globs = [f"src/pkg{d:03d}/sub{k}/**" for d in range(100) for k in range(5)]  # beside the staged
    patterns = exact + globs
    if conflict:
        patterns.append(staged[37])
    return repo, patterns, len(staged)


def build_case_b(parent, name):
    """10,000 new files staged in 100 directories, 10,000 leases near them."""
    repo = os.path.join(parent, name)
    os.makedirs(repo)
    git(repo, "init", "-q")
    write_files(repo, ["README.md"], "bench\n")
    git_add(repo, ["README.md"])
    git(repo, "commit", "-q", "--no-verify", "-m", "initial")
    staged = [f"src/pkg{d:03d}/new{f:03d}.py" for d in range(100) for f in range(100)]
    write_files(repo, staged, "y = 1\n")
    git_add(repo, staged)
    exact = [f"src/pkg{d:03d}/old{f:03d}.py" for d in range(100) for f in range(50)]
    globs = [f"src/pkg{d:03d}/sub{k:02d}/**" for d in range(100) for k in range(50)]
    return repo, exact + globs, len(staged)


POPULATE = """
import json, sys, time
from maf_hooks.context import Context
from maf_hooks.core import leases

repo, holder, ttl, patterns = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.load(sys.stdin)
ctx = Context(cwd=repo, environ={})
with ctx.store() as store:
    started = time.perf_counter()
    result = leases.acquire(store, holder, patterns, ttl)
    elapsed = time.perf_counter() - started
    if result.conflicts or len(result.granted) != len(patterns):
        sys.exit("populate: not every lease was granted")
    active = len(store.leases.active(store.now()))
print(json.dumps({"db_path": ctx.db_path, "active": active, "seconds": round(elapsed, 3)}))
"""


def populate(python, repo, patterns):
    """Take every lease for HOLDER in one ``core.leases.acquire`` call, in the virtualenv's Python."""
    out = subprocess.run([python, "-c", POPULATE, repo, HOLDER, str(LEASE_TTL_MS)], cwd=repo,
                         input=json.dumps(patterns).encode(), stdout=subprocess.PIPE, check=True,
                         env=clean_env()).stdout
    info = json.loads(out)
    if info["active"] != len(patterns):
        raise RuntimeError(f"expected {len(patterns)} active leases in {repo}, found {info['active']}")
    return info


# --- timing -----------------------------------------------------------------------------------


def timed(cmd, cwd, env, expect):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - t0) * 1000
    if proc.returncode != expect:
        raise RuntimeError(f"{' '.join(cmd)} in {cwd} exited {proc.returncode} (expected {expect}): "
                           f"{proc.stderr.decode(errors='replace').strip()[:2000]}")
    return elapsed, proc


def median(values):
    return round(statistics.median(values), 2)


def spread(values):
    ordered = sorted(values)
    return {"n": len(values), "p50": median(values), "min": round(ordered[0], 2),
            "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 2),
            "max": round(ordered[-1], 2)}


# --- profiling (--profile) ------------------------------------------------------------------------


def import_profile(hook, repo, env, top=12):
    """``-X importtime`` of one hook run: the biggest top-level imports and every maf_hooks module."""
    _, proc = timed([hook], repo, dict(env, PYTHONPROFILEIMPORTTIME="1"), expect=0)
    rows = []
    for line in proc.stderr.decode(errors="replace").splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[len("import time:"):].split("|"))
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append((int(self_us), int(cumulative_us), name.strip(), depth))
    total_us = sum(r[0] for r in rows)
    top_level = sorted((r for r in rows if r[3] == 0), key=lambda r: -r[1])[:top]
    ours = [r for r in rows if r[2].startswith("maf_hooks")]
    return {
        "total_import_ms": round(total_us / 1000, 2),
        "top_level": [{"module": r[2], "cumulative_ms": round(r[1] / 1000, 2)} for r in top_level],
        "maf_hooks": [{"module": r[2], "self_ms": round(r[0] / 1000, 2), "cumulative_ms": round(r[1] / 1000, 2)}
                      for r in ours],
        "modules": len(rows),
    }


CPROFILE = """
import cProfile, io, pstats, sys
profiler = cProfile.Profile()
profiler.enable()
from maf_hooks.hooks import run_hook
code = run_hook("commit")
profiler.disable()
text = io.StringIO()
pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(int(sys.argv[1]))
print(text.getvalue())
"""


def cprofile(python, repo, env, top=25):
    proc = subprocess.run([python, "-c", CPROFILE, str(top)], cwd=repo, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=True)
    return proc.stdout.decode(errors="replace")


# --- main -------------------------------------------------------------------------------------


def git_version():
    return subprocess.run(["git", "--version"], stdout=subprocess.PIPE, check=True).stdout.decode().strip()


def run(args, workdir):
    venv = os.path.abspath(args.venv) if args.venv else os.path.join(workdir, "venv")
    python, hook = install(venv, workdir, os.path.abspath(args.project))
    repos = os.path.join(workdir, "repos")
    os.makedirs(repos, exist_ok=True)

    log("building repositories and taking leases")
    cases = {}
    for key, (repo, patterns, staged) in {
        "A": build_case_a(repos, "case-a", conflict=False),
        "A1": build_case_a(repos, "case-a1", conflict=True),
        "B": build_case_b(repos, "case-b"),
    }.items():
        info = populate(python, repo, patterns)
        cases[key] = {"repo": repo, "db_path": info["db_path"], "leases": info["active"], "staged": staged,
                      "populate_s": info["seconds"]}
        log(f"  case {key}: {staged} staged, {info['active']} leases (taken in {info['seconds']} s)")

    env = clean_env(MAF_AGENT_ID=AGENT)
    commands = []  # (label, case, argv, expected exit code)
    commands.append(("python -c pass", "A", [python, "-c", "pass"], 0))
    for key in ("A", "A1", "B"):
        case = cases[key]
        if key != "A1":
            commands.append((f"floor {key}", key, [python, "-c", FLOOR_CODE, case["db_path"]], 0))
        commands.append((f"hook {key}", key, [hook], 1 if key == "A1" else 0))

    times = {label: [] for label, *_ in commands}
    for label, key, cmd, expect in commands:  # warm-up: page cache, the conflict's first mail
        _, proc = timed(cmd, cases[key]["repo"], env, expect)
        if label in ("hook A", "hook B") and proc.stderr:
            raise RuntimeError(f"{label} wrote to stderr: {proc.stderr.decode(errors='replace')[:2000]}")
    runs = args.runs or (7 if args.quick else 25)
    log(f"timing {runs} interleaved runs of {len(commands)} commands")
    for _ in range(runs):
        for label, key, cmd, expect in commands:
            times[label].append(timed(cmd, cases[key]["repo"], env, expect)[0])

    stats = {label: spread(values) for label, values in times.items()}
    results = {}
    for key, floor_key in (("A", "A"), ("A1", "A"), ("B", "B")):
        hook_p50, floor_p50 = stats[f"hook {key}"]["p50"], stats[f"floor {floor_key}"]["p50"]
        ratio = round(hook_p50 / floor_p50, 2)
        target = TARGETS.get(key)
        results[key] = {
            "staged": cases[key]["staged"], "leases": cases[key]["leases"],
            "hook_ms": stats[f"hook {key}"], "floor_ms": stats[f"floor {floor_key}"],
            "ratio_p50": ratio, "above_floor_ms_p50": round(hook_p50 - floor_p50, 2),
            "target_ratio": target, "meets_target": None if target is None else ratio <= target,
        }

    print()
    print(f"maf-reservations vs floor, medians of {runs} interleaved runs (ms); "
          f"Python {platform.python_version()}, {git_version()}")
    print(f"{'case':<46} {'floor':>8} {'hook':>8} {'ratio':>7} {'+ms':>7}  target")
    labels = {
        "A": "A  2,000 files, 100 staged, 1,000 leases",
        "A1": "A1 as A, one staged path leased (conflict)",
        "B": "B  10,000 staged, 10,000 leases",
    }
    for key, row in results.items():
        target = row["target_ratio"]
        verdict = "informational" if target is None else f"<= {target}x {'PASS' if row['meets_target'] else 'MISS'}"
        print(f"{labels[key]:<46} {row['floor_ms']['p50']:>8.2f} {row['hook_ms']['p50']:>8.2f} "
              f"{row['ratio_p50']:>6.2f}x {row['above_floor_ms_p50']:>7.2f}  {verdict}")
    print(f"{'(python -c pass in the same venv)':<46} {stats['python -c pass']['p50']:>8.2f}")
    print()

    profile = None
    if args.profile:
        profile = {}
        for key in ("A", "B"):
            profile[key] = import_profile(hook, cases[key]["repo"], env)
            imports = profile[key]
            print(f"-X importtime, case {key}: {imports['total_import_ms']} ms in {imports['modules']} imports; "
                  "largest top-level imports (cumulative ms):")
            for row in imports["top_level"]:
                print(f"    {row['cumulative_ms']:8.2f}  {row['module']}")
            print("  maf_hooks modules (self ms / cumulative ms):")
            for row in imports["maf_hooks"]:
                print(f"    {row['self_ms']:8.2f} {row['cumulative_ms']:8.2f}  {row['module']}")
            print(f"cProfile of run_hook('commit') in-process (imports included), case {key}:")
            text = cprofile(python, cases[key]["repo"], env)
            print("\n".join("    " + line for line in text.strip().splitlines()))
            print()

    summary = {
        "benchmark": "bench_hook", "runs": runs, "python": platform.python_version(), "git": git_version(),
        "platform": platform.platform(), "cpus": os.cpu_count(),
        "cases": results, "commands_ms": stats,
        "populate_s": {key: case["populate_s"] for key, case in cases.items()},
    }
    if profile:
        summary["import_profile"] = {k: {"total_import_ms": v["total_import_ms"], "modules": v["modules"]}
                                     for k, v in profile.items()}
    print(json.dumps(summary, sort_keys=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="7 runs of each command instead of 25")
    parser.add_argument("--runs", type=int, default=0, help="runs of each command (overrides --quick)")
    parser.add_argument("--profile", action="store_true", help="also print -X importtime and cProfile of the hook")
    parser.add_argument("--venv", help="create (or reuse) the virtualenv here instead of a temporary one")
    parser.add_argument("--project", default=PROJECT,
                        help="the maf-hooks source tree to install (default: the one holding this script)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (repositories)")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="maf-bench-hook-")
    try:
        run(args, workdir)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
