"""get_graph_client routing over the DynamoDB registries (moto's server on 127.0.0.1) to two nodes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import boto3
import pytest

import client.factory as factory_module
from client import (
    AsyncGraphClient,
    ClientConfig,
    GraphClient,
    GraphNotRegisteredError,
    GraphUnavailableError,
    NodeUnreachableError,
)
from client.factory import GraphClientFactory, get_graph_client
from client.routing import SHARED_REPLICA, open_registry
from contracts.registry import (
    GraphItem,
    InstanceItem,
    InstanceStatus,
    NodeType,
    RepositoryType,
    create_tables,
)
from tests.client.conftest import API_KEY, ClientNode
from tests.node_api.conftest import free_port

Register = Callable[..., None]


@pytest.fixture
def env(s3_endpoint: str) -> str:
    """A fresh environment name: its own registry tables on the shared moto server."""
    name = "t" + uuid.uuid4().hex[:8]
    create_tables(boto3.client("dynamodb", endpoint_url=s3_endpoint, region_name="us-east-1"), name)
    return name


@pytest.fixture
def config(s3_endpoint: str, env: str) -> ClientConfig:
    return ClientConfig(api_key=API_KEY, aws_endpoint_url=s3_endpoint, environment=env, route_ttl_s=3600,
                        max_attempts=1)


@pytest.fixture
def register(config: ClientConfig, env: str) -> Register:
    registry = open_registry(config, env)

    def add(instance_id: str, url: str, node_type: str = NodeType.WRITER, tier: str = "standard") -> None:
        parts = urlsplit(url)
        item = InstanceItem(instance_id=instance_id, cluster_tier=tier, private_ip=parts.hostname,
                            port=parts.port, status=InstanceStatus.HEALTHY).to_item()
        item["node_type"] = str(node_type)  # raw: replicas are not an InstanceItem node type yet
        registry.instances.put_item(Item=item)

    return add


def graph_row(config: ClientConfig, graph_id: str, instance_id: str, shared: bool = False) -> None:
    kind = RepositoryType.SHARED if shared else RepositoryType.ENTITY
    open_registry(config, config.environment).graphs.put_item(Item=GraphItem(
        graph_id=graph_id, instance_id=instance_id, entity_id="e", cluster_tier="standard",
        repository_type=kind).to_item())


def test_create_allocates_then_reads_route_to_the_same_node(
    config: ClientConfig, register: Register, node: ClientNode, node_b: ClientNode
) -> None:
    register("i-a", node.url)
    factory = GraphClientFactory(config)
    graph_id = "kg" + uuid.uuid4().hex[:8]
    with factory.sync_client(graph_id, "create", tier="standard", entity_id="entity-1") as c:
        assert c.base_url == node.url
        c.create_database(graph_id)
    row = open_registry(config, config.environment).graphs.get_item(Key={"graph_id": graph_id})["Item"]
    assert row["instance_id"] == "i-a" and row["entity_id"] == "entity-1"
    with factory.sync_client(graph_id, "read") as c:
        assert c.get_database(graph_id).graph_id == graph_id


def test_shared_repository_writes_to_master_reads_to_replica(
    config: ClientConfig, register: Register, node: ClientNode, node_b: ClientNode
) -> None:
    register("master", node_b.url, NodeType.SHARED_MASTER, tier="shared")
    factory = GraphClientFactory(config)
    # `sec` is shared by name, even before it has a graph row.
    assert factory.route("sec", "write").url == node_b.url
    assert factory.route("sec", "read").url == node_b.url  # no replica yet: the master serves reads
    register("replica-1", node.url, SHARED_REPLICA, tier="shared")
    factory.cache.clear()
    assert factory.route("sec", "read").url == node.url
    assert factory.route("sec", "write").url == node_b.url
    # A graph row with repository_type=shared is routed the same way.
    graph_row(config, "filings", "master", shared=True)
    assert factory.route("filings", "read").url == node.url
    assert factory.route("filings", "write").url == node_b.url


def test_unreachable_node_drops_the_cached_route(
    config: ClientConfig, register: Register, node: ClientNode, node_b: ClientNode
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    register("i-dead", dead)
    graph_row(config, "moving", "i-dead")
    factory = GraphClientFactory(config)
    with factory.sync_client("moving", "write") as c, pytest.raises(NodeUnreachableError):
        c.list_databases()
    # The operator moved the graph; the cache (TTL an hour) was dropped, so the move is seen now.
    register("i-b", node_b.url)
    graph_row(config, "moving", "i-b")
    with factory.sync_client("moving", "write") as c:
        assert c.base_url == node_b.url and c.health().ready


def test_routes_are_cached_for_their_ttl(config: ClientConfig, register: Register, node: ClientNode,
                                         node_b: ClientNode) -> None:
    register("i-a", node.url)
    register("i-b", node_b.url)
    graph_row(config, "cached", "i-a")
    factory = GraphClientFactory(config.model_copy(update={"route_ttl_s": 0.3}))
    assert factory.route("cached").url == node.url
    graph_row(config, "cached", "i-b")
    assert factory.route("cached").url == node.url  # still cached
    time.sleep(0.35)
    assert factory.route("cached").url == node_b.url


def test_unknown_and_unavailable_graphs(config: ClientConfig, register: Register, node: ClientNode) -> None:
    factory = GraphClientFactory(config)
    with pytest.raises(GraphNotRegisteredError):
        factory.route("nowhere", "read")
    register("i-a", node.url)
    graph_row(config, "sick", "i-a")
    open_registry(config, config.environment).instances.update_item(
        Key={"instance_id": "i-a"}, UpdateExpression="SET #s = :u",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":u": "unhealthy"})
    with pytest.raises(GraphUnavailableError):
        factory.route("sick", "read")


def test_local_development_routes_to_one_url(node: ClientNode) -> None:
    factory = GraphClientFactory(ClientConfig(local_url=node.url, api_key=API_KEY,
                                              aws_endpoint_url="http://127.0.0.1:9"))
    with factory.sync_client("anything", "write") as c:
        assert isinstance(c, GraphClient) and c.base_url == node.url and c.health().ready


async def test_get_graph_client_async_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, config: ClientConfig, register: Register, node: ClientNode
) -> None:
    register("i-a", node.url)
    graph_row(config, "asyncgraph", "i-a")
    monkeypatch.setenv("GRAPH_CLIENT_AWS_ENDPOINT_URL", config.aws_endpoint_url or "")
    monkeypatch.setenv("GRAPH_CLIENT_ENVIRONMENT", config.environment)
    monkeypatch.setenv("GRAPH_CLIENT_API_KEY", API_KEY)
    factory_module.default_factory.cache_clear()
    try:
        async with await get_graph_client("asyncgraph", "read", tier="standard") as c:
            assert isinstance(c, AsyncGraphClient) and c.base_url == node.url
            assert (await c.health()).ready
    finally:
        factory_module.default_factory.cache_clear()
