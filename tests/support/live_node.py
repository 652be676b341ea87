"""A node API in its own process on 127.0.0.1, as it runs in production (`python -m node_api`):
the one helper every suite uses to launch a real node.

    with LiveNode(tmp_path / "dbs", env={"GRAPH_BACKEND_TYPE": "kuzu"}) as node:
        httpx.get(node.url + "/status/live")

The node gets a free port (kept across restarts, so `url` stays valid), its own base path and its own
limits (`NODE_LIMITS_ENV`: never the host's free memory or load), and writes its log to `log_path`
(appended to across restarts). Readiness is `GET /status/live` answering 200, polled until one
deadline; `stop()` sends SIGTERM and SIGKILL if the node has not exited by its deadline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType

import httpx

from tests.support.node import API_KEY, REPO_ROOT
from tests.support.ports import free_port
from tests.support.waiting import until_sync

# Admission that watches only the node's own processes: the host checks off, so a busy CI machine's
# memory or a full disk never makes a test's node answer 503 or 507 (for every node a test starts, local clusters included).
HOST_CHECKS_OFF = {"GRAPH_API_SYSTEM_MEMORY_HIGH_WATER_PERCENT": "100", "GRAPH_API_MIN_FREE_DISK_MB": "0"}

# The node's own limits: small engines, a memory limit no test reaches unless it sets its own (the
# spec's KUZU_* names, which the tests override by the same names).
NODE_LIMITS_ENV = {
    "KUZU_MEMORY_PER_DB_MB": "512",
    "KUZU_MAX_DB_SIZE_GB": "16",
    "KUZU_THREADS_PER_DB": "1",
    "KUZU_MAX_MEMORY_MB": "16384",
    **HOST_CHECKS_OFF,
}


class NodeExited(RuntimeError):
    """The node process exited before it was ready; the message carries its log's tail."""


class LiveNode:
    """One node process. `env` is added to this process's environment after `NODE_LIMITS_ENV` (so it
    may replace any limit); `module` is what `python -m` runs with `--base-path` and `--port`."""

    def __init__(self, base_path: Path, env: dict[str, str] | None = None, *, module: str = "node_api",
                 api_key: str = API_KEY, ready_timeout_s: float = 60.0, stop_timeout_s: float = 15.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_path = base_path
        self.log_path = base_path.parent / f"node-{self.port}.log"
        self.module = module
        self.env = {**os.environ, "GRAPH_API_KEY": api_key, **NODE_LIMITS_ENV, **(env or {})}
        self.ready_timeout_s = ready_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "the node was never started"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> LiveNode:
        """Starts the process and returns once it answers /status/live (raises NodeExited if it dies,
        AssertionError if it is not ready within `ready_timeout_s`)."""
        self.base_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, "--base-path", str(self.base_path), "--port", str(self.port)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO_ROOT,
            )
        try:
            until_sync(self._ready, timeout_s=self.ready_timeout_s, interval_s=0.05,
                       what=f"node {self.url} answering /status/live")
        except BaseException:
            self.stop()
            raise
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise NodeExited(f"node exited with {self.process.returncode}:\n{self.log_tail()}")
        try:
            return httpx.get(self.url + "/status/live", timeout=1, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """SIGTERM (a graceful shutdown), then SIGKILL if the node is still there after `stop_timeout_s`."""
        if not self.running():
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def kill(self) -> None:
        """SIGKILL, as when a machine dies: no shutdown code runs, connections break mid-answer."""
        if self.running():
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)

    def logs(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.logs()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> LiveNode:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
