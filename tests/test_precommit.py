"""End to end: the real pre-commit framework and plain git hooks, real `git commit` and `git push`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BIN, commit_file, git, make_repo

from maf_hooks import git as maf_git

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory):
    """A snapshot of this checkout (tracked and untracked files) as a git repository, one commit."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    target = tmp_path_factory.mktemp("maf-hooks-checkout")
    for name in filter(None, listed):
        source = PROJECT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(target)}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "snapshot"],
                 ["tag", "v-test"]):
        subprocess.run(["git", *args], cwd=target, check=True, capture_output=True, env={**os.environ, **env})
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=target, check=True, capture_output=True,
                         text=True).stdout.strip()
    return target, sha


@pytest.fixture(scope="session")
def precommit_home(tmp_path_factory):
    """One pre-commit cache for the session: the hook environment is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def consumer(tmp_path, hook_repo, precommit_home, monkeypatch):
    """A consumer repository that lists maf-hooks in .pre-commit-config.yaml, hooks installed."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(precommit_home))
    repo = make_repo(tmp_path / "consumer", email="bob@example.com")
    path, sha = hook_repo
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {path}\n"
        f"    rev: {sha}\n"
        "    hooks:\n"
        "      - id: maf-reservations\n"
        "      - id: maf-reservations-push\n"
    )
    commit_file(repo, "README.md", "consumer\n", "initial")
    git("add", ".pre-commit-config.yaml", cwd=repo)
    git("commit", "-q", "-m", "add pre-commit config", cwd=repo)
    precommit(repo, "install", *install_args())
    remote = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=repo)
    git("push", "-q", "-u", "origin", "main", cwd=repo)
    return repo


def install_args() -> list:
    """``--hook-type`` for every git hook type of the hook table."""
    return [arg for hook_type in maf_git.HOOK_TYPES for arg in ("--hook-type", hook_type)]


