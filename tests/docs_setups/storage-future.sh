# docs/storage.md#what-is-refused: a lease database a newer maf-hooks has migrated (schema version 19;
# future.orig is a copy taken before the commands)
sqlite3 future.db 'CREATE TABLE newer_things (id INTEGER PRIMARY KEY); PRAGMA user_version = 20;'
cp future.db future.orig
