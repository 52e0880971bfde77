# docs/fleet.md#setting-a-team-up-once-per-repository: a clone of github.com/team/app whose maf.toml names
# the team's PostgreSQL server ($DOCS_PG_URL, an empty database), before `maf init`
git remote add origin https://github.com/team/app.git
cat > maf.toml <<TOML
[storage]
url = "$DOCS_PG_URL"
TOML
