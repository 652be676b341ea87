"""Every database, query and node endpoint through both clients, against a real node process."""

from __future__ import annotations

import uuid

import pytest

from client import (
    AsyncGraphClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    GraphClient,
    InvalidQueryError,
    NotFoundError,
    QueryTimeoutError,
)
from tests.client.conftest import API_KEY, PERSON_DDL
from tests.support.live_node import LiveNode
from tests.support.node import SLOW_QUERY


def new_id(prefix: str = "g") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def client(node: LiveNode):
    with GraphClient(node.url, API_KEY) as c:
        yield c


@pytest.fixture(scope="module")
def people_graph(client: GraphClient) -> str:
    graph_id = new_id("people")
    client.create_database(graph_id, "custom", PERSON_DDL)
    client.query(graph_id, "UNWIND range(1, 5) AS i CREATE (:Person {id: i, name: 'p' + string(i)})")
    return graph_id


def test_database_lifecycle(client: GraphClient) -> None:
    graph_id = new_id()
    created = client.create_database(graph_id)
    assert (created.graph_id, created.schema_type, created.status) == (graph_id, "entity", "success")
    assert graph_id in {d.graph_id for d in client.list_databases().databases}
    info = client.get_database(graph_id)
    assert info.graph_id == graph_id and info.created_at == created.created_at
    assert client.delete_database(graph_id).graph_id == graph_id
    with pytest.raises(NotFoundError) as err:
        client.get_database(graph_id)
    assert err.value.code == "database_not_found" and err.value.request_id and err.value.status_code == 404
    assert err.value.body["error"]["code"] == "database_not_found"


async def test_custom_without_ddl_is_an_empty_graph_in_both_clients(client: GraphClient, node: LiveNode) -> None:
    blank = new_id("blank")
    assert client.create_database(blank, "custom").schema_type == "custom"
    assert client.get_schema(blank).node_tables == []
    client.apply_schema(blank, PERSON_DDL)
    assert [t.name for t in client.get_schema(blank).node_tables] == ["Person"]
    async with AsyncGraphClient(node.url, API_KEY) as c:
        ablank = new_id("ablank")
        assert (await c.create_database(ablank, "custom")).schema_type == "custom"
        assert (await c.get_schema(ablank)).rel_tables == []


def test_create_twice_is_a_conflict(client: GraphClient) -> None:
    graph_id = new_id()
    client.create_database(graph_id)
    with pytest.raises(ConflictError) as err:
        client.create_database(graph_id)
    assert err.value.code == "database_exists"


def test_query_returns_rows_and_records(client: GraphClient, people_graph: str) -> None:
    result = client.query(people_graph, "MATCH (p:Person) WHERE p.id <= $n RETURN p.id AS id ORDER BY id",
                          {"n": 3})
    assert result.columns == ["id"] and result.rows == [[1], [2], [3]] and result.row_count == 3
    assert result.records() == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_typed_query_errors(client: GraphClient, people_graph: str) -> None:
    with pytest.raises(InvalidQueryError) as err:
        client.query(people_graph, "MATCH (n RETURN n")
    assert err.value.status_code == 400 and err.value.code == "invalid_query"
    with pytest.raises(ForbiddenError):
        client.query(people_graph, "INSTALL httpfs")
    with pytest.raises(QueryTimeoutError) as timeout:
        client.query(people_graph, SLOW_QUERY, timeout=0.5)
    assert timeout.value.code == "query_timeout"
    with pytest.raises(BadRequestError) as bad:
        client.create_database("not a valid id!")
    assert bad.value.status_code == 422


def test_wrong_key_is_an_authentication_error(node: LiveNode) -> None:
    with GraphClient(node.url, "wrong-" + "k" * 58) as c, pytest.raises(AuthenticationError) as err:
        c.list_databases()
    assert err.value.status_code == 401


def test_health_info_and_database_status(client: GraphClient, people_graph: str) -> None:
    status = client.health()
    assert status.ready and status.backend == "ladybug"  # the default engine
    assert client.live().status == "alive"
    info = client.info()
    assert info.database_count >= 1 and "max_concurrent_queries" in info.limits
    statuses = {d.graph_id: d for d in client.databases_status().databases}
    assert people_graph in statuses


def test_request_path_values_are_quoted(client: GraphClient) -> None:
    # A graph id with a slash cannot reach another route: it is one (invalid) path segment.
    with pytest.raises((NotFoundError, BadRequestError)):
        client.get_database("a/../../status")


async def test_async_client_same_mapping(node: LiveNode, people_graph: str) -> None:
    async with AsyncGraphClient(node.url, API_KEY) as c:
        graph_id = new_id("async")
        created = await c.create_database(graph_id, "custom", PERSON_DDL)
        assert created.graph_id == graph_id
        await c.query(graph_id, "CREATE (:Person {id: 1, name: 'a'})")
        result = await c.query(graph_id, "MATCH (p:Person) RETURN p.name AS name")
        assert result.rows == [["a"]]
        assert (await c.get_database(graph_id)).graph_id == graph_id
        assert graph_id in {d.graph_id for d in (await c.list_databases()).databases}
        assert (await c.health()).ready and (await c.live()).status == "alive"
        assert (await c.info()).instance_id
        assert any(d.graph_id == graph_id for d in (await c.databases_status()).databases)
        with pytest.raises(InvalidQueryError):
            await c.query(people_graph, "RETURN (")
        await c.delete_database(graph_id)
        with pytest.raises(NotFoundError):
            await c.delete_database(graph_id)
