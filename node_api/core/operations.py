"""What create_app adds for operations (backup/restore, schema, metrics, CloudWatch):

    metrics = install_operations(app)                  # routers, error mapping, per-app metrics
    app.add_middleware(RequestContext, on_complete=metrics.observe_request)
    hooks: operations_service                          # backup service + CloudWatch publisher

Exception handlers must be registered before the app serves (Starlette builds its middleware
stack then), so install_operations runs in create_app, not in the lifespan hook.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from node_api.core.backup.errors import BackupError
from node_api.core.backup.service import SERVICE_NAME, BackupService
from node_api.core.backup.settings import BackupSettings
from node_api.core.cloudwatch import CloudWatchPublisher, CloudWatchSettings
from node_api.core.logs import get_logger
from node_api.core.metrics import NodeMetrics
from node_api.routers import install_feature
from node_api.state import NodeState

log = get_logger(__name__)


def install_operations(app: FastAPI) -> NodeMetrics:
    from node_api.routers import backup, metrics, schema

    app.state.metrics = node_metrics = NodeMetrics()
    install_feature(app, (backup, schema, metrics), BackupError)
    return node_metrics


@asynccontextmanager
async def operations_service(app: FastAPI, node: NodeState) -> AsyncIterator[BackupService]:
    metrics = getattr(app.state, "metrics", None)
    service = BackupService(node, BackupSettings(), metrics)
    await service.start()
    node.services[SERVICE_NAME] = service
    publisher: asyncio.Task[None] | None = None
    cloudwatch = CloudWatchSettings()
    if cloudwatch.enabled and metrics is not None:
        sender = CloudWatchPublisher.from_settings(node, metrics, cloudwatch)
        publisher = asyncio.create_task(sender.run(cloudwatch.interval_s), name="cloudwatch-publisher")
        log.info("cloudwatch publisher started", namespace=sender.namespace, interval_s=cloudwatch.interval_s)
    try:
        yield service
    finally:
        if publisher is not None:
            publisher.cancel()
            with suppress(asyncio.CancelledError):
                await publisher
        node.services.pop(SERVICE_NAME, None)
        await service.close()


async def _service(request: Request) -> BackupService:
    return request.app.state.node.services[SERVICE_NAME]


async def _metrics(request: Request) -> NodeMetrics:
    return request.app.state.metrics


OperationsDep = Annotated[BackupService, Depends(_service)]
MetricsDep = Annotated[NodeMetrics, Depends(_metrics)]
