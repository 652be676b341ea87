"""Schema, backup/restore and metrics through both clients, against a real node process."""

from __future__ import annotations

import uuid

import pytest

from client import AsyncGraphClient, BadRequestError, GraphClient
from tests.client.conftest import API_KEY, PERSON_DDL
from tests.support.live_node import LiveNode


@pytest.fixture(scope="module")
def client(node: LiveNode):
    with GraphClient(node.url, API_KEY) as c:
        yield c


def test_schema_read_and_apply(client: GraphClient) -> None:
    graph_id = "schema" + uuid.uuid4().hex[:6]
    client.create_database(graph_id, "custom", PERSON_DDL)
    schema = client.get_schema(graph_id)
    assert [t.name for t in schema.node_tables] == ["Person"] and [t.name for t in schema.rel_tables] == ["Knows"]
    applied = client.apply_schema(graph_id, "CREATE NODE TABLE City(name STRING, PRIMARY KEY(name))")
    assert applied.statements_applied == 1 and {t.name for t in applied.node_tables} == {"City", "Person"}
    with pytest.raises(BadRequestError):
        client.apply_schema(graph_id, "MATCH (n) RETURN n")


def test_backup_restore_and_metrics(client: GraphClient) -> None:
    graph_id = "backup" + uuid.uuid4().hex[:6]
    client.create_database(graph_id, "custom", PERSON_DDL)
    client.query(graph_id, "UNWIND range(1, 10) AS i CREATE (:Person {id: i, name: 'p'})")
    task = client.backup_database(graph_id)
    assert client.wait_task(task.task_id, timeout=60).status == "succeeded"
    backups = client.list_backups(graph_id)
    assert backups.total == 1 and backups.backups[0].node_count == 10
    copy_id = graph_id + "_copy"
    restore = client.restore_database(graph_id, backups.backups[0].location, target_graph_id=copy_id)
    assert client.wait_task(restore.task_id, timeout=60).status == "succeeded"
    assert client.query(copy_id, "MATCH (p:Person) RETURN count(p)").rows == [[10]]

    metrics = client.database_metrics(graph_id)
    assert metrics.node_count == 10 and metrics.backups == 1
    text = client.metrics()
    assert "# TYPE" in text


async def test_async_operations(node: LiveNode) -> None:
    graph_id = "asyncops" + uuid.uuid4().hex[:6]
    async with AsyncGraphClient(node.url, API_KEY) as c:
        await c.create_database(graph_id, "custom", PERSON_DDL)
        assert (await c.get_schema(graph_id)).graph_id == graph_id
        assert (await c.apply_schema(graph_id, "CREATE NODE TABLE T(id INT64, PRIMARY KEY(id))")).status == "success"
        task = await c.backup_database(graph_id)
        assert (await c.wait_task(task.task_id, timeout=60)).status == "succeeded"
        location = (await c.list_backups(graph_id)).backups[0].location
        restore = await c.restore_database(graph_id, location)  # in place
        assert (await c.wait_task(restore.task_id, timeout=60)).status == "succeeded"
        assert (await c.database_metrics(graph_id)).backups == 1
        assert "# TYPE" in await c.metrics()
