"""The built-in checks, one module each: python, environment, mcp, database, hooks,
reservations, agents.

Each takes a :class:`~maf_hooks.preflight.runenv.RunEnv` and returns an
:class:`~maf_hooks.preflight.result.Outcome`. None of them changes anything: the lease store is
opened read-only, without creating or migrating it, and the working tree is read without taking
git's index lock. Values of environment variables are never put into an outcome.
"""

from __future__ import annotations

from typing import Callable

from maf_hooks.preflight.checks.agents import check_agents
from maf_hooks.preflight.checks.database import check_database
from maf_hooks.preflight.checks.environment import check_environment
from maf_hooks.preflight.checks.hooks import check_hooks
from maf_hooks.preflight.checks.mcp import check_mcp
from maf_hooks.preflight.checks.python import check_python
from maf_hooks.preflight.checks.reservations import check_reservations
from maf_hooks.preflight.result import Outcome
from maf_hooks.preflight.runenv import RunEnv

NAMES = {
    "python": "Python interpreter and packages",
    "environment": "Environment variables",
    "mcp": "MCP configuration files",
    "database": "Lease database",
    "hooks": "Git hooks",
    "reservations": "Reservations",
    "agents": "Agent client hooks",
}

BUILTIN: dict[str, Callable[[RunEnv], Outcome]] = {
    "python": check_python,
    "environment": check_environment,
    "mcp": check_mcp,
    "database": check_database,
    "hooks": check_hooks,
    "reservations": check_reservations,
    "agents": check_agents,
}
