"""`maf-preflight`: configuration, the six built-in checks, --only/--skip, --fix, the outputs
(human, JSON, JUnit, GitHub annotations), records and history. Smoke tests: test_preflight_smoke.py;
the documented CI commands: test_preflight_ci.py."""

from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import commit_file, db_snapshot, git, make_repo

from maf_hooks import git as maf_git
from maf_hooks.cli.preflight import preflight_command
from maf_hooks.context import Context
from maf_hooks.core import leases
from maf_hooks.core.model import SHARED
from maf_hooks.store.sqlite import connection as db
from maf_hooks.store.sqlite import migrations, open_file
from maf_hooks.timeutil import now_ms

PROJECT = Path(__file__).resolve().parent.parent
FIXTURE = PROJECT / "fixtures" / "preflight"
MINUTE = 60_000
SECRET = "s3cr3t-Value-9f2c"
LOCAL_HOOKS = """repos:
  - repo: local
    hooks:
      - id: maf-reservations
        name: maf-reservations
        entry: maf-reservations
        language: system
        pass_filenames: false
        always_run: true
        stages: [pre-commit, pre-merge-commit]
      - id: maf-reservations-push
        name: maf-reservations-push
        entry: maf-reservations-push
        language: system
        pass_filenames: false
        always_run: true
        stages: [pre-push]
"""


def pf(cli, repo, *args, env=None):
    return cli(repo, *args, env=env, command=preflight_command, prog="maf-preflight")


def report(cli, repo, *args, env=None, code=None):
    result = pf(cli, repo, "--json", *args, env=env)
    if code is not None:
        assert result.code == code, result.out + result.err
    return result.code, result.json


def by_id(document) -> dict:
    return {check["id"]: check for check in document["checks"]}


def write_config(repo, text: str) -> None:
    (Path(repo) / "maf.toml").write_text(text)


def db_path(repo) -> str:
    return Context(cwd=str(repo)).db_path


def open_store(repo, clock=now_ms):
    return open_file(db_path(repo), clock)


def acquire(repo, agent, pattern, ttl_ms=30 * MINUTE, *, mode="exclusive", clock=now_ms):
    with open_store(repo, clock) as store:
        result = leases.acquire(store, agent, [pattern], ttl_ms, mode=mode)
    assert result.granted, result.conflicts
    return result.granted[0]


def lease_tables(path) -> list:
    return [table for table in db_snapshot(path) if table[0] != "preflight_executions"]


