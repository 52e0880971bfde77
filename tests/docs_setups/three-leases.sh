# 3 leases (2 active), 4 events, an audit checkpoint at event 3
maf-lease acquire src/app.py && maf-lease acquire docs/ --agent bob && maf-lease acquire lib/ && maf audit validate && maf-lease release lib/
