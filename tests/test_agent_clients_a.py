"""The Claude Code, Codex and Gemini CLI hook protocols: the clients' real hook input (fixtures
under tests/fixtures/agent_hooks/CLIENT/) read into ToolCalls, and the deny replies checked
against each client's contract (exact keys, exit code). Also the Codex apply_patch envelope."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BIN, commit_file

from maf_hooks.agent_hooks import call as calls
from maf_hooks.agent_hooks import claude, codex, gemini, patch
from maf_hooks.agent_hooks.call import ALLOW, BadHookInput, ToolCall

FIXTURES = Path(__file__).parent / "fixtures" / "agent_hooks"
MODULES = {"claude": claude, "codex": codex, "gemini": gemini}
SESSIONS = {
    "claude": "3f2a9c1e-7b4d-4e8a-9f60-2c5d8e1a4b7c",
    "codex": "019a2b3c-4d5e-7f60-8a9b-0c1d2e3f4a5b",
    "gemini": "8c0e6f7a-1b2c-4d3e-9f8a-7b6c5d4e3f2a",
}


def substitute(value, places: dict[str, str]):
    """``value`` (decoded JSON) with each ``{name}`` in its strings replaced by ``places[name]``."""
    if isinstance(value, str):
        for name, place in places.items():
            value = value.replace("{" + name + "}", place)
        return value
    if isinstance(value, list):
        return [substitute(item, places) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, places) for key, item in value.items()}
    return value


def fixture(client: str, name: str, repo: Path, outside: Path | None = None):
    """The decoded fixture ``client/name.json`` for a repository at ``repo``."""
    document = json.loads((FIXTURES / client / f"{name}.json").read_text(encoding="utf-8"))
    return substitute(document, {"repo": str(repo), "outside": str(outside or repo.parent / "elsewhere")})


def parse(client: str, name: str, repo: Path) -> ToolCall:
    return MODULES[client].parse(fixture(client, name, repo), {})


# --- parse: the client's input -> ToolCall -----------------------------------------------------

WRITES = [
    ("claude", "allowed_write", "{repo}/src/free.py", "Write"),
    ("claude", "denied_write", "{repo}/src/leased.py", "Edit"),
    ("claude", "multi_edit", "{repo}/src/leased.py", "MultiEdit"),
    ("claude", "notebook_edit", "{repo}/notes/analysis.ipynb", "NotebookEdit"),
    ("claude", "outside_repo", "{outside}/notes.txt", "Write"),
    ("codex", "allowed_write", "src/free.py", "apply_patch"),
    ("codex", "denied_write", "src/leased.py", "apply_patch"),
    ("codex", "outside_repo", "{outside}/notes.txt", "apply_patch"),
    ("gemini", "allowed_write", "{repo}/src/free.py", "write_file"),
    ("gemini", "denied_write", "{repo}/src/leased.py", "replace"),
    ("gemini", "outside_repo", "{outside}/notes.txt", "write_file"),
]


@pytest.mark.parametrize(("client", "name", "path", "tool"), WRITES)
def test_parse_write_names_the_file_as_the_tool_does(tmp_path, client, name, path, tool):
    got = parse(client, name, tmp_path)
    expected = substitute(path, {"repo": str(tmp_path), "outside": str(tmp_path.parent / "elsewhere")})
    assert (got.kind, got.paths, got.tool) == (calls.WRITE, (expected,), tool)
    assert (got.session, got.cwd) == (SESSIONS[client], str(tmp_path))
    assert got.event == {"gemini": "BeforeTool"}.get(client, "PreToolUse")


@pytest.mark.parametrize(("client", "tool"), [("claude", "Bash"), ("codex", "Bash"), ("gemini", "run_shell_command")])
def test_parse_shell_command_is_other(tmp_path, client, tool):
    got = parse(client, "non_write", tmp_path)
    assert (got.kind, got.paths, got.tool, got.session) == (calls.OTHER, (), tool, SESSIONS[client])


@pytest.mark.parametrize(("client", "name", "kind", "event"), [
    ("claude", "session_start", calls.SESSION_START, "SessionStart"),
    ("claude", "session_end", calls.SESSION_END, "SessionEnd"),
    ("claude", "stop", calls.OTHER, "Stop"),
    ("codex", "session_start", calls.SESSION_START, "SessionStart"),
    ("codex", "stop", calls.OTHER, "Stop"),
    ("gemini", "session_start", calls.SESSION_START, "SessionStart"),
    ("gemini", "session_end", calls.SESSION_END, "SessionEnd"),
])
def test_parse_session_events(tmp_path, client, name, kind, event):
    """Only a real session end is SESSION_END: ``Stop`` (every turn, Claude and Codex) is not."""
    got = parse(client, name, tmp_path)
    assert (got.kind, got.event, got.session, got.cwd) == (kind, event, SESSIONS[client], str(tmp_path))


MALFORMED = [
    ("claude", "malformed_path_type", "'file_path' of type int"),
    ("claude", "malformed_no_tool_name", "no 'tool_name'"),
    ("claude", "malformed_no_path", "no 'file_path'"),
    ("claude", "malformed_tool_input_type", "tool_input is not a JSON object"),
    ("claude", "malformed_not_object", "not a JSON object"),
    ("codex", "malformed_envelope", "does not end with '*** End Patch'"),
    ("codex", "malformed_command_type", "is a int, not text"),
    ("codex", "malformed_no_session", "no 'session_id'"),
    ("codex", "malformed_not_object", "not a JSON object"),
    ("gemini", "malformed_path_type", "'file_path' of type list"),
    ("gemini", "malformed_no_event", "no 'hook_event_name'"),
    ("gemini", "malformed_not_object", "not a JSON object"),
]


@pytest.mark.parametrize(("client", "name", "message"), MALFORMED)
def test_parse_malformed_input_is_bad_hook_input(tmp_path, client, name, message):
    with pytest.raises(BadHookInput) as caught:
        parse(client, name, tmp_path)
    assert message in str(caught.value)


@pytest.mark.parametrize("client", sorted(MODULES))
def test_parse_refuses_a_cwd_that_is_no_string(tmp_path, client):
    document = fixture(client, "allowed_write", tmp_path)
    document["cwd"] = ["/"]
    with pytest.raises(BadHookInput, match="'cwd' of type list"):
        MODULES[client].parse(document, {})


def test_parse_claude_empty_file_path_is_bad_hook_input(tmp_path):
    document = fixture("claude", "allowed_write", tmp_path)
    document["tool_input"]["file_path"] = ""
    with pytest.raises(BadHookInput, match="empty 'file_path'"):
        claude.parse(document, {})


def test_parse_gemini_tool_without_tool_input(tmp_path):
    document = fixture("gemini", "allowed_write", tmp_path)
    del document["tool_input"]
    with pytest.raises(BadHookInput, match="no tool_input for write_file"):
        gemini.parse(document, {})


# --- deny: exactly the client's contract -------------------------------------------------------

REASON = "src/leased.py is leased by agent-b (pattern src/**, until 12:40, reason: refactor)."


@pytest.mark.parametrize("client", ["claude", "codex"])
def test_deny_is_the_pretooluse_json_with_exactly_its_keys(client):
    reply = MODULES[client].deny(REASON)
    assert (reply.code, reply.stderr) == (0, "")
    document = json.loads(reply.stdout)
    assert document == {"hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": REASON}}
    assert list(document) == ["hookSpecificOutput"]
    assert set(document["hookSpecificOutput"]) == {"hookEventName", "permissionDecision", "permissionDecisionReason"}


def test_deny_gemini_is_decision_and_reason_only():
    reply = gemini.deny(REASON)
    assert (reply.code, reply.stderr) == (0, "")
    assert json.loads(reply.stdout) == {"decision": "deny", "reason": REASON}


@pytest.mark.parametrize("client", sorted(MODULES))
def test_deny_never_has_an_empty_reason(client):
    """Codex ignores a deny without a non-empty reason (the edit would go ahead); Gemini requires one."""
    document = json.loads(MODULES[client].deny("  ").stdout)
    reason = document.get("reason") or document["hookSpecificOutput"]["permissionDecisionReason"]
    assert reason.strip()


@pytest.mark.parametrize("client", sorted(MODULES))
def test_deny_reason_survives_quotes_newlines_and_unicode(client):
    reason = 'path "a\\b.py"\nheld by agent-ü — wait'
    document = json.loads(MODULES[client].deny(reason).stdout)
    assert reason in (document.get("reason"), document.get("hookSpecificOutput", {}).get("permissionDecisionReason"))


# --- session start: the agent id for the session's shell commands ------------------------------

def test_claude_session_started_appends_a_quoted_export(tmp_path):
    env_file = tmp_path / "session-env" / "hook-0.sh"
    env_file.parent.mkdir()
    env_file.write_text("export PATH=/opt/bin:$PATH\n")
    start = parse("claude", "session_start", tmp_path)
    reply = claude.session_started(start, "claude-3f2a9c1e", {"CLAUDE_ENV_FILE": str(env_file)})
    assert reply == ALLOW
    assert env_file.read_text() == "export PATH=/opt/bin:$PATH\nexport MAF_AGENT_ID=claude-3f2a9c1e\n"
    # a resumed session runs SessionStart again: the line is not written twice
    assert claude.session_started(start, "claude-3f2a9c1e", {"CLAUDE_ENV_FILE": str(env_file)}) == ALLOW
    assert env_file.read_text().count("MAF_AGENT_ID") == 1


def test_claude_session_started_export_is_what_a_shell_sources(tmp_path):
    env_file = tmp_path / "env.sh"
    agent = "claude-3f2a'9c $(touch pwned)"
    reply = claude.session_started(parse("claude", "session_start", tmp_path), agent, {"CLAUDE_ENV_FILE": str(env_file)})
    assert reply == ALLOW
    shell = subprocess.run(["sh", "-c", f". {shlex.quote(str(env_file))}; printf %s \"$MAF_AGENT_ID\""],
                           capture_output=True, text=True, cwd=tmp_path, check=True)
    assert shell.stdout == agent
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(("agent", "environ"), [(None, {"CLAUDE_ENV_FILE": "FILE"}), ("claude-1", {}),
                                                ("claude-1", {"CLAUDE_ENV_FILE": ""})])
def test_claude_session_started_writes_nothing_without_agent_or_file(tmp_path, agent, environ):
    env_file = tmp_path / "env.sh"
    environ = {key: value.replace("FILE", str(env_file)) for key, value in environ.items()}
    assert claude.session_started(parse("claude", "session_start", tmp_path), agent, environ) == ALLOW
    assert not env_file.exists()


def test_claude_session_started_unwritable_file_warns_without_blocking(tmp_path):
    env_file = tmp_path / "missing-dir" / "env.sh"
    reply = claude.session_started(parse("claude", "session_start", tmp_path), "claude-1",
                                   {"CLAUDE_ENV_FILE": str(env_file)})
    assert (reply.code, reply.stdout) == (1, "")
    assert "cannot write MAF_AGENT_ID to CLAUDE_ENV_FILE" in reply.stderr and str(env_file) in reply.stderr


def test_claude_session_started_refuses_an_id_that_is_not_one_line(tmp_path):
    env_file = tmp_path / "env.sh"
    reply = claude.session_started(parse("claude", "session_start", tmp_path), "a\nexport X=1",
                                   {"CLAUDE_ENV_FILE": str(env_file)})
    assert reply.code == 1 and not env_file.exists()


@pytest.mark.parametrize(("environ", "written"), [
    ({"CODEX_ENV_FILE": "A", "CLAUDE_ENV_FILE": "B"}, "A"),
    ({"CLAUDE_ENV_FILE": "B"}, "B"),
])
def test_codex_session_started_prefers_codex_env_file(tmp_path, environ, written):
    files = {"A": tmp_path / "codex-env.sh", "B": tmp_path / "claude-env.sh"}
    environ = {key: str(files[value]) for key, value in environ.items()}
    assert codex.session_started(parse("codex", "session_start", tmp_path), "codex-019a2b3c", environ) == ALLOW
    assert files[written].read_text() == "export MAF_AGENT_ID=codex-019a2b3c\n"
    assert [name for name, path in files.items() if path.exists()] == [written]


def test_codex_session_started_without_env_file_writes_nothing(tmp_path):
    assert codex.session_started(parse("codex", "session_start", tmp_path), "codex-019a2b3c", {}) == ALLOW
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("agent", "name", "line"), [
    ("it's", "env.ps1", "$env:MAF_AGENT_ID = 'it''s'"),
    ("it's", "ENV.CMD", "set \"MAF_AGENT_ID=it's\""),
    ("100%", "env.cmd", None),
    ("it's", "env.sh", "export MAF_AGENT_ID='it'\"'\"'s'"),
    ("codex-1", "env", "export MAF_AGENT_ID=codex-1"),
    ("", "env.sh", None),
])
def test_export_line_follows_the_shell_of_the_env_file(agent, name, line):
    assert claude.export_line(agent, name) == line


def test_gemini_has_no_session_started():
    """Gemini offers no way into its shell tool's environment: the session must set MAF_AGENT_ID."""
    assert not hasattr(gemini, "session_started")


