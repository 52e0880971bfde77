"""Cursor hooks (``.cursor/hooks.json``, written with ``failClosed: true``).

preToolUse input: ``{conversation_id, hook_event_name, tool_name, tool_input, cwd, workspace_roots, ...}``;
file writes are the ``Write`` tool with ``tool_input.file_path``. Replies are flat JSON with exit 0:
``{"permission": "deny", "user_message", "agent_message"}``. Under ``failClosed`` an empty reply counts as
a failure and blocks, so an allowed preToolUse answers ``{"permission": "allow"}`` (:func:`allow`).
``stop`` ends a turn, not the session: only ``sessionEnd`` ends it.
"""

from __future__ import annotations

import json

from maf_hooks.agent_hooks.call import (
    OTHER,
    SESSION_END,
    SESSION_START,
    WRITE,
    BadHookInput,
    Reply,
    ToolCall,
    text_field,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

# "Write" is Cursor's documented tool type for file writes; the others appear in real matchers
# (StrReplace names its file in "path")
WRITE_TOOLS = ("Write", "Edit", "StrReplace", "MultiEdit", "Delete")
EVENTS = {"preToolUse": None, "sessionStart": SESSION_START, "sessionEnd": SESSION_END}


def _cwd(document: dict, environ: Mapping[str, str]) -> str | None:
    cwd = text_field(document, "cwd")
    if cwd:
        return cwd
    roots = document.get("workspace_roots")
    if isinstance(roots, list) and roots and isinstance(roots[0], str) and roots[0]:
        return roots[0]
    return environ.get("CURSOR_PROJECT_DIR") or None


def parse(document: object, environ: Mapping[str, str]) -> ToolCall:
    event = text_field(document, "hook_event_name", required=True)
    assert isinstance(document, dict)  # text_field checked it
    if event not in EVENTS:
        raise BadHookInput(f"the hook input's event {event!r} is none maf answers "
                           "(preToolUse, sessionStart, sessionEnd).")
    session = text_field(document, "conversation_id") or text_field(document, "session_id")
    cwd = _cwd(document, environ)
    kind = EVENTS[event]
    if kind is not None:
        return ToolCall(kind, session=session, cwd=cwd, event=event)
    # some Cursor builds send a Write without its tool_name; maf's hook entry matches only "Write",
    # so a call without one is taken for a write (and refused if it names no file)
    tool = text_field(document, "tool_name")
    if tool is not None and tool not in WRITE_TOOLS:
        return ToolCall(OTHER, session=session, cwd=cwd, tool=tool, event=event)
    tool_input = document.get("tool_input")
    if not isinstance(tool_input, dict):
        raise BadHookInput("the hook input's 'tool_input' is not a JSON object.")
    where = "the hook input's 'tool_input'"
    path = text_field(tool_input, "file_path", where=where) or text_field(tool_input, "path", where=where)
    if not path:
        raise BadHookInput(f"{where} names no file ('file_path').")
    return ToolCall(WRITE, (path,), session=session, cwd=cwd, tool=tool, event=event)


def deny(reason: str) -> Reply:
    return Reply(json.dumps({"permission": "deny", "user_message": reason, "agent_message": reason}) + "\n")


def allow() -> Reply:
    """The explicit allow a ``failClosed`` preToolUse hook must print (an empty reply blocks)."""
    return Reply(json.dumps({"permission": "allow"}) + "\n")
