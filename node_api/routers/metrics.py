"""Metrics: the node in Prometheus exposition format, and one graph's figures as JSON."""

from __future__ import annotations

from contextlib import suppress

from fastapi import APIRouter
from starlette.responses import Response

from node_api.backends.errors import BackendError
from node_api.core.metrics import CONTENT_TYPE, take_snapshot
from node_api.deps import BackupsDep, GraphIdDep, MetricsDep, NodeDep
from node_api.models.metrics import DatabaseMetricsResponse

router = APIRouter(tags=["metrics"])


@router.get("/metrics", name="prometheus_metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE: {}}}},
            summary="Prometheus exposition: latencies per operation, pools, capacity, memory, disk")
async def prometheus_metrics(node: NodeDep, metrics: MetricsDep) -> Response:
    return Response(metrics.render(await take_snapshot(node)), media_type=CONTENT_TYPE)


@router.get("/databases/{graph_id}/metrics", response_model=DatabaseMetricsResponse, name="database_metrics")
async def database_metrics(graph_id: GraphIdDep, node: NodeDep, operations: BackupsDep) -> DatabaseMetricsResponse:
    backend = node.backend
    info = await backend.database_info(graph_id)
    async with node.admission.admit():
        stats = await backend.database_stats(graph_id)
    load = backend.usage_by_database().get(graph_id)
    backups: list[dict] = []
    with suppress(BackendError):  # S3 unreachable: the graph's own figures still answer
        backups = await operations.list_backups(graph_id)
    return DatabaseMetricsResponse(
        graph_id=graph_id, schema_type=info.schema_type, created_at=info.created_at,
        size_bytes=stats.size_bytes, node_count=stats.node_count, rel_count=stats.rel_count,
        last_write_at=stats.last_write_at, is_open=info.is_open,
        active_connections=load.active_connections if load else 0,
        waiting_requests=load.waiting_requests if load else 0, last_backup_at=str(backups[0]["created_at"]) if backups else None,
        backups=len(backups),
    )