# --- the Codex apply_patch envelope ------------------------------------------------------------

def envelope(*lines: str, end: str = "\n") -> str:
    return end.join(["*** Begin Patch", *lines, "*** End Patch"]) + end


def test_codex_several_files_moves_and_deletions(tmp_path):
    got = parse("codex", "several_files", tmp_path)
    assert got.kind == calls.WRITE
    assert got.paths == ("docs/new notes.md", "src/app.py", "src/main.py", "src/legacy.py", "README.md")


def test_patch_paths_add_update_delete_move_in_order_each_once():
    text = envelope(
        "*** Add File: a.txt", "+one", "+*** Delete File: not-a-header.txt",
        "*** Update File: b.py", "*** Move to: c.py", "@@ class B:", " context", "-old", "+new",
        "@@", "-x", "+y",
        "*** Delete File: d.md",
        "*** Update File: a.txt", " one", "+two",
        "*** Add File: empty.txt",
    )
    assert patch.paths(text) == ("a.txt", "b.py", "c.py", "d.md", "empty.txt")


def test_patch_paths_keep_spaces_inside_and_drop_them_around():
    text = envelope("*** Add File:   docs/my notes.md  ", "+x", "  *** Delete File: old file.txt\t")
    assert patch.paths(text) == ("docs/my notes.md", "old file.txt")


