"""Staging tables: create from S3 Parquet, list, describe, delete, query read-only, ingest into the graph.

Each route calls one StagingService method (node_api/core/staging/service.py); cursors, streams,
tasks and error translation live there.
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from starlette.responses import Response

from node_api.core.jsonenc import dumps
from node_api.core.staging.sources import S3Credentials
from node_api.core.streaming import NDJSON, NdjsonResponse, SseResponse, negotiate, result_events
from node_api.core.tasks import Task
from node_api.deps import WRITES_TO_DISK, GraphIdDep, NodeDep, StagingDep
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


async def _staged_graph(graph_id: GraphIdDep, staging: StagingDep) -> str:
    """404 before anything is read, 400 when the backend has no staging tables."""
    await staging.require_graph(graph_id)
    return graph_id


StagedGraphDep = Annotated[str, Depends(_staged_graph)]


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


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@router.post(
    "/databases/{graph_id}/tables", dependencies=WRITES_TO_DISK,
    response_model=CreateTableResponse,
    responses={202: {"model": TaskAccepted}},
    name="create_staging_table",
    summary="Create or replace a staging table from Parquet files (S3 glob), unified by column name",
)
async def create_table(
    graph_id: StagedGraphDep, body: CreateTableRequest, request: Request, staging: StagingDep
) -> Response:
    started = time.perf_counter()
    credentials = credentials_of(body.s3_credentials)
    if not body.wait:
        return accepted(request, staging.start_create_table(graph_id, body.table_name, body.s3_pattern, credentials))
    result = await staging.create_table(graph_id, body.table_name, body.s3_pattern, credentials)
    payload = CreateTableResponse(**result, execution_time_ms=_elapsed_ms(started))
    return Response(dumps(payload.model_dump()), media_type="application/json")


@router.get(
    "/databases/{graph_id}/tables", response_model=list[StagingTableModel], name="list_staging_tables"
)
async def list_tables(graph_id: StagedGraphDep, staging: StagingDep) -> list[StagingTableModel]:
    return [StagingTableModel(graph_id=graph_id, **asdict(t)) for t in await staging.list_tables(graph_id)]


@router.get(
    "/databases/{graph_id}/tables/{table_name}", response_model=StagingTableModel, name="get_staging_table"
)
async def get_table(graph_id: StagedGraphDep, table_name: str, staging: StagingDep) -> StagingTableModel:
    validate_identifier(table_name, "table_name")
    table = await staging.describe_table(graph_id, table_name)
    return StagingTableModel(graph_id=graph_id, **asdict(table))


@router.delete(
    "/databases/{graph_id}/tables/{table_name}",
    response_model=DeleteTableResponse,
    name="delete_staging_table",
)
async def delete_table(graph_id: StagedGraphDep, table_name: str, staging: StagingDep) -> DeleteTableResponse:
    validate_identifier(table_name, "table_name")
    await staging.delete_table(graph_id, table_name)
    return DeleteTableResponse(message=f"Table {table_name} deleted successfully")


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
    media = negotiate(request.headers.get("accept"))
    if media == "application/json":
        async with node.admission.admit():  # staging SQL runs in this process: admitted like any query
            result = await staging.query(graph_id, body.sql, body.timeout,
                                         max_bytes=node.settings.max_json_result_bytes)
        payload = StagingQueryResponse(
            graph_id=graph_id,
            columns=result.columns,
            rows=result.rows,
            row_count=len(result.rows),
            truncated=result.truncated,
            execution_time_ms=_elapsed_ms(started),
        )
        return Response(dumps(payload.model_dump()), media_type="application/json")
    stack = AsyncExitStack()
    # The statement runs (and fails: refused, invalid, timeout) before any response byte is sent.
    try:
        async with node.admission.admit():
            stream = await stack.enter_async_context(
                staging.stream(graph_id, body.sql, chunk_size=node.settings.chunk_size, timeout_s=body.timeout)
            )
    except BaseException:
        await stack.aclose()
        raise
    events = result_events(stream, started, {"graph_id": graph_id})
    response_class = NdjsonResponse if media == NDJSON else SseResponse
    return response_class(events, stack, send_timeout_s=node.settings.stream_send_timeout_s)


@router.post(
    "/databases/{graph_id}/tables/{table_name}/ingest", dependencies=WRITES_TO_DISK,
    name="ingest_staging_table",
    response_model=IngestResponse,
    responses={202: {"model": TaskAccepted}},
    summary="Load a staging table into the graph table of the same name (or rebuild the graph)",
)
async def ingest_table(
    graph_id: StagedGraphDep, table_name: str, body: IngestRequest, request: Request, staging: StagingDep
) -> Response:
    validate_identifier(table_name, "table_name")
    if not body.wait:
        task = staging.start_ingest(
            graph_id, table_name, ignore_errors=body.ignore_errors, rebuild=body.rebuild
        )
        return accepted(request, task)
    result = await staging.ingest(
        graph_id, table_name, ignore_errors=body.ignore_errors, rebuild=body.rebuild
    )
    return Response(
        dumps(IngestResponse(**result).model_dump(exclude_none=True)), media_type="application/json"
    )
