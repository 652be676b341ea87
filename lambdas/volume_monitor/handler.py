"""Volume monitor Lambda, run on a schedule (EventBridge) or by hand:
EventBridge scheduled event   -> check every attached volume
{"volume_ids": ["vol-..."]}   -> check only these
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from lambdas.common.aws import get_aws
from lambdas.common.handler import ok_result, run_operation
from lambdas.common.observability import make_logger, make_metrics
from lambdas.volume_monitor import service

logger = make_logger("volume-monitor")
metrics = make_metrics("volume-monitor")


class VolumeMonitorEvent(BaseModel):
    # EventBridge envelopes carry many fields we do not need; only volume_ids matters.
    model_config = ConfigDict(extra="ignore")

    volume_ids: list[str] | None = None


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def run(request: VolumeMonitorEvent) -> dict[str, Any]:
        checks = service.check_volumes(get_aws(), request.volume_ids)
        for check in checks:
            if check.usage_percent is not None:
                metrics.add_metric(
                    name="VolumeUsageObserved", unit=MetricUnit.Percent, value=check.usage_percent
                )
        expanded = sum(c.action == "expanded" for c in checks)
        metrics.add_metric(name="VolumesExpanded", unit=MetricUnit.Count, value=expanded)
        return ok_result("check", {"checked": len(checks), "volumes": [c.model_dump() for c in checks]})

    return run_operation(event, VolumeMonitorEvent, run, logger)
