"""The command line: click commands that parse, call the core, and print. Nothing else."""
