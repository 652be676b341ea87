"""The CloudWatch publisher against moto's server on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from node_api.core.cloudwatch import CloudWatchPublisher, _distribution
from node_api.core.cloudwatch_settings import CloudWatchSettings
from tests.node_api.core.helpers import create_graph, cypher, node_settings, running_node
from tests.support.waiting import until


def test_distribution_keeps_counts_and_cloudwatch_limits() -> None:
    latencies = [i / 10 for i in range(1, 5000)] + [12.3] * 40
    chunks = _distribution(latencies)
    assert all(len(values) <= 150 and len(values) == len(counts) for values, counts in chunks)
    assert sum(sum(counts) for _, counts in chunks) == len(latencies)
    assert _distribution([]) == []


async def test_publisher_sends_the_key_metrics(aws_endpoint: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    monkeypatch.setenv("ENVIRONMENT", "test")
    cloudwatch = boto3.client("cloudwatch", endpoint_url=aws_endpoint, region_name="us-east-1")
    async with running_node(node_settings(tmp_path / "dbs", environment="test", instance_id="i-0abc")) as client:
        await create_graph(client, "cw1")
        for _ in range(7):
            await cypher(client, "cw1", "RETURN 1")
        node, metrics = client.app.state.node, client.app.state.node.metrics  # type: ignore[attr-defined]
        publisher = CloudWatchPublisher.from_settings(node, metrics, CloudWatchSettings())
        assert publisher.namespace == "RoboSystemsKuzu/Test"
        sent = await publisher.publish_once()
        assert sent == 7  # six gauges + one latency distribution
        assert metrics.drain_query_latencies() == []  # each latency is published once

    names = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="RoboSystemsKuzu/Test")["Metrics"]}
    assert names == {"DatabaseUtilizationPercent", "InstanceCapacityUsed", "QueryResponseTime",
                     "IngestionQueueDepth", "ConnectionPoolUtilization", "ActiveConnections",
                     "VolumeUsagePercent"}
    dims = [{"Name": "InstanceId", "Value": "i-0abc"}, {"Name": "NodeType", "Value": "writer"},
            {"Name": "Tier", "Value": "standard"}]
    now = datetime.now(UTC)

    def stat(name: str, statistic: str) -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="RoboSystemsKuzu/Test", MetricName=name, Dimensions=dims, StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=5), Period=60, Statistics=[statistic])["Datapoints"]
        return points[0][statistic]

    assert stat("InstanceCapacityUsed", "Maximum") == 1
    assert stat("DatabaseUtilizationPercent", "Maximum") == 5.0
    assert stat("QueryResponseTime", "SampleCount") == 7
    assert stat("QueryResponseTime", "Maximum") > 0


async def test_publisher_runs_in_the_node_when_enabled(aws_endpoint: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    monkeypatch.setenv("GRAPH_API_CLOUDWATCH_ENABLED", "true")
    monkeypatch.setenv("GRAPH_API_CLOUDWATCH_INTERVAL", "1")
    monkeypatch.setenv("GRAPH_API_CLOUDWATCH_NAMESPACE", "GraphNodesTest/periodic")
    cloudwatch = boto3.client("cloudwatch", endpoint_url=aws_endpoint, region_name="us-east-1")
    async with running_node(node_settings(tmp_path / "dbs")):
        await until(lambda: cloudwatch.list_metrics(Namespace="GraphNodesTest/periodic")["Metrics"],
                    interval_s=0.1, what="a first publication")
