#!/usr/bin/env python
"""Fleet benchmark: the commit hook and acquire throughput on PostgreSQL, beside SQLite, in one run.

    python benchmarks/bench_fleet.py              # 25 interleaved hook runs, 10 s per throughput run
    python benchmarks/bench_fleet.py --quick      # 5 runs, 1 s per throughput run
    python benchmarks/bench_fleet.py --json       # the figures as one JSON object instead of tables
    python benchmarks/bench_fleet.py --venv DIR   # keep the virtualenv in DIR and reuse it next time

It starts its own PostgreSQL server (``tests/pgserver.py``: initdb, pg_ctl and postgres on PATH or
from ``pg_config --bindir``; fsync off) and installs the project with its ``postgres`` extra
NON-editable into a virtualenv (``bench_hook.py``'s helpers), whose Python runs every command.

1. The commit hook, ``maf-reservations`` with ``MAF_AGENT_ID`` set, as git's pre-commit runs it:
   ``bench_hook.py``'s case A (2,000 tracked files, 100 staged, 1,000 leases of another agent near
   them, none covering a staged path) once with the default SQLite file and once on the server
   (``storage.url`` in maf.toml). Floors, timed interleaved with the hooks: for SQLite
   ``bench_hook.py``'s (the same ``git diff``, open the file, one query); for PostgreSQL a Python
   process that runs the same ``git diff``, opens ONE psycopg connection and runs one query.
   Target on PostgreSQL: hook p50 at most 1.5x its floor's p50.
2. Round trips: the same hook once more against a database of its own with
   ``log_statement = all``; every statement the server logged for that run is one round trip
   (the hook runs no pipeline). The issue's aim is one round trip after connecting.
3. Acquire throughput: 8 and 16 agents, each a process of its own with its own store, that
   acquire and release distinct paths (``maf_hooks.services.leasing``) in a loop for a fixed
   wall time, on both backends, beside the 1,000 leases. Any error fails the run (exit 1).
4. ``-X importtime`` of one PostgreSQL hook run: what psycopg's import costs, and what the
   PostgreSQL path imports that the SQLite path does not.
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

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(PROJECT, "tests"))
import pgserver  # noqa: E402  (tests/pgserver.py: the test session's server)
from bench_hook import (  # noqa: E402
    AGENT,
    FLOOR_CODE,
    build_case_a,
    clean_env,
    git_version,
    install,
    log,
    populate,
    spread,
    timed,
)

TARGET = 1.5
REPOSITORY_KEY = "bench/fleet"
PG_FLOOR_CODE = (
    "import psycopg, subprocess, sys\n"
    "subprocess.run(['git', 'diff', '--cached', '--name-only', '-z', '--no-renames'],"
    " stdout=subprocess.PIPE, check=True)\n"
    "conn = psycopg.connect(sys.argv[1], autocommit=True)\n"
    "conn.execute('SELECT 1').fetchone()\n"
    "conn.close()\n"
)

# one agent of the throughput run: open the store, say "ready", wait for "go", then acquire and
# release distinct paths until the wall time is up; print one JSON line of counts
WORKER = r"""
import json, os, sys, time
from maf_hooks.context import Context
from maf_hooks.services import leasing

