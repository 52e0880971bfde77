# docs/leases.md#commands: the three leases of the `acquire` example
maf-lease acquire src/api/ --reason 'refactor the API'
maf-lease acquire 'docs/**/*.md' --ttl 2h --shared --agent bob
maf-lease acquire docs/guide.md --shared --agent carol