def fake_distribution(site: Path, name: str, version: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


# --- defaults, configuration ------------------------------------------------------------------

def test_fresh_repository_passes_and_changes_nothing(repo, cli):
    before = git("status", "--porcelain", "--ignored", cwd=repo).stdout
    code, document = report(cli, repo, code=0)
    checks = by_id(document)
    assert [c["id"] for c in document["checks"]] == ["python", "environment", "mcp", "database", "hooks",
                                                      "reservations", "agents"]
    assert {k: c["status"] for k, c in checks.items()} == {
        "python": "passed", "environment": "passed", "mcp": "passed",
        "database": "warning", "hooks": "warning", "reservations": "skipped", "agents": "passed",
    }
    assert "no lease database" in checks["reservations"]["message"]
    assert document["status"] == "passed"
    assert document["summary"] == {"passed": 4, "warnings": 2, "failed": 0, "skipped": 1}
    assert document["checkType"] == "preflight" and document["agentId"] == "dev@example.com"
    assert document["executionId"].startswith("pf-") and document["timestamp"].endswith("Z")
    for check in document["checks"]:
        assert set(check) >= {"id", "name", "status", "message", "details", "durationMs", "attempts"}
    assert not os.path.exists(db_path(repo)) and not (repo / ".agent-mail").exists()
    assert git("status", "--porcelain", "--ignored", cwd=repo).stdout == before
    assert document["recorded"] is False


def test_validate_config_names_every_problem_with_its_key_path(repo, cli):
    write_config(repo, """
[preflight]
retry_count = -1

[preflight.checks.python]
min_version = "three"
required_packages = ["requests>>2", "click"]
interpretr = "python3"

[preflight.checks.environment]
required_vars = ["NODE_ENV", "1BAD"]
optional_vars = ["NODE_ENV"]

[[preflight.smoke_tests]]
id = "api"
type = "api"
url = "ftp://example.com/"
run = "true"

[[preflight.smoke_tests]]
id = "python"
type = "command"

[[preflight.smoke_tests]]
id = "api"
type = "api"
url = "http://127.0.0.1/"
expected_status = "two hundred"
expect_body = "(unclosed"

[[preflight.smoke_tests]]
type = "ping"

[[preflight.smoke_tests]]
id = "slow"
type = "performance"
run = ["true"]

[[preflight.smoke_tests]]
id = "fs"
type = "file_system"

[[preflight.smoke_tests]]
id = "db"
type = "database"
sqlite = "x.db"
query = "select 1"
expected_rows = 1.5
timeout_seconds = 0
""")
    result = pf(cli, repo, "--validate-config")
    assert result.code == 2
    expected = [
        "preflight.retry_count: expected at least 0, got -1",
        "preflight.checks.python.min_version: expected a version such as 3.9 or 3.8.0, got 'three'",
        "preflight.checks.python.required_packages[0]: not a valid requirement 'requests>>2'",
        "preflight.checks.python.interpretr: unknown key (did you mean 'interpreter'?)",
        "preflight.checks.environment.required_vars[1]: '1BAD' is not an environment variable name",
        "preflight.checks.environment.optional_vars: NODE_ENV also listed in required_vars",
        "preflight.smoke_tests[0].run: not used by type 'api' (it belongs to type command or performance)",
        "preflight.smoke_tests[0].url: expected an http:// or https:// URL, got 'ftp://example.com/'",
        "preflight.smoke_tests[1].run: required for type 'command'",
        "preflight.smoke_tests[1].id: 'python' is reserved",
        "preflight.smoke_tests[2].expected_status: expected a whole number, got 'two hundred'",
        "preflight.smoke_tests[2].expect_body: not a valid regular expression",
        "preflight.smoke_tests[2].id: duplicate id 'api' (also smoke_tests[0])",
        "preflight.smoke_tests[3].id: required",
        "preflight.smoke_tests[3].type: expected one of command, integration, performance, api, database, "
        "file_system, got 'ping'",
        "preflight.smoke_tests[4].max_duration_ms: required for type 'performance'",
        "preflight.smoke_tests[5].exists: type 'file_system' needs at least one path in exists or writable",
        "preflight.smoke_tests[6].expected_rows: expected a whole number, got 1.5",
        "preflight.smoke_tests[6].timeout_seconds: expected at least 0.001, got 0",
    ]
    for line in expected:
        assert line in result.err, line
    assert result.out == ""

    as_json = pf(cli, repo, "--validate-config", "--json")
    assert as_json.code == 2
    problems = as_json.json["problems"]
    assert as_json.json["valid"] is False and len(problems) == len(expected)

    # a run with an invalid configuration stops before any check, with the same list
    run = pf(cli, repo)
    assert run.code == 2 and expected[-1] in run.err and run.out == ""


def test_validate_config_accepts_the_fixture_toml_and_json(tmp_path, cli):
    repo = make_repo(tmp_path / "r")
    for name in ("maf.toml",):
        shutil.copy(FIXTURE / name, repo / name)
    result = pf(cli, repo, "--validate-config")
    assert result.code == 0, result.err
    assert "configuration is valid" in result.out and "7 checks, 2 smoke tests" in result.out
    toml_values = Context(cwd=str(repo)).config.section("preflight")
    json_values = Context(cwd=str(repo), config_path=str(FIXTURE / "maf.json")).config.section("preflight")
    assert json_values == toml_values
    assert toml_values["checks"]["python"]["required_packages"] == ["requests", "click"]
    assert toml_values["smoke_tests"][0]["retry_count"] == 3
    result = pf(cli, repo, "--config", str(FIXTURE / "maf.json"), "--validate-config", "--json")
    assert result.code == 0 and result.json["smoke_tests"] == ["api-health-check", "database-connectivity-check"]


def test_enabled_false_and_env_switches_skip_checks(repo, cli):
    write_config(repo, """
[preflight.checks.hooks]
enabled = false

[preflight.checks.python]
enabled = false

[env.ci.preflight.checks.database]
enabled = false
""")
    env = {"MAF_PREFLIGHT_PYTHON_CHECK": "true", "MAF_PREFLIGHT_MCP_CHECK": "false", "MAF_PREFLIGHT_ENV_CHECK": "0"}
    _, document = report(cli, repo, env=env, code=0)
    checks = by_id(document)
    assert checks["python"]["status"] == "passed"  # the variable beats the file
    assert checks["mcp"]["status"] == "skipped"
    assert checks["mcp"]["message"] == "disabled by MAF_PREFLIGHT_MCP_CHECK=false"
    assert checks["environment"]["message"] == "disabled by MAF_PREFLIGHT_ENV_CHECK=false"
    assert checks["hooks"]["message"] == "disabled (preflight.checks.hooks.enabled = false)"
    assert checks["database"]["status"] == "warning"
    _, document = report(cli, repo, "--env", "ci", code=0)
    assert by_id(document)["database"]["status"] == "skipped"
    bad = pf(cli, repo, env={"MAF_PREFLIGHT_PYTHON_CHECK": "maybe"})
    assert bad.code == 2 and "MAF_PREFLIGHT_PYTHON_CHECK (for preflight.checks.python.enabled)" in bad.err


def test_timeout_and_retry_from_environment_and_flags(repo, cli):
    write_config(repo, """
[[preflight.smoke_tests]]
id = "ok"
type = "command"
run = "true"

[[preflight.smoke_tests]]
id = "own"
type = "command"
run = "true"
timeout_seconds = 7
retry_count = 0
""")
    env = {"MAF_PREFLIGHT_TIMEOUT": "12", "MAF_PREFLIGHT_RETRY_COUNT": "5"}
    _, document = report(cli, repo, "--only", "smoke", env=env, code=0)
    details = {c["id"]: c["details"] for c in document["checks"]}
    assert (details["ok"]["timeout_seconds"], details["ok"]["retry_count"]) == (12.0, 5)
    assert (details["own"]["timeout_seconds"], details["own"]["retry_count"]) == (7.0, 0)
    _, document = report(cli, repo, "--only", "smoke", "--timeout", "3.5", "--retry", "1", env=env, code=0)
    details = {c["id"]: c["details"] for c in document["checks"]}
    assert (details["ok"]["timeout_seconds"], details["ok"]["retry_count"]) == (3.5, 1)
    assert (details["own"]["timeout_seconds"], details["own"]["retry_count"]) == (7.0, 0)
    assert pf(cli, repo, "--timeout", "0").code == 2
    assert pf(cli, repo, "--retry", "-1").code == 2


def test_timeout_must_be_a_positive_finite_number(repo, cli):
    for value in ("nan", "inf", "-inf", "-1", "0", "abc"):
        result = pf(cli, repo, "--only", "python", "--timeout", value)
        assert result.code == 2, (value, result.out)
        assert f"'{value}' is not a positive finite number of seconds" in result.err
    assert pf(cli, repo, "--retry", "-1").code == 2
    for value in ("nan", "inf"):
        result = pf(cli, repo, "--only", "python", env={"MAF_PREFLIGHT_TIMEOUT": value})
        assert result.code == 2 and f"expected a finite number, got {value}" in result.err
    write_config(repo, """
[preflight]
retry_backoff_seconds = inf

[[preflight.smoke_tests]]
id = "ok"
type = "command"
run = "true"
timeout_seconds = nan
""")
    result = pf(cli, repo, "--only", "python")
    assert result.code == 2
    assert "preflight.retry_backoff_seconds: expected a finite number, got inf" in result.err
    assert "preflight.smoke_tests[0].timeout_seconds: expected a finite number, got nan" in result.err


# --- only / skip ------------------------------------------------------------------------------

def test_only_and_skip_select_checks(repo, cli):
    write_config(repo, """
[[preflight.smoke_tests]]
id = "echo"
type = "command"
run = "echo hi"
""")
    _, document = report(cli, repo, "--only", "python,environment", code=0)
    assert [c["id"] for c in document["checks"]] == ["python", "environment"]
    assert document["checkType"] == "custom"
    _, document = report(cli, repo, "--only", "smoke", code=0)
    assert [c["id"] for c in document["checks"]] == ["echo"] and document["checkType"] == "smoke_test"
    _, document = report(cli, repo, "--only", "reservations", code=0)
    assert document["checkType"] == "reservation_check"
    _, document = report(cli, repo, "--skip", "hooks", "--skip", "database,echo", code=0)
    checks = by_id(document)
    assert checks["hooks"]["status"] == checks["echo"]["status"] == "skipped"
    assert checks["hooks"]["message"] == "skipped by --skip"
    assert document["summary"]["warnings"] == 0
    for option, value in (("--only", ""), ("--only", ","), ("--only", " , "), ("--skip", "")):
        empty = pf(cli, repo, option, value)
        assert empty.code == 2 and not empty.out, (option, value, empty.out)
        assert f"{option}: no check named (got {value!r})" in empty.err
    unknown = pf(cli, repo, "--only", "pyhton")
    assert unknown.code == 2 and "unknown check 'pyhton'" in unknown.err and "echo" in unknown.err
    assert pf(cli, repo, "--check-only", "--fix").code == 2


# --- python -----------------------------------------------------------------------------------

def test_python_version_and_packages(repo, cli, tmp_path, monkeypatch):
    site = tmp_path / "site"
    fake_distribution(site, "requests", "2.31.0")
    monkeypatch.syspath_prepend(str(site))
    write_config(repo, """
[preflight.checks.python]
min_version = "3.9"
required_packages = ["requests>=2.28", "click", "packaging>=20; python_version >= '3'", "nothere-pkg; sys_platform == 'nope'"]
""")
    _, document = report(cli, repo, "--only", "python", code=0)
    check = document["checks"][0]
    assert check["status"] == "passed"
    assert "requests 2.31.0" in check["message"] and "click" in check["message"]
    assert check["details"]["packages"]["requests"] == {"required": ">=2.28", "installed": "2.31.0", "status": "ok"}
    assert check["details"]["packages"]["nothere-pkg"]["status"] == "not needed here (marker)"

    write_config(repo, """
[preflight.checks.python]
min_version = "99.1"
required_packages = ["requests>=3", "no-such-package-xyz", "click"]
""")
    code, document = report(cli, repo, "--only", "python")
    check = document["checks"][0]
    assert code == 1 and check["status"] == "failed"
    findings = check["details"]["findings"]
    assert any("older than 99.1" in f for f in findings)
    assert "requests 2.31.0 does not satisfy >=3" in findings
    assert "no-such-package-xyz is not installed" in findings
    assert any("pip install 'requests>=3' 'no-such-package-xyz'" in r for r in document["recommendations"])


def test_python_other_interpreter(repo, cli):
    write_config(repo, f"""
[preflight.checks.python]
interpreter = {json.dumps(sys.executable)}
required_packages = ["click"]
""")
    _, document = report(cli, repo, "--only", "python", code=0)
    assert document["checks"][0]["details"]["executable"] == sys.executable
    write_config(repo, """
[preflight.checks.python]
interpreter = "/nonexistent/python9"
""")
    code, document = report(cli, repo, "--only", "python")
    assert code == 1 and "cannot run the interpreter /nonexistent/python9" in document["checks"][0]["message"]


# --- environment ------------------------------------------------------------------------------

def test_environment_variables_present_or_missing_never_values(repo, cli, tmp_path):
    write_config(repo, """
[preflight.checks.environment]
required_vars = ["API_TOKEN", "NODE_ENV", "EMPTY_ONE"]
optional_vars = ["OPTIONAL_SET", "OPTIONAL_UNSET"]

[[preflight.smoke_tests]]
id = "leaky"
type = "command"
run = "echo token=$API_TOKEN; echo also $OPTIONAL_SET >&2; exit 3"
retry_count = 0
""")
    env = {"API_TOKEN": SECRET, "EMPTY_ONE": " ", "OPTIONAL_SET": "another-secret-77", "NODE_ENV": None,
           "GITHUB_ACTIONS": "true"}
    out_file, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    human = pf(cli, repo, "--report", "--output", out_file, "--junit", junit, env=env)
    code, document = report(cli, repo, env=env)
    assert human.code == code == 1
    check = by_id(document)["environment"]
    assert check["status"] == "failed"
    assert check["message"].startswith("required variables not set: NODE_ENV, EMPTY_ONE")
    assert check["details"] == {
        "required": {"API_TOKEN": "present", "NODE_ENV": "missing", "EMPTY_ONE": "empty"},
        "optional": {"OPTIONAL_SET": "present", "OPTIONAL_UNSET": "missing"},
        "findings": ["NODE_ENV is missing", "EMPTY_ONE is empty"],
    }
    leaky = by_id(document)["leaky"]
    assert leaky["details"]["stdout_tail"] == "token=***\n" and leaky["details"]["stderr_tail"] == "also ***\n"
    outputs = [human.out, human.err, json.dumps(document), out_file.read_text(), junit.read_text()]
    for text in outputs:
        assert SECRET not in text and "another-secret-77" not in text
    assert "::error title=maf-preflight environment::required environment variable NODE_ENV is missing" in human.out


# --- mcp --------------------------------------------------------------------------------------

def test_mcp_configuration_files(repo, cli, tmp_path):
    (repo / "good.json").write_text('{"mcpServers": {"fs": {"command": "x", "env": {"KEY": "hidden"}}}}')
    (repo / "empty.json").write_text('{"mcpServers": {}}')
    home_file = Path(os.environ["HOME"]) / "home.json"
    home_file.write_text('{"mcpServers": {"a": {}, "b": {}}}')
    absolute = tmp_path / "abs.json"
    absolute.write_text('{"mcpServers": {"c": {}}}')
    write_config(repo, f"""
[preflight.checks.mcp]
required_configs = ["good.json", "~/home.json", {json.dumps(str(absolute))}]
""")
    _, document = report(cli, repo, "--only", "mcp", code=0)
    check = document["checks"][0]
    assert check["message"] == "3 files, 4 servers"
    assert check["details"]["files"]["~/home.json"] == {"status": "ok", "servers": ["a", "b"]}
    write_config(repo, """
[preflight.checks.mcp]
required_configs = ["good.json", "empty.json"]
""")
    _, document = report(cli, repo, "--only", "mcp", code=0)
    assert document["checks"][0]["status"] == "warning"
    assert "empty.json lists no servers in mcpServers" in document["checks"][0]["message"]
    (repo / "bad.json").write_text('{"mcpServers": {"fs": ')
    (repo / "list.json").write_text('[1, 2]')
    (repo / "none.json").write_text('{"servers": {}}')
    write_config(repo, """
[preflight.checks.mcp]
required_configs = ["missing.json", "bad.json", "list.json", "none.json", "empty.json", "good.json"]
""")
    code, document = report(cli, repo, "--only", "mcp")
    check = document["checks"][0]
    assert code == 1 and check["status"] == "failed"
    assert check["details"]["findings"] == [
        "missing.json not found",
        "bad.json is not valid JSON (Expecting value at line 1, column 23)",
        "list.json does not hold a JSON object",
        "none.json has no mcpServers object",
        "empty.json lists no servers in mcpServers",
    ]
    assert "hidden" not in json.dumps(document)


# --- database ---------------------------------------------------------------------------------

def test_database_states(repo, cli):
    path = db_path(repo)
    _, document = report(cli, repo, "--only", "database", code=0)
    assert document["checks"][0]["status"] == "warning"
    assert "no lease database yet at .git/maf/runtime.db" in document["checks"][0]["message"]

    db.connect(path).close()
    _, document = report(cli, repo, "--only", "database", code=0)
    check = document["checks"][0]
    assert check["status"] == "passed" and check["details"]["journal_mode"] == "wal"
    assert check["details"]["schema_version"] == migrations.latest()

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("INSERT INTO leases (task_id, agent_id, lease_expires_at, attempt) VALUES ('ghost', 'a', 1, 1)")
    conn.commit()
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute(f"PRAGMA user_version = {migrations.latest() - 1}")
    conn.close()
    before = lease_tables(path)
    code, document = report(cli, repo, "--only", "database")
    check = document["checks"][0]
    assert code == 1
    assert check["details"]["findings"] == [
        f"schema version {migrations.latest() - 1} is older than the current {migrations.latest()}",
        "foreign_key_check: 1 row violates foreign keys (in leases)",
        "journal mode is delete, not WAL",
    ]
    assert "`maf-preflight --fix` migrates the lease database and switches it to WAL." in document["recommendations"]
    assert lease_tables(path) == before  # checking changed nothing (but the run's own record)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"

    Path(path).write_bytes(b"this is not a database at all" * 100)
    code, document = report(cli, repo, "--only", "database,reservations")
    assert code == 1 and "corrupt or not an SQLite database" in by_id(document)["database"]["message"]
    assert by_id(document)["reservations"]["message"].startswith("cannot read the leases: The lease database")
    assert document["recorded"] is False


def test_database_newer_schema_fails(repo, cli):
    path = db_path(repo)
    db.connect(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {migrations.latest() + 1}")
    code, document = report(cli, repo, "--only", "database,reservations")
    assert code == 1
    assert "newer than this maf-hooks knows" in by_id(document)["database"]["message"]
    assert "upgrade maf-hooks" in by_id(document)["reservations"]["message"]


def _index_damaged(cli, repo):
    """The lease database with one bit flipped in the pattern index's copy of a leased path only:
    every page is still well formed (quick_check passes), but the index disagrees with its table."""
    from test_damage import LEASED, damaged, install, occurrences, prepare, where

    path, prepared = prepare(cli, repo)
    for offset in occurrences(prepared, LEASED):
        install(path, damaged(prepared, offset, LEASED))
        if where(path) == {"index"}:
            return path
    pytest.fail("no copy of the path in the pattern index")


def test_database_runs_quick_check_by_default_and_integrity_check_when_thorough(repo, cli):
    _index_damaged(cli, repo)
    check = report(cli, repo, "--only", "database", code=0)[1]["checks"][0]
    assert check["status"] == "passed" and "integrity ok (quick_check)" in check["message"]
    assert check["details"]["page_check"] == "quick_check" and check["details"]["integrity_check"] == "ok"

    for args, config in ((["--thorough"], ""), ([], "[preflight.checks.database]\nthorough = true\n")):
        write_config(repo, config)
        code, document = report(cli, repo, "--only", "database", *args)
        check = document["checks"][0]
        assert code == 1 and check["status"] == "failed", (args, config)
        assert check["details"]["page_check"] == "integrity_check"
        assert check["details"]["integrity_check"] != "ok"
        assert check["details"]["findings"][0].startswith("integrity_check: ")
        assert "idx_file_leases_open_pattern" in check["details"]["findings"][0]
        assert any("from a backup" in text for text in document["recommendations"])


def test_database_quick_check_finds_a_damaged_page(repo, cli):
    from test_damage import install, prepare

    path, prepared = prepare(cli, repo)
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'file_leases'").fetchone()[0]
    conn.close()
    start = (root - 1) * page_size
    assert prepared[start] in (0x05, 0x0D)  # a table b-tree page
    # the page's first free block (bytes 1-2 of its header) now points into the header itself
    install(path, prepared[:start + 1] + b"\x00\x20" + prepared[start + 3:])
    code, document = report(cli, repo, "--only", "database")
    check = document["checks"][0]
    assert code == 1 and check["details"]["page_check"] == "quick_check"
    assert check["details"]["findings"][0].startswith("quick_check: "), check["details"]["findings"]
    assert any("from a backup" in text for text in document["recommendations"])


def test_thorough_setting_is_validated(repo, cli):
    write_config(repo, "[preflight.checks.database]\nthorough = 'yes please'\n")
    result = pf(cli, repo, "--validate-config")
    assert result.code == 2 and "preflight.checks.database.thorough" in result.out + result.err


# --- hooks ------------------------------------------------------------------------------------

def test_hooks_listed_installed_required(repo, cli):
    _, document = report(cli, repo, "--only", "hooks", code=0)
    check = document["checks"][0]
    assert check["status"] == "warning"
    assert check["details"]["findings"][0] == "no .pre-commit-config.yaml at the repository root"
    (repo / ".pre-commit-config.yaml").write_text(LOCAL_HOOKS.split("      - id: maf-reservations-push")[0])
    _, document = report(cli, repo, "--only", "hooks", code=0)
    findings = document["checks"][0]["details"]["findings"]
    assert ".pre-commit-config.yaml does not list maf-reservations-push" in findings
    assert "no pre-commit hook installed in .git/hooks" in findings
    write_config(repo, "[preflight.checks.hooks]\nrequired = true\n")
    code, document = report(cli, repo, "--only", "hooks")
    assert code == 1 and document["checks"][0]["status"] == "failed"

    hooks = repo / ".git" / "hooks"
    for name in ("pre-commit", "pre-merge-commit"):
        (hooks / name).write_text(f"#!/bin/sh\nexec pre-commit hook-impl --hook-type={name}\n")
        (hooks / name).chmod(0o755)
    (hooks / "pre-push").write_text("#!/bin/sh\necho something else\n")
    (hooks / "pre-push").chmod(0o644)
    (repo / ".pre-commit-config.yaml").write_text(LOCAL_HOOKS)
    code, document = report(cli, repo, "--only", "hooks")
    assert code == 1
    assert document["checks"][0]["details"]["installed"] == {
        "pre-commit": "installed", "pre-merge-commit": "installed", "pre-push": "not executable"}
    (hooks / "pre-push").chmod(0o755)
    code, document = report(cli, repo, "--only", "hooks")
    assert document["checks"][0]["details"]["installed"]["pre-push"] == "does not run pre-commit"
    (hooks / "pre-push").write_text("#!/bin/sh\nexec maf-reservations-push\n")
    _, document = report(cli, repo, "--only", "hooks", code=0)
    assert document["checks"][0]["status"] == "passed"


def precommit_install(repo, *hook_types):
    args = [arg for hook_type in hook_types for arg in ("--hook-type", hook_type)]
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "install", *args], cwd=repo, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hooks_missing_pre_merge_commit_hook_warns_or_fails(repo, cli):
    # installed as the documentation once said, without the pre-merge-commit stage
    (repo / ".pre-commit-config.yaml").write_text(LOCAL_HOOKS)
    precommit_install(repo, "pre-commit", "pre-push")
    code, document = report(cli, repo, "--only", "hooks", code=0)
    check = document["checks"][0]
    assert check["status"] == "warning"
    assert check["details"]["installed"] == {
        "pre-commit": "installed", "pre-merge-commit": "missing", "pre-push": "installed"}
    assert check["details"]["findings"] == ["no pre-merge-commit hook installed in .git/hooks"]
    assert any("--hook-type pre-merge-commit" in r for r in document["recommendations"])
    write_config(repo, "[preflight.checks.hooks]\nrequired = true\n")
    code, document = report(cli, repo, "--only", "hooks")
    assert code == 1 and document["checks"][0]["status"] == "failed"


def test_fix_installs_the_missing_pre_merge_commit_hook(repo, cli):
    (repo / ".pre-commit-config.yaml").write_text(LOCAL_HOOKS)
    precommit_install(repo, "pre-commit", "pre-push")
    result = pf(cli, repo, "--fix", "--only", "hooks")
    assert result.code == 0, result.out + result.err
    assert any(line.startswith("fixed: installed the pre-merge-commit hook in .git/hooks")
               for line in result.out.splitlines()), result.out
    assert "pre-commit" in (repo / ".git" / "hooks" / "pre-merge-commit").read_text()
    _, document = report(cli, repo, "--only", "hooks", code=0)
    assert document["checks"][0]["status"] == "passed"
    assert set(document["checks"][0]["details"]["installed"]) == set(maf_git.HOOK_TYPES)


def test_hooks_respect_core_hooks_path_and_linked_worktrees(repo, cli, tmp_path):
    (repo / ".pre-commit-config.yaml").write_text(LOCAL_HOOKS)
    git("add", ".pre-commit-config.yaml", cwd=repo)
    git("commit", "-q", "-m", "hooks", cwd=repo)
    default_hooks = repo / ".git" / "hooks"
    for name in maf_git.HOOK_TYPES:
        (default_hooks / name).write_text("#!/bin/sh\nexec pre-commit\n")
        (default_hooks / name).chmod(0o755)
    _, document = report(cli, repo, "--only", "hooks", code=0)
    assert document["checks"][0]["status"] == "passed"

    worktree = tmp_path / "linked"
    git("worktree", "add", "-q", str(worktree), cwd=repo)
    _, document = report(cli, worktree, "--only", "hooks", code=0)
    assert document["checks"][0]["status"] == "passed"  # hooks live in the common directory

    git("config", "core.hooksPath", ".githooks", cwd=repo)
    _, document = report(cli, repo, "--only", "hooks", code=0)
    check = document["checks"][0]
    assert check["status"] == "warning" and check["details"]["hooks_dir"] == ".githooks"
    assert check["details"]["core_hooks_path"] == ".githooks"
    assert any("core.hooksPath is set to .githooks" in r for r in document["recommendations"])
    (repo / ".githooks").mkdir()
    for name in maf_git.HOOK_TYPES:
        shutil.copy(default_hooks / name, repo / ".githooks" / name)
    _, document = report(cli, repo, "--only", "hooks", code=0)
    assert document["checks"][0]["status"] == "passed"


# --- reservations -----------------------------------------------------------------------------

ME = {"MAF_AGENT_ID": "bob"}


def test_reservations_uncommitted_changes_against_leases(repo, cli):
    commit_file(repo, "src/api.py", "v1\n")
    commit_file(repo, "src/staged.py", "v1\n")
    commit_file(repo, "docs/guide.md", "v1\n")
    acquire(repo, "alice", "src/api.py")
    acquire(repo, "alice", "src/staged.py")
    acquire(repo, "alice", "src/new/**")
    acquire(repo, "carol", "docs/", mode=SHARED)
    acquire(repo, "bob", "lib/")
    _, document = report(cli, repo, "--only", "reservations", env=ME, code=0)
    check = document["checks"][0]
    assert check["status"] == "passed" and check["details"]["changed_paths"] == 0

    (repo / "src" / "api.py").write_text("unstaged\n")
    (repo / "src" / "staged.py").write_text("staged\n")
    git("add", "src/staged.py", cwd=repo)
    (repo / "src" / "new").mkdir()
    (repo / "src" / "new" / "untracked.py").write_text("new\n")
    (repo / "docs" / "guide.md").write_text("shared lease\n")
    (repo / "lib").mkdir()
    (repo / "lib" / "mine.py").write_text("my own lease\n")
    (repo / ".gitignore").write_text("ignored/\n")
    (repo / "ignored").mkdir()
    (repo / "ignored" / "x.py").write_text("ignored\n")
    index_before = (repo / ".git" / "index").read_bytes()
    code, document = report(cli, repo, "--only", "reservations", env={**ME, "GITHUB_ACTIONS": "true"})
    check = document["checks"][0]
    assert code == 1 and check["status"] == "failed"
    assert [(c["path"], c["holder"]) for c in check["details"]["conflicts"]] == [
        ("src/api.py", "alice"), ("src/new/untracked.py", "alice"), ("src/staged.py", "alice")]
    assert [(c["path"], c["holder"]) for c in check["details"]["shared"]] == [("docs/guide.md", "carol")]
    assert check["message"].startswith("3 paths with uncommitted changes are under other agents' exclusive leases: "
                                       "src/api.py (held by alice)")
    assert any(r.startswith("Do not commit these paths: ask alice") for r in document["recommendations"])
    assert (repo / ".git" / "index").read_bytes() == index_before  # read without refreshing the index

    human = pf(cli, repo, "--only", "reservations", env={**ME, "GITHUB_ACTIONS": "true"})
    assert human.code == 1
    assert "src/new/untracked.py: under the exclusive lease of alice 'src/new/**'" in human.out
    assert "::error file=src/api.py,title=maf-preflight reservations::src/api.py is leased exclusively by alice" \
        in human.out

    # as alice, her leases are hers to change; bob's lib/ is not
    _, document = report(cli, repo, "--only", "reservations", env={"MAF_AGENT_ID": "alice"}, code=1)
    assert [(c["path"], c["holder"]) for c in document["checks"][0]["details"]["conflicts"]] == [
        ("lib/mine.py", "bob")]
    assert document["checks"][0]["message"].startswith("1 path with uncommitted changes is under")


def test_reservations_expiring_and_stale_leases_warn(repo, cli):
    now = now_ms()
    acquire(repo, "bob", "mine-soon.py", ttl_ms=5 * MINUTE)
    acquire(repo, "bob", "mine-later.py", ttl_ms=60 * MINUTE)
    acquire(repo, "quiet", "old.py", ttl_ms=60 * MINUTE, clock=lambda: now - 50 * MINUTE)  # no heartbeat, lease 50m old
    acquire(repo, "ghost", "abandoned.py", ttl_ms=120 * MINUTE, clock=lambda: now - 90 * MINUTE)
    acquire(repo, "alive", "busy.py", ttl_ms=120 * MINUTE, clock=lambda: now - 90 * MINUTE)
    with open_store(repo, clock=lambda: now - 70 * MINUTE) as old:
        leases.heartbeat(old, "ghost")
    with open_store(repo) as store:
        leases.heartbeat(store, "alive")
    code, document = report(cli, repo, "--only", "reservations", env=ME)
    check = document["checks"][0]
    assert code == 0 and check["status"] == "warning"
    assert [e["pattern"] for e in check["details"]["expiring"]] == ["mine-soon.py"]
    assert sorted((e["holder"], e["pattern"]) for e in check["details"]["stale"]) == [
        ("ghost", "abandoned.py")]
    findings = check["details"]["findings"]
    assert any(f.startswith("your lease 'mine-soon.py'") and "ends within 10 minutes" in f for f in findings)
    assert any(f.startswith("ghost holds 'abandoned.py'") and "no heartbeat for 1h 10m" in f for f in findings)
    assert "Renew your leases before they end: `maf-lease renew --all`." in document["recommendations"]

    write_config(repo, """
[preflight.checks.reservations]
expiry_warning_minutes = 2
stale_after_minutes = 45
""")
    _, document = report(cli, repo, "--only", "reservations", env=ME, code=0)
    details = document["checks"][0]["details"]
    assert details["expiring"] == []
    stale = {e["holder"]: e for e in details["stale"]}
    assert set(stale) == {"quiet", "ghost"}  # never sent a heartbeat: judged by when the lease was taken
    assert stale["quiet"]["last_heartbeat"] is None
    assert any("quiet holds 'old.py' (lease-" in f and "no heartbeat ever, lease taken 50m" in f
               for f in document["checks"][0]["details"]["findings"])


def test_reservations_range_checks_like_the_push_hook(repo, cli):
    remote = repo.parent / "remote.git"
    git("init", "-q", "--bare", str(remote), cwd=repo.parent)
    git("remote", "add", "origin", str(remote), cwd=repo)
    git("push", "-q", "origin", "main", cwd=repo)
    base = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    commit_file(repo, "docs/free.md")
    free = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    commit_file(repo, "src/leased.py")
    leased = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    acquire(repo, "alice", "src/")
    (repo / "src" / "leased.py").write_text("uncommitted, but the range is what counts\n")

    _, document = report(cli, repo, "--only", "reservations", "--from-ref", base, "--to-ref", free, env=ME, code=0)
    details = document["checks"][0]["details"]
    assert (details["source"], details["changed_paths"], details["conflicts"]) == ("range", 1, [])
    code, document = report(cli, repo, "--only", "reservations", "--from-ref", free, "--to-ref", leased, env=ME)
    check = document["checks"][0]
    assert code == 1 and [c["path"] for c in check["details"]["conflicts"]] == ["src/leased.py"]
    assert check["message"].startswith(f"1 path changed in {free}..{leased} is under other agents' exclusive leases: "
                                       "src/leased.py (held by alice)")
    # an all-zero "before" (a new branch): the commits on no remote-tracking ref, as the hook does
    code, document = report(cli, repo, "--only", "reservations", "--from-ref", "0" * 40, "--to-ref", leased, env=ME)
    assert code == 1 and document["checks"][0]["details"]["changed_paths"] == 2

    assert pf(cli, repo, "--from-ref", base).code == 2
    bad = pf(cli, repo, "--to-ref", "no-such-ref")
    assert bad.code == 2 and "--to-ref 'no-such-ref' is not a commit" in bad.err


def test_unknown_from_ref_is_refused_but_the_zero_sha_falls_back(repo, cli):
    for ref in ("no-such-ref", "1" * 40):
        bad = pf(cli, repo, "--only", "reservations", "--from-ref", ref, "--to-ref", "HEAD")
        assert bad.code == 2 and not bad.out
        assert f"--from-ref {ref!r} is not a commit in this repository" in bad.err
    # a new branch in CI: the commits on no remote-tracking ref (here: every commit)
    _, document = report(cli, repo, "--only", "reservations", "--from-ref", "0" * 40, "--to-ref", "HEAD", code=0)
    assert document["checks"][0]["status"] != "failed"


# --- outputs ----------------------------------------------------------------------------------

def test_human_output_lines_summary_and_no_colour_off_a_terminal(repo, cli):
    write_config(repo, """
[preflight.checks.environment]
required_vars = ["NOPE_NOT_SET"]
""")
    result = pf(cli, repo)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("PASS  Python interpreter and packages [python]")
    assert lines[1].startswith("FAIL  Environment variables [environment]")
    assert lines[1].endswith("required variables not set: NOPE_NOT_SET")
    assert " ms  " in lines[0]
    assert any(line.startswith("WARN  Lease database [database]") for line in lines)
    assert any(line.startswith("SKIP  Reservations [reservations]") for line in lines)
    summary = next(line for line in lines if line.startswith("preflight failed: "))
    assert "3 passed, 2 warnings, 1 failed, 1 skipped in" in summary and "agent dev@example.com" in summary
    assert "recommendations:" in lines
    assert "\x1b[" not in result.out + result.err


def test_report_files_junit_and_json_on_stdout(repo, cli, tmp_path):
    write_config(repo, """
[preflight]
retry_backoff_seconds = 0.05

[preflight.checks.environment]
required_vars = ["NOPE_NOT_SET"]

[[preflight.smoke_tests]]
id = "flaky"
name = "Flaky command"
type = "command"
run = "echo out; echo err >&2; exit 4"
retry_count = 1
""")
    (tmp_path / "retry").mkdir()
    out_file = tmp_path / "reports" / "preflight.json"
    junit_file = tmp_path / "reports" / "junit.xml"
    env = {"GITHUB_ACTIONS": "true"}
    result = pf(cli, repo, "--report", "--output", out_file, "--junit", junit_file, env=env)
    assert result.code == 1
    assert f"report written to {out_file}" in result.out
    document = json.loads(out_file.read_text())
    assert document["status"] == "failed" and document["summary"]["failed"] == 2
    flaky = by_id(document)["flaky"]
    assert [a["status"] for a in flaky["attempts"]] == ["failed", "failed"]
    assert flaky["attempts"][1]["delay_ms"] == 50.0
    assert flaky["message"] == "exited 4, expected 0 (all 2 attempts failed)"
    assert "::error title=maf-preflight flaky::exited 4, expected 0 (all 2 attempts failed)" in result.out
    assert "::warning title=maf-preflight database::" in result.out

    suite = ET.parse(junit_file).getroot()
    assert suite.tag == "testsuites" and suite.get("tests") == "8" and suite.get("failures") == "2"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"Python interpreter and packages [python]", "Environment variables [environment]",
                          "MCP configuration files [mcp]", "Lease database [database]", "Git hooks [hooks]",
                          "Reservations [reservations]", "Agent client hooks [agents]", "Flaky command [flaky]"}
    cases = {case.get("name").split("[")[-1].rstrip("]"): case for case in suite.iter("testcase")}
    assert cases["flaky"].get("classname") == "maf-preflight.smoke_tests"
    assert cases["python"].get("classname") == "maf-preflight.checks"
    failure = cases["flaky"].find("failure")
    assert failure.get("message").startswith("exited 4") and "out" in failure.text and "err" in failure.text
    assert cases["reservations"].find("skipped") is not None
    assert cases["database"].find("system-out").text.startswith("WARNING: ")
    assert cases["python"].find("failure") is None and cases["python"].find("skipped") is None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["executionId"] == document["executionId"]

    # --report without --output, and --json: one document on stdout; annotations on stderr
    for flag in ("--report", "--json"):
        result = pf(cli, repo, flag, env=env)
        assert result.code == 1 and json.loads(result.out)["status"] == "failed"
        assert "::error title=maf-preflight environment::" in result.err


