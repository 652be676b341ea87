"""get_graph_client routing: through the router API (uvicorn on 127.0.0.1, SigV4 checked against
credentials moto's IAM issued) over the registries in moto's server, to two real node processes; and
the direct-registry path, whose failures are typed routing errors, never botocore's."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import boto3
import pytest
from botocore.credentials import Credentials

import client.factory as factory_module
from client import (
    AllocationError,
    AsyncGraphClient,
    ClientConfig,
    GraphClient,
    GraphNotRegisteredError,
    GraphUnavailableError,
    NodeUnreachableError,
    RegistryUnavailableError,
    RouterAuthError,
    RouterUnavailableError,
    routing,
)
from client.factory import GraphClientFactory, get_graph_client
from contracts.enums import SHARED_REPLICA, NodeType
from tests.client.conftest import API_KEY, Register, tables
from tests.support.live_node import LiveNode
from tests.support.ports import free_port


@pytest.fixture
def config(env: str, router_url: str) -> ClientConfig:
    return ClientConfig(api_key=API_KEY, router_url=router_url, environment=env, route_ttl_s=3600, max_attempts=1)


@pytest.fixture
def factory(config: ClientConfig, credentials: Credentials) -> GraphClientFactory:
    return GraphClientFactory(config, credentials=credentials)


def test_create_allocates_through_the_router_then_reads_route_to_the_same_node(
    factory: GraphClientFactory, register: Register, node: LiveNode, s3_endpoint: str, env: str
) -> None:
    register("i-a", node.url)
    graph_id = "kg" + uuid.uuid4().hex[:8]
    with factory.sync_client(graph_id, "create", tier="standard", entity_id="entity-1") as c:
        assert c.base_url == node.url
        c.create_database(graph_id)
    row = tables(s3_endpoint, env)[1].get_item(Key={"graph_id": graph_id})["Item"]
    assert row["instance_id"] == "i-a" and row["entity_id"] == "entity-1"
    factory.cache.clear()
    with factory.sync_client(graph_id, "read") as c:
        assert c.get_database(graph_id).graph_id == graph_id
    # Creating again is idempotent (same owner): the same placement.
    assert factory.route(graph_id, "create", entity_id="entity-1").instance_id == "i-a"


def test_shared_repository_writes_to_master_reads_to_replica(
    factory: GraphClientFactory, register: Register, graph_row, node: LiveNode, node_b: LiveNode
) -> None:
    register("master", node_b.url, NodeType.SHARED_MASTER, tier="shared")
    # `sec` is shared by name, even before it has a graph row.
    assert factory.route("sec", "write").url == node_b.url
    assert factory.route("sec", "read").url == node_b.url  # no replica yet: the master serves reads
    register("replica-1", node.url, SHARED_REPLICA, tier="shared")
    factory.cache.clear()
    assert factory.route("sec", "read").url == node.url
    assert factory.route("sec", "write").url == node_b.url
    graph_row("filings", "master", shared=True)
    assert factory.route("filings", "read").url == node.url
    assert factory.route("filings", "write").url == node_b.url


def test_unreachable_node_drops_the_cached_route(
    factory: GraphClientFactory, register: Register, graph_row, node_b: LiveNode
) -> None:
    register("i-dead", f"http://127.0.0.1:{free_port()}")
    graph_row("moving", "i-dead")
    with factory.sync_client("moving", "write") as c, pytest.raises(NodeUnreachableError):
        c.list_databases()
    # The graph moved (a failover); the cache (TTL an hour) was dropped, so the move is seen now.
    register("i-b", node_b.url)
    graph_row("moving", "i-b")
    with factory.sync_client("moving", "write") as c:
        assert c.base_url == node_b.url and c.health().ready


def test_routes_are_cached_for_their_ttl(factory: GraphClientFactory, register: Register, graph_row,
                                         node: LiveNode, node_b: LiveNode, credentials: Credentials,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The cache's clock, moved by the test: the TTL passes when the test says, however slow the host.
    now = [1_000.0]
    monkeypatch.setattr(routing, "time", SimpleNamespace(monotonic=lambda: now[0]))
    register("i-a", node.url)
    register("i-b", node_b.url)
    graph_row("cached", "i-a")
    short = GraphClientFactory(factory.config.model_copy(update={"route_ttl_s": 30}), credentials=credentials)
    assert short.route("cached").url == node.url
    graph_row("cached", "i-b")
    now[0] += 29
    assert short.route("cached").url == node.url  # still cached
    now[0] += 2
    assert short.route("cached").url == node_b.url


def test_unknown_unavailable_and_refused_graphs_are_typed(
    factory: GraphClientFactory, register: Register, graph_row, node: LiveNode, s3_endpoint: str, env: str
) -> None:
    with pytest.raises(GraphNotRegisteredError):
        factory.route("nowhere", "read")
    register("i-a", node.url)
    graph_row("sick", "i-a")
    tables(s3_endpoint, env)[0].update_item(
        Key={"instance_id": "i-a"}, UpdateExpression="SET #s = :u",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":u": "unhealthy"})
    with pytest.raises(GraphUnavailableError) as unavailable:
        factory.route("sick", "read")
    assert unavailable.value.status == "unavailable"
    # The same id for another owner is the allocator's conflict; no healthy writer is no_capacity.
    with pytest.raises(AllocationError) as conflict:
        factory.route("sick", "create", entity_id="someone-else")
    assert conflict.value.code == "conflict"
    with pytest.raises(AllocationError) as full:
        factory.route("newgraph", "create")
    assert full.value.code == "no_capacity"


def test_router_refuses_unsigned_or_wrongly_signed_requests(
    config: ClientConfig, credentials: Credentials
) -> None:
    wrong = Credentials(credentials.access_key, "x" * 40)
    with pytest.raises(RouterAuthError) as refused:
        GraphClientFactory(config, credentials=wrong).route("anything")
    assert refused.value.code == "forbidden"
    unknown = Credentials("AKIAUNKNOWNUNKNOWN00", credentials.secret_key)
    with pytest.raises(RouterAuthError):
        GraphClientFactory(config, credentials=unknown).route("anything")


def test_an_unreachable_router_is_typed_and_its_breaker_opens(env: str, credentials: Credentials) -> None:
    config = ClientConfig(router_url=f"http://127.0.0.1:{free_port()}", environment=env, max_attempts=1,
                          breaker_threshold=2, breaker_recovery_s=30)
    factory = GraphClientFactory(config, credentials=credentials)
    for _ in range(2):
        with pytest.raises(RouterUnavailableError) as down:
            factory.route("g1")
        assert down.value.retry_in_s is None
    with pytest.raises(RouterUnavailableError) as opened:
        factory.route("g1")
    assert opened.value.code == "circuit_open" and opened.value.retry_in_s is not None


def test_local_development_routes_to_one_url(node: LiveNode) -> None:
    factory = GraphClientFactory(ClientConfig(local_url=node.url, api_key=API_KEY,
                                              aws_endpoint_url="http://127.0.0.1:9"))
    with factory.sync_client("anything", "write") as c:
        assert isinstance(c, GraphClient) and c.base_url == node.url and c.health().ready


def test_direct_registry_path_routes_and_its_failures_are_typed(
    register: Register, graph_row, node: LiveNode, s3_endpoint: str, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    register("i-a", node.url)
    graph_row("direct", "i-a")
    direct = ClientConfig(api_key=API_KEY, aws_endpoint_url=s3_endpoint, environment=env, max_attempts=1)
    assert GraphClientFactory(direct).route("direct").url == node.url
    # No tables for this environment: DynamoDB's ResourceNotFoundException is not what the caller sees.
    with pytest.raises(RegistryUnavailableError) as missing:
        GraphClientFactory(direct.model_copy(update={"environment": "nosuchenv"})).route("direct")
    assert "ResourceNotFoundException" in str(missing.value)
    # No credentials at all: botocore's NoCredentialsError is not what the caller sees either.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it cached the credentials it found before
    with pytest.raises(RegistryUnavailableError) as nocreds:
        GraphClientFactory(direct).route("direct")
    assert "NoCredentialsError" in str(nocreds.value)
    with pytest.raises(RouterAuthError):
        GraphClientFactory(direct.model_copy(update={"router_url": "http://127.0.0.1:9"})).route("direct")


async def test_get_graph_client_async_from_graph_router_url(
    monkeypatch: pytest.MonkeyPatch, router_url: str, env: str, credentials: Credentials,
    register: Register, graph_row, node: LiveNode,
) -> None:
    register("i-a", node.url)
    graph_row("asyncgraph", "i-a")
    monkeypatch.setenv("GRAPH_ROUTER_URL", router_url)
    monkeypatch.setenv("GRAPH_CLIENT_ENVIRONMENT", env)
    monkeypatch.setenv("GRAPH_CLIENT_API_KEY", API_KEY)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_key)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_SECURITY_TOKEN", raising=False)
    factory_module.default_factory.cache_clear()
    try:
        async with await get_graph_client("asyncgraph", "read") as c:
            assert isinstance(c, AsyncGraphClient) and c.base_url == node.url
            assert (await c.health()).ready
    finally:
        factory_module.default_factory.cache_clear()
