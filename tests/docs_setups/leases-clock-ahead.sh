# docs/leases.md#behaviour-under-clock-skew: alice's lease on src/, written by a process whose clock is ten years ahead
python - <<'PY'
from maf_hooks.context import Context
from maf_hooks.core import leases
from maf_hooks.store.sqlite import open_file
from maf_hooks.timeutil import now_ms

TEN_YEARS = 10 * 365 * 24 * 3600 * 1000
store = open_file(Context(cwd=".").db_path, lambda: now_ms() + TEN_YEARS)
try:
    assert leases.acquire(store, "alice@example.com", ["src/"], 30 * 60 * 1000).granted
finally:
    store.close()
PY
