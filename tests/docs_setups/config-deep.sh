python3 -c 'print("a = " + "[" * 5000 + "]" * 5000)' > maf.toml
