# docs/escalation.md#validation-errors: levels 1, 2 and 4 (max 3), the last one for an unknown target
cat > maf.toml <<'TOML'
[escalation.targets.minimax-debug-1]
[escalation.targets.codex-senior]
[escalation.targets.on-call-engineer]
[escalation.targets.engineering-lead]
[escalation.targets.vp-engineering]

[[escalation.paths]]
id = "critical-system-escalation"
name = "Critical System Escalation Path"
max_escalation_level = 3

[[escalation.paths.trigger_conditions]]
condition = "reservation_conflict"
threshold = 2

[[escalation.paths.steps]]
level = 1
target = "on-call-engineer"

[[escalation.paths.steps]]
level = 2
target = "engineering-lead"

[[escalation.paths.steps]]
level = 4
target = "nobody"
TOML
