"""Beyond synth: the synthesized infrastructure template, deployed into moto's CloudFormation (server
mode on 127.0.0.1), creates the registries the control plane expects, and the allocator works on them.

moto's CloudFormation implements only some resource types. The part of the template it supports
(KMS key and alias, the registry tables, the SNS topics, the backup buckets and their policies) is
deployed as is; the rest is dropped
together with anything that references it, and the dropped types are pinned below (the known gap):
the Secrets Manager secret and its rotation, topic and secret policies, the Lambdas and their roles,
log groups, alarms and rules; key policy statements for dropped principals are removed. CloudFormation-created Lambdas are not invoked (moto would need Docker to run them); the
control-plane services run in-process against the tables CloudFormation created.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from contracts.registry import REGISTRY_TABLES, InstanceItem, InstanceStatus, create_table_kwargs
from lambdas.allocator import service
from lambdas.allocator.models import AllocateEvent
from lambdas.common import alerts
from lambdas.common.aws import Aws
from lambdas.common.settings import ControlPlaneSettings
from tests.cdk.support import ENV, Synthesized
from tests.support.aws import moto_server

DEPLOYED_TYPES = {"AWS::KMS::Key", "AWS::KMS::Alias", "AWS::DynamoDB::Table", "AWS::SNS::Topic", "AWS::S3::Bucket",
                  "AWS::S3::BucketPolicy"}
# Types of the infrastructure template moto cannot create (or that depend on those).
KNOWN_GAP = {
    "AWS::SecretsManager::Secret",
    "AWS::SecretsManager::RotationSchedule",
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Lambda::Url",  # the router API (and what hangs off it: its client policy, its URL parameter)
    "AWS::Lambda::LayerVersion",
    "AWS::IAM::ManagedPolicy",
    "AWS::SSM::Parameter",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::Logs::LogGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::Events::Rule",
    "AWS::EC2::SecurityGroup",
}


def supported_subset(template: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The template restricted to DEPLOYED_TYPES (and outputs that only reference kept resources)."""
    resources = copy.deepcopy(template["Resources"])
    kept = {k for k, v in resources.items() if v["Type"] in DEPLOYED_TYPES}
    # Key policy statements granting dropped principals (the rotation Lambda's role) go with them.
    for logical_id in kept:
        properties = resources[logical_id]["Properties"]
        if resources[logical_id]["Type"] == "AWS::KMS::Key":
            properties["KeyPolicy"]["Statement"] = [
                s for s in properties["KeyPolicy"]["Statement"] if _references(s) <= kept
            ]
            # moto 5.2.5 reads KMS tags as TagKey/TagValue (the API's shape), not CloudFormation's Key/Value.
            properties.pop("Tags", None)
    # Drop kept resources that reference dropped ones, until stable.
    while True:
        broken = {k for k in kept if _references(resources[k]) - kept}
        if not broken:
            break
        kept -= broken
    subset = {
        "Resources": {k: resources[k] for k in kept},
        "Outputs": {
            k: v for k, v in template.get("Outputs", {}).items() if _references(v) and _references(v) <= kept
        },
    }
    for resource in subset["Resources"].values():
        resource.pop("DependsOn", None)
    return subset, {v["Type"] for k, v in resources.items() if k not in kept}


def _references(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set()
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str) and not value.startswith("AWS::"):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0])
            else:
                found |= _references(value)
        return found
    if isinstance(node, list):
        return set().union(*(_references(v) for v in node)) if node else set()
    return set()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def deployed(synthesized: Synthesized, moto_endpoint: str) -> dict[str, str]:
    """Creates the stack in moto; returns its outputs."""
    template, dropped = supported_subset(synthesized.template_json(synthesized.stacks.infrastructure))
    assert dropped == KNOWN_GAP
    cloudformation = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = synthesized.stacks.infrastructure.stack_name
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_tables_match_the_registry(deployed: dict[str, str], moto_endpoint: str) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    for spec in REGISTRY_TABLES:
        expected = create_table_kwargs(spec, ENV)
        table = dynamodb.describe_table(TableName=expected["TableName"])["Table"]
        assert table["KeySchema"] == expected["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(
            expected["AttributeDefinitions"], key=str
        )
        indexes = {i["IndexName"]: i["KeySchema"] for i in table.get("GlobalSecondaryIndexes", [])}
        assert indexes == {i["IndexName"]: i["KeySchema"] for i in expected.get("GlobalSecondaryIndexes", [])}


def test_topics_and_key_exist(deployed: dict[str, str], moto_endpoint: str) -> None:
    sns = boto3.client("sns", endpoint_url=moto_endpoint, region_name="us-east-1")
    topics = {t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]}
    assert {f"graph-cluster-{ENV}-alerts", f"graph-cluster-{ENV}-scale-out"} <= topics
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    assert f"alias/graph-cluster-{ENV}-data" in aliases
    assert deployed["AlertTopicArn"].endswith(f":graph-cluster-{ENV}-alerts")


def test_backup_buckets_exist(deployed: dict[str, str], moto_endpoint: str) -> None:
    """The backup bucket, its access-log bucket and their policies deploy. (moto's CloudFormation
    ignores their lifecycle, versioning and policies: tests/cdk/test_backups.py checks the template.)"""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert deployed["BackupBucketName"] in names


def test_allocator_places_a_graph_on_the_created_tables(deployed: dict[str, str], moto_endpoint: str) -> None:
    aws = Aws(ControlPlaneSettings(ENVIRONMENT=ENV, AWS_REGION="us-east-1", AWS_ENDPOINT_URL=moto_endpoint))
    node = InstanceItem(
        instance_id="i-0123456789abcdef0",
        cluster_tier="standard",
        private_ip="10.10.32.10",
        status=InstanceStatus.HEALTHY,
        max_databases=10,
    )
    aws.registry.instances.put_item(Item=node.to_item())
    request = AllocateEvent(action="allocate", graph_id="kg1a2b3c4d5", entity_id="entity_123")
    route, created = service.allocate(aws.registry, request)
    assert created and route.instance_id == node.instance_id
    assert route.endpoint == "http://10.10.32.10:8001"
    assert service.route(aws.registry, "kg1a2b3c4d5").instance_id == node.instance_id
    stored = aws.registry.instances.get_item(Key={"instance_id": node.instance_id})["Item"]
    assert stored["database_count"] == 1
    # The alert path publishes to the topic CloudFormation created.
    assert alerts.publish(aws.sns, deployed["AlertTopicArn"], "test", {"event": "deployed"})
