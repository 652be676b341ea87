"""Decide each registered instance's fate from three signals: its heartbeat age, an HTTP health check
of its /status endpoint, and EC2's view of it (terminated or gone).

- stale heartbeat or failed check: healthy/initializing -> unhealthy; its active graphs -> unavailable
  (the allocator skips it, routes answer "unavailable")
- fresh heartbeat and passing check again: unhealthy -> healthy; its graphs -> active
- terminated: its graphs -> orphaned, its volumes -> available (detached by EC2), row deleted

Status writes are conditional on the row we read, so a heartbeat racing the monitor is never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from aws_lambda_powertools import Logger
from pydantic import BaseModel, Field

from lambdas.allocator.service import graphs_on_instance
from lambdas.common import alerts
from lambdas.common.aws import Aws, query_all, scan_all
from lambdas.registry import (
    VOLUMES_BY_INSTANCE,
    GraphStatus,
    InstanceItem,
    InstanceStatus,
    VolumeStatus,
    now_iso,
    parse_iso,
    utc_now,
)

logger = Logger(child=True)

HealthCheck = Callable[[InstanceItem], str | None]  # None when healthy, else the reason


class MonitorReport(BaseModel):
    checked: int = 0
    unhealthy: list[str] = Field(default_factory=list)
    recovered: list[str] = Field(default_factory=list)
    terminated: list[str] = Field(default_factory=list)
    flagged_graphs: list[str] = Field(default_factory=list)


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
        reason = _problem(aws, instance, health_check)
        if reason and instance.status in (InstanceStatus.HEALTHY, InstanceStatus.INITIALIZING):
            _transition(aws, instance, InstanceStatus.UNHEALTHY, reason, report)
        elif reason is None and instance.status == InstanceStatus.UNHEALTHY:
            _transition(aws, instance, InstanceStatus.HEALTHY, None, report)
    return report


def _problem(aws: Aws, instance: InstanceItem, health_check: HealthCheck | None) -> str | None:
    age = (utc_now() - parse_iso(instance.last_heartbeat)).total_seconds()
    if age > aws.settings.heartbeat_timeout_s:
        return f"no heartbeat for {int(age)}s"
    # A booting node may not answer yet; its heartbeat is what counts until it reports healthy.
    if health_check is not None and instance.status != InstanceStatus.INITIALIZING:
        return health_check(instance)
    return None


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
    reason = "instance terminated"
    flagged = _set_graph_status(aws, instance.instance_id, None, GraphStatus.ORPHANED, reason)
    volumes = query_all(
        aws.registry.volumes,
        IndexName=VOLUMES_BY_INSTANCE,
        KeyConditionExpression="instance_id = :i",
        ExpressionAttributeValues={":i": instance.instance_id},
    )
    for volume in volumes:
        # EC2 detaches (and keeps, DeleteOnTermination=false) a data volume when its instance goes.
        aws.registry.volumes.update_item(
            Key={"volume_id": volume["volume_id"]},
            UpdateExpression="SET #s = :available, updated_at = :now REMOVE instance_id, device",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":available": str(VolumeStatus.AVAILABLE), ":now": now_iso()},
        )
    aws.registry.instances.delete_item(Key={"instance_id": instance.instance_id})
    report.terminated.append(instance.instance_id)
    report.flagged_graphs.extend(flagged)
    _alert(aws, "instance_terminated", instance, reason, flagged, volumes=[v["volume_id"] for v in volumes])


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
