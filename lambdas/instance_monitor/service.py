"""Decide each registered instance's fate from three signals: its heartbeat age, an HTTP health check
of its /status endpoint, and EC2's view of it (terminated or gone).

- stale heartbeat or failed check: healthy/initializing -> unhealthy; its active graphs -> unavailable
  (the allocator skips it, routes answer "unavailable")
- fresh heartbeat and passing check again: unhealthy -> healthy; its graphs -> active
- silent for DEAD_AFTER_SECONDS after having served (`ready_at` set): dead (lambdas/failover): its
  graphs -> orphaned, its volumes -> orphaned_from it; an EC2 instance is also marked Unhealthy in its
  autoscaling group (which replaces it) and its data volume force-detached by the volume manager, so the
  replacement (or any node booting in that zone) adopts it
- terminated: the same, and its row deleted (EC2 detached the volume)

Status writes are conditional on the row we read, so a heartbeat racing the monitor is never lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from aws_lambda_powertools import Logger
from pydantic import BaseModel, Field

from contracts.enums import GraphStatus, InstanceStatus
from contracts.registry import InstanceItem, parse_iso, utc_now
from lambdas.allocator.service import graphs_on_instance
from lambdas.common import alerts
from lambdas.common.aws import Aws, scan_all
from lambdas.failover import service as failover

logger = Logger(child=True)

HealthCheck = Callable[[InstanceItem], str | None]  # None when healthy, else the reason


class MonitorReport(BaseModel):
    checked: int = 0
    unhealthy: list[str] = Field(default_factory=list)
    recovered: list[str] = Field(default_factory=list)
    terminated: list[str] = Field(default_factory=list)
    dead: list[str] = Field(default_factory=list)
    flagged_graphs: list[str] = Field(default_factory=list)
    orphaned_volumes: list[str] = Field(default_factory=list)


def http_health_check(path: str, timeout_s: float) -> HealthCheck:
    def check(instance: InstanceItem) -> str | None:
        try:
            response = httpx.get(instance.endpoint_url + path, timeout=timeout_s)
        except httpx.HTTPError as exc:
            return f"health check failed: {type(exc).__name__}"
        if response.status_code != 200:
            return f"health check returned {response.status_code}"
        return None

    return check


def run(aws: Aws, health_check: HealthCheck | None, terminated_ids: set[str] | None = None) -> MonitorReport:
    """One monitoring pass over the whole registry (plus instances EC2 just reported terminated)."""
    report = MonitorReport()
    instances = [InstanceItem.from_item(i) for i in scan_all(aws.registry.instances)]
    gone = (terminated_ids or set()) | _terminated_in_ec2(aws, [i.instance_id for i in instances])
    for instance in instances:
        report.checked += 1
        if instance.instance_id in gone:
            cleanup_terminated(aws, instance, report)
            continue
        if instance.status == InstanceStatus.DEAD:
            continue  # its graphs wait for an adopter; the row goes when EC2 terminates it
        silence = _silence(aws, instance)
        if silence is not None:
            declare_dead(aws, instance, silence, report)
            continue
        reason = _problem(aws, instance, health_check)
        if reason and instance.status in (InstanceStatus.HEALTHY, InstanceStatus.INITIALIZING):
            _transition(aws, instance, InstanceStatus.UNHEALTHY, reason, report)
        elif reason is None and instance.status == InstanceStatus.UNHEALTHY:
            _transition(aws, instance, InstanceStatus.HEALTHY, None, report)
        elif reason is None and instance.status == InstanceStatus.HEALTHY:
            # A node may mark itself healthy again (a restart, or a replacement that was flagged while it
            # booted): its graphs flagged unavailable meanwhile come back with it.
            report.flagged_graphs.extend(
                _set_graph_status(aws, instance.instance_id, GraphStatus.UNAVAILABLE, GraphStatus.ACTIVE, None))
    return report


def _problem(aws: Aws, instance: InstanceItem, health_check: HealthCheck | None) -> str | None:
    age = (utc_now() - parse_iso(instance.last_heartbeat)).total_seconds()
    if age > aws.settings.heartbeat_timeout_s:
        return f"no heartbeat for {int(age)}s"
    # A booting node may not answer yet; its heartbeat is what counts until it reports healthy.
    if health_check is not None and instance.status != InstanceStatus.INITIALIZING:
        return health_check(instance)
    return None


def _silence(aws: Aws, instance: InstanceItem) -> str | None:
    """Why a node that has served counts as dead: silent past DEAD_AFTER_SECONDS (None otherwise)."""
    if not aws.settings.failover_enabled or instance.ready_at is None:
        return None
    age = (utc_now() - parse_iso(instance.last_heartbeat)).total_seconds()
    if age > aws.settings.dead_after_s:
        return f"dead: no heartbeat for {int(age)}s"
    return None


def declare_dead(aws: Aws, instance: InstanceItem, reason: str, report: MonitorReport) -> None:
    dead = failover.declare_dead(aws.registry, instance, reason)
    if dead is None:
        return
    if failover.is_ec2_instance(instance.instance_id):
        _replace_in_group(aws, instance.instance_id)
        for volume_id in dead.orphaned_volumes:
            _force_detach(aws, volume_id, instance.instance_id)
    report.dead.append(instance.instance_id)
    report.flagged_graphs.extend(dead.orphaned_graphs)
    report.orphaned_volumes.extend(dead.orphaned_volumes)
    _alert(aws, "instance_dead", instance, reason, dead.orphaned_graphs, volumes=dead.orphaned_volumes)


def _replace_in_group(aws: Aws, instance_id: str) -> None:
    """The autoscaling group terminates an Unhealthy instance and launches its replacement."""
    try:
        aws.autoscaling.set_instance_health(
            InstanceId=instance_id, HealthStatus="Unhealthy", ShouldRespectGracePeriod=False
        )
    except Exception as exc:  # noqa: BLE001 - not in a group (or already gone): the adoption still proceeds
        logger.warning("could not mark the instance unhealthy in its group",
                       extra={"instance_id": instance_id, "error": str(exc)})


def _force_detach(aws: Aws, volume_id: str, instance_id: str) -> None:
    """Asynchronous: the volume manager force-detaches (waiting on EC2 takes longer than a monitor pass)."""
    if not aws.settings.volume_manager_function:
        return
    event = {"action": "detach", "volume_id": volume_id, "force": True,
             "request_id": f"failover-detach-{volume_id}-{instance_id}"}
    aws.client("lambda").invoke(
        FunctionName=aws.settings.volume_manager_function, InvocationType="Event", Payload=json.dumps(event)
    )


def _terminated_in_ec2(aws: Aws, instance_ids: list[str]) -> set[str]:
    """Registered EC2 ids that EC2 reports terminated (or no longer knows). Local nodes are skipped."""
    ec2_ids = [i for i in instance_ids if i.startswith("i-")]
    if not ec2_ids:
        return set()
    # A filter (not InstanceIds=) so unknown ids are simply absent instead of failing the call.
    pages = aws.ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-id", "Values": ec2_ids}]
    )
    state = {
        i["InstanceId"]: i["State"]["Name"] for p in pages for r in p["Reservations"] for i in r["Instances"]
    }
    return {i for i in ec2_ids if state.get(i, "terminated") in ("terminated", "shutting-down")}


def _transition(
    aws: Aws, instance: InstanceItem, status: InstanceStatus, reason: str | None, report: MonitorReport
) -> None:
    table = aws.registry.instances
    try:
        table.update_item(
            Key={"instance_id": instance.instance_id},
            UpdateExpression="SET #s = :new, status_reason = :reason",
            ConditionExpression="#s = :old AND last_heartbeat = :hb",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":new": str(status),
                ":old": str(instance.status),
                ":hb": instance.last_heartbeat,
                ":reason": reason or "recovered",
            },
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        return  # it heartbeat (or changed) meanwhile: judge it again next run
    if status == InstanceStatus.UNHEALTHY:
        flagged = _set_graph_status(
            aws, instance.instance_id, GraphStatus.ACTIVE, GraphStatus.UNAVAILABLE, reason
        )
        report.unhealthy.append(instance.instance_id)
        event = "instance_unhealthy"
    else:
        flagged = _set_graph_status(
            aws, instance.instance_id, GraphStatus.UNAVAILABLE, GraphStatus.ACTIVE, None
        )
        report.recovered.append(instance.instance_id)
        event = "instance_recovered"
    report.flagged_graphs.extend(flagged)
    _alert(aws, event, instance, reason, flagged)


def cleanup_terminated(aws: Aws, instance: InstanceItem, report: MonitorReport) -> None:
    """EC2 terminated it: failover as for a dead node, and its row goes (EC2 detached its volumes)."""
    reason = "instance terminated"
    dead = failover.declare_dead(aws.registry, instance, reason, terminated=True)
    assert dead is not None  # a terminated instance is always declared
    report.terminated.append(instance.instance_id)
    report.flagged_graphs.extend(dead.orphaned_graphs)
    report.orphaned_volumes.extend(dead.orphaned_volumes)
    _alert(aws, "instance_terminated", instance, reason, dead.orphaned_graphs, volumes=dead.orphaned_volumes)


def _set_graph_status(
    aws: Aws, instance_id: str, old: GraphStatus | None, new: GraphStatus, reason: str | None
) -> list[str]:
    changed = []
    for graph in graphs_on_instance(aws.registry, instance_id):
        if graph.status == new or (old is not None and graph.status != old):
            continue
        aws.registry.graphs.update_item(
            Key={"graph_id": graph.graph_id},
            UpdateExpression="SET #s = :new, status_reason = :reason",
            # Still on this instance (a concurrent release/reallocation wins).
            ConditionExpression="instance_id = :i",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":new": str(new),
                ":reason": reason or "instance recovered",
                ":i": instance_id,
            },
        )
        changed.append(graph.graph_id)
    return changed


def _alert(
    aws: Aws, event: str, instance: InstanceItem, reason: str | None, graphs: list[str], **extra: Any
) -> None:
    message = {
        "event": event,
        "instance_id": instance.instance_id,
        "cluster_tier": instance.cluster_tier,
        "endpoint": instance.endpoint_url,
        "reason": reason,
        "graphs": graphs,
        **extra,
    }
    subject = f"graph-cluster {aws.settings.environment}: {event} {instance.instance_id}"
    alerts.publish(aws.sns, aws.settings.alert_topic_arn, subject, message)
