# docs/operations.md#retention-and-gc: alice and bob each took and released a lease (four events), carol's is open
maf-lease acquire src/app.py --agent alice && maf-lease release src/app.py --agent alice
maf-lease acquire docs/ --agent bob && maf-lease release docs/ --agent bob
sleep 1.2
maf-lease acquire lib/ --agent carol
