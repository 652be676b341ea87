"""`get_graph_client`: a client already pointed at the node that holds the graph.

    async with await get_graph_client("kg1a2b3c4d5", "read") as client:
        await client.query("kg1a2b3c4d5", "MATCH (n) RETURN count(n)")

Routes come from the router API when GRAPH_ROUTER_URL is set (client.routing explains the other
sources) and are cached for `route_ttl_s`; a client that finds its node unreachable drops the graph's
cached route, so the next `get_graph_client` asks again and finds the graph's new node after a failover.
Routing failures are typed (client.exceptions.RoutingError and its subclasses), never botocore's.
"""

from __future__ import annotations

import asyncio
import threading
from functools import lru_cache
from typing import Any

from botocore.credentials import Credentials

from client.aio import AsyncGraphClient
from client.config import ClientConfig
from client.exceptions import NodeUnreachableError
from client.router_api import RouterClient
from client.routing import NodeRoute, OperationType, RegistryRouter, RouteCache, Router, node_for
from client.sync import GraphClient
from contracts.enums import RepositoryType
from contracts.router import AllocateGraph, GraphRoute

__all__ = ["GraphClientFactory", "OperationType", "default_factory", "get_graph_client", "get_sync_graph_client"]


class GraphClientFactory:
    def __init__(self, config: ClientConfig | None = None, *, credentials: Credentials | None = None) -> None:
        """`credentials` sign router requests (default: the standard AWS credential chain)."""
        self.config = config or ClientConfig()
        self.cache = RouteCache(self.config.route_ttl_s)
        self._credentials = credentials
        self._routers: dict[str, Router] = {}
        self._lock = threading.Lock()

    @property
    def routed(self) -> bool:
        """True when graphs are found through a router or the registries (not one local URL)."""
        return not self.config.local_url

    def router(self, environment: str | None = None) -> Router:
        env = environment or self.config.environment
        with self._lock:
            if env not in self._routers:
                if self.config.router_url:
                    self._routers[env] = RouterClient(self.config, credentials=self._credentials)
                else:
                    self._routers[env] = RegistryRouter(self.config, env)
            return self._routers[env]

    def lookup(self, graph_id: str, environment: str | None = None) -> GraphRoute:
        """The graph's route as the router answers it now (uncached). Raises RoutingError subclasses."""
        return self.router(environment).route(graph_id)

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
        router = self.router(environment)
        if operation is OperationType.CREATE:
            shared = graph_id in self.config.shared_repositories
            graph = router.allocate(AllocateGraph(
                graph_id=graph_id, entity_id=entity_id, tier=tier,
                repository_type=RepositoryType.SHARED if shared else RepositoryType.ENTITY,
            ))
        else:
            graph = router.route(graph_id)
        route = node_for(graph, operation)
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
        # Routing blocks (HTTP to the router, or boto3): it runs on a worker thread, never on the loop.
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
