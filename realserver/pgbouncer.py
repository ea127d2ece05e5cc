"""A real PgBouncer started with a rendered pgbouncer.ini; only host, port, TLS mode and file
paths are swapped for the local server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from realserver.postgres import as_postgres, free_port

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def localize(
    ini: str, host: str, port: int, listen_port: int, auth_file: str, hba_file: str, sslmode: str = "disable"
) -> str:
    """Swap exactly the deployment-specific values; pool sizes, modes and timeouts stay as rendered."""
    swaps = [
        (r"host=\S+ port=\d+", f"host={host} port={port}"),
        (r"^listen_port = .*$", f"listen_port = {listen_port}"),
        (r"^listen_addr = .*$", "listen_addr = 127.0.0.1"),
        (r"^auth_file = .*$", f"auth_file = {auth_file}"),
        (r"^auth_hba_file = .*$", f"auth_hba_file = {hba_file}"),
        (r"^server_tls_sslmode = .*$", f"server_tls_sslmode = {sslmode}"),
    ]
    for pattern, replacement in swaps:
        ini, count = re.subn(pattern, replacement, ini, flags=re.M)
        if count == 0:
            raise ValueError(f"rendered ini has no {pattern!r}")
    return ini


class LocalPgBouncer:
    def __init__(self, ini: str, hba: str, userlist: str, server_host: str, server_port: int):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sd-pgbouncer-"))
        self.auth_file = self.dir / "userlist.txt"
        self.hba_file = self.dir / "pg_hba.conf"
        self.ini_file = self.dir / "pgbouncer.ini"
        self.log = self.dir / "pgbouncer.log"
        self.ini = localize(ini, server_host, server_port, self.port, str(self.auth_file), str(self.hba_file))
        self.hba = hba
        self.userlist = userlist

    def __enter__(self) -> LocalPgBouncer:
        self.auth_file.write_text(self.userlist)
        self.hba_file.write_text(self.hba)
        self.ini_file.write_text(self.ini + f"logfile = {self.log}\n")
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            shutil.chown(self.dir, "postgres")
            for path in (self.auth_file, self.hba_file, self.ini_file):
                shutil.chown(path, "postgres")
        self.process = subprocess.Popen(
            as_postgres([BINARY, str(self.ini_file)]), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 30  # generous: a loaded 2-core CI machine starts it slowly
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read() if self.process.stdout else ""
                raise RuntimeError(f"pgbouncer exited: {output} {self._log_tail()}")
            if "process up" in self._log_tail() or "listening on" in self._log_tail():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not start: {self._log_tail()}")

    def _log_tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else ""

    def __exit__(self, *exc) -> None:
        # SIGTERM: immediate shutdown. SIGINT (the pods' drain) waits for every client to leave,
        # which a test's lingering pooled connections never do: 10 s per bouncer for nothing.
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
