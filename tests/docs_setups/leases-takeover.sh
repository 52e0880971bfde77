# docs/leases.md#release: the three leases of the `acquire` example, then bob takes src/api/client.py over
maf-lease acquire src/api/ --reason 'refactor the API'
maf-lease acquire 'docs/**/*.md' --ttl 2h --shared --agent bob
maf-lease acquire docs/guide.md --shared --agent carol
maf-lease acquire src/api/client.py --agent bob --force --reason hotfix
