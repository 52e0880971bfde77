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
    from maf_hooks.agent_setup.clients import CODEX_HOOK_TABLES, CODEX_MCP_TABLE

    assert CODEX_HOOK_TABLES in docs and CODEX_MCP_TABLE in docs
    codex_json = {}
    CLIENTS["codex"].targets[0].edit(codex_json, "")
    assert tomllib.loads(CODEX_HOOK_TABLES) == codex_json  # the same hooks as .codex/hooks.json


CODEX_BY_HAND = '[mcp_servers.maf]\ncommand = "maf"\nargs = ["mcp"]'


@pytest.mark.parametrize("text", [
    'mcp_servers.github.command = "gh"\nmodel = "x"\n',  # dotted keys: a table added here would take `model`
    'mcp_servers = { github = { command = "gh" } }\n',  # an inline table cannot take a table
])
def test_init_agents_refuses_a_codex_config_it_cannot_add_its_table_to(repo, cli, text):
    _write(repo, {".codex/config.toml": text})
    before = _tree(repo)
    result = cli(repo, "init", "--agents", "codex,claude")
    assert result.code == 2, (result.out, result.err)
    assert ".codex/config.toml" in result.err and CODEX_BY_HAND in result.err
    assert "internal error" not in result.err and "Traceback" not in result.err
    assert _tree(repo) == before  # not even .codex/hooks.json or the claude files


@pytest.mark.parametrize("text", [
    'model = "x"\n[mcp_servers]\ngithub.command = "gh"\n',
    ('model = "x"\n\n[mcp_servers.a]\ncommand = "a"\n\n[other]\nx = 1\n\n[mcp_servers.b]\ncommand = "b"\n'
            '\n[profiles.p]\nmodel = "y"\n'),
])
def test_init_agents_codex_config_with_tables_in_any_order_keeps_every_value(repo, cli, text):
    _write(repo, {".codex/config.toml": text})
    result = cli(repo, "init", "--agents", "codex")
    if result.code == 0:
        config = tomllib.loads((repo / ".codex/config.toml").read_text())
        assert config == {**tomllib.loads(text), "mcp_servers": {**tomllib.loads(text)["mcp_servers"],
                                                                  "maf": {"command": "maf", "args": ["mcp"]}}}
    else:
        assert result.code == 2 and CODEX_BY_HAND in result.err
        assert (repo / ".codex/config.toml").read_text() == text


def test_semantic_check_refuses_a_change_beyond_maf_entries():
    from maf_hooks.agent_setup import verify
    from maf_hooks.agent_setup.formats import FileRefused

    before = {"model": "x", "mcp_servers": {"github": {"command": "gh"}}}
    good = {"model": "x", "mcp_servers": {"github": {"command": "gh"}, "maf": {"command": "maf", "args": ["mcp"]}}}
    verify.unchanged_but_maf("f", before, good)
    moved = {"mcp_servers": {"github": {"command": "gh"}, "maf": {"command": "maf", "args": ["mcp"], "model": "x"}}}
    with pytest.raises(FileRefused, match="f: "):
        verify.unchanged_but_maf("f", before, moved)
    hooks_before = {"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "a"},
                                                                           {"command": "maf agent-hook x"}]}]}}
    hooks_after = {"version": 1, "hooks": {"PreToolUse": [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "a"}]},
        {"matcher": "W", "hooks": [{"command": "/opt/maf agent-hook x"}]}], "SessionStart": [
        {"hooks": [{"command": "maf agent-hook x"}]}]}}
    verify.unchanged_but_maf("f", hooks_before, hooks_after)
    with pytest.raises(FileRefused):
        verify.unchanged_but_maf("f", hooks_before, {"hooks": {"PreToolUse": []}})


CUSTOM_MCP = {"command": "/opt/venv/bin/maf", "args": ["mcp", "--agent", "alice"]}


