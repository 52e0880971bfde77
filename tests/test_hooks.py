"""The commit and push decision, run in-process against real repositories and databases.

The end-to-end tests through the pre-commit framework and real `git commit`/`git push` live in
test_precommit.py; these cover every rule quickly.
"""

from __future__ import annotations

import io
import mailbox
import os
import sqlite3

import pytest
from conftest import commit_file, git, make_repo

from maf_hooks import git as gitmod
from maf_hooks.hooks import run_hook


def hook(repo, operation="commit", env=None, stdin_text=None, clock=None):
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "GIT_CONFIG_NOSYSTEM": "1"}
    environ.update(env or {})
    stream = io.StringIO()
    code = run_hook(operation, environ=environ, stdin_text=stdin_text, cwd=str(repo), stream=stream, clock=clock)
    return code, stream.getvalue()


def lease(cli, repo, *args):
    result = cli(repo, "lease", "acquire", *args)
    assert result.code == 0, result.err
    return result


def stage(repo, name, content="changed\n"):
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    git("add", "--", name, cwd=repo)


def conflicts(repo):
    conn = sqlite3.connect(repo / ".git" / "maf" / "runtime.db")
    try:
        return conn.execute(
            "SELECT agent_id, file_path, holder_agent_id, attempted_operation, status, severity, override_reason "
            "FROM reservation_conflicts ORDER BY created_at, file_path"
        ).fetchall()
    finally:
        conn.close()


def inbox(repo, agent):
    path = repo / ".agent-mail" / agent
    if not path.exists():
        return []
    return list(mailbox.Maildir(str(path), create=False))


ME = {"MAF_AGENT_ID": "bob"}


# --- which paths a commit changes ------------------------------------------------------------

def test_staged_paths_kinds(repo):
    commit_file(repo, "keep.txt")
    commit_file(repo, "gone.txt")
    commit_file(repo, "old name.txt")
    commit_file(repo, "mode.sh")
    stage(repo, "new.txt")
    stage(repo, "keep.txt", "modified\n")
    git("rm", "-q", "gone.txt", cwd=repo)
    git("mv", "old name.txt", "new name.txt", cwd=repo)
    os.chmod(repo / "mode.sh", 0o755)
    git("add", "mode.sh", cwd=repo)
    (repo / "unstaged.txt").write_text("not staged\n")
    (repo / "README.md").write_text("unstaged edit\n")
    changed = gitmod.staged_paths(gitmod.repo_paths(str(repo)))
    assert changed == {"new.txt", "keep.txt", "gone.txt", "old name.txt", "new name.txt", "mode.sh"}


def test_staged_paths_before_first_commit(tmp_path):
    repo = make_repo(tmp_path / "fresh")
    stage(repo, "a.txt")
    stage(repo, "dir/b.txt")
    assert gitmod.staged_paths(gitmod.repo_paths(str(repo))) == {"a.txt", "dir/b.txt"}


@pytest.mark.parametrize("name", ["with space.txt", 'quo"te.txt', "new\nline.txt", "ünïcødé.txt", "tab\there.txt"])
def test_staged_paths_odd_names(repo, name):
    stage(repo, name)
    assert gitmod.staged_paths(gitmod.repo_paths(str(repo))) == {name}


def test_staged_paths_during_merge_only_merge_changes(repo):
    commit_file(repo, "shared.txt", "base\n")
    git("checkout", "-q", "-b", "other", cwd=repo)
    commit_file(repo, "theirs.txt", "theirs\n")
    commit_file(repo, "shared.txt", "other side\n")
    git("checkout", "-q", "main", cwd=repo)
    commit_file(repo, "ours.txt", "ours\n")
    commit_file(repo, "shared.txt", "main side\n")
    merge = git("merge", "--no-commit", "other", cwd=repo, check=False)
    assert merge.returncode != 0  # conflict on shared.txt
    (repo / "shared.txt").write_text("resolved\n")
    git("add", "shared.txt", cwd=repo)
    changed = gitmod.staged_paths(gitmod.repo_paths(str(repo)))
    # theirs.txt is the other branch's committed work; only the resolution is the merge's own change
    assert changed == {"shared.txt"}


