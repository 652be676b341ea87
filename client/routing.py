"""graph_id -> node URL, with a TTL cache. Three sources, chosen by the configuration:

- `router_url` (GRAPH_ROUTER_URL): the router API (client.router_api.RouterClient), SigV4-signed;
  the client needs no access to the registries. The normal way.
- neither router nor local URL: the registries read directly (`RegistryRouter`, the same
  lambdas.router_api.service the router runs). Only inside the VPC, with IAM access to the tables.
- `local_url`: every graph is on that one node and nothing is read (local development).

Both routers answer a `contracts.router.GraphRoute`; `node_for` picks the node for an operation:
writes and creates go to the writer, reads to a read replica when the graph has any.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from client.config import ClientConfig
from client.exceptions import (
    AllocationError,
    GraphNotRegisteredError,
    GraphUnavailableError,
    RegistryUnavailableError,
    RoutingError,
)
from contracts.router import AllocateGraph, GraphRoute


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


class Router(Protocol):
    def route(self, graph_id: str) -> GraphRoute: ...
    def allocate(self, request: AllocateGraph) -> GraphRoute: ...


def node_for(route: GraphRoute, operation: OperationType) -> NodeRoute:
    """The node serving `operation` on the routed graph. Raises GraphUnavailableError."""
    target = route.writer if operation is not OperationType.READ else route.read_endpoint(random.choice)
    if target is None:
        raise GraphUnavailableError(
            f"graph {route.graph_id!r} is not being served ({route.status}); its node is down or being "
            "replaced: try again shortly", status=str(route.status))
    return NodeRoute(route.graph_id, target.url, target.instance_id, target.node_type)


class RouteCache:
    """(graph_id, read|write) -> NodeRoute for `ttl_s`; a graph's entries are dropped when its node
    is unreachable, so the next call asks the router again (the graph may have moved)."""

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


class RegistryRouter:
    """The router's own answers computed in this process from the DynamoDB registries (inside the VPC).
    botocore failures become RegistryUnavailableError; the control plane's refusals typed errors."""

    def __init__(self, config: ClientConfig, environment: str) -> None:
        # Imported here: the control-plane code (and boto3's resources) is only needed on this path.
        import boto3

        from lambdas.common.aws import Registry
        from lambdas.router_api.service import RouterService
        from lambdas.router_api.settings import RouterSettings

        by_alias: dict[str, Any] = {  # by their environment names: the settings' aliases
            "ENVIRONMENT": environment, "AWS_REGION": config.region, "AWS_ENDPOINT_URL": config.aws_endpoint_url,
            "SHARED_REPOSITORIES": ",".join(sorted(config.shared_repositories)),
            "ROUTER_DEFAULT_TIER": config.default_tier,
        }
        settings = RouterSettings(**by_alias)
        # boto3's default session: a session of its own per factory would reload botocore's data each time.
        db = boto3.resource("dynamodb", region_name=config.region, endpoint_url=config.aws_endpoint_url)
        registry = Registry(db=db, instances=db.Table(settings.instance_table), graphs=db.Table(settings.graph_table),
                            volumes=db.Table(settings.volume_table))
        self.service = RouterService(registry, settings)

    def route(self, graph_id: str) -> GraphRoute:
        return self._guard(lambda: self.service.route(graph_id))

    def allocate(self, request: AllocateGraph) -> GraphRoute:
        return self._guard(lambda: self.service.allocate(request))

    @staticmethod
    def _guard(call: object) -> GraphRoute:
        from botocore.exceptions import BotoCoreError, ClientError

        from lambdas.common.errors import ControlPlaneError, NotFound

        try:
            return call()  # type: ignore[operator]
        except NotFound as exc:
            raise GraphNotRegisteredError(exc.message) from None
        except ControlPlaneError as exc:
            if exc.code in ("conflict", "no_capacity"):
                raise AllocationError(exc.message, exc.code) from None
            raise RoutingError(exc.message, exc.code) from None
        except (BotoCoreError, ClientError) as exc:
            code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
            raise RegistryUnavailableError(
                f"the graph registry could not be read directly ({code}); outside the VPC set GRAPH_ROUTER_URL",
                "registry_unavailable") from None
