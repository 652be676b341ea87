"""Background tasks: S3 bulk copy monitored over SSE, the per-database queue bound, and restarts."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.compute as pc

from node_api.core.tasks import TaskRegistry, TaskStatus
from staging.helpers import (
    API_KEY,
    HEADERS,
    create_graph,
    entities,
    node_settings,
    put_parquet,
    running_node,
)
from tests.support.node import cypher_rows

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sse(text: str) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in text.splitlines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and name:
            events.append((name, json.loads(line.split(":", 1)[1])))
    return events


async def test_s3_copy_task_streams_progress_then_its_result(client, s3):
    await create_graph(client, "g_copy")
    put_parquet(s3, "copy/entity/a.parquet", entities(20_000))
    put_parquet(s3, "copy/entity/b.parquet", entities(20_000, start=20_000))
    accepted = await client.post(
        "/databases/g_copy/copy",
        json={
            "s3_pattern": "s3://tenant-data/copy/entity/*.parquet",
            "table_name": "Entity",
            "ignore_errors": True,
        },
    )
    assert accepted.status_code == 202, accepted.text
    task = accepted.json()
    assert task["kind"] == "s3_copy" and task["monitor_url"] == f"/tasks/{task['task_id']}/monitor"

    monitor = await client.get(task["monitor_url"])
    assert monitor.status_code == 200 and monitor.headers["content-type"].startswith("text/event-stream")
    events = _sse(monitor.text)
    assert events[0][0] == "progress" and events[-1][0] == "completed"
    assert all(name == "progress" for name, _ in events[:-1])
    final = events[-1][1]
    assert final["status"] == "succeeded" and final["progress"] == 100
    assert final["result"]["rows_ingested"] == 40_000 and final["result"]["rows_skipped"] == 0
    assert final["rows_done"] == 40_000
    assert (await cypher_rows(client, "g_copy", "MATCH (n:Entity) RETURN count(n)")) == [[40_000]]

    status = (await client.get(f"/tasks/{task['task_id']}/status")).json()
    assert status["status"] == "succeeded" and status["started_at"] and status["finished_at"]
    listed = (await client.get("/tasks", params={"graph_id": "g_copy"})).json()
    assert task["task_id"] in [t["task_id"] for t in listed["tasks"]]

    # A copy that fails ends as a failed task with the clear error; the graph keeps its rows.
    failed = await client.post(
        "/databases/g_copy/copy",
        json={"s3_pattern": "s3://tenant-data/copy/none/*.parquet", "table_name": "Entity"},
    )
    events = _sse((await client.get(failed.json()["monitor_url"])).text)
    assert events[-1][0] == "failed"
    assert events[-1][1]["error"]["code"] == "source_not_found"
    assert (await cypher_rows(client, "g_copy", "MATCH (n:Entity) RETURN count(n)")) == [[40_000]]
    assert (await client.get("/tasks/task_nope/status")).status_code == 404
    assert (await client.get("/tasks/task_nope/monitor")).status_code == 404


async def test_queue_bound_answers_503_with_retry_after(client, s3):
    await create_graph(client, "g_busy")
    await create_graph(client, "g_free")
    registry: TaskRegistry = client.app.state.node.services["staging"].tasks
    release = asyncio.Event()

    async def blocker(ctx) -> dict:
        await release.wait()
        return {}

    # GRAPH_API_INGEST_QUEUE_BOUND=2: one running + two waiting fill g_busy's queue.
    held = [registry.submit("test", blocker, graph_id="g_busy", serial_key="g_busy") for _ in range(3)]
    await asyncio.sleep(0.05)
    assert [registry.get(t.task_id).status for t in held] == [
        TaskStatus.RUNNING,
        TaskStatus.QUEUED,
        TaskStatus.QUEUED,
    ]
    refused = await client.post("/databases/g_busy/tables/Entity/ingest", json={})
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == "5" and refused.json()["error"]["code"] == "overloaded"
    # Another database is not held up.
    put_parquet(s3, "busy/e.parquet", entities(5))
    other = await client.post(
        "/databases/g_free/tables",
        json={"table_name": "Entity", "s3_pattern": "s3://tenant-data/busy/e.parquet"},
    )
    assert other.status_code == 200, other.text
    release.set()
    for t in held:
        assert (await registry.wait(t.task_id)).status is TaskStatus.SUCCEEDED


async def test_restart_reports_the_task_in_flight_as_failed(staging_settings, s3, base_path: Path):
    put_parquet(s3, "restart/e.parquet", entities(100))
    settings = node_settings(base_path)
    started = asyncio.Event()
    snapshot: bytes = b""
    async with running_node(settings) as client:
        await create_graph(client, "g_restart")
        staged = await client.post(
            "/databases/g_restart/tables",
            json={"table_name": "Entity", "s3_pattern": "s3://tenant-data/restart/e.parquet"},
        )
        assert staged.status_code == 200
        registry: TaskRegistry = client.app.state.node.services["staging"].tasks

        async def never_ends(ctx) -> dict:
            ctx.report(progress=40, rows_done=40, message="halfway")
            started.set()
            await asyncio.Event().wait()
            return {}

        task = registry.submit("ingest", never_ends, graph_id="g_restart", serial_key="g_restart")
        await started.wait()
        await asyncio.sleep(0.6)  # progress is persisted at most every 0.5 s
        task_file = base_path / ".tasks" / f"{task.task_id}.json"
        snapshot = await asyncio.to_thread(task_file.read_bytes)
        assert json.loads(snapshot)["status"] == "running"
    # The node "died": its last persisted word on the task is `running` (a graceful stop would have
    # recorded `cancelled`, so put the crash-time file back).
    await asyncio.to_thread(task_file.write_bytes, snapshot)

    async with running_node(settings) as client:
        status = (await client.get(f"/tasks/{task.task_id}/status")).json()
        assert status["status"] == "failed" and status["error"]["code"] == "interrupted"
        assert status["rows_done"] == 40 and status["finished_at"]
        events = _sse((await client.get(f"/tasks/{task.task_id}/monitor")).text)
        assert [name for name, _ in events] == ["failed"]
        # Earlier finished tasks are still there, and the graph and its staging data are intact.
        assert staged.json()["task_id"] in [
            t["task_id"] for t in (await client.get("/tasks")).json()["tasks"]
        ]
        assert (await client.get("/databases/g_restart/tables")).json()[0]["row_count"] == 100
        ingested = await client.post("/databases/g_restart/tables/Entity/ingest", json={})
        assert ingested.status_code == 200 and ingested.json()["rows_ingested"] == 100


async def test_ingest_without_waiting_returns_202(client, s3):
    await create_graph(client, "g_async")
    put_parquet(s3, "async/e.parquet", entities(10))
    await client.post(
        "/databases/g_async/tables",
        json={"table_name": "Entity", "s3_pattern": "s3://tenant-data/async/e.parquet"},
    )
    accepted = await client.post("/databases/g_async/tables/Entity/ingest", json={"wait": False})
    assert accepted.status_code == 202
    registry: TaskRegistry = client.app.state.node.services["staging"].tasks
    done = await registry.wait(accepted.json()["task_id"])
    assert done.status is TaskStatus.SUCCEEDED and done.result["rows_ingested"] == 10


async def test_registry_keeps_order_per_key_and_runs_keys_in_parallel(tmp_path: Path):
    registry = TaskRegistry(tmp_path, queue_bound=10, retry_after_s=1)
    await registry.start()
    log: list[str] = []

    def job(name: str, delay: float):
        async def run(ctx) -> dict:
            log.append(f"start {name}")
            await asyncio.sleep(delay)
            log.append(f"end {name}")
            return {"name": name}

        return run

    a1 = registry.submit("t", job("a1", 0.1), graph_id="a", serial_key="a")
    a2 = registry.submit("t", job("a2", 0.0), graph_id="a", serial_key="a")
    b1 = registry.submit("t", job("b1", 0.0), graph_id="b", serial_key="b")
    for t in (a1, a2, b1):
        await registry.wait(t.task_id)
    assert log.index("end a1") < log.index("start a2")  # same database: one at a time, in order
    assert log.index("end b1") < log.index("end a1")  # other database: not held up
    assert registry.get(a2.task_id).result == {"name": "a2"}
    await registry.close()
    # Persisted: a new registry on the same directory sees the same finished tasks.
    again = TaskRegistry(tmp_path, queue_bound=10, retry_after_s=1)
    await again.start()
    assert again.get(a1.task_id).status is TaskStatus.SUCCEEDED
    assert {t.task_id for t in again.list(graph_id="a")} == {a1.task_id, a2.task_id}


async def test_watch_yields_each_change_while_running(client):
    """httpx's ASGI transport buffers a response; the feed behind /monitor is checked incrementally here."""
    registry: TaskRegistry = client.app.state.node.services["staging"].tasks
    step = asyncio.Event()

    async def slow(ctx) -> dict:
        ctx.report(progress=10)
        await step.wait()
        ctx.report(progress=90, rows_done=9)
        return {"ok": True}

    task = registry.submit("test", slow, graph_id=None)
    seen: list[str] = []
    async for snapshot in registry.watch(task.task_id):
        seen.append(f"{snapshot.status.value}:{snapshot.progress:g}")
        if snapshot.progress == 10:
            step.set()
    assert seen[-1] == "succeeded:100" and "running:10" in seen


