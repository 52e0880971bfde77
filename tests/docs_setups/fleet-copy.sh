# docs/fleet.md#moving-between-backends-maf-db-copy: a clone of github.com/team/app on the SQLite default,
# with its history: alice holds src/app.py and sent a heartbeat, bob took and released docs/ and holds
# src/api/; alice's commit of src/api/routes.py was refused (a conflict, its mail delivered to bob) and so
# was her preflight run; bob sent alice a message.
# The team's PostgreSQL server ($DOCS_PG_URL) has an empty database.
git remote add origin https://github.com/team/app.git
maf-lease acquire src/app.py --reason 'fix login' > /dev/null
maf-lease acquire docs/ --agent bob > /dev/null && maf-lease release docs/ --agent bob > /dev/null
maf-lease acquire src/api/ --agent bob --reason 'refactor the API' > /dev/null
mkdir -p src/api && echo 'routes = []' > src/api/routes.py && git add src/api/routes.py
{ maf-reservations > /dev/null 2>&1 || test $? = 1; }
maf-lease heartbeat --status 'fixing the login form' > /dev/null
{ maf-preflight > /dev/null 2>&1 || test $? = 1; }
maf mail send --agent bob --to alice --subject "src/api/ is mine until noon" --body "Then it is yours." > /dev/null
