"""The "Example" and "Exit codes" part of every command's --help, in one table.

:func:`document` appends them to a command's epilog (and to its subcommands'), once, when the
command is loaded; a command whose own help already shows examples gets the exit codes only.
"""

from __future__ import annotations

import click

# the meaning of each exit code (maf_hooks/errors.py), and where a command says more about one
CODES = {0: "done", 1: "refused, a conflict, or nothing matched", 2: "bad input, usage or configuration",
         3: "store unreachable or internal failure"}
SPECIFIC: dict[str, dict[int, str | None]] = {  # None: the command never exits so
    "audit guard": {1: "a critical finding, or more than two high ones"},
    "audit validate": {1: "the chain was changed (the first row changed, removed or inserted is named)"},
    "config validate": {1: None, 2: "the configuration is invalid (every problem listed)"},
    "db check": {1: "a problem found (each one named)"},
    "db gc": {1: "the audit chain is broken (nothing deleted)"},
    "init": {1: "a problem reported (an unsafe mail root, a hook without the driver)"},
    "lease acquire": {1: "nothing leased: another agent holds an overlapping lease"},
    "lease check": {1: "another agent's exclusive lease covers a PATH"},
    "mail flush": {1: "a delivery failed (kept for the next flush)"},
    "preflight": {1: "a check failed"},
}
# `maf agent-hook` answers in each client's own protocol
AGENT_HOOK = "the client's protocol: the answer is the hook's JSON and exit code (docs/agents.md)"

EXAMPLES = {
    "": ["maf init --write", "maf --agent alice lease acquire src/api/ --reason 'refactor'", "maf lease list"],
    "agent-hook": ["maf agent-hook claude < hook-input.json"],
    "audit": ["maf audit validate", "maf audit report --days 7 --json"],
    "audit flush": ["AUDIT_WEBHOOK_URL=https://audit.example.com/maf maf audit flush"],
    "audit guard": ["maf audit guard --bead-id bd-42 --json"],
    "audit report": ["maf audit report --days 7 --agent alice"],
    "audit validate": ["maf audit validate --full --json"],
    "config": ["maf config show", "maf config validate --json"],
    "config show": ["maf config show --json", "maf --env ci config show"],
    "config validate": ["maf config validate", "maf --config team.toml config validate --json"],
    "db": ["maf db path", "maf db check"],
    "db backup": ["maf db backup backups/leases.db --json"],
    "db check": ["maf db check --full"],
    "db copy": ["maf db copy --to postgresql://maf@leases.example.com/maf"],
    "db export": ["maf db export --output leases.json"],
    "db gc": ["maf db gc --older-than 30d --dry-run"],
    "db import": ["maf db import leases.json", "maf db export | maf --env staging db import -"],
    "db import-legacy": ["maf db import-legacy --dry-run"],
    "db migrate": ["maf db migrate --json"],
    "db path": ["maf db path --json"],
    "db restore": ["maf db restore backups/leases.db --force"],
    "escalate": ["maf escalate list", "maf escalate ack ESCALATION_ID --note 'on it'"],
    "escalate ack": ["maf escalate ack ESCALATION_ID --note 'looking at it' --agent codex-senior"],
    "escalate list": ["maf escalate list --status open --json"],
    "escalate monitor": ["maf escalate monitor --interval 30"],
    "escalate resolve": ["maf escalate resolve ESCALATION_ID --note 'fixed in bd-43'"],
    "escalate show": ["maf escalate show ESCALATION_ID --json"],
    "escalate tick": ["maf escalate tick --json"],
    "init": ["maf init --write", "maf init --repo https://github.com/example/maf-hooks --rev v0.1.0",
             "maf init --agents claude,codex --dry-run"],
    "lease": ["maf-lease --agent alice acquire src/api/ --reason 'refactor'", "maf-lease list --mine"],
    "lease agents": ["maf-lease agents --json"],
    "lease check": ["maf-lease check src/api/client.py --agent bob"],
    "lease conflicts": ["maf-lease conflicts --since 2h --agent bob"],
    "lease heartbeat": ["maf-lease --agent alice heartbeat --status 'running the tests'"],
    "lease release": ["maf-lease release src/api/", "maf-lease release --all --json"],
    "lease renew": ["maf-lease renew --all --ttl 1h"],
    "mail": ["maf mail list --unread", "maf mail read MAIL_ID"],
    "metrics": ["maf metrics", "maf metrics --textfile /var/lib/node_exporter/maf.prom"],
    "preflight history": ["maf-preflight history --limit 5 --json"],
    "serve": ["maf serve --port 8765"],
}


def _block(heading: str, lines: list[str]) -> str:
    return "\b\n" + heading + ":\n" + "\n".join("  " + line for line in lines)


def epilog(path: str, command: click.Command) -> str:
    """What --help of the command at ``path`` (``"lease acquire"``; ``""`` for ``maf``) ends with."""
    parts = []
    shown = (command.help or "") + (command.epilog or "")
    if "Example" not in shown:
        examples = EXAMPLES.get(path) or [f"maf {path} --help"]
        parts.append(_block("Example" if len(examples) == 1 else "Examples", examples))
    codes = {**CODES, **SPECIFIC.get(path, {})}
    parts.append(_block("Exit codes", [AGENT_HOOK] if path == "agent-hook"
                        else [f"{code}  {text}" for code, text in codes.items() if text]))
    return "\n\n".join(parts)


def document(command: click.Command, path: str = "") -> click.Command:
    """Append :func:`epilog` to ``command`` and every subcommand below it (once)."""
    if getattr(command, "_maf_documented", False):
        return command
    command.epilog = "\n\n".join(filter(None, [command.epilog, epilog(path, command)]))
    command._maf_documented = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            document(sub, f"{path} {name}".strip())
    return command
