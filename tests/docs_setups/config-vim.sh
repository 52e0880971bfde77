cat > maf.toml <<'EOF'
[agent_hooks]
clients = ["claude", "vim"]
EOF