def test_range_paths_with_merge_rename_and_delete(repo):
    base = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    commit_file(repo, "a.txt")
    git("checkout", "-q", "-b", "side", cwd=repo)
    commit_file(repo, "side.txt")
    git("checkout", "-q", "main", cwd=repo)
    git("mv", "a.txt", "b.txt", cwd=repo)
    git("commit", "-q", "-m", "rename", cwd=repo)
    git("merge", "-q", "--no-edit", "side", cwd=repo)
    git("rm", "-q", "README.md", cwd=repo)
    git("commit", "-q", "-m", "delete", cwd=repo)
    paths = gitmod.repo_paths(str(repo))
    changed = gitmod.range_paths(paths, gitmod.span_revs(paths, base, "HEAD"))
    assert changed == {"a.txt", "b.txt", "side.txt", "README.md"}


# --- the decision ----------------------------------------------------------------------------

def test_hook_no_database_exits_0_silently_creates_nothing(repo):
    stage(repo, "x.txt")
    assert hook(repo, env=ME) == (0, "")
    assert not (repo / ".git" / "maf").exists() and not (repo / ".agent-mail").exists()


def test_hook_no_active_lease_exits_0(repo, cli):
    lease(cli, repo, "x.txt", "--agent", "alice")
    cli(repo, "lease", "release", "x.txt", "--agent", "alice")
    stage(repo, "x.txt")
    assert hook(repo, env=ME) == (0, "")
    assert not (repo / ".agent-mail").exists()


def test_hook_refuses_other_agents_exclusive_lease(repo, cli):
    lease(cli, repo, "src/", "--agent", "alice", "--reason", "refactoring the parser")
    stage(repo, "src/parser.py")
    stage(repo, "docs/free.md")
    code, err = hook(repo, env=ME)
    assert code == 1
    assert "RESERVATION_CONFLICT" in err
    assert "src/parser.py" in err and "alice" in err and "'src/'" in err
    assert "refactoring the parser" in err and "Z (in " in err
    assert "mail was sent to alice" in err and "maf-lease check" in err and "MAF_RESERVATION_OVERRIDE" in err
    assert "docs/free.md" not in err
    assert conflicts(repo) == [("bob", "src/parser.py", "alice", "commit", "blocked", "high", None)]
    messages = inbox(repo, "alice")
    assert len(messages) == 1
    assert messages[0]["X-MAF-Type"] == "RESERVATION_CONFLICT"
    assert messages[0]["Subject"].startswith("[MAF] RESERVATION_CONFLICT")


def test_hook_own_lease_and_shared_lease_pass(repo, cli):
    lease(cli, repo, "mine/", "--agent", "bob")
    lease(cli, repo, "common/", "--shared", "--agent", "alice")
    stage(repo, "mine/a.txt")
    stage(repo, "common/b.txt")
    code, err = hook(repo, env=ME)
    assert code == 0
    assert "shared lease of alice" in err and "common/b.txt" in err
    assert "mine/a.txt" not in err


def test_hook_deletion_and_rename_are_caught(repo, cli):
    commit_file(repo, "held/old.txt")
    commit_file(repo, "held/doomed.txt")
    lease(cli, repo, "held/old.txt", "held/doomed.txt", "--agent", "alice")
    git("mv", "held/old.txt", "elsewhere.txt", cwd=repo)
    git("rm", "-q", "held/doomed.txt", cwd=repo)
    code, err = hook(repo, env=ME)
    assert code == 1 and "held/old.txt" in err and "held/doomed.txt" in err


def test_hook_unstaged_changes_do_not_count(repo, cli):
    commit_file(repo, "held.txt")
    lease(cli, repo, "held.txt", "--agent", "alice")
    (repo / "held.txt").write_text("edited, not staged\n")
    stage(repo, "free.txt")
    assert hook(repo, env=ME)[0] == 0


