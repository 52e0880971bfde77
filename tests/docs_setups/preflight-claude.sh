printf '[agent_hooks]\nclients = ["claude"]\n' > maf.toml
