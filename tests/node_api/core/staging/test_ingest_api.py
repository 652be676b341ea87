"""Staging -> graph through HTTP, against moto's S3: nodes, relationships, ignore_errors, rebuild, bad input."""

from __future__ import annotations

import pyarrow as pa

from tests.node_api.core.staging.helpers import create_graph, entities, owns, put_parquet, stage
from tests.support.node import cypher_rows


async def _ingest(client, graph_id: str, table: str, **body):
    return await client.post(f"/databases/{graph_id}/tables/{table}/ingest", json=body)


async def _count(client, graph_id: str, what: str = "MATCH (n:Entity) RETURN count(n)") -> int:
    return (await cypher_rows(client, graph_id, what))[0][0]


async def test_nodes_and_relationships_arrive(client, s3):
    await create_graph(client, "g_ingest")
    put_parquet(s3, "ingest/entity/part-0.parquet", entities(600))
    put_parquet(s3, "ingest/entity/part-1.parquet", entities(400, start=600))
    put_parquet(s3, "ingest/owns/a.parquet", owns([(i, i + 1) for i in range(999)]))
    created = await stage(client, "g_ingest", "Entity", "s3://tenant-data/ingest/entity/*.parquet")
    assert created.status_code == 200, created.text
    assert created.json()["row_count"] == 1000
    staged = await stage(client, "g_ingest", "OWNS", "s3://tenant-data/ingest/owns/*.parquet")
    assert staged.status_code == 200, staged.text

    nodes = await _ingest(client, "g_ingest", "Entity")
    assert nodes.status_code == 200, nodes.text
    body = nodes.json()
    assert body["rows_ingested"] == 1000 and body["rows_skipped"] == 0 and body["status"] == "success"
    rels = await _ingest(client, "g_ingest", "OWNS")
    assert rels.status_code == 200, rels.text
    assert rels.json()["rows_ingested"] == 999
    assert await _count(client, "g_ingest") == 1000
    rows = await cypher_rows(
        client, "g_ingest", "MATCH (a:Entity {identifier: 'e5'})-[r:OWNS]->(b) RETURN b.name, r.since"
    )
    assert rows == [["Entity 6", 2005]]


