"""The registry side of failover, shared by the instance monitor, the volume manager and the local
cluster. Every step is a conditional write, so concurrent monitors and adopters cannot disagree:

1. `declare_dead` (instance monitor): a node silent for DEAD_AFTER_SECONDS (or terminated) becomes
   `dead`; its graphs become `orphaned`; its data volumes are marked `orphaned_from` it.
2. `claim` (the adopter: a node booting in the same zone and tier): at most one adopter wins a volume
   (`adopted_by`, written only when absent or already this adopter's, so a retried boot resumes).
3. `move_graphs` (the winner): each graph row goes from the dead instance to the adopter in one
   transaction with the adopter's slot counter, conditioned on the row still naming the dead instance,
   so no graph can end up with two owners whatever the interleaving.
4. `finish_adoption`: the volume becomes the adopter's data volume (`node-<adopter>`), markers removed.

Attaching the volume between 2 and 4 is the caller's: EC2 (volume manager) or a directory (local).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, Field

from contracts.enums import GraphStatus, InstanceStatus, VolumeStatus
from contracts.registry import VOLUMES_BY_INSTANCE, GraphItem, InstanceItem, VolumeItem, now_iso
from lambdas.allocator.service import graphs_on_instance
from lambdas.common.aws import Registry, query_all, scan_all

logger = Logger(child=True)

# DynamoDB allows 100 items per transaction: 99 graph rows and the adopter's counter.
_MOVE_BATCH = 99


def node_volume_id(instance_id: str) -> str:
    """The volume registry's database_id of a node's data volume."""
    return f"node-{instance_id}"


def is_ec2_instance(instance_id: str) -> bool:
    """EC2 ids start with i-; the local cluster's nodes have other names and no EC2 side."""
    return instance_id.startswith("i-")


class DeadInstance(BaseModel):
    instance_id: str
    orphaned_graphs: list[str] = Field(default_factory=list)
    orphaned_volumes: list[str] = Field(default_factory=list)


def declare_dead(registry: Registry, instance: InstanceItem, reason: str, *, terminated: bool = False) -> DeadInstance | None:
    """Mark `instance` dead (unless it heartbeat since it was read: then None, judge it next run).

    Its graphs -> orphaned; its volumes -> `orphaned_from` it. A terminated instance's row is deleted and
    its volumes are detached (EC2 did it); a local node's volumes are detached here (its process is gone).
    A live EC2 instance's volume is still attached: the caller force-detaches it through the volume manager.
    """
    table = registry.instances
    try:
        table.update_item(
            Key={"instance_id": instance.instance_id},
            # Its slots are no longer counted: its graphs will count on their adopter.
            UpdateExpression="SET #s = :dead, status_reason = :reason, database_count = :zero",
            ConditionExpression="last_heartbeat = :hb AND #s <> :dead",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":dead": str(InstanceStatus.DEAD), ":reason": reason, ":zero": 0, ":hb": instance.last_heartbeat,
            },
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        if not terminated:
            return None  # it heartbeat (or another monitor declared it) meanwhile
    dead = DeadInstance(instance_id=instance.instance_id)
    for graph in graphs_on_instance(registry, instance.instance_id):
        if _set_graph_orphaned(registry, graph, reason):
            dead.orphaned_graphs.append(graph.graph_id)
    detach = terminated or not is_ec2_instance(instance.instance_id)
    for volume in volumes_of_instance(registry, instance.instance_id):
        _mark_orphaned(registry, volume, instance.instance_id, detached=detach)
        dead.orphaned_volumes.append(volume.volume_id)
    if terminated:
        table.delete_item(Key={"instance_id": instance.instance_id})
    logger.warning("instance declared dead", extra={"instance_id": instance.instance_id, "reason": reason,
                                                     "graphs": dead.orphaned_graphs})
    return dead


def _set_graph_orphaned(registry: Registry, graph: GraphItem, reason: str) -> bool:
    try:
        registry.graphs.update_item(
            Key={"graph_id": graph.graph_id},
            UpdateExpression="SET #s = :orphaned, status_reason = :reason",
            ConditionExpression="instance_id = :i",  # a concurrent release or move wins
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":orphaned": str(GraphStatus.ORPHANED), ":reason": reason,
                                       ":i": graph.instance_id},
        )
    except registry.client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def volumes_of_instance(registry: Registry, instance_id: str) -> list[VolumeItem]:
    items = query_all(
        registry.volumes,
        IndexName=VOLUMES_BY_INSTANCE,
        KeyConditionExpression="instance_id = :i",
        ExpressionAttributeValues={":i": instance_id},
    )
    return [VolumeItem.from_item(i) for i in items]


