# docs/preflight.md#validation: a maf.toml with two smoke tests, and bad.toml with five problems
cat > maf.toml <<'EOF'
[[preflight.smoke_tests]]
id = "unit"
type = "command"
run = "true"

[[preflight.smoke_tests]]
id = "api-health"
type = "api"
url = "http://127.0.0.1:8080/api/health"
EOF
cat > bad.toml <<'EOF'
[preflight.checks.environment]
required_vars = ["NODE-ENV"]

[[preflight.smoke_tests]]
id = "api-health"
type = "api"
url = "localhost:8080/health"
expected_status = "200"

[[preflight.smoke_tests]]
id = "api-health"
type = "command"
EOF
