"""The ``[preflight]`` section of the configuration (imported by ``config_schema``: keep it light).

Shape::

    [preflight]                      timeout_seconds, retry_count, retry_backoff_seconds
    [preflight.checks.<id>]          one table per built-in check (BUILTIN_IDS), each with `enabled`
    [[preflight.smoke_tests]]        id, name, type, timeout_seconds, retry_count + the type's keys

Every problem is reported with its key path (``preflight.smoke_tests[2].expected_status: ...``):
types by the fields themselves, everything that spans keys by the ``validate`` hooks below.
"""

from __future__ import annotations

import re

from maf_hooks.config_schema_types import MAX_MINUTES, MAX_RETRIES, MAX_SECONDS, Field, ListOf, Section

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the git hook loads this module
if TYPE_CHECKING:
    from typing import Any

BUILTIN_IDS = ("python", "environment", "mcp", "database", "hooks", "reservations", "agents")
SMOKE_GROUP = "smoke"  # `--only smoke` / `--skip smoke`: every smoke test
SMOKE_TYPES = ("command", "integration", "performance", "api", "database", "file_system")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z"  # compiled (and cached by re) only when validating
_VAR = r"^[A-Za-z_][A-Za-z0-9_]*\Z"


class CommandField(Field):
    """A command: one string (run by the shell) or a list of strings (run as is, no shell)."""

    def __init__(self, **kwargs):
        super().__init__("str|list[str]", None, **kwargs)

    def check(self, value: Any, *, from_text: bool = False) -> tuple[bool, Any]:
        if isinstance(value, str) and value.strip():
            return True, value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value) and value[0]:
            return True, list(value)
        return False, f"expected a command: a non-empty string or a non-empty list of strings, got {value!r}"


# --- built-in checks --------------------------------------------------------------------------

def _enabled(env: str | None = None) -> Field:
    return Field("bool", True, env=env, help="run this check (false: reported as skipped)")


def _check_python(clean: dict, where: str) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement  # only when set
    from packaging.version import InvalidVersion, Version

    problems = []
    if "min_version" in clean:
        try:
            Version(clean["min_version"])
        except InvalidVersion:
            problems.append(f"{where}min_version: expected a version such as 3.9 or 3.8.0, "
                            f"got {clean['min_version']!r}")
    for index, text in enumerate(clean.get("required_packages", ())):
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            problems.append(f"{where}required_packages[{index}]: not a valid requirement {text!r} "
                            f"(expected a name with an optional version specifier, such as "
                            f"'requests>=2.28'): {exc}")
    return problems


def _check_environment(clean: dict, where: str) -> list[str]:
    problems = []
    for key in ("required_vars", "optional_vars"):
        for index, name in enumerate(clean.get(key, ())):
            if not re.match(_VAR, name):
                problems.append(f"{where}{key}[{index}]: {name!r} is not an environment variable name "
                                "(letters, digits and _, not starting with a digit)")
    both = sorted(set(clean.get("required_vars", ())) & set(clean.get("optional_vars", ())))
    if both:
        problems.append(f"{where}optional_vars: {', '.join(both)} also listed in required_vars")
    return problems


def _check_mcp(clean: dict, where: str) -> list[str]:
    return [
        f"{where}required_configs[{index}]: expected a file path, got an empty string"
        for index, path in enumerate(clean.get("required_configs", ())) if not path.strip()
    ]


