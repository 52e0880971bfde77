"""The schema version this code writes: the number of the last migration
(:mod:`maf_hooks.store.sqlite.migrations` refuses to load if they differ). Its own module so that
opening an up-to-date database (every hook run) need not load the migrations."""

SCHEMA_VERSION = 19
