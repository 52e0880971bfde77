"""`maf init --agents LIST`: each client's edit hook and MCP entry merged into its real project files."""

from __future__ import annotations

import json
import os
import sys

import pytest

from maf_hooks.agent_setup.clients import plugin_text

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

FIVE = "claude,codex,gemini,copilot,cursor"  # every client but opencode, whose plugin is package data
NO_PLUGIN = pytest.mark.skipif(plugin_text() is None, reason="maf_hooks/agent_hooks/opencode_plugin.js not here yet")

EXISTING = {
    ".claude/settings.json": json.dumps({
        "permissions": {"allow": ["Bash(ls:*)"]},
        "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit-bash"}]}],
                  "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]},
    }, indent="\t") + "\n",
    ".mcp.json": json.dumps({"mcpServers": {"github": {"command": "gh-mcp", "args": []}}}, indent=4) + "\n",
    ".codex/hooks.json": json.dumps({"hooks": {"PostToolUse": [{"hooks": [{"type": "command", "command": "fmt"}]}]}},
                                    indent=2),
    ".codex/config.toml": '# project settings\nmodel = "o3"  # the model\n\n[mcp_servers.docs]\ncommand = "docs-mcp"\n'
                          'args = ["--stdio"]\n\n[profiles.fast]\nmodel = "o4-mini"\n',
    ".gemini/settings.json": json.dumps({"theme": "Dracula", "mcpServers": {"web": {"command": "web-mcp"}},
                                         "hooks": {"BeforeTool": [{"matcher": "run_shell_command", "hooks": [
                                             {"type": "command", "command": "check-shell"}]}]}}, indent=2) + "\n",
    ".github/hooks/maf.json": json.dumps({"version": 1, "hooks": {"postToolUse": [
        {"type": "command", "bash": "./log.sh"}]}}, indent=2) + "\n",
    ".cursor/hooks.json": json.dumps({"version": 1, "hooks": {"beforeShellExecution": [{"command": "./guard.sh"}]}},
                                     indent=2) + "\n",
    ".cursor/mcp.json": json.dumps({"mcpServers": {"db": {"command": "db-mcp", "env": {"X": "1"}}}}, indent=2) + "\n",
}


def _write(repo, files):
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)


def _tree(repo):
    skip = {".git"}
    found = {}
    for top, dirs, files in os.walk(repo):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            path = os.path.join(top, name)
            found[os.path.relpath(path, repo)] = open(path, "rb").read()
    return found


def test_init_agents_merges_keeping_everything_else(repo, cli):
    _write(repo, EXISTING)
    result = cli(repo, "init", "--agents", FIVE)
    assert result.code == 0, result.err
    assert ".claude/settings.json: updated (claude edit hook)" in result.out
    assert "copilot: hooks only, no project-level MCP file" in result.out

    claude = json.loads((repo / ".claude/settings.json").read_text())
    assert list(claude) == ["permissions", "hooks"] and claude["permissions"] == {"allow": ["Bash(ls:*)"]}
    assert list(claude["hooks"]) == ["PreToolUse", "Stop", "SessionStart", "SessionEnd"]
    assert claude["hooks"]["PreToolUse"] == [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "audit-bash"}]},
        {"matcher": "Write|Edit|MultiEdit|NotebookEdit", "hooks": [{"type": "command", "command": "maf agent-hook claude"}]},
    ]
    assert (repo / ".claude/settings.json").read_text().startswith('{\n\t"permissions"')  # its tab indentation
    mcp = (repo / ".mcp.json").read_text()
    assert mcp.startswith('{\n    "mcpServers"') and json.loads(mcp)["mcpServers"] == {
        "github": {"command": "gh-mcp", "args": []}, "maf": {"command": "maf", "args": ["mcp"]}}

    toml_text = (repo / ".codex/config.toml").read_text()
    assert toml_text.startswith('# project settings\nmodel = "o3"  # the model\n')
    codex = tomllib.loads(toml_text)
    assert codex["mcp_servers"] == {"docs": {"command": "docs-mcp", "args": ["--stdio"]},
                                    "maf": {"command": "maf", "args": ["mcp"]}}
    assert codex["profiles"] == {"fast": {"model": "o4-mini"}}
    codex_hooks = json.loads((repo / ".codex/hooks.json").read_text())["hooks"]
    assert list(codex_hooks) == ["PostToolUse", "PreToolUse", "SessionStart"]
    assert codex_hooks["PreToolUse"][0]["matcher"] == "^apply_patch$"

    gemini = json.loads((repo / ".gemini/settings.json").read_text())
    assert gemini["theme"] == "Dracula" and list(gemini["mcpServers"]) == ["web", "maf"]
    assert [g["matcher"] for g in gemini["hooks"]["BeforeTool"]] == ["run_shell_command", "write_file|replace"]
    assert list(gemini["hooks"]) == ["BeforeTool", "SessionStart", "SessionEnd"]

    copilot = json.loads((repo / ".github/hooks/maf.json").read_text())
    assert copilot["hooks"]["postToolUse"] == [{"type": "command", "bash": "./log.sh"}]
    assert copilot["hooks"]["preToolUse"] == [{"type": "command", "bash": "maf agent-hook copilot",
                                               "powershell": "maf agent-hook copilot", "timeoutSec": 30}]
    cursor = json.loads((repo / ".cursor/hooks.json").read_text())
    assert cursor["hooks"]["beforeShellExecution"] == [{"command": "./guard.sh"}]
    assert cursor["hooks"]["preToolUse"] == [{"command": "maf agent-hook cursor", "matcher": "Write",
                                              "failClosed": True}]
    assert json.loads((repo / ".cursor/mcp.json").read_text())["mcpServers"]["db"] == {"command": "db-mcp",
                                                                                       "env": {"X": "1"}}

    before = _tree(repo)
    again = cli(repo, "init", "--agents", FIVE)
    assert again.code == 0 and _tree(repo) == before  # byte for byte
    assert "updated" not in again.out and "created" not in again.out
    assert again.out.count(": unchanged (") == 8


