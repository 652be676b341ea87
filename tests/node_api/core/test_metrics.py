"""GET /metrics (Prometheus) and GET /databases/{graph_id}/metrics (JSON)."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.node_api.core.helpers import (
    HEADERS,
    backup,
    create_graph,
    cypher,
    node_settings,
    populate,
    running_node,
)


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_parse_and_move_with_work(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    assert value(before, "graph_api_databases") == 0
    assert value(before, "graph_api_databases_max") == 20
    assert value(before, "graph_api_memory_rss_bytes") > 0
    assert value(before, "graph_api_volume_total_bytes") > 0

    await create_graph(client, "m1")
    await populate(client, "m1", 100)
    for _ in range(5):
        await cypher(client, "m1", "MATCH (p:Person) RETURN count(p)")
    await backup(client, "m1")

    after = await scrape(client)
    assert value(after, "graph_api_databases") == 1
    assert value(after, "graph_api_database_capacity_utilization_percent") == 5.0
    assert value(after, "graph_api_databases_open") == 1
    assert value(after, "graph_api_connections_idle") >= 1
    assert value(after, "graph_api_request_duration_seconds_count", operation="query", status="2xx") == 9
    assert value(after, "graph_api_request_duration_seconds_sum", operation="query", status="2xx") > 0
    assert value(after, "graph_api_database_size_bytes", graph_id="m1") > 0
    assert value(after, "graph_api_operations_total", operation="backup", result="success") == 1
    assert value(after, "graph_api_operation_bytes_total", operation="backup") > 0
    assert "graph_api_ingestion_queue_depth" in {k[0] for k in after}

    await client.delete("/databases/m1")
    gone = await scrape(client)
    assert ("graph_api_database_size_bytes", (("graph_id", "m1"),)) not in gone


async def test_database_metrics_json(client: httpx.AsyncClient) -> None:
    await create_graph(client, "m2")
    await populate(client, "m2", 30)
    body = (await client.get("/databases/m2/metrics")).json()
    assert body["node_count"] == 33 and body["rel_count"] == 29 + 10
    assert body["size_bytes"] > 0 and body["last_write_at"] is not None and body["backups"] == 0
    await backup(client, "m2")
    body = (await client.get("/databases/m2/metrics")).json()
    assert body["backups"] == 1 and body["last_backup_at"]
    assert (await client.get("/databases/none/metrics")).status_code == 404


async def test_metrics_need_the_key_and_apps_do_not_share_registries(tmp_path: Path) -> None:
    async with running_node(node_settings(tmp_path / "a")) as a, running_node(node_settings(tmp_path / "b")) as b:
        assert (await a.get("/metrics", headers={"X-Graph-API-Key": "wrong"})).status_code == 401
        await create_graph(a, "only_a")
        await cypher(a, "only_a", "RETURN 1")
        assert value(await scrape(a), "graph_api_request_duration_seconds_count", operation="query", status="2xx") == 1
        assert value(await scrape(b), "graph_api_request_duration_seconds_count", operation="query", status="2xx") == 0
        assert HEADERS  # both apps take the suite's key


async def test_unmatched_paths_share_one_series(client: httpx.AsyncClient) -> None:
    """A client cannot mint metric series: every path no route matches is counted as `unmatched`."""
    for i in range(20):
        assert (await client.get(f"/no/such/path/{i}")).status_code == 404
    names = {labels for (name, labels) in (await scrape(client)) if name == "graph_api_request_duration_seconds_count"}
    operations = {dict(labels)["operation"] for labels in names}
    assert "unmatched" in operations and not any(op.startswith("/no/such") for op in operations)
