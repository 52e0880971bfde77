# docs/completion.md#ids: two active leases whose ids complete
maf-lease acquire src/app.py
maf-lease acquire docs/ --agent bob
