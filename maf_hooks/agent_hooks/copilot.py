"""GitHub Copilot CLI and cloud agent hooks (``.github/hooks/*.json``, camelCase events).

preToolUse input: ``{sessionId, timestamp, cwd, toolName, toolArgs}``; ``toolArgs`` is a JSON string
holding the tool's arguments (newer versions may pass the object itself; both are read). The tools
``create`` and ``edit`` (and ``str_replace_editor``) name their file in ``path``; ``apply_patch`` is
freeform: its ``toolArgs`` is the patch envelope itself. sessionStart carries
``source``, sessionEnd ``reason``; neither has an event-name field. A deny is printed JSON with exit 0.
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

WRITE_TOOLS = ("create", "edit", "str_replace_editor", "apply_patch")


def _arguments(raw: object) -> dict:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise BadHookInput(f"the hook input's 'toolArgs' is not JSON ({exc}).") from None
    if not isinstance(raw, dict):
        raise BadHookInput("the hook input's 'toolArgs' does not hold a JSON object.")
    return raw


def _patch_paths(raw: object) -> tuple[str, ...]:
    # apply_patch is freeform: its toolArgs is the raw patch envelope, not JSON
    from maf_hooks.agent_hooks import patch

    paths = patch.paths(raw)
    if not paths:
        raise BadHookInput("the apply_patch envelope names no file.")
    return paths


def parse(document: object, environ: Mapping[str, str]) -> ToolCall:
    session = text_field(document, "sessionId")
    cwd = text_field(document, "cwd")
    assert isinstance(document, dict)  # text_field checked it
    if "toolName" in document:
        tool = text_field(document, "toolName", required=True)
        if tool not in WRITE_TOOLS:
            return ToolCall(OTHER, session=session, cwd=cwd, tool=tool, event="preToolUse")
        if tool == "apply_patch":
            return ToolCall(WRITE, _patch_paths(document.get("toolArgs")), session=session, cwd=cwd, tool=tool,
                            event="preToolUse")
        args = _arguments(document.get("toolArgs"))
        if tool == "str_replace_editor" and args.get("command") == "view":
            return ToolCall(OTHER, session=session, cwd=cwd, tool=tool, event="preToolUse")
        path = text_field(args, "path", required=True, where="the hook input's 'toolArgs'") or ""
        return ToolCall(WRITE, (path,), session=session, cwd=cwd, tool=tool, event="preToolUse")
    if "source" in document:
        return ToolCall(SESSION_START, session=session, cwd=cwd, event="sessionStart")
    if "reason" in document:
        return ToolCall(SESSION_END, session=session, cwd=cwd, event="sessionEnd")
    raise BadHookInput("the hook input is no preToolUse, sessionStart or sessionEnd event (no 'toolName').")


def deny(reason: str) -> Reply:
    return Reply(json.dumps({"permissionDecision": "deny", "permissionDecisionReason": reason}) + "\n")
