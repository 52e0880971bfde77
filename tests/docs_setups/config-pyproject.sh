cat > pyproject.toml <<'EOF'
[tool.maf.reservation]
default_timeout_minutes = 45

[tool.maf.env.ci.reservation]
conflict_strategy = "warn"
EOF
