"""Which project files hold each client's edit hook and MCP server entry, and what maf writes there.

Sources of the formats (docs/agents.md says the same per client): Claude Code ``.claude/settings.json``
``hooks`` and ``.mcp.json`` ``mcpServers``; Codex ``.codex/hooks.json`` ``hooks`` and
``.codex/config.toml`` ``[mcp_servers.NAME]``; Gemini CLI ``.gemini/settings.json`` ``hooks`` and
``mcpServers``; Copilot ``.github/hooks/*.json`` (``version``, camelCase events; no project-level MCP
file); Cursor ``.cursor/hooks.json`` (``version``, ``failClosed``) and ``.cursor/mcp.json``
``mcpServers``; OpenCode a plugin in ``.opencode/plugins/`` (its loader reads ``.opencode/plugin/`` too) and ``opencode.json`` ``mcp`` (local
servers: ``type: "local"``, ``command`` an array).
"""

from __future__ import annotations

from maf_hooks.agent_setup import merge
from maf_hooks.agent_setup.formats import FileRefused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

SERVER_NAME = "maf"
MCP_ARGV = ["maf", "mcp"]
HOOK = "hook"
MCP = "mcp"
PLUGIN_RESOURCE = ("maf_hooks.agent_hooks", "opencode_plugin.js")


def hook_command(client: str) -> str:
    return f"maf agent-hook {client}"


class Target:
    """One thing maf writes for a client: its edit hook (``hook``) or its MCP entry (``mcp``), in
    ``path`` (relative to the repository root) of format ``json``, ``jsonc``, ``toml`` or
    ``text`` (a whole file of maf's own). ``edit(doc, where)`` adds maf's entries to a document."""

    def __init__(self, kind: str, path: str, fmt: str, edit: Callable[[Any, str], None] | None = None,
                 elsewhere: Callable[[str, bool], str | None] | None = None, also: tuple = ()):
        self.kind = kind
        self.path = path
        self.fmt = fmt
        self.edit = edit
        # elsewhere(root, path_exists): the file that already holds maf's entry instead (nothing is
        # written to ``path``), None to go on; it raises FileRefused where writing ``path`` is unsafe.
        self.elsewhere = elsewhere
        # also: other paths the client reads the same file from (a ``text`` file found at one of them,
        # when ``path`` is missing, is maf's: nothing is written to ``path``)
        self.also = also


class Client:
    def __init__(self, name: str, title: str, targets: list, identity: str, notes: str = ""):
        self.name = name
        self.title = title
        self.targets = targets
        self.identity = identity  # how the session's agent id reaches its shell commands
        self.notes = notes

    def has_mcp_file(self) -> bool:
        return any(target.kind == MCP for target in self.targets)


def _handler(client: str) -> dict:
    return {"type": "command", "command": hook_command(client)}


def _grouped(client: str, events: list, extra: dict | None = None) -> Callable[[Any, str], None]:
    """Claude-style hooks: ``{"hooks": {EVENT: [{"matcher": ..., "hooks": [handler]}]}}``."""
    def edit(doc: Any, where: str) -> None:
        hooks = merge.table(doc, "hooks", where)
        for event, matcher in events:
            handler = {**_handler(client), **(extra or {})}
            group = {"matcher": matcher, "hooks": [handler]} if matcher else {"hooks": [handler]}
            merge.add_group(hooks, event, group, client, f"{where}hooks.")
    return edit


def _flat(client: str, events: list, command_key: str, make: Callable[[str | None], dict]) -> Callable:
    """Copilot/Cursor hooks: ``{"version": 1, "hooks": {event: [handler]}}``."""
    def edit(doc: Any, where: str) -> None:
        doc.setdefault("version", 1)
        hooks = merge.table(doc, "hooks", where)
        for event, matcher in events:
            merge.add_handler(hooks, event, make(matcher), command_key, client, f"{where}hooks.")
    return edit


def _servers(key: str, entry: dict, top: dict | None = None) -> Callable[[Any, str], None]:
    def edit(doc: Any, where: str) -> None:
        if not doc:
            doc.update(top or {})
        merge.set_entry(merge.table(doc, key, where), SERVER_NAME, entry, f"{where}{key}.")
    return edit


