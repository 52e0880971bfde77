"""The shape of the configuration: every section, key, type, default and environment variable.

Later sections (mail, preflight, escalation, agents) are declared here too, so that one table
answers "which keys exist" for validation, suggestions and ``maf config show``.
"""

from __future__ import annotations

from maf_hooks.config_schema_types import MAX_MINUTES, MAX_RETRIES, MAX_SECONDS, Field, ListOf, MapOf, Section
from maf_hooks.preflight.schema import PREFLIGHT
from maf_hooks.store import runtime

RESERVATION = Section({
    "default_timeout_minutes": Field("int", 30, env="MAF_RESERVATION_DEFAULT_TIMEOUT", minimum=1,
                                     maximum=MAX_MINUTES,
                                     help="lease length when no --ttl/--timeout is given"),
    "max_timeout_minutes": Field("int", 120, env="MAF_RESERVATION_MAX_TIMEOUT", minimum=1,
                                 maximum=MAX_MINUTES,
                                 help="longest lease anyone may ask for"),
    "conflict_strategy": Field("str", "block", choices=("block", "warn"),
                               env="MAF_RESERVATION_CONFLICT_STRATEGY",
                               help="block: a conflicting acquire is refused; warn: granted with a warning"),
    "hook_mode": Field("str", "strict", choices=("strict", "warn", "off"), env="MAF_RESERVATION_HOOK_MODE",
                       help="what the commit and push hooks do on a conflict"),
    "on_error": Field("str", "block", choices=("block", "allow"),
                      help="what the hooks do when they cannot decide (block = fail closed)"),
    "allow_override": Field("bool", True, help="whether MAF_RESERVATION_OVERRIDE is honoured"),
    "require_override_reason": Field("bool", False, help="refuse an override without MAF_OVERRIDE_REASON"),
})

def _storage(clean: dict, where: str) -> list[str]:
    problems = []
    text = clean.get("file_mode")
    if text is not None and file_mode(text) is None:
        problems.append(f"{where}file_mode: expected an octal mode of three or four digits that lets the owner "
                        f"read and write, such as \"0600\" or \"0660\" (no setuid, setgid or sticky bit), "
                        f"got {text!r}")
    return problems


def _url_problem(text: str) -> str | None:
    """``storage.url``'s own rule, for the file and ``MAF_DB_URL`` alike (no password in it)."""
    from maf_hooks.store.url import url_problem

    return url_problem(text)


def file_mode(text: str) -> int | None:
    """The permission bits of a ``storage.file_mode`` string (``"0660"`` -> 0o660), or None when
    it is not an octal mode giving the owner read and write and no setuid/setgid/sticky bit."""
    import re

    if not re.match(r"^0?[0-7]{3}\Z", text):
        return None
    mode = int(text, 8)
    return mode if mode & 0o600 == 0o600 else None


RETENTION_MAX_DAYS = 36_500

RETENTION = Section({
    "leases_days": Field("int", 30, minimum=0, maximum=RETENTION_MAX_DAYS,
                         help="`maf db gc` deletes leases that ended this many days ago (0: kept forever)"),
    "conflicts_days": Field("int", 90, minimum=0, maximum=RETENTION_MAX_DAYS,
                            help="`maf db gc` deletes conflict records this old (0: kept forever)"),
    "mail_days": Field("int", 30, minimum=0, maximum=RETENTION_MAX_DAYS,
                       help="`maf db gc` deletes delivered outbox mail, the mail log and fleet mail this old "
                            "(never Maildir files; 0: kept forever)"),
    "events_days": Field("int", 365, minimum=0, maximum=RETENTION_MAX_DAYS,
                         help="`maf db gc` prunes audit events this old, leaving an anchor (0: kept forever)"),
})

