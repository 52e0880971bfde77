"""Gemini CLI's hook protocol: ``maf agent-hook gemini`` on BeforeTool, SessionStart and SessionEnd.

Hooks are registered under ``hooks`` in ``.gemini/settings.json`` (project hooks run only in a
trusted folder). Input (one JSON object on stdin): ``session_id``, ``transcript_path``, ``cwd``,
``hook_event_name``, ``timestamp``; BeforeTool adds ``tool_name``, ``tool_input`` (the model's
arguments) and for MCP tools ``mcp_context``; SessionStart adds ``source`` (startup, resume,
clear); SessionEnd adds ``reason`` (exit, clear, logout, prompt_input_exit, other).

The built-in tools that write files both name the file in ``tool_input.file_path``:
``write_file`` and ``replace`` (the edit tool). Everything else (``run_shell_command``, reads,
searches, MCP tools) is :data:`OTHER`; shell commands are not parsed.

Deny: exit 0 with ``{"decision": "deny", "reason": REASON}`` on stdout; the reason goes to the
model as the tool's error and the turn goes on. Allow prints nothing (exit 0, empty stdout is
no output). SessionEnd is best effort: Gemini does not wait for the hook, so a session's
auto-claims may only expire.

Gemini passes the session id to hooks only; its shell tool gets none and it sources no env file,
so there is no ``session_started``: a Gemini session that runs ``maf-lease`` or ``git commit``
must be started with ``MAF_AGENT_ID`` set for its edits and its commands to be one agent.
"""

from __future__ import annotations

import json

from maf_hooks.agent_hooks.call import OTHER, SESSION_END, SESSION_START, WRITE, Reply, ToolCall, text_field
from maf_hooks.agent_hooks.claude import file_path

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Mapping

WRITE_TOOLS = ("write_file", "replace")
SESSION_EVENTS = {"SessionStart": SESSION_START, "SessionEnd": SESSION_END}


def parse(document: object, environ: Mapping[str, str]) -> ToolCall:
    """The ToolCall of one Gemini CLI hook input (BadHookInput when it is not of that shape)."""
    event = text_field(document, "hook_event_name", required=True)
    session = text_field(document, "session_id", required=True)
    cwd = text_field(document, "cwd")
    if event in SESSION_EVENTS:
        return ToolCall(SESSION_EVENTS[event], session=session, cwd=cwd, event=event)
    if event != "BeforeTool":
        return ToolCall(OTHER, session=session, cwd=cwd, event=event)
    tool = text_field(document, "tool_name", required=True)
    if tool not in WRITE_TOOLS:
        return ToolCall(OTHER, session=session, cwd=cwd, tool=tool, event=event)
    assert isinstance(document, dict)  # text_field checked it
    path = file_path(document.get("tool_input"), "file_path", tool or "")
    return ToolCall(WRITE, (path,), session=session, cwd=cwd, tool=tool, event=event)


def deny(reason: str) -> Reply:
    """The BeforeTool deny reply: exit 0, exactly ``decision`` and ``reason``."""
    if not reason.strip():  # Gemini requires a reason with a deny
        reason = "maf: this edit is refused."
    return Reply(stdout=json.dumps({"decision": "deny", "reason": reason}) + "\n")
