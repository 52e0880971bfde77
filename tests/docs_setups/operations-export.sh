# docs/operations.md#export-and-import: alice holds src/app.py and sent a heartbeat, bob took and released docs/;
# ../demo-copy is a second repository with no store yet
maf-lease acquire src/app.py --reason 'fix login'
maf-lease acquire docs/ --agent bob && maf-lease release docs/ --agent bob
maf-lease heartbeat --status 'fixing the login form'
git init -q -b main ../demo-copy
