"""GET/POST /databases/{graph_id}/schema."""

from __future__ import annotations

import httpx

from tests.node_api.core.helpers import create_graph, cypher


async def test_schema_lists_tables_properties_and_keys(client: httpx.AsyncClient) -> None:
    await create_graph(client, "s1")
    body = (await client.get("/databases/s1/schema")).json()
    assert [t["name"] for t in body["node_tables"]] == ["City", "Person"]
    person = next(t for t in body["node_tables"] if t["name"] == "Person")
    assert person["properties"][0] == {"name": "id", "type": "INT64", "primary_key": True}
    assert {p["name"]: p["type"] for p in person["properties"]}["tags"] == "STRING[]"
    knows = next(t for t in body["rel_tables"] if t["name"] == "Knows")
    assert knows["from_tables"] == ["Person"] and knows["to_tables"] == ["Person"]
    assert body["indexes"] == []


async def test_apply_ddl_then_use_it(client: httpx.AsyncClient) -> None:
    await create_graph(client, "s2")
    response = await client.post("/databases/s2/schema", json={
        "ddl": "CREATE NODE TABLE Company(cik STRING, name STRING, PRIMARY KEY(cik));"
               "CREATE REL TABLE WorksAt(FROM Person TO Company, role STRING)"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["statements_applied"] == 2
    assert "Company" in [t["name"] for t in body["node_tables"]]
    await cypher(client, "s2", "CREATE (:Company {cik: '1', name: 'Acme'})")


async def test_invalid_ddl_is_a_400_and_applies_nothing(client: httpx.AsyncClient) -> None:
    await create_graph(client, "s3")
    cases = [
        "CREATE NODE TABLE Broken(id INT64",                            # syntax
        "MATCH (n) DETACH DELETE n",                                    # not DDL
        "CREATE NODE TABLE A(id INT64, PRIMARY KEY(id)); COPY A FROM '/etc/passwd'",  # files
        "CREATE NODE TABLE Fresh(id INT64, PRIMARY KEY(id)); CREATE NODE TABLE Person(id INT64, PRIMARY KEY(id))",
        "   ",
    ]
    for ddl in cases:
        response = await client.post("/databases/s3/schema", json={"ddl": ddl})
        assert response.status_code in (400, 422), (ddl, response.text)
        assert response.json()["error"]["code"] in ("invalid_schema", "validation_error"), ddl
    names = [t["name"] for t in (await client.get("/databases/s3/schema")).json()["node_tables"]]
    assert names == ["City", "Person"]  # all or nothing: "Fresh" did not stay behind
    assert (await client.get("/databases/nope/schema")).status_code == 404
    assert (await client.post("/databases/nope/schema", json={"ddl": "CREATE NODE TABLE X(id INT64, PRIMARY KEY(id))"})
            ).status_code == 404
    assert (await client.get("/databases/bad..id/schema")).status_code == 400
    assert (await client.post("/databases/s3/schema", content=b"{", headers={"Content-Type": "application/json"})
            ).status_code == 400
