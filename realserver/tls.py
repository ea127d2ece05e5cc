"""A throwaway certificate authority and the server certificate it signs for the loopback host,
so the local PostgreSQL stands where RDS does: TLS only, a certificate its clients verify
(`verify-full`) against a root their system does not trust, as RDS's region roots.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

#: Names the server certificate answers to: what the tests dial.
SERVER_NAMES = "subjectAltName=DNS:localhost,IP:127.0.0.1"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class LocalAuthority:
    def __init__(self, directory: Path):
        self.dir = directory
        #: The root clients are given (public, world-readable, as a ConfigMap's file).
        self.ca_file = directory / "ca.crt"
        self.cert_file = directory / "server.crt"
        self.key_file = directory / "server.key"

    def issue(self, owner: str | None = None) -> LocalAuthority:
        """The root, then the server's key and certificate; the key readable by `owner` only
        (PostgreSQL refuses a key others may read)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
        _openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=local test root", "-keyout", "ca.key",
                 "-out", self.ca_file.name, cwd=self.dir)  # fmt: skip
        _openssl("req", *ec, "-subj", "/CN=localhost", "-keyout", self.key_file.name, "-out", "server.csr",
                 cwd=self.dir)  # fmt: skip
        self._sign()
        (self.dir / "ca.key").unlink()
        self.ca_file.chmod(0o644)
        self.key_file.chmod(0o600)
        if owner and os.geteuid() == 0:
            for path in (self.dir, self.cert_file, self.key_file):
                shutil.chown(path, owner)
        return self

    def _sign(self) -> None:
        """The server certificate, with the names the tests dial (an extension file on stdin)."""
        subprocess.run(
            ["openssl", "x509", "-req", "-in", "server.csr", "-CA", self.ca_file.name, "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "/dev/stdin", "-out", self.cert_file.name],
            input=SERVER_NAMES + "\n",
            text=True,
            cwd=self.dir,
            check=True,
            capture_output=True,
        )  # fmt: skip

    def postgres_settings(self) -> dict[str, str]:
        return {"ssl": "on", "ssl_cert_file": str(self.cert_file), "ssl_key_file": str(self.key_file)}
