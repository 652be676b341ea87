"""Real node processes on 127.0.0.1 (shared per session: each takes about a second to start), S3
as moto's threaded server on loopback (the node's DuckDB reads it over HTTP), and Parquet data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from tests.node_api.conftest import API_KEY, PERSON_DDL, LiveNode
from tests.support.aws import moto_server, s3_client
from tests.support.node import parquet_bytes

__all__ = ["API_KEY", "PERSON_DDL", "ClientNode", "parquet_bytes"]

BUCKET = "client-data"


class ClientNode(LiveNode):
    """A LiveNode running the app with staging wired (tests/client/node_server.py); restarts after kill()
    append to the same log."""

    module = "tests.client.node_server"
    log_mode = "ab"
    poll_s = 0.05

    def kill(self) -> None:
        """SIGKILL: connections break mid-answer, as when a machine dies."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.log.close()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def s3(s3_endpoint: str):
    client = s3_client(s3_endpoint)
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


def people(n: int, start: int = 0) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"person {i}" for i in ids]})


@pytest.fixture(scope="session")
def node_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientNode]:
    """A second node, for routing between two processes."""
    n = ClientNode(tmp_path_factory.mktemp("node-b") / "dbs").start()
    yield n
    n.stop()
