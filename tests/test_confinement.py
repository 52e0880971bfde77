"""Mail never leaves its mail root: a committed `.agent-mail` link, or a linked `<agent>/new`, is
refused by the git hook, `maf mail send`, `maf init` and `maf-preflight` (black box, real git)."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import BIN, commit_file, git, make_repo
from test_precommit import install_plain_hooks


def run(repo, tool, *args, env=None):
    return subprocess.run([str(BIN / tool), *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def linked_repo(tmp_path):
    """A repository whose committed `.agent-mail` is a link to a directory outside it."""
    repo = make_repo(tmp_path / "repo", email="bob@example.com")
    commit_file(repo, "README.md", "hello\n", "initial")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, repo / ".agent-mail")
    git("add", ".agent-mail", cwd=repo)
    git("commit", "-q", "-m", "a link", cwd=repo)
    return repo, outside


def test_conflicting_commit_through_a_committed_link_writes_nothing_outside(tmp_path):
    repo, outside = linked_repo(tmp_path)
    install_plain_hooks(repo)
    assert run(repo, "maf-lease", "acquire", "README.md", "--agent", "alice").returncode == 0
    (repo / "README.md").write_text("changed\n")
    git("add", "README.md", cwd=repo)
    proc = git("commit", "-m", "work", cwd=repo, check=False, env={"MAF_AGENT_ID": "bob"})
    assert proc.returncode != 0
    assert "could not deliver mail to alice" in proc.stderr
    assert "symbolic link" in proc.stderr
    assert list(outside.iterdir()) == []
    recorded = run(repo, "maf", "lease", "conflicts", "--json")
    assert recorded.returncode == 0, recorded.stderr
    assert [(c["path"], c["holder"], c["status"]) for c in json.loads(recorded.stdout)["conflicts"]] == [
        ("README.md", "alice", "blocked")]


def test_mail_send_through_a_committed_link_is_refused(tmp_path):
    repo, outside = linked_repo(tmp_path)
    proc = run(repo, "maf", "mail", "send", "--agent", "bob", "--to", "alice", "--subject", "hi", "--body", "x")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "symbolic link" in proc.stderr and ".agent-mail" in proc.stderr
    assert list(outside.iterdir()) == []


def test_linked_new_directory_is_refused(tmp_path):
    repo = make_repo(tmp_path / "repo")
    commit_file(repo, "README.md", "hello\n", "initial")
    outside = tmp_path / "outside"
    outside.mkdir()
    box = repo / ".agent-mail" / "alice"
    for sub in ("tmp", "cur"):
        (box / sub).mkdir(parents=True)
    os.symlink(outside, box / "new")
    proc = run(repo, "maf", "mail", "send", "--agent", "bob", "--to", "alice", "--subject", "hi", "--body", "x")
    assert proc.returncode != 0
    assert "symbolic link" in proc.stderr and os.path.join("alice", "new") in proc.stderr
    assert list(outside.iterdir()) == []
    assert list((box / "tmp").iterdir()) == []  # nothing left behind either
    listed = run(repo, "maf", "mail", "list", "--agent", "alice")
    assert listed.returncode != 0 and "symbolic link" in listed.stderr


def test_linked_agent_directory_is_refused(tmp_path):
    repo = make_repo(tmp_path / "repo")
    commit_file(repo, "README.md", "hello\n", "initial")
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / ".agent-mail").mkdir()
    os.symlink(outside, repo / ".agent-mail" / "alice")
    proc = run(repo, "maf", "mail", "send", "--agent", "bob", "--to", "alice", "--subject", "hi", "--body", "x")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert list(outside.iterdir()) == []


def test_mail_root_configured_elsewhere_on_purpose_still_works(tmp_path):
    repo = make_repo(tmp_path / "repo")
    commit_file(repo, "README.md", "hello\n", "initial")
    elsewhere = tmp_path / "mail-elsewhere"
    env = {"MAF_AGENT_MAIL_ROOT": str(elsewhere)}
    proc = run(repo, "maf", "mail", "send", "--agent", "bob", "--to", "alice", "--subject", "hi", "--body", "x",
               env=env)
    assert proc.returncode == 0, proc.stderr
    assert len(list((elsewhere / "alice" / "new").iterdir())) == 1
    listed = run(repo, "maf", "mail", "list", "--agent", "alice", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [m["subject"] for m in json.loads(listed.stdout)["messages"]] == ["hi"]


def test_mail_root_that_is_itself_a_link_is_refused_even_when_configured(tmp_path):
    repo = make_repo(tmp_path / "repo")
    commit_file(repo, "README.md", "hello\n", "initial")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, tmp_path / "mail-link")
    proc = run(repo, "maf", "mail", "send", "--agent", "bob", "--to", "alice", "--subject", "hi", "--body", "x",
               env={"MAF_AGENT_MAIL_ROOT": str(tmp_path / "mail-link")})
    assert proc.returncode != 0 and "symbolic link" in proc.stderr
    assert list(outside.iterdir()) == []


def test_init_reports_a_committed_link_and_does_not_follow_it(tmp_path):
    repo, outside = linked_repo(tmp_path)
    proc = run(repo, "maf", "init")
    assert proc.returncode == 1
    assert "symbolic link" in proc.stderr and "git tracks" in proc.stderr
    assert list(outside.iterdir()) == []
    as_json = run(repo, "maf", "init", "--json")
    assert as_json.returncode == 1
    problems = json.loads(as_json.stdout)["problems"]
    assert len(problems) == 2 and any(".agent-mail" in p and "symbolic link" in p for p in problems)


def test_init_reports_tracked_mail(tmp_path):
    repo = make_repo(tmp_path / "repo")
    commit_file(repo, ".agent-mail/alice/new/1.msg", "mail\n", "committed mail")
    proc = run(repo, "maf", "init", "--json")
    assert proc.returncode == 1
    [problem] = json.loads(proc.stdout)["problems"]
    assert "git tracks 1 path(s)" in problem and ".agent-mail/alice/new/1.msg" in problem


def test_init_clean_repository_has_no_problems(tmp_path):
    repo = make_repo(tmp_path / "repo")
    commit_file(repo, "README.md", "hello\n", "initial")
    proc = run(repo, "maf", "init", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["problems"] == []
    assert (repo / ".agent-mail").is_dir() and not (repo / ".agent-mail").is_symlink()


def test_preflight_reports_a_committed_link_and_fix_does_not_follow_it(tmp_path):
    repo, outside = linked_repo(tmp_path)
    for args in (["--json"], ["--json", "--fix"]):
        proc = run(repo, "maf-preflight", *args)
        assert proc.returncode != 0
        report = json.loads(proc.stdout)
        [check] = [c for c in report["checks"] if c["id"] == "environment"]
        assert check["status"] == "failed"
        findings = " ".join(check["details"]["findings"])
        assert "symbolic link" in findings and "git tracks" in findings
        assert list(outside.iterdir()) == []
