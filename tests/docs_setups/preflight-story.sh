# docs/preflight.md: two required variables, one MCP file, a smoke test, bob's lease on a changed file
git config maf.agentId alice
cat > maf.toml <<'EOF'
[preflight.checks.environment]
required_vars = ["HOME", "PATH"]

[preflight.checks.mcp]
required_configs = [".mcp.json"]

[[preflight.smoke_tests]]
id = "unit"
name = "Unit tests"
type = "command"
run = "true"
EOF
echo '{"mcpServers": {"maf": {"command": "maf-mcp"}}}' > .mcp.json
git add maf.toml .mcp.json && git commit -qm 'first commit'
maf-lease acquire src/api.py --agent bob
mkdir -p src && echo 'x = 1' > src/api.py
