"""`maf agent-hook`: the decision, the records, the mail, the override, failing closed, identity
across one agent session, and auto-claim; through the real command in real processes, against a
real repository and database (the clients' own protocols are tested in test_agent_clients_*)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest
from conftest import BIN, commit_file, git

MAF = str(BIN / "maf")
SESSION_A = "aaaaaaaa-1111-2222-3333-444444444444"
SESSION_B = "bbbbbbbb-5555-6666-7777-888888888888"
AGENT_A = "claude-aaaaaaaa"
AGENT_B = "claude-bbbbbbbb"


def claude(repo, event="PreToolUse", *, session=SESSION_A, tool="Edit", path="src/app.py", env=None, raw=None):
    """Run `maf agent-hook claude` as Claude Code would; (exit code, parsed stdout or None, stderr)."""
    document = {"session_id": session, "transcript_path": "transcript.jsonl", "cwd": str(repo),
                "permission_mode": "default", "hook_event_name": event}
    if event == "PreToolUse":
        target = path if os.path.isabs(path) else str(repo / path)
        document.update(tool_name=tool, tool_input={"file_path": target, "old_string": "a", "new_string": "b"},
                        tool_use_id="toolu_1")
    data = raw if raw is not None else json.dumps(document).encode()
    run_env = {key: value for key, value in os.environ.items() if not key.startswith("MAF_")}
    run_env.update(env or {})
    done = subprocess.run([MAF, "agent-hook", "claude"], input=data, capture_output=True, cwd=repo, env=run_env,
                          timeout=60)
    out = done.stdout.decode()
    return done.returncode, (json.loads(out) if out.strip() else None), done.stderr.decode()


def reason_of(reply) -> str:
    output = reply["hookSpecificOutput"]
    assert output["permissionDecision"] == "deny" and output["hookEventName"] == "PreToolUse"
    return output["permissionDecisionReason"]


def lease(repo, agent, *args):
    done = subprocess.run([str(BIN / "maf-lease"), "acquire", *args, "--json"], cwd=repo, capture_output=True,
                          text=True, env={**os.environ, "MAF_AGENT_ID": agent}, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def maf_json(repo, *args, agent="observer"):
    done = subprocess.run([MAF, *args, "--json"], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "MAF_AGENT_ID": agent}, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def conflicts(repo):
    return maf_json(repo, "lease", "conflicts")["conflicts"]


def leases(repo):
    return maf_json(repo, "lease", "list")["leases"]


def mails(repo, agent):
    box = repo / ".agent-mail" / agent / "new"
    return sorted(p.read_text() for p in box.iterdir()) if box.exists() else []


def configure(repo, text):
    (repo / "maf.toml").write_text(text)


@pytest.fixture
def held(repo):
    """bob holds src/app.py exclusively."""
    commit_file(repo, "src/app.py", "print(1)\n")
    lease(repo, "bob", "src/app.py", "--reason", "refactoring the app")
    return repo


def test_a_write_of_a_held_file_is_denied_with_a_reason_the_agent_can_act_on(held):
    code, reply, err = claude(held)
    assert code == 0 and err == ""
    reason = reason_of(reply)
    for part in ("src/app.py", "bob", "'src/app.py'", "refactoring the app", "until 20", "maf mail send --to bob",
                 "maf-lease check", f"You are agent {AGENT_A}", "mail was sent to bob"):
        assert part in reason, part
    assert "\n" not in reason  # one paragraph
    [record] = conflicts(held)
    assert (record["operation"], record["status"], record["agent"], record["holder"]) == \
        ("edit", "blocked", AGENT_A, "bob")
    [message] = mails(held, "bob")
    assert "RESERVATION_CONFLICT" in message and f"{AGENT_A} tried to edit paths you hold" in message


def test_the_same_refused_edit_mails_the_holder_once_within_the_dedup_window(held):
    assert reason_of(claude(held)[1])
    reason = reason_of(claude(held)[1])
    assert "about this same attempt was already sent" in reason
    assert len(mails(held, "bob")) == 1 and len(conflicts(held)) == 2


def test_a_free_file_a_tool_that_writes_nothing_and_a_path_outside_are_allowed_silently(held, tmp_path):
    assert claude(held, path="src/other.py") == (0, None, "")
    assert claude(held, tool="Read") == (0, None, "")
    assert claude(held, tool="Bash") == (0, None, "")
    assert claude(held, path=str(tmp_path / "elsewhere.py")) == (0, None, "")
    assert conflicts(held) == []


def test_a_session_outside_any_repository_is_not_ours_to_judge(tmp_path):
    outside = tmp_path / "plain"
    outside.mkdir()
    assert claude(outside, path="x.py") == (0, None, "")


def test_the_holder_itself_and_a_glob_lease(held):
    lease(held, "carol", "docs/**")
    assert claude(held, env={"MAF_AGENT_ID": "bob"}) == (0, None, "")
    assert "carol" in reason_of(claude(held, path="docs/a/b.md")[1])


def test_warn_mode_allows_silently_and_still_records_and_mails(held):
    assert claude(held, env={"MAF_RESERVATION_HOOK_MODE": "warn"}) == (0, None, "")
    [record] = conflicts(held)
    assert record["status"] == "warned" and record["operation"] == "edit"
    assert len(mails(held, "bob")) == 1


def test_off_mode_decides_nothing(held):
    configure(held, '[reservation]\nhook_mode = "off"\n')
    assert claude(held) == (0, None, "")
    assert conflicts(held) == []


def test_the_override_is_honoured_at_edit_time_under_the_same_rule(held):
    configure(held, "[reservation]\nrequire_override_reason = true\n")
    code, reply, _ = claude(held, env={"MAF_RESERVATION_OVERRIDE": "1"})
    assert "MAF_OVERRIDE_REASON" in reason_of(reply)  # a required reason is required here too
    assert claude(held, env={"MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "hotfix"})[:2] == (0, None)
    statuses = [record["status"] for record in conflicts(held)]
    assert sorted(statuses) == ["blocked", "overridden"]
    assert any("overrode your lease" in message or "emergency override" in message for message in mails(held, "bob"))


def test_no_database_allows_without_creating_one(repo):
    assert claude(repo) == (0, None, "")
    assert not (repo / ".git" / "maf").exists()


def _damage(repo):
    (repo / ".git" / "maf" / "runtime.db").write_bytes(b"this is not a database" * 100)


def test_a_damaged_database_fails_closed_in_the_clients_form_and_on_error_allow_lets_it_through(held):
    _damage(held)
    reason = reason_of(claude(held)[1])
    assert "RESERVATION CHECK FAILED" in reason and "this edit is refused" in reason
    configure(held, '[reservation]\non_error = "allow"\n')
    code, reply, err = claude(held)
    assert (code, reply) == (0, None) and "could not run" in err


def test_a_call_that_writes_nothing_never_opens_the_database(held):
    _damage(held)
    assert claude(held, tool="Grep") == (0, None, "")


def test_malformed_input_is_denied_naming_the_cause(repo):
    reason = reason_of(claude(repo, raw=b"{not json")[1])
    assert "not JSON" in reason
    reason = reason_of(claude(repo, raw=json.dumps({"hook_event_name": "PreToolUse"}).encode())[1])
    assert "session_id" in reason


def test_an_unknown_client_is_a_usage_error(repo):
    done = subprocess.run([MAF, "agent-hook", "nobody"], input=b"{}", capture_output=True, cwd=repo, timeout=60)
    assert done.returncode == 2 and b"unknown agent client" in done.stderr and b"claude" in done.stderr


def test_the_records_table_kept_its_rows_through_migration_12(held, tmp_path):
    from maf_hooks.store.sqlite import migrations
    from maf_hooks.store.sqlite.connection import connect

    path = str(tmp_path / "old.db")
    conn = connect(path, migrate=False)
    migrations.upgrade(conn, migrations.MIGRATIONS[:11])
    with conn:
        conn.execute("INSERT INTO reservation_conflicts (id, agent_id, file_path, severity, holder_agent_id, "
                     "lease_id, lease_expires_at, attempted_operation, status, created_at) "
                     "VALUES ('c1', 'a', 'x', 'high', 'b', 'l1', 1, 'push', 'blocked', 1)")
    migrations.upgrade(conn)
    assert conn.execute("SELECT id, attempted_operation FROM reservation_conflicts").fetchall() == [("c1", "push")]
    conn.execute("INSERT INTO reservation_conflicts (id, agent_id, file_path, severity, holder_agent_id, lease_id, "
                 "lease_expires_at, attempted_operation, status, created_at) "
                 "VALUES ('c2', 'a', 'x', 'high', 'b', 'l1', 1, 'edit', 'blocked', 1)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO reservation_conflicts (id, agent_id, file_path, severity, holder_agent_id, "
                     "lease_id, lease_expires_at, attempted_operation, status, created_at) "
                     "VALUES ('c3', 'a', 'x', 'high', 'b', 'l1', 1, 'rebase', 'blocked', 1)")
    conn.close()


# --- one session, one agent at every layer ----------------------------------------------------

def _session_shell(repo, env_file, command):
    """A shell command of the session, as Claude Code runs it: the env file sourced first."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAF_")}
    return subprocess.run(["bash", "-c", f". {env_file} && {command}"], cwd=repo, capture_output=True, text=True,
                          env=env, timeout=60)