async def test_node_killed_mid_ingest_reports_failed_and_keeps_the_graph_whole(
    staging_settings, s3, base_path
):
    """A real node process, SIGKILLed while a real ingestion runs; a new node on the same files."""
    rows = 1_500_000
    ids = pa.array(range(rows), pa.int64())
    big = pa.table(
        {
            "identifier": pc.binary_join_element_wise("e", pc.cast(ids, pa.string()), ""),
            "name": pc.cast(ids, pa.string()),
            "score": pc.cast(ids, pa.float64()),
        }
    )
    put_parquet(s3, "crash/big.parquet", big)
    port = _free_port()
    env = {
        **os.environ,
        "GRAPH_API_KEY": API_KEY,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
        "KUZU_MEMORY_PER_DB_MB": "512",
        "KUZU_MAX_DB_SIZE_GB": "16",
    }
    proc = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, "-m", "node_api", "--base-path", str(base_path), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=60
        ) as node:
            for _ in range(300):
                try:
                    if (await node.get("/status/live")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            await create_graph(node, "g_crash")
            await cypher_rows(
                node, "g_crash", "CREATE (:Entity {identifier: 'before', name: 'b', score: 1.0})"
            )
            staged = await node.post(
                "/databases/g_crash/tables",
                json={"table_name": "Entity", "s3_pattern": "s3://tenant-data/crash/big.parquet"},
            )
            assert staged.status_code == 200, staged.text
            accepted = await node.post("/databases/g_crash/tables/Entity/ingest", json={"wait": False})
            task_id = accepted.json()["task_id"]
            for _ in range(400):
                if (await node.get(f"/tasks/{task_id}/status")).json()["status"] == "running":
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # inside the read / COPY
            state = (await node.get(f"/tasks/{task_id}/status")).json()["status"]
    finally:
        proc.kill()  # SIGKILL: no shutdown hook runs
        await asyncio.to_thread(proc.wait)
    assert state == "running", "the ingestion finished before the kill; make the data larger"

    async with running_node(node_settings(base_path, memory_per_db_mb=512)) as client:
        status = (await client.get(f"/tasks/{task_id}/status")).json()
        assert status["status"] == "failed" and status["error"]["code"] == "interrupted", status
        # Kuzu replays its WAL: the COPY that never committed left no rows.
        assert await cypher_rows(client, "g_crash", "MATCH (n:Entity) RETURN count(n)") == [[1]]
        assert (await client.get("/databases/g_crash/tables")).json()[0]["row_count"] == rows
        again = await client.post("/databases/g_crash/tables/Entity/ingest", json={})
        assert again.status_code == 200, again.text
        assert await cypher_rows(client, "g_crash", "MATCH (n:Entity) RETURN count(n)") == [[rows + 1]]
