"""Escalation paths, triggers, the level-by-level lifecycle, deliveries and `maf escalate`.

Time-dependent behaviour runs on an injected clock (``now`` in epoch ms), never on sleeps.
"""

from __future__ import annotations

import io
import json
import mailbox
import multiprocessing
import os
import shutil
import signal
import socketserver
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from conftest import BIN, git

from maf_hooks import config
from maf_hooks.core import escalation as rules
from maf_hooks.errors import ConfigError
from maf_hooks.hooks import run_hook
from maf_hooks.services import delivery, escalation
from maf_hooks.store.sqlite import open_file

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "escalation" / "maf.toml"
T0 = 1_800_000_000_000
MINUTE = 60_000


@pytest.fixture
def esc_repo(repo):
    shutil.copy(FIXTURE, repo / "maf.toml")
    return repo


def load(repo, text_extra: str = ""):
    return config.load(str(repo), environ={})


def messages(repo, agent):
    path = repo / ".agent-mail" / agent
    return list(mailbox.Maildir(str(path), create=False)) if path.exists() else []


def json_part(message):
    for part in message.walk():
        if part.get_filename() == "maf.json":
            return json.loads(part.get_payload(decode=True))
    return None


class Clock:
    """A clock the test sets by hand (``at(store, now)``)."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def open_store(repo, now=T0):
    """The repository's store, on a clock the test sets."""
    return open_file(str(repo / ".git" / "maf" / "runtime.db"), Clock(now))


def at(store, now):
    """``store``, its clock set to ``now`` (the time of the next call's write sections)."""
    store.clock.now = now
    return store


def conflict_commit(repo, cli, env=None):
    """bob stages a file alice holds and tries to commit (the real hook decision, in-process)."""
    (repo / "held").mkdir(exist_ok=True)
    (repo / "held" / "f.txt").write_text(str(time.monotonic_ns()))
    git("add", "held/f.txt", cwd=repo)
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "MAF_AGENT_ID": "bob", **(env or {})}
    stream = io.StringIO()
    code = run_hook("commit", environ=environ, cwd=str(repo), stream=stream)
    return code, stream.getvalue()


# --- configuration ----------------------------------------------------------------------------

def test_fixture_config_is_valid_and_mirrored(esc_repo, cli):
    cfg = load(esc_repo)
    path = rules.paths(cfg)["critical-system-escalation"]
    assert [s["target"] for s in path["steps"]] == ["on-call-engineer", "engineering-lead", "vp-engineering"]
    assert [s["timeout_minutes"] for s in path["steps"]] == [5, 15, 30]
    assert set(cfg.get("escalation.targets")) >= {"minimax-debug-1", "codex-senior"}
    store = open_store(esc_repo)
    escalation.sync_paths(store, cfg)
    row = store.db.one("SELECT name, max_escalation_level, is_active, escalation_steps FROM escalation_paths")
    assert row[:3] == ("Critical System Escalation Path", 3, 1) and "vp-engineering" in row[3]