def test_init_agents_leaves_a_customised_maf_entry_as_it_is(repo, cli):
    claude_hooks = {"hooks": {
        "PreToolUse": [{"matcher": "Write|Edit|MultiEdit|NotebookEdit", "hooks": [
            {"type": "command", "command": "/opt/venv/bin/maf agent-hook claude --verbose"}]}],
        "SessionStart": [{"hooks": [{"type": "command", "command": '"/opt/my env/maf" agent-hook claude'}]}],
        "SessionEnd": [{"hooks": [{"type": "command", "command": "C:\\maf\\maf.exe agent-hook claude"}]}]}}
    files = {
        ".claude/settings.json": json.dumps(claude_hooks, indent=2) + "\n",
        ".mcp.json": json.dumps({"mcpServers": {"maf": CUSTOM_MCP}}, indent=2) + "\n",
        ".cursor/mcp.json": json.dumps({"mcpServers": {"leases": CUSTOM_MCP}}, indent=2) + "\n",
        ".codex/config.toml": '[mcp_servers.maf]\ncommand = "/opt/venv/bin/maf"\nargs = ["mcp", "--agent", "alice"]\n',
        ".cursor/hooks.json": json.dumps({"version": 1, "hooks": {
            "preToolUse": [{"command": "/usr/local/bin/maf agent-hook cursor", "matcher": "Write",
                            "failClosed": True}],
            "sessionStart": [{"command": "/usr/local/bin/maf agent-hook cursor"}],
            "sessionEnd": [{"command": "/usr/local/bin/maf agent-hook cursor"}]}}, indent=2) + "\n",
    }
    _write(repo, files)
    result = cli(repo, "init", "--agents", "claude,codex,cursor")
    assert result.code == 0, result.err
    for path, text in files.items():
        assert (repo / path).read_text() == text, path
    assert ".mcp.json: unchanged" in result.out and ".cursor/hooks.json: unchanged" in result.out


def test_init_agents_not_maf_lookalikes_are_not_taken_for_maf(repo, cli):
    _write(repo, {".claude/settings.json": json.dumps({"hooks": {"PreToolUse": [
        {"matcher": "Write|Edit|MultiEdit|NotebookEdit", "hooks": [
            {"type": "command", "command": "/opt/notmaf agent-hook claude"},
            {"type": "command", "command": "maf agent-hook codex"}]}]}}),
        ".mcp.json": json.dumps({"mcpServers": {"x": {"command": "/bin/maf", "args": ["serve"]}}})})
    assert cli(repo, "init", "--agents", "claude").code == 0
    groups = json.loads((repo / ".claude/settings.json").read_text())["hooks"]["PreToolUse"]
    assert len(groups) == 2 and groups[1]["hooks"] == [{"type": "command", "command": "maf agent-hook claude"}]
    assert list(json.loads((repo / ".mcp.json").read_text())["mcpServers"]) == ["x", "maf"]


def test_init_agents_keeps_a_custom_maf_path_when_it_updates_a_matcher(repo, cli):
    _write(repo, {".claude/settings.json": json.dumps({"hooks": {"PreToolUse": [
        {"matcher": "Write", "hooks": [{"type": "command", "command": "/opt/bin/maf agent-hook claude"}]}]}})})
    assert cli(repo, "init", "--agents", "claude").code == 0
    groups = json.loads((repo / ".claude/settings.json").read_text())["hooks"]["PreToolUse"]
    assert groups == [{"matcher": "Write|Edit|MultiEdit|NotebookEdit",
                       "hooks": [{"type": "command", "command": "/opt/bin/maf agent-hook claude"}]}]


@NO_PLUGIN
def test_init_agents_does_not_overwrite_an_edited_plugin(repo, cli):
    _write(repo, {".opencode/plugins/maf.js": "// my own version\n"})
    result = cli(repo, "init", "--agents", "opencode")
    assert result.code == 0, result.err
    assert (repo / ".opencode/plugins/maf.js").read_text() == "// my own version\n"
    assert ".opencode/plugins/maf.js: differs from the shipped plugin" in result.out
    assert "delete it and run" in result.out
    listed = cli(repo, "init", "--agents", "opencode", "--json").json
    assert listed["files"][0]["status"] == "differs"
    (repo / ".opencode/plugins/maf.js").unlink()
    assert "created" in cli(repo, "init", "--agents", "opencode").out
    assert (repo / ".opencode/plugins/maf.js").read_bytes() == plugin_text()


@pytest.mark.parametrize("path, text, wanted", [
    ("opencode.json", '{\n  "model": "x/y",\n}\n', "trailing comma at line 2"),
    (".mcp.json", '{\n  "mcpServers": {},\n}\n', "trailing comma at line 2"),
    (".mcp.json", "[" * 100000 + "]" * 100000, "nested too deeply"),
    ("opencode.json", "[" * 100000 + "]" * 100000, "nested too deeply"),
    (".mcp.json", '{"mcpServers": {"a": {"command": "a"}}, "mcpServers": {}}', "'mcpServers' twice"),
    (".gemini/settings.json", '{"theme": "a", "hooks": {}, "theme": "b"}', "'theme' twice"),
    (".codex/config.toml", "x = " + "[" * 100000 + "]" * 100000 + "\n", "nested"),
])
def test_init_agents_bad_json_says_what_is_wrong(repo, cli, path, text, wanted):
    _write(repo, {path: text})
    client = {"opencode.json": "opencode", ".mcp.json": "claude", ".gemini/settings.json": "gemini",
              ".codex/config.toml": "codex"}[path]
    result = cli(repo, "init", "--agents", client)
    assert result.code == 2, result.err
    assert wanted in result.err and path in result.err
    assert "holds comments" not in result.err and "internal error" not in result.err
    assert (repo / path).read_text() == text


