"""The staging/ingestion service of a node: the staging manager, the task registry, and the jobs.

`staging_service` is the app's service hook (node_api/app.py `service_hooks`): it builds both at
start-up, marks tasks interrupted by a previous crash as failed, and on shutdown cancels running
tasks (persisted as failed) and closes the staging databases.

Every write that moves data for a graph (staging a table, ingesting, bulk copy, rebuild) is a task
serialized per graph_id; the bound on waiting tasks answers 503 + Retry-After.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from node_api.backends.base import GraphBackend
from node_api.core.staging.ingest import ParquetSource, StagingTableSource, load
from node_api.core.staging.manager import StagingManager
from node_api.core.staging.rebuild import rebuild_graph
from node_api.core.staging.settings import StagingSettings
from node_api.core.staging.sources import S3Credentials, open_reader, parse_source
from node_api.core.tasks import Task, TaskContext, TaskRegistry
from node_api.state import NodeState

SERVICE_NAME = "staging"
TASKS_SERVICE_NAME = "tasks"


@dataclass
class StagingService:
    settings: StagingSettings
    manager: StagingManager
    tasks: TaskRegistry
    backend: GraphBackend

    def stage_table(
        self, graph_id: str, table_name: str, s3_pattern: str, credentials: S3Credentials | None
    ) -> Task:
        # Checked before queueing, so a malformed pattern is a 400 at once, not a failed task.
        parse_source(s3_pattern, self.settings, own_credentials=credentials is None)

        async def job(ctx: TaskContext) -> dict[str, Any]:
            def on_rows(n: int) -> None:
                ctx.report(rows_done=n)

            staged = await asyncio.to_thread(
                self.manager.create_table, graph_id, table_name, s3_pattern, credentials, on_rows
            )
            return {
                "status": "success",
                "graph_id": graph_id,
                "table_name": staged.table_name,
                "row_count": staged.row_count,
                "size_bytes": staged.size_bytes,
                "s3_location": staged.s3_location,
            }

        return self._submit(
            "stage_table", graph_id, job, {"table_name": table_name, "s3_pattern": s3_pattern}
        )

    def ingest(self, graph_id: str, table_name: str, *, ignore_errors: bool, rebuild: bool) -> Task:
        async def job(ctx: TaskContext) -> dict[str, Any]:
            if rebuild:
                return await rebuild_graph(
                    self.backend, self.manager, graph_id, ignore_errors=ignore_errors, report=ctx.report
                )
            db = await asyncio.to_thread(self.manager.database, graph_id)
            result = await load(
                self.backend,
                graph_id,
                lambda: StagingTableSource(db, table_name),
                table_name,
                ignore_errors=ignore_errors,
                report=ctx.report,
            )
            result["rebuild"] = False
            return result

        params = {"table_name": table_name, "ignore_errors": ignore_errors, "rebuild": rebuild}
        return self._submit("ingest", graph_id, job, params)

    def copy(
        self,
        graph_id: str,
        table_name: str,
        s3_pattern: str,
        *,
        ignore_errors: bool,
        credentials: S3Credentials | None,
    ) -> Task:
        source = parse_source(s3_pattern, self.settings, own_credentials=credentials is None)

        async def job(ctx: TaskContext) -> dict[str, Any]:
            reader = await asyncio.to_thread(open_reader, source, self.settings, credentials)
            try:
                result = await load(
                    self.backend,
                    graph_id,
                    lambda: ParquetSource(reader, source),
                    table_name,
                    ignore_errors=ignore_errors,
                    report=ctx.report,
                )
            finally:
                await asyncio.to_thread(reader.close)
            result["s3_pattern"] = s3_pattern
            return result

        params = {"table_name": table_name, "s3_pattern": s3_pattern, "ignore_errors": ignore_errors}
        return self._submit("s3_copy", graph_id, job, params)

    def _submit(self, kind: str, graph_id: str, job: Any, params: dict[str, Any]) -> Task:
        return self.tasks.submit(kind, job, graph_id=graph_id, serial_key=graph_id, params=params)


@asynccontextmanager
async def staging_service(app: FastAPI, node: NodeState) -> AsyncIterator[StagingService]:
    settings = StagingSettings()
    manager = StagingManager(node.settings.base_path, settings)
    tasks = TaskRegistry(
        node.settings.base_path,
        queue_bound=settings.ingest_queue_bound,
        retry_after_s=settings.ingest_retry_after_s,
        retention=settings.task_retention,
        shutdown_grace_s=settings.task_shutdown_grace_s,
    )
    await tasks.start()
    service = StagingService(settings, manager, tasks, node.backend)
    node.backend.add_listener(manager)
    node.services[SERVICE_NAME] = service
    node.services[TASKS_SERVICE_NAME] = tasks  # the node's one task registry (backup/restore use it too)
    try:
        yield service
    finally:
        node.services.pop(SERVICE_NAME, None)
        node.services.pop(TASKS_SERVICE_NAME, None)
        await tasks.close()
        await asyncio.to_thread(manager.close)


async def _service(request: Request) -> StagingService:
    return request.app.state.node.services[SERVICE_NAME]


StagingDep = Annotated[StagingService, Depends(_service)]