def test_one_claude_session_is_one_agent_for_its_edits_its_leases_and_its_commits(repo, tmp_path):
    commit_file(repo, "src/app.py", "print(1)\n")
    env_file = tmp_path / "claude-env.sh"
    env_file.write_text("")
    assert claude(repo, "SessionStart", env={"CLAUDE_ENV_FILE": str(env_file)}) == (0, None, "")
    assert env_file.read_text() == f"export MAF_AGENT_ID={AGENT_A}\n"
    claude(repo, "SessionStart", env={"CLAUDE_ENV_FILE": str(env_file)})  # a resumed session: written once
    assert env_file.read_text().count("MAF_AGENT_ID") == 1

    taken = _session_shell(repo, env_file, "maf-lease acquire src/app.py --json")
    assert taken.returncode == 0, taken.stderr
    assert json.loads(taken.stdout)["granted"][0]["agent"] == AGENT_A
    assert claude(repo) == (0, None, "")  # the session's own lease never denies its edit
    assert AGENT_A in reason_of(claude(repo, session=SESSION_B)[1])  # another session is another agent

    git("config", "core.hooksPath", ".hooks", cwd=repo)
    hooks = repo / ".hooks"
    hooks.mkdir()
    (hooks / "pre-commit").write_text(f"#!/bin/sh\nexec {BIN / 'maf-reservations'}\n")
    (hooks / "pre-commit").chmod(0o755)
    (repo / "src" / "app.py").write_text("print(2)\n")
    git("add", "src/app.py", cwd=repo)
    committed = _session_shell(repo, env_file, "git commit -q -m 'session edit'")
    assert committed.returncode == 0, committed.stderr
    (repo / "src" / "app.py").write_text("print(3)\n")
    git("add", "src/app.py", cwd=repo)
    refused = git("commit", "-q", "-m", "someone else", cwd=repo, check=False, env={"MAF_AGENT_ID": "dave"})
    assert refused.returncode == 1 and AGENT_A in refused.stderr