CHECKS = Section({
    "python": Section({
        "enabled": _enabled("MAF_PREFLIGHT_PYTHON_CHECK"),
        "min_version": Field("str", "3.9", help="oldest Python accepted (PEP 440 version)"),
        "required_packages": Field("list[str]", [], help="requirements such as 'requests>=2.28'"),
        "interpreter": Field("str", None, help="check this interpreter (a path or a name on PATH) "
                                               "instead of the one running maf-preflight"),
    }, validate=_check_python),
    "environment": Section({
        "enabled": _enabled("MAF_PREFLIGHT_ENV_CHECK"),
        "required_vars": Field("list[str]", [], help="variables that must be set and non-empty"),
        "optional_vars": Field("list[str]", [], help="variables reported as present or missing"),
    }, validate=_check_environment),
    "mcp": Section({
        "enabled": _enabled("MAF_PREFLIGHT_MCP_CHECK"),
        "required_configs": Field("list[str]", [], help="MCP configuration files (relative to the "
                                                        "repository, or absolute; ~ expanded), or client "
                                                        "names (claude, codex, ...) for their project files"),
    }, validate=_check_mcp),
    "database": Section({
        "enabled": _enabled(),
        "thorough": Field("bool", False, help="the full integrity check (SQLite's integrity_check, which also "
                                              "compares every index with its table) instead of quick_check; "
                                              "also `maf-preflight --thorough`"),
    }),
    "hooks": Section({
        "enabled": _enabled(),
        "required": Field("bool", False, help="missing hooks fail the check instead of warning"),
    }),
    "agents": Section({
        "enabled": _enabled(),
        "required": Field("bool", False, help="a client of [agent_hooks] clients without its edit hook or "
                                              "MCP entry fails the check instead of warning"),
    }),
    "reservations": Section({
        "enabled": _enabled(),
        "expiry_warning_minutes": Field("int", 10, minimum=0, maximum=MAX_MINUTES,
                                        help="warn about your own leases ending within this many minutes"),
        "stale_after_minutes": Field("int", 60, minimum=1, maximum=MAX_MINUTES,
                                     help="warn about leases whose holder sent no heartbeat for this long"),
    }),
})


# --- smoke tests ------------------------------------------------------------------------------

COMMON_KEYS = ("id", "name", "type", "enabled", "timeout_seconds", "retry_count")
TYPE_KEYS = {
    "command": ("run", "cwd", "expect_exit", "expect_stdout"),
    "performance": ("run", "cwd", "expect_exit", "expect_stdout", "max_duration_ms"),
    "api": ("url", "method", "expected_status", "expect_body"),
    "database": ("sqlite", "query", "expected_rows"),
    "file_system": ("exists", "writable"),
}
TYPE_KEYS["integration"] = TYPE_KEYS["command"]
REQUIRED_KEYS = {
    "command": ("run",),
    "integration": ("run",),
    "performance": ("run", "max_duration_ms"),
    "api": ("url",),
    "database": ("sqlite", "query"),
    "file_system": (),
}


def _check_smoke_test(clean: dict, where: str) -> list[str]:
    problems = []
    if "id" not in clean:
        problems.append(f"{where}id: required (a short name for --only/--skip, such as 'api-health')")
    elif not re.match(_ID, clean["id"]):
        problems.append(f"{where}id: {clean['id']!r} is not a valid id (1-64 letters, digits, '_', '.', "
                        "'-', starting with a letter or digit)")
    kind = clean.get("type")
    if kind is None:
        problems.append(f"{where}type: required, one of {', '.join(SMOKE_TYPES)}")
        return problems
    if kind not in SMOKE_TYPES:
        problems.append(f"{where}type: expected one of {', '.join(SMOKE_TYPES)}, got {kind!r}")
        return problems
    allowed = set(COMMON_KEYS) | set(TYPE_KEYS[kind])
    for key in sorted(set(clean) - allowed):
        users = [t for t, keys in TYPE_KEYS.items() if key in keys and t != "integration"]
        problems.append(f"{where}{key}: not used by type {kind!r} (it belongs to type {' or '.join(users)})")
    for key in REQUIRED_KEYS[kind]:
        if key not in clean:
            problems.append(f"{where}{key}: required for type {kind!r}")
    if kind == "file_system" and not clean.get("exists") and not clean.get("writable"):
        problems.append(f"{where}exists: type 'file_system' needs at least one path in exists or writable")
    for key in ("expect_stdout", "expect_body"):
        if key in clean:
            try:
                re.compile(clean[key])
            except re.error as exc:
                problems.append(f"{where}{key}: not a valid regular expression ({exc})")
    if "url" in clean:
        from urllib.parse import urlsplit

        parts = urlsplit(clean["url"])
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"{where}url: expected an http:// or https:// URL, got {clean['url']!r}")
    if "query" in clean and not clean["query"].strip():
        problems.append(f"{where}query: expected an SQL query, got an empty string")
    for key in ("exists", "writable"):
        for index, path in enumerate(clean.get(key, ())):
            if not path.strip():
                problems.append(f"{where}{key}[{index}]: expected a path, got an empty string")
    return problems


