printf '# maf\n\n[escalation rules]\n' > maf.toml