CODEX_MCP_TABLE = '[mcp_servers.maf]\ncommand = "maf"\nargs = ["mcp"]'
CODEX_BY_HAND = f"Add maf's table by hand, then run again:\n\n{CODEX_MCP_TABLE}\n"
CODEX_HOOK_TABLES = ('[[hooks.PreToolUse]]\nmatcher = "^apply_patch$"\n\n[[hooks.PreToolUse.hooks]]\n'
                     'type = "command"\ncommand = "maf agent-hook codex"\n\n[[hooks.SessionStart]]\n\n'
                     '[[hooks.SessionStart.hooks]]\ntype = "command"\ncommand = "maf agent-hook codex"')


def _codex_mcp(doc: Any, where: str) -> None:
    """``[mcp_servers.maf]``; refused where tomlkit cannot place a table safely: ``mcp_servers``
    written as top-level dotted keys (a table added there would take the keys below it) or as an
    inline table (which cannot hold one)."""
    import tomlkit

    if any(key is not None and key.key == "mcp_servers" and key.is_dotted() for key, _ in doc.body):
        raise FileRefused(f"{where}mcp_servers is written as dotted keys (mcp_servers.NAME.KEY = ...), where "
                          f"maf cannot add its table safely; left untouched. {CODEX_BY_HAND}")
    if "mcp_servers" not in doc:
        doc["mcp_servers"] = tomlkit.table(is_super_table=True)
    servers = merge.table(doc, "mcp_servers", where)
    if isinstance(servers, tomlkit.items.InlineTable):
        raise FileRefused(f"{where}mcp_servers is an inline table, which cannot take maf's table; left "
                          "untouched. Add maf = { command = \"maf\", args = [\"mcp\"] } to it by hand, or write "
                          f"its servers as [mcp_servers.NAME] tables and add maf's:\n\n{CODEX_MCP_TABLE}\n")
    if SERVER_NAME not in servers and not any(merge.runs_mcp(value) for value in servers.values()):
        entry = tomlkit.table()
        entry["command"] = MCP_ARGV[0]
        entry["args"] = MCP_ARGV[1:]
        servers[SERVER_NAME] = entry
        return
    merge.set_entry(servers, SERVER_NAME, {"command": MCP_ARGV[0], "args": MCP_ARGV[1:]}, f"{where}mcp_servers.")


def _codex_hooks_in_config(root: str, exists: bool) -> str | None:
    """Codex warns when one layer holds hooks both in ``config.toml`` (``[hooks]``) and in
    ``hooks.json``: with ``[hooks]`` in ``.codex/config.toml``, maf's hook belongs there."""
    import os

    from maf_hooks.agent_setup import formats

    shown = ".codex/config.toml"
    raw = formats.read_bytes(os.path.join(root, ".codex", "config.toml"), shown)
    try:
        hooks = formats.parse_toml(shown, raw or b"").get("hooks")
    except FileRefused:
        return None  # the MCP entry's plan reports it
    if not isinstance(hooks, dict) or not [event for event in hooks if event != "state"]:
        return None
    groups = hooks.get("PreToolUse")
    for group in groups if isinstance(groups, list) else []:
        handlers = group.get("hooks") if isinstance(group, dict) else None
        if isinstance(handlers, list) and any(isinstance(h, dict) and merge.runs_hook(h.get("command"), "codex")
                                              for h in handlers):
            return shown
    if exists:
        return None  # the layer holds both already; maf's hook goes into the existing hooks.json
    raise FileRefused(f"{shown} holds a [hooks] table: Codex warns when one layer has hooks in both it and "
                      f".codex/hooks.json, so maf does not create .codex/hooks.json. Add maf's hooks to "
                      f"{shown} by hand, then run again:\n\n{CODEX_HOOK_TABLES}\n")


STDIO_SERVER = {"command": MCP_ARGV[0], "args": MCP_ARGV[1:]}
CLAUDE_WRITE_TOOLS = "Write|Edit|MultiEdit|NotebookEdit"
SET_AGENT_ID = ("The client gives its shell commands no session id: on Linux its session-start hook records the "
                "session's agent for the client's process, and the agent's `maf-lease`, `git commit` and "
                "`maf mcp` find it; elsewhere set MAF_AGENT_ID for the session (for example "
                "`MAF_AGENT_ID=NAME {cmd}`).")