def test_hook_no_identity_every_lease_counts(tmp_path, cli):
    repo = make_repo(tmp_path / "anon", email=None)
    commit_file(repo, "a.txt")
    lease(cli, repo, "a.txt", "--agent", "alice")
    stage(repo, "a.txt")
    code, err = hook(repo)
    assert code == 1 and "no agent identity" in err and "MAF_AGENT_ID" in err
    assert conflicts(repo)[0][0] is None


def test_hook_warn_mode_records_mails_exits_0(repo, cli):
    lease(cli, repo, "w.txt", "--agent", "alice")
    stage(repo, "w.txt")
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_HOOK_MODE": "warn"})
    assert code == 0 and "warning only" in err
    assert conflicts(repo)[0][4] == "warned"
    assert len(inbox(repo, "alice")) == 1


def test_hook_mode_from_config(repo, cli):
    (repo / "maf.toml").write_text('[reservation]\nhook_mode = "warn"\n')
    lease(cli, repo, "w.txt", "--agent", "alice")
    stage(repo, "w.txt")
    assert hook(repo, env=ME)[0] == 0


def test_hook_off_mode_silent(repo, cli):
    lease(cli, repo, "w.txt", "--agent", "alice")
    stage(repo, "w.txt")
    assert hook(repo, env={**ME, "MAF_RESERVATION_HOOK_MODE": "off"}) == (0, "")
    (repo / "maf.toml").write_text('[reservation]\nhook_mode = "off"\n')
    assert hook(repo, env=ME) == (0, "")
    assert not (repo / ".agent-mail").exists()


def test_hook_mail_dedup_within_window(repo, cli):
    lease(cli, repo, "d.txt", "--agent", "alice")
    stage(repo, "d.txt")
    assert hook(repo, env=ME)[0] == 1
    code, err = hook(repo, env=ME)
    assert code == 1 and "was already sent" in err
    assert len(inbox(repo, "alice")) == 1
    assert len(conflicts(repo)) == 2  # the record still counts the attempt
    later = lambda: int(__import__("time").time() * 1000) + 11 * 60_000
    assert hook(repo, env=ME, clock=later)[0] == 1
    assert len(inbox(repo, "alice")) == 2


def test_hook_one_message_per_holder(repo, cli):
    lease(cli, repo, "a/", "--agent", "alice")
    lease(cli, repo, "b/", "b2/", "--agent", "carol")
    for name in ("a/1", "a/2", "b/1", "b2/1"):
        stage(repo, name)
    assert hook(repo, env=ME)[0] == 1
    alice, carol = inbox(repo, "alice"), inbox(repo, "carol")
    assert len(alice) == 1 and len(carol) == 1
    import json

    for message, expected in ((alice[0], {"a/1", "a/2"}), (carol[0], {"b/1", "b2/1"})):
        parts = {part.get_filename() or part.get_content_type(): part for part in message.walk()}
        envelopes = json.loads(parts["maf.json"].get_payload(decode=True))
        assert {e["filePath"] for e in envelopes} == expected
        for envelope in envelopes:
            assert envelope["type"] == "RESERVATION_CONFLICT" and envelope["agentId"] == "bob"
            assert envelope["conflictType"] == "lease"
            assert set(envelope["details"]) == {"existingAgent", "requestedAgent", "leaseExpiresAt", "attemptedOperation"}
            assert envelope["details"]["requestedAgent"] == "bob"
            assert isinstance(envelope["details"]["leaseExpiresAt"], int)
        assert "text/plain" in parts


