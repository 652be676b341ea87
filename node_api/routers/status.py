"""Liveness, readiness and node information.

/status/live answers 200 while the process serves. /status is readiness: 200 when the node can
take work, 503 when it cannot (backend down, memory past its high-water mark, admission saturated),
so a load balancer stops routing to a node that would only answer 503.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from node_api.backends.errors import BackendError
from node_api.core.jsonenc import dumps
from node_api.deps import NodeDep
from node_api.models.status import (
    DatabasesStatusResponse,
    DatabaseStatus,
    EngineWorkersInfo,
    InfoResponse,
    StatusResponse,
)
from node_api.security.auth import require_api_key

public = APIRouter(tags=["health"])
protected = APIRouter(tags=["health"], dependencies=[Depends(require_api_key)])


@public.get("/status/live", name="liveness")
async def liveness() -> dict[str, str]:
    return {"status": "alive"}


@public.get("/status", response_model=StatusResponse, name="status",
            responses={503: {"model": StatusResponse, "description": "The node cannot take work now."}})
async def node_status(node: NodeDep) -> Response:
    reasons: list[str] = []
    state = "healthy"
    try:
        await node.backend.health()
    except BackendError as exc:
        reasons.append(f"backend: {exc.message}")
        state = "unhealthy"
    if pressure := node.admission.memory_pressure:
        reasons.append(pressure)
        state = "overloaded" if state == "healthy" else state
    if node.admission.saturated:
        reasons.append("query admission is saturated")
        state = "overloaded" if state == "healthy" else state
    body = StatusResponse(
        status=state,
        node_type=node.settings.node_type.value,
        tier=node.settings.tier,
        backend=node.backend.kind,
        databases=await node.backend.database_count(),
        max_databases=node.settings.max_databases,
        memory_usage_mb=round(node.admission.rss_bytes / 2**20, 1),
        uptime_seconds=node.uptime_seconds,
        reasons=reasons,
    )
    headers = {"Retry-After": str(node.settings.retry_after_s)} if state != "healthy" else None
    return Response(dumps(body.model_dump()), status_code=200 if state == "healthy" else 503,
                    media_type="application/json", headers=headers)


@protected.get("/status/databases", response_model=DatabasesStatusResponse, name="status_databases")
async def databases_status(node: NodeDep) -> DatabasesStatusResponse:
    infos = await node.backend.list_databases()
    usage = node.backend.usage_by_database()
    items = []
    for info in infos:
        load = usage.get(info.graph_id)
        items.append(DatabaseStatus(
            graph_id=info.graph_id, schema_type=info.schema_type, is_open=info.is_open,
            active_connections=load.active_connections if load else 0,
            waiting_requests=load.waiting_requests if load else 0,
            last_used_at=info.last_used_at.isoformat() if info.last_used_at else None,
            worker_pid=load.worker_pid if load else None,
            worker_memory_mb=round(load.worker_memory_bytes / 2**20, 1)
            if load and load.worker_memory_bytes is not None else None,
        ))
    return DatabasesStatusResponse(databases=items, open_databases=sum(i.is_open for i in items), total=len(items))


@protected.get("/info", response_model=InfoResponse, name="info")
async def info(node: NodeDep) -> InfoResponse:
    settings, backend, admission = node.settings, node.backend, node.admission
    stats = backend.stats()
    count = await backend.database_count()
    engine = backend.engine_processes()
    return InfoResponse(
        instance_id=settings.instance_id,
        cluster_tier=settings.tier,
        node_type=settings.node_type.value,
        environment=settings.environment,
        backend=backend.kind,
        engine_version=backend.engine_version,
        max_databases=settings.max_databases,
        database_count=count,
        available_capacity=max(0, settings.max_databases - count),
        open_databases=stats.open_databases,
        active_connections=stats.active_connections,
        idle_connections=stats.idle_connections,
        queue_depth=admission.queued + stats.waiting_requests,
        in_flight_queries=admission.in_flight,
        rejected_requests=admission.rejected,
        disk_free_bytes=node.disk.free_bytes(),
        min_free_disk_mb=node.settings.min_free_disk_mb,
        memory_usage_mb=round(admission.rss_bytes / 2**20, 1),
        memory_limit_mb=settings.max_memory_mb,
        memory_per_db_mb=settings.memory_per_db_mb,
        uptime_seconds=node.uptime_seconds,
        limits={
            "max_concurrent_queries": settings.max_concurrent_queries,
            "max_queued_queries": settings.max_queued_queries,
            "connection_pool_size": settings.connection_pool_size,
            "query_timeout_s": settings.query_timeout_s,
            "max_query_timeout_s": settings.max_query_timeout_s,
            "max_query_length": settings.max_query_length,
            "chunk_size": settings.chunk_size,
            "max_open_databases": settings.max_open_databases,
            "timeout_grace_s": settings.timeout_grace_s,
        },
        engine_workers=EngineWorkersInfo(running=engine.workers, memory_enforcement=engine.memory_enforcement,
                                         sandbox=engine.sandbox, exits=engine.exits) if engine else None,
        extensions=list(backend.extensions),
    )