def test_init_agents_dry_run_writes_nothing(repo, cli):
    _write(repo, EXISTING)
    before = _tree(repo)
    result = cli(repo, "init", "--agents", FIVE, "--dry-run")
    assert result.code == 0
    assert ".claude/settings.json: would be updated (claude edit hook)" in result.out
    assert result.out.rstrip().endswith("dry run: nothing written")
    assert _tree(repo) == before
    listed = cli(repo, "init", "--agents", "claude", "--dry-run", "--json").json
    assert listed["dry_run"] is True and _tree(repo) == before
    assert [f["status"] for f in listed["files"]] == ["updated", "updated"]


def test_init_agents_creates_files_and_json(repo, cli):
    result = cli(repo, "init", "--agents", "cursor,claude,cursor", "--json").json
    assert result["clients"] == ["cursor", "claude"]
    assert [(f["path"], f["status"]) for f in result["files"]] == [
        (".cursor/hooks.json", "created"), (".cursor/mcp.json", "created"),
        (".claude/settings.json", "created"), (".mcp.json", "created")]
    assert json.loads((repo / ".mcp.json").read_text()) == {"mcpServers": {"maf": {"command": "maf", "args": ["mcp"]}}}
    assert (repo / ".mcp.json").read_text().startswith('{\n  "mcpServers"')


@pytest.mark.parametrize("path, text", [
    (".mcp.json", '{"mcpServers": {"x": 1},\n'),
    (".claude/settings.json", "[1, 2]\n"),
    (".claude/settings.json", '{"hooks": []}\n'),
    (".claude/settings.json", '{"hooks": {"PreToolUse": {"matcher": "x"}}}\n'),
    (".codex/config.toml", "[mcp_servers\ncommand = 1\n"),
    (".codex/config.toml", 'mcp_servers = "none"\n'),
    (".cursor/mcp.json", '{"mcpServers": {"maf": "maf mcp"}}\n'),
    (".cursor/mcp.json", "// a comment\n{}\n"),  # comments: not in this client's format
])
def test_init_agents_refuses_a_malformed_file_and_writes_nothing(repo, cli, path, text):
    _write(repo, {path: text})
    before = _tree(repo)
    result = cli(repo, "init", "--agents", FIVE)
    assert result.code == 2
    assert path in result.err and "Traceback" not in result.err
    assert _tree(repo) == before  # nothing written, not even the files of the other clients


