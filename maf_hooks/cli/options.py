"""Options shared by several commands, each defined once."""

from __future__ import annotations

import click

from maf_hooks.context import Context

pass_context = click.make_pass_decorator(Context)  # the Context of the command tree, for commands


def config_options(func):
    func = click.option("--env", "env_name", metavar="NAME",
                        help="Apply the [env.NAME] overlay of the configuration (or set MAF_ENV).")(func)
    func = click.option("--config", "config_path", metavar="PATH", type=click.Path(dir_okay=False),
                        help="Configuration file (TOML, or JSON in the seed layout).")(func)
    return func


HELP_OPTIONS = ["-h", "--help"]  # every console script and subcommand (given at the entry: cli/errors.run)


def version_option(func):
    """``--version`` of a console script: its name and the one version (maf_hooks.__version__)."""
    from maf_hooks import __version__

    return click.version_option(__version__, "--version", message="%(prog)s (maf-hooks) %(version)s",
                                help="Show the version and exit.")(func)


def agent_option(func):
    return click.option("--agent", "agent", metavar="ID",
                        help="Acting agent (else MAF_AGENT_ID, git maf.agentId, git user.email).")(func)


def acting_agent_option(func):
    """``--agent`` before the subcommand (``maf-lease --agent alice acquire ...``): the acting
    agent of whatever subcommand follows, where that one's own ``--agent`` is not given. A
    subcommand whose ``--agent`` filters (``list --agent A``, ``conflicts --agent A``) still
    filters by its own; ``list --mine`` means the acting agent."""
    return click.option("--agent", "group_agent", metavar="ID",
                        help="Acting agent of the subcommand (else MAF_AGENT_ID, git maf.agentId, git "
                             "user.email); a subcommand's own --agent comes first.")(func)


# holds True once this invocation parsed a --json flag, at any level of the command tree: a group's
# reaches the subcommand after it, and a refusal becomes a document (cli/errors.run clears it first)
JSON_ASKED: list[bool] = []


def _json_flag(_ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        JSON_ASKED.append(True)
    return bool(JSON_ASKED)


def json_option(func):
    """``--json`` of a command; also true when given before the subcommand (``maf-lease --json list``)."""
    return click.option("--json", "as_json", is_flag=True, callback=_json_flag,
                        help="Print one JSON document on stdout.")(func)


def group_json_option(func):
    """``--json`` on a group: the subcommand that follows prints JSON as if given its own ``--json``
    (a subcommand without a result document, such as ``maf serve``, has none to print)."""
    return click.option("--json", "group_json", is_flag=True, expose_value=False, callback=_json_flag,
                        help="The subcommand prints one JSON document (as its own --json).")(func)


def make_context(ctx: click.Context, config_path: str | None, env_name: str | None,
                 agent: str | None = None) -> Context:
    """Attach (or refine) the Context shared down the command tree."""
    parent = ctx.find_object(Context)
    if parent is not None:
        config_path = config_path or parent.config_path
        env_name = env_name or parent.env_name
        agent = agent or parent.acting_agent
    context = Context(config_path=config_path, env_name=env_name, acting_agent=agent)
    ctx.obj = context
    return context


def group_options(func):
    """The options a command group takes before its subcommand, for whatever subcommand follows:
    ``--config``, ``--env``, ``--agent`` (the acting agent) and ``--json``."""
    return config_options(acting_agent_option(group_json_option(func)))