def test_a_repository_wide_agent_id_makes_every_session_one_agent(held, tmp_path):
    git("config", "maf.agentId", "bob", cwd=held)
    env_file = tmp_path / "env.sh"
    assert claude(held, "SessionStart", env={"CLAUDE_ENV_FILE": str(env_file)}) == (0, None, "")
    assert not env_file.exists() or "MAF_AGENT_ID" not in env_file.read_text()
    assert claude(held) == (0, None, "") and claude(held, session=SESSION_B) == (0, None, "")


# --- auto-claim -------------------------------------------------------------------------------

AUTO = "[agent_hooks.auto_claim]\nenabled = true\nttl_minutes = 5\n"


def test_auto_claim_first_write_claims_later_writes_renew_session_end_releases(repo):
    configure(repo, AUTO)
    assert claude(repo, path="src/new.py") == (0, None, "")
    [claimed] = leases(repo)
    assert (claimed["agent"], claimed["pattern"], claimed["auto_claim"], claimed["reason"]) == \
        (AGENT_A, "src/new.py", True, "auto-claim: editing")
    assert claude(repo, path="src/new.py") == (0, None, "")
    [renewed] = leases(repo)
    assert renewed["id"] == claimed["id"] and renewed["expires_at_ms"] >= claimed["expires_at_ms"]

    reason = reason_of(claude(repo, session=SESSION_B, path="src/new.py")[1])
    assert AGENT_A in reason and "auto-claim: editing" in reason
    assert claude(repo, "SessionEnd") == (0, None, "")
    assert leases(repo) == []
    assert claude(repo, session=SESSION_B, path="src/new.py") == (0, None, "")
    assert [(held["agent"], held["auto_claim"]) for held in leases(repo)] == [(AGENT_B, True)]


