"""CloudWatch names the node publishes under, the volume monitor reads and the CDK roles allow.

One namespace per environment for everything a node publishes (its key metrics and its volume usage)
and for the control-plane Lambdas' metrics: the spec's `RoboSystemsKuzu/{Environment}`, the environment
name capitalized ("prod" -> "RoboSystemsKuzu/Prod"). The node role may only PutMetricData there
(an IAM condition on cloudwatch:namespace, which compares case-sensitively), so a default that differs
even in case is a publication the role refuses.
"""

from __future__ import annotations

NAMESPACE_PREFIX = "RoboSystemsKuzu"

VOLUME_USAGE_METRIC = "VolumeUsagePercent"
VOLUME_DIMENSION = "VolumeId"


def metric_namespace(environment: str) -> str:
    """`RoboSystemsKuzu/{Environment}`: the namespace of every metric of `environment`."""
    return f"{NAMESPACE_PREFIX}/{environment.capitalize()}"
