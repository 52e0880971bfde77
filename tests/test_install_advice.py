"""Agents get the CLI wherever the hook comes from: `maf init --repo URL --rev TAG` prints the
install line of that revision (and it installs, for real), and a copy that finds a store newer
than it understands says which copy is older and exactly what to run."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest
from conftest import BIN, git, make_repo
from installs import TAG, environment, release_clone, shell
from test_install import clone_url

import maf_hooks
from maf_hooks.install_advice import git_url, install_lines, is_hook_copy
from maf_hooks.store.sqlite.migrations import SCHEMA_VERSION


@pytest.mark.parametrize("given,wanted", [
    ("https://git.example.com/team/maf-hooks", "git+https://git.example.com/team/maf-hooks"),
    ("git+https://git.example.com/team/maf-hooks", "git+https://git.example.com/team/maf-hooks"),
    ("git@git.example.com:team/maf-hooks.git", "git+ssh://git@git.example.com/team/maf-hooks.git"),
    ("/srv/git/maf-hooks", "git+file://localhost/srv/git/maf-hooks"),
])
def test_git_url_is_what_pip_pipx_and_uv_install_from(given, wanted):
    assert git_url(given) == wanted


def test_a_hook_copy_is_pre_commits_python_environment():
    assert is_hook_copy({"PRE_COMMIT": "1"}, "/home/a/.cache/pre-commit/repoab12/py_env-python3.11")
    assert not is_hook_copy({"PRE_COMMIT": "1"}, "/home/a/.venv")  # repo: local, language: system
    assert not is_hook_copy({}, "/home/a/.cache/pre-commit/repoab12/py_env-python3.11")


def test_init_prints_the_cli_install_line_of_the_same_rev_and_it_installs(tmp_path):
    clone = release_clone(tmp_path)
    url = clone_url(clone)
    repo = make_repo(tmp_path / "project")
    proc = subprocess.run([str(BIN / "maf"), "init", "--repo", url, "--rev", TAG], cwd=repo, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = install_lines(url, TAG)
    assert all(f"  {line}\n" in proc.stdout for line in lines) and f"maf-hooks {TAG}" in proc.stdout
    as_json = subprocess.run([str(BIN / "maf"), "init", "--repo", url, "--rev", TAG, "--json"], cwd=repo,
                             capture_output=True, text=True, timeout=120)
    assert json.loads(as_json.stdout)["cli_install"] == lines
    local = subprocess.run([str(BIN / "maf"), "init", "--json"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert json.loads(local.stdout)["cli_install"] == []  # repo: local runs the CLI already on PATH
    env = environment(tmp_path / "env")
    pip_line = next(line for line in lines if line.startswith("pip "))
    installed = shell(pip_line, repo, env)  # the printed line, run as printed
    assert installed.returncode == 0, installed.stdout + installed.stderr
    version = shell("maf-lease --version", repo, env)
    assert version.stdout == f"maf-lease (maf-hooks) {maf_hooks.__version__}\n", version.stderr


def future_database(repo) -> None:
    """The repository's lease database as a newer maf-hooks would leave it: one schema version on."""
    path = repo / ".git" / "maf" / "runtime.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")


def test_the_cli_says_it_is_the_older_copy_and_names_the_hooks_revision(tmp_path):
    repo = make_repo(tmp_path / "project")
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: https://git.example.com/team/maf-hooks  # the team's\n    rev: v9.0.0\n"
        "    hooks:\n      - id: maf-reservations\n      - id: maf-reservations-push\n")
    future_database(repo)
    proc = subprocess.run([str(BIN / "maf-lease"), "list"], cwd=repo, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 3
    assert "newer than this maf-hooks understands" in proc.stderr and "the database was not changed" in proc.stderr
    assert f"The older copy is this one, the CLI: maf-hooks {maf_hooks.__version__}" in proc.stderr
    pipx, pip = install_lines("https://git.example.com/team/maf-hooks", "v9.0.0", upgrade=True)
    assert f"`{pipx}`" in proc.stderr and f"`{pip}`" in proc.stderr
    assert "pre-commit autoupdate" not in proc.stderr


def test_the_hooks_copy_says_it_is_the_older_one_and_to_run_pre_commit_autoupdate(tmp_path):
    """Through the real pre-commit framework: the hooks come from a `repo:` URL and `rev:`, so the
    hook that refuses the commit is pre-commit's copy, in its own environment."""
    clone = release_clone(tmp_path)
    repo = make_repo(tmp_path / "project")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {clone_url(clone)}\n    rev: {TAG}\n    hooks:\n      - id: maf-reservations\n")
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    installed = subprocess.run([str(BIN / "pre-commit"), "install", "--install-hooks"], cwd=repo, capture_output=True,
                               text=True, env={**os.environ, **env}, timeout=600)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    future_database(repo)
    (repo / "a.txt").write_text("a\n")
    git("add", "a.txt", cwd=repo)
    proc = git("commit", "-q", "-m", "a", cwd=repo, env=env, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "newer than this maf-hooks understands" in output, output
    assert f"The older copy is this one, the hook's: pre-commit's maf-hooks {maf_hooks.__version__}" in output
    assert "`pre-commit autoupdate`" in output
    assert git("rev-list", "--all", cwd=repo).stdout == ""  # nothing committed

