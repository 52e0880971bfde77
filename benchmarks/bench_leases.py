#!/usr/bin/env python
"""Lease benchmark: in-process latency, CLI latency against a same-run floor, 8-process throughput.

Run from the repository (with the package installed, e.g. in its virtualenv)::

    python benchmarks/bench_leases.py            # full run (a few minutes)
    python benchmarks/bench_leases.py --quick    # smaller iteration counts (~20 s)
    python benchmarks/bench_leases.py --profile  # also cProfile acquire and release at the largest size

For each background size (1,000 and 10,000 active leases held by other agents) the script builds a
fresh temporary git repository (``git init``) whose lease database sits at the default place
(``maf/runtime.db`` in the git common directory), fills it, and measures:

1. in-process ``core.leases.acquire`` / ``core.leases.release`` latency for a fresh agent taking new,
   non-conflicting patterns, and separately the latency of conflicting acquires (refused);
2. the wall time of ``maf-lease acquire ... --json`` and ``maf-lease release ...`` subprocesses,
   next to a floor measured interleaved in the same run (``python -c pass`` and a minimal
   ``sqlite3`` process), printed also as ratios to that floor;
3. throughput of 8 concurrent processes (each with its own connection) doing
   acquire/renew/release cycles on overlapping patterns, with a count of unexpected errors.

It prints a table and, last, one line of JSON with every figure. Targets are informational
(PASS/MISS); the exit status is 1 only when the concurrency part saw errors.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import multiprocessing
import os
import platform
import pstats
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

from maf_hooks.context import Context
from maf_hooks.core import leases as rules
from maf_hooks.core.model import EXCLUSIVE, SHARED
from maf_hooks.errors import Refused
from maf_hooks.store.sqlite import open_file
from maf_hooks.timeutil import now_ms

SIZES = (1_000, 10_000)
PATTERNS_PER_AGENT = 10
BACKGROUND_TTL_MS = 6 * 3600 * 1000  # background leases must outlive the run
BENCH_TTL_MS = 30 * 60 * 1000
WORKERS = 8
WORKER_TTL_MS = 10 * 60 * 1000  # long enough that no worker lease expires under lock waits

TARGET_ACQUIRE_P99_MS = 5.0
TARGET_ACQUIRE_AT = 10_000
TARGET_CLI_MS = 100.0

FULL = {"pairs": 300, "conflicts": 60, "cli_calls": 30, "ops_per_worker": 150}
QUICK = {"pairs": 20, "conflicts": 6, "cli_calls": 4, "ops_per_worker": 10}


# --- small helpers ----------------------------------------------------------------------------


def percentile(values, pct):
    """Nearest-rank percentile (p99 of 30 samples is the largest one)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def summary(values_ms):
    return {
        "n": len(values_ms),
        "p50": round(percentile(values_ms, 50), 3) if values_ms else None,
        "p99": round(percentile(values_ms, 99), 3) if values_ms else None,
        "mean": round(sum(values_ms) / len(values_ms), 3) if values_ms else None,
        "max": round(max(values_ms), 3) if values_ms else None,
    }


