"""Schema version 13: fencing tokens (see :mod:`maf_hooks.store.sqlite.migrations`).

Every grant gets a token, a number the repository's store never gives twice and that only
increases, so that a resource can refuse a holder whose lease was taken over while it was paused.
The counter is a row of its own, not a maximum over the lease rows: removing, restoring or
importing leases never makes it issue a token again. Leases open before this version get tokens
in the order they were granted.
"""

V13_FENCING_TOKENS = (
    "CREATE TABLE lease_token_counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)",
    "ALTER TABLE file_leases ADD COLUMN token INTEGER",
    "UPDATE file_leases SET token = (SELECT COUNT(*) FROM file_leases older WHERE older.created_at < file_leases.created_at "
    "OR (older.created_at = file_leases.created_at AND older.task_id <= file_leases.task_id))",
    "INSERT INTO lease_token_counter (id, value) SELECT 1, COUNT(*) FROM file_leases",
    "CREATE UNIQUE INDEX idx_file_leases_token ON file_leases(token)",
)
