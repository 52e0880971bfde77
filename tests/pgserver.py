"""A real PostgreSQL server for the test session: initdb, pg_ctl and postgres from PATH (or
``pg_config --bindir``), a data directory and a Unix socket in a temporary directory, TCP on
127.0.0.1 at a free port. As root the server runs as the ``postgres`` user (PostgreSQL refuses
root). ``fsync`` is off: the tests prove behaviour, not durability.

Authentication: the socket and the ``maf`` superuser trust; any other role over TCP must give
its password (scram-sha-256), so that the password sources can be tested.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile

SUPERUSER = "maf"


def binaries() -> dict[str, str] | None:
    """``{"initdb", "pg_ctl", "postgres"}`` paths, or None when one is missing."""
    found = {name: shutil.which(name) for name in ("initdb", "pg_ctl", "postgres")}
    if not all(found.values()) and shutil.which("pg_config"):
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        for name in found:
            candidate = os.path.join(bindir, name)
            if not found[name] and os.access(candidate, os.X_OK):
                found[name] = candidate
    return found if all(found.values()) else None  # type: ignore[return-value]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, bins: dict[str, str]) -> None:
        self.bins = bins
        self.base = tempfile.mkdtemp(prefix="maf-pg-")
        self.data = os.path.join(self.base, "data")
        self.port = _free_port()
        self.user: dict[str, object] = {}
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam("postgres")
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
            self.user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        self._counter = 0

    def _run(self, *args: str) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": self.base}
        result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=self.base, **self.user)  # type: ignore[call-overload]
        if result.returncode:
            log = os.path.join(self.base, "server.log")
            tail = open(log).read()[-3000:] if os.path.exists(log) else ""
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}{tail}")

    def start(self) -> None:
        self._run(self.bins["initdb"], "-D", self.data, "-U", SUPERUSER, "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync", "--locale=C")
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as hba:
            hba.write(f"local all all trust\nhost all {SUPERUSER} 127.0.0.1/32 trust\n"
                      "host all all 127.0.0.1/32 scram-sha-256\n")
        options = (f"-k {self.base} -c listen_addresses=127.0.0.1 -p {self.port} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(self.bins["pg_ctl"], "-D", self.data, "-l", os.path.join(self.base, "server.log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self.resume()
            self._run(self.bins["pg_ctl"], "-D", self.data, "-m", "immediate", "-w", "stop")
        except RuntimeError:
            pass
        shutil.rmtree(self.base, ignore_errors=True)

    def restart(self) -> None:
        self._run(self.bins["pg_ctl"], "-D", self.data, "-m", "fast", "-w", "restart")

    # --- what the tests use ------------------------------------------------------------------

    def url(self, dbname: str = "postgres", *, user: str = SUPERUSER, tcp: bool = True) -> str:
        if tcp:
            return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"
        from urllib.parse import quote

        return f"postgresql://{user}@{quote(self.base, safe='')}:{self.port}/{dbname}"

    def sql(self, statement: str, dbname: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            cursor = conn.execute(statement)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        self._counter += 1
        name = f"t{os.getpid()}_{self._counter}"
        self.sql(f"CREATE DATABASE {name}")
        return self.url(name)

    def postmaster_pid(self) -> int:
        with open(os.path.join(self.data, "postmaster.pid")) as handle:
            return int(handle.readline())

    def pids(self) -> list[int]:
        """The postmaster and every backend process it started."""
        main = self.postmaster_pid()
        children = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as handle:
                        fields = handle.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == main:
                    children.append(int(entry))
        return [main, *children]

    def pause(self) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        try:
            pids = self.pids()
        except OSError:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
