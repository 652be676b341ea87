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

from lambdas.allocator import placement, service
from lambdas.allocator.models import AllocateEvent, AllocatorEvent, ReleaseEvent, RouteEvent
from lambdas.common.aws import Aws, get_aws
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
        return ok_result("allocate", placement.place(request, aws, metrics))
    if isinstance(request, ReleaseEvent):
        released = service.release(aws.registry, request.graph_id)
        metrics.add_metric(name="GraphsReleased", unit=MetricUnit.Count, value=1)
        return ok_result("release", released)
    return ok_result("route", service.route(aws.registry, request.graph_id))
