"""Staging tables, ingestion, S3 copy and tasks (status, list, SSE monitor, wait) through both clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from client import (
    AsyncGraphClient,
    BadRequestError,
    ForbiddenError,
    GraphClient,
    NotFoundError,
    TaskFailedError,
)
from tests.client.conftest import API_KEY, BUCKET, PERSON_DDL, parquet_bytes, people
from tests.support.live_node import LiveNode


@pytest.fixture(scope="module")
def client(node: LiveNode):
    with GraphClient(node.url, API_KEY) as c:
        yield c


@pytest.fixture
def graph(client: GraphClient, request: pytest.FixtureRequest) -> str:
    graph_id = "st_" + request.node.name[:40].replace("[", "_").replace("]", "")
    client.create_database(graph_id, "custom", PERSON_DDL)
    return graph_id


@pytest.fixture(scope="module")
def s3_people(s3) -> str:
    s3.put_object(Bucket=BUCKET, Key="people/part-0.parquet", Body=parquet_bytes(people(300)))
    s3.put_object(Bucket=BUCKET, Key="people/part-1.parquet", Body=parquet_bytes(people(200, start=300)))
    return f"s3://{BUCKET}/people/*.parquet"


def test_a_local_path_outside_the_root_is_refused_naming_the_root(client: GraphClient, graph: str,
                                                                 local_root: Path) -> None:
    """The root goes in `details` only (the message stays the same for every node), like backups'
    `details.backup_root`; the refused file is never read."""
    with pytest.raises(BadRequestError) as refused:
        client.create_table(graph, "Person", "file:///etc/passwd")
    assert refused.value.code == "invalid_source"
    assert refused.value.message == "'file:///etc/passwd' is outside the allowed local root"
    assert refused.value.details == {"local_root": str(local_root.resolve())}


def test_staging_table_lifecycle_and_ingest(client: GraphClient, graph: str, s3_people: str) -> None:
    created = client.create_table(graph, "Person", s3_people)
    assert created.row_count == 500 and created.table_name == "Person" and created.task_id
    assert [t.table_name for t in client.list_tables(graph)] == ["Person"]
    assert client.get_table(graph, "Person").row_count == 500

    result = client.query_tables(graph, "SELECT count(*) AS n FROM Person")
    assert result.rows == [[500]] and not result.truncated
    with client.query_tables_stream(graph, "SELECT id FROM Person ORDER BY id") as rows:
        assert rows.columns == ["id"]
        assert [r[0] for r in rows] == list(range(500))
    with pytest.raises(ForbiddenError):
        client.query_tables(graph, "DELETE FROM Person")

    ingested = client.ingest_table(graph, "Person")
    assert (ingested.rows_received, ingested.rows_ingested, ingested.status) == (500, 500, "success")
    assert client.query(graph, "MATCH (p:Person) RETURN count(p)").rows == [[500]]

    assert client.delete_table(graph, "Person").status == "success"
    with pytest.raises(NotFoundError):
        client.get_table(graph, "Person")


def test_start_ingest_monitor_and_wait(client: GraphClient, graph: str, local_root: Path) -> None:
    (local_root / f"{graph}.parquet").write_bytes(parquet_bytes(people(50)))
    client.create_table(graph, "Person", f"file://{local_root}/{graph}.parquet")
    accepted = client.start_ingest(graph, "Person")
    assert accepted.kind and accepted.monitor_url.endswith("/monitor")
    states = list(client.monitor_task(accepted.task_id))
    assert states[-1].status == "succeeded" and states[-1].result["rows_ingested"] == 50
    assert all(not s.done for s in states[:-1])
    # The task is over: waiting again answers at once with its final state.
    assert client.wait_task(accepted.task_id, timeout=10).result["rows_ingested"] == 50
    assert client.get_task(accepted.task_id).status == "succeeded"
    listed = client.list_tasks(graph_id=graph)
    assert accepted.task_id in {t.task_id for t in listed.tasks}


def test_start_create_table_reports_rows_as_it_stages(client: GraphClient, graph: str, s3_people: str) -> None:
    accepted = client.start_create_table(graph, "Person", s3_people)
    assert accepted.kind == "stage_table" and accepted.monitor_url.endswith("/monitor")
    states = list(client.monitor_task(accepted.task_id))
    done = states[-1]
    assert done.status == "succeeded" and done.result["row_count"] == 500 and done.result["table_name"] == "Person"
    assert (done.rows_done, done.rows_total) == (500, 500) and done.rows_per_second > 0
    assert {s.phase for s in states if s.status == "running"} <= {None, "staging"}  # None: before its first report
    assert client.get_table(graph, "Person").row_count == 500
    with pytest.raises(BadRequestError) as bad:  # refused before anything is queued
        client.start_create_table(graph, "Person", "http://example.com/x.parquet")
    assert bad.value.code == "invalid_source"


def test_copy_from_s3_and_a_failed_task(client: GraphClient, graph: str, s3_people: str) -> None:
    task = client.copy_from_s3(graph, s3_people, "Person")
    done = client.wait_task(task.task_id, timeout=30)
    assert done.status == "succeeded"
    assert client.query(graph, "MATCH (p:Person) RETURN count(p)").rows == [[500]]
    # The same rows again: duplicate primary keys fail the copy (without ignore_errors).
    again = client.copy_from_s3(graph, s3_people, "Person")
    with pytest.raises(TaskFailedError) as err:
        client.wait_task(again.task_id, timeout=30)
    assert err.value.code and err.value.task.status == "failed"


def test_unknown_task_and_bad_source(client: GraphClient, graph: str) -> None:
    with pytest.raises(NotFoundError) as err:
        client.get_task("task_does_not_exist")
    assert err.value.code == "task_not_found"
    with pytest.raises(BadRequestError) as bad:
        client.create_table(graph, "Person", "http://example.com/x.parquet")
    assert bad.value.code == "invalid_source"


async def test_async_staging_and_monitor(node: LiveNode, graph: str, s3_people: str) -> None:
    async with AsyncGraphClient(node.url, API_KEY) as c:
        staging = await c.start_create_table(graph, "Person", s3_people)
        assert (await c.wait_task(staging.task_id, timeout=30)).result["row_count"] == 500
        assert (await c.create_table(graph, "Person", s3_people)).row_count == 500
        assert [t.table_name for t in await c.list_tables(graph)] == ["Person"]
        assert (await c.get_table(graph, "Person")).table_name == "Person"
        assert (await c.query_tables(graph, "SELECT max(id) FROM Person")).rows == [[499]]
        async with c.query_tables_stream(graph, "SELECT id FROM Person") as rows:
            assert len([r async for r in rows]) == 500
        accepted = await c.start_ingest(graph, "Person")
        states = [t async for t in c.monitor_task(accepted.task_id)]
        assert states[-1].status == "succeeded"
        assert (await c.wait_task(accepted.task_id, timeout=5)).result["rows_ingested"] == 500
        assert (await c.get_task(accepted.task_id)).done
        assert (await c.list_tasks(graph_id=graph, limit=5)).total >= 1
        copy = await c.copy_from_s3(graph, s3_people, "Person", ignore_errors=True)
        assert (await c.wait_task(copy.task_id, timeout=30)).status == "succeeded"
        result = await c.ingest_table(graph, "Person", ignore_errors=True)
        assert result.rows_ingested == 0 and result.rows_received == 500
        assert (await c.delete_table(graph, "Person")).status == "success"
