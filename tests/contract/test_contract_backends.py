"""One contract, every backend: the same HTTP scenarios against Kuzu and against a Bolt server.

Every scenario goes through the node's HTTP API. What a backend does not support (staging tables and
S3 copy are Kuzu-only) is asserted as a 4xx `not_supported` on the other. Bulk load from Arrow is
also held to one result at the backend level, since Neo4j has no HTTP ingestion path."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from node_api.backends import errors
from node_api.backends.factory import create_backend
from tests.contract.contract_api import Api

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


def assert_not_supported(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.text
    assert error_code(response) == "not_supported", response.text
    assert "neo4j" in response.json()["error"]["message"].lower()


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
    node = a["_value"]  # the wire form of docs/result-values.md (tests/node_api/backends/values covers every type)
    assert a["$type"] == "Node" and node["_labels"] == ["Person"] and node["_properties"]["name"] == "Ann"
    assert node["_properties"]["id"] == 1 and isinstance(node["_element_id"], str)
    rel = r["_value"]
    assert r["$type"] == "Relationship" and rel["_type"] == "LIVES_IN"
    assert rel["_start_node_element_id"] == node["_element_id"] and rel["_properties"]["since"] == 2001
    assert p["$type"] == "Path" and [e["$type"] for e in p["_value"]] == ["Node", "Relationship", "Node"]
    assert [p["_value"][0]["_value"]["_labels"], p["_value"][2]["_value"]["_labels"]] == [["Person"], ["City"]]
    assert (name, x) == ("Ann", 5)


async def test_temporal_values_are_iso_text(api: Api, graph_id: str) -> None:
    assert (await api.create(graph_id, DDL)).status_code == 201
    response = await api.query(graph_id, "RETURN date('2024-01-02') AS d, "
                                         "timestamp('2024-01-02T03:04:05') AS ts" if api.kind != "neo4j" else
                               "RETURN date('2024-01-02') AS d, localdatetime('2024-01-02T03:04:05') AS ts")
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [[{"$type": "Date", "_value": "2024-01-02"},
                                         {"$type": "LocalDateTime", "_value": "2024-01-02T03:04:05"}]]


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
    slow = "UNWIND range(1, 40000) AS x UNWIND range(1, 40000) AS y WITH x, y WHERE (x + y) % 7 = 0 RETURN count(*)"
    response = await api.query(graph_id, slow, timeout=0.5)
    assert response.status_code == 408, response.text
    assert (await api.query(graph_id, "RETURN 1")).status_code == 200


@pytest.mark.parametrize("accept", ["application/x-ndjson", "text/event-stream"])
async def test_streaming(api: Api, graph_id: str, accept: str) -> None:
    assert (await api.create(graph_id, DDL)).status_code == 201
    response, events = await api.stream(graph_id, "UNWIND range(1, 250) AS x RETURN x", accept)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(accept)
    assert events[0]["type"] == "header" and events[0]["columns"] == ["x"]
    chunks = [e["rows"] for e in events if e["type"] == "rows"]
    assert [len(c) for c in chunks] == [100, 100, 50]  # KUZU_CHUNK_SIZE
    assert [r[0] for c in chunks for r in c] == list(range(1, 251))
    assert events[-1]["type"] == "summary" and events[-1]["row_count"] == 250 and events[-1]["complete"]


@pytest.mark.parametrize("accept", ["application/x-ndjson", "text/event-stream"])
async def test_streaming_errors_before_first_row_keep_their_status(api: Api, graph_id: str, accept: str) -> None:
    missing, _ = await api.stream(graph_id, "RETURN 1", accept)
    assert missing.status_code == 404 and error_code(missing) == "database_not_found"
    assert (await api.create(graph_id, DDL)).status_code == 201
    syntax, _ = await api.stream(graph_id, "MATCH (n RETURN n", accept)
    assert syntax.status_code == 400 and error_code(syntax) == "invalid_query"


# ---- schema

async def test_schema_get(api: Api, graph_id: str) -> None:
    await seeded(api, graph_id)
    response = await api.client.get(f"/databases/{graph_id}/schema")
    assert response.status_code == 200, response.text
    schema = response.json()
    assert schema["graph_id"] == graph_id
    assert [t["name"] for t in schema["node_tables"]] == ["City", "Person"]
    person = next(t for t in schema["node_tables"] if t["name"] == "Person")
    assert [p["name"] for p in person["properties"]] == ["id", "name"]
    assert [p["name"] for p in person["properties"] if p["primary_key"]] == ["id"]
    [rel] = schema["rel_tables"]
    assert (rel["name"], rel["from_tables"], rel["to_tables"]) == ("LIVES_IN", ["Person"], ["City"])
    assert [p["name"] for p in rel["properties"]] == ["since"]
    missing = await api.client.get("/databases/c_nothing_here/schema")
    assert missing.status_code == 404 and error_code(missing) == "database_not_found"


async def test_schema_apply(api: Api, graph_id: str) -> None:
    await seeded(api, graph_id)
    applied = await api.client.post(f"/databases/{graph_id}/schema", json={"ddl": (
        "CREATE NODE TABLE Company(name STRING, founded INT64, PRIMARY KEY(name)); "
        "CREATE REL TABLE WORKS_AT(FROM Person TO Company, role STRING)")})
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["statements_applied"] == 2
    assert [t["name"] for t in body["node_tables"]] == ["City", "Company", "Person"]
    assert [t["name"] for t in body["rel_tables"]] == ["LIVES_IN", "WORKS_AT"]
    assert (await api.client.get(f"/databases/{graph_id}/schema")).json() == {
        k: v for k, v in body.items() if k not in ("status", "statements_applied", "execution_time_ms")}
    # The new tables are usable, keys included.
    await api.rows(graph_id, "MATCH (p:Person {id: 1}) CREATE (p)-[:WORKS_AT {role: 'cto'}]->"
                             "(:Company {name: 'Acme', founded: 1990})")
    assert (await api.query(graph_id, "CREATE (:Company {name: 'Acme', founded: 2000})")).status_code == 400
    assert await api.rows(graph_id, "MATCH (:Person)-[w:WORKS_AT]->(c:Company) RETURN w.role, c.founded") == [
        ["cto", 1990]]


@pytest.mark.parametrize("ddl", [
    "CREATE NODE TABLE Broken(id INT64, PRIMARY KEY(",  # syntax
    "MATCH (n) DETACH DELETE n",  # not a schema statement
    "CREATE NODE TABLE Person(id INT64, PRIMARY KEY(id))",  # the table exists
    "CREATE NODE TABLE Fine(id INT64, PRIMARY KEY(id)); CREATE REL TABLE R(FROM Fine TO Nowhere)",  # all or nothing
])
async def test_schema_apply_invalid_is_400(api: Api, graph_id: str, ddl: str) -> None:
    await seeded(api, graph_id)
    before = (await api.client.get(f"/databases/{graph_id}/schema")).json()
    response = await api.client.post(f"/databases/{graph_id}/schema", json={"ddl": ddl})
    assert response.status_code == 400, response.text
    assert error_code(response) == "invalid_schema"
    assert (await api.client.get(f"/databases/{graph_id}/schema")).json() == before
    assert len(await api.rows(graph_id, "MATCH (p:Person) RETURN p.id")) == 2


# ---- bulk load

PEOPLE = pa.table({"id": pa.array([10, 11, 12, 11], pa.int64()), "name": ["a", "b", "c", "dupe"]})
LIVES = pa.table({"from": pa.array([10, 12], pa.int64()), "to": ["Oslo", "Oslo"],
                  "since": pa.array([1999, 2000], pa.int64())})
LOADED = [[1, 2001], [10, 1999], [12, 2000]]
LOADED_QUERY = "MATCH (p:Person)-[r:LIVES_IN]->(:City) RETURN p.id, r.since ORDER BY p.id"


def _parquet(api: Api, name: str, table: pa.Table) -> str:
    path = api.staging_root / f"{name}.parquet"
    pq.write_table(table, path)
    return f"file://{path}"


async def test_bulk_load_over_http(api: Api, graph_id: str) -> None:
    """Kuzu: stage local Parquet (file:// under the allowed root), ingest it, and /copy a file.
    Neo4j has no HTTP ingestion path: /ingest and /copy are 400 not_supported and nothing is loaded."""
    await seeded(api, graph_id)
    people, lives = _parquet(api, "people", PEOPLE), _parquet(api, "lives", LIVES)
    base = f"/databases/{graph_id}"
    if api.kind == "neo4j":
        assert not api.backend.capabilities.staging_tables and not api.backend.capabilities.s3_copy
        for response in [
            await api.client.post(f"{base}/tables/Person/ingest", json={"ignore_errors": True}),
            await api.client.post(f"{base}/tables/Person/ingest", json={"wait": False}),
            await api.client.post(f"{base}/copy", json={"s3_pattern": people, "table_name": "Person"}),
            await api.client.post(f"{base}/copy", json={"s3_pattern": "s3://bucket/x/*.parquet",
                                                        "table_name": "Person", "ignore_errors": True}),
        ]:
            assert_not_supported(response)
        assert await api.rows(graph_id, LOADED_QUERY) == [[1, 2001]]
        assert (await api.client.get("/tasks", params={"graph_id": graph_id})).json()["tasks"] == []
        return

    staged = await api.client.post(f"{base}/tables", json={"table_name": "Person", "s3_pattern": people})
    assert staged.status_code == 200, staged.text
    assert staged.json()["row_count"] == 4
    ingested = await api.client.post(f"{base}/tables/Person/ingest", json={"ignore_errors": True})
    assert ingested.status_code == 200, ingested.text
    result = ingested.json()
    assert (result["rows_received"], result["rows_ingested"], result["duplicates"]) == (4, 3, 1)

    staged = await api.client.post(f"{base}/tables", json={"table_name": "LIVES_IN", "s3_pattern": lives})
    assert staged.status_code == 200, staged.text
    accepted = await api.client.post(f"{base}/tables/LIVES_IN/ingest", json={"wait": False})
    task = await api.task(accepted)
    assert task["status"] == "succeeded", task
    assert task["result"]["rows_ingested"] == 2
    assert await api.rows(graph_id, LOADED_QUERY) == LOADED

    # /copy (S3 bulk copy) is a task; the file:// source under the allowed root goes the same way.
    more = _parquet(api, "more", pa.table({"id": pa.array([20], pa.int64()), "name": ["z"]}))
    task = await api.task(await api.client.post(f"{base}/copy", json={"s3_pattern": more, "table_name": "Person"}))
    assert task["status"] == "succeeded", task
    assert await api.rows(graph_id, "MATCH (p:Person) RETURN p.id ORDER BY p.id") == [[1], [2], [10], [11], [12], [20]]


async def test_staging_tables(api: Api, graph_id: str, request: pytest.FixtureRequest) -> None:
    """The staging table endpoints: a DuckDB stage per graph on Kuzu; 400 not_supported on Neo4j."""
    assert (await api.create(graph_id, DDL)).status_code == 201
    base = f"/databases/{graph_id}/tables"
    people = _parquet(api, "people", PEOPLE)
    if api.kind == "neo4j":
        for response in [
            await api.client.post(base, json={"table_name": "Person", "s3_pattern": people}),
            await api.client.get(base),
            await api.client.get(f"{base}/Person"),
            await api.client.post(f"{base}/query", json={"sql": "SELECT 1"}),
            await api.client.delete(f"{base}/Person"),
        ]:
            assert_not_supported(response)
        return
    staged = await api.client.post(base, json={"table_name": "Person", "s3_pattern": people})
    assert staged.status_code == 200 and staged.json()["row_count"] == 4, staged.text
    assert [t["table_name"] for t in (await api.client.get(base)).json()] == ["Person"]
    assert (await api.client.get(f"{base}/Person")).json()["row_count"] == 4
    queried = await api.client.post(f"{base}/query", json={"sql": "SELECT count(DISTINCT id) FROM Person"})
    assert queried.status_code == 200 and queried.json()["rows"] == [[3]], queried.text
    assert (await api.client.delete(f"{base}/Person")).status_code == 200
    assert (await api.client.get(base)).json() == []


async def test_bulk_load_arrow(api: Api, graph_id: str) -> None:
    """The backend's bulk_load (what ingestion calls), held to one result on both engines."""
    await seeded(api, graph_id)
    result = await api.backend.bulk_load(graph_id, "Person", PEOPLE, ignore_errors=True)
    assert (result.rows_received, result.rows_loaded, result.rows_skipped) == (4, 3, 1)
    result = await api.backend.bulk_load(graph_id, "LIVES_IN", LIVES, ignore_errors=False)
    assert result.rows_loaded == 2
    assert await api.rows(graph_id, LOADED_QUERY) == LOADED


# ---- backup / restore through the operations endpoints

ROWS_QUERY = ("MATCH (p:Person) OPTIONAL MATCH (p)-[r:LIVES_IN]->(c:City) "
              "RETURN p.id, p.name, r.since, c.name ORDER BY p.id")


async def _snapshot(api: Api, graph_id: str) -> dict[str, object]:
    schema = await api.client.get(f"/databases/{graph_id}/schema")
    assert schema.status_code == 200, schema.text
    return {"schema": schema.json() | {"graph_id": None},
            "people": await api.rows(graph_id, ROWS_QUERY),
            "cities": await api.rows(graph_id, "MATCH (c:City) RETURN c.name ORDER BY c.name")}


async def test_backup_restore_round_trip(api: Api, graph_id: str) -> None:
    await seeded(api, graph_id)
    before = await _snapshot(api, graph_id)

    task = await api.task(await api.client.post(f"/databases/{graph_id}/backup", json={"destination": "local"}))
    assert task["status"] == "succeeded", task
    result = task["result"]
    assert (result["graph_id"], result["node_count"], result["rel_count"]) == (graph_id, 3, 1)
    listed = (await api.client.get(f"/databases/{graph_id}/backups")).json()
    assert [b["location"] for b in listed["backups"]] == [result["location"]]
    tasks = (await api.client.get("/tasks", params={"graph_id": graph_id, "kind": "backup"})).json()
    assert [t["task_id"] for t in tasks["tasks"]] == [task["task_id"]]

    # Into a new graph: the exact same schema and rows.
    copy_id = graph_id + "_r"
    task = await api.task(await api.client.post(f"/databases/{graph_id}/restore", json={
        "location": result["location"], "target_graph_id": copy_id}))
    assert task["status"] == "succeeded", task
    assert await _snapshot(api, copy_id) == before
    assert (await api.query(copy_id, "CREATE (:Person {id: 1, name: 'again'})")).status_code == 400  # keys hold

    # Over the graph itself, after changes to data and schema: back to the backup exactly.
    await api.rows(graph_id, "MATCH (p:Person {id: 2}) DETACH DELETE p")
    await api.rows(graph_id, "CREATE (:Person {id: 3, name: 'Cy'})")
    applied = await api.client.post(f"/databases/{graph_id}/schema",
                                    json={"ddl": "CREATE NODE TABLE Extra(k INT64, PRIMARY KEY(k))"})
    assert applied.status_code == 200, applied.text
    task = await api.task(await api.client.post(f"/databases/{graph_id}/restore",
                                                json={"location": result["location"]}))
    assert task["status"] == "succeeded", task
    assert await _snapshot(api, graph_id) == before

    # A new graph that exists already is never overwritten.
    exists = await api.client.post(f"/databases/{graph_id}/restore", json={
        "location": result["location"], "target_graph_id": copy_id})
    assert exists.status_code == 409, exists.text


async def test_restore_on_another_engine_version(api: Api, graph_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kuzu backups are the engine's files: a node of another engine version refuses them (422, before
    anything is queued). Neo4j backups are portable JSON lines: another server version restores them."""
    await seeded(api, graph_id)
    task = await api.task(await api.client.post(f"/databases/{graph_id}/backup", json={}))
    assert task["status"] == "succeeded", task
    before = await _snapshot(api, graph_id)
    monkeypatch.setattr(api.backend, "engine_version", "0.0.1-elsewhere")
    copy_id = graph_id + "_v"
    response = await api.client.post(f"/databases/{graph_id}/restore", json={
        "location": task["result"]["location"], "target_graph_id": copy_id})
    if api.kind != "neo4j":
        assert response.status_code == 422 and error_code(response) == "incompatible_backup", response.text
        assert (await api.client.get(f"/databases/{copy_id}")).status_code == 404
        return
    task = await api.task(response)
    assert task["status"] == "succeeded", task
    assert await _snapshot(api, copy_id) == before


async def test_backup_of_a_missing_graph_is_404(api: Api, graph_id: str) -> None:
    response = await api.client.post(f"/databases/{graph_id}/backup", json={"destination": "local"})
    assert response.status_code == 404 and error_code(response) == "database_not_found"


# ---- edition limits

async def test_neo4j_community_holds_one_database(api: Api, request: pytest.FixtureRequest) -> None:
    """Community (no NEO4J_ADMIN_URL): one server database, a second graph is 409 capacity_exceeded.
    Kuzu has no such limit: the same two creations succeed."""
    if api.kind != "neo4j":
        for name in ("c_one", "c_two"):
            assert (await api.create(name, DDL)).status_code == 201
        return
    bolt_server = request.getfixturevalue("bolt_server")
    name = "single_" + uuid.uuid4().hex[:8]
    bolt_server.create_database(name)
    settings = api.backend.settings.model_copy(update={"neo4j_admin_url": None, "neo4j_database": name})  # type: ignore[attr-defined]
    single = create_backend(settings)
    await single.start()
    try:
        assert not single.capabilities.multiple_databases
        await single.create_database("c_one", "custom", [])
        with pytest.raises(errors.CapacityExceeded):
            await single.create_database("c_two", "custom", [])
    finally:
        await single.close()
        bolt_server.drop_database(name)
