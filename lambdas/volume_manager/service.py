"""EBS operations for graph volumes. Each operation checks the registry first so a repeat of a
completed call is a no-op returning the same answer; the registry row changes only after EC2 did."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from contracts.registry import VOLUMES_BY_DATABASE, VolumeItem, VolumeStatus, now_iso
from lambdas.common.aws import Aws, query_all
from lambdas.common.errors import Conflict, NotFound
from lambdas.failover import service as failover
from lambdas.volume_manager.models import (
    AdoptVolume,
    AttachVolume,
    CreateVolume,
    DetachVolume,
    RestoreVolume,
    SnapshotVolume,
)

logger = Logger(child=True)

COMPONENT_TAG = {"Key": "Component", "Value": "GraphClusterVolume"}
CANDIDATE_DEVICES = [f"/dev/sd{c}" for c in "fghijklmnop"]
_WAIT = {"Delay": 2, "MaxAttempts": 60}


def get_volume(aws: Aws, volume_id: str) -> VolumeItem:
    item = aws.registry.volumes.get_item(Key={"volume_id": volume_id}, ConsistentRead=True).get("Item")
    if item is None:
        raise NotFound(f"volume {volume_id!r} is not registered", volume_id=volume_id)
    return VolumeItem.from_item(item)


def volumes_of_database(aws: Aws, database_id: str) -> list[VolumeItem]:
    items = query_all(
        aws.registry.volumes,
        IndexName=VOLUMES_BY_DATABASE,
        KeyConditionExpression="database_id = :d",
        ExpressionAttributeValues={":d": database_id},
    )
    return [VolumeItem.from_item(i) for i in items]


def _live(volumes: list[VolumeItem]) -> list[VolumeItem]:
    return [v for v in volumes if v.status != VolumeStatus.SUPERSEDED]


def _tags(database_id: str, tier: str, **extra: str) -> list[dict[str, str]]:
    tags = [COMPONENT_TAG, {"Key": "database_id", "Value": database_id}, {"Key": "tier", "Value": tier}]
    return tags + [{"Key": k, "Value": v} for k, v in extra.items()]


def _new_volume(
    aws: Aws, database_id: str, tier: str, zone: str, size_gb: int, snapshot_id: str | None
) -> VolumeItem:
    kwargs: dict[str, Any] = {
        "AvailabilityZone": zone,
        "Size": size_gb,
        "VolumeType": aws.settings.volume_type,
        "Encrypted": True,
        "TagSpecifications": [{"ResourceType": "volume", "Tags": _tags(database_id, tier)}],
    }
    if snapshot_id:
        kwargs["SnapshotId"] = snapshot_id
    volume_id = aws.ec2.create_volume(**kwargs)["VolumeId"]
    aws.ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=_WAIT)
    item = VolumeItem(
        volume_id=volume_id,
        database_id=database_id,
        tier=tier,
        size_gb=size_gb,
        availability_zone=zone,
        snapshot_id=snapshot_id,
    )
    aws.registry.volumes.put_item(Item=item.to_item(), ConditionExpression="attribute_not_exists(volume_id)")
    return item


def create(aws: Aws, request: CreateVolume) -> VolumeItem:
    existing = _live(volumes_of_database(aws, request.database_id))
    if existing:
        return existing[0]  # a database has one live volume; asking again returns it
    item = _new_volume(
        aws, request.database_id, request.tier, request.availability_zone, request.size_gb, None
    )
    logger.info("volume created", extra={"volume_id": item.volume_id, "database_id": item.database_id})
    return item


def attach(aws: Aws, request: AttachVolume) -> VolumeItem:
    volume = get_volume(aws, request.volume_id)
    if volume.status == VolumeStatus.ATTACHED:
        if volume.instance_id == request.instance_id:
            return volume
        raise Conflict(
            f"volume {volume.volume_id} is attached to {volume.instance_id}",
            volume_id=volume.volume_id,
            instance_id=volume.instance_id,
        )
    if volume.status != VolumeStatus.AVAILABLE:
        raise Conflict(f"volume {volume.volume_id} is {volume.status}", volume_id=volume.volume_id)
    device = request.device or _free_device(aws, request.instance_id)
    try:
        aws.ec2.attach_volume(VolumeId=volume.volume_id, InstanceId=request.instance_id, Device=device)
    except ClientError as exc:
        raise _ec2_error(exc, volume_id=volume.volume_id, instance_id=request.instance_id) from None
    aws.ec2.get_waiter("volume_in_use").wait(VolumeIds=[volume.volume_id], WaiterConfig=_WAIT)
    return _update(
        aws, volume, {"status": VolumeStatus.ATTACHED, "instance_id": request.instance_id, "device": device}
    )


def detach(aws: Aws, request: DetachVolume) -> VolumeItem:
    volume = get_volume(aws, request.volume_id)
    if volume.status == VolumeStatus.AVAILABLE:
        return volume
    if volume.status != VolumeStatus.ATTACHED or not volume.instance_id or not volume.device:
        raise Conflict(f"volume {volume.volume_id} is {volume.status}", volume_id=volume.volume_id)
    try:
        aws.ec2.detach_volume(
            VolumeId=volume.volume_id,
            InstanceId=volume.instance_id,
            Device=volume.device,
            Force=request.force,
        )
    except ClientError as exc:
        raise _ec2_error(exc, volume_id=volume.volume_id) from None
    aws.ec2.get_waiter("volume_available").wait(VolumeIds=[volume.volume_id], WaiterConfig=_WAIT)
    return _update(aws, volume, {"status": VolumeStatus.AVAILABLE, "instance_id": None, "device": None})


def adopt(aws: Aws, request: AdoptVolume) -> tuple[VolumeItem | None, list[str]]:
    """Take over a dead node's data volume in the adopter's zone and tier: claim it (one adopter wins),
    force-detach it from the dead instance if it is still attached, attach it here, move its graphs.

    Returns (the volume, the graphs moved), or (None, []) when there is nothing to adopt. A retry by the
    same adopter resumes where it stopped (its claim holds)."""
    adopter = request.instance_id
    for candidate in failover.orphans(aws.registry, request.availability_zone, request.tier, adopter):
        if not failover.claim(aws.registry, candidate, adopter):
            continue  # another adopter won it
        volume = get_volume(aws, candidate.volume_id)
        if volume.status == VolumeStatus.ATTACHED and volume.instance_id != adopter:
            volume = detach(aws, DetachVolume(action="detach", volume_id=volume.volume_id, force=True))
        volume = attach(aws, AttachVolume(action="attach", volume_id=volume.volume_id, instance_id=adopter,
                                          device=request.device))
        assert candidate.orphaned_from is not None
        moved = failover.move_graphs(aws.registry, candidate.orphaned_from, adopter)
        failover.finish_adoption(aws.registry, volume.volume_id, adopter)
        logger.info("volume adopted", extra={"volume_id": volume.volume_id, "adopter": adopter, "graphs": moved})
        return get_volume(aws, volume.volume_id), moved
    return None, []


def snapshot(aws: Aws, request: SnapshotVolume) -> dict[str, Any]:
    volume = get_volume(aws, request.volume_id)
    # StartTime can tie within a second (moto rounds it): our own microsecond stamp orders retention.
    tags = _tags(volume.database_id, volume.tier, volume_id=volume.volume_id, created_at=now_iso())
    snapshot_id = aws.ec2.create_snapshot(
        VolumeId=volume.volume_id,
        Description=f"graph {volume.database_id}",
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}],
    )["SnapshotId"]
    updated = _update(aws, volume, {"last_snapshot_id": snapshot_id})
    deleted = prune_snapshots(aws, volume.database_id)
    return {
        "volume": updated.model_dump(mode="json"),
        "snapshot_id": snapshot_id,
        "deleted_snapshots": deleted,
    }


def prune_snapshots(aws: Aws, database_id: str) -> list[str]:
    """Keep the newest SNAPSHOT_RETENTION_COUNT snapshots of a database; delete the rest."""
    pages = aws.ec2.get_paginator("describe_snapshots").paginate(
        OwnerIds=["self"],
        Filters=[
            {"Name": "tag:database_id", "Values": [database_id]},
            {"Name": "tag:Component", "Values": [COMPONENT_TAG["Value"]]},
        ],
    )
    snapshots = [s for page in pages for s in page["Snapshots"]]
    snapshots.sort(key=lambda s: (s["StartTime"], _tag(s, "created_at")), reverse=True)
    doomed = [s["SnapshotId"] for s in snapshots[aws.settings.snapshot_retention_count :]]
    for snapshot_id in doomed:
        aws.ec2.delete_snapshot(SnapshotId=snapshot_id)
    return doomed


def restore(aws: Aws, request: RestoreVolume) -> VolumeItem:
    """A new volume from a snapshot of the same database; its earlier volumes become superseded."""
    try:
        snap = aws.ec2.describe_snapshots(SnapshotIds=[request.snapshot_id])["Snapshots"][0]
    except ClientError as exc:
        raise _ec2_error(exc, snapshot_id=request.snapshot_id) from None
    owner = _tag(snap, "database_id")
    if owner != request.database_id:
        # Never hand one tenant's data to another database.
        raise Conflict(
            f"snapshot {request.snapshot_id} belongs to {owner!r}", snapshot_id=request.snapshot_id
        )
    live = _live(volumes_of_database(aws, request.database_id))
    for volume in live:
        if volume.snapshot_id == request.snapshot_id:
            return volume  # already restored from this snapshot (a retry)
    attached = [v.volume_id for v in live if v.status == VolumeStatus.ATTACHED]
    if attached:
        raise Conflict("detach the database's volume before restoring", volume_ids=attached)
    size = max(request.size_gb or 0, snap["VolumeSize"])
    item = _new_volume(
        aws, request.database_id, request.tier, request.availability_zone, size, request.snapshot_id
    )
    for volume in live:
        _update(aws, volume, {"status": VolumeStatus.SUPERSEDED})
    return item


def _tag(resource: dict[str, Any], key: str) -> str:
    return next((t["Value"] for t in resource.get("Tags", []) if t["Key"] == key), "")


def _free_device(aws: Aws, instance_id: str) -> str:
    try:
        reservations = aws.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except ClientError as exc:
        raise _ec2_error(exc, instance_id=instance_id) from None
    used = {
        m["DeviceName"]
        for r in reservations
        for i in r["Instances"]
        for m in i.get("BlockDeviceMappings", [])
    }
    for device in CANDIDATE_DEVICES:
        if device not in used and device.replace("/dev/sd", "/dev/xvd") not in used:
            return device
    raise Conflict(f"instance {instance_id} has no free device name", instance_id=instance_id)


def _update(aws: Aws, volume: VolumeItem, changes: dict[str, Any]) -> VolumeItem:
    """Write `changes` (None removes the attribute) if the row still has the status we acted on."""
    changes = {**changes, "updated_at": now_iso()}
    sets = {k: v for k, v in changes.items() if v is not None}
    removes = [k for k, v in changes.items() if v is None]
    names = {f"#{k}": k for k in changes} | {"#status_now": "status"}
    expression = "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
    if removes:
        expression += " REMOVE " + ", ".join(f"#{k}" for k in removes)
    values = {f":{k}": str(v) if isinstance(v, VolumeStatus) else v for k, v in sets.items()}
    values[":status_now"] = str(volume.status)
    try:
        aws.registry.volumes.update_item(
            Key={"volume_id": volume.volume_id},
            UpdateExpression=expression,
            ConditionExpression="#status_now = :status_now",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except aws.registry.client.exceptions.ConditionalCheckFailedException:
        raise Conflict(
            f"volume {volume.volume_id} changed concurrently; retry", volume_id=volume.volume_id
        ) from None
    return volume.model_copy(update=changes)


def _ec2_error(exc: ClientError, **details: Any) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", str(exc))
    if code.endswith("NotFound") or code.endswith(".Malformed"):
        return NotFound(message, ec2_code=code, **details)
    if code in {"IncorrectState", "VolumeInUse", "IncorrectInstanceState", "InvalidVolume.ZoneMismatch"}:
        return Conflict(message, ec2_code=code, **details)
    return exc