repo, agent, seconds, mail, limit = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
ctx = Context(cwd=repo, environ=os.environ)
cfg = ctx.config
ttl = leasing.resolve_ttl(cfg, agent, None, 10)
acquired = released = 0
errors, latencies = [], []
with ctx.store() as store:
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    deadline = started + seconds
    k = 0
    while time.perf_counter() < deadline and (not limit or k < limit):
        pattern = f"fleet/{agent}/f{k}.py"
        k += 1
        t0 = time.perf_counter()
        try:
            result = leasing.acquire(store, cfg, agent, [pattern], ttl, mail_root=lambda: mail).result
            if result.conflicts or len(result.granted) != 1:
                errors.append(f"acquire {pattern}: not granted ({result.conflicts})")
                continue
        except Exception as exc:
            errors.append(f"acquire: {type(exc).__name__}: {exc}")
            continue
        latencies.append((time.perf_counter() - t0) * 1000)
        acquired += 1
        try:
            leasing.release(store, cfg, agent, wanted=[pattern], mail_root=lambda: mail)
            released += 1
        except Exception as exc:
            errors.append(f"release: {type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - started
print(json.dumps({"acquired": acquired, "released": released, "errors": len(errors),
                  "samples": errors[:3], "seconds": elapsed, "latencies_ms": latencies}))
"""


# --- set-up -------------------------------------------------------------------------------------


def postgres_requirements():
    """The ``postgres`` extra's requirements, read from pyproject.toml (their one home)."""
    import tomllib

    with open(os.path.join(PROJECT, "pyproject.toml"), "rb") as handle:
        return tomllib.load(handle)["project"]["optional-dependencies"]["postgres"]


def install_with_postgres(venv, workdir):
    python, hook = install(venv, workdir, PROJECT)
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *postgres_requirements()],
                   check=True, env=clean_env())
    return python, hook


def use_server(repo, url):
    """Point ``repo`` at the server (maf.toml, untracked) and create the schema there."""
    with open(os.path.join(repo, "maf.toml"), "w", encoding="utf-8") as handle:
        handle.write(f'[storage]\nurl = "{url}"\nrepository = "{REPOSITORY_KEY}"\n')


def migrate(python, repo):
    subprocess.run([python, "-m", "maf_hooks.cli", "db", "migrate"], cwd=repo, env=clean_env(), check=True,
                   stdout=subprocess.DEVNULL)


def case(python, parent, name, url=None):
    repo, patterns, staged = build_case_a(parent, name, conflict=False)
    if url:
        use_server(repo, url)
        migrate(python, repo)
    info = populate(python, repo, patterns)
    log(f"  {name}: {staged} staged, {info['active']} leases (taken in {info['seconds']} s)")
    return {"repo": repo, "db": info["db_path"], "staged": staged, "leases": info["active"]}


# --- 1. the hook against its floor ----------------------------------------------------------


def hook_timings(python, hook, sqlite_case, pg_case, pg_url, runs):
    env = clean_env(MAF_AGENT_ID=AGENT)
    commands = [
        ("python -c pass", sqlite_case["repo"], [python, "-c", "pass"]),
        ("sqlite floor", sqlite_case["repo"], [python, "-c", FLOOR_CODE, sqlite_case["db"]]),
        ("sqlite hook", sqlite_case["repo"], [hook]),
        ("postgresql floor", pg_case["repo"], [python, "-c", PG_FLOOR_CODE, pg_url]),
        ("postgresql hook", pg_case["repo"], [hook]),
    ]
    for label, repo, cmd in commands:  # warm-up: page cache, bytecode, the server's catalogue caches
        _, proc = timed(cmd, repo, env, expect=0)
        if proc.stderr:
            raise RuntimeError(f"{label} wrote to stderr: {proc.stderr.decode(errors='replace')[:2000]}")
    log(f"timing {runs} interleaved runs of {len(commands)} commands")
    times = {label: [] for label, *_ in commands}
    for _ in range(runs):
        for label, repo, cmd in commands:
            times[label].append(timed(cmd, repo, env, expect=0)[0])
    stats = {label: spread(values) for label, values in times.items()}
    rows = {}
    for backend, target in (("sqlite", None), ("postgresql", TARGET)):
        hook_p50, floor_p50 = stats[f"{backend} hook"]["p50"], stats[f"{backend} floor"]["p50"]
        ratio = round(hook_p50 / floor_p50, 2)
        rows[backend] = {"floor_ms": stats[f"{backend} floor"], "hook_ms": stats[f"{backend} hook"],
                         "ratio_p50": ratio, "above_floor_ms_p50": round(hook_p50 - floor_p50, 2),
                         "target_ratio": target, "meets_target": None if target is None else ratio <= target}
    return rows, stats["python -c pass"]


# --- 2. round trips -------------------------------------------------------------------------