# --- override ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["1", "true", "YES", "On"])
def test_hook_override_lets_through_and_audits(repo, cli, value):
    lease(cli, repo, "o.txt", "--agent", "alice")
    stage(repo, "o.txt")
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": value, "MAF_OVERRIDE_REASON": "prod is down"})
    assert code == 0 and "OVERRIDDEN" in err and "alice" in err
    assert conflicts(repo)[0][4:] == ("overridden", "critical", "prod is down")
    conn = sqlite3.connect(repo / ".git" / "maf" / "runtime.db")
    data = conn.execute("SELECT data_json FROM events WHERE kind = 'override'").fetchone()[0]
    assert "prod is down" in data
    message = inbox(repo, "alice")[0]
    assert "overrode" in message["Subject"]
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "bob" in body and "prod is down" in body


def test_hook_override_without_reason_and_without_conflict(repo, cli):
    stage(repo, "free.txt")
    lease(cli, repo, "other.txt", "--agent", "alice")
    assert hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1"}) == (0, "")  # silent without conflict
    stage(repo, "other.txt")
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1"})
    assert code == 0 and "no reason given" in err


def test_hook_override_disabled_or_reason_required(repo, cli):
    lease(cli, repo, "o.txt", "--agent", "alice")
    stage(repo, "o.txt")
    (repo / "maf.toml").write_text("[reservation]\nallow_override = false\n")
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1"})
    assert code == 1 and "allow_override = false" in err
    (repo / "maf.toml").write_text("[reservation]\nrequire_override_reason = true\n")
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1"})
    assert code == 1 and "MAF_OVERRIDE_REASON" in err
    code, _ = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "hotfix"})
    assert code == 0


def test_hook_override_false_values_do_nothing(repo, cli):
    lease(cli, repo, "o.txt", "--agent", "alice")
    stage(repo, "o.txt")
    assert hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "0"})[0] == 1
    assert hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "nope"})[0] == 1


# --- errors fail closed -------------------------------------------------------------------------

def test_hook_not_a_repository_fails_closed(tmp_path):
    code, err = hook(tmp_path, env=ME)
    assert code == 1 and "Not inside a git repository" in err and "MAF_RESERVATION_OVERRIDE" in err


def test_hook_corrupt_database_fails_closed(repo):
    (repo / ".git" / "maf").mkdir()
    (repo / ".git" / "maf" / "runtime.db").write_bytes(b"garbage" * 500)
    stage(repo, "x.txt")
    code, err = hook(repo, env=ME)
    assert code == 1 and "corrupt" in err and "Traceback" not in err and "override" in err.lower()


def test_hook_corrupt_database_override_needs_the_required_reason(repo):
    """THE override rule holds on the error path too: no unchecked commit without the reason
    that reservation.require_override_reason asks for."""
    (repo / "maf.toml").write_text("[reservation]\nrequire_override_reason = true\n")
    (repo / ".git" / "maf").mkdir()
    (repo / ".git" / "maf" / "runtime.db").write_bytes(b"garbage" * 500)
    stage(repo, "x.txt")
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1"})
    assert code == 1 and "requires a reason" in err and "RESERVATION CHECK FAILED" in err
    assert "WITHOUT a check" not in err
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "prod is down"})
    assert code == 0 and "WARNING" in err and "WITHOUT a check" in err and "corrupt" in err


def test_hook_corrupt_database_override_disabled_fails_closed(repo):
    (repo / "maf.toml").write_text("[reservation]\nallow_override = false\n")
    (repo / ".git" / "maf").mkdir()
    (repo / ".git" / "maf" / "runtime.db").write_bytes(b"garbage" * 500)
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "why"})
    assert code == 1 and "allow_override = false" in err


def test_hook_invalid_config_fails_closed(repo):
    (repo / "maf.toml").write_text("[reservation]\nhook_mode = 'loud'\n")
    code, err = hook(repo, env=ME)
    assert code == 1 and "reservation.hook_mode" in err


def test_hook_on_error_allow_is_fail_open(repo):
    (repo / "maf.toml").write_text('[reservation]\non_error = "allow"\n')
    (repo / ".git" / "maf").mkdir()
    (repo / ".git" / "maf" / "runtime.db").write_bytes(b"garbage" * 500)
    code, err = hook(repo, env=ME)
    assert code == 0 and "could not run" in err


