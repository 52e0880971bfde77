"""`maf metrics`: the Prometheus exposition of a store built through the commands and the real
hooks, read back with prometheus_client's own parser, on SQLite and on PostgreSQL; and the
textfile for node_exporter, written whole or not at all."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest
from conftest import BIN, git
from prometheus_client.parser import text_string_to_metric_families

from maf_hooks import hook_timing

ALICE, BOB, CAROL = {"MAF_AGENT_ID": "alice"}, {"MAF_AGENT_ID": "bob"}, {"MAF_AGENT_ID": "carol"}


def run(args, cwd, env=None, input=None):
    base = {key: value for key, value in os.environ.items() if not key.startswith("MAF_")}
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env={**base, **(env or {})}, input=input, timeout=120)


def ok(args, cwd, env=None, input=None):
    done = run(args, cwd, env, input)
    assert done.returncode == 0, done.stderr
    return done


def samples(text):
    """{(sample name, sorted labels): value}, as prometheus_client's parser reads ``text``."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(found, name, **labels):
    return found[(name, tuple(sorted(labels.items())))]


@pytest.fixture(params=["sqlite", "postgres"])
def store_repo(request, repo):
    """(repo, backend, server URL or None): a repository whose store is a SQLite file or this
    repository's key on the session's PostgreSQL server."""
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        (repo / "maf.toml").write_text(f'[storage]\nurl = "{url}"\nrepository = "example.com/metrics"\n')
        ok([BIN / "maf", "db", "migrate"], repo)
    return repo, request.param, url


def edit_call(repo, name):
    return json.dumps({"session_id": "s1234567", "cwd": str(repo), "hook_event_name": "PreToolUse",
                       "tool_name": "Edit", "tool_input": {"file_path": str(repo / name)}})