STORAGE = Section({
    "runtime": Field("str", None, env="MAF_RUNTIME", old_env=("MAF_RUNTIME_MODE",),
                     choices=runtime.RUNTIMES, problem=runtime.problem,
                     help="the kind of lease store: sqlite (a file), postgres (the server of storage.url) "
                          "or memory (private to one process; the hooks refuse it). Unset: postgres when "
                          "storage.url is set, else sqlite"),
    "db_path": Field("str", None, env="MAF_DB_PATH",
                     help="lease database path, relative to the repository root"),
    "file_mode": Field("str", "0600", help="permissions of a lease database file when it is created "
                                           "(octal; \"0660\" to share it with a group)"),
    "url": Field("str", None, env="MAF_DB_URL", problem=_url_problem,
                 help="a postgresql:// URL: one shared lease store for clones on several machines "
                      "(no password in it: PGPASSWORD, ~/.pgpass or password_env)"),
    "repository": Field("str", None, env="MAF_DB_REPOSITORY",
                        help="this repository's key on a shared server (default: the origin remote's "
                             "normalised URL)"),
    "password_env": Field("str", None, help="the environment variable that holds the server's password"),
    "connect_timeout_seconds": Field("float", 3.0, minimum=0.1, maximum=MAX_SECONDS,
                                     help="how long to wait for the server to accept a connection"),
    "statement_timeout_seconds": Field("float", 5.0, minimum=0.1, maximum=MAX_SECONDS,
                                       help="how long one statement (or lock wait) may take on the server"),
    "retention": RETENTION,
}, validate=_storage)

MAIL = Section({
    "root": Field("str", None, env="MAF_AGENT_MAIL_ROOT",
                  help="mail root, relative to the main worktree (default .agent-mail)"),
    "dedup_minutes": Field("int", 10, minimum=0, maximum=MAX_MINUTES,
                           help="the same conflict mail is not sent twice within this many minutes"),
})

def _agent_key(name: str):
    from maf_hooks.identity import is_valid_agent_id

    if name == "default" or is_valid_agent_id(name):
        return None
    return "not a valid agent id (letters, digits and '._@+-', not starting with '.' or '-')"


def _target_key(name: str):
    from maf_hooks.identity import is_valid_agent_id

    return None if is_valid_agent_id(name) else "a target name must be a valid agent id (it names a mailbox)"


def _url(value, where, schemes=("http", "https")):
    if value is not None and not any(value.startswith(s + "://") for s in schemes):
        return [f"{where}: expected an {' or '.join(schemes)} URL, got {value!r}"]
    return []


SMTP = Section({
    "host": Field("str", None, help="SMTP server for targets with an email address"),
    "port": Field("int", 25, minimum=1, maximum=65535),
    "starttls": Field("bool", False),
    "username": Field("str", None),
    "password_env": Field("str", None, help="name of the environment variable holding the password"),
    "from_address": Field("str", "maf-hooks@localhost"),
    "timeout_seconds": Field("float", 10.0, minimum=0.001, maximum=MAX_SECONDS),
})

TARGET = Section({
    "enabled": Field("bool", True),
    "email": Field("str", None, help="also deliver by SMTP to this address"),
    "webhook": Field("str", None, help="also POST the request as JSON to this http(s) URL"),
    "max_retries": Field("int", 3, minimum=0, maximum=MAX_RETRIES),
    "timeout_seconds": Field("float", 30.0, minimum=0.001, maximum=MAX_SECONDS),
}, validate=lambda clean, where: _url(clean.get("webhook"), where + "webhook"))

MAX_LEVELS = 100  # escalation levels of one path

CONDITIONS = ("reservation_conflict", "preflight_failure", "override_used", "lease_takeover")

TRIGGER = Section({
    "condition": Field("str", None, choices=CONDITIONS),
    "threshold": Field("int", 1, minimum=0, maximum=1_000_000),
    "window_minutes": Field("int", 60, minimum=1, maximum=MAX_MINUTES),
    "operator": Field("str", "gte", choices=("gte", "gt", "eq")),
}, validate=lambda clean, where: [] if "condition" in clean else [f"{where.rstrip('.')}: a trigger needs a condition"])

STEP = Section({
    "level": Field("int", None, minimum=1, maximum=MAX_LEVELS),
    "action": Field("str", "notify", choices=("notify", "escalate")),
    "target": Field("str", None),
    "timeout_minutes": Field("int", 15, minimum=1, maximum=MAX_MINUTES),
}, validate=lambda clean, where: [f"{where}{key}: required" for key in ("level", "target") if key not in clean])

PATH = Section({
    "id": Field("str", None),
    "name": Field("str", None),
    "description": Field("str", ""),
    "trigger_conditions": ListOf(TRIGGER),
    "steps": ListOf(STEP),
    "timeout_minutes": Field("int", 60, minimum=1, maximum=MAX_MINUTES),
    "max_escalation_level": Field("int", None, minimum=1, maximum=MAX_LEVELS),
    "active": Field("bool", True),
})

ESCALATION = Section({
    "smtp": SMTP,
    "targets": MapOf(TARGET, key_check=_target_key),
    "paths": ListOf(PATH),
    "default_priority": Field("str", "medium", choices=("low", "medium", "high", "critical")),
})

