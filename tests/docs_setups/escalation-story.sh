# docs/escalation.md#maf-escalate-list: the page's story told: bob's escalation from two refused commits, moved
# up and timed out (its times moved back in the database), codex-1's critical one resolved and a later one open
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
mkdir -p held && echo 'parser' > held/f.txt && git add held/f.txt
maf lease acquire held/ --agent alice --reason "parser work" >/dev/null
for attempt in 1 2; do MAF_AGENT_ID=bob maf-reservations >/dev/null 2>&1 || true; done
back() { sqlite3 .git/maf/runtime.db "UPDATE escalation_tracking SET created_at = created_at - $1*60000, level_started_at = level_started_at - $1*60000"; }
back 6 && maf escalate tick >/dev/null && back 60 && maf escalate tick >/dev/null
id=$(maf escalate --agent-id codex-1 --error-context "tests keep failing" --bead-id bd-42 --target codex-senior --priority critical --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["escalationId"])')
maf escalate resolve "$id" --agent codex-senior --note "flaky test quarantined" >/dev/null
maf escalate --agent-id codex-1 --error-context "tests keep failing" --bead-id bd-42 --target codex-senior >/dev/null
