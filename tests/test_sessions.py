"""One agent session is one agent at every layer, for a client that gives its shell commands no
session id (Gemini CLI, Copilot, Cursor): a real "client" process runs the session's hooks, its
shell commands (`maf-lease`, `git commit`) and its MCP server (`maf mcp` driven by the SDK's stdio
client) as its children, and each finds the session the hook recorded (maf_hooks.sessions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import BIN, commit_file, git

from maf_hooks import sessions

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="process ancestry is read from /proc")

SESSION = "9c1f5e7a-2b3d-4e6f-8a9b-0c1d2e3f4a5b"
OTHER = "4b2a1c0d-aaaa-bbbb-cccc-dddddddddddd"
AGENT = "gemini-9c1f5e7a"

# The client: runs each step as Gemini CLI would (hooks and shell commands through `sh -c`, the
# MCP server as a direct child), prints one JSON line per step.
CLIENT = r'''
import ctypes, json, os, subprocess, sys
# named as a command-line agent client's process is (Gemini CLI runs on node)
ctypes.CDLL(None).prctl(15, b"node", 0, 0, 0)  # PR_SET_NAME
steps = json.loads(sys.argv[1])
env = {k: v for k, v in os.environ.items() if not k.startswith("MAF_")}
out = []
for step in steps:
    kind = step["kind"]
    if kind == "hook":
        done = subprocess.run(["sh", "-c", "maf agent-hook gemini"], input=json.dumps(step["input"]).encode(),
                              capture_output=True, env=env)
        out.append({"code": done.returncode, "stdout": done.stdout.decode(), "stderr": done.stderr.decode()})
    elif kind == "shell":
        done = subprocess.run(["sh", "-c", step["command"]], capture_output=True, env=env)
        out.append({"code": done.returncode, "stdout": done.stdout.decode(), "stderr": done.stderr.decode()})
    elif kind == "mcp":
        import anyio
        from mcp import Client
        from mcp.client.stdio import StdioServerParameters

        async def use():
            async with Client(StdioServerParameters(command="maf", args=["mcp"], env=env),
                              read_timeout_seconds=120) as client:
                result = await client.call_tool(step["tool"], step["arguments"])
                return {"error": result.is_error, "document": result.structured_content}
        out.append(anyio.run(use))
print(json.dumps(out))
'''


def gemini(event, session=SESSION, **extra):
    return {"kind": "hook", "input": {"session_id": session, "hook_event_name": event, "cwd": os.getcwd(),
                                      "timestamp": "2026-12-01T00:00:00Z", **extra}}


def write(path, session=SESSION):
    step = gemini("BeforeTool", session, tool_name="write_file",
                  tool_input={"file_path": os.path.join(os.getcwd(), path), "content": "x"})
    return step


def client(repo, steps):
    """Run the steps inside one client process in ``repo``; their results."""
    done = subprocess.run([sys.executable, "-c", CLIENT, json.dumps(steps)], cwd=repo, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def project(repo, monkeypatch):
    monkeypatch.chdir(repo)
    commit_file(repo, "src/app.py")
    git("config", "core.hooksPath", ".hooks", cwd=repo)
    (repo / ".hooks").mkdir()
    (repo / ".hooks" / "pre-commit").write_text(f"#!/bin/sh\nexec {BIN / 'maf-reservations'}\n")
    (repo / ".hooks" / "pre-commit").chmod(0o755)
    return repo


def test_the_hook_a_shell_command_a_commit_and_the_mcp_server_of_one_session_are_one_agent(project):
    steps = [
        gemini("SessionStart", source="startup"),
        {"kind": "shell", "command": "maf-lease acquire src/app.py --json"},
        write("src/app.py"),
        write("src/app.py", OTHER),
        {"kind": "mcp", "tool": "lease_acquire", "arguments": {"patterns": ["docs/"]}},
        {"kind": "shell", "command": "echo 2 > src/app.py && git add src/app.py && git commit -q -m edit"},
    ]
    started, acquired, own_edit, other_edit, mcp_acquired, committed = client(project, steps)
    assert started == {"code": 0, "stdout": "", "stderr": ""}
    assert json.loads(acquired["stdout"])["granted"][0]["agent"] == AGENT
    assert own_edit["stdout"] == ""  # its own lease never denies its edit
    assert json.loads(other_edit["stdout"])["decision"] == "deny" and AGENT in other_edit["stdout"]
    assert not mcp_acquired["error"] and mcp_acquired["document"]["granted"][0]["agent"] == AGENT
    assert committed["code"] == 0, committed["stderr"]
    # a process outside the session is not that agent
    outside = subprocess.run([str(BIN / "maf-lease"), "list", "--mine", "--json"], cwd=project, capture_output=True,
                             text=True, env={k: v for k, v in os.environ.items() if not k.startswith("MAF_")})
    assert json.loads(outside.stdout)["leases"] == []


def test_a_client_running_two_sessions_at_once_names_neither_and_a_session_end_forgets(project):
    whoami = {"kind": "shell", "command": "maf-lease acquire src/app.py --json"}
    release = {"kind": "shell", "command": "maf-lease release src/app.py --json"}
    results = client(project, [gemini("SessionStart"), gemini("SessionStart", OTHER), whoami, release,
                               gemini("SessionEnd", OTHER, reason="exit"), whoami])
    assert json.loads(results[2]["stdout"])["granted"][0]["agent"] == "dev@example.com"  # ambiguous: the fallback
    assert json.loads(results[5]["stdout"])["granted"][0]["agent"] == AGENT
    results = client(project, [gemini("SessionStart"), gemini("SessionEnd", reason="exit")])
    assert not [name for name in os.listdir(sessions.directory()) if name.endswith(".json")]


def in_a_process_named(name: str, code: str, *, through_shell: bool = False) -> subprocess.CompletedProcess:
    """Run ``code`` in a child of a process named ``name`` (as /proc shows it), directly or
    through ``sh -c`` (as clients run hooks)."""
    parent = (
        "import ctypes, subprocess, sys\n"
        f"ctypes.CDLL(None).prctl(15, {name.encode()!r}, 0, 0, 0)  # PR_SET_NAME\n"
        f"argv = [sys.executable, '-c', {code!r}]\n"
        f"if {through_shell!r}:\n"
        "    import shlex\n"
        "    argv = ['sh', '-c', ' '.join(shlex.quote(part) for part in argv)]\n"
        "done = subprocess.run(argv, capture_output=True, text=True)\n"
        "sys.stdout.write(done.stdout); sys.stderr.write(done.stderr); sys.exit(done.returncode)\n"
    )
    return subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=60)


PID_REUSE = """
import json, os
from maf_hooks import sessions
pid, started = sessions.client_process()
os.makedirs(sessions.directory(), exist_ok=True)
with open(os.path.join(sessions.directory(), f"{pid}.json"), "w") as handle:
    json.dump({"pid": pid, "started": started + 1, "sessions": {"gemini:1": "ghost"}}, handle)
