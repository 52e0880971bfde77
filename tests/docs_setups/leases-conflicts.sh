# docs/leases.md#conflicts: alice holds src/api/ (for an hour), bob holds src/*.py
maf-lease acquire src/api/ --reason 'refactor the API' --ttl 1h
maf-lease acquire 'src/*.py' --agent bob