def clean_env():
    """The inherited environment without MAF_* settings, so every run uses the defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MAF_")}


def log(message):
    print(message, file=sys.stderr, flush=True)


def make_repo(parent, name):
    repo = os.path.join(parent, name)
    os.makedirs(repo)
    subprocess.run(["git", "init", "-q", repo], check=True, env=clean_env())
    return repo


def default_db_path(repo):
    """Where the CLI puts the database for this repository (the default place)."""
    return Context(cwd=repo, environ=clean_env()).db_path


def root_glob_agents(agents):
    """Which background agents also hold a root glob (``*.cfgN``): about 1 %, at least 3."""
    count = max(3, agents // 100)
    step = max(1, agents // count)
    return set(range(0, agents, step)[:count])


def background_patterns(i, with_root_glob):
    """Ten patterns of background agent ``i``: exact paths, directory globs, maybe a root glob."""
    pats = [f"pkg{i}/mod{j}.py" for j in range(6)]
    pats += [f"pkg{i}/sub{j}/**" for j in range(3)]
    pats.append(f"*.cfg{i}" if with_root_glob else f"pkg{i}/docs/*.md")
    return pats


def populate(path, total):
    """``total`` active leases, PATTERNS_PER_AGENT per agent, written in one transaction.

    The background patterns are disjoint by construction, so they are written with the rules'
    own row writer (``core.leases.insert_lease``: the same task, lease, file-lease and event rows
    as a granted acquire) and no conflict search: populating through ``acquire`` costs one
    candidate search per pattern against everything already there, i.e. quadratic time. The
    refused acquires measured later confirm that the rows are seen as live leases.
    """
    agents = total // PATTERNS_PER_AGENT
    globbers = root_glob_agents(agents)
    store = open_file(path, now_ms)
    started = time.perf_counter()
    with store.write() as now:
        for i in range(agents):
            for pattern in background_patterns(i, i in globbers):
                rules.insert_lease(store, f"agent{i:05d}", pattern, EXCLUSIVE, "", now, now + BACKGROUND_TTL_MS)
    elapsed = time.perf_counter() - started
    active = len(store.leases.active(store.now()))
    store.close()
    if active != total:
        raise RuntimeError(f"expected {total} active leases, found {active}")
    return elapsed, agents, sorted(globbers)


# --- 1. in-process ----------------------------------------------------------------------------


def bench_pattern(k):
    return f"bench/k{k}/*.py" if k % 5 == 4 else f"bench/file{k}.py"


def conflicting_pattern(k, agents, globbers):
    """A pattern that overlaps some background agent's exclusive lease."""
    i = (k * 7919) % agents
    kind = k % 4
    if kind == 0:
        return f"pkg{i}/mod{k % 6}.py"  # the same exact path
    if kind == 1:
        return f"pkg{i}/sub{k % 3}/deep/x.py"  # a file under a held directory glob
    if kind == 2:
        return f"pkg{i}/**"  # a glob over a whole held package
    g = globbers[k % len(globbers)]
    return f"settings.cfg{g}"  # a root file covered by a root glob


def bench_inprocess(path, counts, agents, globbers, profile=False):
    store = open_file(path, now_ms)
    store.long_lived()  # as a process that keeps its store open: the log's checkpoints off the request path
    acquire_ms, release_ms, conflict_ms = [], [], []
    refused = 0
    for k in range(counts["pairs"]):
        pattern = bench_pattern(k)
        t0 = time.perf_counter()
        result = rules.acquire(store, "bench", [pattern], BENCH_TTL_MS)
        t1 = time.perf_counter()
        if result.conflicts or not result.granted:
            raise RuntimeError(f"unexpected conflict for {pattern}: {result.conflicts[:1]}")
        rules.release(store, "bench", pattern_list=[pattern])
        t2 = time.perf_counter()
        acquire_ms.append((t1 - t0) * 1000)
        release_ms.append((t2 - t1) * 1000)
    for k in range(counts["conflicts"]):
        pattern = conflicting_pattern(k, agents, globbers)
        t0 = time.perf_counter()
        result = rules.acquire(store, "bench", [pattern], BENCH_TTL_MS)
        conflict_ms.append((time.perf_counter() - t0) * 1000)
        if result.conflicts and not result.granted:
            refused += 1
        else:
            rules.release(store, "bench", pattern_list=[pattern])
    profilers = {}
    if profile:  # a separate pass, so the profiler's overhead stays out of the timings above
        profilers = {"acquire": cProfile.Profile(), "release": cProfile.Profile()}
        for k in range(counts["pairs"]):
            pattern = "prof/" + bench_pattern(k)
            profilers["acquire"].runcall(rules.acquire, store, "bench", [pattern], BENCH_TTL_MS)
            profilers["release"].runcall(rules.release, store, "bench", pattern_list=[pattern])
    store.close()
    out = {
        "acquire_ms": summary(acquire_ms),
        "release_ms": summary(release_ms),
        "conflict_acquire_ms": summary(conflict_ms),
        "conflicts_refused": refused,
        "conflicts_tried": counts["conflicts"],
    }
    return out, profilers


