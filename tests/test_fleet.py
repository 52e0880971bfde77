"""Two machines, one lease server: two clones of one origin share leases through storage.url.

"Machines" are two clones of one bare origin (a file path remote: both clones arrive at the same
repository key) with the same committed maf.toml; every command runs as a real process.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import subprocess
import time
import traceback

import pytest
from conftest import BIN, commit_file, git, make_repo
from test_precommit import hook_repo, install_args, install_plain_hooks, precommit  # noqa: F401

from maf_hooks import patterns
from maf_hooks.core.model import EXCLUSIVE
from maf_hooks.store.url import repository_key

CTX = multiprocessing.get_context("fork")
MAF = str(BIN / "maf")
ALICE = {"MAF_AGENT_ID": "alice"}
BOB = {"MAF_AGENT_ID": "bob"}


def run(args, cwd, env=None, timeout=120):
    """A command as its own process, with a clean MAF_* environment plus ``env``."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("MAF_")}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env={**base, **(env or {})},
                          timeout=timeout)


def lease(clone, agent, *args):
    return run([str(BIN / "maf-lease"), *args, "--json"], clone, {"MAF_AGENT_ID": agent})


def active(clone):
    done = lease(clone, "observer", "list")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["leases"]


def origin_with_config(tmp_path, name, url):
    """A bare origin whose main branch holds src/a.py and a maf.toml naming the server."""
    seed = make_repo(tmp_path / f"{name}-seed")
    (seed / "maf.toml").write_text(f'[storage]\nurl = "{url}"\n')
    commit_file(seed, "src/a.py", "print(1)\n")
    git("add", "maf.toml", cwd=seed)
    git("commit", "-q", "-m", "lease server", cwd=seed)
    origin = tmp_path / f"{name}.git"
    git("init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    git("push", "-q", str(origin), "main", cwd=seed)
    return origin


def clone(origin, path, email):
    git("clone", "-q", str(origin), str(path), cwd=path.parent)
    git("config", "user.email", email, cwd=path)
    git("config", "commit.gpgsign", "false", cwd=path)
    return path


@pytest.fixture
def fleet(tmp_path, pg_url):
    """(clone A, clone B): one origin, one server, migrated once, the plain git hooks installed."""
    origin = origin_with_config(tmp_path, "origin", pg_url)
    a = clone(origin, tmp_path / "machine-a", "alice@example.com")
    b = clone(origin, tmp_path / "machine-b", "bob@example.com")
    migrated = run([MAF, "db", "migrate"], a)
    assert migrated.returncode == 0, migrated.stderr
    for repo in (a, b):
        install_plain_hooks(repo)
    return a, b


def test_both_clones_have_one_key(fleet):
    a, b = fleet
    keys = {repository_key(git("remote", "get-url", "origin", cwd=repo).stdout) for repo in fleet}
    assert len(keys) == 1 and None not in keys
    held = lease(a, "alice", "acquire", "docs/")
    assert held.returncode == 0, held.stderr
    assert [(row["agent"], row["pattern"]) for row in active(b)] == [("alice", "docs/")]


def test_a_lease_in_one_clone_refuses_a_commit_and_an_edit_in_the_other(fleet):
    a, b = fleet
    assert lease(a, "alice", "acquire", "src/a.py", "--reason", "rewrite").returncode == 0
    (b / "src" / "a.py").write_text("print(2)\n")
    git("add", "src/a.py", cwd=b)
    refused = git("commit", "-m", "bob's change", cwd=b, check=False, env=BOB)  # the installed git hook
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "alice" in refused.stderr and "src/a.py" in refused.stderr
    assert git("rev-list", "--count", "HEAD", cwd=b).stdout.strip() == "2"
    direct = run([str(BIN / "maf-reservations")], b, BOB)
    assert direct.returncode == 1 and "RESERVATION_CONFLICT" in direct.stdout + direct.stderr

    document = {"session_id": "bbbbbbbb-5555-6666-7777-888888888888", "transcript_path": "transcript.jsonl",
                "cwd": str(b), "permission_mode": "default", "hook_event_name": "PreToolUse",
                "tool_name": "Write", "tool_input": {"file_path": str(b / "src" / "a.py"), "content": "x\n"},
                "tool_use_id": "toolu_1"}
    base = {key: value for key, value in os.environ.items() if not key.startswith("MAF_")}
    hooked = subprocess.run([MAF, "agent-hook", "claude"], input=json.dumps(document).encode(), cwd=b,
                            capture_output=True, env=base, timeout=120)
    assert hooked.returncode == 0, hooked.stderr.decode()
    output = json.loads(hooked.stdout)["hookSpecificOutput"]
    assert output["permissionDecision"] == "deny" and "alice" in output["permissionDecisionReason"]

    assert lease(a, "alice", "release", "src/a.py").returncode == 0
    allowed = git("commit", "-q", "-m", "bob's change", cwd=b, check=False, env=BOB)
    assert allowed.returncode == 0, allowed.stderr


def test_a_clone_of_another_origin_on_the_same_server_sees_no_leases(fleet, tmp_path, pg_url):
    a, _ = fleet
    assert lease(a, "alice", "acquire", "src/", "maf.toml").returncode == 0
    other = clone(origin_with_config(tmp_path, "other", pg_url), tmp_path / "machine-c", "carol@example.com")
    install_plain_hooks(other)
    assert active(other) == []
    (other / "src" / "a.py").write_text("print(3)\n")
    committed = git("commit", "-q", "-am", "carol", cwd=other, check=False, env={"MAF_AGENT_ID": "carol"})
    assert committed.returncode == 0, committed.stderr
    assert lease(other, "carol", "acquire", "src/a.py").returncode == 0  # free under its own key
    assert [row["agent"] for row in active(a)] == ["alice", "alice"]


def test_sixteen_processes_across_two_clones_one_winner_each_round(fleet):
    a, b = fleet
    for round_ in range(3):
        procs = [subprocess.Popen([str(BIN / "maf-lease"), "acquire", "src/race.py", "--json"],
                                  cwd=a if number % 2 else b, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env={**os.environ, "MAF_AGENT_ID": f"agent-{number}"})
                 for number in range(16)]
        outcomes = []
        for number, proc in enumerate(procs):
            out, err = proc.communicate(timeout=120)
            outcomes.append((f"agent-{number}", proc.returncode, err))
        assert sorted(code for _, code, _ in outcomes) == [0] + [1] * 15, outcomes
        winner = next(agent for agent, code, _ in outcomes if code == 0)
        assert [(row["agent"], row["pattern"]) for row in active(a)] == [(winner, "src/race.py")], round_
        assert lease(b, winner, "release", "src/race.py").returncode == 0
        assert active(a) == []


GLOBS = ["src/**", "src/*.py", "src/a.py", "*.py", "src/b.py", "docs/"]


def _worker(clone: str, agent: str, until: float, seed: int, results) -> None:
    """Acquire, renew and release overlapping globs at random until ``until``, through the services."""
    try:
        from maf_hooks.context import Context
        from maf_hooks.errors import Refused
        from maf_hooks.services import leasing

        rng = random.Random(seed)
        context = Context(cwd=clone, environ={})
        counts = {"granted": 0, "refused": 0, "renewed": 0, "released": 0}
        with context.store() as store:
            while time.time() < until:
                choice = rng.random()
                try:
                    if choice < 0.5:
                        acquired = leasing.acquire(store, context.config, agent, [rng.choice(GLOBS)], 60_000,
                                                   mail_root=context.mail_root)
                        counts["granted" if acquired.result.granted else "refused"] += 1
                    elif choice < 0.7:
                        counts["renewed"] += len(leasing.renew(store, context.config, agent, None, 60_000))
                    else:
                        counts["released"] += len(leasing.release(store, context.config, agent, everything=True,
                                                                  mail_root=context.mail_root).leases)
                except Refused:  # nothing to renew or release: this agent holds nothing now
                    pass
        results.put((agent, counts, None))
    except Exception:
        results.put((agent, None, traceback.format_exc()))


def _sampler(clone: str, until: float, results) -> None:
    """Read the active leases again and again; report any two of different agents that overlap
    where one is exclusive (the project's overlap rule: maf_hooks.patterns.overlaps)."""
    try:
        from maf_hooks.context import Context

        samples, busiest, bad = 0, 0, []
        with Context(cwd=clone, environ={}).store() as store:
            while time.time() < until:
                leases = store.leases.active(store.now())
                samples += 1
                busiest = max(busiest, len(leases))
                for i, one in enumerate(leases):
                    for other in leases[i + 1:]:
                        if (one.agent != other.agent and EXCLUSIVE in (one.mode, other.mode)
                                and patterns.overlaps(one.pattern, other.pattern)):
                            bad.append((one.agent, one.pattern, other.agent, other.pattern))
        results.put(("sampler", {"samples": samples, "busiest": busiest, "bad": bad}, None))
    except Exception:
        results.put(("sampler", None, traceback.format_exc()))


def test_random_lease_traffic_on_overlapping_globs_never_overlaps(fleet):
    a, b = fleet
    assert patterns.overlaps("src/*.py", "src/a.py") and not patterns.overlaps("src/**", "docs/")
    until = time.time() + 4
    results = CTX.Queue()
    procs = [CTX.Process(target=_worker, args=(str(a if n % 2 else b), f"agent-{n}", until, n, results))
             for n in range(8)]
    procs.append(CTX.Process(target=_sampler, args=(str(a), until, results)))
    for proc in procs:
        proc.start()
    outcomes = {agent: (counts, err) for agent, counts, err in (results.get(timeout=120) for _ in procs)}
    for proc in procs:
        proc.join(timeout=60)
    assert [err for _, err in outcomes.values() if err] == []
    sampled = outcomes.pop("sampler")[0]
    assert sampled["bad"] == []
    assert sampled["samples"] >= 10 and sampled["busiest"] >= 2  # it saw the traffic, not an empty table
    total = {key: sum(counts[key] for counts, _ in outcomes.values()) for key in ("granted", "refused")}
    assert total["granted"] >= 8 and total["refused"] >= 8  # the agents did compete
    leases = active(a)
    for i, one in enumerate(leases):
        for other in leases[i + 1:]:
            assert one["agent"] == other["agent"] or not patterns.overlaps(one["pattern"], other["pattern"])


# --- the real pre-commit framework on the server ----------------------------------------------

@pytest.fixture(scope="module")
def fleet_precommit_home(tmp_path_factory):
    """One pre-commit cache for the module: the hook environment with the driver is built once."""
    return tmp_path_factory.mktemp("fleet-pre-commit-home")


def test_framework_commit_refused_on_the_server(fleet, hook_repo, fleet_precommit_home, monkeypatch):  # noqa: F811
    a, b = fleet
    monkeypatch.setenv("PRE_COMMIT_HOME", str(fleet_precommit_home))
    path, sha = hook_repo
    written = run([MAF, "init", "--write", "--repo", str(path), "--rev", sha], b)
    assert written.returncode == 0, written.stderr
    assert "additional_dependencies" in (b / ".pre-commit-config.yaml").read_text()
    key = repository_key(git("remote", "get-url", "origin", cwd=b).stdout)
    assert f'repository = "{key}"' in (b / "maf.toml").read_text()  # the key both clones already use
    git("add", ".pre-commit-config.yaml", "maf.toml", cwd=b)
    git("commit", "-q", "--no-verify", "-m", "maf hooks", cwd=b)
    precommit(b, "install", "--overwrite", *install_args())  # replaces the plain hooks: the framework decides
    installed = precommit(b, "install-hooks", check=False)  # builds the hook environment: pip, the index
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert lease(a, "alice", "acquire", "src/", "--reason", "parser rewrite").returncode == 0
    (b / "src" / "a.py").write_text("print(4)\n")
    git("add", "src/a.py", cwd=b)
    refused = git("commit", "-m", "bob's change", cwd=b, check=False, env=BOB)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert "RESERVATION_CONFLICT" in output and "alice" in output and "parser rewrite" in output
    assert "maf reservations (commit)" in output  # the framework ran the hook, in its environment
    assert lease(a, "alice", "release", "src/").returncode == 0
    allowed = git("commit", "-m", "bob's change", cwd=b, check=False, env=BOB)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
