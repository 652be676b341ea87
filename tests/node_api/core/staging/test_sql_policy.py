"""The staging SQL allow-list (node_api/core/staging/policy.py), over HTTP on a real node.

The cases come from DuckDB's own function catalog (`duckdb_functions()` of the graph's staging
instance): a function the policy does not list fails `test_the_policy_covers_the_whole_catalog`,
every function it refuses is sent and must answer 403, and after all of them the node is alive and
the graph's staging tables still answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node_api.core.staging import policy
from node_api.core.staging.errors import StagingQueryRejected
from node_api.core.staging.sql_functions import (
    ALLOWED_FUNCTIONS,
    ALLOWED_TABLE_FUNCTIONS,
    REFUSED_FUNCTIONS,
    REFUSED_TABLE_FUNCTIONS,
)
from tests.node_api.core.staging.helpers import create_graph, entities, put_parquet, stage


@pytest.fixture(scope="module")
def embedded_engine() -> str:
    """DuckDB's side of staging: the graph engine does not matter here, so one engine (the default)."""
    return "ladybug"

GRAPH = "g_policy"


@pytest.fixture
async def graph(client, s3) -> str:
    await create_graph(client, GRAPH)
    put_parquet(s3, "policy/entity.parquet", entities(5))
    assert (await stage(client, GRAPH, "Entity", "s3://tenant-data/policy/entity.parquet")).status_code == 200
    return GRAPH


def _catalog(client) -> list[tuple[str, list[str]]]:
    db = client.app.state.node.staging.manager.database(GRAPH)
    with db.readers.checkout() as cur:
        return cur.execute(
            "SELECT function_name, list(DISTINCT function_type ORDER BY function_type) "
            "FROM duckdb_functions() GROUP BY ALL ORDER BY 1"
        ).fetchall()


async def _sql(client, sql: str):
    return await client.post(f"/databases/{GRAPH}/tables/query", json={"sql": sql})


async def _still_serving(client) -> None:
    assert (await client.get("/status/live")).status_code == 200
    ok = await _sql(client, "SELECT count(*) FROM Entity")
    assert ok.status_code == 200 and ok.json()["rows"] == [[5]], ok.text


def _no_engine_text(body: dict) -> None:
    text = json.dumps(body)
    for leak in ("Error:", "LINE 1", "Traceback", "std::", "pybind", "duckdb."):
        assert leak not in text, (leak, text)


async def test_the_policy_covers_the_whole_catalog(client, graph):
    expression_names = {n.lower() for n in ALLOWED_FUNCTIONS} | {n.lower() for n in REFUSED_FUNCTIONS}
    table_names = {n.lower() for n in ALLOWED_TABLE_FUNCTIONS} | {n.lower() for n in REFUSED_TABLE_FUNCTIONS}
    unreviewed = []
    for name, kinds in _catalog(client):
        if {"scalar", "aggregate", "macro"} & set(kinds) and name.lower() not in expression_names:
            unreviewed.append((name, kinds))
        if {"table", "table_macro"} & set(kinds) and name.lower() not in table_names:
            unreviewed.append((name, kinds))
    assert not unreviewed, f"functions of this DuckDB the policy has not reviewed: {unreviewed}"
    # No name is both allowed and refused in the same place.
    assert not {n.lower() for n in ALLOWED_FUNCTIONS} & {n.lower() for n in REFUSED_FUNCTIONS}
    assert not {n.lower() for n in ALLOWED_TABLE_FUNCTIONS} & {n.lower() for n in REFUSED_TABLE_FUNCTIONS}


async def test_every_refused_function_is_403_and_the_node_keeps_serving(client, graph):
    catalog = dict(_catalog(client))
    cases = [f"SELECT {name}()" for name in REFUSED_FUNCTIONS]
    cases += [f"SELECT * FROM {name}()" for name in REFUSED_TABLE_FUNCTIONS]
    # Functions that are neither allowed nor listed (a later DuckDB, a typo) are refused too.
    cases += ["SELECT not_a_function_anywhere(1)", "SELECT * FROM not_a_table_function(1)"]
    # Pragma-only functions: PRAGMA and CALL are not SELECT statements.
    pragmas = [name for name, kinds in catalog.items() if kinds == ["pragma"]]
    assert pragmas
    for sql in cases:
        response = await _sql(client, sql)
        assert response.status_code == 403, (sql, response.text)
        assert response.json()["error"]["code"] == "forbidden_statement", sql
        _no_engine_text(response.json())
    # PRAGMA <keyword> (`show`) does not even parse: 400; every other spelling is refused.
    for sql in [f"PRAGMA {name}" for name in pragmas] + [f"CALL {name}()" for name in pragmas]:
        response = await _sql(client, sql)
        verdict = (response.status_code, response.json()["error"]["code"])
        assert verdict in ((403, "forbidden_statement"), (400, "invalid_query")), (sql, response.text)
        assert verdict[0] == 403 or response.json()["error"]["message"].startswith("the SQL does not parse")
    await _still_serving(client)


