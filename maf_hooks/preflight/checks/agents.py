"""The ``agents`` check: each client of ``[agent_hooks] clients`` has its edit hook and MCP entry
in its project files, as ``maf init --agents`` writes them (a warning when one is missing, a
failure with ``[preflight.checks.agents] required = true``); an entry of the user's that runs maf's
command counts as installed, and maf's plugin file edited by hand is a warning. ``--fix`` writes
what is missing."""

from __future__ import annotations

from maf_hooks.preflight.result import FAILED, PASSED, WARNING, Annotation, Outcome, joined, summarize
from maf_hooks.preflight.runenv import RunEnv


def agent_status(env: RunEnv) -> dict:
    """``{client: {"hook": bool, "mcp": bool | None, "files": [...], "problem"?: str}}``; nothing is written."""
    from maf_hooks.agent_setup import install
    from maf_hooks.agent_setup.formats import FileRefused

    status = {}
    for client in env.context.config.get("agent_hooks.clients") or []:
        try:
            plans = install.plan(env.root, [client])
        except FileRefused as exc:
            status[client] = {"hook": False, "mcp": False, "files": [], "problem": str(exc)}
            continue
        state = install.installed(plans)[client]
        status[client] = {**state, "files": [p.to_json() for p in plans]}
    return status


def check_agents(env: RunEnv) -> Outcome:
    clients = agent_status(env)
    if not clients:
        return Outcome(PASSED, "no agent clients configured ([agent_hooks] clients)", {"clients": {}})
    severity = FAILED if env.check_settings("agents")["required"] else WARNING
    findings, notices, fixable = [], [], False
    for client, state in clients.items():
        if "problem" in state:
            findings.append(f"{client}: {state['problem']}")
            continue
        for edited in (f["path"] for f in state["files"] if f["status"] == "differs"):
            notices.append(f"{client}: {edited} differs from the shipped plugin (delete it and run "
                           f"`maf init --agents {client}` to replace it)")
        missing = [what for what, key in (("edit hook", "hook"), ("MCP entry", "mcp")) if state[key] is False]
        if missing:
            files = joined([f["path"] for f in state["files"] if f["status"] != "unchanged"])
            findings.append(f"{client}: {' and '.join(missing)} not installed ({files})")
            fixable = True
    details = {"clients": clients}
    if notices and not findings:  # a file edited by hand is the user's to replace: a warning at most
        return Outcome(WARNING, summarize(notices), details, notices, [],
                       [Annotation("warning", f"agent hooks: {f}") for f in notices])
    findings += notices
    if findings:
        level = "error" if severity == FAILED else "warning"
        names = ",".join(clients)
        return Outcome(severity, summarize(findings), details, findings,
                       [f"Install them: `maf init --agents {names}` (or `maf-preflight --fix`)."],
                       [Annotation(level, f"agent hooks: {f}") for f in findings], fixable=fixable)
    return Outcome(PASSED, f"edit hooks and MCP entries installed for {joined(list(clients))}", details)
