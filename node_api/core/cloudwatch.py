"""Publishes the spec's key metrics to CloudWatch (boto3 put_metric_data) on an interval.

    DatabaseUtilizationPercent   databases held / the node's capacity, %
    InstanceCapacityUsed         databases on this instance
    QueryResponseTime            every query latency since the last publication, sent as a
                                 distribution (Values/Counts), so CloudWatch answers p50/p95/p99
    IngestionQueueDepth          ingestion tasks queued or running
    ConnectionPoolUtilization    active connections / the open databases' pool capacity, %
    ActiveConnections            active engine connections
    VolumeUsagePercent           the data volume's usage, %

Namespace `contracts.metrics.metric_namespace(environment)` (`RoboSystemsKuzu/{Environment}`, the one
the node role may publish to) unless GRAPH_API_CLOUDWATCH_NAMESPACE says otherwise;
dimensions InstanceId, NodeType, Tier. Off unless GRAPH_API_CLOUDWATCH_ENABLED=true. A failed
publication is logged and retried at the next interval; it never affects serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import boto3
import structlog
from botocore.exceptions import BotoCoreError, ClientError

from node_api.core.cloudwatch_settings import CloudWatchSettings
from node_api.core.metrics import NodeMetrics, NodeSnapshot, take_snapshot

if TYPE_CHECKING:
    from node_api.state import NodeState

log = structlog.get_logger(__name__)
_MAX_VALUES = 150  # CloudWatch's limit of distinct values per datum
_MAX_DATUMS = 1000  # per put_metric_data call


def _distribution(latencies_ms: list[float]) -> list[tuple[list[float], list[float]]]:
    """Latencies rounded to 2 significant digits (1% error at most), counted, in chunks of 150."""
    def round2(value: float) -> float:
        if value <= 0:
            return 0.0
        return round(value, 1 - int(math.floor(math.log10(value))))

    counted = sorted(Counter(round2(v) for v in latencies_ms).items())
    return [
        ([v for v, _ in counted[i : i + _MAX_VALUES]], [float(c) for _, c in counted[i : i + _MAX_VALUES]])
        for i in range(0, len(counted), _MAX_VALUES)
    ]


class CloudWatchPublisher:
    def __init__(self, node: NodeState, metrics: NodeMetrics, *, namespace: str, client: Any) -> None:
        self.node = node
        self.metrics = metrics
        self.namespace = namespace
        self.client = client
        settings = node.settings
        self.dimensions = [
            {"Name": "InstanceId", "Value": settings.instance_id},
            {"Name": "NodeType", "Value": settings.node_type.value},
            {"Name": "Tier", "Value": settings.tier},
        ]

    @classmethod
    def from_settings(cls, node: NodeState, metrics: NodeMetrics, settings: CloudWatchSettings) -> CloudWatchPublisher:
        client = boto3.client("cloudwatch", endpoint_url=settings.endpoint_url, region_name=settings.region)
        namespace = settings.namespace_for(node.settings.environment)
        return cls(node, metrics, namespace=namespace, client=client)

    def metric_data(self, snapshot: NodeSnapshot, latencies_ms: list[float]) -> list[dict[str, Any]]:
        def datum(name: str, value: float, unit: str) -> dict[str, Any]:
            return {"MetricName": name, "Dimensions": self.dimensions, "Value": float(value), "Unit": unit}

        data = [
            datum("DatabaseUtilizationPercent", snapshot.capacity_percent, "Percent"),
            datum("InstanceCapacityUsed", snapshot.databases, "Count"),
            datum("IngestionQueueDepth", snapshot.ingestion_queue_depth, "Count"),
            datum("ConnectionPoolUtilization", snapshot.pool_utilization_percent, "Percent"),
            datum("ActiveConnections", snapshot.active_connections, "Count"),
            datum("VolumeUsagePercent", snapshot.volume_percent, "Percent"),
        ]
        for values, counts in _distribution(latencies_ms):
            data.append({"MetricName": "QueryResponseTime", "Dimensions": self.dimensions, "Values": values,
                         "Counts": counts, "Unit": "Milliseconds"})
        return data

    async def publish_once(self) -> int:
        """Sends one publication; returns the number of datums sent."""
        snapshot = await take_snapshot(self.node, with_sizes=False)
        latencies = self.metrics.drain_query_latencies()
        data = self.metric_data(snapshot, latencies)

        def _put() -> None:
            for i in range(0, len(data), _MAX_DATUMS):
                self.client.put_metric_data(Namespace=self.namespace, MetricData=data[i : i + _MAX_DATUMS])

        await asyncio.to_thread(_put)
        return len(data)

    async def run(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.publish_once()
            except (BotoCoreError, ClientError) as exc:
                log.warning("cloudwatch publication failed", error=str(exc), namespace=self.namespace)


@contextlib.asynccontextmanager
async def publishing(node: NodeState) -> AsyncIterator[CloudWatchPublisher | None]:
    """Publishes the node's metrics while the node runs, when GRAPH_API_CLOUDWATCH_ENABLED is set."""
    settings = node.settings.cloudwatch
    if not settings.enabled:
        yield None
        return
    sender = CloudWatchPublisher.from_settings(node, node.metrics, settings)
    task = asyncio.create_task(sender.run(settings.interval_s), name="cloudwatch-publisher")
    log.info("cloudwatch publisher started", namespace=sender.namespace, interval_s=settings.interval_s)
    try:
        yield sender
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
