"""Fixtures for the control-plane tests: everything runs against moto in-process (`mock_aws`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from cluster_local.control_plane import LambdaContext
from contracts.registry import InstanceItem, VolumeItem, create_tables, now_iso
from lambdas.common.aws import Aws, get_aws
from lambdas.common.settings import ControlPlaneSettings, get_settings

ENV = "test"


@pytest.fixture
def lambda_context() -> LambdaContext:
    """The attributes Powertools reads from a LambdaContext (the local cluster's own stand-in)."""
    return LambdaContext("test-function")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Handler configuration as CDK would set it; returns the variables for tests to extend."""
    values = {"ENVIRONMENT": ENV, "POWERTOOLS_METRICS_NAMESPACE": "GraphClusterTest"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return values


@pytest.fixture
def aws(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """moto running, registry tables created, handler caches reset to this test's settings.

    Lambda runs without Docker (moto's "simple" backend): nothing may pull images from the network.
    """
    with mock_aws(config={"lambda": {"use_docker": False}}):
        get_settings.cache_clear()
        get_aws.cache_clear()
        bundle = get_aws()
        create_tables(bundle.client("dynamodb"), ENV)
        yield bundle
        get_settings.cache_clear()
        get_aws.cache_clear()


@pytest.fixture
def reconfigure(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set env vars and make the handlers re-read settings (clients keep pointing at moto)."""

    def apply(**values: str) -> ControlPlaneSettings:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        get_aws.cache_clear()
        return get_aws().settings

    return apply


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serialize moto's request handling so every request is atomic, as DynamoDB guarantees.

    In-process moto is not thread-safe: a cancelled transaction restores whole tables from a copy
    taken before it ran, erasing writes other threads committed meanwhile. Callers still race
    freely *between* requests (read, decide, conditional write), which is what the tests exercise.
    """
    lock = threading.RLock()
    original = BotocoreStubber.__call__

    def locked(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", locked)


@pytest.fixture
def put_instance(aws: Aws) -> Any:
    """Write an instance row (healthy, standard tier, 10 slots, fresh heartbeat unless overridden)."""

    def put(instance_id: str, **fields: Any) -> InstanceItem:
        values: dict[str, Any] = {
            "cluster_tier": "standard",
            "private_ip": "10.0.0.1",
            "status": "healthy",
            "max_databases": 10,
            "last_heartbeat": now_iso(),
        }
        values.update(fields)
        item = InstanceItem(instance_id=instance_id, **values)
        aws.registry.instances.put_item(Item=item.to_item())
        return item

    return put


@pytest.fixture
def volume(aws: Aws) -> Any:
    """An attached volume registered in the registry (EC2 volume real in moto); fields override."""

    def make(size_gb: int = 100, **fields: Any) -> str:
        vid = aws.client("ec2").create_volume(AvailabilityZone="us-east-1a", Size=size_gb)["VolumeId"]
        values: dict[str, Any] = {
            "database_id": f"db-{vid[-6:]}",
            "tier": "standard",
            "availability_zone": "us-east-1a",
            "status": "attached",
            "instance_id": "i-0123456789abcdef0",
            "device": "/dev/sdf",
        }
        values.update(fields)
        item = VolumeItem(volume_id=vid, size_gb=size_gb, **values)
        aws.registry.volumes.put_item(Item=item.to_item())
        return vid

    return make


@pytest.fixture
def topic(aws: Aws) -> Any:
    """Create an SNS topic with an SQS subscriber; returns (topic_arn, read_messages)."""
    import json

    def make(name: str = "alerts") -> tuple[str, Any]:
        sns, sqs = aws.client("sns"), aws.client("sqs")
        arn = sns.create_topic(Name=name)["TopicArn"]
        url = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)

        def messages() -> list[dict[str, Any]]:
            out = []
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                if not got:
                    return out
                for m in got:
                    envelope = json.loads(m["Body"])
                    out.append({"subject": envelope.get("Subject"), **json.loads(envelope["Message"])})
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

        return arn, messages

    return make
