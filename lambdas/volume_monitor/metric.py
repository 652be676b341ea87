"""The CloudWatch metric contract between the node (publisher) and the volume monitor (reader)."""

from __future__ import annotations

VOLUME_USAGE_METRIC = "VolumeUsagePercent"
VOLUME_DIMENSION = "VolumeId"


def default_namespace(environment: str) -> str:
    return f"GraphCluster/{environment}"
