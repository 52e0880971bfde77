mkdir -p ops && cat > ops/maf.json <<'EOF'
{
  "reservation": {"defaultTimeoutMinutes": 45, "conflictStrategy": "warn"},
  "storage": {"dbPath": "var/maf.db"},
  "env": {"ci": {"reservation": {"maxTimeoutMinutes": 60}}}
}
EOF
