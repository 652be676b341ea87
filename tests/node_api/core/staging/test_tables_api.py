"""Staging tables over HTTP: create/replace, list, describe, delete, and read-only queries (JSON/NDJSON/SSE)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from tests.node_api.core.staging.helpers import create_graph, entities, put_parquet, stage


async def test_table_lifecycle_and_query_formats(client, s3, staging_settings):
    await create_graph(client, "g_tables")
    put_parquet(s3, "tables/e/1.parquet", entities(50))
    created = await stage(client, "g_tables", "Entity", "s3://tenant-data/tables/e/*.parquet")
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["status"] == "success" and body["row_count"] == 50 and body["size_bytes"] > 0
    assert body["task_id"].startswith("task_") and body["execution_time_ms"] > 0

    listed = (await client.get("/databases/g_tables/tables")).json()
    assert listed[0]["table_name"] == "Entity" and listed[0]["row_count"] == 50
    assert listed[0]["s3_location"] == "s3://tenant-data/tables/e/*.parquet"
    one = (await client.get("/databases/g_tables/tables/Entity")).json()
    assert [c["name"] for c in one["columns"]] == ["identifier", "name", "score"]

    # Replace: same name, new files.
    put_parquet(s3, "tables/e2/1.parquet", entities(7))
    replaced = await stage(client, "g_tables", "Entity", "s3://tenant-data/tables/e2/*.parquet")
    assert replaced.json()["row_count"] == 7

    # Local files under the allowed root (development).
    local = staging_settings.local_root / "local.parquet"
    pq.write_table(pa.table({"k": [1, 2, 3]}), local)
    assert (await stage(client, "g_tables", "LocalT", f"file://{local}")).json()["row_count"] == 3

    sql = {"sql": "SELECT identifier, score FROM Entity ORDER BY score LIMIT 3"}
    as_json = (await client.post("/databases/g_tables/tables/query", json=sql)).json()
    assert as_json["columns"] == ["identifier", "score"]
    assert as_json["rows"] == [["e0", 0.0], ["e1", 1.0], ["e2", 2.0]] and as_json["truncated"] is False

    ndjson = await client.post(
        "/databases/g_tables/tables/query", json=sql, headers={"Accept": "application/x-ndjson"}
    )
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    assert [line["type"] for line in lines] == ["header", "rows", "summary"]
    assert lines[-1]["row_count"] == 3 and lines[-1]["complete"] is True

    sse = await client.post(
        "/databases/g_tables/tables/query", json=sql, headers={"Accept": "text/event-stream"}
    )
    assert sse.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("event: ") for line in sse.text.splitlines() if line.startswith("event:")]
    assert events == ["header", "rows", "summary"]

    deleted = await client.delete("/databases/g_tables/tables/Entity")
    assert deleted.status_code == 200 and deleted.json()["status"] == "success"
    assert (await client.delete("/databases/g_tables/tables/Entity")).status_code == 404
    assert [t["table_name"] for t in (await client.get("/databases/g_tables/tables")).json()] == ["LocalT"]


async def test_invalid_requests(client):
    await create_graph(client, "g_invalid")
    bad_name = await client.post(
        "/databases/g_invalid/tables",
        json={"table_name": "x; DROP", "s3_pattern": "s3://tenant-data/x.parquet"},
    )
    assert bad_name.status_code == 422
    bad_pattern = await stage(client, "g_invalid", "T", "s3://tenant-data/../x.parquet")
    assert bad_pattern.status_code == 400 and bad_pattern.json()["error"]["code"] == "invalid_source"
    assert (await client.get("/databases/g_invalid/tables/bad-name")).status_code == 400
    assert (await client.get("/databases/g_invalid/tables/Missing")).status_code == 404
    assert (await client.get("/databases/g_unknown/tables")).status_code == 404
    unauthenticated = await client.get("/databases/g_invalid/tables", headers={"X-Graph-API-Key": "wrong"})
    assert unauthenticated.status_code == 401


async def test_a_recreated_graph_starts_with_empty_staging(client, s3):
    await create_graph(client, "g_again")
    put_parquet(s3, "again/e.parquet", entities(4))
    assert (await stage(client, "g_again", "Entity", "s3://tenant-data/again/e.parquet")).status_code == 200
    assert (await client.delete("/databases/g_again")).status_code in (200, 204)
    await create_graph(client, "g_again")
    assert (await client.get("/databases/g_again/tables")).json() == []
    query = await client.post("/databases/g_again/tables/query", json={"sql": "SELECT * FROM Entity"})
    assert query.status_code == 400


async def test_caller_credentials_are_used_and_never_stored(client, s3, base_path):
    await create_graph(client, "g_creds")
    put_parquet(s3, "creds/e.parquet", entities(3))
    secret = "caller-secret-" + "s" * 20
    body = {
        "table_name": "Entity",
        "s3_pattern": "s3://tenant-data/creds/e.parquet",
        "s3_credentials": {
            "aws_access_key_id": "CALLERKEY",
            "aws_secret_access_key": secret,
            "region": "us-east-1",
        },
    }
    staged = await client.post("/databases/g_creds/tables", json=body)
    assert staged.status_code == 200, staged.text
    copied = await client.post("/databases/g_creds/copy", json={**body, "ignore_errors": False})
    task = (await client.get(copied.json()["status_url"])).json()
    assert secret not in json.dumps(task)
    for path in (base_path / ".tasks").iterdir():
        assert secret not in path.read_text()