def precommit(repo, *args, env=None, check=True):
    proc = subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def maf_lease(repo, *args):
    proc = subprocess.run([str(BIN / "maf-lease"), *args], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


def write(repo, name, content="change\n"):
    path = Path(repo) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def commit(repo, *args, env=None):
    return git("commit", "-m", "work", *args, cwd=repo, check=False, env=env)


BOB = {"MAF_AGENT_ID": "bob"}


def test_framework_commit_refused_then_override_release_clean(consumer):
    maf_lease(consumer, "acquire", "src/", "--agent", "alice", "--reason", "parser rewrite")
    write(consumer, "src/parser.py")
    git("add", "src/parser.py", cwd=consumer)
    refused = commit(consumer, env=BOB)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "RESERVATION_CONFLICT" in output and "alice" in output and "parser rewrite" in output
    assert git("rev-list", "--count", "HEAD", cwd=consumer).stdout.strip() == "2"
    assert len(os.listdir(consumer / ".agent-mail" / "alice" / "new")) == 1

    overridden = commit(consumer, env={**BOB, "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "hotfix"})
    assert overridden.returncode == 0, overridden.stdout + overridden.stderr
    assert "OVERRIDDEN" in overridden.stdout + overridden.stderr

    maf_lease(consumer, "release", "src/", "--agent", "alice")
    write(consumer, "src/parser.py", "again\n")
    git("add", "src/parser.py", cwd=consumer)
    clean = commit(consumer, env=BOB)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "RESERVATION_CONFLICT" not in clean.stdout + clean.stderr


def test_framework_push_refused_for_commits_touching_a_lease(consumer):
    write(consumer, "lib/util.py")
    git("add", "lib/util.py", cwd=consumer)
    assert commit(consumer, env=BOB).returncode == 0
    maf_lease(consumer, "acquire", "lib/**", "--agent", "alice")
    pushed = git("push", "origin", "main", cwd=consumer, check=False, env=BOB)
    assert pushed.returncode != 0
    assert "RESERVATION_CONFLICT" in pushed.stdout + pushed.stderr and "lib/util.py" in pushed.stdout + pushed.stderr
    assert "this push is refused" in pushed.stdout + pushed.stderr
    forced = git("push", "origin", "main", cwd=consumer, check=False,
                 env={**BOB, "MAF_RESERVATION_OVERRIDE": "yes", "MAF_OVERRIDE_REASON": "release"})
    assert forced.returncode == 0, forced.stdout + forced.stderr


def test_framework_new_branch_push_checks_commits_not_on_remote(consumer):
    git("checkout", "-q", "-b", "topic", cwd=consumer)
    write(consumer, "held/a.txt")
    git("add", "held/a.txt", cwd=consumer)
    assert commit(consumer, env=BOB).returncode == 0
    maf_lease(consumer, "acquire", "held/", "--agent", "alice")
    pushed = git("push", "-u", "origin", "topic", cwd=consumer, check=False, env=BOB)
    assert pushed.returncode != 0 and "held/a.txt" in pushed.stdout + pushed.stderr


def test_framework_run_range_check_like_ci(consumer):
    base = git("rev-parse", "HEAD", cwd=consumer).stdout.strip()
    write(consumer, "ci/x.txt")
    git("add", "ci/x.txt", cwd=consumer)
    assert commit(consumer, env=BOB).returncode == 0
    maf_lease(consumer, "acquire", "ci/", "--agent", "alice")
    run = precommit(consumer, "run", "maf-reservations-push", "--hook-stage", "pre-push",
                    "--from-ref", base, "--to-ref", "HEAD", env={**BOB, "CI": "true"}, check=False)
    assert run.returncode == 1 and "ci/x.txt" in run.stdout


def test_try_repo_runs_the_hook(tmp_path, hook_repo, precommit_home, monkeypatch):
    monkeypatch.setenv("PRE_COMMIT_HOME", str(precommit_home))
    repo = make_repo(tmp_path / "trial")
    commit_file(repo, "README.md")
    maf_lease(repo, "acquire", "README.md", "--agent", "alice")
    write(repo, "README.md", "edited\n")
    git("add", "README.md", cwd=repo)
    path, sha = hook_repo
    tried = precommit(repo, "try-repo", str(path), "maf-reservations", "--ref", sha, env=BOB, check=False)
    assert tried.returncode == 1 and "RESERVATION_CONFLICT" in tried.stdout


# --- plain git hooks, without the framework ---------------------------------------------------

def install_plain_hooks(repo):
    hooks = Path(git("rev-parse", "--git-common-dir", cwd=repo).stdout.strip())
    hooks = (Path(repo) / hooks).resolve() / "hooks"
    hooks.mkdir(exist_ok=True)
    for name, entry in (("pre-commit", "maf-reservations"), ("pre-push", "maf-reservations-push")):
        script = hooks / name
        script.write_text(f'#!/bin/sh\nexec "{BIN / entry}" "$@"\n')
        script.chmod(0o755)


def pushed_repo_with_plain_hooks(tmp_path):
    """bob's clone with held.txt committed and pushed to a bare remote, the plain hooks installed."""
    repo = make_repo(tmp_path / "plain", email="bob@example.com")
    commit_file(repo, "held.txt")
    remote = tmp_path / "r.git"
    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=repo)
    git("push", "-q", "-u", "origin", "main", cwd=repo)
    install_plain_hooks(repo)
    return repo


def test_plain_hooks_commit_a_and_push(tmp_path):
    repo = pushed_repo_with_plain_hooks(tmp_path)
    maf_lease(repo, "acquire", "held.txt", "--agent", "alice")
    write(repo, "held.txt", "edited\n")
    refused = git("commit", "-a", "-m", "all", cwd=repo, check=False)  # the temporary index of commit -a
    assert refused.returncode == 1 and "held.txt" in refused.stderr
    only = git("commit", "-m", "only", "held.txt", cwd=repo, check=False)  # commit PATH
    assert only.returncode == 1
    git("checkout", "held.txt", cwd=repo)
    commit_file(repo, "other.txt")  # passes the hook
    maf_lease(repo, "release", "held.txt", "--agent", "alice")
    write(repo, "held.txt", "edited\n")
    git("commit", "-q", "-a", "-m", "now free", cwd=repo)
    maf_lease(repo, "acquire", "held.txt", "--agent", "alice")
    pushed = git("push", "origin", "main", cwd=repo, check=False)
    assert pushed.returncode == 1 and "held.txt" in pushed.stderr


def test_plain_hooks_in_linked_worktree(tmp_path):
    repo = make_repo(tmp_path / "main", email="bob@example.com")
    commit_file(repo, "a.txt")
    install_plain_hooks(repo)
    worktree = tmp_path / "wt"
    git("worktree", "add", "-q", "-b", "wt", str(worktree), cwd=repo)
    maf_lease(repo, "acquire", "a.txt", "--agent", "alice")
    write(worktree, "a.txt", "from the worktree\n")
    git("add", "a.txt", cwd=worktree)
    refused = git("commit", "-m", "wt", cwd=worktree, check=False)
    assert refused.returncode == 1 and "alice" in refused.stderr
    # the mail root is shared: at the top of the main worktree
    assert (repo / ".agent-mail" / "alice" / "new").is_dir() and not (worktree / ".agent-mail").exists()


def test_maf_init_sets_up_and_is_idempotent(tmp_path, cli):
    repo = make_repo(tmp_path / "fresh")
    commit_file(repo, "x.txt")
    first = cli(repo, "init", "--write")
    assert first.code == 0, first.err
    assert (repo / ".git" / "maf" / "runtime.db").exists() and (repo / ".agent-mail").is_dir()
    assert "/.agent-mail/" in (repo / ".git" / "info" / "exclude").read_text()
    config = (repo / ".pre-commit-config.yaml").read_text()
    assert "id: maf-reservations" in config and "id: maf-reservations-push" in config
    second = cli(repo, "init", "--write")
    assert second.code == 0 and "nothing to change" in second.out
    assert (repo / ".pre-commit-config.yaml").read_text() == config
    assert (repo / ".git" / "info" / "exclude").read_text().count(".agent-mail") == 1
    assert git("status", "--porcelain", cwd=repo).stdout.strip() == "?? .pre-commit-config.yaml"


def test_maf_init_appends_to_existing_config_and_prints_remote_form(tmp_path, cli):
    repo = make_repo(tmp_path / "existing")
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n-   repo: https://example.invalid/other\n    rev: v1\n    hooks:\n    -   id: other\n"
        "default_stages: [pre-commit]\n"
    )
    assert cli(repo, "init", "--write").code == 0
    text = (repo / ".pre-commit-config.yaml").read_text()
    assert text.index("maf-reservations") < text.index("default_stages")
    import yaml

    loaded = yaml.safe_load(text)
    assert [r["repo"] for r in loaded["repos"]] == ["https://example.invalid/other", "local"]
    shown = cli(repo, "init", "--repo", "https://example.invalid/maf-hooks", "--rev", "v0.1.0")
    assert "rev: v0.1.0" in shown.out and "- id: maf-reservations-push" in shown.out
    assert cli(repo, "init", "--repo", "https://example.invalid/maf-hooks").code == 2


def test_maf_init_local_entry_works_with_framework(tmp_path, cli, precommit_home, monkeypatch):
    monkeypatch.setenv("PRE_COMMIT_HOME", str(precommit_home))
    repo = make_repo(tmp_path / "local", email="bob@example.com")
    commit_file(repo, "x.txt")
    assert cli(repo, "init", "--write").code == 0
    precommit(repo, "install", *install_args())
    maf_lease(repo, "acquire", "x.txt", "--agent", "alice")
    write(repo, "x.txt", "edit\n")
    git("add", "x.txt", ".pre-commit-config.yaml", cwd=repo)
    refused = commit(repo)
    assert refused.returncode == 1 and "RESERVATION_CONFLICT" in refused.stdout + refused.stderr


def test_framework_push_of_a_new_root_history_is_checked(tmp_path, hook_repo, precommit_home, monkeypatch):
    # pre-commit runs pre-push hooks in "all files" mode, without a range, for a branch that
    # starts with a root commit not on the remote: the hook must still check its commits
    monkeypatch.setenv("PRE_COMMIT_HOME", str(precommit_home))
    repo = make_repo(tmp_path / "rooted", email="bob@example.com")
    path, sha = hook_repo
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {path}\n    rev: {sha}\n    hooks:\n      - id: maf-reservations\n"
        "      - id: maf-reservations-push\n")
    write(repo, "src/a.py")
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "root", "--no-verify", cwd=repo)
    precommit(repo, "install", "--hook-type", "pre-commit", "--hook-type", "pre-push")
    remote = tmp_path / "rooted.git"
    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=repo)
    maf_lease(repo, "acquire", "src/", "--agent", "alice")
    pushed = git("push", "origin", "main", cwd=repo, check=False, env=BOB)
    assert pushed.returncode != 0 and "src/a.py" in pushed.stdout + pushed.stderr


