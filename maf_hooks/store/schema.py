"""What a store says about its own schema and health (no SQL): :meth:`Store.schema` and
:meth:`Store.health` answer with these."""

from __future__ import annotations

from collections import namedtuple

# version: the schema version of the data; latest: the newest this code knows; applied: the
# migrations recorded, as (version, name, applied_at) tuples, oldest first
Schema = namedtuple("Schema", ["version", "latest", "applied"])

# What `maf-preflight`'s database check judges. journal_mode: None where the backend has no such
# setting; integrity: the page check's lines (["ok"] when sound; SQLite's quick_check, or its
# integrity_check when asked for the full check), None when not checked (or kept by a server);
# foreign_key_tables: the table of each row whose foreign key points nowhere, None when not checked.
Health = namedtuple("Health", ["schema", "journal_mode", "integrity", "foreign_key_tables"])
