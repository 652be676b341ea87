"""A node the control plane declared dead stays dead: its heartbeat fences it (stops serving) instead
of reviving the row, and it cannot register again under the same instance id (moto in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contracts.registry import INSTANCE_REGISTRY, create_tables
from node_api.cluster.registration import NodeRegistration
from node_api.cluster.settings import ClusterSettings

ENV = "fence"


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name="us-east-1"), ENV)
        yield boto3.resource("dynamodb", region_name="us-east-1").Table(INSTANCE_REGISTRY.table_name(ENV))


def registration(table: Any, fenced: list[bool]) -> NodeRegistration:
    settings = ClusterSettings(ENVIRONMENT=ENV, INSTANCE_ID="local-writer-1")
    return NodeRegistration(settings, lambda: 2, table=table, on_fenced=lambda: fenced.append(True))


def declare_dead(table: Any) -> None:
    table.update_item(Key={"instance_id": "local-writer-1"}, UpdateExpression="SET #s = :d",
                      ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":d": "dead"})


async def test_ready_at_is_stamped_once_and_a_dead_node_is_fenced(table: Any) -> None:
    fenced: list[bool] = []
    node = registration(table, fenced)
    await node.start()
    first = table.get_item(Key={"instance_id": "local-writer-1"})["Item"]
    assert first["status"] == "healthy" and first["ready_at"]
    declare_dead(table)
    await node.heartbeat()
    row = table.get_item(Key={"instance_id": "local-writer-1"})["Item"]
    assert row["status"] == "dead" and fenced == [True] and node.fenced
    await node.stop()  # no deregistration: the dead row is the control plane's record
    assert table.get_item(Key={"instance_id": "local-writer-1"})["Item"]["status"] == "dead"


async def test_a_dead_instance_id_cannot_register_again(table: Any) -> None:
    node = registration(table, [])
    await node.start()
    await node.stop()
    table.put_item(Item={"instance_id": "local-writer-1", "status": "dead", "cluster_tier": "standard",
                         "private_ip": "127.0.0.1"})
    with pytest.raises(RuntimeError, match="declared dead"):
        await registration(table, []).start()
