"""Fixtures for the node API: an in-process app over httpx, and a real node process on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from node_api.app import create_app
from node_api.settings import NodeSettings
from tests.support.node import in_process_client, node_settings

API_KEY = "test-key-" + "x" * 55
HEADERS = {"X-Graph-API-Key": API_KEY}
REPO_ROOT = Path(__file__).resolve().parents[2]

# A query that runs for many seconds unless it is interrupted (about 1e9 rows).
SLOW_QUERY = "UNWIND range(1, 40000) AS x UNWIND range(1, 40000) AS y RETURN sum(x * y)"


def make_settings(base_path: Path, **overrides: Any) -> NodeSettings:
    return node_settings(base_path, API_KEY, **{"max_databases": 100, "max_open_databases": 100, **overrides})


def node_client(settings: NodeSettings, **app_kwargs: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return in_process_client(create_app(settings, **app_kwargs), HEADERS)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., NodeSettings]:
    return lambda **overrides: make_settings(tmp_path / "dbs", **overrides)


@pytest.fixture
async def client(settings_factory: Callable[..., NodeSettings]) -> AsyncIterator[httpx.AsyncClient]:
    async with node_client(settings_factory()) as c:
        yield c


PERSON_DDL = "CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY(id)); " \
             "CREATE REL TABLE Knows(FROM Person TO Person, since INT64)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveNode:
    """A node API in its own process on 127.0.0.1, as it runs in production."""

    module = "node_api"  # run as `python -m <module> --base-path ... --port ...`
    log_mode = "wb"
    poll_s = 0.1  # between readiness probes

    def __init__(self, base_path: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_path = base_path
        self.log_path = base_path.parent / f"node-{self.port}.log"
        self.env = {**os.environ, "GRAPH_API_KEY": API_KEY, "KUZU_MEMORY_PER_DB_MB": "512", "GRAPH_API_SYSTEM_MEMORY_HIGH_WATER_PERCENT": "100",
                    "KUZU_MAX_DB_SIZE_GB": "16", "KUZU_THREADS_PER_DB": "1", **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveNode:
        self.log = open(self.log_path, self.log_mode)  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, "--base-path", str(self.base_path), "--port", str(self.port)],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"node exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/status/live", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(self.poll_s)
        raise RuntimeError("node did not start in 30 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()

    def logs(self) -> list[str]:
        return self.log_path.read_text().splitlines()


@pytest.fixture
def live_node(tmp_path: Path) -> Iterator[LiveNode]:
    node = LiveNode(tmp_path / "dbs").start()
    try:
        yield node
    finally:
        node.stop()
