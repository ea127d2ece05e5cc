"""A throwaway PostgreSQL cluster started with exactly the settings under test."""

from __future__ import annotations

import atexit
import functools
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class ServerRefused(RuntimeError):
    """The server would not start with the given settings; the message holds its log."""


def pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not found:
        raise FileNotFoundError(f"PostgreSQL's {tool} is not installed: run tools/install-servers.sh")
    return found[-1]


def free_port(highest: int = 65535) -> int:
    """A free loopback port no higher than `highest` (the kernel picks; we retry if too high)."""
    for _ in range(1000):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port <= highest:
            return port
    raise RuntimeError(f"no free port at or below {highest}")


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL and PgBouncer refuse to run as root; CI runs as root. setpriv (util-linux)
    becomes `postgres` and execs the command, so a signal reaches the server itself; runuser
    stays as its parent and, when signalled, waits 2 s before it kills the server."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *command]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _own(directory: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")


@functools.cache
def _initialized() -> Path:
    """A fresh cluster's data directory, made once per process: every server starts from a copy
    of it. In memory (the tests' scratch is a tmpfs) a copy takes 0.06 s, an initdb 0.6 s of CPU,
    and the suite starts dozens of servers."""
    root = Path(tempfile.mkdtemp(prefix="sd-pg-initdb-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    _own(root)
    subprocess.run(
        as_postgres([pg_bin("initdb"), "-D", str(root / "data"), "-U", "postgres", "-A", "trust", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    return root / "data"


class LocalPostgres:
    def __init__(self, settings: dict[str, str]):
        self.settings = settings
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sd-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"

    def __enter__(self) -> LocalPostgres:
        _own(self.dir)
        subprocess.run(as_postgres(["cp", "-a", str(_initialized()), str(self.data)]), check=True, capture_output=True)
        lines = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = {_quote(str(self.dir))}",
            "fsync = off",
            *(f"{name} = {_quote(value)}" for name, value in self.settings.items()),
        ]
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# settings under test\n" + "\n".join(lines) + "\n")
        started = subprocess.run(
            as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start"]),
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            log = self.log.read_text() if self.log.exists() else started.stderr
            self._cleanup()
            raise ServerRefused(log.strip()[-2000:])
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(
            as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]), capture_output=True
        )
        self._cleanup()

    def _cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def dsn(
        self, host: str | None = None, port: int | None = None, user: str = "postgres", db: str = "postgres"
    ) -> str:
        return f"host={host or self.dir} port={port or self.port} user={user} dbname={db}"

    def sql(self, statement: str, **dsn) -> list[list[str]]:
        result = subprocess.run(
            [
                pg_bin("psql"),
                self.dsn(**dsn),
                "-X",
                "-q",
                "-A",
                "-t",
                "-F",
                "\t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                statement,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip())
        return [line.split("\t") for line in result.stdout.splitlines() if line]


def _normalise(value: str, vartype: str) -> str:
    if vartype == "bool":
        return "on" if value.lower() in ("1", "on", "true", "yes") else "off"
    if vartype == "string":
        return ",".join(part.strip() for part in value.split(","))
    if vartype == "real":
        return f"{float(value):g}"
    return value


def verify_settings(settings: dict[str, str]) -> list[str]:
    """Start PostgreSQL with `settings` and read each back from pg_settings.

    A misspelled name loads as an inert placeholder, absent from pg_settings: reported. A bad
    value stops the server from starting: reported with its log.
    """
    try:
        with LocalPostgres(settings) as pg:
            names = ",".join(_quote(n) for n in settings)
            rows = pg.sql(f"SELECT name, setting, vartype FROM pg_settings WHERE name IN ({names})")
    except ServerRefused as refused:
        return [f"server refused the settings: {refused}"]
    seen = {name: (setting, vartype) for name, setting, vartype in rows}
    problems = []
    for name, value in settings.items():
        if name not in seen:
            problems.append(f"{name}: not a parameter this server knows (misspelled, or its library is not loaded)")
            continue
        setting, vartype = seen[name]
        if _normalise(value, vartype) != _normalise(setting, vartype):
            problems.append(f"{name}: set {value!r}, server reports {setting!r}")
    return problems
