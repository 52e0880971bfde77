"""docs/ci.md, run: every block marked ``<!-- ci-test: NAME -->`` is executed in a temporary
repository with the CI system's variables replaced by real commits, and the job must pass on a
clean range and fail on a range that touches another agent's exclusive lease.

The jobs' install step runs for real: ``pip`` is a fresh virtualenv's (first on PATH, as on a CI
runner), and ``MAF_HOOKS_URL`` is the address of a clone of this checkout tagged like the release
(tests/installs.py), so ``maf-preflight`` is the one that step installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import BIN, commit_file, git, make_repo
from installs import environment, release_clone
from test_install import clone_url

from maf_hooks.context import Context
from maf_hooks.core import leases

yaml = pytest.importorskip("yaml")  # PyYAML comes with pre-commit

PROJECT = Path(__file__).resolve().parent.parent
DOC = PROJECT / "docs" / "ci.md"
ZERO = "0" * 40
BLOCK = re.compile(r"<!-- ci-test: (?P<name>[\w-]+) -->\s*\n```(?P<lang>\w+)\n(?P<body>.*?)\n```", re.S)
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def doc_blocks() -> dict:
    blocks = {m.group("name"): m.group("body") for m in BLOCK.finditer(DOC.read_text())}
    assert set(blocks) == {"github-actions", "gitlab-ci", "pre-commit"}, set(blocks)
    return blocks


@pytest.fixture
def ci_repo(tmp_path):
    """A clone with an origin: `base` pushed, then `clean` (a free path) and `touching` (a path
    alice leases exclusively) on top, not pushed. The lease database is where CI would share it."""
    repo = make_repo(tmp_path / "work")
    remote = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=repo)
    commit_file(repo, "README.md", "project\n", "base")
    commit_file(repo, "src/app.py", "v1\n", "app")
    git("push", "-q", "origin", "main", cwd=repo)
    shas = {"base": git("rev-parse", "HEAD", cwd=repo).stdout.strip()}
    commit_file(repo, "docs/guide.md", "guide\n", "docs")
    shas["clean"] = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    commit_file(repo, "src/app.py", "v2\n", "touch the leased file")
    shas["touching"] = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    git("checkout", "-q", shas["clean"], cwd=repo)
    with Context(cwd=str(repo)).store() as store:
        leases.acquire(store, "alice", ["src/app.py"], 60 * 60_000)
    clone = release_clone(tmp_path)
    env = {**environment(tmp_path / "runner"), "MAF_HOOKS_URL": clone_url(clone),
           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    assert shutil.which("maf-preflight", path=env["PATH"]) is None  # until the job installs it
    return repo, shas, env


def run_shell(script: str, repo, env, shell=("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c")):
    return subprocess.run([*shell, script], cwd=repo, env=env, capture_output=True, text=True, timeout=120)


def github_steps(text: str, expressions: dict):
    """The workflow's `run` steps as (name, script, env); `uses` steps as (name, None, with)."""
    workflow = yaml.safe_load(text)
    (job,) = workflow["jobs"].values()

    def substitute(value):
        def one(match):
            assert match.group(1) in expressions, f"unknown expression {match.group(0)} in docs/ci.md"
            return expressions[match.group(1)]
        return EXPRESSION.sub(one, str(value))

    for step in job["steps"]:
        if "run" in step:
            env = {**job.get("env", {}), **step.get("env", {})}
            yield step.get("name", step["run"]), step["run"], {k: substitute(v) for k, v in env.items()}
        else:
            yield step.get("name", step["uses"]), None, step.get("with", {})


def test_github_actions_workflow(ci_repo):
    repo, shas, env = ci_repo
    text = doc_blocks()["github-actions"]
    run_names = []

    def run_workflow(before, after, *, github_env):
        expressions = {
            "github.event.before": before, "github.sha": after,
            "github.event.pull_request.base.sha": before, "github.event.pull_request.head.sha": after,
            "github.event.repository.default_branch": "main", "vars.MAF_HOOKS_URL": env["MAF_HOOKS_URL"],
        }
        results = {}
        for name, script, step_env in github_steps(text, expressions):
            if script is None:
                continue
            run_names.append(name)
            results[name] = run_shell(script, repo, {**env, **github_env, **{k: str(v) for k, v in step_env.items()}})
        return results

    results = run_workflow(shas["base"], shas["clean"], github_env={"GITHUB_ACTIONS": "true"})
    for name, proc in results.items():
        assert proc.returncode == 0, f"{name}:\n{proc.stdout}\n{proc.stderr}"
    installed = shutil.which("maf-preflight", path=env["PATH"])
    assert installed and installed.startswith(str(Path(env["VIRTUAL_ENV"]))), installed
    preflight = results["Preflight"].stdout
    assert "preflight passed" in preflight and "::warning title=maf-preflight hooks::" in preflight
    document = json.loads((repo / "reports" / "preflight.json").read_text())
    assert document["status"] == "passed" and document["agentId"] == "ci"
    suite = ET.parse(repo / "reports" / "preflight.xml").getroot()
    assert suite.get("tests") == "7" and suite.get("failures") == "0"
    ranged = results["Reservations on the pushed commits"].stdout
    assert "PASS  Reservations [reservations]" in ranged and "1 active lease; 1 changed path;" in ranged
    # the files the `uses:` steps upload exist
    workflow = yaml.safe_load(text)
    (job,) = workflow["jobs"].values()
    uploads = [step["with"] for step in job["steps"] if "uses" in step and "upload-artifact" in step["uses"]]
    reports = [step["with"] for step in job["steps"] if "uses" in step and "junit" in step["uses"]]
    assert uploads and all((repo / u["path"]).exists() for u in uploads)
    assert reports and all((repo / r["report_paths"]).is_file() for r in reports)
    assert any(step.get("with", {}).get("fetch-depth") == 0 for step in job["steps"])

    # the pushed commits touch alice's lease: the range steps fail and say who holds it
    results = run_workflow(shas["clean"], shas["touching"], github_env={"GITHUB_ACTIONS": "true"})
    for name in ("Reservations on the pushed commits", "Reservations on the pull request's commits"):
        proc = results[name]
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "src/app.py (held by alice)" in proc.stdout
        assert "::error file=src/app.py,title=maf-preflight reservations::" in proc.stdout
    # a branch's first push: "before" is all zeros, compared with the default branch instead
    results = run_workflow(ZERO, shas["touching"], github_env={})
    assert results["Reservations on the pushed commits"].returncode == 1


