# docs/operations.md#metrics-dashboard-and-alerts: alice leases src/api/** and src/db.py; bob leases docs/ shared
# for 8 minutes and sends a heartbeat; bob's commit of src/api/v1.py is refused by the pre-commit hook, then let
# through with an override; bob's agent (Claude Code's edit hook) writes a free file
maf-lease acquire 'src/api/**' src/db.py --agent alice
maf-lease acquire docs/ --shared --ttl 8m --agent bob
maf-lease heartbeat --agent bob --status 'writing the docs'
printf '#!/bin/sh\nexec maf-reservations "$@"\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit
mkdir -p src/api && echo 'v = 1' > src/api/v1.py && git add src/api/v1.py
if MAF_AGENT_ID=bob git commit -qm 'v1 endpoint' 2>/dev/null; then exit 1; fi
MAF_AGENT_ID=bob MAF_RESERVATION_OVERRIDE=1 MAF_OVERRIDE_REASON='hotfix agreed with alice' git commit -qm 'v1 endpoint' 2>/dev/null
printf '{"session_id": "s1", "cwd": "%s", "hook_event_name": "PreToolUse", "tool_name": "Write", "tool_input": {"file_path": "%s/notes.txt", "content": "x"}}' "$PWD" "$PWD" \
  | MAF_AGENT_ID=bob maf agent-hook claude
