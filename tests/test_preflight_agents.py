"""Preflight: the ``mcp`` check reads each client's own format; the ``agents`` check and its ``--fix``."""

from __future__ import annotations

import json

import pytest

from maf_hooks.agent_setup.clients import plugin_text
from maf_hooks.cli.preflight import preflight_command


def pf(cli, repo, *args):
    result = cli(repo, "--json", *args, command=preflight_command, prog="maf-preflight")
    return result.code, {check["id"]: check for check in result.json["checks"]}


def _write(repo, files):
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)


REAL_FILES = {
    ".mcp.json": json.dumps({"mcpServers": {"a": {"command": "a"}}}),
    ".cursor/mcp.json": json.dumps({"mcpServers": {"b": {"command": "b"}}}),
    ".vscode/mcp.json": '{\n  // VS Code allows comments\n  "servers": {"c": {"command": "c"}, "d": {"command": "d"}},\n}\n',
    ".codex/config.toml": '[mcp_servers.e]\ncommand = "e"\n\n[mcp_servers.f]\ncommand = "f"\n',
    "opencode.json": json.dumps({"mcp": {"g": {"type": "local", "command": ["g"]}}}),
    "v2/opencode.json": json.dumps({"mcp": {"servers": {"h": {"type": "local", "command": ["h"]}}}}),
    ".gemini/settings.json": '{"mcpServers": {"i": {"command": "i"}}} // comment\n',
}


def test_mcp_check_reads_every_client_format(repo, cli):
    _write(repo, REAL_FILES)
    listed = ", ".join(f'"{path}"' for path in REAL_FILES)
    (repo / "maf.toml").write_text(f"[preflight.checks.mcp]\nrequired_configs = [{listed}]\n")
    _, checks = pf(cli, repo, "--only", "mcp")
    assert checks["mcp"]["status"] == "passed", checks["mcp"]
    files = checks["mcp"]["details"]["files"]
    assert files[".vscode/mcp.json"]["servers"] == ["c", "d"]
    assert files[".codex/config.toml"]["servers"] == ["e", "f"]
    assert files["v2/opencode.json"]["servers"] == ["h"]
    assert checks["mcp"]["message"] == "7 files, 9 servers"


def test_mcp_check_client_names_and_format_problems(repo, cli):
    _write(repo, {".codex/config.toml": "[mcp_servers\n", "opencode.json": json.dumps({"mcpServers": {"x": {}}}),
                  ".cursor/mcp.json": '{"mcpServers": {}}', ".mcp.json": "// no comments here\n{}"})
    (repo / "maf.toml").write_text('[preflight.checks.mcp]\nrequired_configs = ["codex", "opencode", "cursor", '
                                   '"claude", "gemini"]\n')
    code, checks = pf(cli, repo, "--only", "mcp")
    assert code == 1 and checks["mcp"]["status"] == "failed"
    findings = checks["mcp"]["details"]["findings"]
    assert findings[0].startswith("codex (.codex/config.toml) is not valid TOML")
    assert findings[1] == "opencode (opencode.json) has no mcp object"
    assert findings[2] == "cursor (.cursor/mcp.json) lists no servers in mcpServers"
    assert findings[3].startswith("claude (.mcp.json) is not valid JSON")
    assert findings[4] == "gemini (.gemini/settings.json) not found"


def test_agents_check_passes_without_clients(repo, cli):
    _, checks = pf(cli, repo, "--only", "agents")
    assert checks["agents"]["status"] == "passed"
    assert "no agent clients configured" in checks["agents"]["message"]


def test_agents_check_warns_fails_and_fix_installs(repo, cli):
    (repo / "maf.toml").write_text('[agent_hooks]\nclients = ["claude", "copilot"]\n')
    _write(repo, {".mcp.json": json.dumps({"mcpServers": {"maf": {"command": "maf", "args": ["mcp"]}}})})
    code, checks = pf(cli, repo, "--only", "agents")
    agents = checks["agents"]
    assert code == 0 and agents["status"] == "warning"
    assert agents["details"]["findings"] == ["claude: edit hook not installed (.claude/settings.json)",
                                  "copilot: edit hook not installed (.github/hooks/maf.json)"]
    assert agents["details"]["clients"]["claude"]["mcp"] is True
    assert agents["details"]["clients"]["copilot"]["mcp"] is None
    assert not (repo / ".claude").exists()  # the check writes nothing

    (repo / "maf.toml").write_text('[agent_hooks]\nclients = ["claude", "copilot"]\n'
                                   "[preflight.checks.agents]\nrequired = true\n")
    code, checks = pf(cli, repo, "--only", "agents")
    assert code == 1 and checks["agents"]["status"] == "failed"

    result = cli(repo, "--only", "agents", "--fix", command=preflight_command, prog="maf-preflight")
    assert result.code == 0, result.out
    assert "created .claude/settings.json" in result.out and "created .github/hooks/maf.json" in result.out
    code, checks = pf(cli, repo, "--only", "agents")
    assert code == 0 and checks["agents"]["status"] == "passed"
    assert cli(repo, "init", "--agents", "claude,copilot").out.count("unchanged") == 3