def test_gitlab_ci_job(ci_repo):
    repo, shas, env = ci_repo
    job_name, job = next(iter(yaml.safe_load(doc_blocks()["gitlab-ci"]).items()))
    assert job_name == "maf-preflight" and job["variables"]["GIT_DEPTH"] == "0"
    script = "\n".join(["set -e", *job.get("before_script", []), *job["script"]])
    variables = {k: str(v) for k, v in job["variables"].items()}

    def run_job(before, after, **extra):
        ci = {"CI_COMMIT_BEFORE_SHA": before, "CI_COMMIT_SHA": after, "CI_DEFAULT_BRANCH": "main", "GITLAB_CI": "true"}
        return run_shell(script, repo, {**env, **variables, **ci, **extra}, shell=("sh", "-c"))

    proc = run_job(shas["base"], shas["clean"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in job["artifacts"]["paths"]:
        assert (repo / path).exists()
    junit = ET.parse(repo / job["artifacts"]["reports"]["junit"]).getroot()
    assert junit.get("failures") == "0" and len(list(junit.iter("testcase"))) == 7
    assert json.loads((repo / "reports" / "preflight.json").read_text())["agentId"] == "ci"

    proc = run_job(shas["clean"], shas["touching"])
    assert proc.returncode == 1 and "src/app.py (held by alice)" in proc.stdout
    proc = run_job(ZERO, shas["touching"])  # a branch's first push: compared with origin/main
    assert proc.returncode == 1 and "src/app.py (held by alice)" in proc.stdout
    proc = run_job(ZERO, shas["clean"], CI_MERGE_REQUEST_DIFF_BASE_SHA=shas["base"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pre_commit_commands(ci_repo):
    repo, shas, env = ci_repo
    config = """repos:
  - repo: local
    hooks:
      - id: maf-reservations
        name: maf-reservations
        entry: maf-reservations
        language: system
        pass_filenames: false
        always_run: true
        stages: [pre-commit]
      - id: maf-reservations-push
        name: maf-reservations-push
        entry: maf-reservations-push
        language: system
        pass_filenames: false
        always_run: true
        stages: [pre-push]
      - id: maf-preflight
        name: maf-preflight
        entry: maf-preflight
        language: system
        pass_filenames: false
        always_run: true
        stages: [manual]
        args: [--junit, reports/preflight.xml]
"""
    (repo / ".pre-commit-config.yaml").write_text(config)
    git("add", ".pre-commit-config.yaml", cwd=repo)
    script = doc_blocks()["pre-commit"]
    # pre-commit and the installed commands (`language: system`): this checkout's
    env = {**env, "MAF_AGENT_ID": "ci", "PATH": f"{BIN}{os.pathsep}{env['PATH']}"}
    proc = run_shell(script, repo, {**env, "FROM_REF": shas["base"], "TO_REF": shas["clean"]})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"maf-preflight\.+Passed", proc.stdout) and re.search(r"maf-reservations-push\.+Passed", proc.stdout)
    assert ET.parse(repo / "reports" / "preflight.xml").getroot().get("tests") == "7"
    proc = run_shell(script, repo, {**env, "FROM_REF": shas["clean"], "TO_REF": shas["touching"]})
    assert proc.returncode == 1 and re.search(r"maf-reservations-push\.+Failed", proc.stdout)
    assert "src/app.py" in proc.stdout and "alice" in proc.stdout


def test_hook_manifest_entry():
    manifest = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    hooks = {hook["id"]: hook for hook in manifest}
    if "maf-preflight" not in hooks:
        pytest.skip("the maf-preflight hook is not in .pre-commit-hooks.yaml yet")
    hook = hooks["maf-preflight"]
    assert hook["entry"] == "maf-preflight" and hook["stages"] == ["manual"]
    assert hook["pass_filenames"] is False and hook["always_run"] is True
