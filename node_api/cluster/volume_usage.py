"""Publish the data volume's usage for the volume monitor (same metric contract as the Lambda)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from contracts.metrics import VOLUME_DIMENSION, VOLUME_USAGE_METRIC


def usage_percent(path: Path) -> float:
    usage = shutil.disk_usage(path)
    return 100.0 * usage.used / usage.total if usage.total else 0.0


def publish_volume_usage(cloudwatch: Any, namespace: str, volume_id: str, path: Path) -> float:
    """Put one VolumeUsagePercent datapoint for `volume_id` (the EBS volume mounted at `path`)."""
    percent = round(usage_percent(path), 2)
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": VOLUME_USAGE_METRIC,
                "Unit": "Percent",
                "Value": percent,
                "Dimensions": [{"Name": VOLUME_DIMENSION, "Value": volume_id}],
            }
        ],
    )
    return percent