def profile_report(profiler, calls, label, top=15):
    """Where one lease rule (``core.leases``) spends its time: the biggest functions by own and cumulative time.

    The rows of a query are stepped while Python iterates the cursor, so SQLite's own work shows
    up as the own time of the list comprehension that consumes the cursor, and as ``execute``.
    """
    stats = pstats.Stats(profiler)
    total = stats.total_tt or 1e-12
    rows = []
    for (filename, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        if name == "<method 'disable' of '_lsprof.Profiler' objects>":
            continue
        where = f"{os.path.basename(filename)}:{line}({name})" if line else name
        rows.append({"function": where, "calls_per_op": round(nc / calls, 1),
                     "own_pct": round(100 * tt / total, 1), "cum_pct": round(100 * ct / total, 1)})
    by_own = sorted(rows, key=lambda r: -r["own_pct"])[:top]
    by_cum = sorted(rows, key=lambda r: -r["cum_pct"])[:top]
    text = io.StringIO()
    print(f"cProfile of {calls} core.leases.{label} calls: {total * 1000 / calls:.2f} ms each under the profiler",
          file=text)
    for title, ordered, first, second in (("own", by_own, "own_pct", "cum_pct"), ("cumulative", by_cum, "cum_pct", "own_pct")):
        print(f"  by {title} time:", file=text)
        for r in ordered:
            print(f"    {r[first]:5.1f}% {first[:3]:<3} {r[second]:5.1f}% {second[:3]:<3} "
                  f"{r['calls_per_op']:>7} calls/op  {r['function']}", file=text)
    return text.getvalue(), {"ms_per_call_profiled": round(total * 1000 / calls, 3), "by_own": by_own, "by_cum": by_cum}


# --- 2. CLI -----------------------------------------------------------------------------------


def maf_lease_command():
    beside = os.path.join(os.path.dirname(sys.executable), "maf-lease")
    if os.path.exists(beside):
        return [beside]
    found = shutil.which("maf-lease")
    if found:
        return [found]
    return [sys.executable, "-c", "from maf_hooks.cli.main import lease_main; lease_main()"]


def timed_run(cmd, cwd, env, expect=0):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - t0) * 1000
    if proc.returncode != expect:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode(errors='replace').strip()}"
        )
    return elapsed, proc.stdout


def cli_envs(pycache):
    """Two environments for the CLI processes.

    ``cached``: bytecode is written to and read from a private cache (``PYTHONPYCACHEPREFIX``, in
    the temporary directory, never in the source tree), as for an ordinary installation whose
    ``.pyc`` files exist. All floors and the main CLI rows run with it.
    ``no_pyc``: ``PYTHONDONTWRITEBYTECODE=1`` and no prefix: what a process gets when bytecode
    writing is disabled and the package has no ``__pycache__`` (typical of an editable install in
    such an environment): every ``maf_hooks`` module is compiled from source at each start.
    """
    base = clean_env()
    base.pop("PYTHONPYCACHEPREFIX", None)
    cached = dict(base, PYTHONPYCACHEPREFIX=pycache)
    cached.pop("PYTHONDONTWRITEBYTECODE", None)
    no_pyc = dict(base, PYTHONDONTWRITEBYTECODE="1")
    return cached, no_pyc


