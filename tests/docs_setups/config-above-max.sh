cat > maf.toml <<'EOF'
[reservation]
default_timeout_minutes = 200
EOF