def test_hook_invalid_identity_fails_closed(repo, cli):
    lease(cli, repo, "x.txt", "--agent", "alice")
    stage(repo, "x.txt")
    code, err = hook(repo, env={"MAF_AGENT_ID": "../evil"})
    assert code == 1 and "MAF_AGENT_ID" in err


def test_hook_ci_is_not_a_bypass(repo, cli):
    lease(cli, repo, "x.txt", "--agent", "alice")
    stage(repo, "x.txt")
    assert hook(repo, env={**ME, "CI": "true"})[0] == 1


# --- push ------------------------------------------------------------------------------------------

def test_push_range_from_framework_variables(repo, cli):
    base = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    commit_file(repo, "held/x.txt")
    commit_file(repo, "free/y.txt")
    head = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    lease(cli, repo, "held/", "--agent", "alice")
    code, err = hook(repo, "push", env={**ME, "PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_TO_REF": head})
    assert code == 1 and "held/x.txt" in err and "free/y.txt" not in err
    assert conflicts(repo)[0][3] == "push"


def test_push_plain_stdin_every_ref_line(repo, cli, tmp_path):
    remote = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=repo)
    git("push", "-q", "origin", "main", cwd=repo)
    main_base = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    commit_file(repo, "one.txt")
    main_head = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    git("checkout", "-q", "-b", "feature", cwd=repo)
    commit_file(repo, "held/two.txt")
    feature_head = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    lease(cli, repo, "held/", "--agent", "alice")
    zero = "0" * 40
    lines = (f"refs/heads/main {main_head} refs/heads/main {main_base}\n"
             f"refs/heads/feature {feature_head} refs/heads/feature {zero}\n")
    code, err = hook(repo, "push", env=ME, stdin_text=lines)
    assert code == 1 and "held/two.txt" in err  # found on the second line, a new branch
    only_main = f"refs/heads/main {main_head} refs/heads/main {main_base}\n"
    assert hook(repo, "push", env=ME, stdin_text=only_main)[0] == 0
    deletion = f"(delete) {zero} refs/heads/feature {feature_head}\n"
    assert hook(repo, "push", env=ME, stdin_text=deletion)[0] == 0


def test_lease_conflicts_command_lists_records(repo, cli):
    lease(cli, repo, "c.txt", "--agent", "alice", "--reason", "mine")
    stage(repo, "c.txt")
    assert hook(repo, env=ME)[0] == 1
    assert hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "urgent"})[0] == 0
    listed = cli(repo, "lease", "conflicts", "--json")
    assert listed.code == 0
    records = listed.json["conflicts"]
    assert [(r["status"], r["agent"], r["holder"], r["path"], r["operation"]) for r in records] == [
        ("blocked", "bob", "alice", "c.txt", "commit"), ("overridden", "bob", "alice", "c.txt", "commit")]
    assert records[1]["override_reason"] == "urgent" and records[0]["conflict_type"] == "lease"
    assert records[0]["lease_expires_at"].endswith("Z") and records[0]["severity"] == "high"
    conn = sqlite3.connect(repo / ".git" / "maf" / "runtime.db")
    conn.execute("UPDATE reservation_conflicts SET created_at = created_at - 7200000 WHERE status = 'blocked'")
    conn.commit()
    conn.close()
    recent = cli(repo, "lease", "conflicts", "--since", "1h", "--json").json["conflicts"]
    assert [r["status"] for r in recent] == ["overridden"]
    text = cli(repo, "lease", "conflicts").out
    assert text.split()[:7] == ["WHEN", "STATUS", "OPERATION", "AGENT", "PATH", "HOLDER", "LEASE"]
    assert cli(repo, "lease", "conflicts", "--since", "soon").code == 2


