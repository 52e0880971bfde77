# docs/operations.md#importing-an-earlier-maf-installation: an earlier runtime's .maf/ (the tables the page shows):
# src/app.py in both files (the reservation, ending last, is taken), docs/guide.md expired two hours ago,
# lib/db.py for two more hours, a lease on a path outside the repository, two heartbeats and one queued message
now=$(date +%s%3N)
mkdir .maf
sqlite3 .maf/reservations.db <<SQL
CREATE TABLE file_reservations (id INTEGER PRIMARY KEY AUTOINCREMENT, file_path TEXT NOT NULL,
  agent_id TEXT NOT NULL, reason TEXT, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  released_at INTEGER);
INSERT INTO file_reservations (file_path, agent_id, reason, created_at, expires_at) VALUES
  ('docs/guide.md', 'agent-002', NULL, $now - 3 * 3600000, $now - 2 * 3600000 - 1000),
  ('src/app.py', 'agent-001', 'fix login', $now - 1200000, $now + 3600000);
SQL
sqlite3 .maf/runtime.db <<SQL
CREATE TABLE runtime_leases (file_path TEXT PRIMARY KEY, agent_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL, created_at INTEGER);
CREATE TABLE runtime_heartbeats (agent_id TEXT PRIMARY KEY, status TEXT, context_json TEXT,
  last_seen INTEGER NOT NULL);
CREATE TABLE runtime_message_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, agent_id TEXT,
  message_json TEXT NOT NULL, created_at INTEGER NOT NULL);
INSERT INTO runtime_leases VALUES ('src/app.py', 'agent-001', $now + 1800000, $now - 1000000),
  ('lib/db.py', 'agent-003', $now + 7200000, $now - 600000),
  ('/opt/shared/x.py', 'agent-004', $now + 3600000, $now - 600000);
INSERT INTO runtime_heartbeats VALUES ('agent-001', 'working', '{"task": "login"}', $now - 60000),
  ('agent-003', 'idle', NULL, $now - 120000);
INSERT INTO runtime_message_queue (agent_id, message_json, created_at)
  VALUES ('agent-003', '{"type": "review", "body": "please look at lib/db.py"}', $now - 30000);
SQL
