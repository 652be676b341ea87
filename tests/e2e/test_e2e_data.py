"""Data in and out across the cluster: ingestion from (moto) S3, backup to S3, restore on another node."""

from __future__ import annotations

import pyarrow as pa

from client.factory import GraphClientFactory
from cluster_local import LocalCluster
from tests.e2e.support import PERSON_DDL, isolated_client, node_http, people, put_parquet
from tests.support.waiting import until_sync


def _count(client, graph_id: str, label: str = "Person") -> int:  # noqa: ANN001 - sync GraphClient
    return client.query(graph_id, f"MATCH (n:{label}) RETURN count(n)").rows[0][0]


def test_stage_from_s3_ingest_and_query(cluster: LocalCluster, factory: GraphClientFactory) -> None:
    graph_id = "data-ingest"
    persons = put_parquet(cluster, "e2e/ingest/person/part-0.parquet", people(0, 5000))
    knows = put_parquet(cluster, "e2e/ingest/knows/part-0.parquet", pa.table({
        "from": pa.array(range(0, 4999), pa.int64()), "to": pa.array(range(1, 5000), pa.int64()),
        "since": pa.array([2020] * 4999, pa.int64()),
    }))
    with isolated_client(factory, graph_id, "create") as client:
        client.create_database(graph_id, "custom", PERSON_DDL)
        staged = client.create_table(graph_id, "Person", persons.rsplit("/", 1)[0] + "/*.parquet")
        assert staged.row_count == 5000
        client.create_table(graph_id, "Knows", knows)
        assert client.query_tables(graph_id, "SELECT count(*) FROM Person").rows == [[5000]]
        nodes = client.ingest_table(graph_id, "Person")
        rels = client.ingest_table(graph_id, "Knows")
        assert (nodes.rows_ingested, rels.rows_ingested) == (5000, 4999)
        assert _count(client, graph_id) == 5000
        chain = client.query(graph_id, "MATCH (a:Person {id: 0})-[:Knows*1..3]->(b) RETURN max(b.id)")
        assert chain.rows == [[3]]


def test_copy_from_s3_as_a_task(cluster: LocalCluster, factory: GraphClientFactory) -> None:
    graph_id = "data-copy"
    source = put_parquet(cluster, "e2e/copy/person/part-0.parquet", people(0, 2000))
    with isolated_client(factory, graph_id, "create") as client:
        client.create_database(graph_id, "custom", PERSON_DDL)
        accepted = client.copy_from_s3(graph_id, source, "Person")
        task = client.wait_task(accepted.task_id, timeout=60)
        assert task.status == "succeeded"
        assert _count(client, graph_id) == 2000


def test_backup_to_s3_then_restore_on_another_node(cluster: LocalCluster, factory: GraphClientFactory) -> None:
    graph_id = "data-backup"
    with isolated_client(factory, graph_id, "create") as client:
        client.create_database(graph_id, "custom", PERSON_DDL)
        client.query(graph_id, "UNWIND range(1, 300) AS i CREATE (:Person {id: i, name: 'p'})")
        client.query(graph_id, "MATCH (a:Person), (b:Person) WHERE b.id = a.id + 1 CREATE (a)-[:Knows {since: 1}]->(b)")
        home = client.base_url
    target = next(s for s in cluster.writers if s.url != home)

    with node_http(cluster, home) as source:
        assert source.post(f"/databases/{graph_id}/backup", json={"destination": "s3"}).status_code == 202
        backup = until_sync(lambda: (source.get(f"/databases/{graph_id}/backups").json()["backups"] or [None])[0],
                            timeout_s=60, interval_s=0.2, what="the backup listed")
    assert backup["location"].startswith(f"s3://{cluster.config.backup_bucket}/")
    assert (backup["node_count"], backup["rel_count"]) == (300, 299)

    # The other writer has never seen this graph: it restores it from the archive in S3.
    with node_http(cluster, target.url) as other:
        accepted = other.post(f"/databases/{graph_id}/restore", json={"location": backup["location"]})
        assert accepted.status_code == 202, accepted.text

        def restored() -> list | None:
            answer = other.post(f"/databases/{graph_id}/query", json={
                "cypher": "MATCH (p:Person) OPTIONAL MATCH (p)-[k:Knows]->() RETURN count(DISTINCT p), count(k)"})
            return answer.json()["rows"] if answer.status_code == 200 else None

        assert until_sync(restored, timeout_s=60, interval_s=0.2, what="the graph restored") == [[300, 299]]
