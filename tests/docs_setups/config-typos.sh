cat > maf.toml <<'EOF'
[reservation]
default_timout_minutes = 20
max_timeout_minutes = "sixty"
conflict_strategy = "ask"

[storage]
path = "leases.db"

[locks]
enabled = true

[env.ci.reservation]
hook_mode = "loud"
EOF
