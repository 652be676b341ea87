"""Dependencies declared once as typed aliases and reused by every route.

They are `async def` on purpose: FastAPI runs a plain `def` dependency on a worker thread, two
thread hops per request for nothing (measured in the query-path benchmark).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from node_api.backends.base import GraphBackend
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


NodeDep = Annotated[NodeState, Depends(_node)]
BackendDep = Annotated[GraphBackend, Depends(_backend)]
SettingsDep = Annotated[NodeSettings, Depends(_settings)]
GraphIdDep = Annotated[str, Depends(_graph_id)]