def test_init_agents_json_with_comments_is_read_but_not_rewritten(repo, cli):
    settings = '{\n  // Gemini reads comments\n  "theme": "Dracula",\n}\n'
    _write(repo, {".gemini/settings.json": settings})
    result = cli(repo, "init", "--agents", "gemini")
    assert result.code == 2 and "holds comments" in result.err
    assert (repo / ".gemini/settings.json").read_text() == settings
    cli(repo, "init", "--agents", "claude")  # a client without comments is still set up
    (repo / ".gemini/settings.json").unlink()
    assert cli(repo, "init", "--agents", "gemini").code == 0
    installed = (repo / ".gemini/settings.json").read_text()
    commented = installed.replace('{\n  "hooks"', '{\n  // maf\'s entries, by hand\n  "hooks"', 1)
    (repo / ".gemini/settings.json").write_text(commented)
    again = cli(repo, "init", "--agents", "gemini")
    assert again.code == 0 and "unchanged" in again.out
    assert (repo / ".gemini/settings.json").read_text() == commented


def test_init_agents_replaces_an_outdated_maf_entry_in_place(repo, cli):
    _write(repo, {".claude/settings.json": json.dumps({"hooks": {"PreToolUse": [
        {"matcher": "Write", "hooks": [{"type": "command", "command": "maf agent-hook claude"}]},
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "audit"}]}]}}),
        ".mcp.json": json.dumps({"mcpServers": {"maf": {"command": "old-maf", "env": {"A": "b"}}}})})
    assert cli(repo, "init", "--agents", "claude").code == 0
    groups = json.loads((repo / ".claude/settings.json").read_text())["hooks"]["PreToolUse"]
    assert [g["matcher"] for g in groups] == ["Write|Edit|MultiEdit|NotebookEdit", "Bash"]
    assert json.loads((repo / ".mcp.json").read_text())["mcpServers"]["maf"] == {
        "command": "maf", "env": {"A": "b"}, "args": ["mcp"]}


def test_init_agents_unknown_client_lists_the_known(repo, cli):
    for given in ("claude,vim", "", "all,claude"):
        result = cli(repo, "init", "--agents", given)
        assert result.code == 2
        assert "claude, codex, gemini, copilot, cursor, opencode, or all" in result.err
    assert _tree(repo).keys() == {"README.md"}


def test_init_agents_refuses_a_symlink(repo, cli, tmp_path):
    outside = tmp_path / "elsewhere.json"
    outside.write_text("{}\n")
    os.symlink(outside, repo / ".mcp.json")
    result = cli(repo, "init", "--agents", "claude")
    assert result.code == 2 and "symbolic link" in result.err
    assert outside.read_text() == "{}\n" and os.path.islink(repo / ".mcp.json")


def test_init_agents_options_that_do_not_go_together(repo, cli):
    assert cli(repo, "init", "--agents", "claude", "--write").code == 2
    assert cli(repo, "init", "--dry-run").code == 2


@NO_PLUGIN
def test_init_agents_opencode_plugin_and_mcp(repo, cli):
    _write(repo, {"opencode.json": json.dumps({"$schema": "https://opencode.ai/config.json", "model": "x/y",
                                               "mcp": {"other": {"type": "remote", "url": "https://e.test"}}},
                                              indent=2) + "\n"})
    assert cli(repo, "init", "--agents", "opencode").code == 0
    assert (repo / ".opencode/plugins/maf.js").read_bytes() == plugin_text()
    config = json.loads((repo / "opencode.json").read_text())
    assert config["model"] == "x/y" and list(config["mcp"]) == ["other", "maf"]
    assert config["mcp"]["maf"] == {"type": "local", "command": ["maf", "mcp"], "enabled": True}
    before = _tree(repo)
    assert cli(repo, "init", "--agents", "all").code == 0
    assert cli(repo, "init", "--agents", "all").code == 0 and {
        k: v for k, v in _tree(repo).items() if k in before} == before


def test_docs_agents_shows_each_snippet_maf_writes():
    from pathlib import Path

    from maf_hooks.agent_setup import formats
    from maf_hooks.agent_setup.clients import CLIENTS

    docs = (Path(__file__).parent.parent / "docs" / "agents.md").read_text()
    for client in CLIENTS.values():
        assert f"### {client.title} (`{client.name}`)" in docs
        for target in client.targets:
            if target.fmt == "text":
                assert f"`{target.path}`" in docs
                continue
            doc = formats.load_toml("x", b"") if target.fmt == "toml" else {}
            target.edit(doc, "")
            text = formats.dump_toml(doc) if target.fmt == "toml" else formats.dump_json(doc, formats.JsonStyle())
            assert f"- `{target.path}`" in docs and text.rstrip() in docs, (client.name, target.path)
