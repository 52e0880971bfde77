# docs/escalation.md: the example configuration (fixtures/escalation/maf.toml, which the page shows in full) and a file to commit
cp "$DOCS_PROJECT/fixtures/escalation/maf.toml" maf.toml
mkdir -p held && echo 'parser' > held/f.txt
