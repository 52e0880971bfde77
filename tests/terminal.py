"""Run a command on a real pseudo-terminal of a given size and read what it wrote there."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
from typing import Mapping, Sequence

# a Select Graphic Rendition escape whose parameters set a colour (30-38, 40-48, 90-97, 100-107)
_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_COLOUR = re.compile(r"^(3[0-8]|4[0-8]|9[0-7]|10[0-7])$")
_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def run_in_terminal(argv: Sequence[str], cwd, env: Mapping[str, str], columns: int = 80, lines: int = 40,
                    timeout: float = 120) -> tuple[int, str]:
    """``argv`` with stdout and stderr on a terminal ``columns`` wide (stdin from /dev/null);
    its exit code and everything it wrote (``\\r\\n`` made ``\\n``)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    environ = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES", "NO_COLOR",
                                                                                 "FORCE_COLOR", "TTY_COMPATIBLE")}
    environ.update({"TERM": "xterm-256color"}, **env)
    proc = subprocess.Popen(list(argv), cwd=cwd, env=environ, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    code = proc.wait(timeout=timeout)
    return code, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def colours(text: str) -> list[str]:
    """The colour parameters of every SGR escape in ``text`` (bold or dim are not colours)."""
    return [p for match in _SGR.finditer(text) for p in match.group(1).split(";") if _COLOUR.match(p)]


def plain(text: str) -> str:
    """``text`` without its escape sequences."""
    return _ESCAPE.sub("", text)