def test_patch_paths_absolute_and_parent_paths_are_returned_as_written():
    text = envelope("*** Delete File: /abs/path.txt", "*** Update File: ../sibling/x.py", "*** Move to: ./y.py", "+z")
    assert patch.paths(text) == ("/abs/path.txt", "../sibling/x.py", "./y.py")


def test_patch_paths_crlf_heredoc_blank_lines_and_end_of_file():
    body = envelope("*** Update File: a.py", " keep", "+add", "*** End of File", "", "*** Delete File: b.py", end="\r\n")
    assert patch.paths("\n\n" + body + "\n") == ("a.py", "b.py")
    assert patch.paths("<<'EOF'\n" + envelope("*** Add File: h.txt", "+x") + "EOF\n") == ("h.txt",)


def test_patch_paths_update_body_may_hold_star_lines_behind_a_prefix():
    text = envelope("*** Update File: notes.md", " * item", "-*** Add File: quoted.txt", "+**bold**")
    assert patch.paths(text) == ("notes.md",)


def test_patch_paths_empty_patch_writes_nothing(tmp_path):
    assert patch.paths(envelope()) == ()
    document = fixture("codex", "allowed_write", tmp_path)
    document["tool_input"]["command"] = envelope()
    assert codex.parse(document, {}).kind == calls.OTHER


