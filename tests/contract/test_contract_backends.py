"""One contract, every backend: the same HTTP scenarios against Kuzu and against a Bolt server.

Scenarios without an HTTP endpoint yet (bulk load, schema, backup/restore) go through the backend the
app started, so they still hold both engines to the same result."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from contract_api import Api

from node_api.backends import errors

DDL = ("CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY(id)); "
       "CREATE NODE TABLE City(name STRING, PRIMARY KEY(name)); "
       "CREATE REL TABLE LIVES_IN(FROM Person TO City, since INT64)")
SEED = ("CREATE (:Person {id: 1, name: 'Ann'}), (:Person {id: 2, name: 'Bob'}), (:City {name: 'Oslo'})")
LINK = ("MATCH (p:Person {id: 1}), (c:City {name: 'Oslo'}) CREATE (p)-[:LIVES_IN {since: 2001}]->(c)")


async def seeded(api: Api, graph_id: str) -> None:
    assert (await api.create(graph_id, DDL)).status_code == 201
    for cypher in (SEED, LINK):
        response = await api.query(graph_id, cypher)
        assert response.status_code == 200, response.text


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    return response.json()["error"]["code"]


# ---- lifecycle

async def test_lifecycle(api: Api, graph_id: str) -> None:
    created = await api.create(graph_id, DDL)
    assert created.status_code == 201, created.text
    assert created.json()["graph_id"] == graph_id
    assert (await api.create(graph_id, DDL)).status_code == 409
    listed = (await api.client.get("/databases")).json()
    assert graph_id in [d["graph_id"] for d in listed["databases"]]
    info = await api.client.get(f"/databases/{graph_id}")
    assert info.status_code == 200 and info.json()["schema_type"] == "custom"
    assert (await api.client.delete(f"/databases/{graph_id}")).status_code == 200
    missing = await api.client.get(f"/databases/{graph_id}")
    assert missing.status_code == 404 and error_code(missing) == "database_not_found"
    assert (await api.query(graph_id, "RETURN 1")).status_code == 404


async def test_bad_ddl_is_400_and_leaves_nothing(api: Api, graph_id: str) -> None:
    response = await api.create(graph_id, "CREATE REL TABLE R(FROM Nowhere TO Nothing)")
    assert response.status_code == 400, response.text
    assert (await api.client.get(f"/databases/{graph_id}")).status_code == 404


async def test_status_reports_backend_health(api: Api) -> None:
    response = await api.client.get("/status")
    assert response.status_code == 200, response.text


# ---- queries

async def test_query_values_have_one_shape(api: Api, graph_id: str) -> None:
    await seeded(api, graph_id)
    response = await api.query(
        graph_id, "MATCH p = (a:Person)-[r:LIVES_IN]->(c:City) RETURN a, r, p, a.name AS name, $x AS x",
        {"x": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["a", "r", "p", "name", "x"] and body["row_count"] == 1
    a, r, p, name, x = body["rows"][0]
    assert a["type"] == "node" and a["label"] == "Person" and a["properties"]["name"] == "Ann"
    assert a["properties"]["id"] == 1 and isinstance(a["id"], str)
    assert r["type"] == "relationship" and r["label"] == "LIVES_IN" and r["start"] == a["id"]
    assert r["properties"]["since"] == 2001
    assert p["type"] == "path" and [n["label"] for n in p["nodes"]] == ["Person", "City"]
    assert len(p["relationships"]) == 1 and (name, x) == ("Ann", 5)


async def test_temporal_values_are_iso_text(api: Api, graph_id: str) -> None:
    assert (await api.create(graph_id, DDL)).status_code == 201
    response = await api.query(graph_id, "RETURN date('2024-01-02') AS d, "
                                         "timestamp('2024-01-02T03:04:05') AS ts" if api.kind == "kuzu" else
                               "RETURN date('2024-01-02') AS d, localdatetime('2024-01-02T03:04:05') AS ts")
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["2024-01-02", "2024-01-02T03:04:05"]]


async def test_query_errors_are_4xx(api: Api, graph_id: str) -> None:
    await seeded(api, graph_id)
    syntax = await api.query(graph_id, "MATCH (n RETURN n")
    assert syntax.status_code == 400 and error_code(syntax) == "invalid_query"
    forbidden = await api.query(graph_id, "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l"
                                if api.kind == "neo4j" else "COPY Person FROM '/etc/passwd'")
    assert forbidden.status_code == 403 and error_code(forbidden) == "forbidden_statement"
    duplicate = await api.query(graph_id, "CREATE (:Person {id: 1, name: 'again'})")
    assert duplicate.status_code == 400, duplicate.text


async def test_query_timeout_is_408(api: Api, graph_id: str) -> None:
    assert (await api.create(graph_id, DDL)).status_code == 201
    slow = "UNWIND range(1, 3000000) AS x UNWIND range(1, 20) AS y WITH x, y WHERE (x + y) % 7 = 0 RETURN count(*)"
    response = await api.query(graph_id, slow, timeout=0.5)
    assert response.status_code == 408, response.text
    assert (await api.query(graph_id, "RETURN 1")).status_code == 200


async def test_streaming_ndjson(api: Api, graph_id: str) -> None:
    assert (await api.create(graph_id, DDL)).status_code == 201
    response = await api.client.post(f"/databases/{graph_id}/query",
                                     json={"cypher": "UNWIND range(1, 250) AS x RETURN x"},
                                     headers={"Accept": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    events = [json.loads(line) for line in response.text.splitlines()]
    assert events[0]["type"] == "header" and events[0]["columns"] == ["x"]
    chunks = [e["rows"] for e in events if e["type"] == "rows"]
    assert [len(c) for c in chunks] == [100, 100, 50]  # KUZU_CHUNK_SIZE
    assert [r[0] for c in chunks for r in c] == list(range(1, 251))
    assert events[-1]["type"] == "summary" and events[-1]["row_count"] == 250 and events[-1]["complete"]


async def test_streaming_error_before_first_row_keeps_its_status(api: Api, graph_id: str) -> None:
    response = await api.client.post(f"/databases/{graph_id}/query", json={"cypher": "RETURN 1"},
                                     headers={"Accept": "application/x-ndjson"})
    assert response.status_code == 404


# ---- what a backend does not support: a clear 4xx, never a 500

async def test_unsupported_features_are_4xx(api: Api, graph_id: str) -> None:
    assert (await api.create(graph_id, DDL)).status_code == 201
    routes = {getattr(r, "path", "") for r in api.app.routes}
    if "/databases/{graph_id}/copy" not in routes:
        pytest.xfail("the S3 copy router is not mounted in node_api/app.py yet")
    response = await api.client.post(f"/databases/{graph_id}/copy", json={
        "s3_pattern": "s3://bucket/x/*.parquet", "table_name": "Person", "ignore_errors": True})
    if api.kind == "neo4j":
        assert response.status_code == 400 and error_code(response) == "not_supported"
    else:
        assert response.status_code < 500


async def test_neo4j_community_holds_one_database(api: Api, graph_id: str, bolt_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if api.kind != "neo4j":
        pytest.skip("edition limit of the Neo4j backend only")
    from node_api.backends.neo4j import Neo4jBackend
    from node_api.backends.neo4j_admin import SingleDatabase

    name = "single_" + graph_id
    bolt_server.create_database(name)
    single = Neo4jBackend(api.backend.settings, admin=SingleDatabase(name))  # type: ignore[attr-defined]
    await single.start()
    try:
        await single.create_database("c_one", "custom", [])
        with pytest.raises(errors.CapacityExceeded):
            await single.create_database("c_two", "custom", [])
    finally:
        await single.close()
        bolt_server.drop_database(name)


# ---- schema, bulk load, backup/restore (backend level until their endpoints exist)

async def test_schema(api: Api, graph_id: str) -> None:
    await seeded(api, graph_id)
    schema = await api.backend.schema(graph_id)
    nodes = {t.name: t for t in schema.node_tables}
    assert {"Person", "City"} <= nodes.keys()
    assert [p.name for p in nodes["Person"].properties if p.primary_key] == ["id"]
    rel = next(t for t in schema.rel_tables if t.name == "LIVES_IN")
    assert (rel.from_tables, rel.to_tables) == (["Person"], ["City"])


async def test_bulk_load(api: Api, graph_id: str) -> None:
    await seeded(api, graph_id)
    people = pa.table({"id": pa.array([10, 11, 12, 11], pa.int64()), "name": ["a", "b", "c", "dupe"]})
    result = await api.backend.bulk_load(graph_id, "Person", people, ignore_errors=True)
    assert (result.rows_received, result.rows_loaded, result.rows_skipped) == (4, 3, 1)
    lives = pa.table({"from": pa.array([10, 12], pa.int64()), "to": ["Oslo", "Oslo"],
                      "since": pa.array([1999, 2000], pa.int64())})
    result = await api.backend.bulk_load(graph_id, "LIVES_IN", lives, ignore_errors=False)
    assert result.rows_loaded == 2
    response = await api.query(graph_id, "MATCH (p:Person)-[r:LIVES_IN]->(:City) RETURN p.id, r.since ORDER BY p.id")
    assert response.json()["rows"] == [[1, 2001], [10, 1999], [12, 2000]]


async def test_backup_restore_round_trip(api: Api, graph_id: str, tmp_path: Path) -> None:
    await seeded(api, graph_id)
    query = "MATCH (p:Person) OPTIONAL MATCH (p)-[r:LIVES_IN]->(c) RETURN p.id, p.name, r.since, c.name ORDER BY p.id"
    before = (await api.query(graph_id, query)).json()["rows"]
    try:
        await api.backend.backup(graph_id, tmp_path / "backup")
    except errors.BackendError as exc:
        if api.kind == "kuzu" and "operations module" in exc.message:
            pytest.xfail("Kuzu backup/restore belongs to the operations module, not written yet")
        raise
    copy_id = graph_id + "_r"
    await api.backend.restore(copy_id, tmp_path / "backup", schema_type="custom")
    assert (await api.query(copy_id, query)).json()["rows"] == before
