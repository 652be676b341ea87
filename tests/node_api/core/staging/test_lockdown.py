"""Tenant SQL over staging tables reaches that graph's staging tables and nothing else.

Two layers, each tested on its own: the HTTP endpoint accepts one read-only SELECT within the
allow-list (policy.py, on DuckDB's own parse; test_sql_policy.py covers every function), and the
DuckDB instance itself refuses file/network access, extension loading and configuration changes
even to a statement that got past the first layer.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import duckdb
import pytest

from node_api.core.staging.errors import InvalidSource
from node_api.core.staging.extensions import httpfs_extension_path
from node_api.core.staging.sources import open_reader, parse_source
from tests.node_api.core.staging.helpers import create_graph, entities, put_parquet, stage


@pytest.fixture(scope="module")
def embedded_engine() -> str:
    """DuckDB's side of staging: the graph engine does not matter here, so one engine (the default)."""
    return "ladybug"


@pytest.fixture
async def two_graphs(client, s3, base_path: Path):
    put_parquet(s3, "lock/entity.parquet", entities(20))
    put_parquet(s3, "secret/data.parquet", entities(3), bucket="other-tenant")
    for graph_id in ("g_mine", "g_theirs"):
        await create_graph(client, graph_id)
        assert (
            await stage(client, graph_id, "Entity", "s3://tenant-data/lock/entity.parquet")
        ).status_code == 200
    return base_path / "g_theirs" / "staging" / "staging.duckdb"


async def _query(client, sql: str, graph_id: str = "g_mine", **extra):
    return await client.post(f"/databases/{graph_id}/tables/query", json={"sql": sql, **extra})


ATTACKS = {
    "read a node file": "SELECT * FROM read_csv('/etc/passwd')",
    "read text": "SELECT * FROM read_text('/etc/hostname')",
    "list files": "SELECT * FROM glob('/*')",
    "replacement scan of a file": "SELECT * FROM '/etc/passwd'",
    "other graph's staging file": "SELECT * FROM read_parquet('{theirs}')",
    "attach other graph": "ATTACH '{theirs}' AS theirs",
    "copy out": "COPY (SELECT * FROM Entity) TO '/tmp/exfil.csv'",
    "export": "EXPORT DATABASE '/tmp/exfil'",
    "change settings": "SET enable_external_access = true",
    "reset settings": "RESET lock_configuration",
    "pragma setter": "PRAGMA threads = 8",
    "install extension": "INSTALL httpfs",
    "load extension by path": "LOAD '{httpfs}'",
    "s3 with the node's credentials": "SELECT * FROM read_parquet('s3://other-tenant/secret/data.parquet')",
    "http": "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
    "create secret": "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "write": "INSERT INTO Entity VALUES ('x', 'y', 1.0)",
    "drop": "DROP TABLE Entity",
    "create": "CREATE TABLE t AS SELECT 1",
    "two statements": "SELECT 1; DROP TABLE Entity",
    "checkpoint": "CHECKPOINT",
    "detach": "DETACH staging",
}


async def test_http_refuses_each_attack(client, two_graphs):
    # One graph set-up for all attacks keeps the suite fast; each failure names its attack.
    for name, template in ATTACKS.items():
        sql = template.format(theirs=two_graphs, httpfs=httpfs_extension_path())
        response = await _query(client, sql)
        assert response.status_code in (400, 403), (name, response.text)
        assert response.json()["error"]["code"] in ("forbidden_statement", "invalid_query"), name
    # The graph's own staging data is untouched and still readable.
    ok = await _query(client, "SELECT count(*) FROM Entity")
    assert ok.status_code == 200 and ok.json()["rows"] == [[20]]
    assert not await asyncio.to_thread(os.path.exists, "/tmp/exfil.csv")


