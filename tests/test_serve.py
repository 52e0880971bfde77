"""`maf serve` over real HTTP: a real server process on 127.0.0.1, the gate (Host header on
loopback, the token), read-only routes, and the refusals before it listens."""

from __future__ import annotations

import http.client
import json
import signal

import pytest
from boardserver import Board

from maf_hooks.web.gate import COOKIE, host_of, is_loopback

TOKEN = "b0ard-t0ken-for-the-tests-8c1f"


@pytest.fixture
def served(repo, cli):
    """Start boards in ``repo`` (``served(*args, env=...)``); each is stopped at the end."""
    started = []

    def start(*args, env=None):
        board = Board(repo, *args, env=env)
        started.append(board)
        return board

    yield start
    for board in started:
        board.stop()


def test_the_board_serves_its_page_and_document_and_nothing_else(repo, cli, served):
    assert cli(repo, "lease", "acquire", "src/", "--agent", "alice", "--reason", "refactor").code == 0
    board = served()
    assert board.document == {"schema": "maf.serve/1", "url": board.url, "token_required": False, "loopback": True,
                              "store": "sqlite"}
    assert board.host == "127.0.0.1"
    status, headers, page = board.request("GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html") and 'src="board.js"' in page
    assert "script-src 'self'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    for path, kind in (("/board.js", "text/javascript"), ("/board.css", "text/css")):
        status, headers, _ = board.request("GET", path)
        assert status == 200 and headers["Content-Type"].startswith(kind)
    status, headers, body = board.request("GET", "/api/board")
    document = json.loads(body)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert document["schema"] == "maf.board/1"
    assert [(lease["agent"], lease["pattern"], lease["reason"]) for lease in document["leases"]] == [
        ("alice", "src/", "refactor")]
    assert board.request("HEAD", "/api/board")[0] == 200
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for path in ("/", "/api/board"):
            status, headers, _ = board.request(method, path)
            assert status == 405 and "GET" in headers["Allow"], (method, path)
    assert board.request("GET", "/nothing-here")[0] == 404
    assert cli(repo, "lease", "list", "--json").json["leases"][0]["reason"] == "refactor"  # nothing written
    code, err = board.stop()  # uvicorn shuts down, then ends by the signal it was sent
    assert code == -signal.SIGTERM and "Traceback" not in err


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "localhost.evil",
                                  "[::2]:1", "10.0.0.1"])
def test_on_loopback_a_foreign_host_header_is_refused(served, host):
    board = served()
    status, _, body = board.request("GET", "/api/board", {"Host": host})
    assert status == 400 and "DNS rebinding" in body


def test_on_loopback_the_loopback_names_are_answered(served):
    board = served()
    for host in ("localhost", f"localhost:{board.port}", "127.0.0.1", f"127.0.0.1:{board.port}", f"[::1]:{board.port}",
                 "LOCALHOST"):
        assert board.request("GET", "/api/board", {"Host": host})[0] == 200, host
    connection = http.client.HTTPConnection(board.host, board.port, timeout=60)  # no Host header at all
    connection.putrequest("GET", "/api/board", skip_host=True)
    connection.endheaders()
    assert connection.getresponse().status == 400
    connection.close()


