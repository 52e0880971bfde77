"""Schema version 15: the audit chain's checkpoint (see :mod:`maf_hooks.store.sqlite.migrations`).

``maf audit validate`` keeps one row: the newest event it verified from event 1, that event's
hash, how many events were verified and when. The next validation checks that event and the
count again and then only the events added since (docs/audit.md). Triggers set the checkpoint
aside whenever a verified event is changed, removed or an event is inserted at or below it,
whoever writes (maf-hooks never does; an operator's SQL would): the next validation is then a
full one. Changes that bypass SQL (the file edited, a trigger dropped) are found by ``--full``.
"""

_FORGET = "BEGIN DELETE FROM audit_checkpoint WHERE event_id >= {row}.id; END"

V15_AUDIT_CHECKPOINT = (
    "CREATE TABLE audit_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), event_id INTEGER NOT NULL, "
    "hash TEXT NOT NULL, count INTEGER NOT NULL, verified_at INTEGER NOT NULL)",
    f"CREATE TRIGGER audit_checkpoint_event_update AFTER UPDATE ON events {_FORGET.format(row='OLD')}",
    f"CREATE TRIGGER audit_checkpoint_event_delete AFTER DELETE ON events {_FORGET.format(row='OLD')}",
    f"CREATE TRIGGER audit_checkpoint_event_insert AFTER INSERT ON events {_FORGET.format(row='NEW')}",
)
