"""A real `maf serve` process for the board's tests: started on 127.0.0.1 on a port the system
picks (``--port 0 --json`` prints the address it listens on), asked over real HTTP, stopped."""

from __future__ import annotations

import http.client
import json
import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

MAF = str(Path(sys.executable).parent / "maf")
START_SECONDS = 60  # a generous bound against hanging, not a timing assertion


class Board:
    def __init__(self, repo, *args: str, env: dict | None = None) -> None:
        self.proc = subprocess.Popen([MAF, "serve", "--port", "0", "--json", *args], cwd=repo,
                                     env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.document = json.loads(self._first_document())
        self.url = self.document["url"]
        self.host, port = self.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
        self.port = int(port)

    def _first_document(self) -> str:
        """The JSON document the server prints once it listens (written at once: its lines up to
        the closing brace)."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=START_SECONDS):
            self.stop()
            raise AssertionError("maf serve did not print its address")
        lines: list[str] = []
        while not lines or lines[-1] != "}\n":
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"maf serve ended ({self.proc.wait()}): {self.proc.stderr.read()}")
            lines.append(line)
        return "".join(lines)

    def request(self, method: str, path: str, headers: dict | None = None) -> tuple[int, http.client.HTTPMessage, str]:
        """(status, headers, body) of one request; redirects are not followed. The Host header is
        the server's address unless ``headers`` names another."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=START_SECONDS)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode("utf-8")
        finally:
            connection.close()

    def stop(self) -> tuple[int, str]:
        """Stop the server (SIGTERM, as a service manager would); its exit code and stderr (once:
        a second call gives the same code and no text)."""
        if self.proc.stdout is not None and self.proc.stdout.closed:
            return self.proc.wait(), ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=START_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        err = self.proc.stderr.read() if self.proc.stderr else ""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        return code, err
