# docs/escalation.md#delivery: the example configuration, where codex-senior also has an email address and nothing listens on the SMTP port
python3 -c 'import socket, sys; sys.exit(socket.socket().connect_ex(("127.0.0.1", 2525)) == 0 and "something listens on 127.0.0.1:2525")'
cat > maf.toml <<'EOF'
[escalation]
default_priority = "high"

[escalation.smtp]
host = "127.0.0.1"
port = 2525
from_address = "maf-hooks@localhost"
timeout_seconds = 5

[escalation.targets.minimax-debug-1]
enabled = true
max_retries = 3
timeout_seconds = 30

[escalation.targets.codex-senior]
email = "senior@example.com"
enabled = true
max_retries = 2
timeout_seconds = 60

[escalation.targets.on-call-engineer]
[escalation.targets.engineering-lead]
[escalation.targets.vp-engineering]

[[escalation.paths]]
id = "critical-system-escalation"
name = "Critical System Escalation Path"
description = "Repeated conflicts, failing preflights, overrides and takeovers go up three levels."
timeout_minutes = 60
max_escalation_level = 3
active = true

[[escalation.paths.trigger_conditions]]
condition = "reservation_conflict"
threshold = 2
window_minutes = 60
operator = "gte"

[[escalation.paths.trigger_conditions]]
condition = "preflight_failure"
threshold = 3
window_minutes = 60
operator = "gte"

[[escalation.paths.trigger_conditions]]
condition = "override_used"
threshold = 1
window_minutes = 60
operator = "gte"

[[escalation.paths.trigger_conditions]]
condition = "lease_takeover"
threshold = 1
window_minutes = 60
operator = "gte"

[[escalation.paths.steps]]
level = 1
action = "notify"
target = "on-call-engineer"
timeout_minutes = 5

[[escalation.paths.steps]]
level = 2
action = "escalate"
target = "engineering-lead"
timeout_minutes = 15

[[escalation.paths.steps]]
level = 3
action = "escalate"
target = "vp-engineering"
timeout_minutes = 30
EOF