@pytest.mark.parametrize(("text", "message"), [
    ("", "envelope is empty"),
    ("*** Add File: a\n+x\n*** End Patch\n", "does not start with '*** Begin Patch': '*** Add File: a'"),
    ("*** Begin Patch\n*** Add File: a\n+x\n", "does not end with '*** End Patch': '+x'"),
    ("*** Begin Patch\n", "does not end with '*** End Patch'"),
    (envelope("*** Create File: a"), "line 2 is not a hunk header"),
    (envelope("*** Add File: a", "no plus"), "line 3 is not a hunk header ('*** Add File: PATH'"),
    (envelope("*** Move to: a"), "line 2 is not a hunk header"),
    (envelope("*** Update File: a"), "line 2: the update of 'a' has no hunk"),
    (envelope("*** Update File: a", "*** Move to: b"), "the update of 'a' has no hunk"),
    (envelope("*** Update File: a", "@@", "bare line"), "line 4 in the update of 'a' is not a hunk line"),
    (envelope("*** Delete File:"), "line 2 ('*** Delete File:') names no path"),
    (envelope("*** Update File: a", "*** Move to:   ", "+x"), "line 3 ('*** Move to:') names no path"),
    (envelope("*** Add File: a", "+x", "*** End Patch", "*** Add File: b"), "line 4 is not a hunk header"),
])
def test_patch_paths_malformed_envelope_names_the_fault(text, message):
    with pytest.raises(BadHookInput) as caught:
        patch.paths(text)
    assert message in str(caught.value)


