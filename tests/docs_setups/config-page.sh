cat > maf.toml <<'EOF'
[reservation]
default_timeout_minutes = 20
conflict_strategy = "block"

[storage]
db_path = "var/maf/leases.db"

[env.ci.reservation]
hook_mode = "warn"
max_timeout_minutes = 60
EOF
