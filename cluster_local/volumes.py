"""Data directories as volumes: what a local node's boot does where an EC2 node's bootstrap.sh asks
the volume manager for an EBS volume.

Each node's data lives in `state_dir/volumes/<volume_id>/`, registered in the volume registry like an
EBS volume (zone, tier, attached to the node). A node booting to replace a dead one adopts the dead
node's directory through the same registry steps as on AWS (lambdas.failover: claim, move the graphs,
finish), so the races are decided by the same conditional writes; only the attach is a directory.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from contracts.enums import InstanceStatus, NodeType, VolumeStatus
from contracts.registry import InstanceItem, VolumeItem, now_iso
from lambdas.common.aws import Registry
from lambdas.failover import service as failover


def volume_dir(state_dir: Path, volume_id: str) -> Path:
    return state_dir / "volumes" / volume_id


def create(registry: Registry, state_dir: Path, instance_id: str, tier: str, zone: str) -> str:
    """A new, empty data directory attached to `instance_id`; returns its volume id."""
    volume_id = "vol-" + uuid.uuid4().hex[:17]
    volume_dir(state_dir, volume_id).mkdir(parents=True)
    item = VolumeItem(volume_id=volume_id, database_id=failover.node_volume_id(instance_id), tier=tier,
                      size_gb=1, availability_zone=zone, status=VolumeStatus.ATTACHED, instance_id=instance_id)
    registry.volumes.put_item(Item=item.to_item(), ConditionExpression="attribute_not_exists(volume_id)")
    return volume_id


def preregister(registry: Registry, instance_id: str, node_type: str, tier: str, zone: str, port: int,
                max_databases: int) -> None:
    """The booting node's row (initializing), as bootstrap.sh writes it before the node API starts."""
    item = InstanceItem(instance_id=instance_id, cluster_tier=tier, node_type=NodeType(node_type),
                        private_ip="127.0.0.1", port=port, status=InstanceStatus.INITIALIZING,
                        max_databases=max_databases, availability_zone=zone)
    registry.instances.put_item(Item=item.to_item())


def adopt(registry: Registry, instance_id: str, tier: str, zone: str) -> tuple[str, list[str]] | None:
    """Take over a dead node's directory in `zone` and `tier`: (volume id, graphs moved), or None."""
    for candidate in failover.orphans(registry, zone, tier, instance_id):
        if not failover.claim(registry, candidate, instance_id):
            continue
        # The attach: the directory is the new node's base path; the registry says so.
        registry.volumes.update_item(
            Key={"volume_id": candidate.volume_id},
            UpdateExpression="SET #s = :attached, instance_id = :i, updated_at = :now",
            ConditionExpression="adopted_by = :i",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":attached": str(VolumeStatus.ATTACHED), ":i": instance_id, ":now": now_iso()},
        )
        assert candidate.orphaned_from is not None
        moved = failover.move_graphs(registry, candidate.orphaned_from, instance_id)
        failover.finish_adoption(registry, candidate.volume_id, instance_id)
        return candidate.volume_id, moved
    return None
