# docs/agents.md#setting-up-a-client: an MCP file with another server, and a Codex configuration that already runs maf's
cat > .mcp.json <<'JSON'
{
  "mcpServers": {
    "docs": {"command": "docs-server"}
  }
}
JSON
mkdir -p .codex && cat > .codex/config.toml <<'TOML'
# Codex settings of this project
[mcp_servers.maf]
command = "maf"
args = ["mcp"]
TOML