# --- records and history ----------------------------------------------------------------------

def test_runs_are_recorded_and_listed(repo, cli):
    db.connect(db_path(repo)).close()
    since = now_ms()
    assert pf(cli, repo, "--only", "python", env=ME).code == 0
    write_config(repo, '[preflight.checks.environment]\nrequired_vars = ["NOPE_NOT_SET"]\n')
    code, failed = report(cli, repo, "--only", "environment", env=ME)
    assert code == 1 and failed["recorded"] is True
    with sqlite3.connect(db_path(repo)) as conn:
        rows = conn.execute("SELECT agent_id, status, check_type, config_id, error_message, started_at, completed_at, "
                            "execution_id, result_json, context_json FROM preflight_executions ORDER BY created_at, rowid").fetchall()
    with Context(cwd=str(repo)).store_location.open(environ={}, read_only=True) as store:
        assert store.preflight.failures_since("bob", since) == 1
        assert store.preflight.failures_since("bob", now_ms() + 1000) == 0
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [("bob", "passed", "custom", "defaults"),
                                                       ("bob", "failed", "custom", "maf.toml")]
    assert rows[1][4] == "environment: required variables not set: NOPE_NOT_SET"
    assert rows[1][5] <= rows[1][6] and rows[1][7] == failed["executionId"]
    assert json.loads(rows[1][8])["executionId"] == failed["executionId"]
    assert json.loads(rows[1][9])["only"] == ["environment"]

    history = pf(cli, repo, "history", "--json")
    runs = history.json["runs"]
    assert history.code == 0 and [r["status"] for r in runs] == ["failed", "passed"]
    assert runs[0]["summary"] == {"passed": 0, "warnings": 0, "failed": 1, "skipped": 0}
    table = pf(cli, repo, "history")
    assert table.out.splitlines()[0].split()[:3] == ["WHEN", "STATUS", "AGENT"]
    assert failed["executionId"] in table.out
    assert pf(cli, repo, "history", "--status", "passed", "--json").json["runs"][0]["status"] == "passed"
    assert pf(cli, repo, "history", "--agent", "nobody", "--json").json["runs"] == []


