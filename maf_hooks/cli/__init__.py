"""The command line: click commands that parse, call the core, and print. Nothing else.

:func:`main` is the ``maf`` console script: ``maf agent-hook CLIENT`` runs on every tool call of
every agent, so it goes straight to :mod:`maf_hooks.agent_hooks.main` without loading click.
"""


def main(argv=None):
    import sys

    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) == 2 and args[0] == "agent-hook" and not args[1].startswith("-"):
        from maf_hooks.agent_hooks.main import main as hook_main

        sys.exit(hook_main(args[1]))
    from maf_hooks.cli.main import main as cli_main

    return cli_main(argv)
