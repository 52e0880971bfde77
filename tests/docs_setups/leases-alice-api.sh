# docs/leases.md#commands: alice holds src/api/
maf-lease acquire src/api/ --reason 'refactor the API'
