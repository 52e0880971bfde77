maf-lease acquire src/app.py --agent bob