def test_patch_paths_long_bad_line_is_cut():
    with pytest.raises(BadHookInput) as caught:
        patch.paths(envelope("x" * 500))
    assert len(str(caught.value)) < 250 and "..." in str(caught.value)


@pytest.mark.parametrize(("tool_input", "expected"), [
    ({"command": ["apply_patch", envelope("*** Add File: argv.txt", "+x")]}, ("argv.txt",)),
    ({"input": envelope("*** Delete File: freeform.txt")}, ("freeform.txt",)),
])
def test_codex_envelope_from_argv_or_input(tmp_path, tool_input, expected):
    document = fixture("codex", "allowed_write", tmp_path)
    document["tool_input"] = tool_input
    assert codex.parse(document, {}).paths == expected


@pytest.mark.parametrize(("tool_input", "message"), [
    (None, "tool_input is none"),
    ("*** Begin Patch", "tool_input is str"),
    ({}, "has no 'command'"),
    ({"command": []}, "not of strings"),
    ({"command": ["apply_patch", 3]}, "not of strings"),
])
def test_codex_bad_tool_input(tmp_path, tool_input, message):
    document = fixture("codex", "allowed_write", tmp_path)
    document["tool_input"] = tool_input
    with pytest.raises(BadHookInput, match=message):
        codex.parse(document, {})


