"""The `maf` command group and the console-script entry points."""

from __future__ import annotations

import click

from maf_hooks import __version__
from maf_hooks.cli.configuration import config_group
from maf_hooks.cli.db import db_group
from maf_hooks.cli.audit import audit_group
from maf_hooks.cli.errors import entry
from maf_hooks.cli.escalate import escalate_group
from maf_hooks.cli.init import init
from maf_hooks.cli.lease import lease_group
from maf_hooks.cli.mail import mail_group
from maf_hooks.cli.preflight import preflight_command
from maf_hooks.cli.options import config_options, make_context


@click.group("maf")
@click.version_option(__version__, prog_name="maf-hooks")
@config_options
@click.pass_context
def maf(ctx: click.Context, config_path, env_name):
    """maf-hooks: file leases and git hooks for coding agents sharing one repository.

    Exit codes: 0 done, 1 refused / conflict / nothing matched, 2 bad input or usage,
    3 storage or environment failure.
    """
    make_context(ctx, config_path, env_name)


maf.add_command(lease_group)
maf.add_command(db_group)
maf.add_command(config_group)
maf.add_command(init)
maf.add_command(mail_group)
maf.add_command(escalate_group)
maf.add_command(audit_group)
maf.add_command(preflight_command)

main = entry(maf, "maf")
lease_main = entry(lease_group, "maf-lease")
