"""Real node processes on 127.0.0.1 (shared per session: each takes about a second to start), S3
as moto's threaded server on loopback (the node's DuckDB reads it over HTTP), and Parquet data."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto.server import ThreadedMotoServer

from tests.node_api.conftest import API_KEY, PERSON_DDL, REPO_ROOT, LiveNode

__all__ = ["API_KEY", "PERSON_DDL", "ClientNode"]

BUCKET = "client-data"


class ClientNode(LiveNode):
    """A LiveNode running the app with staging wired (tests/client/node_server.py)."""

    def start(self) -> ClientNode:
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.client.node_server", "--base-path", str(self.base_path),
             "--port", str(self.port)],
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
                time.sleep(0.05)
        raise RuntimeError("node did not start in 30 s")

    def kill(self) -> None:
        """SIGKILL: connections break mid-answer, as when a machine dies."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.log.close()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3(s3_endpoint: str):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="session")
def local_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-root")


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str, local_root: Path) -> Iterator[ClientNode]:
    """The shared node: staging on, file:// under `local_root`, S3 at moto."""
    env = {"AWS_ENDPOINT_URL": s3_endpoint, "GRAPH_API_STAGING_LOCAL_ROOT": str(local_root),
           "KUZU_CHUNK_SIZE": "100", "KUZU_MAX_DATABASES_PER_NODE": "200"}
    n = ClientNode(tmp_path_factory.mktemp("node-a") / "dbs", env).start()
    yield n
    n.stop()


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def people(n: int, start: int = 0) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"person {i}" for i in ids]})


@pytest.fixture(scope="session")
def node_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientNode]:
    """A second node, for routing between two processes."""
    n = ClientNode(tmp_path_factory.mktemp("node-b") / "dbs").start()
    yield n
    n.stop()
