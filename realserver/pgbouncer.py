"""A real PgBouncer started with a rendered pgbouncer.ini; only the server's host and port, the
listening address and port, the server's root and file paths are swapped for the local ones. Its auth files
come from the pod's init command, run on files shaped as the CSI driver mounts them."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from components.apps.pgbouncer_config import CLIENT_SSLMODE, IniSettings, render_auth_command, render_ini
from realserver.postgres import as_postgres, free_port

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


class LocalPgBouncer:
    def __init__(
        self,
        settings: IniSettings,
        hba: str,
        auth_user: str,
        auth_password: str,
        server_host: str,
        server_port: int,
        server_ca: Path,
    ):
        """`server_ca`: the root the server's certificate chains to (realserver/tls.py); PgBouncer
        verifies it with the settings' sslmode, as the pods verify RDS."""
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sd-pgbouncer-"))
        self.credentials = self.dir / "credentials"
        self.hba_file = self.dir / "pg_hba.conf"
        self.ini_file = self.dir / "pgbouncer.ini"
        self.log = self.dir / "pgbouncer.log"
        self.settings = dataclasses.replace(
            settings,
            hosts=[server_host],
            port=server_port,
            listen_port=self.port,
            server_tls_ca_file=str(server_ca),
            client_tls_key_file=str(self.dir / "client-tls.key"),
            client_tls_cert_file=str(self.dir / "client-tls.crt"),
            auth_include=str(self.dir / "auth_user.ini"),
            auth_file=str(self.dir / "userlist.txt"),
            auth_hba_file=str(self.hba_file),
        )
        self.ini = render_ini(self.settings).replace("listen_addr = 0.0.0.0", "listen_addr = 127.0.0.1")
        self.hba = hba
        self.auth = {"username": auth_user, "password": auth_password}

    def __enter__(self) -> LocalPgBouncer:
        self.credentials.mkdir()
        for field, value in self.auth.items():
            (self.credentials / field).write_text(value)
        self.hba_file.write_text(self.hba)
        self.ini_file.write_text(self.ini + f"logfile = {self.log}\n")
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            for path in (self.dir, *self.dir.rglob("*")):
                shutil.chown(path, "postgres")
        command = render_auth_command(str(self.credentials), self.settings)
        subprocess.run(as_postgres(["/bin/sh", "-c", command]), check=True, capture_output=True)
        self.process = subprocess.Popen(
            as_postgres([BINARY, str(self.ini_file)]), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 30  # generous: a loaded 2-core CI machine starts it slowly
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read() if self.process.stdout else ""
                raise RuntimeError(f"pgbouncer exited: {output} {self.log_tail()}")
            if "process up" in self.log_tail() or "listening on" in self.log_tail():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not start: {self.log_tail()}")

    def client_params(self) -> dict[str, str]:
        """How the applications connect: TLS, unverified (`require`; their images hold no root
        for the pod's own certificate). The missing root file keeps libpq from verifying with
        a PGSSLROOTCERT the harness set for the rotation function."""
        return {"sslmode": CLIENT_SSLMODE, "sslrootcert": str(self.dir / "no-root.crt")}

    def log_tail(self) -> str:
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