def test_no_database_nothing_recorded_or_created_and_old_schema_untouched(repo, cli):
    assert pf(cli, repo, "history").out.strip() == "No preflight runs recorded."
    assert pf(cli, repo).code == 0
    assert not os.path.exists(db_path(repo))
    path = db_path(repo)
    os.makedirs(os.path.dirname(path))
    conn = sqlite3.connect(path)
    migrations.upgrade(conn, migrations.MIGRATIONS[:2])
    conn.close()
    before = db_snapshot(path)
    code, document = report(cli, repo, "--only", "database")
    assert code == 1 and document["recorded"] is False
    assert db_snapshot(path) == before
    human = pf(cli, repo, "--only", "python")
    assert "not recorded: the lease database has schema version 2 (`maf-preflight --fix` migrates it)" in human.out


# --- --fix ------------------------------------------------------------------------------------

def test_fix_repairs_then_checks_decide(repo, cli):
    (repo / ".pre-commit-config.yaml").write_text(LOCAL_HOOKS)
    git("add", ".pre-commit-config.yaml", cwd=repo)
    git("commit", "-q", "-m", "hooks", cwd=repo)
    now = now_ms()
    old = acquire(repo, "alice", "gone.py", ttl_ms=MINUTE, clock=lambda: now - 10 * MINUTE)
    path = db_path(repo)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    result = pf(cli, repo, "--fix", env=ME)
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    changes = [line for line in lines if line.startswith("fixed: ")]
    assert changes[0] == "fixed: switched the lease database .git/maf/runtime.db from journal mode delete to wal"
    assert "fixed: created the mail root .agent-mail" in changes
    assert "fixed: added /.agent-mail/ to .git/info/exclude" in changes
    assert any(c.startswith("fixed: installed the pre-commit, pre-merge-commit and pre-push hooks in .git/hooks")
               for c in changes)
    assert any(c.startswith(f"fixed: ended 1 expired lease: {old.id} ('gone.py' of alice)") for c in changes)
    assert lines.index(changes[-1]) < next(i for i, line in enumerate(lines) if line.startswith("PASS"))
    assert all((repo / ".git" / "hooks" / name).exists() for name in ("pre-commit", "pre-merge-commit", "pre-push"))
    assert (repo / ".agent-mail").is_dir()
    assert "preflight passed: 7 passed, 0 warnings" in result.out

    again = pf(cli, repo, "--fix", "--json", env=ME)
    assert again.code == 0 and again.json["fixes"] == {"changes": [], "failures": []}
    assert pf(cli, repo, "--fix", env=ME).out.startswith("fixed: nothing needed fixing")


