"""Graph placement on the instance registry.

Capacity is a counter (`database_count`) on each instance row that only changes inside DynamoDB
transactions conditioned on `database_count < max_databases`, together with the graph row's write.
So no interleaving of concurrent allocations can overfill an instance, and a graph row never exists
without its reserved slot (nor a slot without its row).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from contracts.registry import (
    GRAPHS_BY_INSTANCE,
    INSTANCES_BY_TIER_STATUS,
    GraphItem,
    GraphStatus,
    InstanceItem,
    InstanceStatus,
    NodeType,
)
from lambdas.allocator.models import (
    AllocateEvent,
    Release,
    Route,
    TierUsage,
    node_type_for,
)
from lambdas.common.aws import Registry, query_all
from lambdas.common.errors import Conflict, NoCapacity, NotFound, Unavailable

logger = Logger(child=True)


def instances_in_tier(registry: Registry, tier: str, status: InstanceStatus) -> list[InstanceItem]:
    items = query_all(
        registry.instances,
        IndexName=INSTANCES_BY_TIER_STATUS,
        KeyConditionExpression="cluster_tier = :t AND #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":t": tier, ":s": str(status)},
    )
    return [InstanceItem.from_item(i) for i in items]


def graphs_on_instance(registry: Registry, instance_id: str) -> list[GraphItem]:
    items = query_all(
        registry.graphs,
        IndexName=GRAPHS_BY_INSTANCE,
        KeyConditionExpression="instance_id = :i",
        ExpressionAttributeValues={":i": instance_id},
    )
    return [GraphItem.from_item(i) for i in items]


def get_graph(registry: Registry, graph_id: str) -> GraphItem | None:
    item = registry.graphs.get_item(Key={"graph_id": graph_id}, ConsistentRead=True).get("Item")
    return GraphItem.from_item(item) if item else None


def get_instance(registry: Registry, instance_id: str) -> InstanceItem | None:
    item = registry.instances.get_item(Key={"instance_id": instance_id}, ConsistentRead=True).get("Item")
    return InstanceItem.from_item(item) if item else None


def tier_usage(registry: Registry, tier: str, node_type: NodeType) -> TierUsage:
    healthy = [
        i for i in instances_in_tier(registry, tier, InstanceStatus.HEALTHY) if i.node_type == node_type
    ]
    booting = [
        i for i in instances_in_tier(registry, tier, InstanceStatus.INITIALIZING) if i.node_type == node_type
    ]
    return TierUsage(
        tier=tier,
        node_type=str(node_type),
        healthy_instances=len(healthy),
        initializing_instances=len(booting),
        used=sum(i.database_count for i in healthy),
        capacity=sum(i.max_databases for i in healthy),
    )


def allocate(registry: Registry, request: AllocateEvent, *, rounds: int = 3) -> tuple[Route, bool]:
    """Place `request.graph_id` on the healthy instance of the tier with the most free slots.

    Returns (route, created). A replay of an allocation already recorded returns it with created=False.
    Raises Conflict (graph id taken by another owner/tier) or NoCapacity.
    """
    node_type = node_type_for(request.repository_type)
    existing = get_graph(registry, request.graph_id)
    if existing is not None:
        return _replay(registry, existing, request), False

    for _ in range(rounds):
        candidates = [
            i
            for i in instances_in_tier(registry, request.tier, InstanceStatus.HEALTHY)
            if i.node_type == node_type and i.free_capacity > 0
        ]
        if not candidates:
            break
        # Most free slots first; the instance id breaks ties so retries walk the list deterministically.
        candidates.sort(key=lambda i: (-i.free_capacity, i.instance_id))
        for instance in candidates:
            graph = GraphItem(
                graph_id=request.graph_id,
                instance_id=instance.instance_id,
                entity_id=request.entity_id,
                repository_type=request.repository_type,
                cluster_tier=request.tier,
            )
            outcome = _reserve(registry, instance, graph)
            if outcome == "reserved":
                logger.info(
                    "graph allocated", extra={"graph_id": graph.graph_id, "instance_id": instance.instance_id}
                )
                return _route(graph, instance), True
            if outcome == "graph_exists":  # a concurrent allocation of the same id won
                winner = get_graph(registry, request.graph_id)
                if winner is not None:
                    return _replay(registry, winner, request), False
            # "instance_full": someone took the last slot (or it left the healthy state); next one.
    raise NoCapacity(
        f"no healthy {node_type} instance in tier {request.tier!r} has a free slot",
        tier=request.tier,
        node_type=str(node_type),
    )


def _reserve(registry: Registry, instance: InstanceItem, graph: GraphItem) -> str:
    client = registry.client
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": registry.instances.name,
                        "Key": {"instance_id": instance.instance_id},
                        "UpdateExpression": "SET database_count = database_count + :one",
                        "ConditionExpression": "#s = :healthy AND database_count < max_databases",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":one": 1, ":healthy": str(InstanceStatus.HEALTHY)},
                    }
                },
                {
                    "Put": {
                        "TableName": registry.graphs.name,
                        "Item": graph.to_item(),
                        "ConditionExpression": "attribute_not_exists(graph_id)",
                    }
                },
            ]
        )
    except client.exceptions.TransactionCanceledException as exc:
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            return "graph_exists"
        return "instance_full"
    return "reserved"


def _replay(registry: Registry, graph: GraphItem, request: AllocateEvent) -> Route:
    if (graph.entity_id, graph.cluster_tier, graph.repository_type) != (
        request.entity_id,
        request.tier,
        str(request.repository_type),
    ):
        raise Conflict(
            f"graph {graph.graph_id!r} is already allocated to another owner or tier",
            graph_id=graph.graph_id,
        )
    return route(registry, graph.graph_id, require_available=False)


def release(registry: Registry, graph_id: str) -> Release:
    """Delete the graph row and free its slot, atomically. Raises NotFound."""
    graph = get_graph(registry, graph_id)
    if graph is None:
        raise NotFound(f"graph {graph_id!r} is not registered", graph_id=graph_id)
    delete_graph = {
        "TableName": registry.graphs.name,
        "Key": {"graph_id": graph_id},
        # The row must still be the one we read (not concurrently released and re-allocated elsewhere).
        "ConditionExpression": "instance_id = :i",
        "ExpressionAttributeValues": {":i": graph.instance_id},
    }
    free_slot = {
        "TableName": registry.instances.name,
        "Key": {"instance_id": graph.instance_id},
        "UpdateExpression": "SET database_count = database_count - :one",
        "ConditionExpression": "attribute_exists(instance_id) AND database_count > :zero",
        "ExpressionAttributeValues": {":one": 1, ":zero": 0},
    }
    client = registry.client
    try:
        if get_instance(registry, graph.instance_id) is None:
            # Its instance was cleaned up after termination: there is no slot left to free.
            client.delete_item(**delete_graph)
        else:
            client.transact_write_items(TransactItems=[{"Delete": delete_graph}, {"Update": free_slot}])
    except (
        client.exceptions.TransactionCanceledException,
        client.exceptions.ConditionalCheckFailedException,
    ):
        raise Conflict(f"graph {graph_id!r} changed during release; retry", graph_id=graph_id) from None
    return Release(graph_id=graph_id, instance_id=graph.instance_id)


def route(registry: Registry, graph_id: str, *, require_available: bool = True) -> Route:
    """graph_id -> the endpoint of the instance serving it. Raises NotFound or Unavailable."""
    graph = get_graph(registry, graph_id)
    if graph is None:
        raise NotFound(f"graph {graph_id!r} is not registered", graph_id=graph_id)
    instance = get_instance(registry, graph.instance_id)
    if instance is None:
        raise Unavailable(
            f"graph {graph_id!r} has no live instance", graph_id=graph_id, graph_status=str(graph.status)
        )
    if require_available and (
        graph.status != GraphStatus.ACTIVE or instance.status != InstanceStatus.HEALTHY
    ):
        raise Unavailable(
            f"graph {graph_id!r} is not serving",
            graph_id=graph_id,
            graph_status=str(graph.status),
            instance_status=str(instance.status),
        )
    return _route(graph, instance)


def _route(graph: GraphItem, instance: InstanceItem) -> Route:
    return Route(
        graph_id=graph.graph_id,
        instance_id=instance.instance_id,
        endpoint=instance.endpoint_url,
        cluster_tier=instance.cluster_tier,
        node_type=str(instance.node_type),
        status=str(graph.status),
    )
