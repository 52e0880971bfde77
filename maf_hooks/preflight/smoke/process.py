"""Running a smoke test's command with a deadline: in a session of its own, so that on timeout the
whole process group is killed (SIGTERM, then SIGKILL) and a shell's children die with it; the
first MAX_CAPTURE bytes of standard output and the last TAIL_BYTES of each stream are kept."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from typing import Callable, Optional

TAIL_BYTES = 4096
MAX_CAPTURE = 8 * 1024 * 1024  # what is kept of stdout to match expect_stdout against
KILL_GRACE_SECONDS = 0.5


class _Collector(threading.Thread):
    """Drain one pipe: keep the first MAX_CAPTURE bytes and the last TAIL_BYTES."""

    def __init__(self, stream, keep: int):
        super().__init__(daemon=True)
        self.stream = stream
        self.keep = keep
        self.data = bytearray()
        self.tail = bytearray()

    def run(self) -> None:
        try:
            while True:
                chunk = self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536)
                if not chunk:
                    break
                if len(self.data) < self.keep:
                    self.data += chunk[: self.keep - len(self.data)]
                self.tail += chunk
                if len(self.tail) > TAIL_BYTES:
                    del self.tail[: len(self.tail) - TAIL_BYTES]
        except (OSError, ValueError):
            pass


@dataclass
class ProcessResult:
    exit_code: Optional[int]
    stdout: bytes
    stdout_tail: bytes
    stderr_tail: bytes
    duration_ms: float
    timed_out: bool


def kill_tree(proc: subprocess.Popen) -> None:
    """End the process and everything it started (its process group, as it leads a session)."""
    if os.name != "posix":
        proc.kill()
        return
    for sig, grace in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if grace is not None:
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass


def run_process(command, *, cwd: str, environ, timeout: float,
                monotonic: Callable[[], float]) -> ProcessResult:
    """Run ``command`` (a string: through the shell; a list: as is) with a deadline."""
    shell = isinstance(command, str)
    started = monotonic()
    proc = subprocess.Popen(
        command, shell=shell, cwd=cwd, env=dict(environ), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=(os.name == "posix"),
    )
    out, err = _Collector(proc.stdout, MAX_CAPTURE), _Collector(proc.stderr, 0)
    out.start()
    err.start()
    timed_out = False
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    duration = (monotonic() - started) * 1000
    if timed_out:
        kill_tree(proc)
    elif os.name == "posix":
        _reap_group(proc)  # children it left running in the background (`cmd &`) end with it
    proc.wait()
    for collector in (out, err):
        collector.join(2.0)  # a process that escaped the group may hold the pipe: do not wait for it
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None and not (out.is_alive() or err.is_alive()):
            pipe.close()
    return ProcessResult(None if timed_out else proc.returncode, bytes(out.data), bytes(out.tail),
                         bytes(err.tail), duration, timed_out)


def _reap_group(proc: subprocess.Popen) -> None:
    """After a normal exit, children left running in the background would keep the pipes open
    (and outlive the test): end them too."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def text(data: bytes) -> str:
    return data.decode("utf-8", "replace")
