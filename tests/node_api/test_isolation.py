"""Tenants cannot reach the node's files, other databases or engine settings through Cypher."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from node_api.settings import NodeSettings
from tests.support.node import PERSON_DDL, create_db, cypher, make_settings


@pytest.fixture
def settings_factory(tmp_path: Path, embedded_engine: str) -> Callable[..., NodeSettings]:
    """This module runs on each embedded engine."""
    return lambda **overrides: make_settings(tmp_path / "dbs", **{"backend_type": embedded_engine, **overrides})

FORBIDDEN = [
    "COPY Person FROM '/etc/passwd'",
    "copy Person from \"/etc/passwd\"",
    "COPY (MATCH (p:Person) RETURN p.*) TO '{tmp}/leak.csv'",
    "LOAD FROM '/etc/passwd' RETURN *",
    "load from '/etc/passwd' (header=false) return *",
    "MATCH (p:Person) WITH p LOAD FROM '/etc/hosts' RETURN *",
    "ATTACH '{other}' AS other (dbtype kuzu)",
    "DETACH other",
    "USE other",
    "INSTALL httpfs",
    "LOAD EXTENSION httpfs",
    "LOAD httpfs",
    "UNINSTALL json",
    "EXPORT DATABASE '{tmp}/export'",
    "IMPORT DATABASE '{tmp}/export'",
    "CALL threads=64",
    "CALL home_directory='/'",
    "CALL file_search_path = '/etc'",
    "CALL current_setting('home_directory') RETURN *",
    "RETURN current_setting('home_directory')",
    "BEGIN TRANSACTION",
    "COMMIT",
    "ROLLBACK",
    "/* hide */COPY Person FROM '/etc/passwd'",
    "// comment\nCOPY Person FROM '/etc/passwd'",
    "RETURN 1; COPY Person FROM '/etc/passwd'",
    "RETURN 1 /* ; */ ; LOAD FROM '/etc/passwd' RETURN *",
    "CALL CREATE_FTS_INDEX('Person', 'idx', ['name'], stopwords := '/etc/passwd')",
    "CALL CREATE_FTS_INDEX('Person', 'idx', ['name'], stopwords := 'stop.csv')",
    "CALL CREATE_FTS_INDEX('Person', 'idx', ['name'], stopwords := 's3://bucket/stop.parquet')",
    "CALL CREATE_FTS_INDEX('Person', 'idx', ['name'], stopwords := '../../other/x')",
]

ALLOWED = [
    ("RETURN 'COPY Person FROM x' AS s", [["COPY Person FROM x"]]),
    ("RETURN {use: 1, load: 2} AS m", [[{"use": 1, "load": 2}]]),
    ("MATCH (p:Person) RETURN count(p) AS copy_count", [[0]]),
    ("RETURN `LOAD`.x AS v", None),
]


@pytest.fixture
async def two_tenants(client, tmp_path):
    await create_db(client, "tenant_a", ddl=PERSON_DDL)
    await create_db(client, "tenant_b", ddl=PERSON_DDL)
    return client


@pytest.mark.parametrize("statement", FORBIDDEN)
async def test_forbidden_statements(two_tenants, statement, tmp_path, settings_factory):
    backend = two_tenants.app.state.node.backend
    other = Path(settings_factory().base_path) / "tenant_b" / backend.profile.graph_file
    query = statement.format(tmp=tmp_path, other=other)
    response = await cypher(two_tenants, "tenant_a", query)
    assert response.status_code in (400, 403), response.text
    # not_supported: LadybugDB without the FTS extension says so before it judges the options.
    assert response.json()["error"]["code"] in ("forbidden_statement", "invalid_query", "not_supported")
    assert not (tmp_path / "leak.csv").exists()
    assert not (tmp_path / "export").exists()


async def test_allowed_lookalikes(two_tenants):
    for query, expected in ALLOWED:
        response = await cypher(two_tenants, "tenant_a", query)
        if expected is None:
            assert response.status_code == 400  # unknown variable: an engine error, not a forbidden one
            assert response.json()["error"]["code"] == "invalid_query"
        else:
            assert response.status_code == 200, (query, response.text)
            assert response.json()["rows"] == expected


async def test_full_text_index_with_builtin_stopwords_works(two_tenants):
    backend = two_tenants.app.state.node.backend
    if "fts" not in backend.extensions:
        # An engine without the FTS extension (LadybugDB, LADYBUG_EXTENSION_DIR empty) names what is missing.
        response = await cypher(two_tenants, "tenant_a", "CALL CREATE_FTS_INDEX('Person', 'names', ['name'])")
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "not_supported" and error["details"]["extension"] == "fts", error
        return
    await cypher(two_tenants, "tenant_a", "CREATE (:Person {id: 1, name: 'ada lovelace'})")
    created = await cypher(two_tenants, "tenant_a", "CALL CREATE_FTS_INDEX('Person', 'names', ['name'])")
    assert created.status_code == 200, created.text
    found = await cypher(two_tenants, "tenant_a",
                         "CALL QUERY_FTS_INDEX('Person', 'names', 'lovelace') RETURN node.id")
    assert found.json()["rows"] == [[1]]


async def test_detach_delete_is_a_write_not_a_detach(two_tenants):
    await cypher(two_tenants, "tenant_a", "CREATE (:Person {id: 1})")
    response = await cypher(two_tenants, "tenant_a", "MATCH (p:Person) DETACH DELETE p")
    assert response.status_code == 200
    assert (await cypher(two_tenants, "tenant_a", "MATCH (p:Person) RETURN count(p)")).json()["rows"] == [[0]]


async def test_tenants_see_only_their_own_data(two_tenants):
    await cypher(two_tenants, "tenant_a", "CREATE (:Person {id: 1, name: 'secret-a'})")
    await cypher(two_tenants, "tenant_b", "CREATE (:Person {id: 1, name: 'secret-b'})")
    a = (await cypher(two_tenants, "tenant_a", "MATCH (p:Person) RETURN p.name")).json()["rows"]
    b = (await cypher(two_tenants, "tenant_b", "MATCH (p:Person) RETURN p.name")).json()["rows"]
    assert a == [["secret-a"]] and b == [["secret-b"]]


@pytest.mark.parametrize("graph_id", ["..", "...", "a..b", "a.b", ".hidden", "%2e%2e", "a%2Fb", "a b", "-x",
                                      "1abc", "x" * 64, "system", "NEO4J", "a\\b", "ä"])
async def test_graph_id_path_tricks(client, graph_id):
    for method, path in (("GET", f"/databases/{graph_id}"), ("DELETE", f"/databases/{graph_id}"),
                         ("POST", f"/databases/{graph_id}/query")):
        response = await client.request(method, path, json={"cypher": "RETURN 1"})
        assert response.status_code in (400, 404, 405), (method, path, response.status_code)
        if response.status_code != 404 or response.headers.get("content-type") == "application/json":
            assert "error" in response.json()
    created = await client.post("/databases", json={"graph_id": graph_id, "schema_type": "entity"})
    assert created.status_code in (400, 422)
