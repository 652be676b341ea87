"""Routing and placement answers from the registries: what the router API serves, and what a client
inside the VPC computes itself when it reads the registries directly (client.routing.RegistryRouter).

- A registered graph is served by its instance while the graph is active and the instance healthy;
  otherwise `writer` is null and `status` says why (unavailable: its node is unhealthy; orphaned: its
  node is dead and a replacement has not adopted its volume yet).
- Shared repositories (`repository_type=shared`, or an id in SHARED_REPOSITORIES such as `sec`) are
  written on the shared master and read on healthy `shared_replica` instances when there are any.
- Placement goes through the allocator's conditional writes (lambdas.allocator.placement).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics

from contracts.enums import SHARED_REPLICA, GraphStatus, InstanceStatus, NodeType, RepositoryType
from contracts.registry import GraphItem, InstanceItem
from contracts.router import (
    AllocateGraph,
    GraphRoute,
    InstanceCapacity,
    InstanceList,
    InstanceView,
    NodeEndpoint,
    ReleasedGraph,
)
from lambdas.allocator import placement, service
from lambdas.allocator.models import AllocateEvent
from lambdas.common.aws import Aws, Registry, scan_all
from lambdas.common.errors import NotFound
from lambdas.router_api.settings import RouterSettings


def endpoint(row: dict[str, Any] | InstanceItem) -> NodeEndpoint:
    item = row if isinstance(row, InstanceItem) else None
    if item is not None:
        return NodeEndpoint(instance_id=item.instance_id, url=item.endpoint_url, node_type=str(item.node_type))
    assert isinstance(row, dict)
    return NodeEndpoint(instance_id=str(row["instance_id"]), url=f"http://{row['private_ip']}:{int(row.get('port', 8001))}",
                        node_type=str(row["node_type"]))


class RouterService:
    """Stateless: every answer is read from the registries (consistent reads of the graph row)."""

    def __init__(self, registry: Registry, settings: RouterSettings) -> None:
        self.registry = registry
        self.settings = settings

    def is_shared(self, graph_id: str, graph: GraphItem | None = None) -> bool:
        if graph is not None:
            return graph.repository_type == RepositoryType.SHARED
        return graph_id in self.settings.shared_repositories

    # --- GET /graphs/{graph_id} ----------------------------------------------------------------------
    def route(self, graph_id: str) -> GraphRoute:
        """Raises NotFound for an unknown graph that is not a shared repository name."""
        graph = service.get_graph(self.registry, graph_id)
        shared = self.is_shared(graph_id, graph)
        replicas = [endpoint(r) for r in self._healthy_rows(SHARED_REPLICA)] if shared else []
        if graph is None:
            masters = self._healthy_rows(NodeType.SHARED_MASTER) if shared else []
            if not shared:
                raise NotFound(f"graph {graph_id!r} is not registered", graph_id=graph_id)
            master = endpoint(masters[0]) if masters else None
            return GraphRoute(
                graph_id=graph_id, status=GraphStatus.ACTIVE if master else GraphStatus.UNAVAILABLE,
                repository_type=RepositoryType.SHARED, cluster_tier=self.settings.shared_tier,
                writer=master, read_replicas=replicas, instance_id=master.instance_id if master else None,
            )
        instance = service.get_instance(self.registry, graph.instance_id)
        serving = (graph.status == GraphStatus.ACTIVE and instance is not None
                   and instance.status == InstanceStatus.HEALTHY)
        status = GraphStatus(graph.status)
        if status == GraphStatus.ACTIVE and not serving:
            status = GraphStatus.UNAVAILABLE  # the monitor has not flagged it yet; the node is not serving
        return GraphRoute(
            graph_id=graph.graph_id, status=status, repository_type=graph.repository_type,
            cluster_tier=graph.cluster_tier, entity_id=graph.entity_id,
            writer=endpoint(instance) if serving and instance is not None else None,
            read_replicas=replicas, instance_id=graph.instance_id,
        )

    # --- POST /graphs --------------------------------------------------------------------------------
    def allocate(self, request: AllocateGraph, aws: Aws | None = None, metrics: Metrics | None = None) -> GraphRoute:
        """Place the graph (idempotent by graph_id). Raises Conflict or NoCapacity."""
        shared = request.repository_type == RepositoryType.SHARED or request.graph_id in self.settings.shared_repositories
        kind = RepositoryType.SHARED if shared else RepositoryType.ENTITY
        event = AllocateEvent(
            action="allocate", graph_id=request.graph_id, entity_id=request.entity_id or request.graph_id,
            tier=request.tier or (self.settings.shared_tier if shared else self.settings.default_tier),
            repository_type=kind,
        )
        if aws is not None:  # the control plane: scale-out signals and metrics too
            created = placement.place(event, aws, metrics).created
        else:  # a client inside the VPC: the allocator's conditional writes only
            created = service.allocate(self.registry, event, rounds=self.settings.allocation_rounds)[1]
        return self.route(request.graph_id).model_copy(update={"created": created})

    # --- DELETE /graphs/{graph_id} -------------------------------------------------------------------
    def release(self, graph_id: str) -> ReleasedGraph:
        released = service.release(self.registry, graph_id)
        return ReleasedGraph(graph_id=released.graph_id, instance_id=released.instance_id)

    # --- GET /instances ------------------------------------------------------------------------------
    def instances(self) -> InstanceList:
        graphs: dict[str, list[str]] = {}
        for row in scan_all(self.registry.graphs):
            graphs.setdefault(str(row["instance_id"]), []).append(str(row["graph_id"]))
        views = []
        for row in sorted(scan_all(self.registry.instances), key=lambda r: str(r["instance_id"])):
            item = InstanceItem.model_validate({**row, "node_type": NodeType.WRITER}) if row.get(
                "node_type") == SHARED_REPLICA else InstanceItem.from_item(row)
            views.append(InstanceView(
                instance_id=item.instance_id, status=item.status, node_type=str(row.get("node_type")),
                cluster_tier=item.cluster_tier, url=item.endpoint_url, availability_zone=item.availability_zone,
                last_heartbeat=item.last_heartbeat,
                capacity=InstanceCapacity(max_databases=item.max_databases, allocated=item.database_count,
                                          free=item.free_capacity, reported=item.reported_database_count),
                graphs=sorted(graphs.get(item.instance_id, [])),
            ))
        return InstanceList(instances=views)

    def _healthy_rows(self, node_type: str) -> list[dict[str, Any]]:
        # Raw rows: replicas are not an InstanceItem node type. Sorted, so the answer is stable.
        rows = [r for r in scan_all(self.registry.instances)
                if r.get("node_type") == node_type and r.get("status") == InstanceStatus.HEALTHY]
        return sorted(rows, key=lambda r: str(r["instance_id"]))

    def check_registry(self) -> str:
        self.registry.instances.get_item(Key={"instance_id": "__health__"})
        return "ok"
