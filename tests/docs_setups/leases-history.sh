# docs/leases.md#list: the three leases of the `acquire` example, bob's takeover, carol's release
maf-lease acquire src/api/ --reason 'refactor the API'
maf-lease acquire 'docs/**/*.md' --ttl 2h --shared --agent bob
maf-lease acquire docs/guide.md --shared --agent carol
maf-lease acquire src/api/client.py --agent bob --force --reason hotfix
maf-lease release docs/guide.md --agent carol
