"""Scale-out signal: when a tier is nearly full, tell operators (SNS) and raise the tier's Auto
Scaling group desired capacity by one, unless a new instance is already on its way."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from lambdas.allocator.models import ScaleOutSignal, TierUsage
from lambdas.common import alerts
from lambdas.common.settings import ControlPlaneSettings

logger = Logger(child=True)


def needs_scale_out(usage: TierUsage, settings: ControlPlaneSettings) -> bool:
    return usage.utilization >= settings.scale_out_threshold


def signal_scale_out(
    usage: TierUsage, reason: str, settings: ControlPlaneSettings, sns: Any, autoscaling: Any
) -> ScaleOutSignal:
    signal = ScaleOutSignal(tier=usage.tier, reason=reason, utilization=round(usage.utilization, 4))
    # One step at a time: an initializing instance is the previous signal's answer, still booting.
    if usage.initializing_instances == 0:
        signal.asg_name, signal.desired_capacity = _raise_desired_capacity(
            autoscaling, settings.asg_name(usage.tier)
        )
    signal.message_id = alerts.publish(
        sns,
        settings.scale_out_topic_arn,
        f"graph-cluster {settings.environment}: scale out tier {usage.tier}",
        {"event": "scale_out", **usage.model_dump(), **signal.model_dump(exclude={"message_id"})},
    )
    return signal


def _raise_desired_capacity(autoscaling: Any, asg_name: str) -> tuple[str | None, int | None]:
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])["AutoScalingGroups"]
    if not groups:
        logger.warning("no auto scaling group for tier", extra={"asg_name": asg_name})
        return None, None
    group = groups[0]
    desired, maximum = group["DesiredCapacity"], group["MaxSize"]
    if desired >= maximum:
        logger.warning("tier at its maximum size", extra={"asg_name": asg_name, "max_size": maximum})
        return asg_name, None
    # HonorCooldown keeps bursts of allocations from stacking several increments.
    autoscaling.set_desired_capacity(
        AutoScalingGroupName=asg_name, DesiredCapacity=desired + 1, HonorCooldown=True
    )
    return asg_name, desired + 1
