"""Red-team regressions: statements whose shape, not their words, hurt the node or slipped a guard.

Found 2026-11-30 against main 226515e on a real node (Kuzu 0.11.3 and LadybugDB 0.22.0 alike):

1. Nesting. `RETURN [[[...1...]]]` 1000 deep crashed the database's worker (SIGSEGV: the parser's
   stack), 300 deep parsed for ~10 s; each nested `CASE WHEN` costs ~1.6x the one inside it, so 24 of
   them (500 characters) ran past any timeout until the node killed the worker. Parsing is not
   covered by the engine's query timeout. Staging SQL nested a few hundred deep (`SELECT [[[...]]]`,
   `SELECT 1 + 1 + ...`) answered 500: the policy walker's RecursionError, orjson's depth limit.
2. Twice the timeout. The plan phase (EXPLAIN) and the run each got the request's whole timeout,
   and both parse: a statement that parses slowly answered 200 after 9 s with `"timeout": 4`.
3. DDL skipped the plan phase. `POST /databases/{id}/schema` with `CREATE NODE TABLE T AS UNWIND ...
   RETURN ...` ran a bulk insert (plan: BATCH_INSERT) that the query endpoint refuses with 403.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.node import PERSON_DDL, create_db, make_settings, node_client

ENGINES = ["kuzu", "ladybug"]


async def _usable(client: httpx.AsyncClient) -> None:
    response = await client.post("/databases/attacker/query", json={"cypher": "MATCH (p:Person) RETURN count(p)"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("engine", ENGINES)
async def test_attack_deeply_nested_cypher_is_refused_before_the_engine_parses_it(tmp_path: Path,
                                                                                 engine: str) -> None:
    async with node_client(make_settings(tmp_path / "dbs", backend_type=engine)) as client:
        await create_db(client, "attacker", ddl=PERSON_DDL)
        for cypher in ("RETURN " + "[" * 1000 + "1" + "]" * 1000 + " AS x",  # SIGSEGV in the worker
                       "RETURN " + "{a: " * 1000 + "1" + "}" * 1000 + " AS x",  # SIGSEGV in the worker
                       "RETURN " + "CASE WHEN true THEN " * 24 + "1" + " END" * 24 + " AS x",  # parses for minutes
                       "RETURN " + "CASE WHEN n.end THEN " * 24 + "1" + " END" * 24 + " AS x"):  # n.end ends nothing
            response = await client.post("/databases/attacker/query", json={"cypher": cypher, "timeout": 5})
            assert response.status_code == 400, (cypher[:40], response.text[:300])
            assert response.json()["error"]["code"] == "invalid_query"
            assert "nests" in response.json()["error"]["message"]
        await _usable(client)
        shallow = await client.post("/databases/attacker/query", json={
            "cypher": "RETURN " + "[" * 20 + "1" + "]" * 20 + " AS x, " + "CASE WHEN true THEN " * 5 + "1"
                      + " END" * 5 + " AS y"})
        assert shallow.status_code == 200, shallow.text


async def test_attack_deeply_nested_staging_sql_is_a_400_not_a_500(tmp_path: Path) -> None:
    async with node_client(make_settings(tmp_path / "dbs")) as client:
        await create_db(client, "attacker", ddl=PERSON_DDL)
        for sql in ("SELECT " + "[" * 500 + "1" + "]" * 500,  # RecursionError in the policy's walker
                    "SELECT " + " + ".join(["1"] * 900)):  # deeper than orjson reads
            try:
                response = await client.post("/databases/attacker/tables/query", json={"sql": sql})
            except Exception as exc:  # noqa: BLE001 - in process, an unhandled error reaches the client: a 500
                raise AssertionError(f"unhandled error answered 500: {type(exc).__name__}") from None
            assert response.status_code == 400, (sql[:40], response.text[:300])
            assert response.json()["error"]["code"] == "invalid_query"
        ok = await client.post("/databases/attacker/tables/query", json={"sql": "SELECT " + "[" * 20 + "1" + "]" * 20})
        assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("engine", ENGINES)
async def test_attack_the_plan_phase_and_the_run_share_one_timeout(tmp_path: Path, engine: str) -> None:
    # A long grace: the node does not kill the worker; only the timeout's accounting is under test.
    async with node_client(make_settings(tmp_path / "dbs", backend_type=engine, timeout_grace_s=60)) as client:
        await create_db(client, "attacker", ddl=PERSON_DDL)
        # ~10,000 characters of lists 60 deep: parsing alone takes over a second here (measured 1.5-4 s),
        # far longer than the timeout, and the engine's own timeout does not stop a parse.
        cypher = "RETURN " + ", ".join("[" * 60 + str(i) + "]" * 60 + f" AS a{i}" for i in range(75))
        response = await client.post("/databases/attacker/query", json={"cypher": cypher, "timeout": 0.2})
        assert response.status_code == 408, response.text[:300]
        assert response.json()["error"]["code"] == "query_timeout"
        await _usable(client)


@pytest.mark.parametrize("engine", ENGINES)
async def test_attack_ddl_cannot_define_a_table_from_a_query(tmp_path: Path, engine: str) -> None:
    ctas = "CREATE NODE TABLE Loot AS UNWIND range(1, 3) AS i RETURN i AS id"
    async with node_client(make_settings(tmp_path / "dbs", backend_type=engine)) as client:
        await create_db(client, "attacker", ddl=PERSON_DDL)
        refused = await client.post("/databases/attacker/query", json={"cypher": ctas})
        assert refused.status_code == 403, refused.text  # the query endpoint's plan phase: BATCH_INSERT
        for path, body in (("/databases/attacker/schema", {"ddl": ctas}),
                           ("/databases", {"graph_id": "attacker2", "schema_type": "custom",
                                           "custom_ddl": "CREATE NODE TABLE T /* */ As RETURN 1 AS id"})):
            response = await client.post(path, json=body)
            assert response.status_code == 400, (path, response.text)
            assert response.json()["error"]["code"] == "invalid_schema"
        schema = await client.get("/databases/attacker/schema")
        assert "Loot" not in {t["name"] for t in schema.json()["node_tables"]}
        columns = await client.post("/databases/attacker/schema", json={
            "ddl": "CREATE NODE TABLE Ok(id INT64 DEFAULT CAST(1 AS INT64), PRIMARY KEY(id))"})
        assert columns.status_code == 200, columns.text
