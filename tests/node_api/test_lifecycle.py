from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.node import PERSON_DDL, create_db, cypher, node_client


async def test_create_list_get_delete(client):
    created = await client.post("/databases", json={"graph_id": "kg1a2b3c4d5", "schema_type": "entity"})
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "success" and body["graph_id"] == "kg1a2b3c4d5" and body["schema_type"] == "entity"

    listed = (await client.get("/databases")).json()
    assert [d["graph_id"] for d in listed["databases"]] == ["kg1a2b3c4d5"]
    assert listed["total"] == 1 and listed["max_databases"] == 100

    info = (await client.get("/databases/kg1a2b3c4d5")).json()
    assert info["schema_type"] == "entity" and info["size_bytes"] > 0
    # The listing describes each graph as GET of it does (size included).
    assert listed["databases"][0] == info

    deleted = await client.delete("/databases/kg1a2b3c4d5")
    assert deleted.status_code == 200 and deleted.json()["status"] == "success"
    assert (await client.get("/databases/kg1a2b3c4d5")).status_code == 404
    assert (await client.get("/databases")).json()["total"] == 0


@pytest.mark.parametrize(("schema_type", "tables"), [
    ("entity", {"Entity", "Report", "Fact", "Element", "Period", "Unit", "Account", "Transaction", "LineItem"}),
    ("shared", {"Entity", "Report", "Fact", "Element", "Taxonomy", "Industry"}),
])
async def test_base_schemas_are_real(client, schema_type, tables):
    await create_db(client, "g1", schema_type=schema_type)
    result = await cypher(client, "g1", "CALL show_tables() RETURN name")
    names = {row[0] for row in result.json()["rows"]}
    assert tables <= names
    if schema_type == "shared":
        assert "Account" not in names
    write = await cypher(client, "g1", "CREATE (:Entity {identifier: 'e1', name: 'Acme'})")
    assert write.status_code == 200
    read = await cypher(client, "g1", "MATCH (e:Entity) RETURN e.name")
    assert read.json()["rows"] == [["Acme"]]


async def test_custom_ddl(client):
    await create_db(client, "custom1", ddl=PERSON_DDL)
    result = await cypher(client, "custom1", "CALL show_tables() RETURN name ORDER BY name")
    assert [r[0] for r in result.json()["rows"]] == ["Knows", "Person"]


async def test_duplicate_is_conflict(client):
    await create_db(client, "dup", ddl=PERSON_DDL)
    again = await client.post("/databases", json={"graph_id": "dup", "schema_type": "entity"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "database_exists"


async def test_node_database_limit(settings_factory):
    async with node_client(settings_factory(max_databases=2)) as client:
        await create_db(client, "a1", ddl=PERSON_DDL)
        await create_db(client, "a2", ddl=PERSON_DDL)
        third = await client.post("/databases", json={"graph_id": "a3", "custom_ddl": PERSON_DDL,
                                                      "schema_type": "custom"})
        assert third.status_code == 409
        assert third.json()["error"]["code"] == "capacity_exceeded"
        assert third.json()["error"]["details"]["max_databases"] == 2
        await client.delete("/databases/a1")
        await create_db(client, "a3", ddl=PERSON_DDL)


@pytest.mark.parametrize("ddl", [
    "CREATE NODE TABLE Broken(id INT64, PRIMARY KEY(nope))",
    "CREATE NODE TABLE A(id INT64, PRIMARY KEY(id)); CREATE NODE TABLE A(id INT64, PRIMARY KEY(id))",
    "COPY A FROM '/etc/passwd'",
    "CREATE NODE TABLE A(id INT64, PRIMARY KEY(id)); MATCH (n) RETURN n",
    "CREATE NODE TABLE A(id INT64, PRIMARY KEY(id)); LOAD FROM '/etc/passwd' RETURN *",
    "   ;  ; ",
])
async def test_bad_custom_ddl_leaves_nothing_behind(client, ddl, settings_factory):
    response = await client.post("/databases", json={"graph_id": "bad", "schema_type": "custom", "custom_ddl": ddl})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_schema"
    assert (await client.get("/databases/bad")).status_code == 404
    base = Path(settings_factory().base_path)
    assert not (base / "bad").exists()
    assert list((base / ".creating").iterdir()) == []
    await create_db(client, "bad", ddl=PERSON_DDL)  # the id is free to use


async def test_custom_without_ddl_is_an_empty_graph_whose_schema_comes_later(client):
    created = await client.post("/databases", json={"graph_id": "blank", "schema_type": "custom"})
    assert created.status_code == 201, created.text
    assert created.json()["schema_type"] == "custom"
    schema = (await client.get("/databases/blank/schema")).json()
    assert schema["node_tables"] == [] and schema["rel_tables"] == []
    applied = await client.post("/databases/blank/schema", json={"ddl": PERSON_DDL})
    assert applied.status_code == 200, applied.text
    assert (await cypher(client, "blank", "CREATE (:Person {id: 1, name: 'Ada'})")).status_code == 200
    assert (await cypher(client, "blank", "MATCH (p:Person) RETURN p.name")).json()["rows"] == [["Ada"]]
    # custom_ddl given must hold a statement: `null` is "none", an empty script is a mistake.
    assert (await client.post("/databases", json={"graph_id": "blank2", "schema_type": "custom",
                                                   "custom_ddl": None})).status_code == 201
    empty = await client.post("/databases", json={"graph_id": "blank3", "schema_type": "custom", "custom_ddl": ""})
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "invalid_schema"


@pytest.mark.parametrize("body", [
    {"graph_id": "x", "schema_type": "entity", "custom_ddl": "CREATE NODE TABLE A(id INT64, PRIMARY KEY(id))"},
    {"graph_id": "x", "schema_type": "graphy"},
    {"graph_id": 5},
    {"schema_type": "entity"},
    {"graph_id": "x", "surprise": 1},
])
async def test_invalid_create_requests(client, body):
    response = await client.post("/databases", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_databases_survive_restart(settings_factory):
    settings = settings_factory()
    async with node_client(settings) as client:
        await create_db(client, "keep", ddl=PERSON_DDL)
        assert (await cypher(client, "keep", "CREATE (:Person {id: 1, name: 'Ada'})")).status_code == 200
    async with node_client(settings) as client:
        rows = (await cypher(client, "keep", "MATCH (p:Person) RETURN p.name")).json()["rows"]
        assert rows == [["Ada"]]


async def test_delete_missing_is_404(client):
    response = await client.delete("/databases/nothere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "database_not_found"
