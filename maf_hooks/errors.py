"""Every error the library raises, each kind with the exit code the command line gives it.

Library code raises these; only ``maf_hooks.cli.errors`` (and the hook's own ``main``) turn them
into a message on stderr and an exit code.
"""

OK = 0
REFUSED = 1  # a conflict, a refusal by a rule, nothing matched
USAGE = 2  # bad input, invalid configuration, unknown option
ENVIRONMENT = 3  # storage or environment failure

# what each exit code means, for a front end that reports it by name (the MCP tools)
MEANINGS = {REFUSED: "refused", USAGE: "bad_input", ENVIRONMENT: "storage"}


class MafError(Exception):
    """Base class: ``str(error)`` is the one-paragraph message shown to the user."""

    exit_code = ENVIRONMENT


class UsageError(MafError):
    """Bad input from the user: an invalid id, pattern, duration, option combination."""

    exit_code = USAGE


class ConfigError(UsageError):
    """The configuration is invalid; ``problems`` lists each one with its key path. ``file``,
    ``line`` and ``column`` say where, when that is known (a file that does not parse)."""

    def __init__(self, message, problems=(), *, file=None, line=None, column=None):
        self.problems = list(problems)
        self.file, self.line, self.column = file, line, column
        if self.problems:
            message = message + "\n" + "\n".join("  - " + p for p in self.problems)
        super().__init__(message)


class Refused(MafError):
    """The request was understood and refused: a conflict, a permission rule, nothing matched."""

    exit_code = REFUSED


class StorageError(MafError):
    """The lease database cannot be created, opened, read or written."""

    exit_code = ENVIRONMENT


class DamagedStore(StorageError):
    """The store was read and its data is damaged: a corrupt page, a file that is no SQLite
    database or holds no schema, lease rows that contradict each other. The same exit code as
    any storage failure (a hook refuses either way); ``maf db check`` reports it as damage found."""


class GitError(MafError):
    """A git command failed or the directory is not inside a git repository."""

    exit_code = ENVIRONMENT


class NotARepository(GitError):
    """The directory is not inside a git repository."""


class ClockSkew(MafError):
    """A clock disagrees with the store's record (a renew earlier than the lease's last change)."""

    exit_code = ENVIRONMENT


def described(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one-paragraph message for ``exc``: a :class:`MafError` as it says, an
    ``OSError`` as an environment failure naming the file, anything else as a bug to report."""
    if isinstance(exc, MafError):
        return exc.exit_code, str(exc)
    if isinstance(exc, OSError):
        return ENVIRONMENT, f"{exc.strerror or exc}: {exc.filename or ''}".strip(": ")
    return ENVIRONMENT, (f"internal error ({type(exc).__name__}: {exc}). This is a bug in maf-hooks; "
                         "run again with MAF_DEBUG=1 for the traceback and report it.")


def error_line(prog: str, message: str) -> str:
    """How a command prints an error on stderr."""
    return f"{prog}: error: {message}"
