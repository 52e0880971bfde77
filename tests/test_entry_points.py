"""Every console script answers ``--version`` and ``-h``/``--help`` (exit 0) and refuses an unknown
option (exit 2); for the hook entry points neither runs the hook, and the pre-push entry still
takes git's ``<remote> <url>``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BIN, commit_file, git, make_repo

import maf_hooks
from maf_hooks.context import Context
from maf_hooks.core import leases

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

PROJECT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["scripts"])
HOOKS = ("maf-reservations", "maf-reservations-push")


def run(script: str, *args: str, cwd, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / script), *args], cwd=cwd, capture_output=True, text=True, input=stdin,
                          timeout=60)


def test_the_scripts_are_the_five_documented():
    assert SCRIPTS == ["maf", "maf-lease", "maf-preflight", "maf-reservations", "maf-reservations-push"]


def test_the_version_lives_in_one_place():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "maf_hooks.__version__"}
    from importlib.metadata import version

    assert version("maf-hooks") == maf_hooks.__version__


@pytest.mark.parametrize("script", SCRIPTS)
def test_version_names_the_script_and_the_one_version(script, tmp_path):
    proc = run(script, "--version", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == f"{script} (maf-hooks) {maf_hooks.__version__}\n"


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_exits_0_with_the_usage(script, flag, tmp_path):
    proc = run(script, flag, cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert proc.stdout.lower().startswith(f"usage: {script}")


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_unknown_option_exits_2(script, tmp_path):
    proc = run(script, "--no-such-option", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--no-such-option" in proc.stderr and "usage" in proc.stderr.lower()


@pytest.fixture
def refusing_repo(tmp_path):
    """A repository where the hook, if it ran, would refuse: a staged change of alice's leased
    file, committed by bob."""
    repo = make_repo(tmp_path / "repo")
    commit_file(repo, "src/app.py", "v1\n")
    with Context(cwd=str(repo)).store() as store:
        leases.acquire(store, "alice", ["src/app.py"], 60 * 60_000)
    (repo / "src" / "app.py").write_text("v2\n")
    git("add", "src/app.py", cwd=repo)
    return repo


@pytest.mark.parametrize("script", HOOKS)
@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--version"], ["--bogus"], ["--", "a", "b", "c"]])
def test_the_hook_entries_never_run_the_hook_for_their_own_options(script, args, refusing_repo, monkeypatch):
    monkeypatch.setenv("MAF_AGENT_ID", "bob")
    proc = run(script, *args, cwd=refusing_repo)
    assert "RESERVATION" not in proc.stdout + proc.stderr and "alice" not in proc.stdout + proc.stderr
    assert proc.returncode == (2 if args[0] in ("--bogus", "--") else 0)
    assert conflicts(refusing_repo) == []  # nothing recorded: the hook did not run


def conflicts(repo) -> list:
    proc = run("maf", "lease", "conflicts", "--json", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["conflicts"]


def test_the_commit_hook_still_decides_and_takes_no_arguments(refusing_repo, monkeypatch):
    monkeypatch.setenv("MAF_AGENT_ID", "bob")
    proc = run("maf-reservations", cwd=refusing_repo)
    assert proc.returncode == 1 and "RESERVATION_CONFLICT" in proc.stderr and "alice" in proc.stderr
    assert len(conflicts(refusing_repo)) == 1
    proc = run("maf-reservations", "src/app.py", cwd=refusing_repo)
    assert proc.returncode == 2 and "takes no arguments" in proc.stderr and "RESERVATION" not in proc.stderr


def test_the_push_hook_takes_gits_remote_and_url_as_a_plain_git_hook(tmp_path, monkeypatch):
    """git runs .git/hooks/pre-push with `<remote> <url>` and the ref lines on stdin: the entry
    accepts both and refuses a push of a commit that changes alice's file."""
    repo = make_repo(tmp_path / "repo")
    remote = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=repo)
    commit_file(repo, "src/app.py", "v1\n")
    git("push", "-q", "origin", "main", cwd=repo)
    hook = repo / ".git" / "hooks" / "pre-push"
    hook.write_text(f'#!/bin/sh\nexec "{BIN / "maf-reservations-push"}" "$@"\n')
    hook.chmod(0o755)
    with Context(cwd=str(repo)).store() as store:
        leases.acquire(store, "alice", ["src/app.py"], 60 * 60_000)
    monkeypatch.setenv("MAF_RESERVATION_HOOK_MODE", "off")  # bob's commit itself goes through
    commit_file(repo, "src/app.py", "v2\n")
    monkeypatch.delenv("MAF_RESERVATION_HOOK_MODE")
    monkeypatch.setenv("MAF_AGENT_ID", "bob")
    proc = git("push", "origin", "main", cwd=repo, check=False)
    assert proc.returncode != 0 and "RESERVATION_CONFLICT" in proc.stderr and "alice" in proc.stderr
    assert "no such option" not in proc.stderr and "usage" not in proc.stderr.lower()
    head = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    assert git("rev-parse", "main", cwd=remote).stdout.strip() != head  # nothing pushed


def test_a_hook_script_ends_with_its_objects_frozen_and_its_answer_intact():
    """Once answered, the hook's console scripts freeze what the process made (its shutdown then
    skips walking it: benchmarks/bench_grid.py measures the time), returning the code unchanged."""
    code = ("import gc, sys\nfrom maf_hooks.hooks import ended\n"
            "before = gc.get_freeze_count()\ncode = ended(7)\n"
            "sys.stderr.write('written after\\n')\n"
            "print(before, gc.get_freeze_count() > 0, code)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout.split(), proc.stderr) == (0, ["0", "True", "7"], "written after\n")
