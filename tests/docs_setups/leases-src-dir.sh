# docs/leases.md#patterns: a src/ directory to run a command from
mkdir -p src
