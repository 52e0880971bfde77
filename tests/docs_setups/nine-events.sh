# docs/audit.md: nine events (four leases taken and released, a fifth taken), never validated
for p in a b c d; do maf-lease acquire src/$p.py && maf-lease release src/$p.py; done && maf-lease acquire src/e.py
