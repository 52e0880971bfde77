# docs/permissions.md#exit-codes: a table whose name is not a valid agent id
printf '[agents."ci/bot"]\ncan_force = false\n' > maf.toml