def test_with_a_token_every_request_without_it_is_401(served):
    board = served("--token-env", "BOARD_TOKEN", env={"BOARD_TOKEN": TOKEN})
    assert board.document["token_required"] is True
    for path in ("/", "/api/board", "/board.js", "/board.css", "/nothing-here"):
        status, headers, body = board.request("GET", path)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer") and "token" in body, path
        assert TOKEN not in body
    for wrong in ("Bearer nope", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN):
        assert board.request("GET", "/api/board", {"Authorization": wrong})[0] == 401, wrong
    assert board.request("GET", "/api/board", {"Cookie": f"{COOKIE}={TOKEN}"})[0] == 401  # the cookie is not the token
    status, _, body = board.request("GET", "/api/board", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and json.loads(body)["schema"] == "maf.board/1"
    assert board.request("POST", "/api/board", {"Authorization": f"Bearer {TOKEN}"})[0] == 405
    assert board.request("POST", "/api/board")[0] == 401  # without the token, not even which methods exist


def test_a_token_in_the_address_is_exchanged_for_an_httponly_cookie(served):
    board = served("--token-env", "BOARD_TOKEN", env={"BOARD_TOKEN": TOKEN})
    assert board.request("GET", "/?token=wrong")[0] == 401
    status, headers, _ = board.request("GET", f"/?token={TOKEN}&view=all")
    assert status == 303 and headers["Location"] == "/?view=all"  # the token leaves the address
    assert headers["Referrer-Policy"] == "no-referrer"
    cookie = headers["Set-Cookie"]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes and "path=/" in attributes and "samesite=lax" in attributes
    pair = cookie.split(";", 1)[0]
    assert pair.startswith(f"{COOKIE}=") and TOKEN not in pair
    assert board.request("GET", "/api/board", {"Cookie": pair})[0] == 200
    assert board.request("GET", "/", {"Cookie": pair})[0] == 200
    assert board.request("GET", "/api/board", {"Cookie": pair[:-1] + "0"})[0] == 401
    status, headers, _ = board.request("GET", f"/api/board?token={TOKEN}")
    assert status == 303 and headers["Location"] == "/api/board"


def test_a_token_does_not_turn_off_the_host_check_on_loopback(served):
    board = served("--token-env", "BOARD_TOKEN", env={"BOARD_TOKEN": TOKEN})
    assert board.request("GET", "/api/board", {"Authorization": f"Bearer {TOKEN}", "Host": "evil.example"})[0] == 400


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "board.example"])
def test_listening_beyond_loopback_without_a_token_is_refused(repo, cli, host):
    result = cli(repo, "serve", "--host", host, "--port", "0")
    assert result.code == 2 and "not loopback" in result.err and "--token-env" in result.err and not result.out


def test_a_token_variable_that_is_not_set_is_refused(repo, cli):
    for env in ({"BOARD_TOKEN": None}, {"BOARD_TOKEN": "  "}):
        result = cli(repo, "serve", "--port", "0", "--token-env", "BOARD_TOKEN", env=env)
        assert result.code == 2 and "BOARD_TOKEN" in result.err and not result.out


def test_a_port_in_use_is_an_environment_failure(repo, cli, served):
    board = served()
    result = cli(repo, "serve", "--port", str(board.port))
    assert result.code == 3 and f"cannot listen on 127.0.0.1:{board.port}" in result.err


def test_a_store_that_cannot_be_read_is_a_503_and_the_server_goes_on(repo, served):
    (repo / "broken.db").write_bytes(b"this is not a database" * 100)
    (repo / "maf.toml").write_text('[storage]\ndb_path = "broken.db"\n')
    board = served()
    status, _, body = board.request("GET", "/api/board")
    assert status == 503 and json.loads(body)["exit_code"] == 3 and "broken.db" in json.loads(body)["error"]
    assert board.request("GET", "/")[0] == 200
    (repo / "broken.db").unlink()  # no database yet: an empty board
    status, _, body = board.request("GET", "/api/board")
    assert status == 200 and json.loads(body)["backend"] is None and not (repo / "broken.db").exists()


def test_loopback_names():
    assert all(map(is_loopback, ["localhost", "LocalHost.", "127.0.0.1", "127.8.9.10", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "localhost.evil", "example.com", "[::2]", ""]))
    assert [host_of(h) for h in ("a:1", "a", "[::1]:8", "[::1]", "[::1", "", None)] == [
        "a", "a", "[::1]", "[::1]", None, None, None]


def test_the_board_serves_the_metrics_behind_the_same_gate(repo, cli, served):
    """`/metrics` is `maf metrics` over HTTP: Prometheus's text format (read back with
    prometheus_client's own parser), GET only, and with a token a scraper's bearer token."""
    from prometheus_client.parser import text_string_to_metric_families

    assert cli(repo, "lease", "acquire", "src/", "--agent", "alice").code == 0
    assert cli(repo, "lease", "acquire", "docs/", "--agent", "bob", "--shared").code == 0
    board = served("--token-env", "BOARD_TOKEN", env={"BOARD_TOKEN": TOKEN})
    assert board.request("GET", "/metrics")[0] == 401
    status, headers, body = board.request("GET", "/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and headers["Content-Type"].startswith("text/plain") and "version=" in headers["Content-Type"]
    families = {family.name: family for family in text_string_to_metric_families(body)}
    active = {(s.labels["agent"], s.labels["mode"]): s.value for s in families["maf_leases_active"].samples}
    assert active == {("alice", "exclusive"): 1.0, ("bob", "shared"): 1.0}
    assert board.request("POST", "/metrics", {"Authorization": f"Bearer {TOKEN}"})[0] == 405
    command = {family.name for family in text_string_to_metric_families(cli(repo, "metrics").out)}
    assert set(families) == command  # the same exposition as the command (its values move: the file's size)
