"""Real node processes on 127.0.0.1 (tests/support/live_node.py; shared per session: each takes about
a second to start), S3 as moto's threaded server on loopback (the node's DuckDB reads it over HTTP),
and Parquet data."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pyarrow as pa
import pytest
from botocore.credentials import Credentials

from contracts.enums import InstanceStatus, NodeType, RepositoryType
from contracts.registry import GRAPH_REGISTRY, INSTANCE_REGISTRY, GraphItem, InstanceItem, create_tables
from tests.support.aws import s3_client
from tests.support.live_node import LiveNode
from tests.support.node import API_KEY, PERSON_DDL, parquet_bytes
from tests.support.router import issue_credentials, router_settings, running_router

__all__ = ["API_KEY", "PERSON_DDL", "Register", "parquet_bytes", "tables"]

Register = Callable[..., None]

BUCKET = "client-data"


@pytest.fixture(scope="session")
def s3(s3_endpoint: str):
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="session")
def local_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-root")


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str, local_root: Path) -> Iterator[LiveNode]:
    """The shared node: staging on, file:// under `local_root`, S3 at moto."""
    env = {"AWS_ENDPOINT_URL": s3_endpoint, "GRAPH_API_STAGING_LOCAL_ROOT": str(local_root),
           "KUZU_CHUNK_SIZE": "100", "KUZU_MAX_DATABASES_PER_NODE": "200"}
    with LiveNode(tmp_path_factory.mktemp("node-a") / "dbs", env) as n:
        yield n


def people(n: int, start: int = 0) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"person {i}" for i in ids]})


@pytest.fixture(scope="session")
def node_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    """A second node, for routing between two processes."""
    with LiveNode(tmp_path_factory.mktemp("node-b") / "dbs") as n:
        yield n


# --- routing: registries in moto's server, the router API under uvicorn ------------------------------
@pytest.fixture
def env(s3_endpoint: str) -> str:
    """A fresh environment name: its own registry tables on the shared moto server."""
    name = "t" + uuid.uuid4().hex[:8]
    create_tables(boto3.client("dynamodb", endpoint_url=s3_endpoint, region_name="us-east-1"), name)
    return name


@pytest.fixture
def credentials_file(tmp_path: Path) -> Path:
    return tmp_path / "credentials.json"


@pytest.fixture
def credentials(s3_endpoint: str, credentials_file: Path) -> Credentials:
    return issue_credentials(s3_endpoint, credentials_file, "client-" + uuid.uuid4().hex[:6])


@pytest.fixture
def router_url(s3_endpoint: str, env: str, credentials_file: Path, credentials: Credentials) -> Iterator[str]:
    with running_router(router_settings(s3_endpoint, env, credentials_file)) as url:
        yield url


def tables(s3_endpoint: str, env: str) -> tuple[object, object]:
    dynamodb = boto3.resource("dynamodb", endpoint_url=s3_endpoint, region_name="us-east-1")
    return dynamodb.Table(INSTANCE_REGISTRY.table_name(env)), dynamodb.Table(GRAPH_REGISTRY.table_name(env))


@pytest.fixture
def register(s3_endpoint: str, env: str) -> Register:
    instances, _ = tables(s3_endpoint, env)

    def add(instance_id: str, url: str, node_type: str = NodeType.WRITER, tier: str = "standard") -> None:
        parts = urlsplit(url)
        item = InstanceItem(instance_id=instance_id, cluster_tier=tier, private_ip=parts.hostname,
                            port=parts.port, status=InstanceStatus.HEALTHY).to_item()
        item["node_type"] = str(node_type)  # raw: replicas are not an InstanceItem node type
        instances.put_item(Item=item)

    return add


@pytest.fixture
def graph_row(s3_endpoint: str, env: str) -> Callable[..., None]:
    _, graphs = tables(s3_endpoint, env)

    def put(graph_id: str, instance_id: str, shared: bool = False) -> None:
        kind = RepositoryType.SHARED if shared else RepositoryType.ENTITY
        graphs.put_item(Item=GraphItem(graph_id=graph_id, instance_id=instance_id, entity_id="e",
                                       cluster_tier="standard", repository_type=kind).to_item())

    return put