def test_auto_claim_never_extends_a_hand_lease_nor_takes_another_agents(repo):
    configure(repo, AUTO)
    hand = lease(repo, AGENT_A, "src/", "--ttl", "10m")["granted"][0]
    assert claude(repo, path="src/mine.py") == (0, None, "")
    assert [(held["id"], held["expires_at_ms"], held["auto_claim"]) for held in leases(repo)] == \
        [(hand["id"], hand["expires_at_ms"], False)]
    lease(repo, "carol", "docs/guide.md", "--shared")
    assert claude(repo, path="docs/guide.md") == (0, None, "")  # a shared lease is no conflict, and not claimed
    assert sorted(held["agent"] for held in leases(repo)) == sorted([AGENT_A, "carol"])
    claude(repo, "SessionEnd")
    assert sorted(held["agent"] for held in leases(repo)) == sorted([AGENT_A, "carol"])  # the hand lease stays


def test_acquiring_an_auto_claimed_file_by_hand_keeps_it_past_the_session(repo):
    configure(repo, AUTO)
    claude(repo, path="src/x.py")
    lease(repo, AGENT_A, "src/x.py")
    claude(repo, "SessionEnd")
    assert [(held["pattern"], held["auto_claim"]) for held in leases(repo)] == [("src/x.py", False)]


def test_the_list_marks_auto_claims(repo):
    configure(repo, AUTO)
    claude(repo, path="src/x.py")
    done = subprocess.run([str(BIN / "maf-lease"), "list"], cwd=repo, capture_output=True, text=True, timeout=60)
    assert "exclusive (auto-claim)" in done.stdout and "auto-claim: editing" in done.stdout


def test_sessions_started_together_are_two_agents_even_with_time_ordered_ids():
    from maf_hooks.identity import session_agent

    # Codex: UUIDv7, whose first 8 hex digits are the same for sessions a minute apart
    first = session_agent("codex", "01a231b7-82ef-7ccc-9d1e-4f5a6b7c8d9e")
    second = session_agent("codex", "01a231b7-8ac0-7190-a2b3-c4d5e6f70812")
    assert first != second and first == "codex-6b7c8d9e"
    # OpenCode: "ses_" and a time part first
    assert session_agent("opencode", "ses_4c2a9e1f7b3dXk2mQ8rT5vW1yZ") != \
        session_agent("opencode", "ses_4c2a9e1f7b3dPq7LmN0sAa9bC")
    # a random (UUIDv4) id keeps its first 8 characters
    assert session_agent("claude", SESSION_A) == AGENT_A


# --- where a file is judged -------------------------------------------------------------------

def test_a_file_is_judged_in_its_own_repository_whatever_the_sessions_directory(held, tmp_path):
    parent = held.parent  # a session started in the directory above the repository
    assert "bob" in reason_of(claude(parent, path=str(held / "src" / "app.py"))[1])
    linked = tmp_path / "linked"  # a session in a linked worktree editing the main worktree's file
    git("worktree", "add", "-q", str(linked), "-b", "side", cwd=held)
    assert "bob" in reason_of(claude(linked, path=str(held / "src" / "app.py"))[1])
    assert "bob" in reason_of(claude(linked, path="src/app.py")[1])  # the same path in the linked worktree


def test_a_symbolic_link_to_a_held_file_is_the_held_file(held):
    (held / "src" / "alias.py").symlink_to("app.py")
    assert "src/app.py" in reason_of(claude(held, path="src/alias.py")[1])
    (held / "docs").symlink_to("src")
    assert "src/app.py" in reason_of(claude(held, path="docs/app.py")[1])