def bench_cli(repo, path, calls, pycache):
    env, env_no_pyc = cli_envs(pycache)
    lease = maf_lease_command()
    floors = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python sqlite3 select 1": [
            sys.executable, "-c", f"import sqlite3; sqlite3.connect({path!r}).execute('select 1')",
        ],
        "python import sqlite3, click": [sys.executable, "-c", "import sqlite3, click"],
        "git rev-parse": ["git", "rev-parse", "--show-toplevel", "--git-dir", "--git-common-dir"],
    }
    times = {name: [] for name in floors}
    times["maf-lease acquire --json"] = []
    times["maf-lease release"] = []
    times["maf-lease acquire --json, no .pyc"] = []
    # warm-up: page cache and the private bytecode cache
    for cmd in floors.values():
        timed_run(cmd, repo, env)
    timed_run(lease + ["acquire", "bench/warm.py", "--agent", "bench", "--json"], repo, env)
    timed_run(lease + ["release", "bench/warm.py", "--agent", "bench"], repo, env)
    for k in range(calls):  # interleaved, so noise hits floor and CLI alike
        for name, cmd in floors.items():
            times[name].append(timed_run(cmd, repo, env)[0])
        pattern = f"bench/cli{k}.py"
        elapsed, out = timed_run(lease + ["acquire", pattern, "--agent", "bench", "--json"], repo, env)
        if not json.loads(out)["granted"]:
            raise RuntimeError(f"CLI acquire of {pattern} was not granted")
        times["maf-lease acquire --json"].append(elapsed)
        times["maf-lease release"].append(timed_run(lease + ["release", pattern, "--agent", "bench"], repo, env)[0])
        pattern = f"bench/nopyc{k}.py"
        times["maf-lease acquire --json, no .pyc"].append(
            timed_run(lease + ["acquire", pattern, "--agent", "bench", "--json"], repo, env_no_pyc)[0])
        timed_run(lease + ["release", pattern, "--agent", "bench"], repo, env)
    result = {name: summary(values) for name, values in times.items()}
    floor_pass = result["python -c pass"]["p50"]
    floor_sqlite = result["python sqlite3 select 1"]["p50"]
    ratios = {}
    for name in ("maf-lease acquire --json", "maf-lease release", "maf-lease acquire --json, no .pyc"):
        ratios[name] = {
            "vs_python_pass_p50": round(result[name]["p50"] / floor_pass, 2),
            "vs_sqlite_floor_p50": round(result[name]["p50"] / floor_sqlite, 2),
            "above_sqlite_floor_ms_p50": round(result[name]["p50"] - floor_sqlite, 1),
        }
    return {"wall_ms": result, "ratios": ratios, "command": os.path.basename(lease[0])}


# --- 3. concurrency ---------------------------------------------------------------------------


def worker_patterns():
    """Overlapping patterns the workers fight over (mostly exclusive, some shared)."""
    pats = [f"hot/f{r}.py" for r in range(10)]
    pats += [f"hot/d{r}/**" for r in range(3)]
    pats += ["hot/d0/x.py", "hot/d1/y.py", "hot/*.py", "hot/**/*.md"]
    return pats


def concurrency_worker(path, worker, operations, seed, barrier, results):
    """Acquire a pattern from the shared pool, renew one held lease, release the oldest beyond two.

    Each worker keeps up to three leases at a time, so the workers really collide: an acquire that
    overlaps another worker's lease is refused (expected); any exception is an error.
    """
    rng = random.Random(seed)
    pool = worker_patterns()
    agent = f"worker{worker}"
    stats = {"worker": worker, "ops": 0, "refused": 0, "granted": 0, "errors": [], "latency_ms": []}
    held = []
    store = None

    def error(op, pattern, exc):
        text = str(exc)
        kind = f"{op}: {type(exc).__name__}"
        if "locked" in text or "busy" in text:
            kind += " (database is locked)"
        elif isinstance(exc, Refused):
            kind += " (refused though the worker holds the lease)"
        stats["errors"].append([kind, f"{op} {pattern} by {agent}: {type(exc).__name__}: {text}"])

    def timed(op, pattern, call):
        t0 = time.perf_counter()
        try:
            return call()
        except Refused as exc:
            if op == "acquire":
                return None
            error(op, pattern, exc)  # renew/release of a lease we hold: unexpected
        except Exception as exc:
            error(op, pattern, exc)
        finally:
            stats["latency_ms"].append((time.perf_counter() - t0) * 1000)
            stats["ops"] += 1
        return None

    try:
        store = open_file(path, now_ms)
        barrier.wait(timeout=120)
        stats["start"] = time.time()
        while stats["ops"] < operations:
            pattern = rng.choice(pool)
            mode = SHARED if rng.random() < 0.25 else EXCLUSIVE
            result = timed("acquire", pattern, lambda pattern=pattern, mode=mode: rules.acquire(
                store, agent, [pattern], WORKER_TTL_MS, mode=mode))
            if result is None or result.conflicts or not result.granted:
                stats["refused"] += 1
            else:
                stats["granted"] += 1
                if pattern not in held:
                    held.append(pattern)
            if held:
                mine = rng.choice(held)
                timed("renew", mine, lambda mine=mine: rules.renew(store, agent, [mine], WORKER_TTL_MS))
            if len(held) > 2:
                oldest = held.pop(0)
                timed("release", oldest, lambda oldest=oldest: rules.release(store, agent, pattern_list=[oldest]))
        while held:
            oldest = held.pop(0)
            timed("release", oldest, lambda oldest=oldest: rules.release(store, agent, pattern_list=[oldest]))
        stats["end"] = time.time()
    except Exception:
        stats["errors"].append(["worker crashed", traceback.format_exc()])
    finally:
        if store is not None:
            store.close()
        results.put(stats)


