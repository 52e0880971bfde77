"""Running git: one call (:func:`run`), one started now and collected later (:class:`Background`,
:class:`Later`), and NUL-separated output (:func:`zsplit`)."""

from __future__ import annotations

import subprocess

from maf_hooks.errors import GitError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: this module is on the hook's path
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence


def _not_run(exc: OSError) -> GitError:
    return GitError(f"Could not run git ({exc.strerror or exc}): is git installed and on PATH?")


def _finish(args: Sequence[str], returncode: int, stdout: bytes, stderr: bytes, check: bool):
    if check and returncode != 0:
        raise GitError(
            f"git {' '.join(args)} failed with exit code {returncode}: "
            f"{stderr.decode('utf-8', 'replace').strip() or 'no message'}"
        )
    return returncode, stdout, stderr


def run(args: Sequence[str], cwd: str | None = None, *, check: bool = True, stdin: bytes | None = None):
    """Run ``git ARGS``; return ``(returncode, stdout_bytes, stderr_bytes)``."""
    cmd = ["git", *args]
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise _not_run(exc) from None
    return _finish(args, proc.returncode, proc.stdout, proc.stderr, check)


class Background:
    """``git ARGS`` started now and collected later, so that the hook's own work (imports, reading
    the leases) runs while git does. :meth:`result` returns (or raises) what :func:`run` would;
    :meth:`cancel` stops a command whose answer is no longer wanted. With ``drain`` a thread reads
    the output meanwhile, so that a command with much to say never waits on a full pipe."""

    def __init__(self, args: Sequence[str], cwd: str | None = None, *, drain: bool = False):
        self.args = list(args)
        self._error: OSError | None = None
        self._output: tuple[bytes, bytes] | None = None
        self._failure: BaseException | None = None
        self._reader = None
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._proc = subprocess.Popen(["git", *self.args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            self._error = exc
            return
        if drain:
            import threading  # already loaded by subprocess

            self._reader = threading.Thread(target=self._collect, daemon=True)
            self._reader.start()

    def _collect(self) -> None:
        assert self._proc is not None
        try:
            self._output = self._proc.communicate()
        except BaseException as exc:  # noqa: BLE001 - re-raised by result(), in the caller's thread
            self._failure = exc

    def _wait(self) -> None:
        if self._reader is not None:
            self._reader.join()
        elif self._output is None and self._failure is None:
            self._collect()

    def result(self, *, check: bool = True):
        if self._error is not None:
            raise _not_run(self._error)
        self._wait()
        if self._failure is not None:
            raise self._failure
        assert self._proc is not None and self._output is not None  # no error: it ran and was read
        return _finish(self.args, self._proc.returncode, *self._output, check)

    def running(self) -> bool:
        """Whether the command has not finished yet (its answer would still be waited for)."""
        if self._proc is None or self._output is not None or self._failure is not None:
            return False
        if self._reader is not None:
            return self._reader.is_alive()
        return self._proc.poll() is None

    def cancel(self) -> None:
        """Stop the command if it still runs (it only reads: nothing is left half done)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            try:
                self._proc.kill()
            except OSError:
                pass
        self._wait()



class Later:
    """An answer to collect later: calling it waits for the git command behind it (if any) and
    returns its result; :meth:`cancel` stops that command when the answer is no longer wanted."""

    __slots__ = ("_finish", "_job")

    def __init__(self, finish: Callable[[], Any], job: Background | None = None) -> None:
        self._finish, self._job = finish, job

    def __call__(self) -> Any:
        return self._finish()

    def running(self) -> bool:
        """Whether its git command still runs (False when there is none, or it has finished)."""
        return self._job is not None and self._job.running()

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

def output(args: Sequence[str], cwd: str | None = None) -> str:
    return run(args, cwd)[1].decode("utf-8", "surrogateescape")


def zsplit(data: bytes) -> list[str]:
    """Split NUL-separated git output into str paths (undecodable bytes kept via surrogateescape)."""
    text = data.decode("utf-8", "surrogateescape")
    parts = text.split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    return parts
