"""Clock sanity: a lease taken with a clock ten years ahead blocks an honest clock for at most its
length, is flagged by `maf-lease list` and preflight's `reservations` check, and is recorded with a
`clock_skew` event; a renew with a clock behind the lease's last change is refused (exit 3)."""

from __future__ import annotations

import json
import sqlite3

from conftest import commit_file

from maf_hooks.cli.lease import lease_group
from maf_hooks.cli.preflight import preflight_command
from maf_hooks.context import Context
from maf_hooks.core import leases as rules
from maf_hooks.store.sqlite import open_file
from maf_hooks.timeutil import now_ms

MINUTE = 60_000
TEN_YEARS = 10 * 365 * 24 * 60 * MINUTE


def ahead() -> int:
    return now_ms() + TEN_YEARS


def db_path(repo) -> str:
    return Context(cwd=str(repo)).db_path


def lease_from_the_future(repo, agent="alice", pattern="src/", ttl_ms=30 * MINUTE):
    """A lease written through the store API by a process whose clock is ten years ahead."""
    store = open_file(db_path(repo), ahead)
    try:
        result = rules.acquire(store, agent, [pattern], ttl_ms)
        assert result.granted
        return result.granted[0]
    finally:
        store.close()


def lease_cli(cli, repo, *args):
    return cli(repo, *args, command=lease_group, prog="maf-lease")


def events(repo, kind):
    conn = sqlite3.connect(db_path(repo))
    try:
        rows = conn.execute("SELECT task_id, ts, data_json FROM events WHERE kind = ? ORDER BY id", (kind,)).fetchall()
    finally:
        conn.close()
    return [(task, ts, json.loads(data)) for task, ts, data in rows]


def test_a_lease_from_ten_years_ahead_blocks_an_honest_clock_for_at_most_its_length(repo, cli):
    held = lease_from_the_future(repo)
    listed = lease_cli(cli, repo, "list", "--json")
    assert listed.code == 0, listed.err
    [entry] = listed.json["leases"]
    assert entry["id"] == held.id and entry["clock_skew"] is True
    text = lease_cli(cli, repo, "list")
    assert "(clock skew)" in text.out

    before = now_ms()
    refused = lease_cli(cli, repo, "acquire", "src/a.py", "--agent", "bob", "--json")
    after = now_ms()
    assert refused.code == 1  # still held: for its length, not for ten years
    [(task, ts, data)] = events(repo, "clock_skew")
    assert task == held.id and before <= ts <= after
    assert data["created_at"] == held.created_at and data["expires_at_before"] == held.expires_at
    assert data["seen_at"] == ts and data["expires_at"] == ts + 30 * MINUTE

    [entry] = lease_cli(cli, repo, "list", "--json").json["leases"]
    assert entry["expires_at_ms"] == ts + 30 * MINUTE and entry["clock_skew"] is True  # still created ahead
    lease_cli(cli, repo, "list")
    assert len(events(repo, "clock_skew")) == 1  # recorded once

    # an honest clock 31 minutes later: the lease is over and bob gets the path
    store = open_file(db_path(repo), lambda: now_ms() + 31 * MINUTE)
    try:
        assert rules.acquire(store, "bob", ["src/a.py"], MINUTE).granted
    finally:
        store.close()


def test_the_bound_is_never_more_than_the_longest_lease(repo, cli):
    (repo / "maf.toml").write_text("[reservation]\nmax_timeout_minutes = 10\ndefault_timeout_minutes = 5\n")
    store = open_file(db_path(repo), ahead)
    try:
        with store.write() as now:  # a row as an old client could write it: a year long
            rules.insert_lease(store, "alice", "src/", "exclusive", "", now, now + TEN_YEARS // 10)
    finally:
        store.close()
    before = now_ms()
    assert lease_cli(cli, repo, "acquire", "lib/", "--agent", "bob").code == 0
    [entry] = [e for e in lease_cli(cli, repo, "list", "--json").json["leases"] if e["agent"] == "alice"]
    assert before + 10 * MINUTE <= entry["expires_at_ms"] <= now_ms() + 10 * MINUTE


def test_preflight_warns_about_a_clock_skew_lease(repo, cli):
    commit_file(repo, "src/app.py", "v1\n")
    held = lease_from_the_future(repo)
    result = cli(repo, "--only", "reservations", "--json", env={"MAF_AGENT_ID": "bob"},
                 command=preflight_command, prog="maf-preflight")
    check = json.loads(result.out)["checks"][0]
    assert check["status"] == "warning", check
    [flagged] = check["details"]["clock_skew"]
    assert flagged["lease_id"] == held.id and flagged["holder"] == "alice"
    assert any("clock skew" in finding and held.id in finding for finding in check["details"]["findings"]), check


def test_a_renew_with_the_clock_behind_is_refused_with_exit_3(repo, cli):
    held = lease_from_the_future(repo)
    result = lease_cli(cli, repo, "renew", "src/", "--agent", "alice")
    assert result.code == 3, result.out + result.err
    assert "clock skew" in result.err and held.id in result.err
    from maf_hooks.timeutil import iso

    assert iso(held.created_at)[:10] in result.err  # the lease's time, and this clock's
    assert iso(now_ms())[:10] in result.err
    assert "Traceback" not in result.err
    assert events(repo, "renew") == []
    # the bound was recorded all the same, and the lease can still be given back
    assert len(events(repo, "clock_skew")) == 1
    assert lease_cli(cli, repo, "release", "src/", "--agent", "alice").code == 0


def test_an_honest_renew_is_not_refused(repo, cli):
    assert lease_cli(cli, repo, "acquire", "src/", "--agent", "alice").code == 0
    renewed = lease_cli(cli, repo, "renew", "src/", "--agent", "alice", "--json")
    assert renewed.code == 0, renewed.err
    assert events(repo, "clock_skew") == []
    assert lease_cli(cli, repo, "list", "--json").json["leases"][0]["clock_skew"] is False
