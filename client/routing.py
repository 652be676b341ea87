"""graph_id -> node URL, from the DynamoDB registries (lambdas.registry), with a TTL cache.

- A registered graph goes to its instance (the allocator's `route`: active graph, healthy node).
- Shared repositories (`repository_type=shared`, or an id in `shared_repositories` such as `sec`)
  live on the shared master; reads go to a healthy `shared_replica` instance when one is registered.
- `create` of an unregistered graph allocates it through the allocator service (lambdas.allocator).
- With `local_url` set, every graph is on that one node and the registry is never read.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import boto3

from client.config import ClientConfig
from client.exceptions import AllocationError, GraphNotRegisteredError, GraphUnavailableError
from lambdas.common.aws import Registry, scan_all
from lambdas.registry import (
    GRAPH_REGISTRY,
    INSTANCE_REGISTRY,
    VOLUME_REGISTRY,
    InstanceStatus,
    NodeType,
    RepositoryType,
)

# Read replicas of the shared repositories register with this node_type (none do yet: until then
# shared reads go to the master). Read from raw rows: InstanceItem only knows writer/shared_master.
SHARED_REPLICA = "shared_replica"


class OperationType(StrEnum):
    READ = "read"
    WRITE = "write"
    CREATE = "create"  # allocate the graph if it is not registered yet


@dataclass(frozen=True)
class NodeRoute:
    graph_id: str
    url: str
    instance_id: str
    node_type: str


class RouteCache:
    """(graph_id, read|write) -> NodeRoute for `ttl_s`; a graph's entries are dropped when its node
    is unreachable, so the next call reads the registry again (the graph may have moved)."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[tuple[str, str], tuple[float, NodeRoute]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> NodeRoute | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                self._entries.pop(key, None)
                return None
            return entry[1]

    def put(self, key: tuple[str, str], route: NodeRoute) -> None:
        if self.ttl_s > 0:
            with self._lock:
                self._entries[key] = (time.monotonic() + self.ttl_s, route)

    def drop(self, graph_id: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == graph_id]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def open_registry(config: ClientConfig, environment: str) -> Registry:
    dynamodb = boto3.resource("dynamodb", region_name=config.region, endpoint_url=config.aws_endpoint_url)
    return Registry(
        db=dynamodb,
        instances=dynamodb.Table(INSTANCE_REGISTRY.table_name(environment)),
        graphs=dynamodb.Table(GRAPH_REGISTRY.table_name(environment)),
        volumes=dynamodb.Table(VOLUME_REGISTRY.table_name(environment)),
    )


class RegistryRouter:
    def __init__(self, registry: Registry, config: ClientConfig) -> None:
        self.registry = registry
        self.config = config

    def resolve(self, graph_id: str, operation: OperationType, tier: str, entity_id: str | None) -> NodeRoute:
        # Imported here: the allocator pulls in the Lambda toolkit, needed only for routing.
        from lambdas.allocator import service
        from lambdas.allocator.models import AllocateEvent
        from lambdas.common.errors import ControlPlaneError, NotFound, Unavailable

        shared_name = graph_id in self.config.shared_repositories
        try:
            graph = service.get_graph(self.registry, graph_id)
            if graph is None and operation is OperationType.CREATE:
                kind = RepositoryType.SHARED if shared_name else RepositoryType.ENTITY
                route, _ = service.allocate(self.registry, AllocateEvent(
                    action="allocate", graph_id=graph_id, entity_id=entity_id or graph_id, tier=tier,
                    repository_type=kind,
                ))
                return NodeRoute(graph_id, route.endpoint, route.instance_id, route.node_type)
            shared = shared_name if graph is None else graph.repository_type == RepositoryType.SHARED
            if shared and operation is OperationType.READ and (replica := self._healthy(SHARED_REPLICA)):
                return self._route(graph_id, replica)
            if graph is None:
                if shared and (master := self._healthy(NodeType.SHARED_MASTER)):
                    return self._route(graph_id, master)
                raise GraphNotRegisteredError(f"graph {graph_id!r} is not registered")
            route = service.route(self.registry, graph_id)
        except NotFound as exc:
            raise GraphNotRegisteredError(exc.message) from None
        except Unavailable as exc:
            raise GraphUnavailableError(exc.message) from None
        except ControlPlaneError as exc:
            raise AllocationError(exc.message, exc.code) from None
        return NodeRoute(graph_id, route.endpoint, route.instance_id, route.node_type)

    def _healthy(self, node_type: str) -> dict[str, Any] | None:
        rows = [
            row for row in scan_all(self.registry.instances)
            if row.get("node_type") == node_type and row.get("status") == InstanceStatus.HEALTHY
        ]
        return random.choice(rows) if rows else None  # spread reads over the replicas

    @staticmethod
    def _route(graph_id: str, row: dict[str, Any]) -> NodeRoute:
        url = f"http://{row['private_ip']}:{int(row.get('port', 8001))}"
        return NodeRoute(graph_id, url, str(row["instance_id"]), str(row["node_type"]))
