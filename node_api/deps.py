"""Dependencies declared once as typed aliases and reused by every route.

They are `async def` on purpose: FastAPI runs a plain `def` dependency on a worker thread, two
thread hops per request for nothing (measured in the query-path benchmark).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from node_api.backends.base import GraphBackend
from node_api.core.backup.service import BackupService
from node_api.core.metrics import NodeMetrics
from node_api.core.staging.service import StagingService
from node_api.core.tasks import TaskRegistry
from node_api.security.paths import validate_graph_id
from node_api.settings import NodeSettings
from node_api.state import NodeState


async def _node(request: Request) -> NodeState:
    return request.app.state.node


async def _backend(request: Request) -> GraphBackend:
    return request.app.state.node.backend


async def _settings(request: Request) -> NodeSettings:
    return request.app.state.node.settings


async def _graph_id(graph_id: Annotated[str, Path(description="The graph database's id.")]) -> str:
    return validate_graph_id(graph_id)  # InvalidIdentifier -> 400 before any file is touched


async def _tasks(request: Request) -> TaskRegistry:
    return request.app.state.node.tasks


async def _backups(request: Request) -> BackupService:
    return request.app.state.node.backups


async def _metrics(request: Request) -> NodeMetrics:
    return request.app.state.node.metrics


async def _staging(request: Request) -> StagingService:
    return request.app.state.node.staging


NodeDep = Annotated[NodeState, Depends(_node)]
TasksDep = Annotated[TaskRegistry, Depends(_tasks)]
BackupsDep = Annotated[BackupService, Depends(_backups)]
MetricsDep = Annotated[NodeMetrics, Depends(_metrics)]
StagingDep = Annotated[StagingService, Depends(_staging)]
BackendDep = Annotated[GraphBackend, Depends(_backend)]
SettingsDep = Annotated[NodeSettings, Depends(_settings)]
GraphIdDep = Annotated[str, Depends(_graph_id)]


async def _require_disk_headroom(request: Request) -> None:
    request.app.state.node.disk.require_headroom()  # InsufficientStorage (507) below the floor


# For the routes that write to the node's volume (core/disk.py): `dependencies=WRITES_TO_DISK`.
WRITES_TO_DISK = [Depends(_require_disk_headroom)]