def test_hook_records_a_path_that_is_not_utf8(repo, cli):
    lease(cli, repo, "src/", "--agent", "alice")
    (repo / "src").mkdir()
    raw = os.path.join(os.fsencode(str(repo)), b"src", b"bad\xff.txt")
    with open(raw, "wb") as handle:
        handle.write(b"x\n")
    import subprocess

    subprocess.run([b"git", b"add", b"src/bad\xff.txt"], cwd=repo, check=True)
    code, err = hook(repo, env=ME)
    assert code == 1 and "RESERVATION_CONFLICT" in err and "src/bad\\xff.txt" in err
    assert conflicts(repo)[0][1] == "src/bad\\xff.txt"
    assert len(inbox(repo, "alice")) == 1


def test_push_after_merging_pushed_work_is_judged_by_its_own_commits(repo, cli, tmp_path):
    remote = tmp_path / "merge-remote.git"
    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=repo)
    commit_file(repo, "src/a.py", "a\n")
    git("push", "-q", "origin", "main", cwd=repo)
    git("checkout", "-q", "-b", "feat", cwd=repo)
    commit_file(repo, "feat.txt")
    git("push", "-q", "origin", "feat", cwd=repo)
    feat_before = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    git("checkout", "-q", "main", cwd=repo)
    lease(cli, repo, "src/a.py", "--agent", "alice")
    commit_file(repo, "src/a.py", "alice\n", "alice's change")  # alice's own work, pushed by her
    git("push", "-q", "origin", "main", cwd=repo)
    git("checkout", "-q", "feat", cwd=repo)
    git("merge", "-q", "--no-edit", "main", cwd=repo)
    feat_after = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    line = f"refs/heads/feat {feat_after} refs/heads/feat {feat_before}\n"
    assert hook(repo, "push", env=ME, stdin_text=line) == (0, "")
    framework = {**ME, "PRE_COMMIT_FROM_REF": feat_before, "PRE_COMMIT_TO_REF": feat_after,
                 "PRE_COMMIT_REMOTE_NAME": "origin"}
    assert hook(repo, "push", env=framework)[0] == 0
    # the same range in CI (no remote named): exactly FROM..TO, which includes alice's commit
    ci = {**ME, "PRE_COMMIT_FROM_REF": feat_before, "PRE_COMMIT_TO_REF": feat_after}
    assert hook(repo, "push", env=ci)[0] == 1


def test_submodule_with_ignore_all_is_still_seen(repo, cli, tmp_path):
    sub = make_repo(tmp_path / "sub")
    commit_file(sub, "one.txt")
    commit_file(sub, "two.txt")
    git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor/lib", cwd=repo)
    git("commit", "-q", "-m", "add submodule", cwd=repo)
    git("config", "-f", ".gitmodules", "submodule.vendor/lib.ignore", "all", cwd=repo)
    git("add", ".gitmodules", cwd=repo)
    git("commit", "-q", "-m", "ignore all", cwd=repo)
    lease(cli, repo, "vendor/", "--agent", "alice")
    older = git("rev-parse", "HEAD~1", cwd=sub).stdout.strip()
    git("update-index", "--cacheinfo", f"160000,{older},vendor/lib", cwd=repo)
    code, err = hook(repo, env=ME)
    assert code == 1 and "vendor/lib" in err


def test_hook_globs_cover_names_with_newlines_and_report_them_escaped(repo, cli):
    lease(cli, repo, "**/*.py", "--agent", "alice")
    stage(repo, "src/d\nx/f.py")
    code, err = hook(repo, env=ME)
    assert code == 1 and "src/d\\nx/f.py" in err
    assert "\nx/f.py" not in err  # the name cannot start a line of its own


def test_hook_excludes_the_mail_root_without_maf_init(repo, cli):
    lease(cli, repo, "m.txt", "--agent", "alice")
    stage(repo, "m.txt")
    assert hook(repo, env=ME)[0] == 1
    assert "/.agent-mail/" in (repo / ".git" / "info" / "exclude").read_text()
    assert ".agent-mail" not in git("status", "--porcelain", cwd=repo).stdout


