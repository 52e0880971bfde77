# docs/escalation.md#maf-escalate-list: the page's story told: bob's escalation from two refused commits, moved
# up and timed out (its times moved back in the database), codex-1's critical one resolved and a later one open
cp "$DOCS_PROJECT/fixtures/escalation/maf.toml" maf.toml
mkdir -p held && echo 'parser' > held/f.txt && git add held/f.txt
maf lease acquire held/ --agent alice --reason "parser work" >/dev/null
for attempt in 1 2; do MAF_AGENT_ID=bob maf-reservations >/dev/null 2>&1 || true; done
back() { sqlite3 .git/maf/runtime.db "UPDATE escalation_tracking SET created_at = created_at - $1*60000, level_started_at = level_started_at - $1*60000"; }
back 6 && maf escalate tick >/dev/null && back 60 && maf escalate tick >/dev/null
id=$(maf escalate --agent-id codex-1 --error-context "tests keep failing" --bead-id bd-42 --target codex-senior --priority critical --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["escalationId"])')
maf escalate resolve "$id" --agent codex-senior --note "flaky test quarantined" >/dev/null
maf escalate --agent-id codex-1 --error-context "tests keep failing" --bead-id bd-42 --target codex-senior >/dev/null
