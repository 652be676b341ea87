"""Allocator/router Lambda.

Events (see docs/control-plane.md):
    {"action": "allocate", "graph_id": "kg1a2b3c4d5", "entity_id": "entity_123",
     "tier": "standard", "repository_type": "entity"}
    {"action": "release", "graph_id": "kg1a2b3c4d5"}
    {"action": "route", "graph_id": "kg1a2b3c4d5"}
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.allocator import scaling, service
from lambdas.allocator.models import (
    AllocateEvent,
    Allocation,
    AllocatorEvent,
    ReleaseEvent,
    RouteEvent,
    ScaleOutSignal,
    node_type_for,
)
from lambdas.common.aws import Aws, get_aws
from lambdas.common.errors import NoCapacity
from lambdas.common.handler import ok_result, run_operation
from lambdas.common.observability import make_logger, make_metrics

logger = make_logger("allocator")
metrics = make_metrics("allocator")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_operation(event, AllocatorEvent, lambda request: dispatch(request, get_aws()), logger)


def dispatch(request: AllocateEvent | ReleaseEvent | RouteEvent, aws: Aws) -> dict[str, Any]:
    if isinstance(request, AllocateEvent):
        return ok_result("allocate", allocate(request, aws))
    if isinstance(request, ReleaseEvent):
        released = service.release(aws.registry, request.graph_id)
        metrics.add_metric(name="GraphsReleased", unit=MetricUnit.Count, value=1)
        return ok_result("release", released)
    return ok_result("route", service.route(aws.registry, request.graph_id))


def allocate(request: AllocateEvent, aws: Aws) -> Allocation:
    """Allocate, then signal scale-out when the tier is (nearly) full, even if this one failed."""
    settings = aws.settings
    node_type = node_type_for(request.repository_type)
    try:
        route, created = service.allocate(aws.registry, request, rounds=settings.allocation_rounds)
    except NoCapacity:
        metrics.add_metric(name="AllocationsRejected", unit=MetricUnit.Count, value=1)
        usage = service.tier_usage(aws.registry, request.tier, node_type)
        scaling.signal_scale_out(usage, "no_capacity", settings, aws.sns, aws.autoscaling)
        raise
    signal: ScaleOutSignal | None = None
    if created:
        metrics.add_metric(name="GraphsAllocated", unit=MetricUnit.Count, value=1)
        usage = service.tier_usage(aws.registry, request.tier, node_type)
        metrics.add_metric(
            name="TierUtilizationPercent", unit=MetricUnit.Percent, value=usage.utilization * 100
        )
        if scaling.needs_scale_out(usage, settings):
            signal = scaling.signal_scale_out(usage, "threshold", settings, aws.sns, aws.autoscaling)
    return Allocation(route=route, created=created, scale_out=signal)
