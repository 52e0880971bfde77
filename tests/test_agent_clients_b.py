"""Copilot, Cursor and OpenCode edit-time hook protocols: each client's real hook input, parsed into
a ToolCall, and maf's deny in exactly the client's own form; the OpenCode plugin run under node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from maf_hooks.agent_hooks import copilot, cursor, opencode
from maf_hooks.agent_hooks.call import OTHER, SESSION_END, SESSION_START, WRITE, BadHookInput, Reply

FIXTURES = Path(__file__).parent / "fixtures" / "agent_hooks"
PLUGIN = Path(opencode.__file__).with_name("opencode_plugin.js")
REPO = "/home/dev/project"  # stands in for the fixtures' $REPO (a made-up place)
NODE = shutil.which("node")
# optional here, mandatory in CI
needs_node = pytest.mark.skipif(NODE is None and not os.environ.get("CI"), reason="node is not installed")


def fixture(client: str, name: str, repo: str = REPO) -> object:
    return json.loads((FIXTURES / client / f"{name}.json").read_text().replace("$REPO", repo))


def reply_json(reply: Reply) -> dict:
    assert reply.code == 0 and reply.stderr == ""
    assert reply.stdout.endswith("\n") and reply.stdout.count("\n") == 1
    return json.loads(reply.stdout)


# --- Copilot ---------------------------------------------------------------------------------------


def test_copilot_writes():
    call = copilot.parse(fixture("copilot", "allowed_write"), {})
    assert (call.kind, call.paths, call.tool, call.cwd) == (WRITE, (f"{REPO}/src/free.py",), "create", REPO)
    assert call.session == "3f2b9c1e-8d4a-4b6f-9e21-7c5d0a1b2c3d" and call.event == "preToolUse"
    call = copilot.parse(fixture("copilot", "denied_write"), {})
    assert (call.kind, call.paths, call.tool) == (WRITE, ("src/held.py",), "edit")
    assert copilot.parse(fixture("copilot", "outside"), {}).paths == ("../outside.txt",)


def test_copilot_tool_args_as_an_object_and_str_replace_editor():
    doc = {"sessionId": "s", "cwd": REPO, "toolName": "edit", "toolArgs": {"path": "a.py"}}
    assert copilot.parse(doc, {}).paths == ("a.py",)
    doc = {"cwd": REPO, "toolName": "str_replace_editor", "toolArgs": json.dumps({"command": "create", "path": "b"})}
    call = copilot.parse(doc, {})
    assert (call.kind, call.paths, call.session) == (WRITE, ("b",), None)
    doc["toolArgs"] = json.dumps({"command": "view", "path": "b"})
    assert copilot.parse(doc, {}).kind == OTHER


def test_copilot_apply_patch_is_the_raw_patch():
    patch = "*** Begin Patch\n*** Add File: /w/r/new.md\n+x\n*** Update File: src/held.py\n@@\n-a\n+b\n*** End Patch\n"
    call = copilot.parse({"cwd": REPO, "toolName": "apply_patch", "toolArgs": patch}, {})
    assert (call.kind, call.paths, call.tool) == (WRITE, ("/w/r/new.md", "src/held.py"), "apply_patch")
    for bad in ("*** Begin Patch\n*** End Patch\n", {"input": patch}, None):
        with pytest.raises(BadHookInput):
            copilot.parse({"cwd": REPO, "toolName": "apply_patch", "toolArgs": bad}, {})


def test_copilot_other_tools_and_sessions():
    call = copilot.parse(fixture("copilot", "non_write"), {})
    assert (call.kind, call.paths, call.tool) == (OTHER, (), "bash")
    # a tool that writes nothing is not even asked for its arguments
    assert copilot.parse({"toolName": "view", "toolArgs": 7}, {}).kind == OTHER
    start = copilot.parse(fixture("copilot", "session_start"), {})
    end = copilot.parse(fixture("copilot", "session_end"), {})
    assert (start.kind, start.event, end.kind, end.event) == (SESSION_START, "sessionStart", SESSION_END, "sessionEnd")
    assert start.session == end.session == "3f2b9c1e-8d4a-4b6f-9e21-7c5d0a1b2c3d"


@pytest.mark.parametrize("document", [
    fixture("copilot", "malformed"),  # toolArgs a string that is no JSON
    {"cwd": REPO, "toolName": "edit", "toolArgs": 42},
    {"cwd": REPO, "toolName": "edit", "toolArgs": "[\"a.py\"]"},
    {"cwd": REPO, "toolName": "edit"},
    {"cwd": REPO, "toolName": "create", "toolArgs": json.dumps({"file_text": "x"})},
    {"cwd": REPO, "toolName": "create", "toolArgs": json.dumps({"path": 3})},
    {"cwd": REPO, "toolName": 5, "toolArgs": "{}"},
    {"cwd": 1, "toolName": "edit", "toolArgs": "{}"},
    {"timestamp": 1, "cwd": REPO},
    ["toolName", "edit"],
    "edit",
])
def test_copilot_malformed_input(document):
    with pytest.raises(BadHookInput):
        copilot.parse(document, {})


def test_copilot_deny():
    reply = copilot.deny("src/held.py is leased by agent-b")
    assert reply_json(reply) == {"permissionDecision": "deny",
                                 "permissionDecisionReason": "src/held.py is leased by agent-b"}


# --- Cursor ----------------------------------------------------------------------------------------


def test_cursor_writes():
    call = cursor.parse(fixture("cursor", "allowed_write"), {})
    assert (call.kind, call.paths, call.tool, call.event) == (WRITE, (f"{REPO}/src/free.py",), "Write", "preToolUse")
    # the tool's cwd is empty: the workspace root stands in
    assert call.cwd == REPO and call.session == "c0nv-5e7a9d21-3b4c-4f8e-a1d2-0b9c8e7f6a5d"
    assert cursor.parse(fixture("cursor", "denied_write"), {}).paths == (f"{REPO}/src/held.py",)
    assert cursor.parse(fixture("cursor", "outside"), {}).paths == ("/var/tmp/elsewhere.txt",)


def test_cursor_cwd_falls_back_to_the_project_dir():
    doc = {"hook_event_name": "preToolUse", "tool_name": "Write", "tool_input": {"file_path": "a"}, "cwd": ""}
    assert cursor.parse(doc, {"CURSOR_PROJECT_DIR": "/p"}).cwd == "/p"
    assert cursor.parse(doc, {}).cwd is None
    doc["cwd"] = "/q"
    assert cursor.parse(doc, {"CURSOR_PROJECT_DIR": "/p"}).cwd == "/q"


def test_cursor_write_without_a_tool_name_and_str_replace():
    # seen from some Cursor builds: the Write hook's payload lacks tool_name
    doc = {"hook_event_name": "preToolUse", "tool_input": {"file_path": "a.py", "content": "x"}, "cwd": "/p"}
    call = cursor.parse(doc, {})
    assert (call.kind, call.paths, call.tool) == (WRITE, ("a.py",), None)
    doc = {"hook_event_name": "preToolUse", "tool_name": "StrReplace", "cwd": "/p",
           "tool_input": {"path": "b.py", "old_string": "x", "new_string": "y"}}
    assert cursor.parse(doc, {}).paths == ("b.py",)


def test_cursor_other_tools_and_sessions():
    call = cursor.parse(fixture("cursor", "non_write"), {})
    assert (call.kind, call.tool) == (OTHER, "Shell")
    start = cursor.parse(fixture("cursor", "session_start"), {})
    end = cursor.parse(fixture("cursor", "session_end"), {})
    assert (start.kind, end.kind) == (SESSION_START, SESSION_END)
    assert start.session == end.session == "c0nv-5e7a9d21-3b4c-4f8e-a1d2-0b9c8e7f6a5d"


@pytest.mark.parametrize("document", [
    fixture("cursor", "malformed"),  # tool_input a string, not an object
    {"hook_event_name": "preToolUse", "tool_name": "Write"},
    {"hook_event_name": "preToolUse", "tool_name": "Write", "tool_input": {"content": "x"}},
    {"hook_event_name": "preToolUse", "tool_name": "Write", "tool_input": {"file_path": ""}},
    {"hook_event_name": "preToolUse", "tool_name": "Write", "tool_input": {"file_path": ["a"]}},
    {"hook_event_name": "preToolUse", "tool_input": {"content": "x"}},
    {"hook_event_name": "preToolUse", "tool_name": "Write", "tool_input": {"file_path": "a"}, "conversation_id": 9},
    {"hook_event_name": "stop", "status": "completed"},  # a turn's end is no event maf answers
    {"tool_name": "Write", "tool_input": {"file_path": "a"}},
    [],
])
def test_cursor_malformed_input(document):
    with pytest.raises(BadHookInput):
        cursor.parse(document, {})


def test_cursor_deny_and_allow():
    assert reply_json(cursor.deny("held by agent-b")) == {
        "permission": "deny", "user_message": "held by agent-b", "agent_message": "held by agent-b"}
    # failClosed treats an empty answer as a failure: an allowed preToolUse says so
    assert reply_json(cursor.allow()) == {"permission": "allow"}


# --- OpenCode --------------------------------------------------------------------------------------


def test_opencode_writes():
    call = opencode.parse(fixture("opencode", "allowed_write"), {})
    assert (call.kind, call.paths, call.tool, call.cwd) == (WRITE, (f"{REPO}/src/free.py",), "write", REPO)
    assert call.session == "ses_4c2a9e1f7b3dXk2mQ8rT5vW1yZ" and call.event == "tool.execute.before"
    assert opencode.parse(fixture("opencode", "denied_write"), {}).paths == (f"{REPO}/src/held.py",)
    call = opencode.parse(fixture("opencode", "denied_patch"), {})
    assert (call.kind, call.paths) == (WRITE, ("docs/new.md", "src/held.py"))
    assert opencode.parse(fixture("opencode", "outside"), {}).paths == ("/var/tmp/elsewhere.txt",)


def test_opencode_other_tools_and_sessions():
    assert opencode.parse(fixture("opencode", "non_write"), {}).kind == OTHER
    env = opencode.parse(fixture("opencode", "shell_env"), {})
    gone = opencode.parse(fixture("opencode", "session_deleted"), {})
    assert (env.kind, env.event, gone.kind, gone.event) == (SESSION_START, "shell.env", SESSION_END, "session.deleted")
    assert env.session == gone.session == "ses_4c2a9e1f7b3dXk2mQ8rT5vW1yZ"
    assert reply_json(opencode.session_started(env, "opencode-ses_4c2a", {})) == {
        "env": {"MAF_AGENT_ID": "opencode-ses_4c2a"}}
    # the agent id does not come from the session: the shell keeps what it inherits
    assert opencode.session_started(env, None, {}) == Reply()


@pytest.mark.parametrize("document", [
    fixture("opencode", "malformed"),  # filePath a number
    {"event": "tool.execute.before", "tool": "write", "args": "a.py"},
    {"event": "tool.execute.before", "tool": "edit", "args": {}},
    {"event": "tool.execute.before", "tool": "apply_patch", "args": {"patchText": "*** Begin Patch\n*** End Patch\n"}},
    {"event": "tool.execute.before", "tool": "apply_patch", "args": {"patchText": "*** Add File: a.py\n+x\n"}},
    {"event": "tool.execute.before", "tool": "apply_patch", "args": {"patchText": 7}},
    {"event": "tool.execute.before", "args": {"filePath": "a"}},
    {"event": "session.idle", "sessionID": "s"},
    {"tool": "write", "args": {"filePath": "a"}},
    None,
])
def test_opencode_malformed_input(document):
    with pytest.raises(BadHookInput):
        opencode.parse(document, {})


def test_opencode_deny():
    assert reply_json(opencode.deny("held by agent-b")) == {"decision": "deny", "reason": "held by agent-b"}


# --- the OpenCode plugin under node ----------------------------------------------------------------

DRIVER = """
import { MafHooks } from "./maf.js"
const [hook, payload] = [process.argv[2], JSON.parse(process.argv[3])]
const hooks = await MafHooks({ directory: process.argv[4] })
const output = hook === "shell.env" ? { env: {} } : { args: payload.args }
try {
  await hooks[hook](payload.input, output)
  console.log(JSON.stringify({ resolved: output }))
} catch (error) {
  console.log(JSON.stringify({ threw: error.message }))
}
"""


def run_plugin(tmp_path: Path, hook: str, payload: dict, env: dict, directory: Path | None = None) -> dict:
    """Run the real plugin file's ``hook`` under node, as OpenCode would call it in ``directory``."""
    node = NODE or "node"
    workdir = tmp_path / "plugin"
    workdir.mkdir(exist_ok=True)
    (workdir / "package.json").write_text('{"type": "module"}\n')
    shutil.copyfile(PLUGIN, workdir / "maf.js")
    (workdir / "driver.js").write_text(DRIVER)
    run = subprocess.run([node, "driver.js", hook, json.dumps(payload), str(directory or tmp_path)], cwd=workdir,
                         capture_output=True, text=True, env={**os.environ, **env})
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