def test_maf_init_extends_a_flow_style_config_and_ignores_commented_ids(tmp_path, cli):
    from pre_commit.clientlib import load_config

    repo = make_repo(tmp_path / "flow")
    text = '{"repos": [{"repo": "x", "rev": "1", "hooks": [{"id": "a"}]}], "fail_fast": true}\n'
    (repo / ".pre-commit-config.yaml").write_text(text)
    written = cli(repo, "init", "--write")
    assert written.code == 0, written.err
    flow = (repo / ".pre-commit-config.yaml").read_text()
    assert flow.startswith("{") and "\n  " not in flow  # still one flow mapping
    config = load_config(str(repo / ".pre-commit-config.yaml"))  # pre-commit's own schema check
    assert config["fail_fast"] is True and config["default_install_hook_types"] == list(maf_git.HOOK_TYPES)
    assert [h["id"] for r in config["repos"] for h in r["hooks"]] == ["a", *maf_git.GIT_HOOKS]
    commented = "repos:\n  - repo: local\n    hooks: []\n#      - id: maf-reservations\n#      - id: maf-reservations-push\n"
    (repo / ".pre-commit-config.yaml").write_text(commented)
    assert cli(repo, "init", "--write").code == 0
    import yaml

    hooks = [h["id"] for r in yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"] for h in r["hooks"]]
    assert hooks == ["maf-reservations", "maf-reservations-push"]


COMMENTED = """\
# the team's hooks (keep this comment)
repos:
-   repo: https://example.invalid/other   # pinned by hand
    rev: v1
    hooks:
    -   id: other
        args: ['--strict']

# stages for everyone
default_stages: [pre-commit]
"""


def test_maf_init_keeps_comments_layout_and_values(tmp_path, cli):
    repo = make_repo(tmp_path / "commented")
    (repo / ".pre-commit-config.yaml").write_text(COMMENTED)
    result = cli(repo, "init", "--write")
    assert result.code == 0, result.err
    assert "set default_install_hook_types: [pre-commit, pre-merge-commit, pre-push]" in result.out
    text = (repo / ".pre-commit-config.yaml").read_text()
    head, tail = COMMENTED.split("\n\n# stages")
    # every line of the file is still there, in its place; the entry goes at the end of repos:,
    # before the comment that belongs to the next key, in the file's own indentation
    assert text.startswith("# the team's hooks (keep this comment)\n"
                           "default_install_hook_types: [pre-commit, pre-merge-commit, pre-push]\n"
                           + head.split("\n", 1)[1] + "\n-   repo: local\n    hooks:\n    -   id: maf-reservations\n")
    assert text.endswith("\n\n# stages" + tail)
    import yaml

    loaded = yaml.safe_load(text)
    assert loaded["repos"][0] == {"repo": "https://example.invalid/other", "rev": "v1",
                                  "hooks": [{"id": "other", "args": ["--strict"]}]}
    assert loaded["default_stages"] == ["pre-commit"]


def test_maf_init_completes_an_existing_install_types_list(tmp_path, cli):
    repo = make_repo(tmp_path / "types")
    (repo / ".pre-commit-config.yaml").write_text(
        "default_install_hook_types: [pre-commit, commit-msg]  # ours\nrepos: []\n")
    result = cli(repo, "init", "--write", "--json")
    assert result.code == 0, result.err
    import json

    assert "added pre-merge-commit, pre-push to default_install_hook_types in .pre-commit-config.yaml" in \
        json.loads(result.out)["changes"][-1]
    import yaml

    loaded = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    assert loaded["default_install_hook_types"] == ["pre-commit", "commit-msg", "pre-merge-commit", "pre-push"]
    assert "# ours" in (repo / ".pre-commit-config.yaml").read_text()
    again = (repo / ".pre-commit-config.yaml").read_text()
    assert cli(repo, "init", "--write").code == 0
    assert (repo / ".pre-commit-config.yaml").read_text() == again


@pytest.mark.parametrize("text, said", [
    ("repos: [\n", "not valid YAML"),
    ("- a\n- b\n", "not a mapping"),
    ("repos: {}\n", "not a list"),
    ("default_install_hook_types: pre-commit\nrepos: []\n", "is not a list"),
])
def test_maf_init_refuses_a_config_it_cannot_edit_and_leaves_it(tmp_path, cli, text, said):
    repo = make_repo(tmp_path / "bad")
    (repo / ".pre-commit-config.yaml").write_text(text)
    refused = cli(repo, "init", "--write")
    assert refused.code == 2 and said in refused.err and "Traceback" not in refused.err
    assert (repo / ".pre-commit-config.yaml").read_text() == text


def test_plain_precommit_install_after_maf_init_installs_every_hook_type(tmp_path, cli, precommit_home,
                                                                         monkeypatch):
    monkeypatch.setenv("PRE_COMMIT_HOME", str(precommit_home))
    repo = make_repo(tmp_path / "plain", email="bob@example.com")
    commit_file(repo, "x.txt")
    (repo / ".pre-commit-config.yaml").write_text(
        "# the team's hooks\nrepos:\n-   repo: meta  # pre-commit's own\n    hooks:\n    -   id: identity\n")
    assert cli(repo, "init", "--write").code == 0
    precommit(repo, "install")  # no --hook-type: the config's default_install_hook_types
    for hook_type in maf_git.HOOK_TYPES:
        script = repo / ".git" / "hooks" / hook_type
        assert script.is_file() and os.access(script, os.X_OK), hook_type
        text = script.read_text()
        assert "File generated by pre-commit" in text and f"--hook-type={hook_type}" in text, hook_type
    maf_lease(repo, "acquire", "x.txt", "--agent", "alice")
    write(repo, "x.txt", "edit\n")
    git("add", "x.txt", cwd=repo)
    refused = commit(repo)
    assert refused.returncode == 1 and "RESERVATION_CONFLICT" in refused.stdout + refused.stderr


def test_framework_automatic_merge_is_checked(consumer):
    lines = "".join(f"{n}\n" for n in range(1, 10))
    write(consumer, "src/m.py", lines)
    git("add", "src/m.py", cwd=consumer)
    assert commit(consumer, env=BOB).returncode == 0
    git("checkout", "-q", "-b", "side", cwd=consumer)
    write(consumer, "src/m.py", lines.replace("1\n", "one\n", 1))
    git("commit", "-q", "-am", "side", cwd=consumer, env=BOB)
    git("checkout", "-q", "main", cwd=consumer)
    write(consumer, "src/m.py", lines.replace("9\n", "nine\n"))
    git("commit", "-q", "-am", "main", cwd=consumer, env=BOB)
    maf_lease(consumer, "acquire", "src/m.py", "--agent", "alice")
    merged = git("merge", "--no-edit", "side", cwd=consumer, check=False, env=BOB)  # merges cleanly
    assert merged.returncode != 0 and "RESERVATION_CONFLICT" in merged.stdout + merged.stderr
    assert (consumer / ".git" / "MERGE_HEAD").exists()  # the merge commit was not made


# --- the one table of hook ids and stages -----------------------------------------------------

def test_hook_manifest_declares_the_stages_of_the_hook_table():
    from pre_commit.clientlib import load_manifest

    manifest = load_manifest(str(PROJECT / ".pre-commit-hooks.yaml"))
    assert {hook["id"]: tuple(hook["stages"]) for hook in manifest} == maf_git.HOOK_STAGES
    assert maf_git.HOOK_TYPES == ("pre-commit", "pre-merge-commit", "pre-push")


def test_maf_init_entries_declare_the_stages_of_the_hook_table(tmp_path, cli):
    from pre_commit.clientlib import load_config

    repo = make_repo(tmp_path / "staged")
    result = cli(repo, "init", "--write")
    assert result.code == 0, result.err
    assert result.out.endswith("Then install the git hooks: pre-commit install\n")  # the types are in the file
    config = load_config(str(repo / ".pre-commit-config.yaml"))
    listed = {hook["id"]: tuple(hook["stages"]) for entry in config["repos"] for hook in entry["hooks"]}
    assert listed == maf_git.GIT_HOOKS
    remote = cli(repo, "init", "--repo", "https://example.invalid/maf-hooks", "--rev", "v1")
    assert maf_git.install_command() in remote.out  # shown, not written: the full command
    assert [line.split("id: ")[1] for line in remote.out.splitlines() if "- id: " in line] == list(maf_git.GIT_HOOKS)


def test_plain_push_of_a_branch_name_that_is_no_utf8_is_still_checked(tmp_path):
    """git's ref lines are read as bytes: a strict text stdin once read a non-UTF-8 branch name
    as "no ref lines" and let the push through unchecked."""
    repo = pushed_repo_with_plain_hooks(tmp_path)
    write(repo, "held.txt", "edited\n")
    git("commit", "-q", "-a", "-m", "edit", cwd=repo)
    maf_lease(repo, "acquire", "held.txt", "--agent", "alice")
    branch = os.fsdecode(b"caf\xe9")
    git("branch", branch, cwd=repo)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    pushed = git("push", "origin", branch, cwd=repo, check=False, env=env)
    assert pushed.returncode == 1 and "held.txt" in pushed.stderr