def test_client_modules_import_lean():
    """The protocol modules are on every edit's path: no click, no typing, no dataclasses."""
    code = ("import sys\nimport maf_hooks.agent_hooks.claude, maf_hooks.agent_hooks.codex, maf_hooks.agent_hooks.gemini\n"
            "import maf_hooks.agent_hooks.patch\n"
            "print(' '.join(m for m in ('click', 'typing', 'dataclasses', 'shlex') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout.strip()) == (0, ""), proc.stderr


# --- end to end: the real `maf agent-hook CLIENT` with the fixtures on stdin ---------------------

MAF = str(BIN / "maf")
HOLDER = "bob"
# the session part of the id: the first 8 characters, the last 8 of Codex's time-ordered UUIDv7
AGENTS = {"claude": "claude-3f2a9c1e", "codex": "codex-2e3f4a5b", "gemini": "gemini-8c0e6f7a"}


def agent_hook(client: str, repo: Path, data: bytes, env: dict | None = None):
    """Run `maf agent-hook CLIENT` in ``repo`` as the client would: (exit code, stdout, stderr)."""
    run_env = {key: value for key, value in os.environ.items() if not key.startswith("MAF_")}
    run_env.update(env or {})
    done = subprocess.run([MAF, "agent-hook", client], input=data, capture_output=True, cwd=repo, env=run_env,
                          timeout=60)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def hook_fixture(client: str, name: str, repo: Path, env: dict | None = None):
    return agent_hook(client, repo, json.dumps(fixture(client, name, repo)).encode(), env)


def deny_reason(client: str, stdout: str) -> str:
    """The reason of a deny printed by ``client``, after checking its exact shape."""
    document = json.loads(stdout)
    if client == "gemini":
        assert set(document) == {"decision", "reason"} and document["decision"] == "deny"
        return document["reason"]
    assert list(document) == ["hookSpecificOutput"]
    output = document["hookSpecificOutput"]
    assert set(output) == {"hookEventName", "permissionDecision", "permissionDecisionReason"}
    assert (output["hookEventName"], output["permissionDecision"]) == ("PreToolUse", "deny")
    return output["permissionDecisionReason"]


def take_lease(repo: Path, agent: str, *patterns: str) -> None:
    done = subprocess.run([str(BIN / "maf-lease"), "acquire", *patterns, "--reason", "refactoring"], cwd=repo,
                          capture_output=True, text=True, env={**os.environ, "MAF_AGENT_ID": agent}, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def leased(repo):
    """bob holds src/leased.py; src/free.py is free."""
    commit_file(repo, "src/leased.py", "a = 1\n")
    commit_file(repo, "src/free.py", "b = 1\n")
    take_lease(repo, HOLDER, "src/leased.py")
    return repo


@pytest.mark.parametrize("client", sorted(MODULES))
def test_e2e_allowed_write_prints_nothing(leased, client):
    assert hook_fixture(client, "allowed_write", leased) == (0, "", "")


@pytest.mark.parametrize("client", sorted(MODULES))
def test_e2e_denied_write_is_the_clients_deny_naming_path_and_holder(leased, client):
    code, out, err = hook_fixture(client, "denied_write", leased)
    assert (code, err) == (0, "")
    reason = deny_reason(client, out)
    assert "src/leased.py" in reason and HOLDER in reason and AGENTS[client] in reason


@pytest.mark.parametrize("client", sorted(MODULES))
def test_e2e_non_write_and_outside_path_are_allowed(leased, client):
    assert hook_fixture(client, "non_write", leased) == (0, "", "")
    assert hook_fixture(client, "outside_repo", leased) == (0, "", "")


@pytest.mark.parametrize(("client", "name", "message"), MALFORMED)
def test_e2e_malformed_input_fails_closed_in_the_clients_form_naming_the_cause(leased, client, name, message):
    code, out, err = hook_fixture(client, name, leased)
    assert (code, err) == (0, "")
    reason = deny_reason(client, out)
    assert message in reason and "refused" in reason


@pytest.mark.parametrize("client", sorted(MODULES))
def test_e2e_bytes_that_are_not_json_fail_closed(leased, client):
    code, out, _ = agent_hook(client, leased, b"\xff\xfe not json")
    assert code == 0 and "UTF-8" in deny_reason(client, out)


def test_e2e_codex_envelope_of_several_files_is_denied_for_the_one_leased(leased):
    take_lease(leased, "carol", "src/legacy.py")
    code, out, _ = hook_fixture("codex", "several_files", leased)
    reason = deny_reason("codex", out)
    assert code == 0 and "src/legacy.py" in reason and "carol" in reason
    take_lease(leased, "dave", "src/main.py")  # the destination of the move
    reason = deny_reason("codex", hook_fixture("codex", "several_files", leased)[1])
    assert "src/main.py" in reason and "dave" in reason


def test_e2e_codex_malformed_envelope_names_the_fault(leased):
    reason = deny_reason("codex", hook_fixture("codex", "malformed_envelope", leased)[1])
    assert "*** End Patch" in reason


@pytest.mark.parametrize(("client", "variable"), [("claude", "CLAUDE_ENV_FILE"), ("codex", "CODEX_ENV_FILE")])
def test_e2e_session_start_publishes_the_session_agent_to_its_shell(leased, tmp_path, client, variable):
    """The session's shell commands (its maf-lease) become the same agent as its edits: a lease
    the session takes by hand never denies its own edit."""
    env_file = tmp_path / f"{client}-env.sh"
    assert hook_fixture(client, "session_start", leased, {variable: str(env_file)}) == (0, "", "")
    assert env_file.read_text() == f"export MAF_AGENT_ID={AGENTS[client]}\n"
    shell = subprocess.run(["sh", "-c", '. "$ENV_FILE" && maf-lease acquire src/free.py --reason mine'],
                           cwd=leased, capture_output=True, text=True, timeout=60,
                           env={**{k: v for k, v in os.environ.items() if not k.startswith("MAF_")},
                                "ENV_FILE": str(env_file)})
    assert shell.returncode == 0, shell.stderr
    assert hook_fixture(client, "allowed_write", leased) == (0, "", "")
    reason = deny_reason(client, take_and_edit_as_other(leased, client))
    assert AGENTS[client] in reason


def take_and_edit_as_other(repo: Path, client: str) -> str:
    """Another session of the same client edits src/free.py, which the first session leased."""
    document = fixture(client, "allowed_write", repo)
    document["session_id"] = "ffffffff-0000-0000-0000-000000000000"
    return agent_hook(client, repo, json.dumps(document).encode())[1]


def test_e2e_gemini_session_events_print_nothing(leased, tmp_path):
    assert hook_fixture("gemini", "session_start", leased) == (0, "", "")
    assert hook_fixture("gemini", "session_end", leased) == (0, "", "")


def test_e2e_stop_is_not_a_session_end(leased):
    for client in ("claude", "codex"):
        assert hook_fixture(client, "stop", leased) == (0, "", "")
