"""`maf-preflight`: environment checks and smoke tests before an agent or a CI job starts work."""
