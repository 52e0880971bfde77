"""Claude Code's hook protocol: ``maf agent-hook claude`` on PreToolUse, SessionStart and SessionEnd.

Input (one JSON object on stdin): ``session_id``, ``transcript_path``, ``cwd``, ``permission_mode``,
``hook_event_name``; PreToolUse adds ``tool_name``, ``tool_input``, ``tool_use_id``; SessionStart
adds ``source`` (startup, resume, clear, compact); SessionEnd adds ``reason``. The tools that
write files, and where they name the file (an absolute path):

- ``Write``, ``Edit``, ``MultiEdit``: ``tool_input.file_path``
- ``NotebookEdit``: ``tool_input.notebook_path``

Every other tool (Read, Grep, Bash, MCP tools, ...) is :data:`OTHER`: shell commands are not parsed,
the commit hook stays the backstop. ``Stop`` ends a *turn*, not the session: only ``SessionEnd``
is a session end.

Deny: exit 0 with ``{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision":
"deny", "permissionDecisionReason": REASON}}`` on stdout, the reason shown to Claude. (Exit 2
also blocks but is reported unreliable; any other exit lets the tool run.) Allow prints nothing:
an explicit "allow" would skip the user's permission prompt.

The session's agent id reaches Claude's shell commands (its ``maf-lease`` and ``git commit``)
only through ``CLAUDE_ENV_FILE``: Claude Code names that file to SessionStart hooks and sources
it before each later Bash command; there is no session-id variable in the Bash tool.
:func:`session_started` appends ``export MAF_AGENT_ID=...`` to it.
"""

from __future__ import annotations

import json

from maf_hooks.agent_hooks.call import (
    ALLOW,
    OTHER,
    SESSION_END,
    SESSION_START,
    WRITE,
    BadHookInput,
    Reply,
    ToolCall,
    text_field,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Mapping

# tool name -> the tool_input key naming the file it writes
WRITE_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path", "NotebookEdit": "notebook_path"}
SESSION_EVENTS = {"SessionStart": SESSION_START, "SessionEnd": SESSION_END}
ENV_FILE = "CLAUDE_ENV_FILE"


def parse(document: object, environ: Mapping[str, str]) -> ToolCall:
    """The ToolCall of one Claude Code hook input (BadHookInput when it is not of that shape)."""
    event = text_field(document, "hook_event_name", required=True)
    session = text_field(document, "session_id", required=True)
    cwd = text_field(document, "cwd")
    if event in SESSION_EVENTS:
        return ToolCall(SESSION_EVENTS[event], session=session, cwd=cwd, event=event)
    if event != "PreToolUse":
        return ToolCall(OTHER, session=session, cwd=cwd, event=event)
    tool = text_field(document, "tool_name", required=True)
    key = WRITE_TOOLS.get(tool or "")
    if key is None:
        return ToolCall(OTHER, session=session, cwd=cwd, tool=tool, event=event)
    assert isinstance(document, dict)  # text_field checked it
    path = file_path(document.get("tool_input"), key, tool or "")
    return ToolCall(WRITE, (path,), session=session, cwd=cwd, tool=tool, event=event)


def file_path(tool_input: object, key: str, tool: str) -> str:
    """``tool_input[key]``: a non-empty string, or BadHookInput naming the tool."""
    where = f"the {tool} tool_input"
    if tool_input is None:
        raise BadHookInput(f"the hook input has no tool_input for {tool}.")
    path = text_field(tool_input, key, required=True, where=where)
    if not path:
        raise BadHookInput(f"{where} has an empty {key!r}.")
    return path


def deny(reason: str) -> Reply:
    """The PreToolUse deny reply: exit 0, exactly these keys (Codex parses the same JSON strictly)."""
    if not reason.strip():  # an empty reason makes Codex drop the deny and run the tool
        reason = "maf: this edit is refused."
    decision = {"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": reason}
    return Reply(stdout=json.dumps({"hookSpecificOutput": decision}) + "\n")


def session_started(call: ToolCall, agent: str | None, environ: Mapping[str, str]) -> Reply:
    """At SessionStart, make ``agent`` the id of the session's shell commands: append
    ``export MAF_AGENT_ID=<agent>`` (shell-quoted) to the file named by ``CLAUDE_ENV_FILE``.

    ``agent`` is the id to publish, or None when nothing should be written (the runner passes None
    when the agent id does not come from the session, e.g. ``MAF_AGENT_ID`` is already set or git
    config ``maf.agentId`` names one). Nothing is written when Claude names no env file, nor twice
    (a resumed session runs SessionStart again). Prints nothing: a SessionStart hook's stdout
    becomes context for the model. A file that cannot be written is a warning (exit 1, which
    Claude Code shows and goes on), never a blocked session.
    """
    return export_agent(agent, environ.get(ENV_FILE), ENV_FILE)


def export_agent(agent: str | None, env_file: str | None, variable: str) -> Reply:
    """Append the ``export MAF_AGENT_ID=...`` line for ``agent`` to ``env_file`` once (shared by
    the clients that source such a file: Claude Code's CLAUDE_ENV_FILE, Codex's CODEX_ENV_FILE)."""
    if agent is None or not env_file:
        return ALLOW
    line = export_line(agent, env_file)
    if line is None:
        return Reply(stderr=f"maf: agent id {agent!r} cannot be written to {variable} ({env_file}).\n", code=1)
    try:
        try:
            with open(env_file, encoding="utf-8") as existing:
                if line in existing.read().splitlines():
                    return ALLOW
        except FileNotFoundError:
            pass
        with open(env_file, "a", encoding="utf-8") as out:
            out.write(line + "\n")
    except (OSError, UnicodeError) as exc:
        return Reply(stderr=f"maf: cannot write MAF_AGENT_ID to {variable} ({env_file}): {exc}\n", code=1)
    return ALLOW


def export_line(agent: str, env_file: str) -> str | None:
    """The line that sets MAF_AGENT_ID in the shell that sources ``env_file``: PowerShell for a
    ``.ps1`` file, cmd for ``.cmd``/``.bat``, else POSIX sh (Codex picks the file's suffix by the
    user's shell; Claude Code's file is always sh). None when the id cannot be written as one
    line of that shell."""
    if not agent or any(ch in agent for ch in "\n\r\0"):
        return None
    lowered = env_file.lower()
    if lowered.endswith(".ps1"):
        return "$env:MAF_AGENT_ID = '" + agent.replace("'", "''") + "'"
    if lowered.endswith((".cmd", ".bat")):
        if any(ch in agent for ch in '"%^&|<>!'):
            return None
        return 'set "MAF_AGENT_ID=' + agent + '"'
    import shlex

    return "export MAF_AGENT_ID=" + shlex.quote(agent)