async def test_the_issue_enable_logging_case(client, graph, tmp_path: Path):
    """Measured on main: 200, then 500, then the process aborted. Now refused before DuckDB sees it."""
    target = tmp_path / "logs"
    sql = f"SELECT * FROM enable_logging(storage:='file', storage_path:='{target}')"
    for _ in range(3):
        refused = await _sql(client, sql)
        assert refused.status_code == 403, refused.text
        assert "enable_logging" in refused.json()["error"]["message"]
        await _still_serving(client)
    assert not target.exists()
    for spelled in (
        "select * from ENABLE_LOGGING()",
        'SELECT * FROM "enable_logging"()',
        "SELECT * FROM /* c */ enable_logging ( )",
        "SELECT * FROM main.enable_logging()",
        "WITH x AS (SELECT * FROM enable_logging()) SELECT 1",
        "SELECT (SELECT count(*) FROM enable_logging())",
        "SELECT 1 WHERE EXISTS (SELECT * FROM checkpoint())",
        "SELECT list_transform([1], lambda x: current_setting('threads'))",
        "SELECT * FROM Entity e JOIN query('SELECT 1') q ON true",
    ):
        response = await _sql(client, spelled)
        assert response.status_code == 403, (spelled, response.text)
    await _still_serving(client)


@pytest.mark.parametrize(
    ("sql", "status", "code"),
    [
        ("SET threads = 1", 403, "forbidden_statement"),
        ("RESET lock_configuration", 403, "forbidden_statement"),
        ("EXPLAIN SELECT 1", 403, "forbidden_statement"),
        ("SELECT 1; SELECT 2", 403, "forbidden_statement"),
        ("SHOW TABLES", 403, "forbidden_statement"),
        ("SHOW ALL TABLES", 403, "forbidden_statement"),
        ("SELECT * FROM information_schema.columns", 403, "forbidden_statement"),
        ("SELECT * FROM _staging_meta.tables", 403, "forbidden_statement"),
        ("SELECT * FROM staging.main.Entity", 403, "forbidden_statement"),
        ("SELECT * FROM duckdb_settings", 400, "invalid_query"),  # a view name, not a staging table
        ("SELECT * FROM '/etc/passwd'", 400, "invalid_query"),
        ("SELECT * FROM Entity AT (VERSION => 1)", 403, "forbidden_statement"),
        ("SELEC 1", 400, "invalid_query"),
        ("SELECT nope FROM Entity", 400, "invalid_query"),
        ("SELECT 'x'::INTEGER", 400, "invalid_query"),
    ],
)
async def test_statements_outside_the_policy(client, graph, sql, status, code):
    response = await _sql(client, sql)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    _no_engine_text(response.json())


async def test_what_the_policy_allows_runs(client, graph):
    allowed = [
        "SELECT identifier, upper(name) FROM Entity WHERE score BETWEEN 1 AND 3 ORDER BY score DESC LIMIT 2",
        "SELECT count(*), avg(score), string_agg(name, ',' ORDER BY name) FROM Entity",
        "SELECT name, row_number() OVER (ORDER BY score) FROM entity QUALIFY row_number() OVER (ORDER BY score) < 3",
        "WITH top AS (SELECT * FROM Entity WHERE score > 2) SELECT count(*) FROM top",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT sum(n) FROM r",
        "SELECT * FROM range(3) t(i) JOIN main.Entity e ON e.score = t.i",
        "SELECT unnest([1, 2]), {'a': 1}, [x * 2 FOR x IN [1, 2]], list_transform([1], lambda x: x + 1)",
        "SELECT regexp_replace(name, '[0-9]+', '#'), strftime(DATE '2024-01-02', '%Y'), md5(name) FROM Entity",
        "DESCRIBE Entity",
        "SUMMARIZE Entity",
        "SELECT * FROM (VALUES (1, 'a')) v(k, c)",
        "SELECT * FROM json_each('{\"a\": 1}')",
        "FROM Entity SELECT identifier",
    ]
    for sql in allowed:
        response = await _sql(client, sql)
        assert response.status_code == 200, (sql, response.text)


async def test_binding_errors_are_answered_in_the_apis_words(client, graph):
    response = await _sql(client, "SELECT missing_column FROM Entity")
    body = response.json()
    assert response.status_code == 400 and body["error"]["code"] == "invalid_query"
    assert body["error"]["message"].startswith("the SQL does not bind: ")
    assert "missing_column" in body["error"]["message"] and body["request_id"]
    _no_engine_text(body)


def test_the_parse_decides_not_the_spelling():
    """Comments, case, quoting and whitespace do not change a verdict (no node needed)."""
    for sql in (
        "SELECT * FROM read_csv('x')",
        "select * from READ_CSV('x')",
        "SELECT * FROM \"read_csv\"('x')",
        "SELECT * FROM\n\tread_csv /* hidden */ ('x')",
        "SELECT * FROM system.main.read_csv('x')",
    ):
        with pytest.raises(StagingQueryRejected):
            policy.check(sql, ["Entity"], max_length=10_000)
    assert policy.check("select * from ENTITY -- a comment", ["Entity"], max_length=10_000).tables == (
        "Entity",
    )
