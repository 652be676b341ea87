"""The staging/ingestion service of a node: what the staging routers call, one method per route.

It owns the staging manager (one DuckDB per graph), the cursors tenant SQL runs on (query.py), and
the jobs it submits to the node's task registry (core/tasks.py, shared with backup/restore).
The app's lifespan opens it after the task registry and closes it after the registry has stopped
(running data tasks use the staging databases).

Every write that moves data for a graph (staging a table, ingesting, bulk copy, rebuild) is a task
serialized per graph_id; the bound on waiting tasks answers 503 + Retry-After. A request that waits
for its task gets the task's result, or the very error the task failed with.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from node_api.backends.base import GraphBackend, ResultStream
from node_api.backends.errors import Unsupported
from node_api.core.staging.errors import StagingError
from node_api.core.staging.ingest import ParquetSource, StagingTableSource, TaskReporter, load
from node_api.core.staging.manager import StagedTable, StagingManager
from node_api.core.staging.query import QueryResult, TenantQuery, TenantResultStream
from node_api.core.staging.rebuild import rebuild_graph
from node_api.core.staging.settings import StagingSettings
from node_api.core.staging.sources import S3Credentials, open_reader, parse_source
from node_api.core.tasks import Task, TaskContext, TaskRegistry

if TYPE_CHECKING:

    pass

MAX_QUERY_TIMEOUT_S = 300.0


T = TypeVar("T")


@dataclass
class StagingService:
    settings: StagingSettings
    manager: StagingManager
    tasks: TaskRegistry
    backend: GraphBackend

    # ---- graphs
    def __post_init__(self) -> None:
        # Tenant SQL waits for cursors and runs on threads of its own: a burst of it never takes the
        # threads the rest of the node uses (list, create, status; found by attacking: 15 s readiness).
        self._executor = ThreadPoolExecutor(max_workers=self.settings.read_pool_size + 2,
                                            thread_name_prefix="staging-sql")
        self._running: set[TenantQuery] = set()

    @classmethod
    def open(cls, settings: StagingSettings, base_path: Path, tasks: TaskRegistry, backend: GraphBackend,
             ) -> StagingService:
        """The node's staging: a manager of the graphs' staging databases, which lets go of a graph's
        directory while the backend replaces or deletes it (a DatabaseListener). DuckDB runs in the
        node's own process: when the node passes its memory limit with its own process the largest,
        the backend's supervisor stops running tenant queries (`stop_queries_for_memory`)."""
        manager = StagingManager(base_path, settings)
        backend.add_listener(manager)
        service = cls(settings, manager, tasks, backend)
        backend.on_memory_pressure(service.stop_queries_for_memory)
        return service

    async def close(self) -> None:
        await asyncio.to_thread(self.manager.close)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def stop_queries_for_memory(self) -> bool:
        """From any thread: interrupt every running tenant query; True if there was one."""
        running = list(self._running)
        for query in running:
            query.stop_for_memory()
        return bool(running)

    async def _blocking(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def require_graph(self, graph_id: str) -> None:
        """The graph exists (DatabaseNotFound) and its backend has staging tables (Unsupported)."""
        await self.backend.database_info(graph_id)
        if not self.backend.capabilities.staging_tables:
            raise Unsupported(f"the {self.backend.kind} backend has no staging tables")

    # ---- staging tables
    def start_create_table(
        self, graph_id: str, table_name: str, s3_pattern: str, credentials: S3Credentials | None
    ) -> Task:
        """Queues the staging of the files as a task of the graph's queue (kind `stage_table`); its
        progress is rows read of the files' footer total (phase `staging`). Raises InvalidSource (400)
        for a malformed or disallowed pattern before anything is queued."""
        parse_source(s3_pattern, self.settings, own_credentials=credentials is None)

        async def job(ctx: TaskContext) -> dict[str, Any]:
            def on_progress(done: int, total: int) -> None:
                ctx.report(
                    phase="staging",
                    rows_done=done,
                    rows_total=total,
                    progress=100 * done / max(1, total),
                    message=f"staging {table_name}",
                )

            staged = await _recording(
                ctx,
                asyncio.to_thread(
                    self.manager.create_table, graph_id, table_name, s3_pattern, credentials, on_progress
                ),
            )
            return {
                "status": "success",
                "graph_id": graph_id,
                "table_name": staged.table_name,
                "row_count": staged.row_count,
                "size_bytes": staged.size_bytes,
                "s3_location": staged.s3_location,
                "files": [asdict(f) for f in staged.files or []],
            }

        params = {"table_name": table_name, "s3_pattern": s3_pattern}
        return self._submit("stage_table", graph_id, job, params)

    async def create_table(
        self, graph_id: str, table_name: str, s3_pattern: str, credentials: S3Credentials | None
    ) -> dict[str, Any]:
        """Stages the files as a task of the graph's queue and waits for it: its result, or its error."""
        task = self.start_create_table(graph_id, table_name, s3_pattern, credentials)
        return dict(await self.tasks.result(task.task_id), task_id=task.task_id)

    async def list_tables(self, graph_id: str) -> list[StagedTable]:
        return await asyncio.to_thread(lambda: self.manager.database(graph_id).list_tables())

    async def describe_table(self, graph_id: str, table_name: str) -> StagedTable:
        return await asyncio.to_thread(lambda: self.manager.database(graph_id).describe(table_name))

    async def delete_table(self, graph_id: str, table_name: str) -> None:
        await asyncio.to_thread(lambda: self.manager.database(graph_id).drop_table(table_name))

    # ---- tenant SQL
    def _tenant_query(self, graph_id: str, sql: str, timeout_s: float | None) -> TenantQuery:
        timeout = min(timeout_s or self.settings.query_timeout_s, MAX_QUERY_TIMEOUT_S)
        db = self.manager.database(graph_id)
        return TenantQuery(db.readers, sql, timeout_s=timeout, max_sql_length=self.settings.max_sql_length)

    async def query(self, graph_id: str, sql: str, timeout_s: float | None = None, *,
                    max_bytes: int) -> QueryResult:
        """At most GRAPH_API_STAGING_MAX_ROWS rows (`truncated` says if there were more), whose JSON is
        at most `max_bytes` (ResultTooLarge past it)."""

        def run() -> QueryResult:
            query = self._tenant_query(graph_id, sql, timeout_s)
            self._running.add(query)
            try:
                return query.result(self.settings.max_result_rows, max_bytes)
            finally:
                self._running.discard(query)

        return await self._blocking(run)

    @asynccontextmanager
    async def stream(
        self, graph_id: str, sql: str, *, chunk_size: int, timeout_s: float | None = None
    ) -> AsyncIterator[ResultStream]:
        """All rows, a chunk at a time. The statement runs (and fails) before this yields, so an error
        is answered before any response byte; the cursor goes back when the context closes."""
        query = await self._blocking(lambda: self._tenant_query(graph_id, sql, timeout_s))
        self._running.add(query)
        try:
            await self._blocking(query.open)
            try:
                yield TenantResultStream(query, chunk_size, self._blocking)
            finally:
                await self._blocking(query.close)
        finally:
            self._running.discard(query)

    # ---- loads
    def start_ingest(self, graph_id: str, table_name: str, *, ignore_errors: bool, rebuild: bool) -> Task:
        async def job(ctx: TaskContext) -> dict[str, Any]:
            if rebuild:
                return await _recording(
                    ctx,
                    rebuild_graph(
                        self.backend, self.manager, graph_id, ignore_errors=ignore_errors, task=ctx
                    ),
                )
            db = await asyncio.to_thread(self.manager.database, graph_id)
            result = await _recording(
                ctx,
                load(
                    self.backend,
                    graph_id,
                    lambda: StagingTableSource(db, table_name),
                    table_name,
                    ignore_errors=ignore_errors,
                    task=ctx,
                ),
            )
            result["rebuild"] = False
            return result

        params = {"table_name": table_name, "ignore_errors": ignore_errors, "rebuild": rebuild}
        return self._submit("ingest", graph_id, job, params)

    async def ingest(
        self, graph_id: str, table_name: str, *, ignore_errors: bool, rebuild: bool
    ) -> dict[str, Any]:
        task = self.start_ingest(graph_id, table_name, ignore_errors=ignore_errors, rebuild=rebuild)
        return dict(await self.tasks.result(task.task_id), task_id=task.task_id)

    async def start_copy(
        self,
        graph_id: str,
        table_name: str,
        s3_pattern: str,
        *,
        ignore_errors: bool,
        credentials: S3Credentials | None,
    ) -> Task:
        await self.backend.database_info(graph_id)
        if not self.backend.capabilities.s3_copy:
            raise Unsupported(f"S3 bulk copy is not supported by the {self.backend.kind} backend")
        source = parse_source(s3_pattern, self.settings, own_credentials=credentials is None)

        async def job(ctx: TaskContext) -> dict[str, Any]:
            ctx.report(phase="listing", message=f"reading the footers of {s3_pattern}")
            reader = await asyncio.to_thread(open_reader, source, self.settings, credentials)
            try:
                result = await _recording(
                    ctx,
                    load(
                        self.backend,
                        graph_id,
                        lambda: ParquetSource(reader, source),
                        table_name,
                        ignore_errors=ignore_errors,
                        task=ctx,
                    ),
                )
            finally:
                await asyncio.to_thread(reader.close)
            result["s3_pattern"] = s3_pattern
            return result

        params = {"table_name": table_name, "s3_pattern": s3_pattern, "ignore_errors": ignore_errors}
        return self._submit("s3_copy", graph_id, job, params)

    def _submit(self, kind: str, graph_id: str, job: Any, params: dict[str, Any]) -> Task:
        return self.tasks.submit(kind, job, graph_id=graph_id, serial_key=graph_id, params=params)


async def _recording(task: TaskReporter, work: Any) -> Any:
    """Awaits `work`; a StagingError's per-file records go to the task's errors before it fails."""
    try:
        return await work
    except StagingError as exc:
        task.record_errors(exc.records)
        raise
