"""A real Bolt server for the tests: ArcadeDB (PyPI `arcadedb-embedded`, which bundles its own Java
runtime and the Bolt plugin) started as a separate process on 127.0.0.1.

One server per test session, shared by tests/node_api/backends/neo4j and tests/contract (a module-level singleton with
a reference count, so both conftests get the same process). Readiness is ArcadeDB's
`GET /api/v1/ready` (204), not the open port: the Bolt listener opens before the server is ready.
The process is stopped by its pid.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from node_api.settings import NodeSettings
from tests.support.ports import free_port

ROOT_PASSWORD = "bolt-test-password"
_READY_TIMEOUT_S = 90.0
# ArcadeDB ignores the Bolt transaction timeout; its own server-wide command timeout is what stops a
# runaway query server-side, so the tests' timeout scenarios do not leave a core busy for minutes.
COMMAND_TIMEOUT_MS = 8_000


class ServerUnavailable(RuntimeError):
    pass


@dataclass
class ArcadeDBServer:
    root: Path
    bolt_port: int
    http_port: int
    process: subprocess.Popen[bytes] | None = None
    users: int = 0
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.root / "server.log"

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        spec = importlib.util.find_spec("arcadedb_embedded")
        if spec is None or spec.origin is None:
            raise ServerUnavailable(
                "the Bolt test server needs the PyPI package arcadedb-embedded (ArcadeDB with its Java runtime "
                "and Bolt plugin): install it into .venv (see docs/neo4j-backend.md)"
            )
        package = Path(spec.origin).parent
        java = package / "jre" / "bin" / "java"
        if not java.exists():
            java = Path(shutil.which("java") or "java")
        command = [
            str(java), "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-cp", f"{package / 'jars'}/*",
            f"-Darcadedb.server.rootPath={self.root}",
            f"-Darcadedb.server.rootPassword={ROOT_PASSWORD}",
            "-Darcadedb.server.mode=development",
            "-Darcadedb.server.httpIncomingHost=127.0.0.1",
            f"-Darcadedb.server.httpIncomingPort={self.http_port}",
            "-Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "-Darcadedb.bolt.host=127.0.0.1",
            f"-Darcadedb.bolt.port={self.bolt_port}",
            f"-Darcadedb.command.timeout={COMMAND_TIMEOUT_MS}",
            "com.arcadedb.server.ArcadeDBServer",
        ]
        log = self.log_path.open("wb")
        # cwd = root: ArcadeDB writes ./log/ relative to the working directory.
        self.process = subprocess.Popen(command, cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerUnavailable(f"ArcadeDB exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.http_url}/api/v1/ready", timeout=2.0).status_code == 204:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise ServerUnavailable(f"ArcadeDB was not ready within {_READY_TIMEOUT_S:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # a query still running can hold shutdown
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    # ---- databases, through the HTTP server API (Cypher `CREATE DATABASE` is refused over Bolt)

    def command(self, command: str) -> dict:
        response = httpx.post(f"{self.http_url}/api/v1/server", json={"command": command},
                              auth=("root", ROOT_PASSWORD), timeout=30.0)
        response.raise_for_status()
        return response.json()

    def create_database(self, name: str) -> None:
        self.command(f"create database {name}")

    def drop_database(self, name: str) -> None:
        self.command(f"drop database {name}")

    def databases(self) -> list[str]:
        return list(self.command("list databases")["result"])


_shared: ArcadeDBServer | None = None


def acquire() -> ArcadeDBServer:
    """The session's server, started on first use."""
    global _shared
    if _shared is None:
        root = Path(tempfile.mkdtemp(prefix="arcadedb-bolt-"))
        server = ArcadeDBServer(root, free_port(), free_port())
        try:
            server.start()
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        _shared = server
    _shared.users += 1
    return _shared


def release(server: ArcadeDBServer) -> None:
    global _shared
    server.users -= 1
    if server.users <= 0 and server is _shared:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        _shared = None


def neo4j_settings(server: ArcadeDBServer, tmp_path: Path, **overrides: object) -> NodeSettings:
    values: dict[str, object] = {
        "GRAPH_BACKEND_TYPE": "neo4j_community",
        "NEO4J_URI": server.bolt_uri,
        "NEO4J_USERNAME": "root",
        "NEO4J_PASSWORD": ROOT_PASSWORD,
        "NEO4J_MAX_CONNECTION_POOL_SIZE": 8,
        "KUZU_DATABASE_PATH": str(tmp_path / "data"),
        "KUZU_MAX_DATABASES_PER_NODE": 50,
        "GRAPH_API_QUEUE_TIMEOUT": 5,
        "GRAPH_API_SYSTEM_MEMORY_HIGH_WATER_PERCENT": 100,  # the node's own limits only, never the host's
        "GRAPH_API_MIN_FREE_DISK_MB": 0,  # nor the host's free disk
    }
    values.update(overrides)
    return NodeSettings(**values)  # type: ignore[arg-type]
