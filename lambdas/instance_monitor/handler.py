"""Instance monitor Lambda. Events:
EventBridge "Scheduled Event"                     -> full pass over the registry
EventBridge "EC2 Instance State-change Notification" (state terminated/shutting-down)
                                                  -> full pass, that instance cleaned up at once
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from lambdas.common.aws import get_aws
from lambdas.common.handler import ok_result, run_operation
from lambdas.common.observability import make_logger, make_metrics
from lambdas.instance_monitor import service

logger = make_logger("instance-monitor")
metrics = make_metrics("instance-monitor")


class Ec2StateChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    instance_id: str = Field(alias="instance-id", pattern=r"^i-[0-9a-f]+$")
    state: Literal["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]


class Ec2StateChangeEvent(EventBridgeModel):
    detail_type: Literal["EC2 Instance State-change Notification"] = Field(alias="detail-type")
    detail: Ec2StateChange


class ScheduledEvent(EventBridgeModel):
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")


MonitorEvent = Ec2StateChangeEvent | ScheduledEvent


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def run(request: MonitorEvent) -> dict[str, Any]:
        aws = get_aws()
        settings = aws.settings
        terminated: set[str] = set()
        if isinstance(request, Ec2StateChangeEvent) and request.detail.state in (
            "terminated",
            "shutting-down",
        ):
            terminated.add(request.detail.instance_id)
        check = (
            service.http_health_check(settings.health_check_path, settings.health_check_timeout_s)
            if settings.health_check_enabled
            else None
        )
        report = service.run(aws, check, terminated)
        metrics.add_metric(name="InstancesUnhealthy", unit=MetricUnit.Count, value=len(report.unhealthy))
        metrics.add_metric(name="InstancesTerminated", unit=MetricUnit.Count, value=len(report.terminated))
        return ok_result("monitor", report)

    return run_operation(event, MonitorEvent, run, logger)
