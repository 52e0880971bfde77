"""The ``mcp`` check: each required MCP configuration file lists servers, in its client's own format.

The format follows the file: ``.codex/config.toml`` is TOML with ``[mcp_servers.NAME]``;
``opencode.json`` (or ``.jsonc``) lists servers under ``mcp`` (or ``mcp.servers``); ``.vscode/mcp.json``
under ``servers``; any other file (``.mcp.json``, ``.cursor/mcp.json``, ``.gemini/settings.json``)
under ``mcpServers``. A ``required_configs`` entry that names a client (``claude``, ``codex``...)
stands for that client's project file (:data:`CLIENT_FILES`). JSON is read as ``maf init --agents``
reads it: a key given twice in one object is a problem.
"""

from __future__ import annotations

import json
import os

from maf_hooks.preflight.result import FAILED, PASSED, WARNING, Annotation, Outcome, plural, summarize
from maf_hooks.preflight.runenv import RunEnv

CLIENT_FILES = {
    "claude": ".mcp.json",
    "codex": ".codex/config.toml",
    "gemini": ".gemini/settings.json",
    "copilot": ".vscode/mcp.json",  # VS Code's Copilot; the Copilot CLI keeps its servers in the user's home
    "cursor": ".cursor/mcp.json",
    "opencode": "opencode.json",
}


def _format(path: str) -> tuple[str, str, bool]:
    """``(parser, key holding the servers, comments allowed)`` for a file, from its name."""
    name = os.path.basename(path)
    parent = os.path.basename(os.path.dirname(os.path.abspath(path)))
    if name.endswith(".toml"):
        return "toml", "mcp_servers", False
    if name in ("opencode.json", "opencode.jsonc"):
        return "json", "mcp", True
    if name == "mcp.json" and parent == ".vscode":
        return "json", "servers", True
    return "json", "mcpServers", name == "settings.json" and parent == ".gemini"


def _parse(raw: bytes, parser: str, comments: bool):
    """The document, or a str saying why it cannot be read."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    if parser == "toml":
        import sys

        if sys.version_info >= (3, 11):
            import tomllib
        else:
            import tomli as tomllib
        try:
            return tomllib.loads(text)
        except (tomllib.TOMLDecodeError, RecursionError) as exc:
            return f"is not valid TOML ({exc})"
    from maf_hooks.agent_setup.formats import DuplicateKey, loads_unique, strip_jsonc

    try:
        try:
            return loads_unique(text)
        except json.JSONDecodeError as exc:  # exc.msg holds no file content
            if not comments:
                raise
            try:
                return loads_unique(strip_jsonc(text))
            except json.JSONDecodeError:
                raise exc from None
    except DuplicateKey as exc:
        return str(exc)
    except RecursionError:
        return "is nested too deeply to be read"
    except json.JSONDecodeError as exc:
        return f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"


def _mcp_file(path: str) -> tuple[str, str, list]:
    """``(status, problem, server names)``: status is ok, empty or failed."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return "failed", "not found", []
    except IsADirectoryError:
        return "failed", "is a directory", []
    except OSError as exc:
        return "failed", f"cannot be read ({exc.strerror or exc})", []
    parser, key, comments = _format(path)
    data = _parse(raw, parser, comments)
    if isinstance(data, str):
        return "failed", data, []
    if not isinstance(data, dict):
        return "failed", "does not hold a JSON object", []
    servers = data.get(key)
    if key == "mcp" and isinstance(servers, dict) and isinstance(servers.get("servers"), dict) \
            and "type" not in servers["servers"]:
        servers, key = servers["servers"], "mcp.servers"  # OpenCode's newer layout
    shown = f"[{key}.*] tables" if parser == "toml" else f"{key} object"
    if servers is None:
        return "failed", f"has no {shown}", []
    if not isinstance(servers, dict):
        return "failed", f"has a {key} value that is not {'a table' if parser == 'toml' else 'an object'}", []
    if not servers:
        return "empty", f"lists no servers in {key}", []
    return "ok", "", sorted(str(name) for name in servers)


def required_path(entry: str, root: str) -> str:
    """The file a ``required_configs`` entry stands for: a client's project file, or a path."""
    if entry in CLIENT_FILES:
        return os.path.join(root, *CLIENT_FILES[entry].split("/"))
    path = os.path.expanduser(entry)
    return path if os.path.isabs(path) else os.path.join(root, path)


def check_mcp(env: RunEnv) -> Outcome:
    entries = env.check_settings("mcp")["required_configs"]
    if not entries:
        return Outcome(PASSED, "no MCP configuration files required", {"files": {}})
    files, findings, annotations = {}, [], []
    failed = empty = 0
    for entry in entries:
        status, problem, servers = _mcp_file(required_path(entry, env.root))
        shown = f"{entry} ({CLIENT_FILES[entry]})" if entry in CLIENT_FILES else entry
        files[entry] = {"status": status, "servers": servers}
        if entry in CLIENT_FILES:
            files[entry]["path"] = CLIENT_FILES[entry]
        if problem:
            files[entry]["problem"] = problem
            findings.append(f"{shown} {problem}")
            level = "error" if status == "failed" else "warning"
            annotations.append(Annotation(level, f"MCP configuration {shown} {problem}"))
        failed += status == "failed"
        empty += status == "empty"
    details = {"files": files}
    total = sum(len(f["servers"]) for f in files.values())
    if failed:
        return Outcome(FAILED, summarize(findings), details, findings,
                       ["Create each MCP configuration file in its client's format (`maf init --agents CLIENT` "
                        "writes maf's entry; [preflight.checks.mcp] required_configs lists the files)."],
                       annotations)
    if empty:
        return Outcome(WARNING, summarize(findings), details, findings, [], annotations)
    return Outcome(PASSED, f"{plural(len(entries), 'file')}, {plural(total, 'server')}", details)
