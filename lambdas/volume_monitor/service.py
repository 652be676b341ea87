"""Read each attached volume's latest usage and grow it with modify_volume when it crosses the
threshold. The registry row goes attached -> expanding -> attached under conditions, so two monitor
runs never expand the same volume twice. The node grows its filesystem when it sees the new size."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import BaseModel

from contracts.metrics import VOLUME_DIMENSION, VOLUME_USAGE_METRIC
from contracts.registry import VolumeItem, VolumeStatus, iso, parse_iso, utc_now
from lambdas.common import alerts
from lambdas.common.aws import Aws, scan_all

logger = Logger(child=True)


class VolumeCheck(BaseModel):
    volume_id: str
    database_id: str
    usage_percent: float | None
    action: str  # ok | no_data | expanded | cooldown | at_max_size | busy | failed
    size_gb: int
    new_size_gb: int | None = None


def check_volumes(aws: Aws, volume_ids: list[str] | None = None) -> list[VolumeCheck]:
    rows = [VolumeItem.from_item(i) for i in scan_all(aws.registry.volumes)]
    rows = [
        v
        for v in rows
        if v.status == VolumeStatus.ATTACHED and (volume_ids is None or v.volume_id in volume_ids)
    ]
    return [check_volume(aws, volume) for volume in rows]


def latest_usage(aws: Aws, volume_id: str) -> float | None:
    period = aws.settings.volume_metric_period_s
    now = utc_now()
    points = aws.cloudwatch.get_metric_statistics(
        Namespace=aws.settings.metric_namespace,
        MetricName=VOLUME_USAGE_METRIC,
        Dimensions=[{"Name": VOLUME_DIMENSION, "Value": volume_id}],
        StartTime=now - timedelta(seconds=3 * period),
        # A little into the future: the request carries whole seconds, so EndTime=now can cut off a
        # datapoint published this very second (moto drops it; CloudWatch accepts a future end).
        EndTime=now + timedelta(seconds=60),
        Period=period,
        Statistics=["Maximum"],
    )["Datapoints"]
    if not points:
        return None
    return float(max(points, key=lambda p: p["Timestamp"])["Maximum"])


def check_volume(aws: Aws, volume: VolumeItem) -> VolumeCheck:
    settings = aws.settings
    usage = latest_usage(aws, volume.volume_id)
    check = VolumeCheck(
        volume_id=volume.volume_id,
        database_id=volume.database_id,
        usage_percent=usage,
        action="ok",
        size_gb=volume.size_gb,
    )
    if usage is None:
        check.action = "no_data"
        return check
    if usage < settings.volume_expand_threshold_percent:
        return check
    if (
        volume.last_expanded_at
        and (utc_now() - parse_iso(volume.last_expanded_at)).total_seconds()
        < settings.volume_expand_cooldown_s
    ):
        check.action = "cooldown"
        return check
    new_size = min(math.ceil(volume.size_gb * settings.volume_expand_factor), settings.volume_max_size_gb)
    if new_size <= volume.size_gb:
        check.action = "at_max_size"
        _alert(aws, "volume at maximum size", check)
        return check
    check.new_size_gb = new_size
    check.action = expand(aws, volume, new_size)
    _alert(aws, f"volume {check.action}", check)
    return check


def expand(aws: Aws, volume: VolumeItem, new_size: int) -> str:
    table = aws.registry.volumes
    try:
        table.update_item(
            Key={"volume_id": volume.volume_id},
            UpdateExpression="SET #s = :expanding",
            ConditionExpression="#s = :attached AND size_gb = :size",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":expanding": "expanding",
                ":attached": "attached",
                ":size": volume.size_gb,
            },
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        return "busy"  # another run is expanding it, or it changed since we read it
    try:
        aws.ec2.modify_volume(VolumeId=volume.volume_id, Size=new_size)
    except ClientError as exc:
        logger.error("modify_volume failed", extra={"volume_id": volume.volume_id, "error": str(exc)})
        table.update_item(
            Key={"volume_id": volume.volume_id},
            UpdateExpression="SET #s = :attached",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":attached": "attached"},
        )
        return "failed"
    now = iso(utc_now())
    table.update_item(
        Key={"volume_id": volume.volume_id},
        UpdateExpression=(
            "SET #s = :attached, size_gb = :size, last_expanded_at = :now, updated_at = :now, "
            "expansion_count = if_not_exists(expansion_count, :zero) + :one"
        ),
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":attached": "attached",
            ":size": new_size,
            ":now": now,
            ":zero": 0,
            ":one": 1,
        },
    )
    logger.info("volume expanded", extra={"volume_id": volume.volume_id, "size_gb": new_size})
    return "expanded"


def _alert(aws: Aws, subject: str, check: VolumeCheck) -> None:
    message: dict[str, Any] = {"event": "volume_" + check.action, **check.model_dump()}
    alerts.publish(
        aws.sns, aws.settings.volume_alert_topic_arn, f"graph-cluster: {subject} {check.volume_id}", message
    )
