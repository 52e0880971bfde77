"""The ``mcp`` check: each required MCP configuration file is a JSON object with servers."""

from __future__ import annotations

import json
import os

from maf_hooks.preflight.result import FAILED, PASSED, WARNING, Annotation, Outcome, plural, summarize
from maf_hooks.preflight.runenv import RunEnv


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
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return "failed", "is not UTF-8 text", []
    except json.JSONDecodeError as exc:  # exc.msg holds no file content
        return "failed", f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", []
    if not isinstance(data, dict):
        return "failed", "does not hold a JSON object", []
    servers = data.get("mcpServers")
    if servers is None:
        return "failed", "has no mcpServers object", []
    if not isinstance(servers, dict):
        return "failed", "has an mcpServers value that is not an object", []
    if not servers:
        return "empty", "lists no servers in mcpServers", []
    return "ok", "", sorted(str(name) for name in servers)


def check_mcp(env: RunEnv) -> Outcome:
    entries = env.check_settings("mcp")["required_configs"]
    if not entries:
        return Outcome(PASSED, "no MCP configuration files required", {"files": {}})
    files, findings, annotations = {}, [], []
    failed = empty = 0
    for entry in entries:
        path = os.path.expanduser(entry)
        if not os.path.isabs(path):
            path = os.path.join(env.root, path)
        status, problem, servers = _mcp_file(path)
        files[entry] = {"status": status, "servers": servers}
        if problem:
            files[entry]["problem"] = problem
            findings.append(f"{entry} {problem}")
            level = "error" if status == "failed" else "warning"
            annotations.append(Annotation(level, f"MCP configuration {entry} {problem}"))
        failed += status == "failed"
        empty += status == "empty"
    details = {"files": files}
    total = sum(len(f["servers"]) for f in files.values())
    if failed:
        return Outcome(FAILED, summarize(findings), details, findings,
                       ["Create each MCP configuration file as a JSON object with an mcpServers object "
                        "([preflight.checks.mcp] required_configs lists them)."], annotations)
    if empty:
        return Outcome(WARNING, summarize(findings), details, findings, [], annotations)
    return Outcome(PASSED, f"{plural(len(entries), 'file')}, {plural(total, 'server')}", details)
