"""Allocator/router handler against moto: placement, replay, errors, scale-out, concurrency."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lambdas.allocator.handler import handler
from lambdas.common.aws import Aws, scan_all


def allocate(
    ctx: Any, graph_id: str, tier: str = "standard", entity_id: str = "entity_1", **extra: Any
) -> dict:
    event = {"action": "allocate", "graph_id": graph_id, "entity_id": entity_id, "tier": tier, **extra}
    return handler(event, ctx)


def counts(aws: Aws) -> dict[str, int]:
    return {i["instance_id"]: int(i["database_count"]) for i in scan_all(aws.registry.instances)}


def make_asg(aws: Aws, name: str, desired: int = 1, max_size: int = 5) -> None:
    asg = aws.client("autoscaling")
    asg.create_launch_configuration(
        LaunchConfigurationName=name, ImageId="ami-12c6146b", InstanceType="t3.micro"
    )
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchConfigurationName=name,
        MinSize=0,
        MaxSize=max_size,
        DesiredCapacity=desired,
        AvailabilityZones=["us-east-1a"],
    )


def desired_capacity(aws: Aws, name: str) -> int:
    groups = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return groups["AutoScalingGroups"][0]["DesiredCapacity"]


def test_allocates_to_instance_with_most_free_capacity_and_routes(aws, put_instance, lambda_context):
    put_instance("i-busy", database_count=6, private_ip="10.0.0.1")
    put_instance("i-roomy", database_count=2, private_ip="10.0.0.2", port=8002)
    put_instance("i-sick", database_count=0, status="unhealthy")
    put_instance("i-other-tier", database_count=0, cluster_tier="premium")
    put_instance("i-shared", database_count=0, node_type="shared_master")

    result = allocate(lambda_context, "kg1a2b3c4d5")

    assert result["ok"] is True and result["created"] is True
    assert result["route"]["instance_id"] == "i-roomy"
    assert result["route"]["endpoint"] == "http://10.0.0.2:8002"
    assert counts(aws) == {"i-busy": 6, "i-roomy": 3, "i-sick": 0, "i-other-tier": 0, "i-shared": 0}
    row = aws.registry.graphs.get_item(Key={"graph_id": "kg1a2b3c4d5"})["Item"]
    assert row["instance_id"] == "i-roomy" and row["status"] == "active" and row["entity_id"] == "entity_1"

    routed = handler({"action": "route", "graph_id": "kg1a2b3c4d5"}, lambda_context)
    assert routed["ok"] is True and routed["endpoint"] == "http://10.0.0.2:8002"


def test_shared_repositories_go_to_the_shared_master(aws, put_instance, lambda_context):
    put_instance("i-writer", database_count=0)
    put_instance("i-master", database_count=5, node_type="shared_master")
    result = allocate(lambda_context, "sec", repository_type="shared", entity_id="public")
    assert result["route"]["instance_id"] == "i-master"


def test_replayed_allocation_returns_the_same_placement_without_a_second_slot(
    aws, put_instance, lambda_context
):
    put_instance("i-a")
    first = allocate(lambda_context, "kg1")
    again = allocate(lambda_context, "kg1")
    assert again["ok"] is True and again["created"] is False
    assert again["route"] == first["route"]
    assert counts(aws) == {"i-a": 1}


def test_same_graph_id_for_another_owner_is_a_conflict(aws, put_instance, lambda_context):
    put_instance("i-a")
    allocate(lambda_context, "kg1", entity_id="entity_1")
    result = allocate(lambda_context, "kg1", entity_id="entity_2")
    assert result["ok"] is False and result["error"]["code"] == "conflict"
    assert counts(aws) == {"i-a": 1}
    assert aws.registry.graphs.get_item(Key={"graph_id": "kg1"})["Item"]["entity_id"] == "entity_1"


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"action": "allocate"},
        {"action": "explode", "graph_id": "kg1"},
        {"action": "allocate", "graph_id": "../etc", "entity_id": "e"},
        {"action": "allocate", "graph_id": "kg1", "entity_id": "e", "tier": "Standard Tier"},
        {"action": "allocate", "graph_id": "kg1", "entity_id": "e", "unexpected": 1},
        {"action": "route", "graph_id": ""},
        ["not", "an", "object"],
    ],
)
def test_malformed_events_are_rejected_without_writes(aws, put_instance, lambda_context, event):
    put_instance("i-a")
    result = handler(event, lambda_context)
    assert result["ok"] is False and result["error"]["code"] == "invalid_request"
    assert scan_all(aws.registry.graphs) == []
    assert counts(aws) == {"i-a": 0}


@pytest.mark.parametrize("action", ["release", "route"])
def test_unknown_graph_is_not_found(aws, lambda_context, action):
    result = handler({"action": action, "graph_id": "nope"}, lambda_context)
    assert result["ok"] is False and result["error"]["code"] == "not_found"


def test_release_frees_the_slot_and_removes_the_row(aws, put_instance, lambda_context):
    put_instance("i-a", database_count=3)
    allocate(lambda_context, "kg1")
    released = handler({"action": "release", "graph_id": "kg1"}, lambda_context)
    assert released == {"ok": True, "action": "release", "graph_id": "kg1", "instance_id": "i-a"}
    assert counts(aws) == {"i-a": 3}
    assert "Item" not in aws.registry.graphs.get_item(Key={"graph_id": "kg1"})
    again = handler({"action": "release", "graph_id": "kg1"}, lambda_context)
    assert again["error"]["code"] == "not_found"
    assert counts(aws) == {"i-a": 3}


def test_route_to_unhealthy_instance_is_unavailable(aws, put_instance, lambda_context):
    put_instance("i-a")
    allocate(lambda_context, "kg1")
    aws.registry.instances.update_item(
        Key={"instance_id": "i-a"},
        UpdateExpression="SET #s = :u",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":u": "unhealthy"},
    )
    result = handler({"action": "route", "graph_id": "kg1"}, lambda_context)
    assert result["ok"] is False and result["error"]["code"] == "unavailable"
    assert result["error"]["details"]["instance_status"] == "unhealthy"


def test_full_tier_reports_no_capacity_and_signals_scale_out(
    aws, put_instance, lambda_context, topic, reconfigure
):
    arn, messages = topic("scale-out")
    reconfigure(SCALE_OUT_TOPIC_ARN=arn)
    make_asg(aws, "graph-cluster-test-writers-standard", desired=1)
    put_instance("i-a", database_count=10)

    result = allocate(lambda_context, "kg1")

    assert result["ok"] is False and result["error"]["code"] == "no_capacity"
    assert scan_all(aws.registry.graphs) == []
    assert counts(aws) == {"i-a": 10}
    assert desired_capacity(aws, "graph-cluster-test-writers-standard") == 2
    [message] = messages()
    assert (
        message["event"] == "scale_out"
        and message["reason"] == "no_capacity"
        and message["tier"] == "standard"
    )


def test_nearly_full_tier_signals_scale_out_once_per_booting_instance(
    aws, put_instance, lambda_context, topic, reconfigure
):
    arn, messages = topic("scale-out")
    reconfigure(SCALE_OUT_TOPIC_ARN=arn, SCALE_OUT_THRESHOLD="0.8")
    make_asg(aws, "graph-cluster-test-writers-standard", desired=1)
    put_instance("i-a", database_count=6)

    below = allocate(lambda_context, "kg1")  # 7/10
    assert below["scale_out"] is None
    at = allocate(lambda_context, "kg2")  # 8/10
    assert at["scale_out"]["desired_capacity"] == 2 and at["scale_out"]["reason"] == "threshold"
    assert desired_capacity(aws, "graph-cluster-test-writers-standard") == 2

    # The new instance registered and is booting: alert again, but do not stack another increment.
    put_instance("i-new", status="initializing")
    booting = allocate(lambda_context, "kg3")  # 9/10
    assert booting["scale_out"]["desired_capacity"] is None
    assert desired_capacity(aws, "graph-cluster-test-writers-standard") == 2
    assert [m["reason"] for m in messages()] == ["threshold", "threshold"]


def test_concurrent_allocations_never_exceed_max_databases(aws, put_instance, atomic_moto, lambda_context):
    for n, used in enumerate([0, 2, 4]):
        put_instance(f"i-{n}", database_count=used, max_databases=6)
    free = 6 + 4 + 2

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda k: allocate(lambda_context, f"kg{k}"), range(40)))

    ok = [r for r in results if r["ok"]]
    assert len(ok) == free
    assert {r["error"]["code"] for r in results if not r["ok"]} == {"no_capacity"}
    assert counts(aws) == {"i-0": 6, "i-1": 6, "i-2": 6}
    placed = Counter(g["instance_id"] for g in scan_all(aws.registry.graphs))
    assert placed == {"i-0": 6, "i-1": 4, "i-2": 2}
    assert Counter(r["route"]["instance_id"] for r in ok) == placed