def _clients(clean: dict, where: str) -> list[str]:
    from maf_hooks.agent_hooks import CLIENTS

    problems = []
    for index, name in enumerate(clean.get("clients", ())):
        if name not in CLIENTS:
            problems.append(f"{where}clients[{index}]: unknown client {name!r} "
                            f"(expected one of {', '.join(CLIENTS)})")
    return problems


AUTO_CLAIM_MAX_MINUTES = 1440  # an auto-claim is renewed by every write; a day is far beyond an edit session

AGENT_HOOKS = Section({
    "clients": Field("list[str]", [], help="the agent clients this repository uses "
                                           "(preflight's agents check looks for their hooks)"),
    "auto_claim": Section({
        "enabled": Field("bool", False, help="an agent's first allowed write of a file takes a lease on it"),
        "ttl_minutes": Field("int", 15, minimum=1, maximum=AUTO_CLAIM_MAX_MINUTES,
                             help="length of an auto-claim; each later write renews it"),
    }),
}, validate=_clients)

# permission defaults are None (unset): [agents.<id>] falls back to [agents.default], then to allowed
PERMISSIONS = Section({
    "can_acquire_lease": Field("bool", None),
    "can_force": Field("bool", None, help="take over or release another agent's lease"),
    "can_override": Field("bool", None, help="use MAF_RESERVATION_OVERRIDE"),
    "can_escalate": Field("bool", None),
    "max_lease_timeout_minutes": Field("int", None, minimum=1, maximum=MAX_MINUTES),
    "allowed_targets": Field("list[str]", None, help="escalation targets this agent may use (all when unset)"),
})

SCHEMA = Section({
    "reservation": RESERVATION,
    "storage": STORAGE,
    "mail": MAIL,
    "preflight": PREFLIGHT,
    "escalation": ESCALATION,
    "agent_hooks": AGENT_HOOKS,
    "agents": MapOf(PERMISSIONS, key_check=_agent_key),
})


def cross_checks(values: dict, source=lambda dotted: "default") -> list[str]:
    """Rules that span several keys, run on the merged configuration (``source(dotted key)``:
    where a value came from, for the message)."""
    problems: list[str] = []
    if (values.get("storage") or {}).get("runtime"):
        problems.extend(filter(None, [runtime.contradiction(values["storage"], source)]))
    reservation = values.get("reservation", {})
    default, maximum = reservation.get("default_timeout_minutes"), reservation.get("max_timeout_minutes")
    if isinstance(default, int) and isinstance(maximum, int) and default > maximum:
        problems.append(
            f"reservation.default_timeout_minutes ({default}) is above "
            f"reservation.max_timeout_minutes ({maximum})"
        )
    problems.extend(_escalation_checks(values.get("escalation") or {}))
    return problems


def _escalation_checks(escalation: dict) -> list[str]:
    """Paths must name known targets, number their levels 1..n, and stay within their maximum."""
    problems = []
    targets = escalation.get("targets") or {}
    seen_ids = set()
    for index, path in enumerate(escalation.get("paths") or []):
        where = f"escalation.paths[{index}]"
        for key in ("id", "name"):
            if not path.get(key):
                problems.append(f"{where}.{key}: required")
        if path.get("id") in seen_ids:
            problems.append(f"{where}.id: {path['id']!r} is used by another path")
        seen_ids.add(path.get("id"))
        steps = path.get("steps") or []
        if not steps:
            problems.append(f"{where}.steps: a path needs at least one step")
        levels = [step.get("level") for step in steps]
        if sorted(levels) != list(range(1, len(steps) + 1)):
            problems.append(f"{where}.steps: levels must be 1..{len(steps)}, each once (got {levels})")
        maximum = path.get("max_escalation_level") or len(steps)
        for s_index, step in enumerate(steps):
            if isinstance(step.get("level"), int) and step["level"] > maximum:
                problems.append(f"{where}.steps[{s_index}].level: {step['level']} is past max_escalation_level ({maximum})")
            target = step.get("target")
            if target is None:
                continue
            if targets and target not in targets:
                problems.append(f"{where}.steps[{s_index}].target: unknown target {target!r} "
                                f"(configured: {', '.join(sorted(targets))})")
            elif not targets and _target_key(target):
                problems.append(f"{where}.steps[{s_index}].target: {target!r} is not a valid agent id")
        if not path.get("trigger_conditions"):
            problems.append(f"{where}.trigger_conditions: a path needs at least one trigger")
    return problems