def logged(log_path, start):
    """The statements the server logged after byte ``start`` of its log."""
    time.sleep(0.5)  # the server's logger writes asynchronously
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        handle.seek(start)
        text = handle.read()
    statements = []
    for line in text.splitlines():
        for marker in ("LOG:  statement: ", "LOG:  execute <unnamed>: ", "LOG:  execute "):
            if marker in line:
                statements.append(" ".join(line.split(marker, 1)[1].split()))
                break
    return statements


def round_trips(server, python, hook, parent, mail):
    """The statements the server logs, on a database of its own: for one no-conflict hook run
    (after its warm-up run), and for one acquire and one release of an open store."""
    url = server.new_database()
    dbname = url.rsplit("/", 1)[1]
    traced = case(python, parent, "pg-traced", url)
    server.sql(f"ALTER DATABASE {dbname} SET log_statement = 'all'")
    log_path = os.path.join(server.base, "server.log")
    env = clean_env(MAF_AGENT_ID=AGENT)
    timed([hook], traced["repo"], env, expect=0)
    time.sleep(0.2)
    start = os.path.getsize(log_path)
    timed([hook], traced["repo"], env, expect=0)
    hook_statements = logged(log_path, start)
    workers = start_workers(python, traced["repo"], ["traced"], 60, mail, limit=1)
    time.sleep(0.2)
    start = os.path.getsize(log_path)
    results, _ = finish_workers(workers, 60)
    if results[0]["acquired"] != 1 or results[0]["errors"]:
        raise RuntimeError(f"the traced acquire failed: {results[0]['samples']}")
    acquire_statements = logged(log_path, start)
    return {"statements": hook_statements, "count": len(hook_statements),
            "acquire_release_statements": acquire_statements, "acquire_release_count": len(acquire_statements)}


# --- 3. throughput --------------------------------------------------------------------------


# bench_hook's leases last 6 h, beyond the default reservation.max_timeout_minutes (2 h): the first
# write would shorten all 1,000 of them as clock-skewed (correct_skew) inside one agent's section
WORKER_ENV = {"MAF_RESERVATION_MAX_TIMEOUT": "480"}