def test_init_agents_codex_hooks_in_config_toml(repo, cli):
    toml_hooks = '[[hooks.Stop]]\n[[hooks.Stop.hooks]]\ntype = "command"\ncommand = "notify"\n'
    _write(repo, {".codex/config.toml": toml_hooks})
    result = cli(repo, "init", "--agents", "codex")
    assert result.code == 2 and "[hooks]" in result.err and ".codex/hooks.json" in result.err
    assert '[[hooks.PreToolUse]]\nmatcher = "^apply_patch$"' in result.err  # what to add by hand
    assert not (repo / ".codex/hooks.json").exists() and (repo / ".codex/config.toml").read_text() == toml_hooks

    by_hand = toml_hooks + ('\n[[hooks.PreToolUse]]\nmatcher = "^apply_patch$"\n\n[[hooks.PreToolUse.hooks]]\n'
                            'type = "command"\ncommand = "maf agent-hook codex"\n')
    (repo / ".codex/config.toml").write_text(by_hand)
    result = cli(repo, "init", "--agents", "codex")
    assert result.code == 0, result.err
    assert not (repo / ".codex/hooks.json").exists()
    assert ".codex/config.toml: unchanged (codex edit hook)" in result.out
    assert tomllib.loads((repo / ".codex/config.toml").read_text())["mcp_servers"]["maf"]["command"] == "maf"


@NO_PLUGIN
@pytest.mark.parametrize("edited", [False, True])
def test_init_agents_takes_a_legacy_opencode_plugin_directory_as_maf(repo, cli, edited):
    text = b"// my own version\n" if edited else plugin_text()
    (repo / ".opencode/plugin").mkdir(parents=True)
    (repo / ".opencode/plugin/maf.js").write_bytes(text)
    result = cli(repo, "init", "--agents", "opencode")
    assert result.code == 0, result.err
    assert not (repo / ".opencode/plugins").exists()  # OpenCode would load a second copy
    assert (repo / ".opencode/plugin/maf.js").read_bytes() == text
    if edited:
        assert ".opencode/plugin/maf.js: differs from the shipped plugin" in result.out
    else:
        assert ".opencode/plugin/maf.js: unchanged (opencode edit hook)" in result.out
    listed = cli(repo, "init", "--agents", "opencode", "--json").json
    assert listed["files"][0] == {"path": ".opencode/plugin/maf.js", "status": "differs" if edited else "unchanged",
                                  "entries": [{"client": "opencode", "kind": "hook", "changed": False}]}


WRAPPED = ["uv run maf agent-hook claude", "MAF_DEBUG=1 maf agent-hook claude",
           "python -m maf_hooks.cli agent-hook claude", "python3 -m maf_hooks.cli agent-hook claude",
           "/path/to/venv/bin/maf agent-hook claude", "env X=1 maf agent-hook claude",
           "MAF_DEBUG='a b' nice -n 5 uvx --from maf-hooks maf agent-hook claude --verbose",
           "poetry run -- /usr/bin/python3.12 -u -m maf_hooks.cli agent-hook claude",
           "pipx run --spec maf-hooks maf agent-hook claude", "nohup env maf agent-hook claude"]


@pytest.mark.parametrize("command", WRAPPED)
def test_init_agents_takes_maf_run_through_a_launcher_as_installed(repo, cli, command):
    hooks = {"hooks": {
        event: [{**({"matcher": "Write|Edit|MultiEdit|NotebookEdit"} if event == "PreToolUse" else {}),
                 "hooks": [{"type": "command", "command": command}]}]
        for event in ("PreToolUse", "SessionStart", "SessionEnd")}}
    text = json.dumps(hooks, indent=2) + "\n"
    _write(repo, {".claude/settings.json": text})
    result = cli(repo, "init", "--agents", "claude")
    assert result.code == 0, result.err
    assert ".claude/settings.json: unchanged (claude edit hook)" in result.out
    assert (repo / ".claude/settings.json").read_text() == text


@pytest.mark.parametrize("command", [
    "python -m maf_hooks agent-hook claude", "echo maf agent-hook claude", "sh -c 'maf agent-hook claude'",
    "uv run maf agent-hook codex", "env X=1 notmaf agent-hook claude", "python -c maf agent-hook claude",
    "\"maf agent-hook claude", "uv run", "MAF_DEBUG=1",
])
def test_maf_lookalikes_through_launchers_are_not_maf(command):
    from maf_hooks.agent_setup.merge import runs_hook

    assert not runs_hook(command, "claude")
    assert runs_hook(WRAPPED[0], "claude") and runs_hook("C:\\maf\\maf.exe agent-hook claude", "claude")
