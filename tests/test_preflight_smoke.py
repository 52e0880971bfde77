"""Smoke tests of `maf-preflight`: command/integration, performance, api (against a real HTTP
server on 127.0.0.1), database, file_system; timeouts, retries with back-off; and the fixture's
full seed example end to end."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import db_snapshot

from maf_hooks.cli.preflight import preflight_command
from maf_hooks.context import Context
from maf_hooks.preflight.runenv import RunEnv
from maf_hooks.preflight.smoke import TAIL_BYTES, backoff_delay, run_smoke_test

PROJECT = Path(__file__).resolve().parent.parent
FIXTURE = PROJECT / "fixtures" / "preflight"


def pf(cli, repo, *args, env=None):
    return cli(repo, *args, env=env, command=preflight_command, prog="maf-preflight")


def smoke_report(cli, repo, config: str, *args, env=None):
    (Path(repo) / "maf.toml").write_text("[preflight]\nretry_backoff_seconds = 0.01\n" + config)
    result = pf(cli, repo, "--only", "smoke", "--json", *args, env=env)
    document = json.loads(result.out)
    return result.code, {check["id"]: check for check in document["checks"]}


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[-1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


# --- a real HTTP server -----------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def _answer(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self):
        server = self.server
        server.seen.append((self.command, self.path, self.headers.get("User-Agent")))
        if self.path == "/api/health":
            return self._answer(200, b'{"status": "ok"}')
        if self.path == "/error":
            return self._answer(500, b"boom: database down")
        if self.path == "/created":
            return self._answer(201 if self.command == "POST" else 405, self.command.encode())
        if self.path == "/slow":
            time.sleep(1.5)
            return self._answer(200, b"late")
        if self.path == "/flaky":
            server.flaky += 1
            return self._answer(503 if server.flaky < 3 else 200, b"try again" if server.flaky < 3 else b"ok now")
        return self._answer(404, b"not found")

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _route


@pytest.fixture
def api_server(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.seen, server.flaky = [], 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_api_smoke_tests_against_a_real_server(repo, cli, api_server, tmp_path):
    base = api_server.base
    config = f"""
[[preflight.smoke_tests]]
id = "health"
type = "api"
url = "{base}/api/health"
expect_body = '"status": "ok"'

[[preflight.smoke_tests]]
id = "error"
type = "api"
url = "{base}/error"
retry_count = 1

[[preflight.smoke_tests]]
id = "post"
type = "api"
url = "{base}/created"
method = "POST"
expected_status = 201

[[preflight.smoke_tests]]
id = "head"
type = "api"
url = "{base}/api/health"
method = "HEAD"

[[preflight.smoke_tests]]
id = "body"
type = "api"
url = "{base}/api/health"
expect_body = "healthy"
retry_count = 0

[[preflight.smoke_tests]]
id = "flaky"
type = "api"
url = "{base}/flaky"
expect_body = "ok now"
retry_count = 3

[[preflight.smoke_tests]]
id = "refused"
type = "api"
url = "http://127.0.0.1:{closed_port()}/"
retry_count = 0