def samples(errors, per_kind=2):
    """A couple of messages of each kind of error, so every kind can be read in the output."""
    picked, seen = [], {}
    for kind, message in errors:
        if seen.get(kind, 0) < per_kind:
            seen[kind] = seen.get(kind, 0) + 1
            picked.append(message)
    return picked


def bench_concurrency(path, operations):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=concurrency_worker, args=(path, w, operations, 1000 + w, barrier, results))
        for w in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    outcomes = []
    for _ in procs:
        try:
            outcomes.append(results.get(timeout=900))
        except Exception:
            outcomes.append({"ops": 0, "refused": 0, "granted": 0, "latency_ms": [],
                             "errors": [["worker did not report", "a worker did not report within 900 s"]]})
            break
    for proc in procs:
        proc.join(timeout=60)
        if proc.is_alive():
            proc.terminate()
    errors = [tuple(e) for o in outcomes for e in o["errors"]]
    errors += [("worker exit code", f"worker exit code {p.exitcode}") for p in procs if p.exitcode not in (0, None)]
    starts = [o["start"] for o in outcomes if "start" in o]
    ends = [o["end"] for o in outcomes if "end" in o]
    wall = (max(ends) - min(starts)) if starts and ends else None
    ops = sum(o["ops"] for o in outcomes)
    latencies = [x for o in outcomes for x in o["latency_ms"]]
    kinds = {}
    for kind, _message in errors:
        kinds[kind] = kinds.get(kind, 0) + 1
    locked = sum(count for kind, count in kinds.items() if "locked" in kind)
    return {
        "processes": WORKERS,
        "ops": ops,
        "wall_s": round(wall, 3) if wall else None,
        "ops_per_s": round(ops / wall, 1) if wall else None,
        "acquires_granted": sum(o["granted"] for o in outcomes),
        "acquires_refused": sum(o["refused"] for o in outcomes),
        "op_latency_ms": summary(latencies),
        "errors": len(errors),
        "database_locked_errors": locked,
        "error_kinds": kinds,
        "error_samples": samples(errors),
    }


# --- driver -----------------------------------------------------------------------------------



# --- 4. overlap candidates: root globs, siblings, one directory filled ---------------------------

PER_DIRECTORY = 100
CANDIDATE_SIZES = (10_000, 100_000)
FILL = 100_000


def directory_patterns(d, with_root_glob):
    """The hundred leases of directory ``d``: 90 files, 9 directory globs, and a root glob
    (``*.cfgD``) for about 1 % of the directories, else one more file glob."""
    pats = [f"dir{d}/f{k}.py" for k in range(90)]
    pats += [f"dir{d}/s{j}/*.py" for j in range(9)]
    pats.append(f"*.cfg{d}" if with_root_glob else f"dir{d}/docs/*.md")
    return pats


def populate_directories(path, total):
    """``total`` active leases, PER_DIRECTORY a directory, one agent a directory (see :func:`populate`)."""
    dirs = total // PER_DIRECTORY
    globbers = root_glob_agents(dirs)
    store = open_file(path, now_ms)
    with store.write() as now:
        for d in range(dirs):
            for pattern in directory_patterns(d, d in globbers):
                rules.insert_lease(store, f"agent{d:05d}", pattern, EXCLUSIVE, "", now, now + BACKGROUND_TTL_MS)
    store.close()
    return dirs


