cat > maf.toml <<'EOF'
[reservation]
max_timeout_minutes = 9223372036854775807
EOF
