"""The one place where errors become a message on stderr and an exit code."""

from __future__ import annotations

import os
import sys
from typing import Callable

import click

from maf_hooks.errors import ENVIRONMENT, USAGE, MafError


def run(command: click.Command, argv=None, prog_name: str | None = None) -> int:
    """Invoke a click command; return its exit code instead of raising or exiting."""
    try:
        result = command.main(args=argv, prog_name=prog_name, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except MafError as exc:
        return fail(prog_name, str(exc), exc.exit_code)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return USAGE if exc.exit_code == 2 else exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        return fail(prog_name, f"{exc.strerror or exc}: {exc.filename or ''}".strip(": "), ENVIRONMENT)
    except Exception as exc:
        if os.environ.get("MAF_DEBUG"):
            raise
        return fail(prog_name, f"internal error ({type(exc).__name__}: {exc}). This is a bug in maf-hooks; "
                               "run again with MAF_DEBUG=1 for the traceback and report it.", ENVIRONMENT)


def fail(prog_name: str | None, message: str, code: int) -> int:
    click.echo(f"{prog_name or 'maf'}: error: {message}", err=True)
    return code


def entry(command: click.Command, prog_name: str) -> Callable[..., int]:
    def main(argv=None) -> int:
        sys.exit(run(command, argv, prog_name))

    return main