def test_hook_gate_covers_what_lies_beneath_a_file_like_match(repo, cli):
    lease(cli, repo, "src/*.d", "--agent", "alice")
    lease(cli, repo, "docs/**/*.md", "--agent", "alice")
    stage(repo, "src/conf.d/y")
    stage(repo, "docs/a.md/b.txt")
    stage(repo, "docs/free.txt")
    code, err = hook(repo, env=ME)
    assert code == 1
    assert "src/conf.d/y" in err and "docs/a.md/b.txt" in err and "docs/free.txt" not in err


def test_hook_with_ignorecase_folds_case(repo, cli):
    git("config", "core.ignorecase", "true", cwd=repo)
    lease(cli, repo, "Src/Parser.PY", "--agent", "alice")
    lease(cli, repo, "DOCS/*.MD", "--agent", "alice")
    assert cli(repo, "lease", "acquire", "src/parser.py", "--agent", "carol").code == 1
    stage(repo, "src/parser.py")
    stage(repo, "docs/x.md")
    code, err = hook(repo, env=ME)
    assert code == 1 and "src/parser.py" in err and "docs/x.md" in err
    git("config", "core.ignorecase", "false", cwd=repo)
    code, err = hook(repo, env=ME)
    assert code == 0


def test_hook_empty_database_file_fails_closed(repo, cli):
    """A truncated database is damage, not "no leases": the commit is refused, the file untouched."""
    lease(cli, repo, "x.txt", "--agent", "alice")
    database = repo / ".git" / "maf" / "runtime.db"
    for suffix in ("-wal", "-shm"):
        (repo / ".git" / "maf" / f"runtime.db{suffix}").unlink(missing_ok=True)
    database.write_bytes(b"")
    stage(repo, "x.txt")
    code, err = hook(repo, env=ME)
    assert code == 1 and "holds no schema" in err and "RESERVATION CHECK FAILED" in err
    assert database.stat().st_size == 0


def test_hook_override_reason_that_is_no_utf8_is_recorded(repo, cli):
    """An override reason with undecodable bytes is recorded escaped: the override is never let
    through unrecorded."""
    lease(cli, repo, "o.txt", "--agent", "alice")
    stage(repo, "o.txt")
    reason = os.fsdecode(b"urgent \xff")
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": reason})
    assert code == 0 and "OVERRIDDEN" in err
    assert conflicts(repo)[0][4:] == ("overridden", "critical", "urgent \\xff")


def test_hook_invalid_configuration_refuses_the_override(repo, cli):
    """With a configuration that does not load, its override rules are unknown: fail closed."""
    lease(cli, repo, "o.txt", "--agent", "alice")
    (repo / "maf.toml").write_text("[reservation]\nrequire_override_reason = true\nbogus_key = 1\n")
    stage(repo, "o.txt")
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1"})
    assert code == 1 and "configuration could not be read" in err and "WITHOUT a check" not in err


# --- others' text in the refusal, the holder's mail and `maf lease conflicts` -------------------

ESC = "\x1b[2J\x1b]0;pwned\x07"
ESC_SHOWN = "\\x1b[2J\\x1b]0;pwned\\x07"
NAME_ESC = "\x1bc\x1b]0;pwned\x07"  # in a file name or pattern: no '[' (a glob's bracket)
NAME_SHOWN = "\\x1bc\\x1b]0;pwned\\x07"


def store_lease(repo, agent, pattern, reason):
    """A lease written through the store API (the CLI refuses such a reason; old rows may hold it)."""
    from maf_hooks.core import leases
    from maf_hooks.store.sqlite import open_file
    from maf_hooks.timeutil import now_ms

    (repo / ".git" / "maf").mkdir(exist_ok=True)
    store = open_file(str(repo / ".git" / "maf" / "runtime.db"), now_ms)
    try:
        assert leases.acquire(store, agent, [pattern], 30 * 60_000, reason=reason).granted
    finally:
        store.close()