async def test_ignore_errors_counts_every_skipped_row_and_every_valid_row_arrives(client, s3):
    await create_graph(client, "g_ignore")
    good = entities(5000)
    # 3 rows whose score is not a number, 4 duplicate keys (one also already in the graph below),
    # 2 null keys: 9 bad rows among 5009 + the existing one.
    bad = pa.table(
        {
            "identifier": ["x1", "x2", "x3", "e1", "e2", "e3", "e4", None, None],
            "name": ["bad"] * 9,
            "score": ["NaNish", "12abc", "--", "1", "2", "3", "4", "5", "6"],
        }
    )
    table = pa.concat_tables([good.cast(bad.schema), bad])
    put_parquet(s3, "ignore/entity.parquet", table)
    await cypher_rows(client, "g_ignore", "CREATE (:Entity {identifier: 'e0', name: 'already', score: -1.0})")
    assert (
        await stage(client, "g_ignore", "Entity", "s3://tenant-data/ignore/entity.parquet")
    ).status_code == 200

    strict = await _ingest(client, "g_ignore", "Entity")
    assert strict.status_code == 422, strict.text
    assert await _count(client, "g_ignore") == 1  # nothing arrived, the existing row stays

    response = await _ingest(client, "g_ignore", "Entity", ignore_errors=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows_received"] == 5009
    assert body["parse_errors"] == 3
    assert body["duplicates"] == 4 + 1  # e1..e4 twice, and the two null keys collapse to one
    assert body["insert_errors"] == 2  # e0 already in the graph; the remaining null key
    assert body["rows_ingested"] == 4999
    assert body["rows_skipped"] == body["rows_received"] - body["rows_ingested"] == 10
    assert body["warnings"]
    ids = await cypher_rows(client, "g_ignore", "MATCH (n:Entity) RETURN n.identifier")
    assert {r[0] for r in ids} == {f"e{i}" for i in range(5000)}  # every valid row, exactly once
    assert (await cypher_rows(client, "g_ignore", "MATCH (n:Entity {identifier: 'e0'}) RETURN n.name")) == [
        ["already"]
    ]


async def test_bad_inputs_fail_clearly_and_keep_the_graph(client, s3):
    await create_graph(client, "g_bad")
    put_parquet(s3, "bad/base.parquet", entities(10))
    assert (await stage(client, "g_bad", "Entity", "s3://tenant-data/bad/base.parquet")).status_code == 200
    assert (await _ingest(client, "g_bad", "Entity")).status_code == 200

    async def rejected(table: str, pattern: str, status: int, code: str, stage_status: int = 200) -> None:
        staged = await stage(client, "g_bad", table, pattern)
        assert staged.status_code == stage_status, staged.text
        if stage_status != 200:
            assert staged.json()["error"]["code"] == code, staged.text
        else:
            response = await _ingest(client, "g_bad", table)
            assert response.status_code == status, response.text
            assert response.json()["error"]["code"] == code, response.text
            assert response.json()["error"]["message"]
        assert await _count(client, "g_bad") == 10
        assert await _count(client, "g_bad", "MATCH ()-[r:OWNS]->() RETURN count(r)") == 0

    # Missing bucket, no files, corrupt Parquet: refused while staging.
    await rejected("Entity", "s3://no-such-bucket/x/*.parquet", 404, "source_not_found", stage_status=404)
    await rejected("Entity", "s3://tenant-data/bad/nothing-here/*.parquet", 404, "source_not_found", 404)
    s3.put_object(Bucket="tenant-data", Key="bad/corrupt/a.parquet", Body=b"PAR1 this is not parquet PAR1")
    await rejected("Entity", "s3://tenant-data/bad/corrupt/*.parquet", 422, "not_parquet", 422)
    # The failed re-stagings left the previous staging table in place.
    listed = (await client.get("/databases/g_bad/tables")).json()
    assert [(t["table_name"], t["row_count"]) for t in listed] == [("Entity", 10)]

    # Schema that does not fit: a missing column, then a value that does not convert.
    put_parquet(s3, "bad/misfit.parquet", entities(5, start=100).drop_columns(["score"]))
    await rejected("Entity", "s3://tenant-data/bad/misfit.parquet", 422, "schema_mismatch")
    put_parquet(
        s3, "bad/types.parquet", pa.table({"identifier": ["t1"], "name": ["t"], "score": ["not-a-number"]})
    )
    await rejected("Entity", "s3://tenant-data/bad/types.parquet", 422, "schema_mismatch")
    # Duplicate primary keys: within the data and against the graph.
    put_parquet(s3, "bad/dups.parquet", pa.concat_tables([entities(3, start=200), entities(3, start=200)]))
    await rejected("Entity", "s3://tenant-data/bad/dups.parquet", 422, "data_rejected")
    put_parquet(s3, "bad/existing.parquet", entities(2, start=9))  # e9 exists already
    await rejected("Entity", "s3://tenant-data/bad/existing.parquet", 422, "data_rejected")
    # A relationship to a node that does not exist.
    put_parquet(s3, "bad/owns.parquet", owns([(1, 2), (3, 999)]))
    await rejected("OWNS", "s3://tenant-data/bad/owns.parquet", 422, "data_rejected")

    # Unknown tables: in staging, and in the graph.
    missing = await _ingest(client, "g_bad", "Nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "staging_table_not_found"
    put_parquet(s3, "bad/stray.parquet", entities(2, start=500))
    assert (await stage(client, "g_bad", "Stray", "s3://tenant-data/bad/stray.parquet")).status_code == 200
    stray = await _ingest(client, "g_bad", "Stray")
    assert stray.status_code == 404 and stray.json()["error"]["code"] == "graph_table_not_found"
    assert await _count(client, "g_bad") == 10
    # Unknown graph.
    assert (await _ingest(client, "g_nowhere", "Entity")).status_code == 404
    assert (
        await stage(client, "g_nowhere", "Entity", "s3://tenant-data/bad/base.parquet")
    ).status_code == 404


async def test_rebuild_regenerates_the_graph_from_all_staging_tables(client, s3):
    await create_graph(client, "g_rebuild")
    put_parquet(s3, "rebuild/entity.parquet", entities(300))
    put_parquet(s3, "rebuild/owns.parquet", owns([(i, (i * 7) % 300) for i in range(300)]))
    assert (
        await stage(client, "g_rebuild", "Entity", "s3://tenant-data/rebuild/entity.parquet")
    ).status_code == 200
    assert (
        await stage(client, "g_rebuild", "OWNS", "s3://tenant-data/rebuild/owns.parquet")
    ).status_code == 200
    # Something in the graph that is not in staging: a rebuild drops it.
    await cypher_rows(client, "g_rebuild", "CREATE (:Entity {identifier: 'stray', name: 's', score: 0.0})")

    response = await _ingest(client, "g_rebuild", "Entity", rebuild=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rebuild"] is True
    assert [(t["table_name"], t["rows_ingested"]) for t in body["tables"]] == [("Entity", 300), ("OWNS", 300)]
    assert await _count(client, "g_rebuild") == 300
    assert await _count(client, "g_rebuild", "MATCH ()-[r:OWNS]->() RETURN count(r)") == 300
    assert await cypher_rows(client, "g_rebuild", "MATCH (n:Entity {identifier: 'stray'}) RETURN n") == []
    # Staging survived the swap and is still queryable.
    listed = (await client.get("/databases/g_rebuild/tables")).json()
    assert sorted(t["table_name"] for t in listed) == ["Entity", "OWNS"]

    # A rebuild that fails (a relationship to a missing node) leaves the live graph as it was.
    put_parquet(s3, "rebuild/owns-bad.parquet", owns([(1, 2), (1, 12345)]))
    assert (
        await stage(client, "g_rebuild", "OWNS", "s3://tenant-data/rebuild/owns-bad.parquet")
    ).status_code == 200
    failed = await _ingest(client, "g_rebuild", "OWNS", rebuild=True)
    assert failed.status_code == 422, failed.text
    assert await _count(client, "g_rebuild", "MATCH ()-[r:OWNS]->() RETURN count(r)") == 300
    assert await _count(client, "g_rebuild") == 300