def test_fix_creates_and_migrates_the_database_only_for_selected_checks(repo, cli):
    code, document = report(cli, repo, "--fix", "--only", "python", code=0)
    assert document["fixes"]["changes"] == [] and not os.path.exists(db_path(repo))
    code, document = report(cli, repo, "--fix", "--only", "database", code=0)
    assert document["fixes"]["changes"] == [
        f"created the lease database .git/maf/runtime.db (schema version {migrations.latest()})"]
    assert document["checks"][0]["status"] == "passed" and document["recorded"] is True
    assert not (repo / ".agent-mail").exists()
    os.remove(db_path(repo))
    conn = sqlite3.connect(db_path(repo))
    migrations.upgrade(conn, migrations.MIGRATIONS[:2])
    conn.close()
    _, document = report(cli, repo, "--fix", "--only", "database", code=0)
    assert document["fixes"]["changes"] == [
        f"migrated the lease database .git/maf/runtime.db from schema version 2 to {migrations.latest()}",
        "switched the lease database .git/maf/runtime.db from journal mode delete to wal"]
    assert document["recorded"] is True  # the table exists once migrated


def test_fix_reports_what_it_cannot_do(repo, cli):
    (repo / ".pre-commit-config.yaml").write_text(LOCAL_HOOKS)
    git("config", "core.hooksPath", ".githooks", cwd=repo)
    result = pf(cli, repo, "--fix", "--only", "hooks")
    assert result.code == 0  # missing hooks are a warning by default
    assert "not fixed: could not install the git hooks: pre-commit install" in result.out
    assert "WARN  Git hooks [hooks]" in result.out