def test_hook_refusal_mail_and_conflicts_show_others_text_escaped(repo, cli):
    store_lease(repo, "alice", f"src/{NAME_ESC}*", f"mine {ESC}")
    name = f"src/{NAME_ESC}evil.txt"
    stage(repo, name)
    code, err = hook(repo, env=ME)
    assert code == 1 and "\x1b" not in err and "\x07" not in err
    assert f"  src/{NAME_SHOWN}evil.txt\n" in err and f"(pattern 'src/{NAME_SHOWN}*'" in err
    assert f"reason: mine {ESC_SHOWN}" in err
    (message,) = inbox(repo, "alice")
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "\x1b" not in body and f"src/{NAME_SHOWN}evil.txt" in body and f"'src/{NAME_SHOWN}*'" in body
    table = cli(repo, "lease", "conflicts")
    assert table.code == 0 and "\x1b" not in table.out and f"src/{NAME_SHOWN}evil.txt" in table.out
    (record,) = cli(repo, "lease", "conflicts", "--json").json["conflicts"]
    assert record["path"] == name


@pytest.mark.parametrize("reason", [f"urgent {ESC}", "urgent\rforged line", "u" * 1001])
def test_hook_override_reason_with_control_characters_or_too_long_is_not_honoured(repo, cli, reason):
    lease(cli, repo, "o.txt", "--agent", "alice")
    stage(repo, "o.txt")
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": reason})
    assert code == 1 and "OVERRIDDEN" not in err and "not honoured" in err and "MAF_OVERRIDE_REASON" in err
    assert "\x1b" not in err and "\r" not in err
    assert conflicts(repo)[0][4:] == ("blocked", "high", None)
    # the error path (the hook cannot decide) takes the same rule
    (repo / ".git" / "maf" / "runtime.db").write_bytes(b"not a database")
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": reason})
    assert code == 1 and "not honoured" in err and "\x1b" not in err


def test_hook_override_reason_with_a_tab_of_1000_characters_is_honoured(repo, cli):
    lease(cli, repo, "o.txt", "--agent", "alice")
    stage(repo, "o.txt")
    reason = "a\t" + "b" * 998
    code, err = hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": reason})
    assert code == 0 and "OVERRIDDEN" in err and "a\\tbbb" in err
    assert conflicts(repo)[0][6] == reason


def test_hook_shared_lease_note_escapes_the_file_name(repo, cli):
    """The note about another agent's shared lease shows an agent-chosen file name escaped."""
    lease(cli, repo, "common/", "--shared", "--agent", "alice")
    stage(repo, "common/\x1b[2Jx.txt")
    code, err = hook(repo, env=ME)
    assert code == 0 and "shared lease of alice" in err
    assert "\x1b" not in err and "\\x1b[2Jx.txt" in err


def test_a_plain_repository_commit_asks_git_only_for_the_diff(repo, cli, tmp_path):
    """Where git's own files are plain (a `.git` directory, its config without includes), the
    commit hook reads the repository and `core.ignorecase` from them: the one git it starts is the
    staged diff (a logging `git` first on PATH sees every call), and it still refuses."""
    import shutil
    import subprocess
    import sys

    lease(cli, repo, "src/", "--agent", "alice")
    stage(repo, "src/a.txt")
    shim = tmp_path / "shim"
    shim.mkdir()
    log = tmp_path / "git-calls.txt"
    (shim / "git").write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{shutil.which("git")}" "$@"\n')
    (shim / "git").chmod(0o755)
    environ = {"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "HOME": os.environ["HOME"],
               "GIT_CONFIG_NOSYSTEM": "1", **ME}
    hook_script = os.path.join(os.path.dirname(sys.executable), "maf-reservations")
    proc = subprocess.run([hook_script], cwd=repo, env=environ, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "RESERVATION_CONFLICT" in proc.stderr, proc.stderr
    calls = log.read_text().splitlines()
    assert [call.split()[0] for call in calls] == ["diff"], calls