def test_of_agents_racing_to_auto_claim_one_free_file_exactly_one_writes_it(repo):
    """Real processes at once: the check and the claim are one write section."""
    configure(repo, AUTO)
    lease(repo, "nobody", "unrelated.txt")  # the database exists
    document = {"transcript_path": "transcript.jsonl", "cwd": str(repo), "permission_mode": "default",
                "hook_event_name": "PreToolUse", "tool_name": "Write", "tool_input": {"file_path": str(repo / "race.py")}}
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAF_")}
    procs = [subprocess.Popen([MAF, "agent-hook", "claude"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=repo, env=env) for _ in range(8)]
    for number, proc in enumerate(procs):
        proc.stdin.write(json.dumps(dict(document, session_id=f"{number:08d}-race")).encode())
        proc.stdin.close()
    outputs = [proc.stdout.read().decode() for proc in procs]
    for proc in procs:
        proc.wait(timeout=120)
        proc.stderr.close()
        proc.stdout.close()
    assert [proc.returncode for proc in procs] == [0] * 8
    assert sum(1 for out in outputs if not out.strip()) == 1  # one allowed, seven denied
    claims = [held for held in leases(repo) if held["pattern"] == "race.py"]
    assert len(claims) == 1 and claims[0]["auto_claim"]


def test_a_session_hook_that_cannot_run_prints_no_edit_deny(held):
    configure(held, AUTO)
    _damage(held)
    code, reply, err = claude(held, "SessionEnd")
    assert (code, reply) == (0, None) and "session end hook could not run" in err


def test_a_byte_order_mark_is_no_reason_to_refuse(held):
    document = {"session_id": SESSION_A, "cwd": str(held), "hook_event_name": "PreToolUse", "tool_name": "Edit",
                "tool_input": {"file_path": str(held / "free.py")}}
    assert claude(held, raw=b"\xef\xbb\xbf" + json.dumps(document).encode()) == (0, None, "")


def test_bad_input_is_judged_by_the_configuration_of_the_sessions_repository(held, tmp_path):
    """The hook process may run elsewhere than the session: its `cwd` names the repository whose
    `on_error` applies."""
    configure(held, '[reservation]\non_error = "allow"\n')
    bad = json.dumps({"session_id": 7, "cwd": str(held), "hook_event_name": "PreToolUse"}).encode()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, reply, err = claude(elsewhere, raw=bad)
    assert (code, reply) == (0, None) and "could not run" in err


def test_dot_dot_after_a_linked_directory_is_judged_where_the_kernel_writes(held):
    (held / "q").mkdir()
    (held / "q" / "up").symlink_to("../src/sub")
    (held / "src" / "sub").mkdir()
    # q/up/../app.py is src/app.py to the kernel (the link first, then '..'), q/app.py as text
    assert "src/app.py" in reason_of(claude(held, path="q/up/../app.py")[1])


def test_a_call_refused_in_one_repository_claims_nothing_in_another(held, tmp_path):
    from conftest import make_repo

    other = make_repo(tmp_path / "other")
    commit_file(other, "a.py")
    configure(other, AUTO)
    lease(other, "nobody", "unrelated.txt")
    patch = ("*** Begin Patch\n*** Update File: " + str(other / "a.py") + "\n@@\n-x\n+y\n"
             "*** Update File: " + str(held / "src" / "app.py") + "\n@@\n-x\n+y\n*** End Patch\n")
    document = {"session_id": "019a2b3c-4d5e-7f60-8a9b-0c1d2e3f4a5b", "turn_id": "t", "cwd": str(tmp_path),
                "hook_event_name": "PreToolUse", "tool_name": "apply_patch", "tool_input": {"command": patch},
                "tool_use_id": "call_1", "transcript_path": None, "model": "m", "permission_mode": "default"}
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAF_")}
    done = subprocess.run([MAF, "agent-hook", "codex"], input=json.dumps(document).encode(), capture_output=True,
                          cwd=tmp_path, env=env, timeout=60)
    reason = reason_of(json.loads(done.stdout))
    assert f"In the repository {held}" in reason and "bob" in reason
    assert [lease["pattern"] for lease in maf_json(other, "lease", "list")["leases"]] == ["unrelated.txt"]


def test_a_malformed_session_event_warns_instead_of_printing_an_edit_deny(repo):
    bad = json.dumps({"hook_event_name": "SessionStart", "cwd": str(repo)}).encode()  # no session_id
    code, reply, err = claude(repo, raw=bad)
    assert (code, reply) == (0, None) and "session start hook could not run" in err and "session_id" in err


def test_python_dash_m_runs_the_same_hook(held):
    """`python -m maf_hooks.cli agent-hook CLIENT` (a hook pinned to one Python) is `maf agent-hook`."""
    import sys

    document = {"session_id": SESSION_A, "cwd": str(held), "hook_event_name": "PreToolUse", "tool_name": "Edit",
                "tool_input": {"file_path": str(held / "src" / "app.py")}}
    done = subprocess.run([sys.executable, "-m", "maf_hooks.cli", "agent-hook", "claude"],
                          input=json.dumps(document).encode(), capture_output=True, cwd=held, timeout=60)
    assert done.returncode == 0 and "bob" in reason_of(json.loads(done.stdout))