def _copilot_handler(matcher: str | None) -> dict:
    command = hook_command("copilot")
    return {"type": "command", "bash": command, "powershell": command, "timeoutSec": 30}


def _cursor_handler(matcher: str | None) -> dict:
    handler: dict = {"command": hook_command("cursor")}
    if matcher:
        handler.update({"matcher": matcher, "failClosed": True})
    return handler


CLIENTS = {
    "claude": Client("claude", "Claude Code", [
        Target(HOOK, ".claude/settings.json", "json", _grouped("claude", [
            ("PreToolUse", CLAUDE_WRITE_TOOLS), ("SessionStart", None), ("SessionEnd", None)])),
        Target(MCP, ".mcp.json", "json", _servers("mcpServers", STDIO_SERVER)),
    ], "The SessionStart hook writes MAF_AGENT_ID into the file named by CLAUDE_ENV_FILE, which Claude Code "
       "sources before each shell command of the session."),
    "codex": Client("codex", "Codex CLI", [
        Target(HOOK, ".codex/hooks.json", "json", _grouped("codex", [
            ("PreToolUse", "^apply_patch$"), ("SessionStart", None)]), _codex_hooks_in_config),
        Target(MCP, ".codex/config.toml", "toml", _codex_mcp),
    ], "Codex exports CODEX_THREAD_ID (the session id) to every shell command; recent versions also give the "
       "SessionStart hook CODEX_ENV_FILE.",
       "Codex has no session-end event: auto-claims expire. Project `.codex/` files are read only in a trusted "
       "project."),
    "gemini": Client("gemini", "Gemini CLI", [
        Target(HOOK, ".gemini/settings.json", "jsonc", _grouped("gemini", [
            ("BeforeTool", "write_file|replace"), ("SessionStart", None), ("SessionEnd", None)],
            {"name": "maf"})),
        Target(MCP, ".gemini/settings.json", "jsonc", _servers("mcpServers", STDIO_SERVER)),
    ], SET_AGENT_ID.format(cmd="gemini"),
       "Project hooks run only in a trusted folder; SessionEnd is best effort (Gemini does not wait for it)."),
    "copilot": Client("copilot", "GitHub Copilot CLI and cloud agent", [
        Target(HOOK, ".github/hooks/maf.json", "json", _flat("copilot", [
            ("sessionStart", None), ("preToolUse", None), ("sessionEnd", None)], "bash", _copilot_handler)),
    ], SET_AGENT_ID.format(cmd="copilot"),
       "Add `maf mcp` for Copilot with `copilot /mcp add` (user "
       "configuration), or for VS Code in `.vscode/mcp.json` under `servers`."),
    "cursor": Client("cursor", "Cursor", [
        Target(HOOK, ".cursor/hooks.json", "json", _flat("cursor", [
            ("preToolUse", "Write"), ("sessionStart", None), ("sessionEnd", None)], "command", _cursor_handler)),
        Target(MCP, ".cursor/mcp.json", "json", _servers("mcpServers", STDIO_SERVER)),
    ], "Cursor gives its shell commands no session id, and it is an editor whose integrated terminal the user "
       "types in too, so maf records no session for it: start Cursor with MAF_AGENT_ID, or give the repository "
       "one agent (`git config maf.agentId NAME`), or the agent's `maf-lease` and `git commit` resolve another "
       "identity than its edit hook.",
       "An allowed tool call answers {\"permission\": \"allow\"}: under failClosed, Cursor "
       "blocks an empty answer."),
    "opencode": Client("opencode", "OpenCode", [
        Target(HOOK, ".opencode/plugins/maf.js", "text", also=(".opencode/plugin/maf.js",)),
        Target(MCP, "opencode.json", "jsonc", _servers(
            "mcp", {"type": "local", "command": list(MCP_ARGV), "enabled": True},
            {"$schema": "https://opencode.ai/config.json"})),
    ], "The plugin answers OpenCode's shell.env event with MAF_AGENT_ID, so the session's shell commands "
       "get its agent id."),
}


def plugin_text() -> bytes | None:
    """The OpenCode plugin file shipped with maf-hooks, or None when this installation has none."""
    from importlib import resources

    package, name = PLUGIN_RESOURCE
    try:
        return resources.files(package).joinpath(name).read_bytes()
    except (FileNotFoundError, OSError):
        return None
