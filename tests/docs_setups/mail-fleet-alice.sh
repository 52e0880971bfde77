# docs/mail.md#fleet-mode: the repository on the team's PostgreSQL server ($DOCS_PG_URL), where bob and
# carol have sent alice three messages (kept on the server, none in the local Maildir yet)
cat > maf.toml <<TOML
[storage]
url = "$DOCS_PG_URL"
repository = "github.com/team/app"
TOML
maf db migrate > /dev/null
maf mail send --agent bob --to alice --subject "src/api/ is yours" --body "I released it." > /dev/null
maf mail send --agent carol --to alice --subject "tests are green again" --body "All 412 pass on main." > /dev/null
maf mail send --agent bob --to alice --subject "review, please" --body "The login fix is on fix/login." > /dev/null
test ! -e .agent-mail/alice
