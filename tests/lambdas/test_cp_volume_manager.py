"""Volume manager against moto EC2: lifecycle, registry rows, idempotency, retention, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.common.aws import scan_all
from lambdas.volume_manager.handler import handler

ZONE = "us-east-1a"


@pytest.fixture
def instance_id(aws: Any) -> str:
    ec2 = aws.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, Placement={"AvailabilityZone": ZONE})[
        "Instances"
    ][0]["InstanceId"]


def call(ctx: Any, **event: Any) -> dict[str, Any]:
    result = handler(event, ctx)
    assert result["ok"], result
    return result


def create(ctx: Any, database_id: str = "kg1", **extra: Any) -> dict[str, Any]:
    return call(ctx, action="create", database_id=database_id, size_gb=50, availability_zone=ZONE, **extra)[
        "volume"
    ]


def snapshots_of(aws: Any, database_id: str) -> set[str]:
    # moto pre-populates ~1300 "self"-owned snapshots (behind its default AMIs): filter by our tag.
    found = aws.client("ec2").describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": "tag:database_id", "Values": [database_id]}]
    )
    return {s["SnapshotId"] for s in found["Snapshots"]}


def ec2_volume(aws: Any, volume_id: str) -> dict[str, Any]:
    return aws.client("ec2").describe_volumes(VolumeIds=[volume_id])["Volumes"][0]


def test_create_attach_detach_recorded_in_registry_and_ec2(aws, lambda_context, instance_id):
    volume = create(lambda_context)
    vid = volume["volume_id"]
    assert volume["status"] == "available" and volume["size_gb"] == 50
    tags = {t["Key"]: t["Value"] for t in ec2_volume(aws, vid)["Tags"]}
    assert tags["database_id"] == "kg1"

    attached = call(lambda_context, action="attach", volume_id=vid, instance_id=instance_id)["volume"]
    assert attached["status"] == "attached" and attached["device"] == "/dev/sdf"
    assert ec2_volume(aws, vid)["Attachments"][0]["InstanceId"] == instance_id
    row = aws.registry.volumes.get_item(Key={"volume_id": vid})["Item"]
    assert row["instance_id"] == instance_id and row["status"] == "attached"

    detached = call(lambda_context, action="detach", volume_id=vid)["volume"]
    assert detached["status"] == "available"
    assert ec2_volume(aws, vid)["State"] == "available"
    row = aws.registry.volumes.get_item(Key={"volume_id": vid})["Item"]
    assert "instance_id" not in row and "device" not in row


def test_operations_repeat_safely(aws, lambda_context, instance_id):
    first = create(lambda_context)
    assert create(lambda_context)["volume_id"] == first["volume_id"]
    vid = first["volume_id"]
    call(lambda_context, action="attach", volume_id=vid, instance_id=instance_id)
    again = call(lambda_context, action="attach", volume_id=vid, instance_id=instance_id)["volume"]
    assert again["device"] == "/dev/sdf"
    call(lambda_context, action="detach", volume_id=vid)
    call(lambda_context, action="detach", volume_id=vid)
    assert (
        len(
            aws.client("ec2").describe_volumes(Filters=[{"Name": "tag:database_id", "Values": ["kg1"]}])[
                "Volumes"
            ]
        )
        == 1
    )
    assert len(scan_all(aws.registry.volumes)) == 1


def test_request_id_replays_the_first_result_through_the_idempotency_table(aws, lambda_context):
    vid = create(lambda_context)["volume_id"]
    first = call(lambda_context, action="snapshot", volume_id=vid, request_id="nightly-2024-01-01")
    replay = call(lambda_context, action="snapshot", volume_id=vid, request_id="nightly-2024-01-01")
    assert replay == first
    assert snapshots_of(aws, "kg1") == {first["snapshot_id"]}
    assert len(scan_all(aws.dynamodb.Table(aws.settings.idempotency_table))) == 1
    other = call(lambda_context, action="snapshot", volume_id=vid, request_id="nightly-2024-01-02")
    assert other["snapshot_id"] != first["snapshot_id"]


def test_snapshot_retention_keeps_the_newest(aws, lambda_context, reconfigure):
    reconfigure(SNAPSHOT_RETENTION_COUNT="2")
    vid = create(lambda_context)["volume_id"]
    taken = [call(lambda_context, action="snapshot", volume_id=vid)["snapshot_id"] for _ in range(4)]
    assert snapshots_of(aws, "kg1") == set(taken[-2:])
    assert aws.registry.volumes.get_item(Key={"volume_id": vid})["Item"]["last_snapshot_id"] == taken[-1]


def test_restore_from_snapshot_supersedes_the_old_volume(aws, lambda_context, instance_id):
    old = create(lambda_context)["volume_id"]
    snap = call(lambda_context, action="snapshot", volume_id=old)["snapshot_id"]
    event = dict(action="restore", snapshot_id=snap, database_id="kg1", availability_zone=ZONE, size_gb=80)
    restored = call(lambda_context, **event)["volume"]
    assert restored["volume_id"] != old and restored["snapshot_id"] == snap and restored["size_gb"] == 80
    assert ec2_volume(aws, restored["volume_id"])["SnapshotId"] == snap
    assert aws.registry.volumes.get_item(Key={"volume_id": old})["Item"]["status"] == "superseded"
    assert call(lambda_context, **event)["volume"]["volume_id"] == restored["volume_id"]
    # A later create for the database returns the restored volume, not the superseded one.
    assert create(lambda_context)["volume_id"] == restored["volume_id"]


def test_restore_refuses_another_databases_snapshot(aws, lambda_context):
    vid = create(lambda_context, database_id="kg1")["volume_id"]
    snap = call(lambda_context, action="snapshot", volume_id=vid)["snapshot_id"]
    result = handler(
        {"action": "restore", "snapshot_id": snap, "database_id": "kg2", "availability_zone": ZONE},
        lambda_context,
    )
    assert result["error"]["code"] == "conflict"
    assert [v["database_id"] for v in scan_all(aws.registry.volumes)] == ["kg1"]


def test_attach_to_another_instance_while_attached_is_a_conflict(aws, lambda_context, instance_id):
    vid = create(lambda_context)["volume_id"]
    call(lambda_context, action="attach", volume_id=vid, instance_id=instance_id)
    result = handler(
        {"action": "attach", "volume_id": vid, "instance_id": "i-0123456789abcdef0"}, lambda_context
    )
    assert result["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"action": "create", "database_id": "kg1", "availability_zone": "mars"}, "invalid_request"),
        ({"action": "attach", "volume_id": "vol-1", "instance_id": "i-1"}, "invalid_request"),
        ({"action": "resize", "volume_id": "vol-0123456789abcdef0"}, "invalid_request"),
        ({"action": "detach", "volume_id": "vol-0123456789abcdef0"}, "not_found"),
        ({"action": "snapshot", "volume_id": "vol-0123456789abcdef0"}, "not_found"),
        (
            {
                "action": "restore",
                "snapshot_id": "snap-0123456789abcdef0",
                "database_id": "kg1",
                "availability_zone": ZONE,
            },
            "not_found",
        ),
    ],
)
def test_bad_events_give_clear_errors_and_no_rows(aws, lambda_context, event, code):
    result = handler(event, lambda_context)
    assert result["ok"] is False and result["error"]["code"] == code
    assert scan_all(aws.registry.volumes) == []


def test_attach_to_unknown_instance_is_not_found_and_leaves_row_available(aws, lambda_context):
    vid = create(lambda_context)["volume_id"]
    result = handler(
        {"action": "attach", "volume_id": vid, "instance_id": "i-0123456789abcdef0"}, lambda_context
    )
    assert result["error"]["code"] == "not_found"
    assert aws.registry.volumes.get_item(Key={"volume_id": vid})["Item"]["status"] == "available"