[[preflight.smoke_tests]]
id = "slow"
type = "api"
url = "{base}/slow"
timeout_seconds = 0.3
retry_count = 0
"""
    junit = tmp_path / "junit.xml"
    started = time.monotonic()
    code, checks = smoke_report(cli, repo, config, "--junit", junit)
    assert time.monotonic() - started < 5
    assert code == 1
    status = {key: check["status"] for key, check in checks.items()}
    assert status == {"health": "passed", "error": "failed", "post": "passed", "head": "passed", "body": "failed",
                      "flaky": "passed", "refused": "failed", "slow": "failed"}
    assert checks["health"]["message"].startswith(f"GET {base}/api/health: status 200 in ")
    error = checks["error"]
    assert error["message"] == f"GET {base}/error: status 500, expected 200 (all 2 attempts failed)"
    assert error["details"]["body_tail"] == "boom: database down"
    assert [(a["attempt"], a["status"], a["http_status"]) for a in error["attempts"]] == [
        (1, "failed", 500), (2, "failed", 500)]
    assert checks["body"]["message"] == f"GET {base}/api/health: body does not match /healthy/"
    flaky = checks["flaky"]
    assert [a["http_status"] for a in flaky["attempts"]] == [503, 503, 200]
    assert [a.get("delay_ms") for a in flaky["attempts"]] == [None, 10.0, 20.0]
    assert flaky["message"].endswith("(attempt 3 of 4)")
    assert "cannot connect" in checks["refused"]["message"]
    slow = checks["slow"]
    assert slow["message"] == f"GET {base}/slow: no answer within 0.3 s" and slow["attempts"][0]["status"] == "timeout"
    assert ("POST", "/created", "maf-preflight") in api_server.seen
    assert ("HEAD", "/api/health", "maf-preflight") in api_server.seen
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert cases["slow"].find("failure").get("type") == "timeout"
    assert cases["error"].find("failure").get("type") == "failed"


def test_the_fixture_seed_example_works(tmp_path, cli, api_server, monkeypatch):
    from conftest import make_repo

    repo = make_repo(tmp_path / "consumer")
    for source in FIXTURE.iterdir():
        shutil.copy(source, repo / source.name)
    config = (repo / "maf.toml").read_text()
    assert "http://127.0.0.1:8080/api/health" in config
    (repo / "maf.toml").write_text(config.replace("http://127.0.0.1:8080", api_server.base))
    (repo / "var").mkdir()
    sqlite3.connect(repo / "var" / "app.db").close()
    site = tmp_path / "site"
    for name, version in (("requests", "2.31.0"),):  # the seed needs requests; click comes with maf-hooks
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    monkeypatch.syspath_prepend(str(site))
    env = {"NODE_ENV": "test", "MAF_AGENT_ID": "agent-001"}
    junit = tmp_path / "fixture.xml"
    result = pf(cli, repo, "--json", "--junit", junit, env=env)
    assert result.code == 0, result.out
    checks = {check["id"]: check for check in result.json["checks"]}
    assert {key: check["status"] for key, check in checks.items()} == {
        "python": "passed", "environment": "passed", "mcp": "passed", "database": "warning", "hooks": "warning",
        "reservations": "skipped", "agents": "passed", "api-health-check": "passed", "database-connectivity-check": "passed"}
    assert checks["mcp"]["message"] == "3 files, 4 servers"
    assert checks["python"]["details"]["min_version"] == "3.8.0"
    assert checks["api-health-check"]["name"] == "API Health Check"
    assert checks["database-connectivity-check"]["message"] == "var/app.db: the query returned 1 row"
    assert result.json["agentId"] == "agent-001"
    assert ("GET", "/api/health", "maf-preflight") in api_server.seen
    assert ET.parse(junit).getroot().get("tests") == "9"
    # without what it asks for, it says what is missing
    result = pf(cli, repo, "--json", "--skip", "smoke", env={"NODE_ENV": None, "MAF_AGENT_ID": None})
    assert result.code == 1
    assert result.json["checks"][1]["message"] == "required variables not set: NODE_ENV, MAF_AGENT_ID"


# --- commands ---------------------------------------------------------------------------------

def test_command_smoke_tests(repo, cli):
    (repo / "sub").mkdir()
    config = """
[[preflight.smoke_tests]]
id = "echo"
type = "command"
run = "echo ready; echo warming >&2"
expect_stdout = "^ready$"

[[preflight.smoke_tests]]
id = "integration"
type = "integration"
run = ["sh", "-c", "pwd; exit 3"]
cwd = "sub"
expect_exit = 3
expect_stdout = "/sub$"

[[preflight.smoke_tests]]
id = "noisy"
type = "command"
run = "head -c 10000 /dev/zero | tr '\\\\0' x; echo; echo END; echo problem >&2; exit 2"
retry_count = 0

[[preflight.smoke_tests]]
id = "wrong-output"
type = "command"
run = "echo nope"
expect_stdout = "^yes"
retry_count = 0