CANDIDATE_CASES = {
    "root glob (*.cfg, *.md, ...)": lambda k, dirs: ("*.cfg", "*.md", "*.txt", "c*.toml")[k % 4],
    "new file beside 100 leases": lambda k, dirs: f"dir{(k * 7919) % dirs}/new{k}.py",
    "new glob beside 100 leases": lambda k, dirs: f"dir{(k * 7919) % dirs}/t{k}/*.py",
    "root glob, conflicting (*.cfgD)": lambda k, dirs: f"*.cfg{sorted(root_glob_agents(dirs))[k % 3]}",
}


def timed_acquires(store, case, dirs, calls, first=0):
    """In-process acquire (then release when granted) of ``calls`` patterns of one case, in ms."""
    times = []
    for k in range(first, first + calls):
        pattern = CANDIDATE_CASES[case](k, dirs)
        t0 = time.perf_counter()
        result = rules.acquire(store, "bench", [pattern], BENCH_TTL_MS)
        times.append((time.perf_counter() - t0) * 1000)
        if result.granted:
            rules.release(store, "bench", pattern_list=[pattern])
    return times


def bench_candidates(tmp, size, calls):
    """Acquire latency by kind of pattern among ``size`` leases, 100 a directory, next to the floor:
    the acquire of a new file in an empty store, measured interleaved in the same run."""
    floor_path = default_db_path(make_repo(tmp, f"floor{size}"))
    path = default_db_path(make_repo(tmp, f"dirs{size}"))
    dirs = populate_directories(path, size)
    store, floor = open_file(path, now_ms), open_file(floor_path, now_ms)
    store.long_lived()  # both kept open for every acquire (see bench_inprocess)
    floor.long_lived()
    for case in CANDIDATE_CASES:  # warm-up: page cache, compiled patterns
        timed_acquires(store, case, dirs, 2)
    times = {case: [] for case in CANDIDATE_CASES}
    times["floor: new file, empty store"] = []
    for k in range(calls):
        for case in CANDIDATE_CASES:
            times[case] += timed_acquires(store, case, dirs, 1, k)
        times["floor: new file, empty store"] += timed_acquires(floor, "new file beside 100 leases", 1, 1, k)
    store.close()
    floor.close()
    result = {case: summary(values) for case, values in times.items()}
    base = result["floor: new file, empty store"]["p50"]
    return {"size": size, "directories": dirs, "acquire_ms": result,
            "ratio_p50_to_floor": {case: round(stat["p50"] / base, 2) for case, stat in result.items()}}