def build(repo):
    """Leases of two agents (one released by a third), two refused paths and two overridden ones
    on commit, one refused edit, an escalation, and alice never sending a heartbeat."""
    ok([BIN / "maf-lease", "acquire", "src/", "docs/a.md", "--ttl", "30m"], repo, ALICE)
    ok([BIN / "maf-lease", "acquire", "notes/", "--shared", "--ttl", "5m"], repo, BOB)
    ok([BIN / "maf-lease", "heartbeat"], repo, BOB)
    ok([BIN / "maf-lease", "acquire", "tmp/"], repo, CAROL)
    ok([BIN / "maf-lease", "release", "tmp/"], repo, CAROL)
    for name in ("src/a.py", "src/b.py"):
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text("x\n")
    git("add", "src", cwd=repo)
    refused = run([BIN / "maf-reservations"], repo, BOB)
    assert refused.returncode == 1 and "RESERVATION_CONFLICT" in refused.stderr
    ok([BIN / "maf-reservations"], repo, {**BOB, "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "hotfix"})
    denied = ok([BIN / "maf", "agent-hook", "claude"], repo, BOB, input=edit_call(repo, "docs/a.md"))
    assert '"deny"' in denied.stdout
    ok([BIN / "maf", "escalate", "--agent-id", "bob", "--error-context", "stuck on src/", "--bead-id", "bd-1",
        "--target", "lead"], repo)


def test_metrics_show_the_store_as_built(store_repo):
    repo, backend, _ = store_repo
    build(repo)
    text = ok([BIN / "maf", "metrics"], repo).stdout
    found = samples(text)
    assert value(found, "maf_leases_active", agent="alice", mode="exclusive") == 2
    assert value(found, "maf_leases_active", agent="bob", mode="shared") == 1
    held = {dict(labels)["agent"] for name, labels in found if name == "maf_leases_active"}
    assert held == {"alice", "bob"}  # carol released hers: no label for an agent holding nothing
    assert value(found, "maf_leases_expiring_soon") == 1  # bob's 5 minutes
    assert value(found, "maf_conflicts_last_hour", status="blocked", operation="commit") == 2
    assert value(found, "maf_conflicts_last_hour", status="overridden", operation="commit") == 2
    assert value(found, "maf_conflicts_last_hour", status="blocked", operation="edit") == 1
    assert value(found, "maf_conflicts_last_hour", status="warned", operation="push") == 0  # every pair is there
    assert sum(v for (name, _), v in found.items() if name == "maf_conflicts_last_hour") == 5
    assert value(found, "maf_overrides_last_hour") == 1  # one lease overridden
    assert value(found, "maf_escalations_open", level="1", status="pending") == 1
    assert value(found, "maf_escalations_timed_out_last_hour") == 0
    assert value(found, "maf_escalations_overdue") == 0
    assert value(found, "maf_agents_stale") == 1  # alice holds leases and never sent a heartbeat
    assert value(found, "maf_audit_chain_valid") == 1
    # the hooks that ran above, each once its answer was written: two commits, one edit
    assert value(found, "maf_hook_duration_seconds_count", hook="commit") == 2
    assert value(found, "maf_hook_duration_seconds_bucket", hook="commit", le="+Inf") == 2
    assert value(found, "maf_hook_duration_seconds_count", hook="edit") == 1
    assert value(found, "maf_hook_duration_seconds_count", hook="push") == 0
    assert value(found, "maf_hook_duration_seconds_sum", hook="commit") > 0
    assert (repo / ".git" / "maf" / hook_timing.FILE).exists()  # beside the database, or where it would be
    size = value(found, "maf_database_size_bytes")
    if backend == "sqlite":  # the file and its log while open (closing folds the log in: the exact sum is
        # tests/contract/test_tallies.py's)
        assert size >= os.path.getsize(repo / ".git" / "maf" / "runtime.db") > 0
    else:
        assert size > 0
    document = json.loads(ok([BIN / "maf", "metrics", "--json"], repo).stdout)
    as_json = {(s["name"], tuple(sorted(s["labels"].items()))): s["value"]
               for family in document["metrics"] for s in family["samples"]}
    assert {key: v for key, v in as_json.items() if key[0] != "maf_database_size_bytes"} == {
        key: v for key, v in found.items() if key[0] != "maf_database_size_bytes"}


def test_a_broken_chain_shows_as_0(store_repo):
    repo, backend, url = store_repo
    ok([BIN / "maf-lease", "acquire", "src/"], repo, ALICE)
    ok([BIN / "maf-lease", "release", "src/"], repo, ALICE)
    assert value(samples(ok([BIN / "maf", "metrics"], repo).stdout), "maf_audit_chain_valid") == 1
    if backend == "sqlite":
        conn = sqlite3.connect(repo / ".git" / "maf" / "runtime.db", isolation_level=None)
        conn.execute("UPDATE events SET agent_id = 'mallory' WHERE id = 1")
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE events SET agent_id = 'mallory' WHERE repository = 'example.com/metrics' AND id = 1")
    assert value(samples(ok([BIN / "maf", "metrics"], repo).stdout), "maf_audit_chain_valid") == 0


def test_a_repository_without_a_store_shows_zeros_and_creates_nothing(repo):
    found = samples(ok([BIN / "maf", "metrics"], repo).stdout)
    assert not [name for name, _ in found if name == "maf_leases_active"]
    assert value(found, "maf_audit_chain_valid") == 1 and value(found, "maf_database_size_bytes") == 0
    assert not (repo / ".git" / "maf").exists()


def test_textfile_is_written_whole_and_replaced_atomically(repo, tmp_path):
    directory = tmp_path / "textfile"
    directory.mkdir()
    ok([BIN / "maf-lease", "acquire", "src/"], repo, ALICE)
    done = ok([BIN / "maf", "metrics", "--textfile", directory, "--json"], repo)
    path = directory / "maf.prom"
    assert json.loads(done.stdout) == {"schema": "maf.metrics.textfile/1", "textfile": str(path)}
    assert value(samples(path.read_text()), "maf_leases_active", agent="alice", mode="exclusive") == 1
    assert os.listdir(directory) == ["maf.prom"]  # no temporary file is left for node_exporter
    # a reader never sees half a file while writers replace it again and again
    writers = [subprocess.Popen(["sh", "-c", f'for i in 1 2 3 4 5; do "{BIN / "maf"}" metrics --textfile "{directory}" '
                                 "|| exit 1; done"], cwd=repo, stdout=subprocess.DEVNULL) for _ in range(2)]
    reads = 0
    while any(writer.poll() is None for writer in writers):
        found = samples(path.read_text())
        assert value(found, "maf_hook_duration_seconds_sum", hook="session_end") == 0  # the last family: all there
        reads += 1
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0] and reads > 0
    assert os.listdir(directory) == ["maf.prom"]


def test_textfile_refuses_what_is_not_a_directory_and_keeps_the_last_file_when_the_store_fails(repo, tmp_path):
    directory = tmp_path / "textfile"
    missing = run([BIN / "maf", "metrics", "--textfile", directory], repo)
    assert missing.returncode == 2 and "not a directory" in missing.stderr and "Traceback" not in missing.stderr
    assert not directory.exists()
    directory.mkdir()
    ok([BIN / "maf-lease", "acquire", "src/"], repo, ALICE)
    ok([BIN / "maf", "metrics", "--textfile", directory], repo)
    before = (directory / "maf.prom").read_bytes()
    (repo / "maf.toml").write_text('[storage]\nurl = "postgresql://maf@127.0.0.1:9/maf"\nrepository = "x/y"\n'
                                   "connect_timeout_seconds = 1\n")  # a server nobody listens for
    unreachable = run([BIN / "maf", "metrics", "--textfile", directory], repo)
    assert unreachable.returncode == 3 and "Traceback" not in unreachable.stderr
    assert (directory / "maf.prom").read_bytes() == before and os.listdir(directory) == ["maf.prom"]
