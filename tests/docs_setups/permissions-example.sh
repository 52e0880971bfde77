# docs/permissions.md: the example configuration of the page
cat > maf.toml <<'TOML'
[agents.default]
can_force = false
can_override = false
max_lease_timeout_minutes = 60
allowed_targets = ["on-call", "lead"]

[agents.lead]
can_force = true
can_override = true
max_lease_timeout_minutes = 120

[agents.intern-bot]
can_acquire_lease = false
can_escalate = false
TOML