assert sessions.agent_of_this_process() is None
assert sessions.record("gemini", "gemini:2", "real")
assert sessions.agent_of_this_process() == "real"
assert not sessions.record("cursor", "cursor:3", "other")  # an editor: never recorded
assert not sessions.record("opencode", "opencode:4", "other")  # its plugin gives shells the id itself
"""


def test_a_record_of_another_process_with_the_same_pid_is_never_read():
    done = in_a_process_named("node", PID_REUSE)
    assert done.returncode == 0, done.stderr


def test_a_shell_under_a_terminal_host_is_no_client():
    """The nearest non-shell ancestor must be named as a client's process is: a hook run from a
    shell under, say, tmux records nothing, so the user's other panes never get the agent."""
    code = "from maf_hooks import sessions; print(sessions.client_process(), sessions.record('gemini', 'g:1', 'x'))"
    done = in_a_process_named("tmux: server", code, through_shell=True)
    assert done.returncode == 0 and done.stdout.split() == ["None", "False"], (done.stdout, done.stderr)
    done = in_a_process_named("node", code, through_shell=True)
    assert done.returncode == 0 and done.stdout.split()[-1] == "True", (done.stdout, done.stderr)


def test_a_record_holding_no_valid_agent_id_is_ignored():
    code = ("from maf_hooks import sessions\n"
            "assert sessions.record('gemini', 'gemini:1', '../../etc')\n"
            "assert sessions.agent_of_this_process() is None\n")
    done = in_a_process_named("node", code)
    assert done.returncode == 0, done.stderr


def test_the_nearest_session_wins_over_an_inherited_codex_thread(project, monkeypatch):
    """Gemini started from a Codex shell: its commands inherit CODEX_THREAD_ID, yet they are the
    Gemini session's, whose record is nearer."""
    steps = [gemini("SessionStart"), {"kind": "shell", "command": "maf-lease acquire src/app.py --json"},
             write("src/app.py")]
    monkeypatch.setenv("CODEX_THREAD_ID", "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
    _, acquired, own_edit = client(project, steps)
    assert json.loads(acquired["stdout"])["granted"][0]["agent"] == AGENT
    assert own_edit["stdout"] == ""