def start_workers(python, repo, names, seconds, mail, limit=0):
    """Start one worker process per name; return them once every one has its store open."""
    workers = [subprocess.Popen([python, "-c", WORKER, repo, name, str(seconds), mail, str(limit)], cwd=repo,
                                env=clean_env(**WORKER_ENV), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for name in names]
    for worker in workers:
        line = worker.stdout.readline()
        if line.strip() != "ready":
            worker.wait()
            raise RuntimeError(f"a throughput worker did not start: {line}{worker.stderr.read()[-2000:]}")
    return workers


def finish_workers(workers, seconds):
    """Say "go" to every worker, wait for them; (their results, wall seconds from "go")."""
    started = time.perf_counter()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=seconds + 120)
        if worker.returncode:
            raise RuntimeError(f"a throughput worker failed ({worker.returncode}): {err[-2000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results, time.perf_counter() - started


def throughput(python, repo, agents, seconds, mail):
    names = [f"fleet{agents:02d}-{i:02d}" for i in range(agents)]
    results, wall = finish_workers(start_workers(python, repo, names, seconds, mail), seconds)
    acquired = sum(r["acquired"] for r in results)
    latencies = [value for r in results for value in r["latencies_ms"]]
    return {
        "agents": agents, "seconds": round(wall, 2), "acquired": acquired,
        "released": sum(r["released"] for r in results),
        "acquires_per_s": round(acquired / wall, 1),
        "acquire_ms": spread(latencies) if latencies else None,
        "errors": sum(r["errors"] for r in results),
        "error_samples": [s for r in results for s in r["samples"]][:5],
    }


# --- 4. imports ------------------------------------------------------------------------------


def import_rows(hook, repo, env):
    """(module, self us, cumulative us) of every import of one hook run (``-X importtime``)."""
    _, proc = timed([hook], repo, dict(env, PYTHONPROFILEIMPORTTIME="1"), expect=0)
    rows = []
    for line in proc.stderr.decode(errors="replace").splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, cumulative_us, name = (part.strip() for part in line[len("import time:"):].split("|"))
            rows.append((name, int(self_us), int(cumulative_us)))
    return rows


def imports(hook, sqlite_case, pg_case, runs, top=15):
    """Medians over ``runs`` runs of each hook: total import time, psycopg's cumulative time; the
    modules (and their own time, from the median PostgreSQL run) only the PostgreSQL path loads."""
    env = clean_env(MAF_AGENT_ID=AGENT)
    sqlite_runs, pg_runs = [], []
    for _ in range(runs):  # interleaved, like the timings
        sqlite_runs.append(import_rows(hook, sqlite_case["repo"], env))
        pg_runs.append(import_rows(hook, pg_case["repo"], env))

    def total_ms(rows):
        return sum(s for _, s, _ in rows) / 1000

    def psycopg_ms(rows):
        return next((c for name, _, c in rows if name == "psycopg"), 0) / 1000

    pg_rows = sorted(pg_runs, key=psycopg_ms)[len(pg_runs) // 2]
    on_sqlite = {name for name, _, _ in sqlite_runs[0]}
    extra = [(name, s, c) for name, s, c in pg_rows if name not in on_sqlite]
    ours = sorted(((name, c) for name, _, c in extra if name.startswith("maf_hooks")), key=lambda r: -r[1])
    return {
        "runs": runs,
        "sqlite_import_ms": round(statistics.median(total_ms(r) for r in sqlite_runs), 2),
        "postgresql_import_ms": round(statistics.median(total_ms(r) for r in pg_runs), 2),
        "psycopg_ms": round(statistics.median(psycopg_ms(r) for r in pg_runs), 2),
        "modules": {"sqlite": len(sqlite_runs[0]), "postgresql": len(pg_rows), "postgresql_only": len(extra)},
        "postgresql_only_ms": round(sum(s for _, s, _ in extra) / 1000, 2),
        "postgresql_only_maf_hooks": [{"module": n, "cumulative_ms": round(c / 1000, 2)} for n, c in ours],
        "postgresql_only_largest": [{"module": n, "self_ms": round(s / 1000, 2)}
                                    for n, s, _ in sorted(extra, key=lambda r: -r[1])[:top]],
        "on_sqlite_not_postgresql": sorted(on_sqlite - {name for name, _, _ in pg_rows}),
    }


# --- main ---------------------------------------------------------------------------------------


def print_tables(summary):
    hook, runs = summary["hook"], summary["runs"]
    print(f"\nmaf-reservations, 100 staged, 1,000 leases, none conflicting: medians of {runs} interleaved runs "
          f"(ms); Python {summary['python']}, {summary['git']}, PostgreSQL {summary['postgresql']}")
    print(f"{'backend':<12} {'floor':>8} {'hook':>8} {'ratio':>7} {'+ms':>7}  target")
    for backend, row in hook.items():
        target = row["target_ratio"]
        verdict = "informational" if target is None else f"<= {target}x {'PASS' if row['meets_target'] else 'MISS'}"
        print(f"{backend:<12} {row['floor_ms']['p50']:>8.2f} {row['hook_ms']['p50']:>8.2f} "
              f"{row['ratio_p50']:>6.2f}x {row['above_floor_ms_p50']:>7.2f}  {verdict}")
    print(f"{'(python -c pass)':<12} {summary['python_pass_ms']['p50']:>8.2f}")

    trips = summary["round_trips"]
    print(f"\nround trips of one no-conflict hook run on PostgreSQL (log_statement = all): {trips['count']}")
    for number, statement in enumerate(trips["statements"], 1):
        print(f"  {number}. {statement[:150]}")
    print(f"statements of one acquire and one release (services.leasing, store open): "
          f"{trips['acquire_release_count']}")
    for number, statement in enumerate(trips["acquire_release_statements"], 1):
        print(f"  {number}. {statement[:150]}")

    print(f"\nacquire + release throughput, {summary['throughput_seconds']:g} s per run, distinct paths per agent")
    print(f"{'backend':<12} {'agents':>6} {'acq/s':>8} {'acquired':>9} {'p50 ms':>8} {'p90 ms':>8} {'errors':>7}")
    for backend, rows in summary["throughput"].items():
        for row in rows:
            lat = row["acquire_ms"] or {"p50": float("nan"), "p90": float("nan")}
            print(f"{backend:<12} {row['agents']:>6} {row['acquires_per_s']:>8.1f} {row['acquired']:>9} "
                  f"{lat['p50']:>8.2f} {lat['p90']:>8.2f} {row['errors']:>7}")
            for sample in row["error_samples"]:
                print(f"{'':<12} error: {sample[:200]}")

    imp = summary["imports"]
    print(f"\n-X importtime of the hook, medians of {imp['runs']} runs: SQLite {imp['sqlite_import_ms']} ms "
          f"in {imp['modules']['sqlite']} imports, PostgreSQL {imp['postgresql_import_ms']} ms "
          f"in {imp['modules']['postgresql']}")
    print(f"  psycopg (cumulative): {imp['psycopg_ms']} ms; {imp['modules']['postgresql_only']} modules only on "
          f"the PostgreSQL path, {imp['postgresql_only_ms']} ms of own time")
    print("  maf_hooks modules only on the PostgreSQL path (cumulative ms):")
    for row in imp["postgresql_only_maf_hooks"]:
        print(f"    {row['cumulative_ms']:8.2f}  {row['module']}")
    print("  largest modules only on the PostgreSQL path (own ms, the median run):")
    for row in imp["postgresql_only_largest"]:
        print(f"    {row['self_ms']:8.2f}  {row['module']}")
    print()


def run(args, workdir):
    bins = pgserver.binaries()
    if bins is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl, postgres) are not on PATH")
    venv = os.path.abspath(args.venv) if args.venv else os.path.join(workdir, "venv")
    python, hook = install_with_postgres(venv, workdir)
    server = pgserver.Server(bins)
    log("starting PostgreSQL")
    server.start()
    try:
        version = server.sql("SHOW server_version")[0][0]
        repos = os.path.join(workdir, "repos")
        os.makedirs(repos)
        log("building repositories and taking leases")
        sqlite_case = case(python, repos, "sqlite-a")
        pg_url = server.new_database()
        pg_case = case(python, repos, "pg-a", pg_url)

        runs = args.runs or (5 if args.quick else 25)
        timings, python_pass = hook_timings(python, hook, sqlite_case, pg_case, pg_url, runs)
        trips = round_trips(server, python, hook, repos, os.path.join(workdir, "mail"))
        profile = imports(hook, sqlite_case, pg_case, 3 if args.quick else 9)

        seconds = args.seconds or (1.0 if args.quick else 10.0)
        mail = os.path.join(workdir, "mail")
        results = {"sqlite": [], "postgresql": []}
        for agents in (8, 16):
            for backend, repo in (("sqlite", sqlite_case["repo"]), ("postgresql", pg_case["repo"])):
                log(f"throughput: {agents} agents on {backend} for {seconds:g} s")
                results[backend].append(throughput(python, repo, agents, seconds, mail))
    finally:
        server.stop()

    summary = {
        "benchmark": "bench_fleet", "runs": runs, "python": platform.python_version(), "git": git_version(),
        "postgresql": version, "platform": platform.platform(), "cpus": os.cpu_count(),
        "hook": timings, "python_pass_ms": python_pass, "round_trips": trips,
        "throughput_seconds": seconds, "throughput": {
            backend: rows for backend, rows in results.items()},
        "imports": profile,
    }
    errors = sum(row["errors"] for rows in results.values() for row in rows)
    summary["errors"] = errors
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print_tables(summary)
    if errors:
        log(f"FAILED: {errors} errors in the throughput runs")
        return 1
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 hook runs and 1 s per throughput run")
    parser.add_argument("--runs", type=int, default=0, help="interleaved hook runs (overrides --quick)")
    parser.add_argument("--seconds", type=float, default=0, help="wall time of each throughput run")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    parser.add_argument("--venv", help="create (or reuse) the virtualenv here instead of a temporary one")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (repositories)")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="maf-bench-fleet-")
    try:
        return run(args, workdir)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