EDIT = {"input": {"tool": "edit", "sessionID": "ses_1", "callID": "c1"}, "args": {"filePath": "a.py"}}


@needs_node
@pytest.mark.parametrize(("command", "expected"), [
    ("/nonexistent/maf", "maf-hooks: cannot run /nonexistent/maf"),
    ("false", "maf-hooks: false agent-hook opencode failed (exit 1)"),
    ("echo", "maf-hooks: echo "),  # answers without reading the request, and no JSON
])
def test_the_plugin_fails_closed(tmp_path, command, expected):
    result = run_plugin(tmp_path, "tool.execute.before", EDIT, {"MAF_COMMAND": command})
    assert result["threw"].startswith(expected)
    result = run_plugin(tmp_path, "shell.env", {"input": {"cwd": str(tmp_path), "sessionID": "ses_1"}},
                        {"MAF_COMMAND": command})
    assert result["threw"].startswith(expected)


@needs_node
def test_the_plugin_leaves_a_terminal_without_a_session_alone(tmp_path):
    result = run_plugin(tmp_path, "shell.env", {"input": {"cwd": str(tmp_path)}}, {"MAF_COMMAND": "false"})
    assert result == {"resolved": {"env": {}}}


# --- end to end: the real `maf agent-hook CLIENT` in a repository where alice holds src/held.py ---