def test_agents_check_reports_an_unreadable_file(repo, cli):
    (repo / "maf.toml").write_text('[agent_hooks]\nclients = ["cursor"]\n[preflight.checks.agents]\nrequired = true\n')
    _write(repo, {".cursor/hooks.json": "{not json"})
    code, checks = pf(cli, repo, "--only", "agents")
    assert code == 1 and checks["agents"]["details"]["findings"][0].startswith("cursor: .cursor/hooks.json: not valid JSON")
    result = cli(repo, "--only", "agents", "--fix", command=preflight_command, prog="maf-preflight")
    assert result.code == 1 and (repo / ".cursor/hooks.json").read_text() == "{not json"


def test_agents_check_takes_a_customised_maf_entry_as_installed(repo, cli):
    (repo / "maf.toml").write_text('[agent_hooks]\nclients = ["claude"]\n[preflight.checks.agents]\nrequired = true\n')
    files = {".mcp.json": json.dumps({"mcpServers": {"leases": {"command": "/opt/venv/bin/maf",
                                                                "args": ["mcp", "--agent", "alice"]}}}),
             ".claude/settings.json": json.dumps({"hooks": {
                 event: [{**({"matcher": "Write|Edit|MultiEdit|NotebookEdit"} if event == "PreToolUse" else {}),
                          "hooks": [{"type": "command", "command": "/opt/venv/bin/maf agent-hook claude"}]}]
                 for event in ("PreToolUse", "SessionStart", "SessionEnd")}})}
    _write(repo, files)
    code, checks = pf(cli, repo, "--only", "agents")
    assert code == 0 and checks["agents"]["status"] == "passed", checks["agents"]
    result = cli(repo, "--only", "agents", "--fix", command=preflight_command, prog="maf-preflight")
    assert result.code == 0
    for path, text in files.items():
        assert (repo / path).read_text() == text


@pytest.mark.skipif(plugin_text() is None, reason="no OpenCode plugin in this installation")
def test_agents_check_warns_of_an_edited_plugin(repo, cli):
    (repo / "maf.toml").write_text('[agent_hooks]\nclients = ["opencode"]\n[preflight.checks.agents]\nrequired = true\n')
    assert cli(repo, "init", "--agents", "opencode").code == 0
    (repo / ".opencode/plugins/maf.js").write_text("// mine\n")
    code, checks = pf(cli, repo, "--only", "agents")
    agents = checks["agents"]
    assert code == 0 and agents["status"] == "warning", agents
    assert agents["details"]["findings"] == [
        "opencode: .opencode/plugins/maf.js differs from the shipped plugin (delete it and run "
        "`maf init --agents opencode` to replace it)"]
    result = cli(repo, "--only", "agents", "--fix", command=preflight_command, prog="maf-preflight")
    assert result.code == 0 and (repo / ".opencode/plugins/maf.js").read_text() == "// mine\n"


def test_mcp_check_reports_a_file_nested_too_deeply(repo, cli):
    _write(repo, {".mcp.json": "[" * 100000 + "]" * 100000, "opencode.json": "[" * 100000 + "]" * 100000})
    (repo / "maf.toml").write_text('[preflight.checks.mcp]\nrequired_configs = ["claude", "opencode"]\n')
    code, checks = pf(cli, repo, "--only", "mcp")
    assert code == 1 and checks["mcp"]["details"]["findings"] == [
        "claude (.mcp.json) is nested too deeply to be read", "opencode (opencode.json) is nested too deeply to be read"]


@pytest.mark.parametrize("path, text, key", [
    (".mcp.json", '{"mcpServers": {"a": {"command": "a"}}, "mcpServers": {"b": {"command": "b"}}}', "mcpServers"),
    (".gemini/settings.json", '{"mcpServers": {"a": {"command": "a", "command": "b"}}} // c\n', "command"),
])
def test_mcp_check_reports_a_key_given_twice(repo, cli, path, text, key):
    _write(repo, {path: text})
    client = {".mcp.json": "claude", ".gemini/settings.json": "gemini"}[path]
    (repo / "maf.toml").write_text(f'[preflight.checks.mcp]\nrequired_configs = ["{client}"]\n')
    code, checks = pf(cli, repo, "--only", "mcp")
    assert code == 1 and checks["mcp"]["status"] == "failed"
    assert checks["mcp"]["details"]["findings"] == [
        f"{client} ({path}) holds the key {key!r} twice in one object (a reader keeps only one of them)"]


@pytest.mark.skipif(plugin_text() is None, reason="no OpenCode plugin in this installation")
def test_agents_check_takes_a_legacy_opencode_plugin_as_installed(repo, cli):
    (repo / "maf.toml").write_text('[agent_hooks]\nclients = ["opencode"]\n[preflight.checks.agents]\nrequired = true\n')
    assert cli(repo, "init", "--agents", "opencode").code == 0
    (repo / ".opencode/plugins").rename(repo / ".opencode/plugin")
    code, checks = pf(cli, repo, "--only", "agents")
    assert code == 0 and checks["agents"]["status"] == "passed", checks["agents"]
    result = cli(repo, "--only", "agents", "--fix", command=preflight_command, prog="maf-preflight")
    assert result.code == 0 and not (repo / ".opencode/plugins").exists()
