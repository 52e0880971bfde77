"""OpenCode: the plugin ``opencode_plugin.js`` (copied to ``.opencode/plugins/maf.js``) calls
``maf agent-hook opencode`` with a document maf defines, on stdin:

- ``{"event": "tool.execute.before", "tool", "args", "sessionID", "directory"}`` before each tool call;
  ``write``/``edit``/``multiedit`` name their file in ``args.filePath``, ``apply_patch``/``patch`` carry a
  Codex patch envelope in ``args.patchText`` (read by :mod:`maf_hooks.agent_hooks.patch`);
- ``{"event": "shell.env", "sessionID", "directory"}`` before each shell command: maf answers
  ``{"env": {"MAF_AGENT_ID": ...}}`` so the session's shell commands act as the same agent;
- ``{"event": "session.deleted", "sessionID", "directory"}``: the session is gone (OpenCode has no
  other session end; ``session.idle`` is per turn).

A deny is ``{"decision": "deny", "reason": ...}``; the plugin throws it as the tool's error.
"""

from __future__ import annotations

import json

from maf_hooks.agent_hooks import patch
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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

FILE_TOOLS = ("write", "edit", "multiedit")
PATCH_TOOLS = ("apply_patch", "patch")
EVENTS = {"tool.execute.before": None, "shell.env": SESSION_START, "session.deleted": SESSION_END}


def parse(document: object, environ: Mapping[str, str]) -> ToolCall:
    event = text_field(document, "event", required=True)
    assert isinstance(document, dict)  # text_field checked it
    if event not in EVENTS:
        raise BadHookInput(f"the hook input's event {event!r} is none of {', '.join(EVENTS)}.")
    session = text_field(document, "sessionID")
    cwd = text_field(document, "directory")
    kind = EVENTS[event]
    if kind is not None:
        return ToolCall(kind, session=session, cwd=cwd, event=event)
    tool = text_field(document, "tool", required=True)
    if tool not in FILE_TOOLS and tool not in PATCH_TOOLS:
        return ToolCall(OTHER, session=session, cwd=cwd, tool=tool, event=event)
    args = document.get("args")
    if not isinstance(args, dict):
        raise BadHookInput("the hook input's 'args' is not a JSON object.")
    where = "the hook input's 'args'"
    if tool in FILE_TOOLS:
        paths: tuple[str, ...] = (text_field(args, "filePath", required=True, where=where) or "",)
    else:
        paths = patch.paths(text_field(args, "patchText", required=True, where=where))
        if not paths:
            raise BadHookInput("the patch names no file.")
    return ToolCall(WRITE, paths, session=session, cwd=cwd, tool=tool, event=event)


def deny(reason: str) -> Reply:
    return Reply(json.dumps({"decision": "deny", "reason": reason}) + "\n")


def session_started(call: ToolCall, agent: str | None, environ: Mapping[str, str]) -> Reply:
    """The answer to ``shell.env``: the agent id the session's shell commands take; nothing when
    ``agent`` is None (what they inherit, ``MAF_AGENT_ID`` or ``maf.agentId``, already says who they are)."""
    if agent is None:
        return ALLOW
    return Reply(json.dumps({"env": {"MAF_AGENT_ID": agent}}) + "\n")