SMOKE_TEST = Section({
    "id": Field("str", None, help="short unique name, used by --only and --skip"),
    "name": Field("str", None, help="shown in reports (default: the id)"),
    "type": Field("str", None, help="what kind of test: " + ", ".join(SMOKE_TYPES)),
    "enabled": Field("bool", True, help="false: reported as skipped"),
    "timeout_seconds": Field("float", None, minimum=0.001, maximum=MAX_SECONDS, help="default: preflight.timeout_seconds"),
    "retry_count": Field("int", None, minimum=0, maximum=MAX_RETRIES, help="default: preflight.retry_count"),
    # command, integration, performance
    "run": CommandField(help="a shell command line, or a list: the program and its arguments"),
    "cwd": Field("str", None, help="working directory, relative to the repository root"),
    "expect_exit": Field("int", 0, minimum=0, maximum=255, help="expected exit status"),
    "expect_stdout": Field("str", None, help="a regular expression the standard output must match"),
    "max_duration_ms": Field("int", None, minimum=1, maximum=int(MAX_SECONDS) * 1000, help="performance: slowest acceptable run"),
    # api
    "url": Field("str", None, help="http:// or https:// URL"),
    "method": Field("str", "GET", choices=HTTP_METHODS, help="HTTP method"),
    "expected_status": Field("int", 200, minimum=100, maximum=599, help="expected HTTP status"),
    "expect_body": Field("str", None, help="a regular expression the response body must match"),
    # database
    "sqlite": Field("str", None, help="SQLite file, relative to the repository root (opened read-only)"),
    "query": Field("str", None, help="SQL query to run"),
    "expected_rows": Field("int", None, minimum=0, maximum=2**63 - 1, help="number of rows the query must return"),
    # file_system
    "exists": Field("list[str]", [], help="paths that must exist"),
    "writable": Field("list[str]", [], help="paths that must exist and be writable"),
}, validate=_check_smoke_test)


def _check_preflight(clean: dict, where: str) -> list[str]:
    problems = []
    seen: dict[str, int] = {}
    for index, test in enumerate(clean.get("smoke_tests", ())):
        test_id = test.get("id")
        if not isinstance(test_id, str):
            continue
        if test_id in BUILTIN_IDS or test_id == SMOKE_GROUP:
            problems.append(f"{where}smoke_tests[{index}].id: {test_id!r} is reserved "
                            f"(built-in checks: {', '.join(BUILTIN_IDS)}; '{SMOKE_GROUP}' means every smoke test)")
        elif test_id in seen:
            problems.append(f"{where}smoke_tests[{index}].id: duplicate id {test_id!r} "
                            f"(also smoke_tests[{seen[test_id]}])")
        else:
            seen[test_id] = index
    return problems


PREFLIGHT = Section({
    "timeout_seconds": Field("float", 30.0, env="MAF_PREFLIGHT_TIMEOUT", minimum=0.001,
                             maximum=MAX_SECONDS,
                                    help="default timeout of a check or smoke test"),
    "retry_count": Field("int", 3, env="MAF_PREFLIGHT_RETRY_COUNT", minimum=0,
                         maximum=MAX_RETRIES,
                         help="default number of retries of a failed smoke test"),
    "retry_backoff_seconds": Field("float", 0.5, minimum=0, maximum=3600,
                                          help="wait before the first retry; doubled before each next one"),
    "checks": CHECKS,
    "smoke_tests": ListOf(SMOKE_TEST),
}, validate=_check_preflight)


def smoke_settings(test: dict) -> dict:
    """One smoke test with the defaults of its keys filled in (``name`` defaults to the id)."""
    values = {key: field.default for key, field in SMOKE_TEST.fields.items()
              if key in COMMON_KEYS or key in TYPE_KEYS.get(str(test.get("type")), ())}
    values.update(test)
    values["name"] = values.get("name") or values.get("id")
    return values
