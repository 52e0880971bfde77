#!/usr/bin/env python
"""Build a busy month of history in a lease database, through the lease rules and the conflict
service themselves (in this process, on an injected clock), so that anyone can rerun the history
figures (``bench_audit.py``, the preflight and hook benchmarks)::

    python benchmarks/gen_history.py REPO            # git init REPO, history in its default database
    python benchmarks/gen_history.py --db FILE       # only a database file
    python benchmarks/gen_history.py REPO --cycles 6000 --refused 200   # a tenth of it

The default month: 20 agents over 30 days do 60,000 acquire/renew/release cycles (one
directory lease each; every 20th is left to expire and is swept by a later acquire), and 2,000
commits are refused, each touching 10 paths under another agent's lease. That is 200,000 chained
events and 20,000 conflict records; the holders' conflict mail is queued and marked delivered,
as a hook's follow-up would have done. The clock moves in ticks: in each, every agent runs one
cycle (the tick is one transaction), and a refused commit happens in two ticks of three.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from maf_hooks.core import leases as rules
from maf_hooks.core.conflicts import Outcome
from maf_hooks.core.decision import Decision
from maf_hooks.services import conflicts
from maf_hooks.store.sqlite import open_file

DAY = 86_400_000
START = 1_790_000_000_000  # 2026-09-21, a fixed start so that runs compare


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def build(db_path: str, *, agents: int = 20, cycles: int = 60_000, days: int = 30, refused: int = 2_000,
          paths_per_commit: int = 10, quiet: bool = False) -> dict[str, int]:
    """Write the history into ``db_path`` (created); returns what was written."""
    clock = Clock(START)
    store = open_file(db_path, clock)
    ticks = max(1, cycles // agents)
    step = days * DAY // ticks
    commit_ticks = [tick for tick in range(ticks) if tick % 3 != 0][:refused]
    commit_at = set(commit_ticks)
    left = refused - len(commit_ticks)  # fewer ticks than commits: the rest in the last ticks
    started = time.perf_counter()
    try:
        for tick in range(ticks):
            clock.now = START + tick * step
            with store.write():  # one transaction a tick: each call below joins it, on its time
                _tick(store, tick, agents, paths_per_commit, tick in commit_at or tick >= ticks - left)
            if not quiet and tick % max(1, ticks // 10) == 0:
                print(f"  tick {tick}/{ticks} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        clock.now = START + days * DAY + 3_600_000  # past every lease still open: swept
        with store.write():
            rules.expire_due(store)
        counts = {"events": store.audit.highest_issued_id(),
                  "conflicts": sum(count for _, _, count in store.audit.status_counts("conflicts", 0))}
    finally:
        store.close()
    counts["seconds"] = round(time.perf_counter() - started)
    return counts


def _tick(store, tick: int, agents: int, paths_per_commit: int, commit: bool) -> None:
    """Every agent's cycle; with ``commit``, the last agent's commit into the first's lease is refused."""
    for number in range(agents):
        agent = f"agent{number:02d}"
        pattern = f"team{number:02d}/area{tick % 50:02d}/"
        granted = rules.acquire(store, agent, [pattern], 30 * 60_000, reason=f"cycle {tick}").granted
        rules.renew(store, agent, [pattern], 45 * 60_000)
        if number == 0 and commit:
            _refuse(store, f"agent{agents - 1:02d}" if agents > 1 else "intruder", granted[0], pattern,
                    paths_per_commit)
        if (tick * agents + number) % 20 != 19:
            rules.release(store, agent, pattern_list=[pattern])


def _refuse(store, committer: str, lease, pattern: str, paths: int) -> None:
    """A commit by ``committer`` touching ``paths`` files under ``lease``: refused and recorded."""
    changed = [f"{pattern}file{index:02d}.py" for index in range(paths)]
    decision = Decision("commit", committer, changed, [(path, lease) for path in changed], [])
    plan = conflicts.record(store, decision, Outcome("blocked"))
    with store.write() as now:
        for outbox_id in plan["queued"]:
            store.conflicts.mail_delivered(outbox_id, f"{now}.{outbox_id}.bench", now)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", help="a new git repository to create (its .git/maf/runtime.db)")
    parser.add_argument("--db", help="write only this database file instead")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--cycles", type=int, default=60_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--refused", type=int, default=2_000)
    parser.add_argument("--paths-per-commit", type=int, default=10)
    args = parser.parse_args(argv)
    if bool(args.repo) == bool(args.db):
        parser.error("give a repository or --db FILE (one of them)")
    if args.repo:
        subprocess.run(["git", "init", "-q", args.repo], check=True)
        db_path = os.path.join(args.repo, ".git", "maf", "runtime.db")
        os.makedirs(os.path.dirname(db_path), exist_ok=True)
    else:
        db_path = args.db
    if os.path.exists(db_path):
        parser.error(f"{db_path} exists already")
    counts = build(db_path, agents=args.agents, cycles=args.cycles, days=args.days, refused=args.refused,
                   paths_per_commit=args.paths_per_commit)
    print(f"{db_path}: {counts['events']} events, {counts['conflicts']} conflict records "
          f"in {counts['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
