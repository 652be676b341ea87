"""FastAPI application factory for a graph node.

    create_app(settings)   the whole settings tree (settings.py); nothing reads the environment later

The lifespan builds the node's services once, in order, into a typed NodeState (state.py):
backend -> admission -> task registry -> staging -> backups -> CloudWatch publisher -> cluster
membership, and stops them in reverse. Every router is mounted here, behind the API key except the
health probes (docs/architecture.md: where to add a route, a backend, a setting).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from node_api.backends.factory import create_backend
from node_api.cluster.wiring import cluster_membership, select_key_provider
from node_api.core.admission import AdmissionController
from node_api.core.backup.service import BackupService
from node_api.core.base_path_lock import base_path_lock
from node_api.core.cloudwatch import publishing
from node_api.core.disk import DiskGuard
from node_api.core.logs import get_logger
from node_api.core.metrics import NodeMetrics
from node_api.core.middleware import BodyLimit, RequestContext
from node_api.core.shedding import LoadShedding
from node_api.core.staging.service import StagingService
from node_api.core.tasks import TaskRegistry
from node_api.errors import install_error_handlers
from node_api.models.errors import ERROR_RESPONSES
from node_api.routers import backup, copy, databases, metrics, query, schema, status, tables, tasks
from node_api.security.auth import ApiKeyProvider, require_api_key
from node_api.settings import NodeSettings
from node_api.state import NodeState

log = get_logger("node_api")

SECURED_ROUTERS = (databases, query, schema, tables, copy, tasks, backup, metrics)


def create_app(settings: NodeSettings | None = None, *, key_provider: ApiKeyProvider | None = None) -> FastAPI:
    settings = settings or NodeSettings()
    node_metrics = NodeMetrics()  # per app: several apps in one process (tests, benchmarks) keep apart

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend = create_backend(settings)
        admission = AdmissionController(
            max_concurrent=settings.max_concurrent_queries,
            max_queued=settings.max_queued_queries,
            queue_timeout_s=settings.queue_timeout_s,
            memory_limit_bytes=settings.max_memory_mb << 20,
            high_water_percent=settings.memory_high_water_percent,
            system_high_water_percent=settings.system_memory_high_water_percent,
            retry_after_s=settings.retry_after_s,
            worker_memory=backend.worker_memory_bytes,
        )
        keys = key_provider or select_key_provider(settings)
        if not keys.valid_keys():
            if not settings.dev_mode:
                raise RuntimeError("GRAPH_API_KEY is not set; set it, or GRAPH_API_DEV_MODE=true for local use")
            log.warning("NO API KEY CONFIGURED: every request is accepted without authentication "
                        "(development mode only; never run like this beside real data)")
        async with AsyncExitStack() as stack:
            stack.enter_context(base_path_lock(settings.base_path))  # BasePathInUse: before anything is touched
            await backend.start()
            stack.push_async_callback(backend.close)
            await admission.start()
            stack.push_async_callback(admission.close)
            registry = TaskRegistry.from_settings(settings.base_path, settings.tasks)
            await registry.start()
            staging = StagingService.open(settings.staging, settings.base_path, registry, backend)
            stack.push_async_callback(staging.close)
            # Running data tasks use the staging databases: the registry stops (its tasks finish or are
            # cancelled) before staging closes.
            stack.push_async_callback(registry.close)
            backups = BackupService(settings.backup, base_path=settings.base_path, development=settings.development,
                                    backend=backend, tasks=registry, metrics=node_metrics)
            await backups.start()
            stack.push_async_callback(backups.close)
            disk = DiskGuard(settings.base_path, settings.min_free_disk_mb << 20)
            node = NodeState(settings=settings, backend=backend, admission=admission, key_provider=keys,
                             metrics=node_metrics, tasks=registry, backups=backups, staging=staging, disk=disk)
            app.state.node = node
            await stack.enter_async_context(publishing(node))
            await stack.enter_async_context(cluster_membership(node))
            log.info("node started", backend=backend.kind, base_path=str(settings.base_path),
                     port=settings.port, max_databases=settings.max_databases)
            yield
            log.info("node stopping")

    # Swagger UI (/docs) and ReDoc (/redoc) from fastapi-offline's bundled assets: no CDN, so they
    # load offline and behind a strict network.
    app: FastAPI = FastAPIOffline(
        title="Graph node API",
        version="0.1.0",
        description="Multi-tenant graph databases on one node: embedded LadybugDB or Kuzu (one worker process "
                    "per open database), or a Bolt server (tested against ArcadeDB).",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,  # every route documents the one error body
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(LoadShedding)  # outside BodyLimit: a refused query is not even read
    app.add_middleware(RequestContext, on_complete=node_metrics.observe_request)
    app.include_router(status.public)
    app.include_router(status.protected)
    secured = [Depends(require_api_key)]
    for module in SECURED_ROUTERS:
        app.include_router(module.router, dependencies=secured)
    return app
