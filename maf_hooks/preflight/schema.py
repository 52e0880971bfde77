"""The ``[preflight]`` section of the configuration (imported by ``config_schema``: keep it light)."""

from __future__ import annotations

from maf_hooks.config_schema_types import Field, Section

PREFLIGHT = Section({
    "timeout_seconds": Field("float", 30.0, env="MAF_PREFLIGHT_TIMEOUT", minimum=0.001,
                             help="default timeout of a check or smoke test"),
    "retry_count": Field("int", 3, env="MAF_PREFLIGHT_RETRY_COUNT", minimum=0,
                         help="default number of retries of a failed smoke test"),
})
