"""The repo-local SQLite lease database: where it lives, connections, migrations."""
