"""A throwaway redis-server and a minimal RESP client, independent of the client library under test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from realserver.postgres import free_port


class RedisError(RuntimeError):
    pass


class LocalRedis:
    def __init__(self, startup: dict[str, str] | None = None):
        self.startup = startup or {}
        # A cluster node also listens on port + 10000 (its bus), so stay at or below 55535.
        self.port = free_port(highest=55535)
        self.dir = Path(tempfile.mkdtemp(prefix="sd-redis-"))

    def __enter__(self) -> LocalRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed: run tools/install-servers.sh")
        args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.dir),
        ]
        for name, value in self.startup.items():
            args += [f"--{name}", value]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read() if self.process.stdout else ""
                raise RedisError(f"redis-server exited: {output[-1000:]}")
            try:
                if self.command("PING") == "PONG":
                    return self
            except OSError:
                time.sleep(0.05)
        self.process.kill()  # never leave a server behind a failed start
        raise RedisError("redis-server did not answer PING in 10 s")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def command(self, *parts: str, user: tuple[str, str] | None = None):
        """One command on a fresh connection, authenticated first: as `user` (name, password) when
        given, else with the server's password when it needs one."""
        commands: list[tuple[str, ...]] = (
            [("AUTH", *user)]
            if user
            else [("AUTH", self.startup["requirepass"])]
            if "requirepass" in self.startup
            else []
        )
        commands.append(parts)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(b"".join(_encode(command) for command in commands))
            replies = conn.makefile("rb")
            return [_read_reply(replies) for _ in commands][-1]


def _encode(parts) -> bytes:
    return (f"*{len(parts)}\r\n" + "".join(f"${len(p.encode())}\r\n{p}\r\n" for p in parts)).encode()


def _read_reply(stream):
    line = stream.readline().decode().rstrip("\r\n")
    kind, body = line[:1], line[1:]
    if kind == "+":
        return body
    if kind == "-":
        raise RedisError(body)
    if kind == ":":
        return int(body)
    if kind == "$":
        return None if body == "-1" else stream.read(int(body) + 2)[:-2].decode()
    if kind == "*":
        return [_read_reply(stream) for _ in range(int(body))]
    raise RedisError(f"unexpected reply {line!r}")


def verify_parameters(parameters: dict[str, str], startup_only: frozenset[str]) -> list[str]:
    """Startup-only parameters go on the command line; the rest through CONFIG SET. Each is then
    read back with CONFIG GET."""
    startup = {k: v for k, v in parameters.items() if k in startup_only}
    if "cluster-enabled" in startup:
        startup["cluster-config-file"] = "nodes.conf"
    problems = []
    try:
        server = LocalRedis(startup).__enter__()
    except RedisError as refused:
        return [f"server refused startup parameters: {refused}"]
    try:
        for name, value in parameters.items():
            if name not in startup_only:
                try:
                    server.command("CONFIG", "SET", name, value)
                except RedisError as error:
                    problems.append(f"{name} = {value!r}: {error}")
                    continue
            reply = server.command("CONFIG", "GET", name)
            if reply != [name, value]:
                problems.append(f"{name}: set {value!r}, server reports {reply!r}")
    finally:
        server.__exit__(None, None, None)
    return problems