async def test_engine_refuses_even_past_the_parser(client, two_graphs):
    """The same attacks sent straight to a pooled cursor of the staging instance."""
    db = client.app.state.node.staging.manager.database("g_mine")
    engine_level = [
        "SELECT * FROM read_csv('/etc/passwd')",
        f"ATTACH '{two_graphs.parent / 'elsewhere.duckdb'}' AS elsewhere",
        "COPY (SELECT 1) TO '/tmp/exfil.csv'",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SET threads = 8",
        "INSTALL httpfs",
        f"LOAD '{httpfs_extension_path()}'",
        "SELECT * FROM read_parquet('s3://other-tenant/secret/data.parquet')",
        "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    ]
    for sql in engine_level:
        with db.readers.checkout() as cur:
            with pytest.raises((duckdb.PermissionException, duckdb.InvalidInputException)):
                cur.execute(sql)
    # The other graph's open staging file: refused too (DuckDB checks the file handle first).
    with db.readers.checkout() as cur:
        with pytest.raises((duckdb.PermissionException, duckdb.BinderException)):
            cur.execute(f"ATTACH '{two_graphs}' AS theirs")


async def test_graphs_see_only_their_own_tables(client, two_graphs, s3):
    put_parquet(s3, "lock/only-theirs.parquet", entities(2))
    assert (
        await stage(client, "g_theirs", "Private", "s3://tenant-data/lock/only-theirs.parquet")
    ).status_code == 200
    response = await _query(client, "SELECT * FROM Private")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_query"
    assert "this graph's staging tables: Entity)" in response.json()["error"]["message"]
    # The catalog functions that would list other schemas or databases are refused outright.
    for sql in ("SELECT table_name FROM duckdb_tables()", "SELECT * FROM information_schema.tables"):
        assert (await _query(client, sql)).status_code == 403, sql


async def test_query_timeout_interrupts(client, two_graphs):
    response = await _query(client, "SELECT count(*) FROM range(1000000000000) a", timeout=0.5)
    assert response.status_code == 408, response.text
    assert (await _query(client, "SELECT 1")).json()["rows"] == [[1]]  # the cursor is healthy again


def test_reader_reaches_only_its_own_prefix(staging_settings, s3):
    put_parquet(s3, "prefix/a/x.parquet", entities(1))
    source = parse_source("s3://tenant-data/prefix/a/*.parquet", staging_settings, own_credentials=True)
    reader = open_reader(source, staging_settings)
    try:
        assert reader.execute(
            "SELECT count(*) FROM read_parquet('s3://tenant-data/prefix/a/*.parquet')"
        ).fetchone()
        for outside in (
            "s3://other-tenant/secret/data.parquet",
            "s3://tenant-data/lock/entity.parquet",
            "/etc/passwd",
        ):
            with pytest.raises(duckdb.PermissionException):
                reader.execute(f"SELECT * FROM read_parquet('{outside}')")
        with pytest.raises(duckdb.InvalidInputException):
            reader.execute("SET enable_external_access = true")
    finally:
        reader.close()


@pytest.mark.parametrize(
    "pattern",
    [
        "s3://tenant-data/a/../../other-tenant/*.parquet",
        "s3://Bad_Bucket/x.parquet",
        "s3://tenant-data/x'); SELECT 1; --.parquet",
        "s3://tenant-data",
        "https://example.com/x.parquet",
        "gs://bucket/x.parquet",
        "relative/path.parquet",
        "file:///etc/passwd",
        "/etc/*.parquet",
    ],
)
def test_bad_patterns_are_refused(staging_settings, pattern):
    with pytest.raises(InvalidSource):
        parse_source(pattern, staging_settings, own_credentials=True)


def test_local_root_and_allowed_prefixes(staging_settings):
    root = staging_settings.local_root
    assert root is not None
    assert parse_source(
        f"file://{root}/d/*.parquet", staging_settings, own_credentials=True
    ).allowed_prefix == (f"{root.resolve()}/d/")
    limited = staging_settings.model_copy(update={"allowed_s3_prefixes": ["tenant-data/allowed/"]})
    assert parse_source("s3://tenant-data/allowed/x/*.parquet", limited, own_credentials=True)
    with pytest.raises(InvalidSource):
        parse_source("s3://tenant-data/other/*.parquet", limited, own_credentials=True)
    # A caller bringing its own credentials is not limited to the node's prefixes.
    assert parse_source("s3://tenant-data/other/*.parquet", limited, own_credentials=False)