def bench_fill(tmp, total):
    """Fill one directory with ``total`` leases through ``acquire`` (each a new file), and compare
    the acquires of the last tenth with those of the first: linear filling keeps the ratio near 1."""
    store = open_file(default_db_path(make_repo(tmp, f"fill{total}")), now_ms)
    tenth = max(1, total // 10)
    times = []
    started = time.perf_counter()
    for k in range(total):
        t0 = time.perf_counter()
        result = rules.acquire(store, f"agent{k % 50}", [f"big/f{k}.py"], BACKGROUND_TTL_MS)
        times.append((time.perf_counter() - t0) * 1000)
        if not result.granted:
            raise RuntimeError(f"fill: big/f{k}.py refused")
    elapsed = time.perf_counter() - started
    store.close()
    first, last = summary(times[:tenth]), summary(times[-tenth:])
    return {"leases": total, "elapsed_s": round(elapsed, 1), "first_tenth_ms": first, "last_tenth_ms": last,
            "last_to_first_p50": round(last["p50"] / first["p50"], 2)}


def print_candidates(figs, fill):
    for fig in figs:
        print(f"\n== acquire among {fig['size']:,} leases, {PER_DIRECTORY} a directory "
              f"({fig['directories']} directories, 1 % with a root glob *.cfgD) ==")
        for case, stat in fig["acquire_ms"].items():
            print(f"    {case:<34} {fmt(stat)}   x{fig['ratio_p50_to_floor'][case]:.2f} floor")
    if fill:
        print(f"\n== one directory filled with {fill['leases']:,} leases through acquire: {fill['elapsed_s']} s ==")
        print(f"    first tenth                        {fmt(fill['first_tenth_ms'])}")
        print(f"    last tenth                         {fmt(fill['last_tenth_ms'])}   "
              f"x{fill['last_to_first_p50']:.2f} the first (linear: about 1)")



def verdict(ok):
    return "PASS" if ok else "MISS"


def fmt(stat):
    return f"p50 {stat['p50']:8.2f}   p99 {stat['p99']:8.2f}   (n={stat['n']})"


def print_size(size, fig):
    print(f"\n== {size:,} active background leases "
          f"({fig['agents']} agents x {PATTERNS_PER_AGENT}, {fig['root_globs']} root globs; "
          f"populated in {fig['populate_s']:.1f} s) ==")
    ip = fig["inprocess"]
    print("  in-process (ms)")
    print(f"    acquire, new pattern             {fmt(ip['acquire_ms'])}")
    print(f"    release                          {fmt(ip['release_ms'])}")
    print(f"    acquire, conflicting             {fmt(ip['conflict_acquire_ms'])}   "
          f"refused {ip['conflicts_refused']}/{ip['conflicts_tried']}")
    cli = fig["cli"]
    print("  CLI wall time per process (ms); ratio = p50 / floor p50 from this run")
    for name, stat in cli["wall_ms"].items():
        line = f"    {name:<34} {fmt(stat)}"
        if name in cli["ratios"]:
            r = cli["ratios"][name]
            line += (f"   x{r['vs_python_pass_p50']:.2f} python -c pass, "
                     f"x{r['vs_sqlite_floor_p50']:.2f} sqlite floor (+{r['above_sqlite_floor_ms_p50']:.0f} ms)")
        print(line)
    cc = fig["concurrency"]
    print(f"  {cc['processes']} concurrent processes: {cc['ops']} ops in {cc['wall_s']} s = "
          f"{cc['ops_per_s']} ops/s; acquires granted {cc['acquires_granted']}, refused {cc['acquires_refused']}; "
          f"op latency {fmt(cc['op_latency_ms'])} ms, max {cc['op_latency_ms']['max']:.0f} ms; "
          f"errors {cc['errors']} (database is locked: {cc['database_locked_errors']})")
    for kind, count in cc["error_kinds"].items():
        print(f"    {count:5d} x {kind}")
    for sample in cc["error_samples"]:
        print("    e.g. " + sample.strip().splitlines()[-1][:300])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller iteration counts (~20 s)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the in-process acquires at the largest size and print the hot spots")
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES),
                        help="comma-separated background lease counts (multiples of 10)")
    parser.add_argument("--only", choices=("all", "main", "candidates", "fill"), default="all",
                        help="run one part: main (sections 1-3), candidates (acquire by kind of pattern among "
                             "leases 100 a directory), fill (one directory filled through acquire)")
    parser.add_argument("--candidate-sizes", default=",".join(str(s) for s in CANDIDATE_SIZES),
                        help="comma-separated lease counts for the candidates part (multiples of 100)")
    parser.add_argument("--fill", type=int, default=None,
                        help=f"leases to fill one directory with (default {FILL:,}; --quick: {FILL // 20:,})")
    args = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()] if args.only in ("all", "main") else []
    candidate_sizes = ([int(s) for s in args.candidate_sizes.split(",") if s.strip()]
                       if args.only in ("all", "candidates") else [])
    fill_total = (args.fill or (FILL // 20 if args.quick else FILL)) if args.only in ("all", "fill") else 0
    if any(s < PER_DIRECTORY * 100 or s % PER_DIRECTORY for s in candidate_sizes):
        parser.error(f"candidate sizes must be multiples of {PER_DIRECTORY} and at least {PER_DIRECTORY * 100}")
    if any(s < PATTERNS_PER_AGENT * 10 or s % PATTERNS_PER_AGENT for s in sizes):
        parser.error(f"sizes must be multiples of {PATTERNS_PER_AGENT} and at least {PATTERNS_PER_AGENT * 10}")

    started = time.perf_counter()
    report = {
        "mode": "quick" if args.quick else "full",
        "counts": counts,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sizes": {},
    }
    profile_texts = []
    with tempfile.TemporaryDirectory(prefix="maf-bench-") as tmp:
        for size in sizes:
            repo = make_repo(tmp, f"repo{size}")
            path = default_db_path(repo)
            log(f"[{size}] populating {path} ...")
            populate_s, agents, globbers = populate(path, size)
            fig = {"agents": agents, "root_globs": len(globbers), "populate_s": round(populate_s, 2)}
            log(f"[{size}] in-process ...")
            do_profile = args.profile and size == max(sizes)
            fig["inprocess"], profilers = bench_inprocess(path, counts, agents, globbers, profile=do_profile)
            for label, profiler in profilers.items():
                text, report.setdefault("profile", {"size": size})[label] = profile_report(profiler, counts["pairs"], label)
                profile_texts.append(text)
            log(f"[{size}] CLI ...")
            fig["cli"] = bench_cli(repo, path, counts["cli_calls"], os.path.join(tmp, "pycache"))
            log(f"[{size}] {WORKERS} concurrent processes ...")
            fig["concurrency"] = bench_concurrency(path, counts["ops_per_worker"])
            report["sizes"][str(size)] = fig
        report["candidates"] = []
        for size in candidate_sizes:
            log(f"[candidates {size}] populating and acquiring ...")
            report["candidates"].append(bench_candidates(tmp, size, counts["pairs"]))
        if fill_total:
            log(f"[fill {fill_total}] acquiring ...")
            report["fill"] = bench_fill(tmp, fill_total)

    report["targets"] = {}
    if sizes:
        target_size = str(TARGET_ACQUIRE_AT) if str(TARGET_ACQUIRE_AT) in report["sizes"] else str(max(sizes))
        acquire_p99 = report["sizes"][target_size]["inprocess"]["acquire_ms"]["p99"]
        cli_worst = max(
            fig["cli"]["wall_ms"][name]["p50"]
            for fig in report["sizes"].values()
            for name in ("maf-lease acquire --json", "maf-lease release")
        )
        report["targets"].update({
            f"inprocess_acquire_p99_ms_at_{target_size}": {
                "value": acquire_p99, "target": f"< {TARGET_ACQUIRE_P99_MS}",
                "result": verdict(acquire_p99 < TARGET_ACQUIRE_P99_MS)},
            "cli_wall_ms_p50_worst": {
                "value": cli_worst, "target": f"< {TARGET_CLI_MS}", "result": verdict(cli_worst < TARGET_CLI_MS)},
        })
    errors = sum(fig["concurrency"]["errors"] for fig in report["sizes"].values())
    if sizes:
        report["targets"][f"errors_at_{WORKERS}_processes"] = {
            "value": errors, "target": "0", "result": verdict(errors == 0)}
    for fig in report["candidates"]:
        worst = max(stat["p99"] for case, stat in fig["acquire_ms"].items() if not case.startswith("floor"))
        report["targets"][f"inprocess_acquire_p99_ms_every_kind_at_{fig['size']}_100_a_directory"] = {
            "value": worst, "target": f"< {TARGET_ACQUIRE_P99_MS}", "result": verdict(worst < TARGET_ACQUIRE_P99_MS)}
    if "fill" in report:
        ratio = report["fill"]["last_to_first_p50"]
        report["targets"][f"fill_{fill_total}_last_to_first_tenth_p50"] = {
            "value": ratio, "target": "< 2 (linear)", "result": verdict(ratio < 2)}
    report["elapsed_s"] = round(time.perf_counter() - started, 1)

    print(f"maf-hooks lease benchmark ({report['mode']}): Python {report['python']}, SQLite {report['sqlite']}, "
          f"{report['cpus']} CPUs, {report['platform']}")
    for size, fig in report["sizes"].items():
        print_size(int(size), fig)
    print_candidates(report["candidates"], report.get("fill"))
    print("\n== targets (informational) ==")
    for name, t in report["targets"].items():
        print(f"  {t['result']}  {name} = {t['value']} (target {t['target']})")
    for text in profile_texts:
        print("\n" + text.rstrip())
    print(f"\nelapsed {report['elapsed_s']} s")
    print(json.dumps(report, sort_keys=True))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