# --- maf preflight, speed ---------------------------------------------------------------------

def test_maf_preflight_group_and_history_subcommand(repo, cli):
    from maf_hooks.cli.main import maf

    group = maf
    if "preflight" not in maf.commands:  # not registered yet: the same command in a copy of the group
        group = copy.copy(maf)
        group.commands = dict(maf.commands)
        group.add_command(preflight_command)
    result = cli(repo, "preflight", "--only", "python", command=group)
    assert result.code == 0 and result.out.startswith("PASS  Python")
    result = cli(repo, "preflight", "history", "--json", command=group)
    assert result.code == 0 and result.json == {"schema": "maf.preflight.history/1", "runs": []}
    result = cli(repo, "--config", "missing.toml", "preflight", command=group)
    assert result.code == 2 and "missing.toml" in result.err
    helped = pf(cli, repo, "--help")
    assert helped.code == 0 and "--validate-config" in helped.out and "history" in helped.out


def test_full_preflight_without_smoke_tests_under_one_second(repo, cli):
    db.connect(db_path(repo)).close()
    acquire(repo, "alice", "src/")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        assert pf(cli, repo, "--json", env=ME).code == 0
        timings.append(time.perf_counter() - started)
    assert min(timings) < 1.0, timings


def test_hooks_check_ignores_commented_hook_ids(repo, cli):
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: local\n    hooks: []\n#      - id: maf-reservations\n#      - id: maf-reservations-push\n")
    result = cli(repo, "preflight", "--only", "hooks", "--json")
    check = result.json["checks"][0]
    assert check["status"] != "passed" and "listed and installed" not in check["message"]


def test_reservations_text_output_escapes_what_other_agents_wrote(repo, cli):
    """A file name or pattern with terminal escapes reaches the person reading preflight escaped;
    the JSON report keeps the exact value."""
    acquire(repo, "alice", "src/**")
    (repo / "src").mkdir()
    (repo / "src" / "\x1b[2Jx.py").write_text("new\n")
    result = pf(cli, repo, "--only", "reservations", env=ME)
    assert result.code == 1 and "\x1b" not in result.out and "\\x1b[2Jx.py" in result.out
    _, document = report(cli, repo, "--only", "reservations", env=ME)
    assert document["checks"][0]["details"]["conflicts"][0]["path"] == "src/\x1b[2Jx.py"
