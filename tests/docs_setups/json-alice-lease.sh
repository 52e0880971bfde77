# docs/json.md: alice holds a lease and has never sent a heartbeat
maf-lease acquire src/app.py --agent alice