ALLOWED = {"copilot": "", "cursor": '{"permission": "allow"}\n', "opencode": ""}


@pytest.fixture
def held(repo):
    """``repo`` with alice's exclusive lease on src/held.py (taken as alice's shell would)."""
    lease = subprocess.run(["maf-lease", "acquire", "src/held.py", "--reason", "refactoring the parser"],
                           cwd=repo, capture_output=True, text=True, env={**os.environ, "MAF_AGENT_ID": "alice"})
    assert lease.returncode == 0, lease.stderr
    return repo


def agent_hook(repo: Path, client: str, name: str) -> subprocess.CompletedProcess:
    data = (FIXTURES / client / f"{name}.json").read_text().replace("$REPO", str(repo))
    return subprocess.run(["maf", "agent-hook", client], input=data, cwd=repo, capture_output=True, text=True)


DENY_KEYS = {"copilot": {"permissionDecision", "permissionDecisionReason"},
             "cursor": {"permission", "user_message", "agent_message"},
             "opencode": {"decision", "reason"}}


def deny_reason(client: str, run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 0, run.stderr
    reply = json.loads(run.stdout)
    assert set(reply) == DENY_KEYS[client]
    if client == "copilot":
        assert reply["permissionDecision"] == "deny"
        return reply["permissionDecisionReason"]
    if client == "cursor":
        assert reply["permission"] == "deny" and reply["user_message"] == reply["agent_message"]
        return reply["user_message"]
    assert reply["decision"] == "deny"
    return reply["reason"]


def assert_allowed(held: Path, client: str) -> None:
    for name in ("allowed_write", "non_write", "outside"):
        run = agent_hook(held, client, name)
        assert (run.returncode, run.stdout, run.stderr) == (0, ALLOWED[client], ""), name


@pytest.mark.parametrize("client", ["copilot", "cursor", "opencode"])
def test_end_to_end(held, client):
    assert_allowed(held, client)
    reason = deny_reason(client, agent_hook(held, client, "denied_write"))
    assert "src/held.py" in reason and "alice" in reason and "refactoring the parser" in reason
    # malformed input fails closed, in the client's own form, naming the cause
    cause = {"copilot": "'toolArgs' is not JSON", "cursor": "'tool_input' is not a JSON object",
             "opencode": "'filePath' of type int"}[client]
    assert cause in deny_reason(client, agent_hook(held, client, "malformed"))


def test_end_to_end_cursor_allows_explicitly(held):
    assert_allowed(held, "cursor")


@pytest.mark.parametrize("client", ["copilot", "cursor", "opencode"])
def test_end_to_end_sessions(held, client):
    names = {"copilot": ("session_start", "session_end"), "cursor": ("session_start", "session_end"),
             "opencode": ("session_deleted",)}[client]
    for name in names:
        run = agent_hook(held, client, name)
        assert (run.returncode, run.stdout, run.stderr) == (0, "", ""), name


def test_end_to_end_opencode_shell_env_names_the_session_agent(held):
    run = agent_hook(held, "opencode", "shell_env")
    assert (run.returncode, json.loads(run.stdout)) == (0, {"env": {"MAF_AGENT_ID": "opencode-rT5vW1yZ"}})
    # once the repository names its agent, the session's shell inherits that and nothing is exported
    subprocess.run(["git", "config", "maf.agentId", "bob"], cwd=held, check=True)
    run = agent_hook(held, "opencode", "shell_env")
    assert (run.returncode, run.stdout) == (0, "")


# --- end to end: the plugin under node, asking the real maf ----------------------------------------


@needs_node
def test_the_plugin_end_to_end(held, tmp_path):
    deny = {"input": {"tool": "edit", "sessionID": "ses_4c2a9e1f", "callID": "c1"},
            "args": {"filePath": str(held / "src" / "held.py"), "oldString": "a", "newString": "b"}}
    result = run_plugin_in(held, tmp_path, "tool.execute.before", deny)
    assert "src/held.py" in result["threw"] and "alice" in result["threw"]
    free = {"input": {"tool": "write", "sessionID": "ses_4c2a9e1f", "callID": "c2"},
            "args": {"filePath": str(held / "src" / "free.py"), "content": "x"}}
    assert run_plugin_in(held, tmp_path, "tool.execute.before", free) == {"resolved": {"args": free["args"]}}
    shell = {"input": {"cwd": str(held), "sessionID": "ses_4c2a9e1f"}}
    assert run_plugin_in(held, tmp_path, "shell.env", shell) == {
        "resolved": {"env": {"MAF_AGENT_ID": "opencode-4c2a9e1f"}}}


def run_plugin_in(directory: Path, tmp_path: Path, hook: str, payload: dict) -> dict:
    """The plugin, as OpenCode loads it in ``directory``, asking the venv's maf on PATH."""
    return run_plugin(tmp_path, hook, payload, {}, directory=directory)
