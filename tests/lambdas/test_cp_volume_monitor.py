"""Volume monitor: reads the node's usage metric from moto CloudWatch and expands at the threshold."""

from __future__ import annotations

from typing import Any

from contracts.metrics import VOLUME_DIMENSION, VOLUME_USAGE_METRIC
from contracts.registry import VolumeItem
from lambdas.volume_monitor.handler import handler

SCHEDULED = {
    "version": "0",
    "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2024-01-01T00:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/volume-monitor"],
    "detail": {},
}


def report_usage(aws: Any, volume_id: str, percent: float) -> None:
    aws.client("cloudwatch").put_metric_data(
        Namespace=aws.settings.metric_namespace,
        MetricData=[
            {
                "MetricName": VOLUME_USAGE_METRIC,
                "Unit": "Percent",
                "Value": percent,
                "Dimensions": [{"Name": VOLUME_DIMENSION, "Value": volume_id}],
            }
        ],
    )


def row(aws: Any, vid: str) -> dict[str, Any]:
    return aws.registry.volumes.get_item(Key={"volume_id": vid})["Item"]


def test_expands_volumes_at_80_percent_and_alerts(aws, volume, lambda_context, topic, reconfigure):
    arn, messages = topic("volume-alerts")
    reconfigure(VOLUME_ALERT_TOPIC_ARN=arn)
    full, calm, silent = volume(100), volume(100), volume(100)
    report_usage(aws, full, 80.0)
    report_usage(aws, calm, 79.9)

    result = handler(SCHEDULED, lambda_context)

    assert result["ok"] and result["checked"] == 3
    actions = {v["volume_id"]: v["action"] for v in result["volumes"]}
    assert actions == {full: "expanded", calm: "ok", silent: "no_data"}
    assert aws.client("ec2").describe_volumes(VolumeIds=[full])["Volumes"][0]["Size"] == 150
    assert aws.client("ec2").describe_volumes(VolumeIds=[calm])["Volumes"][0]["Size"] == 100
    assert row(aws, full)["size_gb"] == 150 and row(aws, full)["status"] == "attached"
    assert row(aws, full)["expansion_count"] == 1 and "last_expanded_at" in row(aws, full)
    [alert] = messages()
    assert alert["event"] == "volume_expanded" and alert["volume_id"] == full and alert["new_size_gb"] == 150


def test_second_run_within_cooldown_does_not_expand_again(aws, volume, lambda_context):
    vid = volume(100)
    report_usage(aws, vid, 95.0)
    handler(SCHEDULED, lambda_context)
    again = handler({"volume_ids": [vid]}, lambda_context)
    assert again["volumes"][0]["action"] == "cooldown"
    assert row(aws, vid)["size_gb"] == 150


def test_caps_at_max_size(aws, volume, lambda_context, reconfigure):
    reconfigure(VOLUME_MAX_SIZE_GB="120")
    grows, stuck = volume(100), volume(120)
    report_usage(aws, grows, 90.0)
    report_usage(aws, stuck, 90.0)
    result = {v["volume_id"]: v for v in handler(SCHEDULED, lambda_context)["volumes"]}
    assert result[grows]["new_size_gb"] == 120
    assert result[stuck]["action"] == "at_max_size"
    assert row(aws, stuck)["size_gb"] == 120


def test_volume_being_expanded_elsewhere_is_left_alone(aws, volume, lambda_context):
    vid = volume(100)
    report_usage(aws, vid, 99.0)
    aws.registry.volumes.update_item(
        Key={"volume_id": vid}, UpdateExpression="SET size_gb = :s", ExpressionAttributeValues={":s": 101}
    )
    from lambdas.volume_monitor import service

    stale = VolumeItem.from_item({**row(aws, vid), "size_gb": 100})
    assert service.expand(aws, stale, 150) == "busy"
    assert aws.client("ec2").describe_volumes(VolumeIds=[vid])["Volumes"][0]["Size"] == 100


def test_malformed_event_is_rejected(aws, lambda_context):
    result = handler({"volume_ids": "vol-1"}, lambda_context)
    assert result["error"]["code"] == "invalid_request"
