"""A graph allocation as the control plane performs it: the allocator's conditional writes, then the
scale-out signal when the tier is (nearly) full, even when this allocation failed for lack of room.

Shared by the allocator Lambda and the router API (POST /graphs), so both place graphs the same way.
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from lambdas.allocator import scaling, service
from lambdas.allocator.models import AllocateEvent, Allocation, ScaleOutSignal, node_type_for
from lambdas.common.aws import Aws
from lambdas.common.errors import NoCapacity


def place(request: AllocateEvent, aws: Aws, metrics: Metrics | None = None) -> Allocation:
    """Allocate `request.graph_id`. Raises Conflict or NoCapacity (after signalling scale-out)."""
    settings = aws.settings
    node_type = node_type_for(request.repository_type)

    def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
        if metrics is not None:
            metrics.add_metric(name=name, unit=unit, value=value)

    try:
        route, created = service.allocate(aws.registry, request, rounds=settings.allocation_rounds)
    except NoCapacity:
        count("AllocationsRejected")
        usage = service.tier_usage(aws.registry, request.tier, node_type)
        scaling.signal_scale_out(usage, "no_capacity", settings, aws.sns, aws.autoscaling)
        raise
    signal: ScaleOutSignal | None = None
    if created:
        count("GraphsAllocated")
        usage = service.tier_usage(aws.registry, request.tier, node_type)
        count("TierUtilizationPercent", usage.utilization * 100, MetricUnit.Percent)
        if scaling.needs_scale_out(usage, settings):
            signal = scaling.signal_scale_out(usage, "threshold", settings, aws.sns, aws.autoscaling)
    return Allocation(route=route, created=created, scale_out=signal)
