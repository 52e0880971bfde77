# docs/audit.md#after-maf-db-gc-the-anchor: four events older than the cut-off, a fifth newer, then a gc
# that prunes the four (anchor event 6); the sleep keeps the fifth well inside the 5 seconds kept
for p in a b; do maf-lease acquire src/$p.py && maf-lease release src/$p.py; done
sleep 7
maf-lease acquire src/c.py && maf db gc --older-than 5s
