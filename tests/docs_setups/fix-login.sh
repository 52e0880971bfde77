maf-lease acquire src/app.py --reason 'fix login'
