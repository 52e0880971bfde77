"""`maf lease` / `maf-lease` end to end, in real repositories with real database files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from conftest import db_snapshot, git

from maf_hooks.cli.lease import lease_group

ACTIVE_QUERY = (
    "SELECT t.id, l.agent_id, l.lease_expires_at FROM tasks t JOIN leases l ON t.id = l.task_id "
    "WHERE t.state = 'LEASED' AND l.lease_expires_at > ?"
)


def db_file(repo):
    return repo / ".git" / "maf" / "runtime.db"


def active_rows(repo, now_ms=None):
    import time

    conn = sqlite3.connect(db_file(repo))
    try:
        return conn.execute(ACTIVE_QUERY, (now_ms or int(time.time() * 1000),)).fetchall()
    finally:
        conn.close()


def test_acquire_grants_and_lists(repo, cli):
    result = cli(repo, "lease", "acquire", "src/", "--agent", "alice", "--reason", "refactor", "--json")
    assert result.code == 0, result.err
    granted = result.json["granted"]
    assert [g["pattern"] for g in granted] == ["src/"]
    lease = granted[0]
    assert lease["agent"] == "alice" and lease["mode"] == "exclusive" and lease["reason"] == "refactor"
    assert lease["created_at"].endswith("Z") and lease["expires_at"].endswith("Z")
    assert result.json["conflicts"] == []
    listing = cli(repo, "lease", "list", "--json").json["leases"]
    assert [(lease["id"], lease["agent"], lease["pattern"]) for lease in listing] == [(lease["id"], "alice", "src/")]
    # the operators' documented query lists exactly this lease
    assert [(r[0], r[1]) for r in active_rows(repo)] == [(lease["id"], "alice")]


def test_acquire_conflict_exit_1_names_holder(repo, cli):
    assert cli(repo, "lease", "acquire", "src/*.py", "--agent", "alice", "--reason", "api work").code == 0
    result = cli(repo, "lease", "acquire", "src/a*", "--agent", "bob")
    assert result.code == 1
    assert "alice" in result.err and "'src/*.py'" in result.err and "api work" in result.err
    assert "Z (in " in result.err  # absolute and relative expiry
    as_json = cli(repo, "lease", "acquire", "src/a*", "--agent", "bob", "--json")
    assert as_json.code == 1
    assert as_json.json["granted"] == []
    conflict = as_json.json["conflicts"][0]
    assert conflict["pattern"] == "src/a*" and conflict["lease"]["agent"] == "alice"


def test_acquire_all_or_nothing(repo, cli):
    assert cli(repo, "lease", "acquire", "docs/", "--agent", "alice").code == 0
    result = cli(repo, "lease", "acquire", "src/", "docs/x.md", "--agent", "bob", "--json")
    assert result.code == 1
    assert [lease["agent"] for lease in cli(repo, "lease", "list", "--json").json["leases"]] == ["alice"]


def test_acquire_shared_semantics(repo, cli):
    assert cli(repo, "lease", "acquire", "lib/", "--shared", "--agent", "alice").code == 0
    assert cli(repo, "lease", "acquire", "lib/", "--shared", "--agent", "bob").code == 0
    assert cli(repo, "lease", "acquire", "lib/x.py", "--agent", "carol").code == 1  # exclusive vs shared
    assert cli(repo, "lease", "acquire", "app/", "--agent", "carol").code == 0
    assert cli(repo, "lease", "acquire", "app/x", "--shared", "--agent", "dave").code == 1  # shared vs exclusive


def test_acquire_again_renews_never_shortens(repo, cli):
    first = cli(repo, "lease", "acquire", "a.txt", "--agent", "alice", "--ttl", "2h", "--json").json["granted"][0]
    again = cli(repo, "lease", "acquire", "a.txt", "--agent", "alice", "--ttl", "10m", "--json").json
    assert again["granted"][0]["id"] == first["id"]
    assert again["granted"][0]["expires_at"] == first["expires_at"]
    assert again["renewed"] == [first["id"]]
    assert len(cli(repo, "lease", "list", "--json").json["leases"]) == 1


def test_acquire_force_takes_over_and_records_both_agents(repo, cli):
    held = cli(repo, "lease", "acquire", "x/", "--agent", "alice", "--json").json["granted"][0]
    result = cli(repo, "lease", "acquire", "x/y", "--agent", "bob", "--force", "--json")
    assert result.code == 0
    assert result.json["taken_over"][0]["id"] == held["id"]
    leases = cli(repo, "lease", "list", "--json").json["leases"]
    assert [(lease["agent"], lease["pattern"]) for lease in leases] == [("bob", "x/y")]
    conn = sqlite3.connect(db_file(repo))
    kind, data, agent = conn.execute(
        "SELECT kind, data_json, agent_id FROM events WHERE task_id = ? ORDER BY id DESC LIMIT 1", (held["id"],)
    ).fetchone()
    assert kind == "takeover" and agent == "bob" and '"holder": "alice"' in data
    assert conn.execute("SELECT state FROM tasks WHERE id = ?", (held["id"],)).fetchone()[0] == "DEAD"


def test_acquire_warn_strategy_grants_with_conflicts(repo, cli):
    assert cli(repo, "lease", "acquire", "a/", "--agent", "alice").code == 0
    result = cli(repo, "lease", "acquire", "a/b", "--agent", "bob", "--json",
                 env={"MAF_RESERVATION_CONFLICT_STRATEGY": "warn"})
    assert result.code == 0
    assert result.json["granted"][0]["pattern"] == "a/b"
    assert result.json["conflicts"][0]["lease"]["agent"] == "alice"


def test_expired_lease_never_conflicts_and_leaves_active_set(repo, cli):
    lease = cli(repo, "lease", "acquire", "a.txt", "--agent", "alice", "--ttl", "60s", "--json").json["granted"][0]
    future = lease["expires_at_ms"] + 1
    assert active_rows(repo, future) == []
    conn = sqlite3.connect(db_file(repo))
    conn.execute("UPDATE leases SET lease_expires_at = lease_expires_at - 61000")
    conn.commit()
    conn.close()
    assert cli(repo, "lease", "acquire", "a.txt", "--agent", "bob").code == 0
    conn = sqlite3.connect(db_file(repo))
    kinds = [r[0] for r in conn.execute("SELECT kind FROM events WHERE task_id = ? ORDER BY id", (lease["id"],))]
    assert kinds == ["acquire", "expire"]


def test_renew_extends_to_now_plus_ttl(repo, cli):
    lease = cli(repo, "lease", "acquire", "a.txt", "--agent", "alice", "--ttl", "5m", "--json").json["granted"][0]
    renewed = cli(repo, "lease", "renew", "a.txt", "--agent", "alice", "--ttl", "1h", "--json")
    assert renewed.code == 0
    assert renewed.json["renewed"][0]["expires_at_ms"] > lease["expires_at_ms"] + 50 * 60_000
    assert cli(repo, "lease", "renew", "--all", "--agent", "alice").code == 0
    nothing = cli(repo, "lease", "renew", "b.txt", "--agent", "alice")
    assert nothing.code == 1 and "Nothing to renew" in nothing.err


def test_release_own_other_and_nothing(repo, cli):
    a = cli(repo, "lease", "acquire", "a.txt", "--agent", "alice", "--json").json["granted"][0]
    cli(repo, "lease", "acquire", "b.txt", "--agent", "alice")
    refused = cli(repo, "lease", "release", "a.txt", "--agent", "bob")
    assert refused.code == 1 and "--force" in refused.err and "alice" in refused.err
    assert cli(repo, "lease", "release", "--id", a["id"], "--agent", "alice").code == 0
    nothing = cli(repo, "lease", "release", "a.txt", "--agent", "alice")
    assert nothing.code == 1 and "Nothing released" in nothing.err
    forced = cli(repo, "lease", "release", "b.txt", "--agent", "bob", "--force", "--json")
    assert forced.code == 0 and forced.json["released"][0]["status"] == "taken_over"
    assert cli(repo, "lease", "list", "--json").json["leases"] == []
    history = cli(repo, "lease", "list", "--all", "--json").json["leases"]
    assert sorted(lease["status"] for lease in history) == ["released", "taken_over"]


def test_release_all(repo, cli):
    for pattern in ("a", "b", "c"):
        cli(repo, "lease", "acquire", pattern, "--agent", "alice")
    cli(repo, "lease", "acquire", "d", "--agent", "bob")
    result = cli(repo, "lease", "release", "--all", "--agent", "alice", "--json")
    assert len(result.json["released"]) == 3
    assert [lease["agent"] for lease in cli(repo, "lease", "list", "--json").json["leases"]] == ["bob"]


def test_list_filters_and_table(repo, cli):
    cli(repo, "lease", "acquire", "a", "--agent", "alice", "--reason", "why not")
    cli(repo, "lease", "acquire", "b", "--agent", "bob")
    assert [lease["pattern"] for lease in cli(repo, "lease", "list", "--agent", "bob", "--json").json["leases"]] == ["b"]
    mine = cli(repo, "lease", "list", "--mine", "--json", env={"MAF_AGENT_ID": "alice"})
    assert [lease["pattern"] for lease in mine.json["leases"]] == ["a"]
    text = cli(repo, "lease", "list").out
    assert text.splitlines()[0].split() == ["ID", "AGENT", "MODE", "PATTERN", "EXPIRES", "REASON"]
    assert "why not" in text and "in 29m" in text


def test_check_reports_covering_leases(repo, cli):
    cli(repo, "lease", "acquire", "src/", "--agent", "alice")
    cli(repo, "lease", "acquire", "docs/*.md", "--shared", "--agent", "bob")
    blocked = cli(repo, "lease", "check", "src/a/b.py", "README.md", "--agent", "carol", "--json")
    assert blocked.code == 1
    paths = {p["path"]: p for p in blocked.json["paths"]}
    assert paths["src/a/b.py"]["blocked"] and paths["src/a/b.py"]["leases"][0]["agent"] == "alice"
    assert paths["README.md"]["leases"] == []
    assert cli(repo, "lease", "check", "docs/x.md", "--agent", "carol").code == 0  # shared: not blocking
    assert cli(repo, "lease", "check", "src/x", "--agent", "alice").code == 0  # own lease
    absolute = cli(repo, "lease", "check", str(repo / "src" / "x"), "--agent", "carol")
    assert absolute.code == 1 and "src/x: BLOCKED" in absolute.out


def test_heartbeat_and_agents(repo, cli):
    cli(repo, "lease", "acquire", "a", "--agent", "alice")
    assert cli(repo, "lease", "heartbeat", "--agent", "bob", "--status", "reviewing").code == 0
    agents = {a["agent"]: a for a in cli(repo, "lease", "agents", "--json").json["agents"]}
    assert agents["alice"]["active_leases"] == 1 and agents["alice"]["last_heartbeat"] is None
    assert agents["bob"]["status"] == "reviewing" and agents["bob"]["last_heartbeat"].endswith("Z")


def test_maf_lease_script_is_the_same_group(repo, cli):
    result = cli(repo, "acquire", "z", "--agent", "alice", "--json", command=lease_group, prog="maf-lease")
    assert result.code == 0 and result.json["granted"][0]["pattern"] == "z"


def test_console_scripts_run(repo):
    proc = subprocess.run(["maf-lease", "acquire", "q", "--agent", "alice"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(["maf-lease", "acquire", "q", "--agent", "bob"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    proc = subprocess.run(["maf", "lease", "list"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0 and "alice" in proc.stdout


# --- bad input: exit 2, a clear message, and the database unchanged ------------------------

BAD_ACQUIRES = [
    (["../x"], "outside the repository"),
    (["/etc/passwd"], "outside the repository"),
    ([""], "mpty"),
    (["a\nb"], "newline"),
    (["x" * 4097], "4096"),
    (["a", "--ttl", "3h"], "above the maximum"),
    (["a", "--timeout", "121"], "above the maximum"),
    (["a", "--ttl", "soon"], "Invalid --ttl"),
    (["a", "--ttl", "5m", "--timeout", "5"], "not both"),
    (["a", "--agent", "-bad"], "Invalid --agent"),
    (["a", "--agent", "a/b"], "Invalid --agent"),
    (["a", "--agent", "x" * 129], "Invalid --agent"),
]


@pytest.mark.parametrize("args, message", BAD_ACQUIRES)
def test_acquire_bad_input_exit_2_database_unchanged(repo, cli, args, message):
    cli(repo, "lease", "acquire", "keep", "--agent", "alice")
    before = db_snapshot(db_file(repo))
    argv = ["lease", "acquire", *args]
    if "--agent" not in args:
        argv += ["--agent", "bob"]
    result = cli(repo, *argv)
    assert result.code == 2, result.err
    assert message.lower() in result.err.lower()
    assert "Traceback" not in result.err
    assert db_snapshot(db_file(repo)) == before


def test_agent_from_env_git_config_and_email(repo, cli):
    assert cli(repo, "lease", "acquire", "e1", "--json", env={"MAF_AGENT_ID": "env-agent"}).json["granted"][0]["agent"] == "env-agent"
    git("config", "maf.agentId", "cfg-agent", cwd=repo)
    assert cli(repo, "lease", "acquire", "e2", "--json").json["granted"][0]["agent"] == "cfg-agent"
    git("config", "--unset", "maf.agentId", cwd=repo)
    assert cli(repo, "lease", "acquire", "e3", "--json").json["granted"][0]["agent"] == "dev@example.com"
    bad = cli(repo, "lease", "acquire", "e4", env={"MAF_AGENT_ID": ".hidden"})
    assert bad.code == 2 and "MAF_AGENT_ID" in bad.err


def test_no_identity_exit_2_says_how(tmp_path, cli):
    from conftest import make_repo

    bare = make_repo(tmp_path / "r", email=None)
    result = cli(bare, "lease", "acquire", "x")
    assert result.code == 2
    assert "MAF_AGENT_ID" in result.err and "--agent" in result.err and "maf.agentId" in result.err


def test_usage_errors_exit_2(repo, cli):
    assert cli(repo, "lease", "release", "--agent", "a").code == 2
    assert cli(repo, "lease", "renew", "--agent", "a").code == 2
    assert cli(repo, "lease", "list", "--mine", "--agent", "x").code == 2
    assert cli(repo, "lease", "acquire").code == 2
    assert cli(repo, "lease", "bogus").code == 2


def test_not_a_repository_exit_3(tmp_path, cli):
    result = cli(tmp_path, "lease", "acquire", "x", "--agent", "a")
    assert result.code == 3 and "Not inside a git repository" in result.err


def test_acquire_glob_without_literal_prefix_sees_nested_leases(repo, cli):
    # '**/x.py' covers 'src/a/x.py', and 'src/a' (directory-capable: no extension) covers what lies beneath
    assert cli(repo, "lease", "acquire", "src/a", "--agent", "alice").code == 0
    assert cli(repo, "lease", "acquire", "**/x.py", "--agent", "bob").code == 1
    # 'src/b.py' names a file: nothing lies beneath it, so '**/y.py' does not overlap it
    assert cli(repo, "lease", "release", "src/a", "--agent", "alice").code == 0
    assert cli(repo, "lease", "acquire", "src/b.py", "--agent", "alice").code == 0
    assert cli(repo, "lease", "acquire", "**/y.py", "--agent", "bob").code == 0
    assert cli(repo, "lease", "acquire", "*.md", "--agent", "bob").code == 0
    assert cli(repo, "lease", "acquire", "README.md", "--agent", "carol").code == 1


def test_acquire_existing_directory_with_a_dot_covers_beneath(repo, cli):
    (repo / "conf.d").mkdir()
    granted = cli(repo, "lease", "acquire", "conf.d", "--agent", "alice", "--json").json["granted"][0]
    assert granted["pattern"] == "conf.d/"
    assert cli(repo, "lease", "acquire", "conf.d/x.conf", "--agent", "bob").code == 1
    assert cli(repo, "lease", "release", "conf.d", "--agent", "alice").code == 0


def test_release_own_shared_lease_beside_another_holder(repo, cli):
    cli(repo, "lease", "acquire", "hot/f.py", "--shared", "--agent", "alice")
    cli(repo, "lease", "acquire", "hot/f.py", "--shared", "--agent", "bob")
    released = cli(repo, "lease", "release", "hot/f.py", "--agent", "alice", "--json")
    assert released.code == 0 and [lease["agent"] for lease in released.json["released"]] == ["alice"]
    assert [lease["agent"] for lease in cli(repo, "lease", "list", "--json").json["leases"]] == ["bob"]


def test_release_by_pattern_of_another_agent_needs_force(repo, cli):
    cli(repo, "lease", "acquire", "x.txt", "--agent", "alice")
    refused = cli(repo, "lease", "release", "x.txt", "--agent", "bob")
    assert refused.code == 1 and "held by alice" in refused.err and "--force" in refused.err
    forced = cli(repo, "lease", "release", "x.txt", "--agent", "bob", "--force", "--json")
    assert forced.code == 0 and forced.json["released"][0]["status"] == "taken_over"


def test_expiry_follows_direct_sql_updates(repo, cli):
    lease = cli(repo, "lease", "acquire", "y.txt", "--agent", "alice", "--json").json["granted"][0]
    conn = sqlite3.connect(db_file(repo))
    conn.execute("UPDATE leases SET lease_expires_at = 1 WHERE task_id = ?", (lease["id"],))
    conn.commit()
    assert conn.execute("SELECT expires_at FROM file_leases WHERE task_id = ?", (lease["id"],)).fetchone() == (1,)
    conn.close()
    assert cli(repo, "lease", "acquire", "z.txt", "--agent", "bob").code == 0  # sweeps the expired lease
    history = {lease["id"]: lease["status"] for lease in cli(repo, "lease", "list", "--all", "--json").json["leases"]}
    assert history[lease["id"]] == "expired"


def test_heartbeat_without_status_keeps_it(repo, cli):
    cli(repo, "lease", "heartbeat", "--agent", "bob", "--status", "reviewing")
    assert cli(repo, "lease", "heartbeat", "--agent", "bob").code == 0
    agents = {a["agent"]: a for a in cli(repo, "lease", "agents", "--json").json["agents"]}
    assert agents["bob"]["status"] == "reviewing"


def test_acquire_pattern_not_utf8_exit_2(repo, cli):
    import os as _os

    result = cli(repo, "lease", "acquire", _os.fsdecode(b"bad\xff.txt"), "--agent", "alice")
    assert result.code == 2 and "not valid UTF-8" in result.err


def test_release_and_renew_after_the_directory_is_gone(repo, cli):
    (repo / "mod").mkdir()
    assert cli(repo, "lease", "acquire", "mod", "--agent", "alice", "--json").json["granted"][0]["pattern"] == "mod/"
    (repo / "mod").rmdir()
    assert cli(repo, "lease", "renew", "mod", "--agent", "alice").code == 0
    released = cli(repo, "lease", "release", "mod", "--agent", "alice", "--json")
    assert released.code == 0 and [lease["pattern"] for lease in released.json["released"]] == ["mod/"]


def test_check_a_directory_reports_leases_inside_it(repo, cli):
    (repo / "pkg" / "sub").mkdir(parents=True)
    cli(repo, "lease", "acquire", "pkg/sub/*.py", "--agent", "alice")
    result = cli(repo, "lease", "check", "pkg", "--agent", "bob", "--json")
    assert result.code == 1 and result.json["paths"][0]["leases"][0]["pattern"] == "pkg/sub/*.py"
    assert cli(repo, "lease", "check", "pkg", "--agent", "alice").code == 0
    assert cli(repo, "lease", "check", "pkg/other.txt", "--agent", "bob").code == 0  # not a directory


def test_text_that_is_no_utf8_is_a_usage_error(repo, cli):
    reason = os.fsdecode(b"why \xff")
    result = cli(repo, "lease", "acquire", "a.txt", "--agent", "alice", "--reason", reason)
    assert result.code == 2 and "not valid UTF-8" in result.err and "internal error" not in result.err
    assert cli(repo, "lease", "list", "--json").json["leases"] == []  # nothing half-written


def test_check_takes_any_file_name_git_can_hold(repo, cli):
    """A PATH is a path: bytes that are no UTF-8 and a length beyond the patterns' limit are
    checked, as the hook checks them, and shown escaped."""
    assert cli(repo, "lease", "acquire", "bad*", "deep/**", "--agent", "alice").code == 0
    name = os.fsdecode(b"bad\xff.txt")
    checked = cli(repo, "lease", "check", name, "--agent", "bob", "--json")
    assert checked.code == 1 and checked.json["paths"][0]["path"] == "bad\\xff.txt"
    assert [lease["pattern"] for lease in checked.json["paths"][0]["leases"]] == ["bad*"]
    text = cli(repo, "lease", "check", name, "--agent", "bob")
    assert text.code == 1 and "bad\\xff.txt: BLOCKED" in text.out
    long_path = "deep/" + "abcdefghi/" * 500 + "f"
    assert cli(repo, "lease", "check", long_path, "--agent", "bob").code == 1
    assert cli(repo, "lease", "check", "free/" + "x" * 5000, "--agent", "bob").code == 0


# --- others' text is shown escaped; free text is one plain line --------------------------------

ESC = "\x1b[2J\x1b]0;pwned\x07"
ESC_SHOWN = "\\x1b[2J\\x1b]0;pwned\\x07"
PESC = "\x1bc\x1b]0;pwned\x07"  # in a pattern or file name: no '[' (a glob's bracket)
PESC_SHOWN = "\\x1bc\\x1b]0;pwned\\x07"


def store_lease(repo, agent, pattern, reason):
    """A lease written through the store API, as an old row (or another tool) may hold it: the
    CLI itself refuses such a reason now."""
    from maf_hooks.core import leases
    from maf_hooks.store.sqlite import open_file
    from maf_hooks.timeutil import now_ms

    db_file(repo).parent.mkdir(parents=True, exist_ok=True)
    store = open_file(str(db_file(repo)), now_ms)
    try:
        result = leases.acquire(store, agent, [pattern], 30 * 60_000, reason=reason)
        assert result.granted
        store.leases.heartbeat(agent, f"busy {ESC}", store.now())
    finally:
        store.close()


def test_others_text_is_shown_escaped_and_kept_exact_in_json(repo, cli):
    pattern = f"src/{PESC}*"
    store_lease(repo, "alice", pattern, f"refactor {ESC}")
    outputs = {
        "list": cli(repo, "lease", "list"),
        "list --all": cli(repo, "lease", "list", "--all"),
        "agents": cli(repo, "lease", "agents"),
        "check": cli(repo, "lease", "check", f"src/{PESC}x", "--agent", "bob"),
        "acquire": cli(repo, "lease", "acquire", "src/", "--agent", "bob"),
    }
    assert outputs["check"].code == 1 and outputs["acquire"].code == 1
    for name, result in outputs.items():
        text = result.out + result.err
        assert "\x1b" not in text and "\x07" not in text, name
        assert ESC_SHOWN in text or PESC_SHOWN in text, name
    assert f"refactor {ESC_SHOWN}" in outputs["list"].out and f"src/{PESC_SHOWN}*" in outputs["list"].out
    assert f"busy {ESC_SHOWN}" in outputs["agents"].out
    assert f"src/{PESC_SHOWN}x: BLOCKED — alice holds 'src/{PESC_SHOWN}*'" in outputs["check"].out
    assert f"refactor {ESC_SHOWN}" in outputs["check"].out and f"refactor {ESC_SHOWN}" in outputs["acquire"].err
    assert f"conflict: 'src/' overlaps — alice holds 'src/{PESC_SHOWN}*'" in outputs["acquire"].err
    (row,) = cli(repo, "lease", "list", "--json").json["leases"]
    assert row["reason"] == f"refactor {ESC}" and row["pattern"] == pattern
    checked = cli(repo, "lease", "check", f"src/{PESC}x", "--agent", "bob", "--json").json
    assert checked["paths"][0]["path"] == f"src/{PESC}x" and checked["paths"][0]["leases"][0]["reason"] == f"refactor {ESC}"
    conflict = cli(repo, "lease", "acquire", "src/", "--agent", "bob", "--json").json
    assert conflict["conflicts"][0]["lease"]["reason"] == f"refactor {ESC}"
    assert conflict["conflicts"][0]["lease"]["pattern"] == pattern
    assert cli(repo, "lease", "agents", "--json").json["agents"][0]["status"] == f"busy {ESC}"


@pytest.mark.parametrize("reason", ["a\rb", "a\nb", f"x {ESC}", "x\u202ey", "x\x85y", "r" * 1001])
def test_reason_with_control_characters_or_too_long_is_a_usage_error(repo, cli, reason):
    result = cli(repo, "lease", "acquire", "a.txt", "--agent", "alice", "--reason", reason)
    assert result.code == 2 and "--reason" in result.err and "internal error" not in result.err
    assert "\x1b" not in result.err and "\r" not in result.err
    assert cli(repo, "lease", "list", "--json").json["leases"] == []
    status = cli(repo, "lease", "heartbeat", "--agent", "alice", "--status", reason)
    assert status.code == 2 and "--status" in status.err


def test_reason_with_a_tab_or_of_1000_characters_is_accepted(repo, cli):
    assert cli(repo, "lease", "acquire", "a.txt", "--agent", "alice", "--reason", "a\tb").code == 0
    assert cli(repo, "lease", "acquire", "b.txt", "--agent", "alice", "--reason", "r" * 1000).code == 0
    assert cli(repo, "lease", "heartbeat", "--agent", "alice", "--status", "s" * 1000).code == 0
    reasons = sorted(row["reason"] for row in cli(repo, "lease", "list", "--json").json["leases"])
    assert reasons == ["a\tb", "r" * 1000]
    assert "a\\tb" in cli(repo, "lease", "list").out


# --- listings stream: the same documents and tables, filters applied in the query ------------


def _store(repo):
    from maf_hooks.store.sqlite import open_file
    from maf_hooks.timeutil import now_ms

    return open_file(str(db_file(repo)), now_ms)


def _fill(repo, count, *, agents=20, ttl_ms=20 * 60_000):
    """``count`` active leases, inserted in one write section (the rules' acquire is not what is measured)."""
    from maf_hooks.core.model import Lease

    store = _store(repo)
    try:
        with store.write() as now:
            for i in range(count):
                pattern = f"src/d{i // 100}/f{i}.py" if i % 10 else f"src/d{i // 100}/*.txt"
                store.leases.insert(Lease(f"lease-{i:012x}", f"agent{i % agents}", pattern, "exclusive",
                                          f"reason {i} \u00e9 \"q\"", now + i % 7, now + ttl_ms,
                                          prefix=pattern.rsplit("/", 1)[0] + "/"), {"kind": "file_lease"})
    finally:
        store.close()


EMPTY_LIST = '{\n  "schema": "maf.lease.list/1",\n  "leases": []\n}\n'


def test_list_json_is_the_document_emit_json_writes(repo, cli):
    assert cli(repo, "lease", "list", "--json").out == EMPTY_LIST  # no database yet
    cli(repo, "lease", "acquire", "a", "--agent", "alice", "--reason", 'tab\there "quoted" \u00e9')
    cli(repo, "lease", "acquire", "b/**", "--agent", "bob")
    cli(repo, "lease", "release", "a", "--agent", "alice")
    assert cli(repo, "lease", "list", "--json", "--agent", "alice").out == EMPTY_LIST
    for args in (["--json"], ["--all", "--json"]):
        out = cli(repo, "lease", "list", *args).out
        document = json.loads(out)
        assert out == json.dumps(document, indent=2) + "\n"  # what emit_json wrote before it streamed
    everything = json.loads(cli(repo, "lease", "list", "--all", "--json").out)["leases"]
    assert [(lease["pattern"], lease["status"]) for lease in everything] == [("a", "released"), ("b/**", "active")]
    assert set(everything[0]) == {"id", "agent", "pattern", "mode", "reason", "created_at", "expires_at",
                                  "expires_at_ms", "status", "ended_at", "auto_claim", "token", "clock_skew"}


def test_emit_json_list_writes_what_emit_json_writes(capsys):
    from maf_hooks.cli.output import emit_json, emit_json_list

    entries = [{}, {"a": 1, "b": None, "c": True, "d": 1.5, "e": "x\n\"\u00e9\u2028"}, {"nested": {"x": [1, {"y": []}]}},
               [], [1, "two"], "text", 3, None]
    for items in ([], entries[:1], entries[1:2], entries, entries * 3):
        for chunk in (1, 2, 256):
            emit_json({"key": items})
            expected = capsys.readouterr().out
            assert emit_json_list("key", iter(items), chunk=chunk) == len(items)
            assert capsys.readouterr().out == expected
        for head in ({"schema": "maf.x/1"}, {"schema": "maf.x/1", "n": 2, "none": None}):
            emit_json({**head, "key": items})
            expected = capsys.readouterr().out
            assert emit_json_list("key", iter(items), chunk=2, head=head) == len(items)
            assert capsys.readouterr().out == expected


def test_stream_table_is_table_for_one_page_and_widens_after(capsys):
    from maf_hooks.cli.output import stream_table, table

    rows = [["a", "x"], ["bbbb", None], ["cc", "\x1b[31m"], ["dddddd", "y"], ["e", "zz"]]
    table(["H1", "H2"], rows)
    expected = capsys.readouterr().out
    assert stream_table(["H1", "H2"], iter(rows)) == 5 and capsys.readouterr().out == expected
    assert stream_table(["H1", "H2"], iter(rows), page=2) == 5
    lines = capsys.readouterr().out.splitlines()
    # the first page aligned with the headers (H1 as wide as 'bbbb'), later pages never narrower
    assert lines[:3] == ["H1    H2", "a     x", "bbbb"]
    assert lines[3:] == [r"cc      \x1b[31m", "dddddd  y", "e       zz"]
    assert stream_table(["H1"], iter([])) == 0 and capsys.readouterr().out == ""


def test_list_filters_pattern_limit_agent_in_the_query(repo, cli):
    (repo / "src").mkdir()
    for agent, pattern in (("alice", "src/"), ("bob", "docs/*.md"), ("alice", "docs/a.md"), ("bob", "lib/x.py"),
                           ("carol", "docs/guide/**")):
        assert cli(repo, "lease", "acquire", pattern, "--agent", agent).code in (0, 1)

    def listed(*args, cwd=repo):
        result = cli(cwd, "lease", "list", *args, "--json")
        assert result.code == 0, result.err
        return [lease["pattern"] for lease in result.json["leases"]]

    everything = listed()
    assert everything == ["src/", "docs/*.md", "lib/x.py", "docs/guide/**"]  # docs/a.md overlapped docs/*.md
    assert listed("--pattern", "src") == ["src/"]  # a literal names a lease in either spelling
    assert listed("--pattern", "docs/*") == ["docs/*.md"]  # '*' stays within a directory
    assert listed("--pattern", "docs/**") == ["docs/*.md", "docs/guide/**"]
    assert listed("--pattern", "*.md", cwd=repo / "src") == []  # relative to the current directory: src/*.md
    assert listed("--pattern", ":/docs/**", "--agent", "carol") == ["docs/guide/**"]
    assert listed("--limit", "2") == everything[:2]
    assert listed("--limit", "1", "--pattern", "**/*.py") == ["lib/x.py"]
    assert listed("--limit", "1", "--all", "--agent", "alice", "--pattern", "**") == ["src/"]
    text = cli(repo, "lease", "list", "--pattern", "docs/**", "--limit", "1").out.splitlines()
    assert len(text) == 2 and text[1].split()[3] == "docs/*.md"
    assert cli(repo, "lease", "list", "--pattern", "nothing/**").out == "No active leases.\n"
    for bad in (["--limit", "0"], ["--limit", "x"], ["--pattern", "a/[b"], ["--pattern", "../out"]):
        refused = cli(repo, "lease", "list", *bad)
        assert refused.code == 2 and "Traceback" not in refused.err and refused.out == "", bad


def test_conflicts_stream_with_agent_and_limit(repo, cli):
    assert cli(repo, "lease", "conflicts", "--json").out == '{\n  "schema": "maf.lease.conflicts/1",\n  "conflicts": []\n}\n'
    cli(repo, "lease", "acquire", "x", "--agent", "alice")
    store = _store(repo)
    try:
        with store.write() as now:
            for i in range(5):
                store.conflicts.add({"id": f"conflict-{i}", "agent": ["bob", "carol"][i % 2], "path": f"x/{i}",
                                     "severity": "high", "holder": "alice", "lease_id": "lease-1",
                                     "lease_expires_at": now + 60_000, "operation": "commit", "status": "blocked",
                                     "override_reason": None, "created_at": now - 5 + i})
    finally:
        store.close()
    result = cli(repo, "lease", "conflicts", "--json")
    assert result.out == json.dumps(result.json, indent=2) + "\n"
    assert [r["id"] for r in result.json["conflicts"]] == [f"conflict-{i}" for i in range(5)]
    carol = cli(repo, "lease", "conflicts", "--agent", "carol", "--limit", "1", "--json").json["conflicts"]
    assert [r["id"] for r in carol] == ["conflict-1"]
    lines = cli(repo, "lease", "conflicts", "--agent", "bob").out.splitlines()
    assert lines[0].split() == ["WHEN", "STATUS", "OPERATION", "AGENT", "PATH", "HOLDER", "LEASE"]
    assert [line.split()[-3] for line in lines[1:]] == ["x/0", "x/2", "x/4"]
    assert cli(repo, "lease", "conflicts", "--agent", "dave").out == "No conflicts recorded.\n"
    assert cli(repo, "lease", "conflicts", "--limit", "0").code == 2


# runs the command as its own child and prints its peak resident size: a child forked from the
# test process itself would count the test process's pages in its peak
PEAK_RSS = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    code = subprocess.run(sys.argv[2:], stdout=out).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _peak_rss_kib(cmd, cwd, out_path) -> tuple[int, int]:
    """Run ``cmd`` with stdout to ``out_path``; its exit status and peak resident size (KiB, Linux)."""
    done = subprocess.run([sys.executable, "-c", PEAK_RSS, str(out_path), *cmd], cwd=cwd, capture_output=True,
                          text=True, check=True)
    code, kib = done.stdout.split()
    return int(code), int(kib)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in KiB on Linux")
def test_list_streams_20000_leases_in_bounded_memory(repo, tmp_path):
    count = 20_000
    _fill(repo, count)
    out = tmp_path / "list.json"
    code, json_kib = _peak_rss_kib(["maf-lease", "list", "--json"], repo, out)
    assert code == 0
    leases = json.loads(out.read_text(encoding="utf-8"))["leases"]
    assert len(leases) == count and len({lease["id"] for lease in leases}) == count
    assert leases[0]["reason"] == 'reason 0 \u00e9 "q"' and [lease["created_at"] for lease in leases] == sorted(
        lease["created_at"] for lease in leases)
    code, text_kib = _peak_rss_kib(["maf-lease", "list"], repo, tmp_path / "list.txt")
    assert code == 0 and len((tmp_path / "list.txt").read_text(encoding="utf-8").splitlines()) == count + 1
    # the same process reading one lease, measured in the same run: the floor of the bound
    code, floor_kib = _peak_rss_kib(["maf-lease", "list", "--json", "--limit", "1"], repo, tmp_path / "one.json")
    assert code == 0 and len(json.loads((tmp_path / "one.json").read_text(encoding="utf-8"))["leases"]) == 1
    # built in memory, the document of 20,000 leases took about 80 MiB over that floor and the
    # table about 18 MiB; streamed, a page of 1,000 leases at a time, both stay within 1 or 2
    bound = floor_kib + 12 * 1024
    assert json_kib < bound and text_kib < bound, (floor_kib, json_kib, text_kib)
