"""FastAPI application factory for a writer node."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from node_api.backends.factory import create_backend
from node_api.cluster.wiring import cluster_membership, select_key_provider
from node_api.core.admission import AdmissionController
from node_api.core.logs import get_logger
from node_api.core.middleware import BodyLimit, RequestContext
from node_api.core.operations import install_operations, operations_service
from node_api.core.shedding import LoadShedding
from node_api.core.staging.errors import StagingError
from node_api.core.staging.service import staging_service
from node_api.core.tasks import TaskError, task_service
from node_api.errors import install_error_handlers
from node_api.models.errors import ERROR_RESPONSES
from node_api.routers import copy, databases, install_feature, query, status, tables, tasks
from node_api.security.auth import ApiKeyProvider, require_api_key
from node_api.settings import NodeSettings
from node_api.state import NodeState

log = get_logger("node_api")

# Modules that extend the node (staging, tasks, operations, cluster registration) register here:
# each gets the app and NodeState at start-up and returns an async context manager for its lifetime.
ServiceHook = Callable[[FastAPI, NodeState], Any]


def create_app(
    settings: NodeSettings | None = None,
    *,
    key_provider: ApiKeyProvider | None = None,
    service_hooks: list[ServiceHook] | None = None,
) -> FastAPI:
    settings = settings or NodeSettings()
    # task_service first: staging and backup/restore submit to the node's one task registry.
    hooks = [*(service_hooks or []), cluster_membership, task_service, staging_service, operations_service]

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
        node = NodeState(settings=settings, backend=backend, admission=admission, key_provider=keys)
        app.state.node = node
        if not keys.valid_keys():
            if not settings.dev_mode:
                raise RuntimeError("GRAPH_API_KEY is not set; set it, or GRAPH_API_DEV_MODE=true for local use")
            log.warning("NO API KEY CONFIGURED: every request is accepted without authentication "
                        "(development mode only; never run like this beside real data)")
        async with AsyncExitStack() as stack:
            await backend.start()
            stack.push_async_callback(backend.close)
            await admission.start()
            stack.push_async_callback(admission.close)
            for hook in hooks:
                await stack.enter_async_context(hook(app, node))
            log.info("node started", backend=backend.kind, base_path=str(settings.base_path),
                     port=settings.port, max_databases=settings.max_databases)
            yield
            log.info("node stopping")

    app = FastAPI(
        title="Graph node API",
        version="0.1.0",
        description="Multi-tenant graph databases on one writer node (Kuzu embedded or Neo4j over Bolt).",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,  # every route documents the one error body
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(LoadShedding)  # outside BodyLimit: a refused query is not even read
    metrics = install_operations(app)  # backup/restore, schema, metrics routers; per-app registry
    app.add_middleware(RequestContext, on_complete=metrics.observe_request)
    install_feature(app, (tables, copy), StagingError)  # staging tables, ingestion, S3 copy
    install_feature(app, (tasks,), TaskError)  # the node's tasks (staging, ingestion, backup, restore)
    app.include_router(status.public)
    app.include_router(status.protected)
    secured = [Depends(require_api_key)]
    app.include_router(databases.router, dependencies=secured)
    app.include_router(query.router, dependencies=secured)
    return app
