"""Failover against moto: the monitor declares a silent node dead, a node booting in the same zone
adopts its data volume (EC2 detach/attach for real in moto), and the registry moves every graph to
the adopter. Concurrent adopters and movers race (moto's requests serialized, as DynamoDB's are
atomic): never two owners of a volume or of a graph."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from contracts.registry import InstanceItem, iso, utc_now
from lambdas.allocator.handler import handler as allocator
from lambdas.common.aws import Aws, scan_all
from lambdas.failover import service as failover
from lambdas.instance_monitor.handler import handler as monitor
from lambdas.volume_manager.handler import handler as volume_manager
from tests.lambdas.test_cp_instance_monitor import SCHEDULED

ZONE = "us-east-1a"


def stale(seconds: int) -> str:
    return iso(utc_now() - timedelta(seconds=seconds))


def ec2_instance(aws: Aws, zone: str = ZONE) -> str:
    ec2 = aws.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, Placement={"AvailabilityZone": zone},
                             )["Instances"][0]["InstanceId"]


def place(ctx: Any, graph_id: str) -> dict:
    return allocator({"action": "allocate", "graph_id": graph_id, "entity_id": "e", "tier": "standard"}, ctx)


def owners(aws: Aws) -> dict[str, str]:
    return {g["graph_id"]: g["instance_id"] for g in scan_all(aws.registry.graphs)}


def counts(aws: Aws) -> dict[str, int]:
    return {i["instance_id"]: int(i["database_count"]) for i in scan_all(aws.registry.instances)}


@pytest.fixture
def dead_node(aws: Aws, put_instance, volume, lambda_context, reconfigure) -> dict[str, Any]:
    """An EC2 node that served three graphs from its attached data volume, then fell silent."""
    reconfigure(HEALTH_CHECK_ENABLED="false", DEAD_AFTER_SECONDS="60", HEARTBEAT_TIMEOUT_SECONDS="30")
    iid = ec2_instance(aws)
    put_instance(iid, ready_at=stale(3600))
    graphs = [f"kg{i}" for i in range(3)]
    for graph_id in graphs:
        assert place(lambda_context, graph_id)["ok"]
    vid = volume(20, database_id=failover.node_volume_id(iid), instance_id=iid, availability_zone=ZONE)
    aws.client("ec2").attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    aws.registry.instances.update_item(Key={"instance_id": iid}, UpdateExpression="SET last_heartbeat = :t",
                                       ExpressionAttributeValues={":t": stale(120)})
    return {"instance_id": iid, "volume_id": vid, "graphs": graphs}


def test_a_silent_node_is_declared_dead_and_replaced_in_its_group(aws: Aws, dead_node, lambda_context) -> None:
    asg = aws.client("autoscaling")
    asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId="ami-12c6146b", InstanceType="t3.micro")
    asg.create_auto_scaling_group(AutoScalingGroupName="g", LaunchConfigurationName="lc", MinSize=0, MaxSize=2,
                                  AvailabilityZones=[ZONE])
    asg.attach_instances(InstanceIds=[dead_node["instance_id"]], AutoScalingGroupName="g")

    report = monitor(SCHEDULED, lambda_context)

    iid = dead_node["instance_id"]
    assert report["dead"] == [iid] and sorted(report["flagged_graphs"]) == dead_node["graphs"]
    assert report["orphaned_volumes"] == [dead_node["volume_id"]]
    row = aws.registry.instances.get_item(Key={"instance_id": iid})["Item"]
    assert row["status"] == "dead" and int(row["database_count"]) == 0
    assert {g["status"] for g in scan_all(aws.registry.graphs)} == {"orphaned"}
    vol = aws.registry.volumes.get_item(Key={"volume_id": dead_node["volume_id"]})["Item"]
    assert vol["orphaned_from"] == iid and vol["status"] == "attached"  # the volume manager force-detaches
    health = asg.describe_auto_scaling_instances(InstanceIds=[iid])["AutoScalingInstances"][0]["HealthStatus"]
    assert health.upper() == "UNHEALTHY"
    # Dead stays dead: the next pass leaves it alone, a late heartbeat does not revive it.
    assert monitor(SCHEDULED, lambda_context)["dead"] == []


def test_a_node_that_never_served_is_not_declared_dead(aws: Aws, put_instance, lambda_context, reconfigure) -> None:
    reconfigure(HEALTH_CHECK_ENABLED="false", DEAD_AFTER_SECONDS="60")
    put_instance("local-booting", status="initializing", last_heartbeat=stale(600))
    report = monitor(SCHEDULED, lambda_context)
    assert report["dead"] == [] and report["unhealthy"] == ["local-booting"]


def test_a_node_in_the_same_zone_adopts_the_volume_and_every_graph(aws: Aws, dead_node, put_instance,
                                                                  lambda_context) -> None:
    monitor(SCHEDULED, lambda_context)
    adopter = ec2_instance(aws)
    put_instance(adopter, status="initializing")
    other_zone = ec2_instance(aws, "us-east-1b")
    put_instance(other_zone, status="initializing")

    # A node booting in another zone finds nothing to adopt (EBS volumes do not cross zones).
    nothing = volume_manager({"action": "adopt", "instance_id": other_zone, "availability_zone": "us-east-1b",
                              "tier": "standard"}, lambda_context)
    assert nothing["ok"] and nothing["volume"] is None

    result = volume_manager({"action": "adopt", "instance_id": adopter, "availability_zone": ZONE,
                             "tier": "standard", "request_id": f"adopt-{adopter}"}, lambda_context)

    assert result["ok"], result
    assert result["volume"]["volume_id"] == dead_node["volume_id"]
    assert result["volume"]["instance_id"] == adopter and result["volume"]["status"] == "attached"
    assert result["volume"]["database_id"] == failover.node_volume_id(adopter)
    assert "orphaned_from" not in result["volume"] or result["volume"]["orphaned_from"] is None
    assert sorted(result["graphs"]) == dead_node["graphs"]
    [ec2_volume] = aws.client("ec2").describe_volumes(VolumeIds=[dead_node["volume_id"]])["Volumes"]
    assert [a["InstanceId"] for a in ec2_volume["Attachments"]] == [adopter]
    assert set(owners(aws).values()) == {adopter}
    assert {g["status"] for g in scan_all(aws.registry.graphs)} == {"active"}
    assert counts(aws)[adopter] == 3
    # A retry of the same boot step returns the first answer (idempotency by request_id).
    again = volume_manager({"action": "adopt", "instance_id": adopter, "availability_zone": ZONE,
                            "tier": "standard", "request_id": f"adopt-{adopter}"}, lambda_context)
    assert again == result


@pytest.mark.usefixtures("atomic_moto")
def test_concurrent_adopters_never_both_win(aws: Aws, dead_node, put_instance, lambda_context) -> None:
    monitor(SCHEDULED, lambda_context)
    adopters = [ec2_instance(aws) for _ in range(4)]
    for adopter in adopters:
        put_instance(adopter, status="initializing")

    def adopt(adopter: str) -> dict:
        return volume_manager({"action": "adopt", "instance_id": adopter, "availability_zone": ZONE,
                               "tier": "standard"}, lambda_context)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(adopt, adopters))

    winners = [a for a, r in zip(adopters, results, strict=True) if r["ok"] and r["volume"]]
    assert len(winners) == 1, results
    assert set(owners(aws).values()) == set(winners)
    assert counts(aws)[winners[0]] == 3 and sum(counts(aws)[a] for a in adopters) == 3


@pytest.mark.usefixtures("atomic_moto")
def test_concurrent_moves_of_the_same_graphs_give_each_one_owner(aws: Aws, put_instance, lambda_context) -> None:
    put_instance("local-dead", max_databases=50)
    for i in range(30):
        assert place(lambda_context, f"m{i}")["ok"]
    dead = failover.declare_dead(aws.registry, InstanceItem.from_item(
        aws.registry.instances.get_item(Key={"instance_id": "local-dead"})["Item"]), "test")
    assert dead is not None and len(dead.orphaned_graphs) == 30
    movers = [f"local-adopter-{i}" for i in range(3)]
    for mover in movers:
        put_instance(mover, status="initializing", max_databases=50)

    with ThreadPoolExecutor(max_workers=3) as pool:
        moved = list(pool.map(lambda m: failover.move_graphs(aws.registry, "local-dead", m), movers))

    final = owners(aws)
    assert Counter(final.values()) == Counter({m: len(got) for m, got in zip(movers, moved, strict=True) if got})
    assert sorted(g for got in moved for g in got) == sorted(final)  # each graph moved exactly once
    assert {counts(aws)[m] for m in movers} >= {0} and sum(counts(aws)[m] for m in movers) == 30
    assert all(owner in movers for owner in final.values())