[[preflight.smoke_tests]]
id = "missing"
type = "command"
run = ["no-such-program-xyz", "--flag"]
retry_count = 0

[[preflight.smoke_tests]]
id = "off"
type = "command"
run = "false"
enabled = false
"""
    code, checks = smoke_report(cli, repo, config)
    assert code == 1
    assert {k: c["status"] for k, c in checks.items()} == {
        "echo": "passed", "integration": "passed", "noisy": "failed", "wrong-output": "failed", "missing": "failed",
        "off": "skipped"}
    assert checks["echo"]["message"].startswith("exited 0 in ")
    assert "stdout_tail" not in checks["echo"]["details"]  # output is kept for failures only
    assert checks["integration"]["type"] == "integration" and checks["integration"]["details"]["cwd"] == "sub"
    noisy = checks["noisy"]["details"]
    assert checks["noisy"]["message"] == "exited 2, expected 0"
    assert len(noisy["stdout_tail"].encode()) == TAIL_BYTES and noisy["stdout_tail"].endswith("x\nEND\n")
    assert noisy["stderr_tail"] == "problem\n" and noisy["exit_code"] == 2
    assert checks["wrong-output"]["message"] == "standard output does not match /^yes/"
    assert checks["missing"]["message"].startswith("cannot run: No such file or directory")
    assert checks["off"]["message"] == "disabled (enabled = false)"


def test_performance_smoke_tests(repo, cli):
    config = """
[[preflight.smoke_tests]]
id = "fast"
type = "performance"
run = "true"
max_duration_ms = 5000

[[preflight.smoke_tests]]
id = "slow"
type = "performance"
run = "sleep 0.3"
max_duration_ms = 100
retry_count = 0
"""
    code, checks = smoke_report(cli, repo, config)
    assert code == 1
    assert checks["fast"]["status"] == "passed" and checks["fast"]["message"].endswith("(at most 5000 ms)")
    assert checks["slow"]["status"] == "failed"
    assert "more than max_duration_ms 100" in checks["slow"]["message"]
    assert checks["slow"]["details"]["duration_ms"] >= 300


def test_timeout_kills_the_whole_process_group(repo, cli):
    config = """
[[preflight.smoke_tests]]
id = "hang"
type = "command"
run = "sleep 30 & echo $! > child.pid; echo started; sleep 30"
timeout_seconds = 0.5
retry_count = 0
"""
    started = time.monotonic()
    code, checks = smoke_report(cli, repo, config)
    elapsed = time.monotonic() - started
    assert code == 1 and elapsed < 5
    hang = checks["hang"]
    assert hang["message"] == "timed out after 0.5 s (process group killed)"
    assert hang["attempts"][0]["status"] == "timeout" and hang["details"]["exit_code"] is None
    assert hang["details"]["stdout_tail"] == "started\n"
    child = int((repo / "child.pid").read_text())
    deadline = time.monotonic() + 3
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_children_left_running_end_with_the_command(repo, cli):
    config = """
[[preflight.smoke_tests]]
id = "daemonish"
type = "command"
run = "sleep 30 & echo $! > child.pid; echo done"
"""
    started = time.monotonic()
    code, checks = smoke_report(cli, repo, config)
    assert code == 0 and time.monotonic() - started < 5
    child = int((repo / "child.pid").read_text())
    deadline = time.monotonic() + 3
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_retries_back_off_exponentially(repo):
    counter = repo / "count"
    sleeps = []
    context = Context(cwd=str(repo))
    env = RunEnv(context, sleep=sleeps.append)
    passing_third = {"id": "third", "type": "command", "retry_count": 5,
                     "run": f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; [ $n -ge 3 ]"}
    outcome, attempts = run_smoke_test(passing_third, env)
    assert outcome.status == "passed" and [a["status"] for a in attempts] == ["failed", "failed", "passed"]
    assert sleeps == [0.5, 1.0]
    sleeps.clear()
    outcome, attempts = run_smoke_test({"id": "never", "type": "command", "run": "exit 1"}, env)
    assert outcome.status == "failed" and len(attempts) == 4  # retry_count 3 by default
    assert sleeps == [0.5, 1.0, 2.0]
    assert outcome.message == "exited 1, expected 0 (all 4 attempts failed)"
    assert [backoff_delay(0.5, n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff_delay(10, 10) == 60.0


# --- database and file system -----------------------------------------------------------------

def test_database_smoke_tests_read_only(repo, cli):
    path = repo / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE items (name TEXT)")
    conn.executemany("INSERT INTO items VALUES (?)", [("a",), ("b",), ("c",)])
    conn.commit()
    conn.close()
    before = db_snapshot(path)
    config = """
