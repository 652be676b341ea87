"""Backpressure: past the thresholds the node answers 503 + Retry-After at once."""

from __future__ import annotations

import asyncio

from tests.support.node import PERSON_DDL, SLOW_QUERY, create_db, cypher, node_client
from tests.support.waiting import until


async def _slow(client, graph_id="g", query_timeout=3.0):
    return await client.post(f"/databases/{graph_id}/query", json={"cypher": SLOW_QUERY, "timeout": query_timeout})


async def test_node_queue_full_is_503_with_retry_after(settings_factory):
    settings = settings_factory(max_concurrent_queries=1, max_queued_queries=0, retry_after_s=7)
    async with node_client(settings) as client:
        await create_db(client, "g", ddl=PERSON_DDL)
        admission = client.app.state.node.admission
        running = asyncio.create_task(_slow(client))
        await until(lambda: admission.in_flight == 1, what="the slow query admitted")
        rejected = await cypher(client, "g", "RETURN 1")
        assert rejected.status_code == 503
        assert "at capacity" in rejected.json()["error"]["message"]  # refused at once, never queued
        assert rejected.headers["Retry-After"] == "7"
        assert rejected.json()["error"]["code"] == "overloaded"
        info = (await client.get("/info")).json()
        assert info["in_flight_queries"] == 1 and info["rejected_requests"] >= 1
        assert (await running).status_code == 408
        assert (await cypher(client, "g", "RETURN 1")).status_code == 200


async def test_queue_wait_is_bounded_in_time(settings_factory):
    settings = settings_factory(max_concurrent_queries=1, max_queued_queries=5, queue_timeout_s=0.3)
    async with node_client(settings) as client:
        await create_db(client, "g", ddl=PERSON_DDL)
        admission = client.app.state.node.admission
        running = asyncio.create_task(_slow(client, query_timeout=2))
        await until(lambda: admission.in_flight == 1, what="the slow query admitted")
        waited = await cypher(client, "g", "RETURN 1")
        assert waited.status_code == 503 and "Retry-After" in waited.headers
        await running


async def test_per_database_waiters_are_bounded(settings_factory):
    settings = settings_factory(connection_pool_size=1, max_waiters_per_database=1, queue_timeout_s=5)
    async with node_client(settings) as client:
        await create_db(client, "g", ddl=PERSON_DDL)
        await create_db(client, "other", ddl=PERSON_DDL)
        backend = client.app.state.node.backend

        def load() -> tuple[int, int]:
            usage = backend.usage_by_database().get("g")
            return (usage.active_connections, usage.waiting_requests) if usage else (0, 0)

        running = asyncio.create_task(_slow(client, query_timeout=2))
        await until(lambda: load()[0] == 1, what="the slow query holding g's one connection")
        waiter = asyncio.create_task(cypher(client, "g", "RETURN 1"))
        await until(lambda: load() == (1, 1), what="a request waiting for g")
        rejected = await cypher(client, "g", "RETURN 1")
        assert rejected.status_code == 503 and rejected.headers["Retry-After"] == "1"
        # another tenant is not held up by this one's queue
        assert (await cypher(client, "other", "RETURN 1")).status_code == 200
        assert (await waiter).status_code == 200
        await running


async def test_memory_high_water_rejects_and_readiness_fails(settings_factory):
    # A 64 MB budget is below what the Python process alone uses: the node is past its high-water mark.
    async with node_client(settings_factory(max_memory_mb=64)) as client:
        client.app.state.node.admission.sample_memory()
        response = await client.post("/databases", json={"graph_id": "g", "schema_type": "entity"})
        assert response.status_code == 503 and "Retry-After" in response.headers
        assert "memory" in response.json()["error"]["message"]
        status = await client.get("/status")
        assert status.status_code == 503 and status.json()["status"] == "overloaded"
        assert (await client.get("/status/live")).status_code == 200


async def test_saturated_node_sheds_queries_before_reading_them(settings_factory):
    """At capacity a query is refused at the edge: not parsed, validated or authenticated first."""
    settings = settings_factory(max_concurrent_queries=1, max_queued_queries=0, retry_after_s=3)
    async with node_client(settings) as client:
        await create_db(client, "g", ddl=PERSON_DDL)
        admission = client.app.state.node.admission
        running = asyncio.create_task(_slow(client, query_timeout=2))
        await until(lambda: admission.in_flight == 1, what="the slow query admitted")
        garbage = await client.post("/databases/g/query", content=b"{not json",
                                    headers={"content-type": "application/json"})
        assert garbage.status_code == 503 and garbage.headers["Retry-After"] == "3"
        assert garbage.json()["error"]["code"] == "overloaded"
        # other routes are not shed: the node still answers what costs it nothing
        assert (await client.get("/databases")).status_code == 200
        await running
        assert (await client.post("/databases/g/query", content=b"{not json",
                                  headers={"content-type": "application/json"})).status_code == 400
