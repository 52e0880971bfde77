"""Schema version 19: the conflict records lose their index on ``file_path``.

No query looks a record up by its path: the listings and the tallies read a window of time
(``idx_conflicts_created``, ``idx_conflicts_agent``), and the audit report groups that window by
path after reading it. The index only cost writes, and the most where it hurts: the same paths
refused again (an agent retrying its commit) are inserted beside their earlier records, so a
refused commit of 1,000 paths dirtied every leaf page of the index, about half of the pages it
wrote and SQLite then checkpointed when the hook's connection closed.
"""

V19_NO_PATH_INDEX = ("DROP INDEX IF EXISTS idx_conflicts_path",)