def test_invalid_paths_name_key_paths(esc_repo):
    text = FIXTURE.read_text().replace('target = "vp-engineering"', 'target = "nobody"')
    (esc_repo / "maf.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"escalation\.paths\[0\]\.steps\[2\]\.target: unknown target 'nobody'"):
        load(esc_repo)


def test_invalid_levels_and_maximum(esc_repo):
    text = FIXTURE.read_text().replace("\nlevel = 3\n", "\nlevel = 4\n")
    (esc_repo / "maf.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load(esc_repo)
    assert "levels must be 1..3" in str(info.value)
    assert "escalation.paths[0].steps[2].level: 4 is past max_escalation_level (3)" in str(info.value)


def test_unknown_condition_and_operator(esc_repo):
    text = FIXTURE.read_text().replace('condition = "lease_takeover"', 'condition = "system_down"')
    text = text.replace('operator = "gte"', 'operator = "ne"', 1)
    (esc_repo / "maf.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load(esc_repo)
    assert "trigger_conditions[3].condition: expected one of" in str(info.value)
    assert "trigger_conditions[0].operator: expected one of gte, gt, eq" in str(info.value)


# --- triggering from the hooks --------------------------------------------------------------------

def test_repeated_conflict_opens_one_escalation_to_level_one(esc_repo, cli):
    assert cli(esc_repo, "lease", "acquire", "held/", "--agent", "alice").code == 0
    code, err = conflict_commit(esc_repo, cli)
    assert code == 1 and "escalation" not in err  # one conflict: below the threshold of 2
    code, err = conflict_commit(esc_repo, cli)
    assert code == 1 and "escalation esc-" in err
    inbox = messages(esc_repo, "on-call-engineer")
    assert len(inbox) == 1
    message = inbox[0]
    assert message["X-MAF-Type"] == "ESCALATION_REQUEST" and message["X-MAF-Escalation-Id"].startswith("esc-")
    payload = json_part(message)
    assert set(payload) == {"type", "agentId", "executionId", "escalationId", "pathId", "level", "context", "reason",
                            "target", "priority"}
    assert payload["type"] == "ESCALATION_REQUEST" and payload["agentId"] == "bob" and payload["level"] == 1
    assert payload["pathId"] == "critical-system-escalation" and payload["target"] == "on-call-engineer"
    assert payload["context"]["paths"] == ["held/f.txt"]
    # named for the repository (its directory, without a server), in the escalation's thread, signed
    escalation_id = payload["escalationId"]
    assert str(message["Subject"]).startswith("[MAF] ESCALATION_REQUEST in repo level 1 ")
    assert str(message["In-Reply-To"]) == str(message["References"]) == f"<{escalation_id}@maf-hooks>"
    text = message.get_payload()[0].get_payload(decode=True).decode("utf-8")
    assert text.startswith(f"ESCALATION_REQUEST {escalation_id} in repo\n") and text.endswith("\n-- \nmaf-hooks\n")
    # a third conflict: still one open escalation for (path, bob, reservation_conflict)
    conflict_commit(esc_repo, cli)
    listing = cli(esc_repo, "escalate", "list", "--json").json["escalations"]
    assert len(listing) == 1 and listing[0]["condition"] == "reservation_conflict"
    assert len(messages(esc_repo, "on-call-engineer")) == 1


def test_override_opens_an_escalation(esc_repo, cli):
    cli(esc_repo, "lease", "acquire", "held/", "--agent", "alice")
    code, err = conflict_commit(esc_repo, cli, {"MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "hotfix"})
    assert code == 0
    conditions = {e["condition"] for e in cli(esc_repo, "escalate", "list", "--json").json["escalations"]}
    assert "override_used" in conditions


def test_forced_takeover_opens_an_escalation(esc_repo, cli):
    cli(esc_repo, "lease", "acquire", "x/", "--agent", "alice")
    result = cli(esc_repo, "lease", "acquire", "x/", "--agent", "bob", "--force")
    assert result.code == 0 and "escalation esc-" in result.err
    records = cli(esc_repo, "escalate", "list", "--json").json["escalations"]
    assert [(r["condition"], r["agent_id"]) for r in records] == [("lease_takeover", "bob")]


def test_preflight_failures_meet_threshold(esc_repo):
    cfg = load(esc_repo)
    store = open_store(esc_repo)
    for index in range(3):
        store.db.execute(
            "INSERT INTO preflight_executions (id, config_id, agent_id, execution_id, check_type, status, created_at) "
            "VALUES (?, 'default', 'carol', ?, 'full', 'failed', ?)", (f"p{index}", f"e{index}", T0 + index))
        opened = escalation.on_condition(at(store, T0 + index), cfg, "carol", "preflight_failure")
        assert bool(opened) is (index == 2)
    old = T0 + 2 * 60 * MINUTE  # outside the 60 minute window: the count starts over
    assert escalation.on_condition(at(store, old), cfg, "dave", "preflight_failure") == []


# --- the lifecycle ------------------------------------------------------------------------------

def opened(repo, agent="bob"):
    cfg = load(repo)
    store = open_store(repo)
    escalation.sync_paths(store, cfg)
    store.db.execute("INSERT INTO reservation_conflicts (id, agent_id, file_path, severity, holder_agent_id, lease_id, "
                 "lease_expires_at, attempted_operation, status, created_at) VALUES "
                 "('c1', ?, 'a', 'high', 'alice', 'l', 0, 'commit', 'blocked', ?), "
                 "('c2', ?, 'a', 'high', 'alice', 'l', 0, 'commit', 'blocked', ?)", (agent, T0 - 1000, agent, T0))
    ids = escalation.on_condition(store, cfg, agent, "reservation_conflict")
    assert len(ids) == 1
    return cfg, store, ids[0]


def deliver(repo, cfg, store, now):
    return delivery.deliver_pending(at(store, now), cfg, str(repo / ".agent-mail"), environ={}, sleep=lambda _: None)


def test_tick_moves_up_each_level_then_times_out_telling_everyone(esc_repo):
    cfg, store, esc_id = opened(esc_repo)
    deliver(esc_repo, cfg, store, T0)
    assert escalation.tick(at(store, T0 + 4 * MINUTE), cfg) == []
    changes = escalation.tick(at(store, T0 + 5 * MINUTE), cfg)
    assert changes == [{"escalation_id": esc_id, "status": "escalated", "level": 2, "target": "engineering-lead"}]
    deliver(esc_repo, cfg, store, T0 + 5 * MINUTE)
    assert json_part(messages(esc_repo, "engineering-lead")[0])["level"] == 2
    assert escalation.tick(at(store, T0 + 19 * MINUTE), cfg) == []
    assert escalation.tick(at(store, T0 + 20 * MINUTE), cfg)[0]["target"] == "vp-engineering"
    final = escalation.tick(at(store, T0 + 50 * MINUTE), cfg)
    assert final[0]["status"] == "timeout"
    assert final[0]["told"] == ["on-call-engineer", "engineering-lead", "vp-engineering"]
    deliver(esc_repo, cfg, store, T0 + 50 * MINUTE)
    for target in ("on-call-engineer", "engineering-lead", "vp-engineering"):
        assert any(m["X-MAF-Type"] == "ESCALATION_TIMEOUT" for m in messages(esc_repo, target))
    assert escalation.get(store, esc_id)["status"] == "timeout"
    assert escalation.tick(at(store, T0 + 90 * MINUTE), cfg) == []


def test_path_timeout_closes_an_escalation(esc_repo):
    cfg, store, esc_id = opened(esc_repo)
    store.db.execute("UPDATE escalation_tracking SET level_started_at = ? WHERE escalation_id = ?",
                     (T0 + 59 * MINUTE, esc_id))
    assert escalation.tick(at(store, T0 + 60 * MINUTE), cfg)[0]["status"] == "timeout"


def test_ack_stops_advancing_and_answers_the_agent(esc_repo, cli):
    cfg, store, esc_id = opened(esc_repo)
    record = escalation.respond(at(store, T0 + MINUTE), esc_id, "acknowledged", "lead", "looking")
    assert record["status"] == "acknowledged" and record["note"] == "looking"
    deliver(esc_repo, cfg, store, T0 + MINUTE)
    [answer] = [m for m in messages(esc_repo, "bob") if m["X-MAF-Type"] == "ESCALATION_RESPONSE"]
    assert json_part(answer)["status"] == "acknowledged" and json_part(answer)["note"] == "looking"
    assert escalation.tick(at(store, T0 + 30 * MINUTE), cfg) == []
    resolved = cli(esc_repo, "escalate", "resolve", esc_id, "--note", "fixed", "--agent", "lead", "--json")
    assert resolved.code == 0 and resolved.json["status"] == "resolved" and resolved.json["resolved_at"]
    again = cli(esc_repo, "escalate", "ack", esc_id)
    assert again.code == 1 and "resolved" in again.err
    assert cli(esc_repo, "escalate", "ack", "esc-missing").code == 1


def _tick_process(path, fixture_root, now, barrier, results):
    cfg = config.load(fixture_root, environ={})
    store = open_file(path, lambda: now)
    barrier.wait(timeout=30)
    results.put(escalation.tick(store, cfg))
    store.close()


def test_concurrent_ticks_advance_each_escalation_once(esc_repo):
    cfg, store, esc_id = opened(esc_repo)
    ctx = multiprocessing.get_context("fork")
    workers = 6
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_tick_process, args=(str(esc_repo / ".git" / "maf" / "runtime.db"), str(esc_repo),
                                                      T0 + 5 * MINUTE, barrier, results)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    changes = [change for _ in procs for change in results.get(timeout=60)]
    for proc in procs:
        proc.join(timeout=30)
    assert changes == [{"escalation_id": esc_id, "status": "escalated", "level": 2, "target": "engineering-lead"}]
    rows = store.db.scalar("SELECT COUNT(*) FROM escalation_deliveries WHERE escalation_id = ? AND level = 2",
                           (esc_id,))
    assert rows == 1 and escalation.get(store, esc_id)["current_level"] == 2


# --- deliveries: a real SMTP server and a real HTTP server on 127.0.0.1 ---------------------------

class _SMTPHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        envelope = {"rcpt": []}
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 test\r\n")
            elif verb == "MAIL":
                envelope["from"] = command
                self.wfile.write(b"250 ok\r\n")
            elif verb == "RCPT":
                envelope["rcpt"].append(command)
                self.wfile.write(b"250 ok\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go\r\n")
                data = b""
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b""):
                        break
                    data += chunk
                self.server.received.append(dict(envelope, data=data.decode()))
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(json.loads(body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    server.bodies, server.statuses = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_email_and_webhook_delivery_with_retries(esc_repo, smtp_server, http_server, cli):
    text = FIXTURE.read_text().replace("port = 2525", f"port = {smtp_server.server_address[1]}")
    text = text.replace("[escalation.targets.on-call-engineer]\n",
                        "[escalation.targets.on-call-engineer]\nemail = \"oncall@example.com\"\n"
                        f"webhook = \"http://127.0.0.1:{http_server.server_address[1]}/hook\"\nmax_retries = 1\n")
    (esc_repo / "maf.toml").write_text(text)
    http_server.statuses = [500, 500]  # the first delivery fails twice (1 retry), the next tick succeeds
    cfg, store, esc_id = opened(esc_repo)
    sleeps = []
    results = delivery.deliver_pending(at(store, T0), cfg, str(esc_repo / ".agent-mail"), environ={},
                                       sleep=sleeps.append)
    by_channel = {r["channel"]: r for r in results}
    assert by_channel["mailbox"]["status"] == "sent" and by_channel["email"]["status"] == "sent"
    assert by_channel["webhook"]["status"] == "failed" and by_channel["webhook"]["attempts"] == 2
    assert sleeps == [delivery.BACKOFF_SECONDS]
    record = escalation.get(store, esc_id)
    assert record["delivery_status"] == "failed" and "500" in record["delivery_error"]
    mail = smtp_server.received[0]
    assert "oncall@example.com" in " ".join(mail["rcpt"]) and "ESCALATION_REQUEST" in mail["data"]
    store.close()
    ticked = cli(esc_repo, "escalate", "tick", "--json")
    assert ticked.code == 0 and [d["channel"] for d in ticked.json["deliveries"]] == ["webhook"]
    assert http_server.bodies[-1]["escalationId"] == esc_id and http_server.bodies[-1]["type"] == "ESCALATION_REQUEST"
    assert cli(esc_repo, "escalate", "show", esc_id, "--json").json["delivery_status"] == "delivered"


def test_unreachable_smtp_is_recorded_and_printed(esc_repo, cli):
    text = FIXTURE.read_text().replace("port = 2525", "port = 9")  # nothing listens on the discard port
    text = text.replace("[escalation.targets.codex-senior]\n", "[escalation.targets.codex-senior]\nemail = \"s@example.com\"\n")
    (esc_repo / "maf.toml").write_text(text.replace("max_retries = 2", "max_retries = 0"))
    result = cli(esc_repo, "escalate", "--agent-id", "bob", "--error-context", "stuck", "--bead-id", "bd-9",
                 "--target", "codex-senior")
    assert result.code == 0 and "failed" in result.err and "kept" in result.err
    shown = cli(esc_repo, "escalate", "list", "--json").json["escalations"][0]
    assert shown["delivery_status"] == "failed" and shown["delivery_error"].startswith("email to codex-senior")
    assert len(messages(esc_repo, "codex-senior")) == 1  # the mailbox copy went out


# --- `maf escalate` (the seed's command line) -----------------------------------------------------

def test_manual_escalation_json_and_message(esc_repo, cli):
    result = cli(esc_repo, "escalate", "--agent-id", "codex-1", "--error-context", "tests keep failing",
                 "--bead-id", "bd-42", "--target", "codex-senior", "--priority", "critical",
                 "--context", '{"attempts": 3}', "--json")
    assert result.code == 0
    assert set(result.json) >= {"success", "escalationId", "agentId", "target", "beadId", "timestamp"}
    assert result.json["success"] is True and result.json["beadId"] == "bd-42"
    payload = json_part(messages(esc_repo, "codex-senior")[0])
    assert payload["priority"] == "critical" and payload["context"]["attempts"] == 3
    assert payload["context"]["beadId"] == "bd-42" and payload["reason"] == "tests keep failing"


def test_manual_dry_run_writes_nothing(esc_repo, cli):
    result = cli(esc_repo, "escalate", "--agent-id", "codex-1", "--error-context", "x", "--bead-id", "bd-1",
                 "--target", "minimax-debug-1", "--dry-run")
    assert result.code == 0 and "X-MAF-Type: ESCALATION_REQUEST" in result.out and "dry run" in result.out
    assert not (esc_repo / ".git" / "maf").exists() and not (esc_repo / ".agent-mail").exists()


@pytest.mark.parametrize("args, message", [
    (["--context", "{not json"], "--context is not valid JSON"),
    (["--context", "[1, 2]"], "must be a JSON object"),
    (["--priority", "urgent"], "urgent"),
    (["--target", "someone-else"], "configured targets are codex-senior, engineering-lead, minimax-debug-1"),
    (["--path", "no-such-path"], "Unknown escalation path"),
    (["--agent-id", "../x"], "Invalid --agent-id"),
])
def test_manual_bad_input_exit_2(esc_repo, cli, args, message):
    base = {"--agent-id": "codex-1", "--error-context": "x", "--bead-id": "bd-1", "--target": "codex-senior"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    argv = [item for pair in base.items() for item in pair]
    result = cli(esc_repo, "escalate", *argv)
    assert result.code == 2 and message in result.err
    assert not (esc_repo / ".git" / "maf").exists()


def test_any_agent_is_a_target_without_configured_targets(repo, cli):
    result = cli(repo, "escalate", "--agent-id", "a1", "--error-context", "x", "--bead-id", "b", "--target", "helper-7")
    assert result.code == 0 and len(messages(repo, "helper-7")) == 1
    bad = cli(repo, "escalate", "--agent-id", "a1", "--error-context", "x", "--bead-id", "b", "--target", "-x")
    assert bad.code == 2


def test_manual_with_path_follows_its_later_levels(esc_repo, cli):
    result = cli(esc_repo, "escalate", "--agent-id", "codex-1", "--error-context", "x", "--bead-id", "bd-1",
                 "--target", "minimax-debug-1", "--path", "critical-system-escalation", "--json")
    esc_id = result.json["escalationId"]
    cfg = load(esc_repo)
    store = open_store(esc_repo)
    created = escalation.get(store, esc_id)["created_at"]
    assert escalation.tick(at(store, created + 5 * MINUTE), cfg)[0]["target"] == "engineering-lead"


def test_monitor_stops_cleanly_on_ctrl_c(esc_repo, cli):
    cli(esc_repo, "escalate", "--agent-id", "codex-1", "--error-context", "x", "--bead-id", "b", "--target", "codex-senior")
    counted = cli(esc_repo, "escalate", "monitor", "--interval", "0.05", "--count", "2")
    assert counted.code == 0 and counted.out.count("maf escalate monitor") == 2 and "codex-senior" in counted.out
    proc = subprocess.Popen([str(BIN / "maf"), "escalate", "monitor", "--interval", "0.2"], cwd=esc_repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    line = ""
    while "maf escalate monitor" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "monitor stopped" in out and "Traceback" not in err


def test_failing_preflight_runs_open_an_escalation(esc_repo, cli):
    text = FIXTURE.read_text() + '\n[preflight.checks.environment]\nrequired_vars = ["MAF_TEST_NEVER_SET"]\n'
    (esc_repo / "maf.toml").write_text(text)
    assert cli(esc_repo, "db", "migrate").code == 0
    for attempt in range(3):
        run = cli(esc_repo, "preflight", "--only", "environment", "--agent-id", "carol", "--json")
        assert run.code == 1
        assert bool(run.json.get("escalations")) is (attempt == 2)
    records = cli(esc_repo, "escalate", "list", "--json").json["escalations"]
    assert [(r["condition"], r["agent_id"]) for r in records] == [("preflight_failure", "carol")]
    assert json_part(messages(esc_repo, "on-call-engineer")[0])["context"]["executionId"].startswith("pf-")


def test_one_attempt_touching_two_leased_paths_counts_once(esc_repo, cli):
    cli(esc_repo, "lease", "acquire", "held/", "--agent", "alice")
    for name in ("one.txt", "two.txt"):
        (esc_repo / "held").mkdir(exist_ok=True)
        (esc_repo / "held" / name).write_text("x")
        git("add", f"held/{name}", cwd=esc_repo)
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "MAF_AGENT_ID": "bob"}
    stream = io.StringIO()
    assert run_hook("commit", environ=environ, cwd=str(esc_repo), stream=stream) == 1
    assert "escalation" not in stream.getvalue()  # threshold 2 attempts, not 2 rows
    assert cli(esc_repo, "escalate", "list", "--json").json["escalations"] == []


# --- open_and_deliver: the one way front ends open escalations ------------------------------------------

def _conflicts(store, agent, times):
    for index, when in enumerate(times):
        store.db.execute(
            "INSERT INTO reservation_conflicts (id, agent_id, file_path, severity, holder_agent_id, lease_id, "
            "lease_expires_at, attempted_operation, status, created_at) VALUES "
            "(?, ?, 'a', 'high', 'alice', 'l', 0, 'commit', 'blocked', ?)", (f"c{index}-{when}", agent, when))


def test_open_and_deliver_mails_now_and_leaves_email_for_tick(esc_repo):
    from maf_hooks.services import escalation as service

    text = FIXTURE.read_text().replace("[escalation.targets.on-call-engineer]\n",
                                       "[escalation.targets.on-call-engineer]\nemail = \"oncall@example.com\"\n")
    (esc_repo / "maf.toml").write_text(text)
    cfg = load(esc_repo)
    mail_root = str(esc_repo / ".agent-mail")
    with open_store(esc_repo) as store:
        _conflicts(store, "bob", [T0 - 2000])
        assert service.open_and_deliver(store, cfg, "bob", "reservation_conflict", {"x": 1}, mail_root) == []
        _conflicts(store, "bob", [T0 - 1000, T0 - 1000])  # one attempt touching two paths: counts once
        assert service.open_and_deliver(store, cfg, "bob", "reservation_conflict", {"x": 1}, mail_root) != []
        [record] = service.listing(store)
        assert record["context"]["count"] == 2 and record["context"]["x"] == 1
        _, deliveries = service.show(store, record["escalation_id"])
        assert {(d["channel"], d["status"]) for d in deliveries} == {("mailbox", "sent"), ("email", "pending")}
        assert store.db.scalar("SELECT COUNT(*) FROM escalation_paths WHERE is_active = 1") >= 1
        # the same (path, agent, condition) is already open: nothing new, nothing sent twice
        assert service.open_and_deliver(store, cfg, "bob", "reservation_conflict", {}, mail_root) == []
    assert len(messages(esc_repo, "on-call-engineer")) == 1


def test_open_and_deliver_without_paths_opens_nothing(repo):
    from maf_hooks.services import escalation as service

    cfg = config.load(str(repo), environ={})
    with open_store(repo) as store:
        _conflicts(store, "bob", [T0 - 3, T0 - 2, T0 - 1])
        assert service.open_and_deliver(store, cfg, "bob", "reservation_conflict", {}, str(repo / "mail")) == []
        assert service.listing(store) == []
