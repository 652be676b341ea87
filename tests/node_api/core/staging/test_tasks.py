"""Background tasks: S3 bulk copy monitored over SSE with readable progress, per-file counts and
paged errors, the per-database queue bound, restarts, and the registry on its own."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from node_api.core.tasks import TaskRegistry, TaskStatus
from tests.node_api.core.staging.helpers import (
    API_KEY,
    HEADERS,
    create_graph,
    entities,
    node_settings,
    put_parquet,
    running_node,
)
from tests.support.live_node import LiveNode
from tests.support.node import cypher_rows
from tests.support.waiting import until


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
    # Real counts as it goes: reading 40,000 rows, then loading them.
    phases = [(e["phase"], e["rows_total"]) for name, e in events[:-1] if e["phase"] in ("reading", "loading")]
    assert ("reading", 40_000) in phases and ("loading", 40_000) in phases
    assert [e["progress"] for _, e in events] == sorted(e["progress"] for _, e in events)
    final = events[-1][1]
    assert final["status"] == "succeeded" and final["progress"] == 100
    assert final["result"]["rows_ingested"] == 40_000 and final["result"]["rows_skipped"] == 0
    assert final["rows_done"] == final["rows_total"] == 40_000
    # A finished task keeps its counts, not its last progress message.
    assert final["message"] is None and final["phase"] is None and final["eta_seconds"] is None
    assert final["rows_per_second"] > 0
    files = final["result"]["files"]
    assert [(f["path"].rsplit("/", 1)[1], f["rows"], f["parse_errors"], f["duplicates"]) for f in files] == [
        ("a.parquet", 20_000, 0, 0),
        ("b.parquet", 20_000, 0, 0),
    ]
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
    registry: TaskRegistry = client.app.state.node.tasks
    release = asyncio.Event()

    async def blocker(ctx) -> dict:
        await release.wait()
        return {}

    # GRAPH_API_INGEST_QUEUE_BOUND=2: one running + two waiting fill g_busy's queue.
    held = [registry.submit("test", blocker, graph_id="g_busy", serial_key="g_busy") for _ in range(3)]
    await until(lambda: registry.get(held[0].task_id).status is TaskStatus.RUNNING, what="the first task running")
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
        registry: TaskRegistry = client.app.state.node.tasks

        async def never_ends(ctx) -> dict:
            ctx.report(progress=40, rows_done=40, message="halfway")
            started.set()
            await asyncio.Event().wait()
            return {}

        task = registry.submit("ingest", never_ends, graph_id="g_restart", serial_key="g_restart")
        await started.wait()
        task_file = base_path / ".tasks" / f"{task.task_id}.json"

        def persisted_halfway() -> bytes:  # progress is persisted at most every 0.5 s
            data = task_file.read_bytes() if task_file.exists() else b""
            return data if data and json.loads(data)["rows_done"] == 40 else b""

        snapshot = await until(persisted_halfway, what="the task's progress on disk")
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
    registry: TaskRegistry = client.app.state.node.tasks
    done = await registry.wait(accepted.json()["task_id"])
    assert done.status is TaskStatus.SUCCEEDED and done.result["rows_ingested"] == 10


async def test_registry_keeps_order_per_key_and_runs_keys_in_parallel(tmp_path: Path):
    registry = TaskRegistry(tmp_path, queue_bound=10, retry_after_s=1)
    await registry.start()
    log: list[str] = []

    b1_ended = asyncio.Event()

    def job(name: str, after: asyncio.Event | None = None, then: asyncio.Event | None = None):
        async def run(ctx) -> dict:
            log.append(f"start {name}")
            if after is not None:
                await after.wait()
            log.append(f"end {name}")
            if then is not None:
                then.set()
            return {"name": name}

        return run

    # a1 ends only once b1 has: were database b held up behind a, neither would ever end.
    a1 = registry.submit("t", job("a1", after=b1_ended), graph_id="a", serial_key="a")
    a2 = registry.submit("t", job("a2"), graph_id="a", serial_key="a")
    b1 = registry.submit("t", job("b1", then=b1_ended), graph_id="b", serial_key="b")
    async with asyncio.timeout(30):
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
    registry: TaskRegistry = client.app.state.node.tasks
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
    live = LiveNode(base_path, {"LOG_LEVEL": "WARNING"}, api_key=API_KEY)
    await asyncio.to_thread(live.start)
    try:
        async with httpx.AsyncClient(base_url=live.url, headers=HEADERS, timeout=60) as node:
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

            async def inside_the_copy() -> dict:
                status = (await node.get(f"/tasks/{task_id}/status")).json()
                return status if status["status"] != "running" or status["phase"] in ("reading", "loading") else {}

            state = (await until(inside_the_copy, what="the ingestion reading or loading"))["status"]
    finally:
        await asyncio.to_thread(live.kill)  # SIGKILL: no shutdown hook runs
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


async def test_copy_errors_name_the_file_and_row_and_are_paged(client, s3):
    await create_graph(client, "g_errors")
    good = entities(4).cast(pa.schema([("identifier", pa.string()), ("name", pa.string()), ("score", pa.string())]))
    bad = pa.table({"identifier": ["e9", "e1", "e8"], "name": ["x", "dup", "y"], "score": ["1.5", "2", "oops"]})
    put_parquet(s3, "errors/a.parquet", good)
    put_parquet(s3, "errors/b.parquet", bad)  # "oops" is not a DOUBLE; e1 repeats a.parquet's row
    accepted = await client.post(
        "/databases/g_errors/copy",
        json={"s3_pattern": "s3://tenant-data/errors/*.parquet", "table_name": "Entity", "ignore_errors": True},
    )
    done = (await client.app.state.node.tasks.wait(accepted.json()["task_id"]))
    assert done.status is TaskStatus.SUCCEEDED, done.error
    result = done.result
    assert (result["rows_received"], result["parse_errors"], result["duplicates"], result["rows_ingested"]) == (
        7, 1, 1, 5,
    )
    by_file = {f["path"].rsplit("/", 1)[1]: f for f in result["files"]}
    assert (by_file["a.parquet"]["parse_errors"], by_file["a.parquet"]["duplicates"]) == (0, 0)
    assert (by_file["b.parquet"]["parse_errors"], by_file["b.parquet"]["duplicates"]) == (1, 1)

    first = (await client.get(f"/tasks/{done.task_id}/errors", params={"per_page": 1})).json()
    second = (await client.get(f"/tasks/{done.task_id}/errors", params={"per_page": 1, "page": 2})).json()
    assert first["total"] == second["total"] == 2 and first["page"] == 1 and second["page"] == 2
    records = {r["code"]: r for r in first["errors"] + second["errors"]}
    assert records["parse_error"]["file"].endswith("b.parquet") and records["parse_error"]["row"] == 2
    assert records["parse_error"]["column"] == "score" and records["parse_error"]["value"] == "oops"
    assert records["duplicate"]["file"].endswith("b.parquet") and records["duplicate"]["row"] == 1
    assert records["duplicate"]["value"] == "e1"
    past = (await client.get(f"/tasks/{done.task_id}/errors", params={"page": 3, "per_page": 1})).json()
    assert past["errors"] == [] and past["total"] == 2
    assert (await client.get("/tasks/task_nope/errors")).status_code == 404


async def test_staging_reports_rows_as_it_goes(client, staging_settings, monkeypatch):
    import pyarrow.parquet as pq

    from node_api.core.tasks import TaskContext

    await create_graph(client, "g_progress")
    for part in range(3):
        pq.write_table(entities(1000, start=part * 1000), staging_settings.local_root / f"p{part}.parquet")
    reports: list[dict] = []
    original = TaskContext.report

    def spy(self, **changes):
        reports.append(changes)
        original(self, **changes)

    monkeypatch.setattr(TaskContext, "report", spy)
    staged = await client.post(
        "/databases/g_progress/tables",
        json={"table_name": "Entity", "s3_pattern": f"file://{staging_settings.local_root}/p*.parquet"},
    )
    assert staged.status_code == 200 and staged.json()["row_count"] == 3000
    # The total is known from the footers before the first row is read, and the count ends there.
    assert reports[0] == {"phase": "staging", "rows_done": 0, "rows_total": 3000, "progress": 0.0,
                          "message": "staging Entity"}
    assert reports[-1]["rows_done"] == 3000 and reports[-1]["progress"] == 100
    status = (await client.get(f"/tasks/{staged.json()['task_id']}/status")).json()
    assert (status["rows_done"], status["rows_total"], status["message"]) == (3000, 3000, None)


async def test_rate_and_eta_follow_the_reported_rows(tmp_path: Path, monkeypatch):
    """The registry's arithmetic, with the minimum rate window at 0 (no waiting on a clock)."""
    from node_api.core import tasks as tasks_module

    monkeypatch.setattr(tasks_module, "_MIN_RATE_WINDOW_S", 0.0)
    registry = TaskRegistry(tmp_path, queue_bound=1, retry_after_s=1)
    await registry.start()
    step = asyncio.Event()
    checked = asyncio.Event()

    async def job(ctx) -> dict:
        ctx.report(phase="reading", rows_done=0, rows_total=1000)
        await asyncio.sleep(0.01)  # kept: the rate is rows over the loop's clock, so some time must pass
        ctx.report(rows_done=400)
        step.set()
        await checked.wait()
        ctx.report(phase="loading", rows_done=0, rows_total=1000)
        return {}

    task = registry.submit("t", job)
    await step.wait()
    now = registry.get(task.task_id)
    assert now.phase == "reading" and now.rows_done == 400 and now.rows_per_second > 0
    assert now.eta_seconds == pytest.approx((1000 - 400) / now.rows_per_second, abs=0.1)  # rounded to 0.1 s
    checked.set()
    done = await registry.wait(task.task_id)
    assert done.status is TaskStatus.SUCCEEDED and done.phase is None and done.eta_seconds is None
    await registry.close()


async def test_the_task_routes_need_only_the_registry(client):
    """/tasks reads the node's registry; the staging service is not involved."""
    node = client.app.state.node
    staging, node.staging = node.staging, None
    try:
        assert (await client.get("/tasks")).status_code == 200
        assert (await client.get("/tasks/task_nope/status")).json()["error"]["code"] == "task_not_found"
    finally:
        node.staging = staging