[[preflight.smoke_tests]]
id = "rows"
type = "database"
sqlite = "app.db"
query = "SELECT name FROM items"
expected_rows = 3

[[preflight.smoke_tests]]
id = "any"
type = "database"
sqlite = "app.db"
query = "SELECT 1"

[[preflight.smoke_tests]]
id = "count"
type = "database"
sqlite = "app.db"
query = "SELECT name FROM items WHERE name = 'a'"
expected_rows = 2
retry_count = 0

[[preflight.smoke_tests]]
id = "write"
type = "database"
sqlite = "app.db"
query = "DELETE FROM items"
retry_count = 0

[[preflight.smoke_tests]]
id = "bad-sql"
type = "database"
sqlite = "app.db"
query = "SELEKT 1"
retry_count = 0

[[preflight.smoke_tests]]
id = "missing"
type = "database"
sqlite = "nothere.db"
query = "SELECT 1"
retry_count = 0
"""
    code, checks = smoke_report(cli, repo, config)
    assert code == 1
    assert checks["rows"]["message"] == "app.db: the query returned 3 rows" and checks["rows"]["status"] == "passed"
    assert checks["any"]["status"] == "passed"
    assert checks["count"]["message"] == "app.db: the query returned 1 row, expected 2"
    assert checks["write"]["status"] == "failed" and "readonly" in checks["write"]["message"]
    assert checks["bad-sql"]["message"].startswith("app.db: query failed (near \"SELEKT\"")
    assert checks["missing"]["message"] == "nothere.db: no such database file"
    assert db_snapshot(path) == before
    assert sorted(p.name for p in repo.iterdir() if p.name.startswith("app.db")) == ["app.db"]


def test_file_system_not_writable(repo, cli):
    locked = repo / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    # permission bits do not stop root: /proc (Linux) refuses new files to everyone
    target = "/proc" if os.geteuid() == 0 else "locked"
    if target == "/proc" and not os.path.isdir("/proc/self"):
        pytest.skip("root writes anywhere, and there is no /proc to try instead")
    try:
        code, checks = smoke_report(cli, repo, f"""
[[preflight.smoke_tests]]
id = "fs"
type = "file_system"
exists = ["locked"]
writable = ["{target}"]
retry_count = 0
""")
    finally:
        locked.chmod(0o700)
    assert code == 1 and checks["fs"]["message"] == f"not writable: {target}"
    assert checks["fs"]["details"]["writable"] == {target: "no"}


def test_file_system_smoke_tests(repo, cli):
    (repo / "data").mkdir()
    (repo / "data" / "file.txt").write_text("keep\n")
    config = """
[[preflight.smoke_tests]]
id = "fs"
type = "file_system"
exists = ["README.md", "data"]
writable = ["data", "data/file.txt"]

[[preflight.smoke_tests]]
id = "fs-missing"
type = "file_system"
exists = ["README.md", "nope.txt"]
writable = ["gone/"]
retry_count = 0
"""
    code, checks = smoke_report(cli, repo, config)
    assert code == 1
    assert checks["fs"]["message"] == "2 paths exist, 2 writable"
    assert checks["fs-missing"]["message"] == "missing: nope.txt, gone/"
    assert checks["fs-missing"]["details"]["writable"] == {"gone/": "missing"}
    assert sorted(p.name for p in (repo / "data").iterdir()) == ["file.txt"]
    assert (repo / "data" / "file.txt").read_text() == "keep\n"
