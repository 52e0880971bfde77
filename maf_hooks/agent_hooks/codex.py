"""Codex CLI's hook protocol: ``maf agent-hook codex`` on PreToolUse and SessionStart.

Codex hooks are registered in ``.codex/hooks.json`` or in the ``[hooks]`` table of
``.codex/config.toml`` (Codex loads both and warns when one layer uses both). Input (one JSON
object on stdin): ``session_id`` (the thread id), ``turn_id``, ``transcript_path`` (string or
null), ``cwd``, ``hook_event_name``, ``model``, ``permission_mode``; PreToolUse adds
``tool_name``, ``tool_input``, ``tool_use_id``; SessionStart adds ``source``.

Codex's file edits are one tool, ``apply_patch`` (a matcher ``Write``/``Edit`` also selects it,
but the input keeps the name ``apply_patch``), whose ``tool_input`` is ``{"command": ENVELOPE}``
for both its JSON and its freeform form; the written paths are read from the envelope by
:mod:`maf_hooks.agent_hooks.patch`. Defensively, an argv list (the envelope is its last item)
and an ``input`` key are read too. Shell commands (``Bash``) and MCP tools are :data:`OTHER`.

Deny: exactly Claude Code's PreToolUse JSON (:func:`maf_hooks.agent_hooks.claude.deny`), exit 0.
Codex parses hook output strictly: any other key, ``continue``/``stopReason``/``suppressOutput``,
"allow" without ``updatedInput``, or an empty reason make the output invalid, and the edit goes
ahead; exit 2 blocks only with a non-empty stderr. Allow prints nothing.

Codex has no session-end event (``Stop`` ends a turn): a session's auto-claims expire. Its
session id reaches the agent's shell commands as ``CODEX_THREAD_ID``, which Codex exports to every
command it runs; recent Codex releases also name a ``CODEX_ENV_FILE`` (and ``CLAUDE_ENV_FILE`` as
an alias) to SessionStart hooks, sourced before later commands, and :func:`session_started`
appends ``export MAF_AGENT_ID=...`` to it as for Claude Code.
"""

from __future__ import annotations

from maf_hooks.agent_hooks import claude
from maf_hooks.agent_hooks.call import OTHER, SESSION_START, WRITE, BadHookInput, Reply, ToolCall, text_field

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Mapping

PATCH_TOOL = "apply_patch"
ENV_FILES = ("CODEX_ENV_FILE", "CLAUDE_ENV_FILE")


def parse(document: object, environ: Mapping[str, str]) -> ToolCall:
    """The ToolCall of one Codex hook input (BadHookInput when it is not of that shape)."""
    event = text_field(document, "hook_event_name", required=True)
    session = text_field(document, "session_id", required=True)
    cwd = text_field(document, "cwd")
    if event == "SessionStart":
        return ToolCall(SESSION_START, session=session, cwd=cwd, event=event)
    if event != "PreToolUse":
        return ToolCall(OTHER, session=session, cwd=cwd, event=event)
    tool = text_field(document, "tool_name", required=True)
    if tool != PATCH_TOOL:
        return ToolCall(OTHER, session=session, cwd=cwd, tool=tool, event=event)
    assert isinstance(document, dict)  # text_field checked it
    from maf_hooks.agent_hooks import patch

    written = patch.paths(envelope(document.get("tool_input")))
    return ToolCall(WRITE if written else OTHER, written, session=session, cwd=cwd, tool=tool, event=event)


def envelope(tool_input: object) -> object:
    """The patch text of an apply_patch ``tool_input``: its ``command`` (a string, or an argv list
    whose last item is the patch), else its ``input``."""
    if not isinstance(tool_input, dict):
        kind = "none" if tool_input is None else type(tool_input).__name__
        raise BadHookInput(f"the apply_patch tool_input is {kind}, not a JSON object.")
    command = tool_input.get("command")
    if command is None:
        command = tool_input.get("input")
    if command is None:
        raise BadHookInput("the apply_patch tool_input has no 'command' (the patch envelope).")
    if isinstance(command, list):
        if not command or not all(isinstance(item, str) for item in command):
            raise BadHookInput("the apply_patch command is a list, but not of strings ending in the patch.")
        return command[-1]
    return command


def deny(reason: str) -> Reply:
    """The PreToolUse deny reply: the same JSON as Claude Code's, no other key."""
    return claude.deny(reason)


def session_started(call: ToolCall, agent: str | None, environ: Mapping[str, str]) -> Reply:
    """At SessionStart, append ``export MAF_AGENT_ID=<agent>`` to ``CODEX_ENV_FILE`` (else
    ``CLAUDE_ENV_FILE``) when Codex names one; ``agent`` None writes nothing (see
    :func:`maf_hooks.agent_hooks.claude.session_started`). Older Codex releases name no file:
    their shell commands still carry the session as ``CODEX_THREAD_ID``."""
    for variable in ENV_FILES:
        if environ.get(variable):
            return claude.export_agent(agent, environ[variable], variable)
    return claude.export_agent(agent, None, ENV_FILES[0])
