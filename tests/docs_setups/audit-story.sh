# docs/audit.md: alice leases src/parser/; bob leases and releases docs/; bob's commit of src/parser/a.py
# is refused, then let through with an override; carol takes src/parser/ over; bob is escalated to lead
# for bd-42 by hand; the chain is validated: nine events, mail to alice (the conflict) and to lead (the escalation)
maf-lease acquire src/parser/ --agent alice
maf-lease acquire docs/ --agent bob
maf-lease release docs/ --agent bob
printf '#!/bin/sh\nexec maf-reservations\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit
mkdir -p src/parser && echo 'x = 1' > src/parser/a.py && git add src/parser/a.py
if MAF_AGENT_ID=bob git commit -qm 'fix the parser' 2>/dev/null; then exit 1; fi  # refused
MAF_AGENT_ID=bob MAF_RESERVATION_OVERRIDE=1 MAF_OVERRIDE_REASON='prod is down' git commit -qm 'fix the parser' 2>/dev/null
maf-lease acquire src/parser/ --agent carol --force
maf escalate --agent-id bob --error-context 'the parser tests fail' --bead-id bd-42 --target lead
maf audit validate
