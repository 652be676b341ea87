"""Staging tables: create from S3 Parquet, list, describe, delete, query read-only, ingest into the graph."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Depends, Request, status
from starlette.responses import Response

from node_api.backends import errors as be
from node_api.backends.base import ResultStream
from node_api.core.jsonenc import dumps
from node_api.core.staging import errors as se
from node_api.core.staging.service import StagingDep
from node_api.core.staging.sources import S3Credentials
from node_api.core.streaming import NDJSON, NdjsonResponse, SseResponse, negotiate, result_events
from node_api.core.tasks import Task, TaskStatus
from node_api.deps import GraphIdDep, NodeDep
from node_api.errors import STATUS_BY_ERROR, error_response
from node_api.models.tables import (
    CreateTableRequest,
    CreateTableResponse,
    DeleteTableResponse,
    IngestRequest,
    IngestResponse,
    S3CredentialsModel,
    StagingQueryRequest,
    StagingQueryResponse,
    StagingTableModel,
    TaskAccepted,
)
from node_api.security.paths import validate_identifier

router = APIRouter(tags=["tables"])

async def _staged_graph(graph_id: GraphIdDep, node: NodeDep) -> str:
    """The graph exists (404 before anything is read) and its backend has staging tables (400)."""
    await node.backend.database_info(graph_id)
    if not node.backend.capabilities.staging_tables:
        raise be.Unsupported(f"the {node.backend.kind} backend has no staging tables")
    return graph_id


StagedGraphDep = Annotated[str, Depends(_staged_graph)]


def _status_by_code() -> dict[str, int]:
    codes = {cls.code: status for cls, status in STATUS_BY_ERROR.items()}
    pending = list(se.StagingError.__subclasses__())
    while pending:
        cls = pending.pop()
        codes[cls.code] = cls.status_code
        pending.extend(cls.__subclasses__())
    return codes


STATUS_BY_CODE = _status_by_code()


def task_error_response(request: Request, task: Task) -> Response:
    """A failed task, answered like the error it ended with (same status and body as if raised)."""
    error = task.error or {"code": "internal_error", "message": "the task failed"}
    code = error.get("code", "internal_error")
    details = dict(error.get("details") or {}, task_id=task.task_id)
    return error_response(request, STATUS_BY_CODE.get(code, 500), code, error.get("message", ""), details)


def accepted(request: Request, task: Task) -> Response:
    body = TaskAccepted(
        task_id=task.task_id,
        status=task.status.value,
        graph_id=task.graph_id,
        kind=task.kind,
        status_url=str(request.url_for("task_status", task_id=task.task_id).path),
        monitor_url=str(request.url_for("task_monitor", task_id=task.task_id).path),
    )
    return Response(
        dumps(body.model_dump()), status_code=status.HTTP_202_ACCEPTED, media_type="application/json"
    )


def credentials_of(model: S3CredentialsModel | None) -> S3Credentials | None:
    if model is None:
        return None
    token = model.aws_session_token.get_secret_value() if model.aws_session_token else None
    return S3Credentials(
        model.aws_access_key_id, model.aws_secret_access_key.get_secret_value(), token, model.region
    )


async def _finished(service: Any, task: Task, request: Request) -> Task | Response:
    done = await service.tasks.wait(task.task_id)
    if done.status is TaskStatus.FAILED:
        return task_error_response(request, done)
    return done


@router.post(
    "/databases/{graph_id}/tables",
    response_model=CreateTableResponse,
    name="create_staging_table",
    summary="Create or replace a staging table from Parquet files (S3 glob)",
)
async def create_table(
    graph_id: StagedGraphDep, body: CreateTableRequest, request: Request, node: NodeDep, staging: StagingDep
) -> Response:
    started = time.perf_counter()
    task = staging.stage_table(
        graph_id, body.table_name, body.s3_pattern, credentials_of(body.s3_credentials)
    )
    done = await _finished(staging, task, request)
    if isinstance(done, Response):
        return done
    payload = dict(
        done.result or {},
        task_id=done.task_id,
        execution_time_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return Response(dumps(CreateTableResponse(**payload).model_dump()), media_type="application/json")


@router.get(
    "/databases/{graph_id}/tables", response_model=list[StagingTableModel], name="list_staging_tables"
)
async def list_tables(graph_id: StagedGraphDep, node: NodeDep, staging: StagingDep) -> list[StagingTableModel]:
    tables = await asyncio.to_thread(lambda: staging.manager.database(graph_id).list_tables())
    return [StagingTableModel(graph_id=graph_id, **t.__dict__) for t in tables]


@router.get(
    "/databases/{graph_id}/tables/{table_name}", response_model=StagingTableModel, name="get_staging_table"
)
async def get_table(
    graph_id: StagedGraphDep, table_name: str, node: NodeDep, staging: StagingDep
) -> StagingTableModel:
    validate_identifier(table_name, "table_name")
    table = await asyncio.to_thread(lambda: staging.manager.database(graph_id).describe(table_name))
    return StagingTableModel(graph_id=graph_id, **table.__dict__)


@router.delete(
    "/databases/{graph_id}/tables/{table_name}",
    response_model=DeleteTableResponse,
    name="delete_staging_table",
)
async def delete_table(
    graph_id: StagedGraphDep, table_name: str, node: NodeDep, staging: StagingDep
) -> DeleteTableResponse:
    validate_identifier(table_name, "table_name")
    await asyncio.to_thread(lambda: staging.manager.database(graph_id).drop_table(table_name))
    return DeleteTableResponse(message=f"Table {table_name} deleted successfully")


class _DuckDBResultStream(ResultStream):
    def __init__(self, cursor: duckdb.DuckDBPyConnection, chunk_size: int, timeout_s: float) -> None:
        self._cursor = cursor
        self._chunk_size = chunk_size
        self._timeout_s = timeout_s
        self.columns = [d[0] for d in cursor.description or []]

    async def chunks(self) -> AsyncIterator[list[list[Any]]]:
        while True:
            try:
                rows = await asyncio.to_thread(self._cursor.fetchmany, self._chunk_size)
            except duckdb.InterruptException:
                raise se.StagingQueryTimeout(f"staging query exceeded {self._timeout_s:g}s") from None
            except duckdb.Error as exc:
                raise se.StagingQueryFailed(str(exc).split("\n\nLINE", 1)[0]) from None
            if not rows:
                return
            yield [list(r) for r in rows]


@router.post(
    "/databases/{graph_id}/tables/query",
    response_model=StagingQueryResponse,
    name="query_staging_tables",
    responses={200: {"content": {NDJSON: {}, "text/event-stream": {}}}},
    summary="Read-only SQL over this graph's staging tables (JSON, NDJSON or SSE by Accept)",
)
async def query_tables(
    graph_id: StagedGraphDep, body: StagingQueryRequest, request: Request, node: NodeDep, staging: StagingDep
) -> Response:
    started = time.perf_counter()
    settings = staging.settings
    timeout_s = min(body.timeout or settings.query_timeout_s, 300.0)
    media = negotiate(request.headers.get("accept"))
    db = await asyncio.to_thread(staging.manager.database, graph_id)
    query = db.tenant_query(body.sql, timeout_s)
    # Runs (and fails: rejected, invalid, timeout) before any response byte is sent.
    cursor = await asyncio.to_thread(query.__enter__)
    stack = AsyncExitStack()
    stack.push_async_callback(asyncio.to_thread, query.__exit__, None, None, None)
    if media == "application/json":
        async with stack:
            try:
                rows = await asyncio.to_thread(cursor.fetchmany, settings.max_result_rows + 1)
            except duckdb.InterruptException:
                raise se.StagingQueryTimeout(f"staging query exceeded {timeout_s:g}s") from None
            except duckdb.Error as exc:
                raise se.StagingQueryFailed(str(exc).split("\n\nLINE", 1)[0]) from None
            columns = [d[0] for d in cursor.description or []]
        truncated = len(rows) > settings.max_result_rows
        rows = rows[: settings.max_result_rows]
        payload = {
            "graph_id": graph_id,
            "columns": columns,
            "rows": [list(r) for r in rows],
            "row_count": len(rows),
            "truncated": truncated,
            "execution_time_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        return Response(dumps(payload), media_type="application/json")
    stream = _DuckDBResultStream(cursor, node.settings.chunk_size, timeout_s)
    events = result_events(stream, started, {"graph_id": graph_id})
    response_class = NdjsonResponse if media == NDJSON else SseResponse
    return response_class(events, stack)


@router.post(
    "/databases/{graph_id}/tables/{table_name}/ingest",
    name="ingest_staging_table",
    response_model=IngestResponse,
    responses={202: {"model": TaskAccepted}},
    summary="Load a staging table into the graph table of the same name (or rebuild the graph)",
)
async def ingest_table(
    graph_id: StagedGraphDep,
    table_name: str,
    body: IngestRequest,
    request: Request,
    node: NodeDep,
    staging: StagingDep,
) -> Response:
    validate_identifier(table_name, "table_name")
    task = staging.ingest(graph_id, table_name, ignore_errors=body.ignore_errors, rebuild=body.rebuild)
    if not body.wait:
        return accepted(request, task)
    done = await _finished(staging, task, request)
    if isinstance(done, Response):
        return done
    body = IngestResponse(**dict(done.result or {}, task_id=done.task_id))
    return Response(dumps(body.model_dump(exclude_none=True)), media_type="application/json")
