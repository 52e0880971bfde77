"""The one place where errors become a message on stderr and an exit code."""

from __future__ import annotations

import os
import sys
from typing import Callable

import click

from maf_hooks.cli.options import HELP_OPTIONS, JSON_ASKED
from maf_hooks.errors import REFUSED, USAGE, MafError, described, error_line


def run(command: click.Command, argv=None, prog_name: str | None = None) -> int:
    """Invoke a click command; return its exit code instead of raising or exiting."""
    JSON_ASKED.clear()
    try:
        result = command.main(args=argv, prog_name=prog_name, standalone_mode=False,
                              help_option_names=HELP_OPTIONS)
        return result if isinstance(result, int) else 0
    except MafError as exc:
        code = failed(prog_name, exc)
        if code == REFUSED and JSON_ASKED:  # the --json flag as click parsed it (not a value that reads so)
            # a refusal is an answer: a program reading stdout gets it as a document too (bad usage
            # and an unreachable store stay on stderr alone)
            from maf_hooks.cli.output import emit_json
            from maf_hooks.services.documents import stamped

            emit_json(stamped("error", {"error": described(exc)[1], "exit_code": code}))
        return code
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
        return failed(prog_name, exc)
    except Exception as exc:
        if os.environ.get("MAF_DEBUG"):
            raise
        return failed(prog_name, exc)


def failed(prog_name: str | None, exc: BaseException) -> int:
    code, message = described(exc)
    return fail(prog_name, message, code)


def fail(prog_name: str | None, message: str, code: int) -> int:
    click.echo(error_line(prog_name or "maf", message), err=True)
    return code


def entry(command: click.Command, prog_name: str) -> Callable[..., int]:
    def main(argv=None) -> int:
        sys.exit(run(command, argv, prog_name))

    return main