def _mark_orphaned(registry: Registry, volume: VolumeItem, instance_id: str, *, detached: bool) -> None:
    expression = "SET orphaned_from = :x, updated_at = :now"
    values: dict[str, Any] = {":x": instance_id, ":now": now_iso(), ":superseded": str(VolumeStatus.SUPERSEDED)}
    if detached:
        expression += ", #s = :available REMOVE instance_id, device, adopted_by"
        values[":available"] = str(VolumeStatus.AVAILABLE)
    else:
        expression += " REMOVE adopted_by"
    registry.volumes.update_item(
        Key={"volume_id": volume.volume_id},
        UpdateExpression=expression,
        ConditionExpression="#s <> :superseded",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=values,
    )


def orphans(registry: Registry, availability_zone: str, tier: str, adopter: str) -> list[VolumeItem]:
    """Volumes a node booting in `availability_zone` and `tier` may adopt, oldest orphan first; a
    volume this adopter already claimed (a retried boot) comes first."""
    rows = [VolumeItem.from_item(i) for i in scan_all(registry.volumes)]
    found = [
        v for v in rows
        if v.orphaned_from and v.availability_zone == availability_zone and v.tier == tier
        and v.status in (VolumeStatus.AVAILABLE, VolumeStatus.ATTACHED) and v.adopted_by in (None, adopter)
        and v.orphaned_from != adopter
    ]
    return sorted(found, key=lambda v: (v.adopted_by != adopter, v.updated_at))


def claim(registry: Registry, volume: VolumeItem, adopter: str) -> bool:
    """Win `volume` for `adopter`; False when another adopter already has it."""
    try:
        registry.volumes.update_item(
            Key={"volume_id": volume.volume_id},
            UpdateExpression="SET adopted_by = :y, updated_at = :now",
            ConditionExpression="orphaned_from = :x AND (attribute_not_exists(adopted_by) OR adopted_by = :y)",
            ExpressionAttributeValues={":y": adopter, ":x": volume.orphaned_from, ":now": now_iso()},
        )
    except registry.client.exceptions.ConditionalCheckFailedException:
        return False
    logger.info("volume claimed", extra={"volume_id": volume.volume_id, "adopter": adopter,
                                         "orphaned_from": volume.orphaned_from})
    return True


def move_graphs(registry: Registry, dead_instance: str, adopter: str, *, rounds: int = 5) -> list[str]:
    """Move every graph still registered on `dead_instance` to `adopter`; returns the ids moved.

    Each batch is one transaction: the graph rows (condition: still on the dead instance) and the
    adopter's `database_count` (condition: the adopter is registered and not dead). A cancelled batch
    (another mover, a release) is re-read and retried with what is still there.
    """
    moved: list[str] = []
    client = registry.client
    for _ in range(rounds):
        pending = [g.graph_id for g in graphs_on_instance(registry, dead_instance)]
        if not pending:
            return moved
        for batch in _batches(pending, _MOVE_BATCH):
            items: list[dict[str, Any]] = [
                {"Update": {
                    "TableName": registry.graphs.name,
                    "Key": {"graph_id": graph_id},
                    "UpdateExpression": "SET instance_id = :to, #s = :active, status_reason = :reason",
                    "ConditionExpression": "instance_id = :from",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":to": adopter, ":from": dead_instance,
                                                  ":active": str(GraphStatus.ACTIVE),
                                                  ":reason": f"adopted from {dead_instance}"},
                }}
                for graph_id in batch
            ]
            items.append({"Update": {
                "TableName": registry.instances.name,
                "Key": {"instance_id": adopter},
                "UpdateExpression": "SET database_count = if_not_exists(database_count, :zero) + :n",
                "ConditionExpression": "attribute_exists(instance_id) AND #s <> :dead",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":n": len(batch), ":zero": 0, ":dead": str(InstanceStatus.DEAD)},
            }})
            try:
                client.transact_write_items(TransactItems=items)
            except client.exceptions.TransactionCanceledException:
                continue  # someone else moved or released some of them: re-read
            moved.extend(batch)
    return moved


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def finish_adoption(registry: Registry, volume_id: str, adopter: str) -> None:
    """The adopted volume is now the adopter's own data volume."""
    registry.volumes.update_item(
        Key={"volume_id": volume_id},
        UpdateExpression="SET database_id = :db, updated_at = :now REMOVE orphaned_from, adopted_by",
        ConditionExpression="adopted_by = :y",
        ExpressionAttributeValues={":db": node_volume_id(adopter), ":y": adopter, ":now": now_iso()},
    )
