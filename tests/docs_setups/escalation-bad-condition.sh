# docs/escalation.md#validation-errors: a path whose fourth trigger names an unknown condition
cat > maf.toml <<'TOML'
[escalation.targets.on-call-engineer]

[[escalation.paths]]
id = "critical-system-escalation"
name = "Critical System Escalation Path"

[[escalation.paths.trigger_conditions]]
condition = "reservation_conflict"
threshold = 2

[[escalation.paths.trigger_conditions]]
condition = "preflight_failure"
threshold = 3

[[escalation.paths.trigger_conditions]]
condition = "override_used"

[[escalation.paths.trigger_conditions]]
condition = "system_down"

[[escalation.paths.steps]]
level = 1
target = "on-call-engineer"
TOML
