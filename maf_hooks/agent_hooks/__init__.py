"""Edit-time hooks for coding agents: ``maf agent-hook CLIENT``.

``CLIENTS`` names each client's protocol module (imported only when that client's hook runs).
A client module provides ``parse(document, environ) -> ToolCall`` (raising ``BadHookInput``),
``deny(reason) -> Reply`` and, where the client has one, ``session_started(call, agent, environ)
-> Reply`` (how the session's agent id reaches the client's shell commands).
"""

CLIENTS = ("claude", "codex", "gemini", "copilot", "cursor", "opencode")
