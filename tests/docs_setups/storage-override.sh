# docs/storage.md#events: the page's seven events (alice's lease taken over by bob, carol's expired, alice's
# docs/ taken and released), then alice's commit of src/app.py refused by the hook and let through with an override
maf-lease acquire src/app.py --reason 'fix login'
maf-lease acquire src/app.py --agent bob --force
maf-lease acquire 'lib/**' --ttl 2s --agent carol
sleep 3
maf-lease acquire docs/ && maf-lease release docs/
printf '#!/bin/sh\nexec maf-reservations\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit
mkdir -p src && echo 'x = 1' > src/app.py && git add src/app.py
if git commit -qm 'fix login' 2>/dev/null; then exit 1; fi  # refused: bob holds src/app.py
MAF_RESERVATION_OVERRIDE=1 MAF_OVERRIDE_REASON='bob is away; agreed in chat' git commit -qm 'fix login' 2>/dev/null
