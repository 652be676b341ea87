"""`get_graph_client`: a client already pointed at the node that holds the graph.

    async with await get_graph_client("kg1a2b3c4d5", "read") as client:
        await client.query("kg1a2b3c4d5", "MATCH (n) RETURN count(n)")

Routes are cached (`route_ttl_s`); a client that finds its node unreachable drops the graph's
cached route, so the next `get_graph_client` reads the registry again.
"""

from __future__ import annotations

import asyncio
import threading
from functools import lru_cache
from typing import Any

from client.aio import AsyncGraphClient
from client.config import ClientConfig
from client.exceptions import NodeUnreachableError
from client.routing import NodeRoute, OperationType, RegistryRouter, RouteCache, open_registry
from client.sync import GraphClient

__all__ = ["GraphClientFactory", "OperationType", "default_factory", "get_graph_client", "get_sync_graph_client"]


class GraphClientFactory:
    def __init__(self, config: ClientConfig | None = None) -> None:
        self.config = config or ClientConfig()
        self.cache = RouteCache(self.config.route_ttl_s)
        self._routers: dict[str, RegistryRouter] = {}
        self._lock = threading.Lock()

    def _router(self, environment: str) -> RegistryRouter:
        with self._lock:
            if environment not in self._routers:
                self._routers[environment] = RegistryRouter(open_registry(self.config, environment), self.config)
            return self._routers[environment]

    def route(
        self, graph_id: str, operation_type: OperationType | str = OperationType.READ,
        environment: str | None = None, tier: str | None = None, *, entity_id: str | None = None,
    ) -> NodeRoute:
        operation = OperationType(operation_type)
        if self.config.local_url:
            return NodeRoute(graph_id, self.config.local_url, "local", "writer")
        # Reads and writes of a shared repository go to different nodes; create is a write.
        key = (graph_id, "read" if operation is OperationType.READ else "write")
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        env = environment or self.config.environment
        route = self._router(env).resolve(graph_id, operation, tier or self.config.default_tier, entity_id)
        self.cache.put(key, route)
        return route

    def _client_kwargs(self, route: NodeRoute) -> dict[str, Any]:
        def forget(_: NodeUnreachableError) -> None:
            self.cache.drop(route.graph_id)

        return {"config": self.config, "base_url": route.url, "on_unreachable": forget}

    def sync_client(self, graph_id: str, operation_type: OperationType | str = OperationType.READ,
                    environment: str | None = None, tier: str | None = None, **kwargs: Any) -> GraphClient:
        return GraphClient(**self._client_kwargs(self.route(graph_id, operation_type, environment, tier, **kwargs)))

    async def async_client(self, graph_id: str, operation_type: OperationType | str = OperationType.READ,
                           environment: str | None = None, tier: str | None = None,
                           **kwargs: Any) -> AsyncGraphClient:
        # boto3 blocks: the registry is read on a worker thread, never on the event loop.
        route = await asyncio.to_thread(self.route, graph_id, operation_type, environment, tier, **kwargs)
        return AsyncGraphClient(**self._client_kwargs(route))


@lru_cache(maxsize=1)
def default_factory() -> GraphClientFactory:
    """The process's factory, configured from GRAPH_CLIENT_* (tests call `default_factory.cache_clear()`)."""
    return GraphClientFactory()


async def get_graph_client(
    graph_id: str, operation_type: OperationType | str = OperationType.READ, environment: str | None = None,
    tier: str | None = None, *, entity_id: str | None = None,
) -> AsyncGraphClient:
    """An AsyncGraphClient for the node serving `graph_id` (use it as `async with`)."""
    return await default_factory().async_client(graph_id, operation_type, environment, tier, entity_id=entity_id)


def get_sync_graph_client(
    graph_id: str, operation_type: OperationType | str = OperationType.READ, environment: str | None = None,
    tier: str | None = None, *, entity_id: str | None = None,
) -> GraphClient:
    """A GraphClient for the node serving `graph_id` (use it as `with`)."""
    return default_factory().sync_client(graph_id, operation_type, environment, tier, entity_id=entity_id)
