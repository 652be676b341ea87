"""Volumes stack: volume manager and monitor, DLM snapshots, alarms, tag-conditioned EC2 permissions."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template

from cdk.volumes_stack import VOLUME_TAG, VOLUME_USAGE_ALARM_PERCENT
from contracts.metrics import VOLUME_USAGE_METRIC
from tests.cdk.support import policy_statements

TAGGED = {"StringEquals": {f"aws:ResourceTag/{VOLUME_TAG['Key']}": VOLUME_TAG["Value"]}}


def test_resources(volumes_template: Template) -> None:
    for resource_type, count in {
        "AWS::Lambda::Function": 2,
        "AWS::SNS::Topic": 1,
        "AWS::DLM::LifecyclePolicy": 1,
        "AWS::Events::Rule": 1,
        "AWS::CloudWatch::Alarm": 3,
    }.items():
        volumes_template.resource_count_is(resource_type, count)
    volumes_template.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": "graph-cluster-prod-volume-alerts", "KmsMasterKeyId": Match.any_value()},
    )
    volumes_template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(5 minutes)"})


def test_snapshot_policy_targets_the_volume_managers_tag(volumes_template: Template) -> None:
    volumes_template.has_resource_properties(
        "AWS::DLM::LifecyclePolicy",
        {
            "State": "ENABLED",
            "PolicyDetails": {
                "ResourceTypes": ["VOLUME"],
                "TargetTags": [VOLUME_TAG],
                "Schedules": [Match.object_like({"RetainRule": {"Count": 14}, "CopyTags": True})],
            },
        },
    )


def test_alarms_page_the_volume_topic(volumes_template: Template) -> None:
    volumes_template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Threshold": VOLUME_USAGE_ALARM_PERCENT,
            "Metrics": [Match.object_like({"Expression": Match.string_like_regexp(VOLUME_USAGE_METRIC)})],
            "AlarmActions": [{"Ref": Match.string_like_regexp("VolumeAlerts")}],
        },
    )
    volumes_template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Threshold": 1}
    )


def test_ec2_changes_require_the_volume_tag(volumes_template: Template) -> None:
    statements = policy_statements(volumes_template)
    manager, monitor = statements["VolumeManager"], statements["VolumeMonitor"]
    changes = [s for s in manager if {"ec2:AttachVolume", "ec2:DetachVolume"} & set(_actions(s))]
    assert changes and all("Condition" in s for s in changes)
    assert any(s.get("Condition") == TAGGED for s in changes)
    create = [s for s in manager if _actions(s) == ["ec2:CreateVolume"]]
    assert any("aws:RequestTag/Component" in str(s.get("Condition")) for s in create)
    modify = next(s for s in monitor if _actions(s) == ["ec2:ModifyVolume"])
    assert modify["Condition"] == TAGGED
    assert not any("ec2:ModifyVolume" in _actions(s) for s in manager)
    assert not any("sns:Publish" in _actions(s) for s in manager)  # the manager never alerts


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]
